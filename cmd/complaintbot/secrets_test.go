package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"complaintbot/configs"
	"complaintbot/internal/fakemail"
)

// testSecrets are distinctive values: finding any of them in output is a
// leak. CB_IMAP_WRONG is a password the server does not accept.
var testSecrets = map[string]string{
	"CB_IMAP_PW":    "imap-pw-Zq81xSECRET",
	"CB_IMAP_WRONG": "imap-wrong-Kx47xSECRET",
	"CB_SMTP_PW":    "smtp-pw-Vb29xSECRET",
	"CB_TOKEN":      "api-token-Hn63xSECRET",
	"CB_THREAD":     "thread-secret-Py05xSECRET",
}

// syncBuffer is a bytes.Buffer safe for the daemon's concurrent loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// assertNoSecret fails the test when any test secret appears in text.
func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for name, v := range testSecrets {
		if strings.Contains(text, v) {
			t.Errorf("%s shows the secret of %s", what, name)
		}
	}
}

// TestSecretsNeverShown runs the daemon with a debug logger into a buffer
// and distinctive secrets for IMAP, SMTP (AUTH PLAIN on the fake relay),
// the API token and the thread secret. It drives a good ingest and send,
// then a wrong IMAP password, an SMTP AUTH failure (the relay's password
// is changed), API calls with a wrong and the right token; the log,
// /healthz, /metrics and the daemon's error hold none of the secrets.
func TestSecretsNeverShown(t *testing.T) {
	imapSrv, smtpSrv := startSecretServers(t)
	dbPath := filepath.Join(t.TempDir(), "cb.db")
	cfg, err := configs.ParseWith([]byte(secretsConfig(imapSrv.Addr, smtpSrv.Addr, dbPath, "env")), func(k string) string { return testSecrets[k] })
	if err != nil {
		t.Fatal(err)
	}
	var logBuf syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// First run: the good inbox is read and the ack goes out through AUTH.
	d := newSecretsDaemon(t, cfg, &logBuf)
	stop := runDaemonErr(t, ctx, d)
	appendMail(t, imapSrv, "first@customer.test", "sec-1@customer.test")
	if _, err := smtpSrv.Wait(ctx, 1); err != nil {
		t.Fatalf("no acknowledgement through the authenticated relay: %v\n%s", err, logBuf.String())
	}
	errs := []error{stop()}

	// Second run: the relay's password has changed, so AUTH fails (a
	// running notifier would reuse its authenticated connection).
	smtpSrv.RequireAuth("relay-user", "rotated-password")
	appendMail(t, imapSrv, "second@customer.test", "sec-2@customer.test")
	d = newSecretsDaemon(t, cfg, &logBuf)
	stop = runDaemonErr(t, ctx, d)
	base := "http://" + d.ln.Addr().String()
	waitFor(t, 60*time.Second, "an SMTP AUTH failure and the broken inbox failing", func() bool {
		h := get(t, base+"/healthz", "")
		return smtpSrv.AuthFailures() > 0 && strings.Contains(h, `"name":"inbox:broken","ok":false`) &&
			strings.Contains(h, `"name":"smtp","ok":false`)
	})
	if code := status(t, base+"/api/complaints", "api-token-wrong-Qm11"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: HTTP %d, want 401", code)
	}
	if code := status(t, base+"/api/complaints", testSecrets["CB_TOKEN"]); code != http.StatusOK {
		t.Errorf("right token: HTTP %d, want 200", code)
	}
	health, metrics := get(t, base+"/healthz", ""), get(t, base+"/metrics", "")
	errs = append(errs, stop())
	logText := logBuf.String()
	t.Logf("healthz while failing: %s", health)
	if !strings.Contains(logText+health, "535") {
		t.Errorf("the SMTP AUTH failure is reported nowhere:\n%s", logText)
	}
	assertNoSecret(t, "the daemon log", logText)
	assertNoSecret(t, "/healthz", health)
	assertNoSecret(t, "/metrics", metrics)
	for _, err := range errs {
		if err != nil {
			assertNoSecret(t, "the daemon's error", err.Error())
		}
	}
	checkFileMode(t, dbPath)
}

func newSecretsDaemon(t *testing.T, cfg *configs.Config, log io.Writer) *daemon {
	t.Helper()
	d, err := newDaemon(cfg, daemonDeps{Logger: newLogger(log, "debug", "text"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func startSecretServers(t *testing.T) (*fakemail.IMAP, *fakemail.SMTP) {
	t.Helper()
	imapSrv, err := fakemail.StartIMAP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imapSrv.Close() })
	for user, pw := range map[string]string{"support@secrets.test": testSecrets["CB_IMAP_PW"], "other@secrets.test": "the-real-password"} {
		if err := imapSrv.AddUser(user, pw); err != nil {
			t.Fatal(err)
		}
	}
	smtpSrv, err := fakemail.StartSMTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	smtpSrv.RequireAuth("relay-user", testSecrets["CB_SMTP_PW"])
	return imapSrv, smtpSrv
}

// secretsConfig is a config with every secret set, through environment
// variables (via "env") or files in dir (via "file:<dir>").
func secretsConfig(imapAddr, smtpAddr, dbPath, via string) string {
	ih, ip, _ := net.SplitHostPort(imapAddr)
	sh, sp, _ := net.SplitHostPort(smtpAddr)
	ref := func(name string) string { return "_env: " + name }
	if dir, ok := strings.CutPrefix(via, "file:"); ok {
		ref = func(name string) string { return fmt.Sprintf("_file: %q", filepath.Join(dir, name)) }
	}
	return fmt.Sprintf(`
store: {path: %q}
inboxes:
  - {name: support, host: %s, port: %s, tls: none, user: support@secrets.test, password%s, poll_interval: 1s}
  - {name: broken, host: %s, port: %s, tls: none, user: other@secrets.test, password%s, poll_interval: 1s}
smtp: {host: %s, port: %s, tls: none, user: relay-user, password%s, from: "Care <support@secrets.test>", connections: 1}
threading: {secret%s, domain: secrets.test}
http: {listen: "127.0.0.1:0", token%s}
`, dbPath, ih, ip, ref("CB_IMAP_PW"), ih, ip, ref("CB_IMAP_WRONG"), sh, sp, ref("CB_SMTP_PW"), ref("CB_THREAD"), ref("CB_TOKEN"))
}

func appendMail(t *testing.T, srv *fakemail.IMAP, from, id string) {
	t.Helper()
	raw := fmt.Sprintf("From: <%s>\r\nTo: <support@secrets.test>\r\nSubject: Broken kettle\r\nMessage-ID: <%s>\r\n\r\nMy kettle broke on the first day.\r\n", from, id)
	if err := srv.Append("support@secrets.test", "INBOX", []byte(raw)); err != nil {
		t.Fatal(err)
	}
}

// runDaemonErr runs d; the returned func stops it and returns Run's error.
func runDaemonErr(t *testing.T, ctx context.Context, d *daemon) func() error {
	t.Helper()
	if _, err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func get(t *testing.T, url, token string) string {
	t.Helper()
	body, _ := request(t, url, token)
	return body
}

func status(t *testing.T, url, token string) int {
	t.Helper()
	_, code := request(t, url, token)
	return code
}

func request(t *testing.T, url, token string) (string, int) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

// checkFileMode: the store (which also holds the attachments) is 0600.
func checkFileMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, perm)
	}
}

// TestCheckConfigShowsNoSecret runs check-config on a valid config whose
// secrets come from files, and on one with problems: neither output holds
// a secret.
func TestCheckConfigShowsNoSecret(t *testing.T) {
	dir := t.TempDir()
	for name, v := range testSecrets {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good := secretsConfig("127.0.0.1:1143", "127.0.0.1:1025", filepath.Join(dir, "cb.db"), "file:"+dir)
	bad := strings.Replace(good, `from: "Care <support@secrets.test>"`, `from: "not an address"`, 1) + "log: {level: loud}\n"
	for _, tc := range []struct {
		name, text string
		code       int
	}{{"valid", good, 0}, {"with problems", bad, 1}} {
		path := filepath.Join(dir, tc.name+".yaml")
		if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errw bytes.Buffer
		if code := runMain([]string{"check-config", "-config", path}, &out, &errw); code != tc.code {
			t.Fatalf("%s: exit %d, want %d\n%s%s", tc.name, code, tc.code, out.String(), errw.String())
		}
		t.Logf("check-config %s:\n%s%s", tc.name, out.String(), errw.String())
		assertNoSecret(t, "check-config "+tc.name, out.String()+errw.String())
	}
}

// TestHTTPListensOnLoopbackByDefault: without http.listen, and in the
// example config, the API is bound to a loopback address.
func TestHTTPListensOnLoopbackByDefault(t *testing.T) {
	getenv := func(string) string { return "some-secret-value-0123456789" }
	minimal := "smtp: {host: relay.example.com, from: a@example.com}\nthreading: {secret_env: S}\n"
	example, err := os.ReadFile("../../configs/complaintbot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"minimal": minimal, "example": string(example)} {
		cfg, err := configs.ParseWith([]byte(text), getenv)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		host, _, err := net.SplitHostPort(cfg.HTTP.Listen)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			t.Errorf("%s config listens on %q, want a loopback address", name, cfg.HTTP.Listen)
		}
	}
}
