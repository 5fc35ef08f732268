package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/sync/errgroup"
)

// session is one SMTP connection to Postfix, reused for many mails.
type session struct {
	c *smtp.Client
}

func dialSession(addr string) (*session, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("smtp dial %s: %w", addr, err)
	}
	c := smtp.NewClient(conn)
	if err := c.Hello("cbload.localhost"); err != nil {
		c.Close()
		return nil, fmt.Errorf("smtp hello %s: %w", addr, err)
	}
	return &session{c: c}, nil
}

// send submits one mail and returns when Postfix has answered 250 to its
// final dot: the mail is then in Postfix's queue.
func (s *session) send(from, to string, raw []byte) error {
	return s.c.SendMail(from, []string{to}, bytes.NewReader(raw))
}

func (s *session) close() {
	s.c.Quit() // best effort: the mails are queued already
	s.c.Close()
}

// submitAll sends every mail from its customer to rcpt over conns parallel
// sessions, each reused for its share of the mails, and returns how long
// Postfix took to accept them all. It stops at the first error.
func submitAll(ctx context.Context, addr string, conns int, mails []outMail, custs []customer, rcpt string) (time.Duration, error) {
	next := make(chan int)
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	g.Go(func() error {
		defer close(next)
		for i := range mails {
			select {
			case next <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range conns {
		g.Go(func() error {
			s, err := dialSession(addr)
			if err != nil {
				return err
			}
			defer s.close()
			for i := range next {
				m := mails[i]
				if err := s.send(custs[m.Customer].Email, rcpt, m.Raw); err != nil {
					return fmt.Errorf("submit mail %d: %w", i, err)
				}
			}
			return nil
		})
	}
	err := g.Wait()
	return time.Since(start), err
}
