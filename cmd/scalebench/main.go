// Command scalebench measures provider-microcloud at scale, as deployed: it
// starts simulated PVE sites (internal/pvesim, one process, each behind a
// TCP forwarder so a site can be taken down and brought back), runs the
// provider binary against a running kube-apiserver, applies managed
// resources and records time to Ready, reconcile rate, RSS, CPU, PVE
// requests, API server writes and work-queue depth, each with the shared
// cluster view on and off. cluster/scale-bench.sh runs it (make bench with
// MICROCLOUD_BENCH_SCALE=1).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type config struct {
	kubeconfig, provider, outDir string
	scenarios, n1, n2, sites     []int
	vms, dead                    int
	modes                        []string
	taskDuration, poll, steady   time.Duration
	settle, timeout              time.Duration
	providerArgs                 []string
	render                       string
	preapply                     bool
	keepObjects                  bool
	outageAt                     time.Duration
	cpPIDs                       []int
	apiserverLog                 string
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseConfig(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("scalebench", flag.ContinueOnError)
	fs.StringVar(&c.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server to use (the provider gets it too)")
	fs.StringVar(&c.provider, "provider", "", "the provider binary (go build ./cmd/provider)")
	fs.StringVar(&c.outDir, "out", "_output/scale", "directory for results.json, results.md and provider logs")
	scen := fs.String("scenarios", "1,2,3,4", "scenarios to run: 1 = N VMs created on 1 site, 2 = N existing guests imported observe-only on 1 site, 3 = S sites × V VMs, 4 = 3 with -dead sites unreachable halfway; pairs of 3 and 4 for the isolation table are neighbours in this list (3,4,4,3,...); on a fresh control plane lead with one more 3 (3,3,4,4,3,...): a warm-up the table leaves unpaired")
	n1 := fs.String("n1", "1000", "scenario 1: VMs (comma-separated for several runs)")
	n2 := fs.String("n2", "10000", "scenario 2: seeded guests to import (comma-separated)")
	sites := fs.String("sites", "100", "scenarios 3 and 4: sites (comma-separated)")
	fs.IntVar(&c.vms, "vms", 100, "scenarios 3 and 4: VMs per site")
	fs.IntVar(&c.dead, "dead", 5, "scenario 4: sites made unreachable halfway")
	modes := fs.String("modes", "shared,polled,per-guest", "observation modes, side by side: shared (the default provider: shared cluster view, settled guests woken by the site's guest watch), polled (shared view, every guest reconciled every poll: --watch-cluster-view=false), per-guest (--shared-cluster-view=false)")
	fs.DurationVar(&c.taskDuration, "task-duration", 200*time.Millisecond, "simulator task duration")
	fs.DurationVar(&c.poll, "poll", 15*time.Second, "provider --poll (cluster/run.sh bare mode uses 15s)")
	fs.DurationVar(&c.settle, "settle", 15*time.Second, "wait after all Ready before the steady window")
	fs.DurationVar(&c.steady, "steady", time.Minute, "steady-state measurement window")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "longest wait for all Ready in one run")
	pargs := fs.String("provider-args", "", "extra provider flags (space-separated)")
	cpPIDFiles := fs.String("cp-pids", "", "pid files of etcd and kube-apiserver (comma-separated), whose CPU scenarios 3 and 4 report for the second half of the ramp")
	fs.StringVar(&c.apiserverLog, "apiserver-log", "", "the API server's log: each run counts the watches of its namespace the API server closed as too slow to read (\"Forcing ... watcher close due to unresponsiveness\"), before the provider started, in the ramp and after")
	fs.BoolVar(&c.keepObjects, "keep-objects", false, "leave each run's namespace, objects and ClusterProviderConfigs in the API server (by default they are removed once the run's provider has stopped, so every run starts from the same API server and etcd)")
	fs.BoolVar(&c.preapply, "preapply", false, "apply every object before the provider starts, and time each from the provider's start: the provider finds them all at once, so the two scenarios of a pair hold the same work in their windows however long the API server takes to take the objects")
	fs.DurationVar(&c.outageAt, "outage-at", 0, "scenarios 3 and 4: take the dead sites down (and open the compared window) this long after the start instead of once this process's watch shows half of all resources Ready (which under load lags the provider by seconds: at 100 × 10 the healthy sites are all Ready by then)")
	fs.StringVar(&c.render, "render", "", "only print the tables of these results.json files (comma-separated), runs nothing")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var err error
	for _, l := range []struct {
		dst *[]int
		s   string
	}{{&c.scenarios, *scen}, {&c.n1, *n1}, {&c.n2, *n2}, {&c.sites, *sites}} {
		if *l.dst, err = intList(l.s); err != nil {
			return nil, err
		}
	}
	for _, m := range strings.Split(*modes, ",") {
		if m != "shared" && m != "polled" && m != "per-guest" {
			return nil, fmt.Errorf("mode %q is none of shared, polled, per-guest", m)
		}
		c.modes = append(c.modes, m)
	}
	c.providerArgs = strings.Fields(*pargs)
	if c.cpPIDs, err = readPIDFiles(*cpPIDFiles); err != nil {
		return nil, err
	}
	if c.render != "" {
		return c, nil
	}
	if c.provider == "" || c.kubeconfig == "" {
		return nil, fmt.Errorf("-provider and -kubeconfig are required")
	}
	return c, nil
}

func main() {
	c, err := parseConfig(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.render != "" {
		err = render(os.Stdout, strings.Split(c.render, ","))
	} else {
		err = runAll(ctx, c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

func runAll(ctx context.Context, c *config) error {
	rc, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		return err
	}
	rc.QPS, rc.Burst = 200, 400
	k := &kube{}
	if k.dyn, err = dynamic.NewForConfig(rc); err != nil {
		return err
	}
	if k.cs, err = kubernetes.NewForConfig(rc); err != nil {
		return err
	}
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return err
	}
	var results []*result
	save := func() error {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(filepath.Join(c.outDir, "results.json"), b, 0o644); err != nil { //nolint:gosec // the operator's -out
			return err
		}
		return os.WriteFile(filepath.Join(c.outDir, "results.md"), []byte(markdown(results)), 0o644) //nolint:gosec // the operator's -out
	}
	for _, sc := range c.scenarios {
		var plans []plan
		switch sc {
		case 1:
			for _, n := range c.n1 {
				plans = append(plans, plan{scenario: 1, sites: 1, perSite: n})
			}
		case 2:
			for _, n := range c.n2 {
				plans = append(plans, plan{scenario: 2, sites: 1, perSite: n, seed: n})
			}
		case 3, 4:
			for _, s := range c.sites {
				p := plan{scenario: sc, sites: s, perSite: c.vms, compare: min(c.dead, s-1)}
				if sc == 4 {
					p.dead = p.compare
				}
				plans = append(plans, p)
			}
		default:
			return fmt.Errorf("no scenario %d", sc)
		}
		for _, p := range plans {
			for _, m := range c.modes {
				p.mode = m
				r, err := runOne(ctx, c, k, p)
				if r != nil {
					results = append(results, r)
					if serr := save(); serr != nil {
						return serr
					}
				}
				if err != nil {
					return fmt.Errorf("scenario %d, %s, %d×%d: %w", p.scenario, m, p.sites, p.perSite, err)
				}
			}
		}
	}
	return save()
}
