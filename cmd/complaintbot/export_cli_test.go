package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeConfigFile writes a config for the demo world with secrets in the
// environment, as an operator would.
func writeConfigFile(t *testing.T, env *demoEnv, dbPath, httpAddr string) string {
	t.Helper()
	cfg, err := demoConfig(env, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CBX_PW", "demo-password")
	t.Setenv("CBX_TS", "export-secret-0123456789")
	t.Setenv("CBX_TOK", "export-token")
	text := fmt.Sprintf(`
store: {path: %q}
inboxes: [{name: support, host: 127.0.0.1, port: %d, tls: none, user: %q, password_env: CBX_PW, poll_interval: 1s}]
smtp: {host: 127.0.0.1, port: %d, tls: none, from: %q}
threading: {secret_env: CBX_TS}
http: {listen: %q, token_env: CBX_TOK}
`, dbPath, cfg.Inboxes[0].Port, cfg.Inboxes[0].User, cfg.SMTP.Port, cfg.SMTP.From, httpAddr)
	path := filepath.Join(t.TempDir(), "cb.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExportCommand: export reads the store directly when the daemon is
// stopped and goes through the daemon's API while it runs; both give the
// same complaints.
func TestExportCommand(t *testing.T) {
	env, err := startDemoEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	dbPath := filepath.Join(t.TempDir(), "cb.db")
	cfg, _ := demoConfig(env, dbPath)
	d, err := newDaemon(cfg, daemonDeps{Logger: newLogger(io.Discard, "info", "text")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := runDemoScript(ctx, d, env, io.Discard); err != nil {
		t.Fatal(err)
	}
	httpAddr := freeAddr(t)
	cfgPath := writeConfigFile(t, env, dbPath, httpAddr)

	offline := runExport(t, cfgPath, "csv")
	rows, err := csv.NewReader(strings.NewReader(offline)).ReadAll()
	if err != nil || len(rows) != 7 {
		t.Fatalf("offline csv: %d rows (want header + 6), err %v", len(rows), err)
	}
	jsonl := runExport(t, cfgPath, "jsonl")
	if n := countComplaintLines(t, jsonl); n != 6 {
		t.Errorf("offline jsonl: %d complaint lines, want 6", n)
	}

	// With the daemon running the file is locked: export goes through the API.
	stop := runConfigDaemon(t, cfgPath, httpAddr)
	defer stop()
	if online := runExport(t, cfgPath, "jsonl"); countComplaintLines(t, online) != 6 {
		t.Errorf("export through the running daemon differs:\n%s", online)
	}
}

func runExport(t *testing.T, cfgPath, format string) string {
	t.Helper()
	var out, errw bytes.Buffer
	if code := runMain([]string{"export", "-config", cfgPath, "-format", format}, &out, &errw); code != 0 {
		t.Fatalf("export -format %s: exit %d: %s", format, code, errw.String())
	}
	return out.String()
}

func countComplaintLines(t *testing.T, jsonl string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		var v map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("bad jsonl line %q: %v", line, err)
		}
		if _, ok := v["complaint"]; ok {
			n++
		}
	}
	return n
}

// runConfigDaemon runs `complaintbot run` in-process and waits for /healthz.
func runConfigDaemon(t *testing.T, cfgPath, httpAddr string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmdRun(ctx, []string{"-config", cfgPath}, io.Discard) }()
	waitFor(t, 10*time.Second, "the daemon's HTTP listener", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

// TestHealthzReportsFailingInbox: an inbox whose server is gone makes
// /healthz answer 503 naming it.
func TestHealthzReportsFailingInbox(t *testing.T) {
	env, err := startDemoEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	httpAddr := freeAddr(t)
	cfgPath := writeConfigFile(t, env, filepath.Join(t.TempDir(), "cb.db"), httpAddr)
	env.imap.Close() // the server disappears
	stop := runConfigDaemon(t, cfgPath, httpAddr)
	defer stop()
	var body string
	waitFor(t, 10*time.Second, "/healthz to report the inbox failing", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	var h struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	for _, c := range h.Checks {
		if c.Name == "inbox:support" && !c.OK {
			return
		}
	}
	t.Errorf("healthz does not name the failing inbox: %s", body)
}
