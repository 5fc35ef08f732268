package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"complaintbot/configs"
	"complaintbot/ingest"
	"complaintbot/internal/fakemail"
	"complaintbot/store"
)

// file is one attachment of a generated mail.
type file struct {
	name string
	size int
}

// mailWithFiles builds a multipart/mixed mail with a short text and the
// given files, base64 in 76-column lines. The bytes are a pseudo-random
// block repeated (generating 90 MB of fresh randomness per run would make
// the test slow under -race without testing anything more).
func mailWithFiles(from, messageID, subject, inReplyTo string, files []file) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Customer <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\n", from, demoInbox, subject, messageID)
	if inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", inReplyTo, inReplyTo)
	}
	b.WriteString("Date: Mon, 16 Mar 2026 10:00:00 +0200\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n")
	b.WriteString("--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe files show the fault. Please have a look.\r\n")
	const lineBytes = 57 // 76 base64 characters
	block := make([]byte, 1024*lineBytes)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(block)
	for i, f := range files {
		binary.LittleEndian.PutUint64(block, uint64(i)) // every file differs (blobs are content-addressed)
		fmt.Fprintf(&b, "--BOUNDARY\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", f.name)
		enc := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: &b})
		for left := f.size; left > 0; left -= len(block) {
			enc.Write(block[:min(left, len(block))])
		}
		enc.Close()
		b.WriteString("\r\n")
	}
	b.WriteString("--BOUNDARY--\r\n")
	return b.Bytes()
}

// lineWriter breaks what is written to it into 76-column CRLF lines.
type lineWriter struct {
	w   *bytes.Buffer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if l.col == 76 {
			l.w.WriteString("\r\n")
			l.col = 0
		}
		k := min(len(p), 76-l.col)
		l.w.Write(p[:k])
		l.col += k
		p = p[k:]
	}
	return n, nil
}

const (
	mib       = 1 << 20
	bigVideo  = 34 * mib // over the 10 MiB per-file cap
	bigPhoto  = 2 * mib  // kept
	manyCount = 500
	manySize  = 60_000 // 500 x 60 kB = 30 MB, over the 25 MiB per-message cap
)

// fiftyMB is a ~50 MB mail: a photo within the caps and a video over them.
func fiftyMB(from, id string) []byte {
	return mailWithFiles(from, id, "Video of the broken washing machine", "",
		[]file{{"photo.jpg", bigPhoto}, {"video.mp4", bigVideo}})
}

// fiveHundred is a mail with 500 attachments, more than the per-message cap.
func fiveHundred(from, id string) []byte {
	files := make([]file, manyCount)
	for i := range files {
		files[i] = file{fmt.Sprintf("scan-%03d.png", i), manySize}
	}
	return mailWithFiles(from, id, "All the scans", "", files)
}

// TestBigMailsThroughPipeline sends a 50 MB mail, a mail with 500
// attachments and a follow-up with a file over the cap through the whole
// pipeline (in-process IMAP and SMTP, the real daemon wiring): each is
// recorded with the configured caps, and the customer is told in the
// acknowledgement (or, for the follow-up, a short notice) which files were
// not kept and why.
func TestBigMailsThroughPipeline(t *testing.T) {
	env, dbPath, d := demoDaemon(t, daemonDeps{NoSync: true}, func(cfg *configs.Config) {
		if cfg.Store.MaxAttachmentBytes != configs.DefaultMaxAttachmentBytes || cfg.Store.MaxMessageBytes != configs.DefaultMaxMessageBytes {
			t.Fatalf("caps %d/%d, the test assumes the defaults", cfg.Store.MaxAttachmentBytes, cfg.Store.MaxMessageBytes)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	stop := runDaemon(t, ctx, d)
	mails := [][]byte{
		fiftyMB("anna@example.lt", "big-1@example.lt"),
		fiveHundred("boris@example.ru", "many-1@example.ru"),
		mailWithFiles("anna@example.lt", "big-2@example.lt", "Re: Video of the broken washing machine", "big-1@example.lt",
			[]file{{"second-video.mov", 12 * mib}}),
	}
	t.Logf("mail sizes: %d, %d, %d bytes", len(mails[0]), len(mails[1]), len(mails[2]))
	for _, raw := range mails {
		if err := env.imap.Append(demoInbox, "INBOX", raw); err != nil {
			t.Fatal(err)
		}
	}
	sent := waitForMailsTo(ctx, t, env.smtp, map[string]int{"anna@example.lt": 2, "boris@example.ru": 1})
	stop()
	byTo := map[string][]ackView{}
	for _, s := range sent {
		for _, to := range s.To {
			byTo[to] = append(byTo[to], parseAck(s.Data))
		}
	}
	checkBigRecords(t, dbPath)
	checkBigAcks(t, byTo)
}

// demoDaemon makes the demo world (in-process IMAP and SMTP, closed at the
// test's end) and a daemon on it with the demo config, edited by edit
// (nil: as it is), and deps (an info logger to the test unless set). It
// returns the world, the store path and the daemon, not yet running.
func demoDaemon(t *testing.T, deps daemonDeps, edit func(*configs.Config)) (*demoEnv, string, *daemon) {
	t.Helper()
	env, err := startDemoEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.close)
	dbPath := filepath.Join(t.TempDir(), "cb.db")
	cfg, err := demoConfig(env, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	if deps.Logger == nil {
		deps.Logger = newLogger(testWriter{t}, "info", "text")
	}
	d, err := newDaemon(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return env, dbPath, d
}

// waitForMailsTo waits until the SMTP server has received at least the
// given number of mails for each recipient and returns them all (other
// mails, to staff for instance, are not counted).
func waitForMailsTo(ctx context.Context, t *testing.T, srv *fakemail.SMTP, want map[string]int) []fakemail.Received {
	t.Helper()
	for n := 1; ; n++ {
		got, err := srv.Wait(ctx, n)
		if err != nil {
			t.Fatalf("waiting for mails to %v: %v", want, err)
		}
		count := map[string]int{}
		for _, m := range got {
			for _, to := range m.To {
				count[to]++
			}
		}
		done := true
		for rcpt, k := range want {
			done = done && count[rcpt] >= k
		}
		if done {
			return got
		}
	}
}

// runDaemon runs d until the returned stop is called (or the test ends).
func runDaemon(t *testing.T, ctx context.Context, d *daemon) (stop func()) {
	t.Helper()
	if _, err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func checkBigRecords(t *testing.T, dbPath string) {
	t.Helper()
	viewStoreFile(t, dbPath, func(tx store.Tx) error {
		big, err := tx.MessageByMessageID("big-1@example.lt")
		if err != nil {
			return err
		}
		checkAttachment(t, tx, big, "photo.jpg", bigPhoto, true, "")
		checkAttachment(t, tx, big, "video.mp4", bigVideo, false, "per-attachment cap of 10485760")
		many, err := tx.MessageByMessageID("many-1@example.ru")
		if err != nil {
			return err
		}
		checkManyAttachments(t, tx, many)
		follow, err := tx.MessageByMessageID("big-2@example.lt")
		if err != nil {
			return err
		}
		if follow.ComplaintID != big.ComplaintID || big.ComplaintID == 0 {
			t.Errorf("follow-up in complaint %d, first mail in %d", follow.ComplaintID, big.ComplaintID)
		}
		checkAttachment(t, tx, follow, "second-video.mov", 12*mib, false, "per-attachment cap")
		return nil
	})
}

func checkAttachment(t *testing.T, tx store.Tx, m *store.Message, name string, size int64, kept bool, why string) {
	t.Helper()
	for _, a := range m.Attachments {
		if a.Name != name {
			continue
		}
		if a.Size != size || a.Kept != kept || !strings.Contains(a.NotKeptWhy, why) || len(a.SHA256) != 64 {
			t.Errorf("%s: %+v, want size %d kept %v why %q", name, a, size, kept, why)
		}
		if kept {
			if b, err := tx.Blob(a.BlobKey); err != nil || int64(len(b)) != size {
				t.Errorf("%s: blob of %d bytes, %v", name, len(b), err)
			}
		}
		return
	}
	t.Errorf("message %s has no attachment %s: %+v", m.MessageID, name, m.Attachments)
}

// checkManyAttachments: all 500 are recorded; the kept ones stay within the
// per-message cap and fill it; the rest say why.
func checkManyAttachments(t *testing.T, tx store.Tx, m *store.Message) {
	t.Helper()
	if len(m.Attachments) != manyCount {
		t.Fatalf("%d attachments recorded, want %d", len(m.Attachments), manyCount)
	}
	var keptBytes int64
	var kept int
	for i, a := range m.Attachments {
		if a.Name != fmt.Sprintf("scan-%03d.png", i) || a.Size != manySize {
			t.Fatalf("attachment %d: %+v", i, a)
		}
		if a.Kept {
			kept++
			keptBytes += a.Size
		} else if !strings.Contains(a.NotKeptWhy, "per-message attachment cap") {
			t.Errorf("attachment %d not kept: %q", i, a.NotKeptWhy)
		}
	}
	wantKept := configs.DefaultMaxMessageBytes / manySize
	if kept != wantKept || keptBytes > configs.DefaultMaxMessageBytes {
		t.Errorf("kept %d files (%d bytes), want %d within %d", kept, keptBytes, wantKept, configs.DefaultMaxMessageBytes)
	}
	t.Logf("500-attachment mail: %d kept (%d bytes), %d not kept", kept, keptBytes, manyCount-kept)
}

func checkBigAcks(t *testing.T, byTo map[string][]ackView) {
	t.Helper()
	anna, boris := byTo["anna@example.lt"], byTo["boris@example.ru"]
	if len(anna) != 2 || len(boris) != 1 {
		t.Fatalf("mails to anna %d, to boris %d; want an ack and a notice, and an ack", len(anna), len(boris))
	}
	ack, notice := anna[0], anna[1]
	if !strings.Contains(ack.Text, "registered your message") {
		ack, notice = notice, ack
	}
	if !strings.Contains(ack.Text, "- video.mp4 (35.7 MB): too large") || strings.Contains(ack.Text, "photo.jpg") {
		t.Errorf("ack of the 50 MB mail does not list exactly the video:\n%s", ack.Text)
	}
	if !strings.Contains(notice.Text, "- second-video.mov (12.6 MB): too large") || notice.Tag != ack.Tag || notice.InReplyTo != "big-2@example.lt" {
		t.Errorf("follow-up notice %q (in reply to %q):\n%s", notice.Subject, notice.InReplyTo, notice.Text)
	}
	b := boris[0]
	// Boris writes English; 63 files were not kept: 20 listed, 43 counted.
	notKept := manyCount - configs.DefaultMaxMessageBytes/manySize
	listed := strings.Count(b.Text, "(60.0 KB): too large")
	if listed != 20 || !strings.Contains(b.Text, "and "+strconv.Itoa(notKept-20)+" more file(s)") {
		t.Errorf("ack of the 500-attachment mail lists %d files:\n%s", listed, b.Text)
	}
	if !strings.Contains(b.Text, "- scan-"+strconv.Itoa(manyCount-notKept)+".png") {
		t.Errorf("first file not kept (scan-%03d.png) not listed:\n%s", manyCount-notKept, b.Text)
	}
}

// TestPeakRSSBigMail runs the real binary as a subprocess against the
// in-process IMAP and SMTP servers, hands it the 50 MB mail and (in a fresh
// process) the 500-attachment mail, and reads the daemon's peak resident
// set (VmHWM) once the mail is recorded and acknowledged.
func TestPeakRSSBigMail(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and moves 90 MB of mail")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc: cannot read VmHWM")
	}
	const limitMB = 200
	bin := buildBinary(t, t.TempDir())
	cases := []struct {
		name string
		raw  []byte
	}{
		{"50MB mail", fiftyMB("anna@example.lt", "rss-big@example.lt")},
		{"500 attachments", fiveHundred("boris@example.ru", "rss-many@example.ru")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idle, peak := measureDaemon(t, bin, tc.raw)
			t.Logf("%s (%.1f MB raw): daemon VmHWM %.1f MB (%.1f MB before the mail arrived)",
				tc.name, float64(len(tc.raw))/1e6, float64(peak)/1e6, float64(idle)/1e6)
			if peak > limitMB*1e6 {
				t.Errorf("peak RSS %.1f MB is over %d MB", float64(peak)/1e6, limitMB)
			}
		})
	}
}

// measureDaemon starts the binary, waits until it is idle, appends raw,
// waits for the acknowledgement and returns VmHWM before and after.
func measureDaemon(t *testing.T, bin string, raw []byte) (idle, peak int64) {
	t.Helper()
	env, err := startDemoEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	dir := t.TempDir()
	httpAddr := freeAddr(t)
	cfgPath := writeFakemailConfig(t, env, dir, httpAddr)
	cmd := startBinary(t, bin, cfgPath, []string{"CB_PW=demo-password", "CB_TS=rss-secret-0123456789abcdef", "CB_TOK=rss-token"},
		filepath.Join(dir, "log"))
	waitFor(t, 30*time.Second, "the daemon to answer", func() bool { return apiTotal(httpAddr, "rss-token") == 0 })
	idle = vmHWM(t, cmd.Process.Pid)
	if err := env.imap.Append(demoInbox, "INBOX", raw); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := env.smtp.Wait(ctx, 1); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("%v\ndaemon log:\n%s", err, log)
	}
	waitFor(t, 30*time.Second, "the complaint", func() bool { return apiTotal(httpAddr, "rss-token") == 1 })
	peak = vmHWM(t, cmd.Process.Pid)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", err)
	}
	return idle, peak
}

func writeFakemailConfig(t *testing.T, env *demoEnv, dir, httpAddr string) string {
	t.Helper()
	ih, ip := splitAddr(t, env.imap.Addr)
	sh, sp := splitAddr(t, env.smtp.Addr)
	text := fmt.Sprintf(`
company: {name: "RSS Ltd", timezone: UTC}
store: {path: %q}
inboxes:
  - {name: support, host: %s, port: %s, tls: none, user: %q, password_env: CB_PW, after: seen, poll_interval: 1s}
smtp: {host: %s, port: %s, tls: none, from: "Care <%s>", connections: 1}
threading: {secret_env: CB_TS, domain: rss.test}
http: {listen: %q, token_env: CB_TOK}
log: {level: debug}
`, filepath.Join(dir, "cb.db"), ih, ip, demoInbox, sh, sp, demoInbox, httpAddr)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func splitAddr(t *testing.T, addr string) (host, port string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("address %q has no port", addr)
	}
	return addr[:i], addr[i+1:]
}

// vmHWM is the peak resident set size of process pid, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestMailOverReadLimit: a mail over store.max_read_bytes goes through the
// real daemon wiring read only in part: it opens a complaint with its text,
// the record keeps its true size and a warning, and the acknowledgement
// tells the customer the file was too large.
func TestMailOverReadLimit(t *testing.T) {
	env, dbPath, d := demoDaemon(t, daemonDeps{NoSync: true}, func(cfg *configs.Config) { cfg.Store.MaxReadBytes = 2 * mib })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop := runDaemon(t, ctx, d)
	raw := mailWithFiles("vera@example.lt", "over-1@example.lt", "Video of the leak", "", []file{{"leak.mov", 5 * mib}})
	if err := env.imap.Append(demoInbox, "INBOX", raw); err != nil {
		t.Fatal(err)
	}
	sent := waitForMailsTo(ctx, t, env.smtp, map[string]int{"vera@example.lt": 1})
	stop()
	var ack ackView
	for _, s := range sent {
		if slices.Contains(s.To, "vera@example.lt") {
			ack = parseAck(s.Data)
		}
	}
	if !strings.Contains(ack.Text, "leak.mov") || !strings.Contains(ack.Text, "too large") {
		t.Errorf("ack does not tell the file was too large:\n%s", ack.Text)
	}
	viewStoreFile(t, dbPath, func(tx store.Tx) error {
		m, err := tx.MessageByMessageID("over-1@example.lt")
		if err != nil {
			return err
		}
		if m.Size != int64(len(raw)) || m.ComplaintID == 0 || !strings.Contains(m.Text, "The files show the fault") ||
			!strings.Contains(m.Headers[ingest.WarningHeader], "read limit") {
			t.Errorf("record: size %d (want %d), complaint %d, text %q, warning %q",
				m.Size, len(raw), m.ComplaintID, m.Text, m.Headers[ingest.WarningHeader])
		}
		return nil
	})
}
