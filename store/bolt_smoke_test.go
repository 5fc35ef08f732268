package store

import "testing"

func TestSmoke(t *testing.T) {
	s, _ := openTest(t, BoltOptions{})
	update(t, s, func(tx Tx) error {
		c := &Customer{Emails: []string{"A@x.org"}}
		if err := tx.PutCustomer(c); err != nil {
			return err
		}
		cp := &Complaint{CustomerID: c.ID}
		if err := tx.PutComplaint(cp); err != nil {
			return err
		}
		m := &Message{ComplaintID: cp.ID, MessageID: "a@b", Attachments: []Attachment{{Name: "x", Data: []byte("hi")}}}
		if err := tx.PutMessage(m); err != nil {
			return err
		}
		if err := tx.AppendEvent(&Event{ComplaintID: cp.ID, Kind: "registered"}); err != nil {
			return err
		}
		return tx.PutNotification(&Notification{ComplaintID: cp.ID, Kind: "ack"})
	})
	view(t, s, func(tx Tx) error {
		c, err := tx.CustomerByEmail("a@X.org")
		if err != nil {
			return err
		}
		cs, _ := tx.ComplaintsOfCustomer(c.ID)
		if len(cs) != 1 || cs[0].Number != "C-2026-000001" {
			t.Errorf("complaints %+v", cs)
		}
		m, err := tx.MessageByMessageID("a@b")
		if err != nil {
			return err
		}
		b, err := tx.Blob(m.Attachments[0].BlobKey)
		if string(b) != "hi" {
			t.Errorf("blob %q %v", b, err)
		}
		d, ok, err := tx.NextDue()
		t.Logf("next due %v %v %v", d, ok, err)
		return nil
	})
}
