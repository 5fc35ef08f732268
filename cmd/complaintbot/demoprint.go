package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"complaintbot/internal/fakemail"
	"complaintbot/store"
)

func mkTempDir() (string, error) { return os.MkdirTemp("", "complaintbot-demo-") }

func removeAll(dir string) { _ = os.RemoveAll(dir) }

// printDemoRecords reopens the store the daemon closed and prints every
// complaint with its messages and events, the mail that was ignored or
// quarantined, and the acknowledgements the SMTP server received.
func printDemoRecords(ctx context.Context, path string, loc *time.Location, acks []fakemail.Received, w io.Writer) error {
	st, err := store.OpenBolt(path, store.BoltOptions{})
	if err != nil {
		return err
	}
	defer st.Close()
	err = st.View(ctx, func(tx store.Tx) error {
		fmt.Fprintln(w, "\n=== Complaints ===")
		if err := tx.ForEachComplaint(func(c *store.Complaint) error { return printComplaint(tx, c, loc, w) }); err != nil {
			return err
		}
		fmt.Fprintln(w, "\n=== Not complaints (kept, with the reason) ===")
		return tx.ForEachMessage(func(m *store.Message) error {
			if m.ComplaintID == 0 {
				fmt.Fprintf(w, "  %-12s %-40q from %s: %s\n", m.Status, m.Subject, m.From.Email, m.Reason)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	customers, staff := splitMail(acks)
	fmt.Fprintf(w, "\n=== Acknowledgements received by the SMTP server (%d) ===\n", len(customers))
	printMail(w, customers)
	fmt.Fprintf(w, "\n=== Owner notifications received by the SMTP server (%d) ===\n", len(staff))
	printMail(w, staff)
	return nil
}

func printMail(w io.Writer, mails []fakemail.Received) {
	for _, a := range mails {
		v := parseAck(a.Data)
		fmt.Fprintf(w, "\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n", v.To, v.Subject, v.MessageID)
		if v.InReplyTo != "" {
			fmt.Fprintf(w, "In-Reply-To: <%s>\n", v.InReplyTo)
		}
		fmt.Fprintf(w, "Auto-Submitted: %s\n\n%s\n", v.AutoSubmitted, indent(strings.TrimSpace(v.Text)))
	}
}

func printComplaint(tx store.Tx, c *store.Complaint, loc *time.Location, w io.Writer) error {
	cu, err := tx.Customer(c.CustomerID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s  stage=%s  lang=%s  channel=%s  customer=%s <%s>\n  subject: %s\n  promised reaction by: %s\n",
		c.Number, c.Stage, c.Lang, c.Channel, cu.Name, strings.Join(cu.Emails, ", "), c.Subject, c.DueAt.In(loc).Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "  category=%s  cause=%s  amount=%s %s  tier=%s  owner=%s  team=%s%s\n",
		orDash(c.Category), orDash(c.Cause), orDash(c.Amount), c.Currency, orDash(c.Tier), orDash(c.OwnerID), orDash(c.Team), notComplaint(c))
	msgs, err := tx.MessagesOf(c.ID)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		fmt.Fprintf(w, "  [%s %s] <%s> %q\n%s\n", m.Direction, m.Status, m.MessageID, m.Subject, indent(clip(m.Text, 300)))
		for _, a := range m.Attachments {
			fmt.Fprintf(w, "      attachment: %s (%s, %d bytes, kept=%v)\n", a.Name, a.ContentType, a.Size, a.Kept)
		}
	}
	evs, err := tx.Events(c.ID)
	if err != nil {
		return err
	}
	for _, e := range evs {
		fmt.Fprintf(w, "  event %d %s %-14s by %s %s\n", e.Seq, e.At.In(loc).Format("15:04:05"), e.Kind, e.Actor, clip(e.Text, 160))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func notComplaint(c *store.Complaint) string {
	if c.NotComplaint == "" {
		return ""
	}
	return "  not a complaint: " + c.NotComplaint
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func indent(s string) string {
	return "      " + strings.ReplaceAll(s, "\n", "\n      ")
}
