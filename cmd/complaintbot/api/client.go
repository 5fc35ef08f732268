package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxErrorBody bounds how much of an error response ExportVia reads.
const maxErrorBody = 4 << 10

// ExportVia fetches an export from a running daemon's API (the daemon holds
// the bbolt file's lock, so the CLI cannot open it) and streams it to w.
// baseURL is the daemon's http:// or https:// address, e.g.
// "http://127.0.0.1:8080". A non-200 answer becomes an error carrying the
// server's JSON error message; a transfer cut short is an error too, so a
// partial export is never taken for a whole one. The token never appears in
// an error. Redirects are not followed, so the token goes nowhere else.
func ExportVia(ctx context.Context, baseURL, token string, w io.Writer, format string) error {
	if err := CheckFormat(format); err != nil {
		return err
	}
	u, err := exportURL(baseURL, format)
	if err != nil {
		return err
	}
	where := u.Redacted()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("api: export via %s: %w", where, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("api: export via %s: %w", where, redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg := scrub(errorMessage(resp.Body), token)
		return fmt.Errorf("api: export via %s: %s: %s", where, resp.Status, msg)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("api: export via %s: transfer cut short, the export is incomplete: %w", where, err)
	}
	return nil
}

func exportURL(baseURL, format string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api: export via %q: base URL must be http://host:port or https://host:port", baseURL)
	}
	u = u.JoinPath("api", "export")
	u.RawQuery = url.Values{"format": {format}}.Encode()
	return u, nil
}

// redactURLError keeps the cause of a client error; the URL is already
// named, redacted, by the caller.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorMessage is the "error" of a JSON error body, or the start of a body
// that is not one.
func errorMessage(body io.Reader) string {
	raw, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	var e errorBody
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		return e.Error
	}
	text := strings.TrimSpace(string(raw))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	if text == "" {
		return "(no error message)"
	}
	return fmt.Sprintf("%q", text)
}

// scrub removes the token should a (misbehaving) server echo it.
func scrub(msg, token string) string {
	if token == "" {
		return msg
	}
	return strings.ReplaceAll(msg, token, "[redacted]")
}
