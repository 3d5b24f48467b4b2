package pvesim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errGenKey   = "cannot generate key"
	errSignCert = "cannot sign certificate"
	errWriteCA  = "cannot write CA certificate"
)

// pki is the simulator's own CA and the server certificate it signed, like
// the pve-root-ca / pve-ssl.pem pair a PVE node creates at install.
type pki struct {
	caPEM  []byte
	server tls.Certificate
}

// CA file names in the CA directory, as PVE names them (the key lives in
// /etc/pve/priv on a node).
const (
	caCertFile = "pve-root-ca.pem"
	caKeyFile  = "pve-root-ca.key"
)

// loadOrCreatePKI reuses the CA in dir when both its certificate and key
// are there, so clients keep trusting the same CA across restarts;
// otherwise it creates one and writes both. The server certificate is
// signed anew each time.
func loadOrCreatePKI(dir string, hosts []string) (*pki, string, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	if cerr == nil && kerr == nil {
		caCert, caKey, err := parseCA(certPEM, keyPEM)
		if err != nil {
			return nil, "", errors.Wrapf(err, "cannot load CA from %s", dir)
		}
		p, err := issueServer(caCert, caKey, hosts)
		return p, certPath, err
	}
	caCert, caKey, err := newCA()
	if err != nil {
		return nil, "", err
	}
	p, err := issueServer(caCert, caKey, hosts)
	if err != nil {
		return nil, "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(caKey)
	if err != nil {
		return nil, "", errors.Wrap(err, errWriteCA)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", errors.Wrap(err, errWriteCA)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, "", errors.Wrap(err, errWriteCA)
	}
	if err := os.WriteFile(certPath, p.caPEM, 0o644); err != nil {
		return nil, "", errors.Wrap(err, errWriteCA)
	}
	return p, certPath, nil
}

func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("no PEM block")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("CA key does not match the CA certificate")
	}
	return cert, key, nil
}

func newCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, errors.Wrap(err, errGenKey)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "Proxmox Virtual Environment (pvesim)", Organization: []string{"PVE Cluster Manager CA"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, errors.Wrap(err, errSignCert)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, errors.Wrap(err, errSignCert)
	}
	return caCert, caKey, nil
}

func issueServer(caCert *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string) (*pki, error) {
	now := time.Now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, errors.Wrap(err, errGenKey)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + 1),
		Subject:      pkix.Name{CommonName: "pvesim", Organization: []string{"PVE Cluster Node"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, errors.Wrap(err, errSignCert)
	}
	return &pki{
		caPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}),
		server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
	}, nil
}
