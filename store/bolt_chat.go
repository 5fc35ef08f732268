package store

import (
	"fmt"
	json "github.com/goccy/go-json"
)

// ChatState returns the stored state of a Telegram user's chat, or a zero
// state for that user when none is stored (or the bucket predates the file,
// in a read-only open).
func (t *boltTx) ChatState(userID int64) (ChatState, error) {
	b := t.bucket(bucketChatStates)
	if b == nil {
		return ChatState{TelegramUserID: userID}, nil
	}
	v := b.Get(tgKey(userID))
	if v == nil {
		return ChatState{TelegramUserID: userID}, nil
	}
	var s ChatState
	if err := json.Unmarshal(v, &s); err != nil {
		return ChatState{}, fmt.Errorf("store: chat state of telegram user %d: decode: %w", userID, err)
	}
	return s, nil
}

// PutChatState stores s with UpdatedAt set to now.
func (t *boltTx) PutChatState(s ChatState) error {
	const op = "put chat state"
	if err := t.checkWrite(op); err != nil {
		return err
	}
	s.UpdatedAt = t.now()
	if err := t.putJSON(t.bucket(bucketChatStates), tgKey(s.TelegramUserID), s); err != nil {
		return fmt.Errorf("store: %s of telegram user %d: %w", op, s.TelegramUserID, err)
	}
	return nil
}
