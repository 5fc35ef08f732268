package configs

import (
	"strings"
	"testing"
	"time"
)

func TestInboxMaxBackoff(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        time.Duration
		problem     bool
	}{
		{name: "unset keeps the worker default", value: "", want: 0},
		{name: "seconds", value: "max_backoff: 5s,", want: 5 * time.Second},
		{name: "below a second", value: "max_backoff: 500ms,", problem: true},
		{name: "above an hour", value: "max_backoff: 2h,", problem: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := "inboxes: [{name: a, host: h, user: u, password_env: PW, " + tc.value + "}]\n" +
				"smtp: {host: h, from: a@b.c}\nthreading: {secret_env: TS}\n"
			c, err := ParseWith([]byte(text), env(map[string]string{"PW": "p", "TS": "0123456789abcdef"}))
			if tc.problem {
				if err == nil || !strings.Contains(err.Error(), "inboxes[0].max_backoff") {
					t.Fatalf("want a problem naming inboxes[0].max_backoff, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Inboxes[0].MaxBackoff.D(); got != tc.want {
				t.Errorf("max_backoff = %v, want %v", got, tc.want)
			}
		})
	}
}
