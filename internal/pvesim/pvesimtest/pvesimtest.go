// Package pvesimtest starts PVE simulators for tests and points provider
// sites at them.
package pvesimtest

import (
	"testing"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// Start starts a simulator on 127.0.0.1 with its CA in a temporary
// directory, and closes it when the test ends.
func Start(t testing.TB, opts pvesim.Options) *pvesim.Server {
	t.Helper()
	if opts.CADir == "" {
		opts.CADir = t.TempDir()
	}
	sim, err := pvesim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// Site is a resolved provider config site reaching srv with its root API
// token and CA, as a ProviderConfig pointing at it resolves to.
func Site(srv *pvesim.Server, ref string, timeout time.Duration) *providerconfig.Site {
	return &providerconfig.Site{Ref: ref, Key: ref, Proxmox: &providerconfig.ProxmoxSite{
		Endpoint: "https://" + srv.Addr, Token: srv.TokenID + "=" + srv.Secret, CABundle: srv.CACertPEM, RequestTimeout: timeout}}
}
