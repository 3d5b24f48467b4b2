package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// startEmbeddedPVESim runs the Proxmox VE simulator inside the provider, the
// default backend of `make run`. It writes its API token (token) and CA
// (pve-root-ca.pem) to dir and keeps its cluster state in dir/state.json, so a
// provider restart finds the guests it created. The returned function stops it
// and saves its state; call it after the manager has stopped. A non-empty
// control (loopback host:port) also serves the fault control API there.
func startEmbeddedPVESim(addr, dir, control string, log logging.Logger) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	secretFile := filepath.Join(dir, "token-secret")
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		secret = []byte(hex.EncodeToString(b))
		if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
			return nil, err
		}
	}
	sim, err := pvesim.New(pvesim.Options{
		ListenAddr:  addr,
		CADir:       dir,
		TokenName:   "crossplane",
		TokenSecret: strings.TrimSpace(string(secret)),
		StateFile:   filepath.Join(dir, "state.json"),
		ControlAddr: control,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot create the embedded PVE simulator: %w", err)
	}
	srv, err := sim.Start()
	if err != nil {
		return nil, fmt.Errorf("cannot start the embedded PVE simulator on %s: %w", addr, err)
	}
	token := sim.TokenID + "=" + sim.Secret
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token), 0o600); err != nil {
		_ = srv.Close()
		return nil, err
	}
	log.Info("Embedded Proxmox VE simulator serving", "url", srv.URL, "ca", srv.CAPath, "tokenFile", filepath.Join(dir, "token"))
	if srv.ControlURL != "" {
		log.Info("Embedded PVE simulator fault control API serving", "url", srv.ControlURL+"/_control/faults")
	}
	return func() {
		if err := srv.Close(); err != nil {
			log.Info("Embedded PVE simulator stopped with an error", "error", err.Error())
			return
		}
		log.Info("Embedded PVE simulator stopped, state saved")
	}, nil
}
