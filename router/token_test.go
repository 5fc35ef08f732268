package router

import (
	"strings"
	"testing"
)

func TestMessageIDRoundTrip(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Domain = "mail.company.example" })
	seen := map[string]bool{}
	for _, id := range []uint64{1, 42, 1 << 40, ^uint64(0)} {
		for range 50 {
			mid := f.r.NewMessageID(id)
			if seen[mid] {
				t.Fatalf("Message-ID %q made twice", mid)
			}
			seen[mid] = true
			if !strings.HasSuffix(mid, "@mail.company.example") || strings.ContainsAny(mid, "<> \r\n") {
				t.Fatalf("Message-ID %q is not a plain id-left@domain", mid)
			}
			if got, ok := f.r.TokenComplaint(mid); !ok || got != id {
				t.Fatalf("TokenComplaint(%q) = %d, %v; want %d", mid, got, ok, id)
			}
		}
	}
	// The MAC, not the domain, is the proof: a renamed domain keeps threads.
	mid := f.r.NewMessageID(5)
	local, _, _ := strings.Cut(mid, "@")
	if got, ok := f.r.TokenComplaint(local + "@old-name.example"); !ok || got != 5 {
		t.Errorf("token under another domain: %d, %v", got, ok)
	}
}

func TestForeignMessageIDs(t *testing.T) {
	f := newFixture(t, nil)
	for _, id := range []string{
		"CAFk3=abc@mail.gmail.com",
		"c1.abc.def@complaintbot.invalid",
		"c1..@x",
		"c.x.y@x",
		"c-1.aaaa.bbbb@x",
		"c+1.aaaa.bbbb@x",
		"@",
		strings.Repeat("c1.", 1000) + "@x",
	} {
		if got, ok := f.r.TokenComplaint(id); ok {
			t.Errorf("TokenComplaint(%q) = %d, true", id, got)
		}
	}
}

// FuzzTokenComplaint: parsing a stranger's Message-ID never panics and
// never accepts anything the router did not sign.
func FuzzTokenComplaint(f *testing.F) {
	r := newFixture(f, nil).r
	// Local parts the router signed; fixed nonces, so every fuzz worker
	// process knows the same set.
	signed := map[string]uint64{}
	for i, id := range []uint64{1, 123456} {
		mid := r.signedID(id, []byte{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9})
		local, _, _ := strings.Cut(mid, "@")
		signed[local] = id
		f.Add(mid)
		f.Add("<" + mid + ">")
	}
	f.Add("c1.aaaa.bbbb@x")
	f.Add("")
	f.Add("c18446744073709551616.a.b@x")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := r.TokenComplaint(s)
		if !ok {
			return
		}
		local, _, _ := strings.Cut(strings.Trim(strings.TrimSpace(s), "<>"), "@")
		if want, made := signed[local]; !made || want != id {
			t.Fatalf("accepted %q as complaint %d, but the router never signed it", s, id)
		}
	})
}
