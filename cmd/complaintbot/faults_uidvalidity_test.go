package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"complaintbot/internal/mailstack"
	"complaintbot/store"
)

// TestFaultUIDValidityChange recreates the support INBOX under a running
// daemon that has recorded its mail: the maildir is moved aside (Dovecot
// cannot delete an INBOX, `doveadm mailbox delete INBOX` only empties it
// and keeps its UIDVALIDITY), the daemon's session is kicked, and the same
// mails are put back byte for byte by IMAP APPEND, as a restore from backup
// or a migration tool does; Dovecot gives the new maildir a new
// UIDVALIDITY. One new mail arrives as well. The daemon re-reads the whole
// mailbox from UID 1, recognises the old mails by Message-ID and content
// and records only the new one.
func TestFaultUIDValidityChange(t *testing.T) {
	t.Parallel()
	st := mailstack.FromEnv(t)
	const n = 20
	support, spw := st.NewUser(t, "uidv-support")
	cust, _ := st.NewUserAt(t, "uidv-cust", st.Domains[len(st.Domains)-1])
	run := fmt.Sprintf("uidv-%d", time.Now().UnixNano())
	var mails [][]byte
	for i := range n {
		mails = append(mails, complaintMail(cust, support, fmt.Sprintf("%s-%d@test", run, i), fmt.Sprintf("Late delivery %d", i)))
	}
	deliverAll(t, st, cust, support, mails)

	d := newFaultDaemon(t, st, spw, faultConfig{support: support, ackPerHour: 1, batch: 50})
	d.Start()
	waitFor(t, 30*time.Second, "the first mails to be recorded", func() bool { return d.Complaints() == n })
	before := uidValidity(t, st, support, spw)
	recreateInbox(t, st, support, spw)
	after := uidValidity(t, st, support, spw)
	if after == before {
		t.Fatalf("UIDVALIDITY is still %d after the INBOX was recreated", before)
	}
	if err := st.Deliver(cust, []string{support}, complaintMail(cust, support, run+"-new@test", "Still waiting")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the mailbox to be re-read", func() bool {
		return d.Metric("complaintbot_messages_ingested_total") >= 2*n+1
	})
	dups := d.Metric("complaintbot_messages_ignored_total", `reason="duplicate"`)
	complaints := d.Complaints()
	d.Stop()

	f := d.recordedOnce(run, n+1)
	var cur store.Cursor
	d.View(func(tx store.Tx) error {
		var err error
		cur, err = tx.Cursor("support")
		return err
	})
	if cur.UIDValidity != after || cur.LastUID != n+1 {
		t.Errorf("cursor %d/%d, want UIDVALIDITY %d and the last UID %d", cur.UIDValidity, cur.LastUID, after, n+1)
	}
	if dups != n || complaints != n+1 {
		t.Errorf("%v mails ignored as duplicates and %d complaints, want %d and %d", dups, complaints, n, n+1)
	}
	t.Logf("UIDVALIDITY %d -> %d: %d mails re-read, %v ignored as duplicates, %d recorded in all (%d duplicates), %d complaints",
		before, after, n+1, dups, f.distinct, f.duplicates, complaints)
}

// recreateInbox replaces user's INBOX by a new one holding the same mails.
func recreateInbox(t *testing.T, st *mailstack.Stack, user, password string) {
	t.Helper()
	old := st.Messages(t, user, password) // the bytes Dovecot serves
	maildir := filepath.Join(st.Home(user), "Maildir")
	if err := os.Rename(maildir, maildir+".before-recreate"); err != nil {
		t.Fatal(err)
	}
	kick(t, st, user)
	c := st.Login(t, user, password, nil)
	for _, m := range old {
		cmd := c.Append("INBOX", int64(len(m.Raw)), nil)
		if _, err := cmd.Write(m.Raw); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("APPEND: %v", err)
		}
	}
}

func uidValidity(t *testing.T, st *mailstack.Stack, user, password string) uint32 {
	t.Helper()
	c := st.Login(t, user, password, nil)
	s, err := c.Status("INBOX", &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return s.UIDValidity
}
