package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"complaintbot/store"
)

// attach downloads the files of u into its message's attachments and
// returns the bytes kept. A temporary failure (network, 5xx, 429) fails the
// batch so the update is fetched again, until the same file has failed
// MaxDownloadFailures times: then the message is recorded without it, so
// no file can hold up the chat for ever.
func (s *TelegramSource) attach(ctx context.Context, bot *tgbotapi.BotAPI, u parsedUpdate) (int64, error) {
	var kept int64
	for _, f := range u.files {
		a, err := s.fetchFile(ctx, bot, f)
		if err != nil {
			s.fileFailures[f.uniqueID]++
			n := s.fileFailures[f.uniqueID]
			if n < s.o.MaxDownloadFailures {
				return 0, fmt.Errorf("file %s of update %d: %w", f.uniqueID, u.id, err)
			}
			a = f.attachment()
			a.NotKeptWhy = fmt.Sprintf("download failed %d times: %v", n, err)
		}
		delete(s.fileFailures, f.uniqueID)
		s.metrics.files.WithLabelValues(fmt.Sprint(a.Kept)).Inc()
		u.msg.Attachments = append(u.msg.Attachments, a)
		kept += int64(len(a.Data))
	}
	return kept, nil
}

// fetchFile asks getFile for the path and downloads the bytes within the
// cap. What Telegram refuses for good (400 "file is too big", an invalid
// file id, a 404 download) is recorded as not kept, with the reason.
func (s *TelegramSource) fetchFile(ctx context.Context, bot *tgbotapi.BotAPI, f telegramFile) (store.Attachment, error) {
	a := store.Attachment{Name: f.name, ContentType: f.contentType, Size: f.size}
	limit := s.o.MaxAttachmentBytes
	if f.size > limit {
		a.NotKeptWhy = overCap(limit)
		return a, nil
	}
	resp, err := s.call(ctx, bot, "getFile", tgbotapi.Params{"file_id": f.id}, s.o.RequestTimeout)
	if err != nil {
		if why, final := refused(err); final {
			a.NotKeptWhy = "Telegram refused the file: " + why
			return a, nil
		}
		return a, err
	}
	var file tgbotapi.File
	if err := json.Unmarshal(resp.Result, &file); err != nil || file.FilePath == "" {
		a.NotKeptWhy = "Telegram gave no file path"
		return a, nil
	}
	a.Size = max(a.Size, int64(file.FileSize))
	if a.Size > limit {
		a.NotKeptWhy = overCap(limit)
		return a, nil
	}
	data, err := s.download(ctx, file.FilePath, limit)
	switch {
	case errors.Is(err, errOverCap):
		a.Size = max(a.Size, limit+1)
		a.NotKeptWhy = overCap(limit)
	case errors.As(err, new(*downloadRefused)):
		a.NotKeptWhy = err.Error()
	case err != nil:
		return a, err
	default:
		sum := sha256.Sum256(data)
		a.Kept, a.Data, a.Size, a.SHA256 = true, data, int64(len(data)), hex.EncodeToString(sum[:])
	}
	return a, nil
}

func overCap(limit int64) string {
	return fmt.Sprintf("over the per-attachment cap of %d bytes", limit)
}

// refused reports whether an API error is final for this file (a 4xx
// other than 429) and Telegram's description of it.
func refused(err error) (string, bool) {
	var e *tgbotapi.Error
	if errors.As(err, &e) && e.Code >= 400 && e.Code < 500 && e.Code != http.StatusTooManyRequests &&
		e.Code != http.StatusUnauthorized {
		return e.Message, true
	}
	return "", false
}

var errOverCap = errors.New("file over the cap")

// downloadRefused is a download the file server refused for good (4xx).
type downloadRefused struct{ status string }

func (e *downloadRefused) Error() string { return "download refused: " + e.status }

// download fetches a file's bytes, reading at most limit+1 of them.
func (s *TelegramSource) download(ctx context.Context, path string, limit int64) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, s.o.DownloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, fmt.Sprintf(s.o.FileEndpoint, s.o.Token, path), nil)
	if err != nil {
		return nil, s.redact("download", err)
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return nil, s.redact("download", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return nil, &downloadRefused{status: resp.Status}
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("download: %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, s.redact("download", err)
	}
	if int64(len(data)) > limit {
		return nil, errOverCap
	}
	return data, nil
}

// redact wraps err with the token removed from its text.
func (s *TelegramSource) redact(what string, err error) error {
	return &redactedError{msg: strings.ReplaceAll(what+": "+err.Error(), s.o.Token, "<token>"), err: err}
}
