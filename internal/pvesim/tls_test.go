package pvesim

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

// TestCADirReusesCA: a second start with the same CA directory keeps the
// CA (as a node keeps /etc/pve/pve-root-ca.pem), so a client that trusts
// the first run's CA file talks to the second run.
func TestCADirReusesCA(t *testing.T) {
	dir := t.TempDir()
	first := startSim(t, Options{CADir: dir})
	caFile := filepath.Join(t.TempDir(), "trusted.pem")
	if err := os.WriteFile(caFile, first.CACertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, caKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("CA key not kept private: %v %v", st, err)
	}
	_ = first.Close()

	second := startSim(t, Options{CADir: dir})
	if !bytes.Equal(first.CACertPEM, second.CACertPEM) {
		t.Fatal("a new CA was generated although the directory held one")
	}
	c := proxmox.NewClient(second.URL, proxmox.WithAPIToken(second.TokenID, second.Secret), proxmox.WithRootCAFile(caFile))
	if _, err := c.Version(ctx(t)); err != nil {
		t.Fatalf("client trusting the first CA: %v", err)
	}
	// A fresh directory still gets a fresh CA.
	third := startSim(t, Options{CADir: t.TempDir()})
	if bytes.Equal(first.CACertPEM, third.CACertPEM) {
		t.Fatal("two directories share one CA")
	}
}

// TestCADirRejectsMismatchedKey: a key that does not belong to the CA
// certificate is an error, not a silent new CA.
func TestCADirRejectsMismatchedKey(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	_ = startSim(t, Options{CADir: a})
	_ = startSim(t, Options{CADir: b})
	key, _ := os.ReadFile(filepath.Join(b, caKeyFile))
	if err := os.WriteFile(filepath.Join(a, caKeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	sim, err := New(Options{CADir: a})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	if srv, err := sim.Start(); err == nil {
		_ = srv.Close()
		t.Fatal("mismatched CA key accepted")
	}
}
