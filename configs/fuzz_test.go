package configs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fuzzSecret = "fuzz-secret-value-0123456789"

// FuzzParse: whatever bytes the config file holds, parsing returns a
// config or an error, never panics, and the resolved secrets never show in
// the error or in the printed config.
func FuzzParse(f *testing.F) {
	if example, err := os.ReadFile("complaintbot.example.yaml"); err == nil {
		f.Add(example)
	}
	for _, s := range []string{
		"",
		"smtp: {host: h, from: a@b}\nthreading: {secret_env: S}\n",
		"inboxes: [{name: a, host: h, user: u, password_file: /run/x, batch_size: -1, poll_interval: 1ns}]\n",
		"ack: {reaction_time: 99999999999h}\nhttp: {listen: '[::1'}\n",
		"company: &a {name: x}\nstore: *a\n",
		"- 1\n- 2\n",
		"smtp: {host: h, from: a@b, user: u, password_env: P, password_file: Q}\nunknown: 1\n",
		"log: {level: \"\\u0000\"}\ncompany: {timezone: ../../etc/passwd}\n",
	} {
		f.Add([]byte(s))
	}
	getenv := func(string) string { return fuzzSecret }
	readFile := func(path string) ([]byte, error) {
		if strings.Contains(path, "missing") {
			return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("no such file")}
		}
		return []byte(fuzzSecret + "\n"), nil
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse(data, getenv, readFile)
		leaks := !strings.Contains(string(data), fuzzSecret[:8])
		if err != nil {
			if c != nil {
				t.Fatal("a config with an error")
			}
			if leaks && strings.Contains(err.Error(), fuzzSecret) {
				t.Fatalf("error shows the secret: %v", err)
			}
			return
		}
		if c.Location == nil || c.HTTP.Listen == "" || c.SMTP.FromAddr == nil {
			t.Fatalf("valid config without defaults: %+v", c)
		}
		printed := fmt.Sprintf("%v %+v", c, *c)
		js, _ := json.Marshal(c)
		if leaks && (strings.Contains(printed, fuzzSecret) || strings.Contains(string(js), fuzzSecret)) {
			t.Fatalf("printed config shows the secret: %s / %s", printed, js)
		}
	})
}

// A *_file key naming a device or a big file is refused quickly.
func TestSecretFileIsBounded(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, maxSecretFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", big} {
		text := fmt.Sprintf("smtp: {host: h, from: a@b.c}\nthreading: {secret_file: %q}\n", path)
		_, err := ParseWith([]byte(text), func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "threading.secret_file") || !strings.Contains(err.Error(), "not a secret file") {
			t.Errorf("%s: %v", path, err)
		}
	}
}
