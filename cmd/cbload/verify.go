package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"complaintbot/cmd/complaintbot/api"
	"complaintbot/store"
)

// recordFacts is what the daemon's export says about one mail we sent.
type recordFacts struct {
	copies     int    // inbound messages with its Message-ID
	status     string // of the last copy
	complaint  string // number of its complaint
	acks       int    // "ack_sent" events on that complaint
	registered time.Time
	ackSent    time.Time
}

// exportFacts reads the daemon's whole JSONL export through its API and
// returns the facts per inbound Message-ID and the number of complaints.
func exportFacts(ctx context.Context, base, token string) (map[string]*recordFacts, int, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(api.ExportVia(ctx, base, token, pw, api.FormatJSONL)) }()
	defer pr.Close()
	facts := map[string]*recordFacts{}
	complaints := 0
	dec := json.NewDecoder(pr)
	for {
		var l api.Line
		if err := dec.Decode(&l); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, 0, fmt.Errorf("export: %w", err)
		}
		var msgs []*store.Message
		var registered, ackSent time.Time
		acks := 0
		number := ""
		switch {
		case l.Record != nil:
			complaints++
			number = l.Complaint.Number
			msgs = l.Messages
			for _, e := range l.Events {
				switch e.Kind {
				case "registered":
					registered = e.At
				case "ack_sent":
					acks++
					ackSent = e.At
				}
			}
		case l.Message != nil:
			msgs = []*store.Message{l.Message}
		}
		for _, m := range msgs {
			if m.Direction != store.DirectionIn {
				continue
			}
			f := facts[m.MessageID]
			if f == nil {
				f = &recordFacts{}
				facts[m.MessageID] = f
			}
			f.copies++
			f.status, f.complaint, f.acks = m.Status, number, acks
			f.registered, f.ackSent = registered, ackSent
		}
	}
	return facts, complaints, nil
}

// Verdict is what the checks at the end of a run found. OK is true when
// every mail sent was recorded exactly once in a complaint of its own, had
// exactly one acknowledgement sent, and that acknowledgement arrived exactly
// once in the sender's mailbox.
type Verdict struct {
	Sent            int      `json:"sent"`
	Complaints      int      `json:"complaints"`
	RecordedOnce    int      `json:"recorded_once"`
	AckedOnce       int      `json:"acked_once"`
	AckArrivedOnce  int      `json:"ack_arrived_once"`
	OtherMessages   int      `json:"other_messages"` // recorded mail that was not ours, or ours outside a complaint
	UnexpectedAcks  int      `json:"unexpected_acks"`
	Problems        []string `json:"problems,omitempty"`
	ProblemsOmitted int      `json:"problems_omitted,omitempty"`
	OK              bool     `json:"ok"`
}

const maxProblems = 10

func (v *Verdict) problem(format string, args ...any) {
	if len(v.Problems) < maxProblems {
		v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
	} else {
		v.ProblemsOmitted++
	}
}

// verify compares what was sent with the export and with the customers'
// mailboxes (acks maps an In-Reply-To to the customers who got it).
func verify(sent []outMail, facts map[string]*recordFacts, complaints int, acks map[string][]int) Verdict {
	v := Verdict{Sent: len(sent), Complaints: complaints}
	mine := make(map[string]bool, len(sent))
	for _, m := range sent {
		mine[m.ID] = true
		f := facts[m.ID]
		switch {
		case f == nil:
			v.problem("%s was not recorded", m.ID)
		case f.copies != 1:
			v.problem("%s was recorded %d times", m.ID, f.copies)
		case f.status != store.StatusRecorded || f.complaint == "":
			v.problem("%s has status %q outside a complaint", m.ID, f.status)
		default:
			v.RecordedOnce++
			if f.acks == 1 {
				v.AckedOnce++
			} else {
				v.problem("complaint %s of %s has %d ack_sent events", f.complaint, m.ID, f.acks)
			}
		}
		switch got := acks[m.ID]; {
		case len(got) == 1 && got[0] == m.Customer:
			v.AckArrivedOnce++
		case len(got) == 0:
			v.problem("no acknowledgement of %s arrived", m.ID)
		default:
			v.problem("acknowledgements of %s arrived in mailboxes %v, want once in %d", m.ID, got, m.Customer)
		}
	}
	for id := range facts {
		if !mine[id] {
			v.OtherMessages++
		}
	}
	for id, got := range acks {
		if !mine[id] {
			v.UnexpectedAcks += len(got)
		}
	}
	if v.Complaints != len(sent) {
		v.problem("%d complaints, want %d", v.Complaints, len(sent))
	}
	if v.OtherMessages > 0 || v.UnexpectedAcks > 0 {
		v.problem("%d unexpected messages recorded, %d unexpected acknowledgements", v.OtherMessages, v.UnexpectedAcks)
	}
	v.OK = len(v.Problems) == 0 && v.ProblemsOmitted == 0
	return v
}

// arrivedAcks reads the In-Reply-To of every message in every customer's
// inbox.
func (ws watchers) arrivedAcks() (map[string][]int, error) {
	acks := map[string][]int{}
	for _, w := range ws {
		n, err := w.count()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		irts, err := w.inReplyTo(1, n)
		if err != nil {
			return nil, err
		}
		seqs := make([]uint32, 0, len(irts))
		for seq := range irts {
			seqs = append(seqs, seq)
		}
		slices.Sort(seqs)
		for _, seq := range seqs {
			acks[irts[seq]] = append(acks[irts[seq]], w.cust)
		}
	}
	return acks, nil
}
