package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"complaintbot/configs"
	"complaintbot/internal/tgfake"
)

// BenchmarkTelegramPipeline pushes b.N customer messages, each from its
// own user, through the whole daemon (long poll, normalise, route with
// classification, commit with fsync, outbox, sendMessage) and measures
// updates per second until every acknowledgement reached the fake, and the
// latency from an update being pushed to its acknowledgement arriving.
// "paced" keeps Telegram's 30 messages/s; "unpaced" shows the pipeline's
// own ceiling; "steady" pushes 20 updates/s (under the limit) for the
// latency of a customer who is not queued behind a burst. Run with
// -benchtime=300x for stable figures.
func BenchmarkTelegramPipeline(b *testing.B) {
	for _, tc := range []struct {
		name      string
		perSecond int
		every     time.Duration // spacing of the pushes; 0: all at once
	}{
		{"burst_paced", 0, 0},
		{"burst_unpaced", 100000, 0},
		{"steady_20per_s_paced", 0, 50 * time.Millisecond},
	} {
		b.Run(tc.name, func(b *testing.B) { benchTelegram(b, tc.perSecond, tc.every) })
	}
}

func benchTelegram(b *testing.B, perSecond int, every time.Duration) {
	env, err := startDemoEnv()
	if err != nil {
		b.Fatal(err)
	}
	defer env.close()
	tg := tgfake.New(tgfake.Options{NoRateLimit: true})
	defer tg.Close()
	sh, sp, _ := net.SplitHostPort(env.smtp.Addr)
	text := fmt.Sprintf(`
store: {path: %q}
ack: {max_per_customer_per_hour: 3}
smtp: {host: %s, port: %s, tls: none, from: "Care <care@demo.example>"}
threading: {secret_env: SECRET}
http: {listen: "127.0.0.1:0"}
telegram: {enabled: true, token_env: TG, api_endpoint: %q, poll_timeout: 5s}
`, filepath.Join(b.TempDir(), "cb.db"), sh, sp, tg.URL())
	secrets := map[string]string{"SECRET": randomHex(16), "TG": tg.Token()}
	cfg, err := configs.ParseWith([]byte(text), func(k string) string { return secrets[k] })
	if err != nil {
		b.Fatal(err)
	}
	d, err := newDaemon(cfg, daemonDeps{Logger: newLogger(discard{}, "error", "text"), TelegramPerSecond: perSecond})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := d.Listen(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	pushed := make([]time.Time, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		user := int64(2_000_000 + i)
		if every > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		}
		pushed[i] = time.Now()
		tg.PushText(user, user, fmt.Sprintf("Order %d arrived broken, the box was crushed. Please replace it.", 10000+i), "en")
	}
	lat := make([]time.Duration, b.N)
	deadline := time.Now().Add(5*time.Minute + time.Duration(b.N)*100*time.Millisecond)
	for i := range b.N {
		user := int64(2_000_000 + i)
		sent := tg.WaitSent(user, 1, time.Until(deadline))
		if len(sent) == 0 {
			b.Fatalf("no acknowledgement for update %d", i)
		}
		lat[i] = sent[0].At.Sub(pushed[i])
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99_ms")
	b.ReportMetric(0, "ns/op")
}

// discard is a writer that drops everything (quiet benchmark logs).
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
