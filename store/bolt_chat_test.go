package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestChatStateRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	b, err := OpenBolt(filepath.Join(t.TempDir(), "s.db"), BoltOptions{NoSync: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	err = b.Update(ctx, func(tx Tx) error {
		s, err := tx.ChatState(-42)
		if err != nil || s.TelegramUserID != -42 || s.Awaiting != "" {
			t.Fatalf("empty state = %+v, %v", s, err)
		}
		return tx.PutChatState(ChatState{TelegramUserID: -42, Awaiting: "reply", Complaint: "C-2026-000001",
			Fields: map[string]string{"k": "v"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = b.View(ctx, func(tx Tx) error {
		s, err := tx.ChatState(-42)
		if err != nil || s.Awaiting != "reply" || s.Complaint != "C-2026-000001" || s.Fields["k"] != "v" || !s.UpdatedAt.Equal(now) {
			t.Fatalf("state = %+v, %v", s, err)
		}
		if other, _ := tx.ChatState(42); other.Awaiting != "" {
			t.Fatalf("user 42 sees user -42's state: %+v", other)
		}
		if err := tx.PutChatState(ChatState{TelegramUserID: 1}); err == nil {
			t.Fatal("PutChatState in a View succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
