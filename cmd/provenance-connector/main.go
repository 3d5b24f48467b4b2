// Command provenance-connector ledgers Crossplane change logs on Hyperledger Fabric.
//
//	provenance-connector serve  [flags]   serve ChangeLogService, WAL, batch to the chaincode
//	provenance-connector verify --resource KEY [flags]   walk a resource's chain; exit 1 on a break
//	provenance-connector history --resource KEY [flags]  print a resource's timeline (or JSON)
//	  (verify and history: --composite NAME or --claim NS/NAME instead of --resource: every
//	  resource of that composite or claim, one timeline ordered by time)
//	provenance-connector get --id ID [flags]             print one record (JSON)
//	provenance-connector probe [flags]                   wait until a write could be endorsed
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2/textlogger"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/ledger"
)

const usage = `usage: provenance-connector <serve|verify|history|get|probe> [flags]
  serve    serve crossplane-runtime's ChangeLogService; append to the WAL; submit to Fabric
  verify   re-check a resource's chain here, record by record (--resource KEY): print its timeline
           with every break named; exit 1 if it is broken (--output json: the report)
  history  print a resource's timeline (--resource KEY; --output json: the records)
           verify and history take --composite NAME or --claim NAMESPACE/NAME instead of
           --resource: every resource with records naming it, one timeline ordered by time,
           each row naming its resource; verify re-checks every chain
  get      print one record as JSON (--id ID)
  probe    wait (--timeout) until the gateway can collect every endorsement a write needs;
           endorses an empty batch, writes nothing
verify, history and get read with the operator's identity, or --as auditor with the auditor's
(fabric.env's FABRIC_AUDITOR_*: its own peer, its own CA).
Run "provenance-connector <command> -h" for the flags.`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	code := 0
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "verify":
		code, err = verify(os.Args[2:])
	case "history", "get":
		err = query(os.Args[1], os.Args[2:])
	case "probe":
		err = probe(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "provenance-connector:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// fabricFlags are the Fabric client settings: a fabric.env file, overridden by flags.
type fabricFlags struct {
	env, as                                                      string
	peer, tlsCA, hostOverride, mspID, cert, key, channel, chcode string
}

func (f *fabricFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.env, "fabric-env", os.Getenv("FABRIC_ENV"), "fabric.env file (as cluster/fabric-up.sh writes it); flags below override it")
	fs.StringVar(&f.as, "as", ledger.PartyOperator, `whose identity and peer from the fabric.env file: "operator" (FABRIC_*) or "auditor" (FABRIC_AUDITOR_*)`)
	fs.StringVar(&f.peer, "peer-endpoint", "", "peer gateway endpoint host:port")
	fs.StringVar(&f.tlsCA, "peer-tls-ca", "", "PEM file of the peer's TLS CA")
	fs.StringVar(&f.hostOverride, "peer-host-override", "", "TLS server name of the peer, if not the endpoint's host")
	fs.StringVar(&f.mspID, "msp-id", "", "MSP ID of the client identity")
	fs.StringVar(&f.cert, "cert", "", "PEM file of the client identity's certificate")
	fs.StringVar(&f.key, "key", "", "PEM file of the client identity's private key")
	fs.StringVar(&f.channel, "channel", "", "channel (default provenance)")
	fs.StringVar(&f.chcode, "chaincode", "", "chaincode name (default provenance)")
}

func (f *fabricFlags) config() (ledger.Config, error) {
	var c ledger.Config
	if f.env != "" {
		_, vars, err := ledger.LoadEnvFile(f.env)
		if err != nil {
			return c, err
		}
		c = ledger.ConfigFor(vars, f.as)
	}
	for dst, v := range map[*string]string{&c.PeerEndpoint: f.peer, &c.PeerTLSCA: f.tlsCA, &c.PeerHostOverride: f.hostOverride,
		&c.MSPID: f.mspID, &c.CertPath: f.cert, &c.KeyPath: f.key, &c.Channel: f.channel, &c.Chaincode: f.chcode} {
		if v != "" {
			*dst = v
		}
	}
	if c.Channel == "" {
		c.Channel = "provenance"
	}
	if c.Chaincode == "" {
		c.Chaincode = "provenance"
	}
	return c, c.Validate()
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	var ff fabricFlags
	ff.register(fs)
	listen := fs.String("listen", "unix:///var/run/changelogs/changelogs.sock", `where to serve ChangeLogService: "unix:///path" or "host:port" (the default is where Crossplane providers send change logs)`)
	walPath := fs.String("wal", "/var/lib/provenance/wal.db", "write-ahead log file (keep it on a persistent volume)")
	batch := fs.Int("batch-size", 100, "most records per PutBatch transaction")
	lanes := fs.Int("lanes", 16, "batches in flight at once (each resource always uses the same lane, so its chain stays in order)")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:8089", `Prometheus /metrics address ("" to disable)`)
	retention := fs.Duration("wal-retention", 0, "delete the bodies of records committed on the ledger longer ago than this, hourly (0 keeps them; ids are always kept)")
	debug := fs.Bool("debug", false, "log every record")
	_ = fs.Parse(args)

	verbosity := 0
	if *debug {
		verbosity = 1 // crossplane-runtime's Debug is logr V(1)
	}
	log := logging.NewLogrLogger(textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(verbosity))).WithName("provenance-connector"))
	cfg, err := ff.config()
	if err != nil {
		return err
	}
	lc, err := ledger.Dial(cfg)
	if err != nil {
		return err
	}
	defer lc.Close() //nolint:errcheck // exiting

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c, err := connector.Start(connector.Options{Listen: *listen, WALPath: *walPath, BatchSize: *batch,
		Lanes: *lanes, Submitter: lc, Registerer: reg, Log: log})
	if err != nil {
		return err
	}
	log.Info("Serving ChangeLogService", "listen", c.Addr.String(), "wal", *walPath, "peer", cfg.PeerEndpoint,
		"channel", cfg.Channel, "chaincode", cfg.Chaincode, "unsent", c.WAL.Depth())
	if *metricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		ms := &http.Server{Addr: *metricsAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := ms.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Info("Metrics server stopped", "error", err)
			}
		}()
		defer ms.Close() //nolint:errcheck // exiting
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *retention > 0 {
		go prune(ctx, c, *retention, log)
	}
	<-ctx.Done()
	log.Info("Stopping; unsent records stay in the WAL for the next start", "unsent", c.WAL.Depth())
	return c.GracefulStop()
}

func prune(ctx context.Context, c *connector.Connector, retention time.Duration, log logging.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := c.WAL.Prune(time.Now().Add(-retention))
		if err != nil {
			log.Info("Cannot prune the WAL", "error", err)
		} else if n > 0 {
			log.Info("Pruned committed records from the WAL", "records", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func dialFromFlags(fs *flag.FlagSet, args []string, ff *fabricFlags) (*ledger.Client, error) {
	_ = fs.Parse(args)
	cfg, err := ff.config()
	if err != nil {
		return nil, err
	}
	return ledger.Dial(cfg)
}

func probe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	var ff fabricFlags
	ff.register(fs)
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	lc, err := dialFromFlags(fs, args, &ff)
	if err != nil {
		return err
	}
	defer lc.Close() //nolint:errcheck // exiting
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	for {
		actx, acancel := context.WithTimeout(ctx, 10*time.Second)
		err = lc.Probe(actx)
		acancel()
		if err == nil {
			fmt.Printf("a write can be endorsed (after %s)\n", time.Since(start).Round(10*time.Millisecond))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no endorsement within %s: %w", *timeout, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
