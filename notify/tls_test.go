package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"complaintbot/store"
)

// selfSigned makes a certificate for 127.0.0.1 and a client config that
// trusts only it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "relay.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

func TestTLSModes(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	for _, mode := range []string{"starttls", "tls"} {
		t.Run(mode, func(t *testing.T) {
			rec := &relay{user: "bot", pass: "pw"}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if mode == "tls" {
				ln, err = tls.Listen("tcp", "127.0.0.1:0", serverTLS)
			}
			if err != nil {
				t.Fatal(err)
			}
			addr := serveRelayOn(t, ln, rec, func(s *smtp.Server) {
				s.TLSConfig = serverTLS     // offers STARTTLS on the plain listener
				s.AllowInsecureAuth = false // AUTH only once encrypted
			})
			st := openStore(t)
			o := testOptions(st, addr)
			o.SMTP.TLS, o.SMTP.TLSConfig = mode, clientTLS
			o.SMTP.Username, o.SMTP.Password = "bot", "pw"
			row := seed(t, st, ackRow("en", "T", "t@customer.test", "s"))
			run(t, newNotifier(t, o))
			eventually(t, "sent over "+mode, func() bool { return statusOf(t, st, row.ID) == store.NotifySent })
		})
	}

	t.Run("untrusted certificate", func(t *testing.T) {
		rec := &relay{}
		addr := serveRelayConfigured(t, "127.0.0.1:0", rec, func(s *smtp.Server) { s.TLSConfig = serverTLS })
		st := openStore(t)
		o := testOptions(st, addr)
		o.SMTP.TLS = "starttls" // system roots: the self-signed relay is refused
		row := seed(t, st, ackRow("en", "T", "t@customer.test", "s"))
		n := newNotifier(t, o)
		run(t, n)
		eventually(t, "a failed attempt", func() bool { return notification(t, st, row.ID).Attempts >= 1 })
		if got := notification(t, st, row.ID); got.Status != store.NotifyPending || rec.count() != 0 {
			t.Errorf("row %+v, %d delivered", got, rec.count())
		}
		if n.Health().OK {
			t.Error("Health OK with an untrusted relay")
		}
	})
}
