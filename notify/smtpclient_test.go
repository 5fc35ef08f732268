package notify

import (
	"bufio"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// scriptedRelay is an SMTP server that answers each command line with the
// reply its script gives for the command's first word (or for the dot that
// ends DATA), and records the lines it read and how many reads it took to
// get them, so a test can see what the client pipelined.
type scriptedRelay struct {
	ln      net.Listener
	replies map[string][]string // "EHLO", "MAIL", "RCPT", "DATA", ".", ...: replies used in turn
	lines   chan readLine
	done    chan struct{}
}

// readLine is one line the relay read, and how many bytes had arrived
// after it by then: a client that waits for each reply sends nothing more
// until it has one.
type readLine struct {
	line     string
	buffered int
}

func newScriptedRelay(t *testing.T, replies map[string][]string) *scriptedRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedRelay{ln: ln, replies: replies, lines: make(chan readLine, 100), done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() { ln.Close(); <-s.done })
	return s
}

func (s *scriptedRelay) serve() {
	defer close(s.done)
	conn, err := s.ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	conn.Write([]byte("220 relay.test ESMTP\r\n"))
	inData := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if inData {
			if line != "." {
				continue
			}
			inData = false
		}
		s.lines <- readLine{line, br.Buffered()}
		key := strings.ToUpper(strings.Fields(line + " x")[0])
		rs := s.replies[key]
		if len(rs) == 0 {
			conn.Write([]byte("500 unexpected " + key + "\r\n"))
			continue
		}
		reply := rs[0]
		if len(rs) > 1 {
			s.replies[key] = rs[1:]
		}
		if key == "DATA" && strings.HasPrefix(reply, "354") {
			inData = true
		}
		conn.Write([]byte(reply + "\r\n"))
		if key == "QUIT" {
			return
		}
	}
}

func (s *scriptedRelay) dial(t *testing.T) *smtpClient {
	t.Helper()
	conn, err := net.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := newSMTPClient(conn, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.close() })
	return c
}

// read returns the lines the relay has read so far.
func (s *scriptedRelay) read() []string {
	var out []string
	for _, l := range s.readLines() {
		out = append(out, l.line)
	}
	return out
}

func (s *scriptedRelay) readLines() []readLine {
	var out []readLine
	for {
		select {
		case l := <-s.lines:
			out = append(out, l)
		case <-time.After(100 * time.Millisecond):
			return out
		}
	}
}

const ehloPipelining = "250-relay.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES"

func TestSMTPClientPipelinesATransaction(t *testing.T) {
	s := newScriptedRelay(t, map[string][]string{
		"EHLO": {ehloPipelining}, "MAIL": {"250 2.1.0 ok"}, "RCPT": {"250 2.1.5 ok"},
		"DATA": {"354 go ahead"}, ".": {"250 2.0.0 queued as 1"}, "QUIT": {"221 bye"},
	})
	c := s.dial(t)
	if err := c.hello("bot.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.extension("pipelining"); !ok {
		t.Fatal("PIPELINING not seen in the EHLO reply")
	}
	if err := c.begin("support@shop.test", "anna@customer.test", false); err != nil {
		t.Fatal(err)
	}
	if err := c.write([]byte("Subject: hi\r\n\r\n.leading dot\r\n")); err != nil {
		t.Fatal(err)
	}
	lines := s.readLines() // EHLO, MAIL, RCPT, DATA; the message is not ended yet
	var before []string
	for _, l := range lines {
		before = append(before, l.line)
	}
	// When the relay read MAIL, RCPT and DATA had arrived with it.
	if len(lines) == 4 && lines[1].buffered < len(lines[2].line)+len(lines[3].line)+4 {
		t.Errorf("MAIL came with %d more bytes; RCPT and DATA were not pipelined with it", lines[1].buffered)
	}
	if err := c.finish(); err != nil {
		t.Fatal(err)
	}
	if err := c.quit(); err != nil {
		t.Fatal(err)
	}
	want := []string{"EHLO bot.test", "MAIL FROM:<support@shop.test> BODY=8BITMIME", "RCPT TO:<anna@customer.test>", "DATA"}
	if strings.Join(before, "|") != strings.Join(want, "|") {
		t.Errorf("before the dot the relay read %q, want %q", before, want)
	}
	if after := s.read(); strings.Join(after, "|") != ".|QUIT" {
		t.Errorf("after it: %q", after)
	}
}

// A refused recipient in a pipelined group: the client reads the DATA
// reply too (the session stays in step, RSET works) and reports the RCPT
// reply with its enhanced code.
func TestSMTPClientPipelinedRecipientRefused(t *testing.T) {
	s := newScriptedRelay(t, map[string][]string{
		"EHLO": {ehloPipelining}, "MAIL": {"250 ok"}, "RCPT": {"550-5.1.1 no such user\r\n550 5.1.1 really"},
		"DATA": {"503 5.5.1 no valid recipients"}, "RSET": {"250 flushed"},
	})
	c := s.dial(t)
	if err := c.hello("bot.test"); err != nil {
		t.Fatal(err)
	}
	err := c.begin("support@shop.test", "nobody@customer.test", false)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) || se.Message != "no such user\nreally" {
		t.Fatalf("begin = %#v, want the 550 5.1.1 of RCPT", err)
	}
	if !isPermanent(err) {
		t.Error("a 550 recipient is not permanent")
	}
	if err := c.reset(); err != nil {
		t.Errorf("RSET after the refused group: %v", err)
	}
}

// A relay that goes on to DATA after refusing RCPT would be sent nothing:
// the session is closed.
func TestSMTPClientClosesWhenDataFollowsARefusal(t *testing.T) {
	s := newScriptedRelay(t, map[string][]string{
		"EHLO": {ehloPipelining}, "MAIL": {"250 ok"}, "RCPT": {"550 no"}, "DATA": {"354 go ahead anyway"},
	})
	c := s.dial(t)
	if err := c.hello("bot.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.begin("support@shop.test", "nobody@customer.test", false); err == nil {
		t.Fatal("begin succeeded")
	}
	if err := c.reset(); err == nil {
		t.Error("the session is still usable after a 354 that followed a refusal")
	}
}

// Without PIPELINING (and with HELO only) the commands go one at a time.
func TestSMTPClientWithoutPipelining(t *testing.T) {
	s := newScriptedRelay(t, map[string][]string{
		"EHLO": {"502 what"}, "HELO": {"250 relay.test"}, "MAIL": {"250 ok"}, "RCPT": {"250 ok"},
		"DATA": {"354 go"}, ".": {"250 queued"},
	})
	c := s.dial(t)
	if err := c.hello("bot.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.begin("a@shop.test", "b@customer.test", false); err != nil {
		t.Fatal(err)
	}
	if err := c.write([]byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.finish(); err != nil {
		t.Fatal(err)
	}
	got := s.read()
	want := []string{"EHLO bot.test", "HELO bot.test", "MAIL FROM:<a@shop.test>", "RCPT TO:<b@customer.test>", "DATA", "."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("relay read %q, want %q", got, want)
	}
}

// A line break in an address or HELO name never reaches the relay: it
// would start a command of the customer's choosing.
func TestSMTPClientRefusesLineBreaks(t *testing.T) {
	s := newScriptedRelay(t, map[string][]string{"EHLO": {ehloPipelining}})
	c := s.dial(t)
	if err := c.hello("bot.test\r\nRSET"); err == nil || !isPermanent(err) {
		t.Errorf("hello with CRLF = %v, want a permanent error", err)
	}
	if err := c.hello("bot.test"); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"a@b.test>\r\nRCPT TO:<evil@x.test", "a@b.test\n"} {
		if err := c.begin("support@shop.test", to, false); err == nil || !isPermanent(err) {
			t.Errorf("begin to %q = %v, want a permanent error", to, err)
		}
	}
	if got := s.read(); len(got) != 1 {
		t.Errorf("relay read %q, want only the EHLO", got)
	}
}

func TestReplyErrorEnhancedCode(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		code smtp.EnhancedCode
		text string
	}{
		{"4.7.1 try later", smtp.EnhancedCode{4, 7, 1}, "try later"},
		{"try later", smtp.EnhancedCode{}, "try later"},
		{"4.7 try", smtp.EnhancedCode{}, "4.7 try"},
		{"4.x.1 try", smtp.EnhancedCode{}, "4.x.1 try"},
	} {
		se := replyError(&textproto.Error{Code: 451, Msg: tc.msg})
		if se.Code != 451 || se.EnhancedCode != tc.code || se.Message != tc.text {
			t.Errorf("%q -> %+v", tc.msg, se)
		}
	}
}
