package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"complaintbot/internal/mailstack"
	"complaintbot/store"
)

// TestCrashRecovery kills the daemon with SIGKILL again and again while it
// ingests a backlog from the real Dovecot and sends acknowledgements through
// the real Postfix. Afterwards every mail is recorded exactly once, every
// mail has its complaint, and duplicate acknowledgements are at most one per
// kill with one SMTP connection (the outbox marks a row sent only after the
// relay accepted it; with n connections the bound is n per kill).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds the binary and runs for a while")
	}
	st := mailstack.FromEnv(t)
	const backlog, customers, kills = 1500, 10, 8
	support, spw := st.NewUser(t, "crash-support")
	var custs, cpws []string
	for range customers {
		c, p := st.NewUserAt(t, "crash-cust", st.Domains[len(st.Domains)-1])
		custs, cpws = append(custs, c), append(cpws, p)
	}
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	for i := range backlog {
		from := custs[i%customers]
		raw := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: Complaint %d\r\nMessage-ID: <crash-%s-%d@test>\r\n"+
			"Content-Type: text/plain; charset=utf-8\r\n\r\nMy order %d arrived broken. I want a replacement.\r\n", from, support, i, run, i, i)
		if err := st.Deliver(from, []string{support}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	httpAddr := freeAddr(t)
	cfgPath := writeStackConfig(t, st, dir, support, httpAddr)
	env := append(os.Environ(), "CB_PW="+spw, "CB_TS=crash-secret-0123456789abc", "CB_TOK=crash-token")

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for k := range kills {
		cmd := startBinary(t, bin, cfgPath, env, filepath.Join(dir, fmt.Sprintf("log-%d", k)))
		time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	cmd := startBinary(t, bin, cfgPath, env, filepath.Join(dir, "log-final"))
	waitFor(t, 120*time.Second, "all complaints and an empty outbox", func() bool {
		return apiTotal(httpAddr, "crash-token") == backlog && metric(httpAddr, "complaintbot_outbox_pending") == 0
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", err)
	}

	checkExactlyOnce(t, filepath.Join(dir, "cb.db"), run, backlog)
	var acks, unique int
	seen := map[string]bool{}
	for i, c := range custs {
		for _, m := range st.WaitForMails(t, c, cpws[i], 60*time.Second, backlog/customers, nil) {
			acks++
			h := headerOf(t, m.Raw)
			irt, _ := h.MsgIDList("In-Reply-To")
			if len(irt) == 1 && !seen[irt[0]] {
				seen[irt[0]] = true
				unique++
			}
		}
	}
	t.Logf("crash test: %d SIGKILLs; %d mails recorded exactly once; %d acknowledgements received for %d complaints (%d duplicates)",
		kills, backlog, acks, unique, acks-unique)
	if unique != backlog {
		t.Errorf("%d complaints acknowledged, want %d", unique, backlog)
	}
	if acks-unique > kills {
		t.Errorf("%d duplicate acknowledgements after %d kills: more than one per crash", acks-unique, kills)
	}
}

func checkExactlyOnce(t *testing.T, dbPath, run string, n int) {
	t.Helper()
	s, err := store.OpenBolt(dbPath, store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	count := map[string]int{}
	complaints := map[uint64]bool{}
	err = s.View(context.Background(), func(tx store.Tx) error {
		return tx.ForEachMessage(func(m *store.Message) error {
			if m.Direction == store.DirectionIn && strings.HasPrefix(m.MessageID, "crash-"+run) {
				count[m.MessageID]++
				complaints[m.ComplaintID] = true
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(count) != n {
		t.Errorf("%d distinct mails recorded, want %d (lost mail)", len(count), n)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("%s recorded %d times", id, c)
		}
	}
	if len(complaints) != n || complaints[0] {
		t.Errorf("%d complaints for %d mails (0 means a mail without complaint: %v)", len(complaints), n, complaints[0])
	}
}

func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "complaintbot")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func writeStackConfig(t *testing.T, st *mailstack.Stack, dir, support, httpAddr string) string {
	t.Helper()
	ih, ip, _ := net.SplitHostPort(st.IMAPAddr)
	sh, sp, _ := net.SplitHostPort(st.SMTPAddr)
	text := fmt.Sprintf(`
company: {name: "Crash Ltd", timezone: UTC}
store: {path: %q}
ack: {reaction_time: 1h, max_per_customer_per_hour: 100000}
inboxes:
  - {name: support, host: %s, port: %s, tls: none, user: %q, password_env: CB_PW, after: seen, batch_size: 200}
smtp: {host: %s, port: %s, tls: none, from: "Crash Care <%s>", connections: 1}
threading: {secret_env: CB_TS, domain: crash.test}
http: {listen: %q, token_env: CB_TOK}
`, filepath.Join(dir, "cb.db"), ih, ip, support, sh, sp, support, httpAddr)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startBinary(t *testing.T, bin, cfg string, env []string, logPath string) *exec.Cmd {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd := exec.Command(bin, "run", "-config", cfg)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd
}

// apiTotal is the number of complaints the running daemon reports, -1 when
// it does not answer.
func apiTotal(addr, token string) int {
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/complaints?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var body struct {
		Total int `json:"total"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return -1
	}
	return body.Total
}

// metric reads one unlabelled gauge or counter from /metrics, -1 if absent.
func metric(addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	for _, line := range strings.Split(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return -1
}
