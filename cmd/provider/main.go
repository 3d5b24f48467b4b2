// Command provider runs provider-microcloud: the Crossplane controllers for
// Proxmox VE and Ceph managed resources of one or more micro cloud sites.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"

	"github.com/microcloud-dev/provider-microcloud/apis"
	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	proxmoxv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	proxmoxclient "github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	mcctrl "github.com/microcloud-dev/provider-microcloud/internal/controller"
	cephsite "github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	proxmoxsite "github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
	"github.com/microcloud-dev/provider-microcloud/internal/shard"
	"github.com/microcloud-dev/provider-microcloud/internal/version"
)

type flags struct {
	debug           bool
	pollInterval    time.Duration
	driftInterval   time.Duration
	retryBase       time.Duration
	retryMax        time.Duration
	syncPeriod      time.Duration
	maxReconcile    int
	leaderElection  bool
	leaderNS        string
	leaseDuration   time.Duration
	shard           string
	metricsAddr     string
	healthAddr      string
	namespace       string
	changeLogs      bool
	changeLogSocket string
	provenance      string
	provenanceSpool string
	replicaSocket   string
	pvesimAddr      string
	pvesimDir       string
	pvesimControl   string
	sharedView      bool
	watchView       bool
	pprofAddr       string
	stateMetrics    time.Duration
	showVersion     bool
}

func parseFlags(args []string) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("provider", flag.ContinueOnError)
	fs.BoolVar(&f.debug, "debug", false, "Log at debug level.")
	fs.DurationVar(&f.pollInterval, "poll", time.Minute, "How often each managed resource is observed. A Proxmox guest's poll reads the site's shared cluster view (name, node, power, tags, lock, pool, CPU, memory and disk totals); its whole config and firewall are re-read at --drift-interval. Ceph kinds read everything every poll.")
	fs.DurationVar(&f.driftInterval, "drift-interval", 5*time.Minute, "How often each Proxmox guest's whole config and firewall are re-read and compared with the spec even when the cluster view shows no change: the longest a hand-made change the view does not show (NICs, cloud-init, a security group link removed, a firewall policy opened) stays undetected. Re-reads are spread evenly over the interval; each costs 3 requests (config, firewall options, firewall rules), i.e. 100 requests/s at 10,000 guests on one site with 5m.")
	fs.DurationVar(&f.retryBase, "retry-backoff", time.Second, "First retry delay of a failing managed resource; it doubles with each failure in a row up to --retry-backoff-max.")
	fs.DurationVar(&f.retryMax, "retry-backoff-max", 2*time.Minute, "Longest retry delay of a failing managed resource.")
	fs.DurationVar(&f.syncPeriod, "sync", time.Hour, "How often the informer cache resyncs all objects.")
	fs.IntVar(&f.maxReconcile, "max-reconcile-rate", 10, "Reconciles per second across all controllers, and workers per controller.")
	fs.BoolVar(&f.leaderElection, "leader-election", false, "Elect a leader so only one replica reconciles.")
	fs.StringVar(&f.leaderNS, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's own namespace; needed when running outside a cluster).")
	fs.DurationVar(&f.leaseDuration, "leader-election-lease", 15*time.Second, "How long a standby waits for a leader that stopped renewing (killed, partitioned) before it takes over; the leader renews every third of it.")
	fs.StringVar(&f.shard, "shard", "", "Reconcile only one shard: a label selector on ProviderConfigs and ClusterProviderConfigs on one key (e.g. microcloud.dev/shard=eu-1 or 'microcloud.dev/shard in (eu-1,eu-2)'). Managed resources follow their config: the config's value of that label is copied onto them, and the caches hold only the shard's configs and resources. With --leader-election each shard elects its own leader. Empty: everything.")
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", "Prometheus metrics address (0 disables).")
	fs.StringVar(&f.healthAddr, "health-probe-bind-address", ":8081", "Health (/healthz) and readiness (/readyz) address.")
	fs.StringVar(&f.namespace, "namespace", "", "Only watch this namespace (all namespaces when empty).")
	fs.BoolVar(&f.changeLogs, "enable-changelogs", false, "Send a change log entry for every external change to --changelogs-socket-path.")
	fs.StringVar(&f.changeLogSocket, "changelogs-socket-path", "/var/run/changelogs/changelogs.sock", "Unix socket of the change log (provenance) connector.")
	fs.StringVar(&f.provenance, "provenance", "off", "Intent records before external changes: off, best-effort or required.")
	fs.StringVar(&f.provenanceSpool, "provenance-spool", "", "bbolt file keeping records the connector has not acknowledged yet, so they survive a provider restart (in memory when empty).")
	fs.StringVar(&f.replicaSocket, "provenance-replica-socket", "", "Unix socket of a second provenance connector replica (its own WAL): every record goes to both, so either may be down or lost; records it has not acknowledged are queued for it (in <--provenance-spool>.replica when a spool is set). Empty: one connector.")
	fs.StringVar(&f.pvesimAddr, "embedded-pvesim", "", "Serve the built-in Proxmox VE simulator on this address (e.g. 127.0.0.1:18006); off when empty.")
	fs.StringVar(&f.pvesimDir, "embedded-pvesim-dir", "pvesim", "Where the embedded simulator keeps its CA, API token and state.")
	fs.StringVar(&f.pvesimControl, "embedded-pvesim-control", "", "Loopback address for the embedded simulator's fault control API (/_control/faults); off when empty.")
	fs.BoolVar(&f.sharedView, "shared-cluster-view", true, "Observe a site's guests through its shared cluster view (one GET /cluster/resources per poll). false makes each guest's poll read its own status/current, config and firewall, as a per-resource poller does: only for the scale benchmark's comparison (docs/benchmarks.md).")
	fs.BoolVar(&f.watchView, "watch-cluster-view", true, "Reconcile a settled Proxmox guest (Ready, up to date, nothing pending) only when the site's cluster view, read once per --poll by a watch per site, shows its line change (power, node, lock, tags, pool, name, sizes) or the guest go, and at its --drift-interval re-read; false reconciles every guest every --poll as a stock poller does: only for the scale benchmark's comparison (docs/benchmarks.md). Needs --shared-cluster-view.")
	fs.DurationVar(&f.stateMetrics, "poll-state-metric", 30*time.Second, "How often the crossplane_managed_resource_exists/ready/synced gauges are counted (each count walks every managed resource of a kind in the cache).")
	fs.StringVar(&f.pprofAddr, "pprof-bind-address", "", "Serve Go's pprof profiles on this address (e.g. 127.0.0.1:6060), for profiling the provider; off when empty.")
	fs.BoolVar(&f.showVersion, "version", false, "Print the version and exit.")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.maxReconcile < 1 {
		return nil, fmt.Errorf("--max-reconcile-rate must be at least 1, got %d", f.maxReconcile)
	}
	if f.stateMetrics < time.Second {
		return nil, fmt.Errorf("--poll-state-metric must be at least 1s, got %s", f.stateMetrics)
	}
	if f.pollInterval < time.Second {
		return nil, fmt.Errorf("--poll must be at least 1s, got %s", f.pollInterval)
	}
	if f.driftInterval < f.pollInterval {
		return nil, fmt.Errorf("--drift-interval must be at least --poll (%s), got %s", f.pollInterval, f.driftInterval)
	}
	if f.leaseDuration < 3*time.Second {
		return nil, fmt.Errorf("--leader-election-lease must be at least 3s, got %s", f.leaseDuration)
	}
	if _, err := shard.Parse(f.shard); err != nil {
		return nil, err
	}
	if f.retryBase <= 0 || f.retryMax < f.retryBase {
		return nil, fmt.Errorf("--retry-backoff must be positive and at most --retry-backoff-max, got %s and %s", f.retryBase, f.retryMax)
	}
	return f, nil
}

func main() {
	f, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if f.showVersion {
		fmt.Println(version.Version)
		return
	}
	if err := run(ctrl.SetupSignalHandler(), f); err != nil {
		fmt.Fprintln(os.Stderr, "provider:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f *flags) error {
	level := zapcore.InfoLevel
	if f.debug {
		level = zapcore.DebugLevel
	}
	zl := zap.New(zap.UseDevMode(false), zap.Level(level))
	ctrl.SetLogger(zl)
	log := logging.NewLogrLogger(zl.WithName("provider-microcloud"))
	log.Info("Starting", "version", version.Version, "poll", f.pollInterval.String(), "provenance", f.provenance, "sharedClusterView", f.sharedView, "watchClusterView", f.watchView, "shard", f.shard)

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("cannot get the API server config: %w", err)
	}
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return err
	}
	if err := apis.AddToScheme(s); err != nil {
		return err
	}
	// managedFields are a third to a half of a cached resource and nothing
	// here reads them (an update without them leaves them as they are).
	co := cache.Options{SyncPeriod: &f.syncPeriod, DefaultTransform: cache.TransformStripManagedFields()}
	if f.namespace != "" {
		co.DefaultNamespaces = map[string]cache.Config{f.namespace: {}}
	}
	sh, _ := shard.Parse(f.shard) // checked by parseFlags
	managedKinds, err := shard.ManagedKinds(s, proxmoxv1alpha1.Group, cephv1alpha1.Group)
	if err != nil {
		return err
	}
	if err := sh.CacheOptions(&co, s, managedKinds); err != nil {
		return err
	}
	renew, retry := f.leaseDuration*2/3, f.leaseDuration/6
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        s,
		Cache:                         co,
		LeaderElection:                f.leaderElection,
		LeaderElectionID:              sh.LeaderElectionID("crossplane-leader-election-provider-microcloud"),
		LeaderElectionNamespace:       f.leaderNS,
		LeaderElectionResourceLock:    "leases",
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &f.leaseDuration,
		RenewDeadline:                 &renew,
		RetryPeriod:                   &retry,
		Metrics:                       metricsserver.Options{BindAddress: f.metricsAddr},
		HealthProbeBindAddress:        f.healthAddr,
		PprofBindAddress:              f.pprofAddr,
	})
	if err != nil {
		return fmt.Errorf("cannot create the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	// Ready once the informer caches have synced, so probes reflect real work.
	if err := mgr.AddReadyzCheck("cache", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("informer caches not synced")
		}
		return nil
	}); err != nil {
		return err
	}

	mrMetrics := managed.NewMRMetricRecorder()
	stateMetrics := statemetrics.NewMRStateMetrics()
	metrics.Registry.MustRegister(mrMetrics, stateMetrics)

	o := options.Options{RetryBase: f.retryBase, RetryMax: f.retryMax, DriftInterval: f.driftInterval, PollEveryGuest: !f.watchView, Options: controller.Options{
		Logger:                  log,
		GlobalRateLimiter:       ratelimiter.NewGlobal(f.maxReconcile),
		PollInterval:            f.pollInterval,
		MaxConcurrentReconciles: f.maxReconcile,
		Features:                &feature.Flags{},
		MetricOptions: &controller.MetricOptions{
			PollStateMetricInterval: f.stateMetrics,
			MRMetrics:               mrMetrics,
			MRStateMetrics:          stateMetrics,
		},
	}}
	o.Features.Enable(feature.EnableBetaManagementPolicies)
	// One registry of Proxmox site clients for the whole process: every
	// Proxmox kind of a site shares one client, cluster view and memo.
	o.Proxmox = proxmoxclient.NewRegistry(registryOptions(f, o))
	o.Ceph = cephclient.NewClients(cephsite.SnapshotAge(o.PollInterval))
	closeProvenance, err := setupProvenance(ctx, f, log, &o)
	if err != nil {
		return err
	}
	defer closeProvenance()

	if f.pvesimAddr != "" {
		stopSim, err := startEmbeddedPVESim(f.pvesimAddr, f.pvesimDir, f.pvesimControl, log)
		if err != nil {
			return err
		}
		defer stopSim()
	}
	if err := mcctrl.Setup(mgr, o); err != nil {
		return fmt.Errorf("cannot set up controllers: %w", err)
	}
	if err := shard.SetupLabeler(mgr, sh, managedKinds, f.namespace, log); err != nil {
		return fmt.Errorf("cannot set up the shard labeler: %w", err)
	}
	log.Info("Manager starting", "metrics", f.metricsAddr, "health", f.healthAddr)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("manager stopped: %w", err)
	}
	log.Info("Stopped cleanly")
	return nil
}

// registryOptions are the Proxmox client settings: the site defaults, with
// per-guest observation when --shared-cluster-view=false.
func registryOptions(f *flags, o options.Options) proxmoxclient.Options {
	ro := proxmoxsite.RegistryOptions(o)
	ro.PerGuest = !f.sharedView
	return ro
}
