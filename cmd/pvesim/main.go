// Command pvesim runs the Proxmox VE API simulator as a standalone HTTPS
// server and prints how to reach it.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "pvesim:", err)
		os.Exit(1)
	}
}

// run starts the simulator with the given flags, prints its endpoint and
// credentials to out, and serves until a signal arrives or stop is closed.
func run(args []string, out io.Writer, stop <-chan struct{}) error {
	fs := flag.NewFlagSet("pvesim", flag.ContinueOnError)
	nodes := fs.String("nodes", "pve1,pve2,pve3", "comma-separated node names")
	listen := fs.String("listen", "127.0.0.1:8006", "listen address (host:port; port 0 picks one)")
	caDir := fs.String("ca-dir", "", "directory for pve-root-ca.pem (default: a temporary directory)")
	stateFile := fs.String("state", "", "state file to load at start and save on change and exit")
	faults := fs.String("faults", "", "JSON file with fault injection settings")
	taskDur := fs.Duration("task-duration", time.Second, "how long each worker task runs")
	lockTimeout := fs.Duration("storage-lock-timeout", 10*time.Second, "storage lock wait before 'got timeout'")
	seed := fs.Int("seed-guests", 0, "number of extra guests to create at start")
	noSeed := fs.Bool("no-default-seed", false, "skip template 9000, the container template and appliances")
	password := fs.String("password", "", "root@pam password (default: random, printed)")
	secret := fs.String("token-secret", "", "API token secret (default: random, printed)")
	major := fs.Int("pve-major", 9, "PVE release to present: 9 or 8 (8.4: no HA rules API)")
	tokenFile := fs.String("token-file", "", "write the API token (TOKENID=SECRET, as a ProviderConfig's token Secret holds it) to this file; the token secret and password are then not printed")
	control := fs.String("control", "", "loopback host:port for the plain-HTTP control API (/_control/faults); empty: none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := pvesim.Options{
		Nodes: strings.Split(*nodes, ","), ListenAddr: *listen, CADir: *caDir, StateFile: *stateFile,
		TaskDuration: *taskDur, StorageLockTimeout: *lockTimeout, SeedGuests: *seed, NoDefaultSeed: *noSeed,
		Password: *password, TokenSecret: *secret, ConfigLockTimeout: 10 * time.Second, PVEMajor: *major,
		ControlAddr: *control,
	}
	if *faults != "" {
		fc, err := pvesim.LoadFaultConfig(*faults)
		if err != nil {
			return fmt.Errorf("cannot read faults: %w", err)
		}
		opts.Faults = fc
	}
	sim, err := pvesim.New(opts)
	if err != nil {
		return err
	}
	srv, err := sim.Start()
	if err != nil {
		return err
	}
	o := sim.Options()
	if *tokenFile != "" {
		if err := os.WriteFile(*tokenFile, []byte(srv.TokenID+"="+srv.Secret), 0o600); err != nil {
			_ = srv.Close()
			return err
		}
	}
	fmt.Fprintf(out, "endpoint:     %s\n", srv.URL)
	fmt.Fprintf(out, "token id:     %s\n", srv.TokenID)
	fmt.Fprintf(out, "user:         %s\n", o.User)
	if *tokenFile != "" {
		// The token went to a file for whoever needs it: keep it (and the
		// password) out of this output, which ends up in logs.
		fmt.Fprintf(out, "token:        written to %s (TOKENID=SECRET); secret and password not printed\n", *tokenFile)
	} else {
		fmt.Fprintf(out, "token secret: %s\n", srv.Secret)
		fmt.Fprintf(out, "password:     %s\n", o.Password)
	}
	fmt.Fprintf(out, "ca:           %s\n", srv.CAPath)
	fmt.Fprintf(out, "metrics:      https://%s/metrics\n", srv.Addr)
	if *tokenFile == "" {
		fmt.Fprintf(out, "header:       Authorization: PVEAPIToken=%s=%s\n", srv.TokenID, srv.Secret)
	}
	if srv.ControlURL != "" {
		fmt.Fprintf(out, "control:      %s/_control/faults\n", srv.ControlURL)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case <-sig:
	case <-stop:
	}
	return srv.Close()
}
