package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// Metric names the load command watches.
const (
	metricIngested = "complaintbot_messages_ingested_total"
	metricIgnored  = "complaintbot_messages_ignored_total"
	metricCreated  = "complaintbot_complaints_created_total"
	metricSent     = "complaintbot_notifications_sent_total:ack" // see parseMetrics
	metricQueued   = "complaintbot_acks_total"
	metricFailed   = "complaintbot_notifications_failed_total"
	metricConns    = "complaintbot_smtp_connections_allowed"
	metricRefused  = "complaintbot_smtp_connections_refused_total"
	// The relay's time per step of a message, and the time dots were held
	// for the daemon's own commit: series read one by one (see parseMetrics).
	metricEnvelopeSum   = `complaintbot_smtp_reply_seconds_sum{step="envelope"}`
	metricEnvelopeCount = `complaintbot_smtp_reply_seconds_count{step="envelope"}`
	metricDotSum        = `complaintbot_smtp_reply_seconds_sum{step="dot"}`
	metricDotCount      = `complaintbot_smtp_reply_seconds_count{step="dot"}`
	metricHeld          = "complaintbot_smtp_dot_held_seconds_total"
)

// Environment variables that carry the secrets to the daemon.
const (
	envIMAPPassword = "CBLOAD_IMAP_PASSWORD"
	envThreadSecret = "CBLOAD_THREAD_SECRET"
	envAPIToken     = "CBLOAD_API_TOKEN"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// buildDaemon builds ./cmd/complaintbot of this module into dir.
func buildDaemon(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "complaintbot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "complaintbot/cmd/complaintbot")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build complaintbot: %w\n%s", err, out)
	}
	return bin, nil
}

// daemonConfig is what the load command's config file says.
type daemonConfig struct {
	StorePath             string
	IMAPHost              string
	IMAPPort              int
	SupportUser           string
	After                 string // seen | move
	BatchSize             int
	SMTPHost              string
	SMTPPort              int
	HTTPListen            string
	PasswordEnv, Secret   string
	TokenEnv, LogLevel    string
	AckPerCustomerPerHour int
	SMTPConnections       int
}

var configTemplate = template.Must(template.New("config").Funcs(template.FuncMap{"q": strconv.Quote}).Parse(
	`# Written by cbload for one load run.
company:
  name: "Load Test Ltd"
  timezone: Europe/Vilnius
store:
  path: {{q .StorePath}}
ack:
  reaction_time: 4h
  max_per_customer_per_hour: {{.AckPerCustomerPerHour}}
inboxes:
  - name: support
    host: {{q .IMAPHost}}
    port: {{.IMAPPort}}
    tls: none
    user: {{q .SupportUser}}
    password_env: {{.PasswordEnv}}
    mailbox: INBOX
    after: {{.After}}
{{- if eq .After "move"}}
    move_to: Processed
{{- end}}
    idle: true
    poll_interval: 60s
    batch_size: {{.BatchSize}}
smtp:
  host: {{q .SMTPHost}}
  port: {{.SMTPPort}}
  tls: none
  from: {{q (printf "Load Test Support <%s>" .SupportUser)}}
  helo: cbload.localhost
  connections: {{.SMTPConnections}}
threading:
  secret_env: {{.Secret}}
  domain: complaints.cbload.test
http:
  listen: {{q .HTTPListen}}
  token_env: {{.TokenEnv}}
log:
  level: {{.LogLevel}}
  format: text
`))

func writeConfig(path string, c daemonConfig) error {
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, c); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}

// freeLoopbackAddr returns a 127.0.0.1 address nobody listens on now. The
// daemon binds it a moment later; another process taking the port in
// between makes the daemon fail loudly, never silently.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// daemonProc is a running `complaintbot run`.
type daemonProc struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	token   string
	started time.Time
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
	http    *http.Client
}

// daemonSpec says how to run the daemon.
type daemonSpec struct {
	Bin, Config string
	HTTPAddr    string   // its http.listen
	Token       string   // its API token
	Env         []string // added to cbload's environment (the secrets)
	Log         string   // file for its stdout and stderr
	CPUProfile  string   // when set, it writes a CPU profile there
}

// startDaemon runs the daemon as spec says.
func startDaemon(spec daemonSpec) (*daemonProc, error) {
	log, err := os.Create(spec.Log)
	if err != nil {
		return nil, err
	}
	args := []string{"run", "-config", spec.Config}
	if spec.CPUProfile != "" {
		args = append(args, "-cpuprofile", spec.CPUProfile)
	}
	cmd := exec.Command(spec.Bin, args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdout, cmd.Stderr = log, log
	// cbload reads /metrics every 50 ms, where Prometheus scrapes every 15 s
	// or so: asked for gzip, the daemon would spend 2% of its CPU compressing
	// the answers for a client on the same machine.
	d := &daemonProc{cmd: cmd, base: "http://" + spec.HTTPAddr, token: spec.Token, done: make(chan struct{}),
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}}
	d.started = time.Now()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	go func() {
		d.waitErr = cmd.Wait()
		log.Close()
		close(d.done)
	}()
	return d, nil
}

func (d *daemonProc) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to timeout for the exit; it returns the
// exit code (-1 when killed by a signal).
func (d *daemonProc) stop(timeout time.Duration) (int, error) {
	if !d.exited() {
		if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return -1, err
		}
	}
	select {
	case <-d.done:
	case <-time.After(timeout):
		d.cmd.Process.Kill()
		<-d.done
		return -1, fmt.Errorf("daemon did not stop within %v of SIGTERM; killed", timeout)
	}
	return d.cmd.ProcessState.ExitCode(), nil
}

// metrics scrapes /metrics and sums every series of each metric over its
// labels.
func (d *daemonProc) metrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format: "name{labels} value". It
// sums each metric over its labels, and also, under "name:ack", over the
// series labelled kind="ack" (acknowledgements, not owner notifications).
// A series with labels is also kept as it is written, "name{labels}".
func parseMetrics(r io.Reader) (map[string]float64, error) {
	sums := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		name, labels, _ := strings.Cut(line[:sp], "{")
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name = strings.TrimSpace(name)
		sums[name] += v
		if labels != "" {
			sums[name+"{"+strings.TrimSpace(labels)] = v
		}
		if strings.Contains(labels, `kind="ack"`) {
			sums[name+":ack"] += v
		}
	}
	return sums, sc.Err()
}

// cpu is the user and system CPU the daemon has used so far.
func (d *daemonProc) cpu() (user, sys time.Duration, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces; fields after it are plain.
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(data[end+1:]))
	if len(f) < 13 {
		return 0, 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14 utime
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15 stime
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, err
	}
	tick := time.Second / clockTicks
	return time.Duration(ut) * tick, time.Duration(st) * tick, nil
}

// memStatus is the daemon's memory from /proc/<pid>/status, in bytes.
type memStatus struct {
	Peak int64 // VmHWM: peak resident set
	RSS  int64 // VmRSS now
	Anon int64 // RssAnon: heap, stacks
	File int64 // RssFile: mapped files, mostly the bbolt file's pages the daemon touched
}

// memory reads the daemon's memStatus.
func (d *daemonProc) memory() (memStatus, error) {
	var m memStatus
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return m, err
	}
	fields := map[string]*int64{"VmHWM": &m.Peak, "VmRSS": &m.RSS, "RssAnon": &m.Anon, "RssFile": &m.File}
	for _, line := range strings.Split(string(data), "\n") {
		key, val, ok := strings.Cut(line, ":")
		dst := fields[key]
		if !ok || dst == nil {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s: %w", key, err)
		}
		*dst = kb << 10
	}
	if m.Peak == 0 {
		return m, errors.New("no VmHWM in /proc status")
	}
	return m, nil
}

// cpuSample is the daemon's CPU at one moment.
type cpuSample struct {
	at        time.Time
	user, sys time.Duration
}

func (d *daemonProc) sampleCPU() cpuSample {
	u, s, _ := d.cpu() // a vanished process reads as zero; the exit is checked elsewhere
	return cpuSample{at: time.Now(), user: u, sys: s}
}

// CPU is the CPU a daemon used between two samples.
type CPU struct {
	WallSeconds float64 `json:"wall_seconds"`
	UserSeconds float64 `json:"user_seconds"`
	SysSeconds  float64 `json:"sys_seconds"`
	// Cores is (user+sys)/wall: the average number of cores busy.
	Cores float64 `json:"cores"`
}

func cpuBetween(a, b cpuSample) CPU {
	wall := b.at.Sub(a.at).Seconds()
	c := CPU{WallSeconds: wall, UserSeconds: (b.user - a.user).Seconds(), SysSeconds: (b.sys - a.sys).Seconds()}
	if wall > 0 {
		c.Cores = (c.UserSeconds + c.SysSeconds) / wall
	}
	return c
}
