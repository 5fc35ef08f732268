package router

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"strings"
)

// Our Message-IDs carry a reply token: c{complaintID}.{nonce}.{mac}@{domain}.
// mac is HMAC-SHA256(secret, "c{complaintID}.{nonce}") cut to macLen bytes;
// the random nonce makes every ID unique (RFC 5322 section 3.6.4). A reply
// names the ID in In-Reply-To/References, and the MAC proves we made it, so
// nobody can aim a reply at a complaint by guessing its ID. The domain is
// not part of the proof: renaming it keeps old threads working.
const (
	nonceLen = 10 // bytes, 80 bits: IDs never repeat
	macLen   = 15 // bytes, 120 bits of the HMAC
	// maxTokenLen bounds the input TokenComplaint looks at; real tokens
	// are about 60 characters plus the domain.
	maxTokenLen = 512
)

// tokenEncoding is lower-case base32 without padding: safe in a
// Message-ID's local part and unchanged by case-folding mail systems.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewMessageID returns a new Message-ID (without angle brackets) for mail
// we send about complaint complaintID, carrying a signed reply token.
func (r *Router) NewMessageID(complaintID uint64) string {
	nonce := make([]byte, nonceLen)
	rand.Read(nonce) // never fails (crypto/rand documents it)
	return r.signedID(complaintID, nonce)
}

func (r *Router) signedID(complaintID uint64, nonce []byte) string {
	payload := "c" + strconv.FormatUint(complaintID, 10) + "." + tokenEncoding.EncodeToString(nonce)
	return payload + "." + r.mac(payload) + "@" + r.domain
}

// TokenComplaint returns the complaint ID carried by one of our signed
// Message-IDs (with or without angle brackets), and false for anything
// else: a foreign ID, a malformed one, or one whose MAC does not check.
func (r *Router) TokenComplaint(messageID string) (uint64, bool) {
	if len(messageID) > maxTokenLen {
		return 0, false
	}
	local, _, ok := strings.Cut(strings.Trim(strings.TrimSpace(messageID), "<>"), "@")
	if !ok {
		return 0, false
	}
	dot := strings.LastIndexByte(local, '.')
	if dot < 0 {
		return 0, false
	}
	payload, mac := local[:dot], local[dot+1:]
	id, ok := parsePayload(payload)
	if !ok || !hmac.Equal([]byte(mac), []byte(r.mac(payload))) {
		return 0, false
	}
	return id, true
}

// parsePayload reads "c{id}.{nonce}" and returns id, which must be a
// complaint ID (not 0) written the way NewMessageID writes it.
func parsePayload(payload string) (uint64, bool) {
	idPart, nonce, ok := strings.Cut(payload, ".")
	if !ok || len(idPart) < 2 || idPart[0] != 'c' || nonce == "" {
		return 0, false
	}
	id, err := strconv.ParseUint(idPart[1:], 10, 64)
	if err != nil || id == 0 || strconv.FormatUint(id, 10) != idPart[1:] {
		return 0, false
	}
	return id, true
}

func (r *Router) mac(payload string) string {
	h := hmac.New(sha256.New, r.secret)
	h.Write([]byte(payload))
	return tokenEncoding.EncodeToString(h.Sum(nil)[:macLen])
}

// validIDPart reports whether s can stand as the domain of a Message-ID
// (RFC 5322 dot-atom-text, which is what we emit).
func validIDPart(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, c := range []byte(s) {
		if !isAtext(c) && c != '.' {
			return false
		}
	}
	return true
}

// isAtext is RFC 5322 section 3.2.3 atext, ASCII only.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}
