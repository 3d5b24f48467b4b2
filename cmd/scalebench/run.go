package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// A plan is one run: a scenario at one size in one observation mode.
type plan struct {
	scenario, sites, perSite, seed, dead int
	// compare is how many sites scenario 4 takes down, in scenario 3 too:
	// both measure the second half of the ramp on the others (secondHalf).
	compare int
	mode    string
}

// A result is what one run measured. Durations are in seconds.
type result struct {
	Scenario int    `json:"scenario"`
	Mode     string `json:"mode"`
	Sites    int    `json:"sites"`
	PerSite  int    `json:"perSite"`
	N        int    `json:"n"`
	Ready    int    `json:"ready"`

	P50      float64 `json:"p50"`
	P90      float64 `json:"p90"`
	Max      float64 `json:"max"`
	AllReady float64 `json:"allReady"`
	// Stamped: p50/p90/max by the Ready conditions' own transition times
	// (to the second): the provider's Ready without the bench watch's lag.
	Stamped [3]float64 `json:"stampedP50P90Max"`
	// AppliedSeconds: how long the objects took to apply (from the start
	// that AllReady counts from; with Preapplied, before that start).
	AppliedSeconds float64 `json:"appliedSeconds"`
	// Preapplied: the objects were applied before the provider started
	// (-preapply); times count from its start.
	Preapplied bool `json:"preapplied,omitempty"`

	RampReconcilesPerSec   float64            `json:"rampReconcilesPerSec"`
	SteadyReconcilesPerSec float64            `json:"steadyReconcilesPerSec"`
	PeakRSSMiB             float64            `json:"peakRSSMiB"`
	SteadyRSSMiB           float64            `json:"steadyRSSMiB"`
	CPUSecPerMin           float64            `json:"cpuSecPerMin"`
	PVEReqPerMinPerSite    float64            `json:"pveRequestsPerMinPerSite"`
	WritesPerMin           float64            `json:"apiWritesPerMin"`
	WritesByVerb           map[string]float64 `json:"apiWritesPerMinByVerb"`
	ChangesPerMin          float64            `json:"objectChangesPerMin"`
	QueueMax               float64            `json:"workqueueMax"`
	QueueSteady            float64            `json:"workqueueSteadyMax"`

	Dead       *deadSites  `json:"dead,omitempty"`
	SecondHalf *secondHalf `json:"secondHalf,omitempty"`
	// WatchCloses: the API server's forced closes of watches of the run's
	// namespace (-apiserver-log).
	WatchCloses *watchCloses `json:"watchCloses,omitempty"`
}

// deadSites is what scenario 4 measured of the outage.
type deadSites struct {
	Sites          int     `json:"sites"`
	HealthyP50     float64 `json:"healthyP50"`
	HealthyP90     float64 `json:"healthyP90"`
	HealthyMax     float64 `json:"healthyMax"`
	Resources      int     `json:"resources"`
	NamingEndpoint int     `json:"conditionNamesEndpoint"`
	// AllNamedAfter is how long after the outage began the last dead-site
	// resource named its endpoint (0: not all did before the sites came back).
	AllNamedAfter       float64 `json:"allNamedAfterSeconds"`
	SampleMessage       string  `json:"sampleMessage"`
	BackToAllReady      float64 `json:"backToAllReady"`
	CreatesBefore       float64 `json:"createsBefore"`
	CreatesAfter        float64 `json:"createsAfter"`
	DeletesBefore       float64 `json:"deletesBefore"`
	DeletesAfter        float64 `json:"deletesAfter"`
	GuestsBefore        int     `json:"guestsBefore"`
	GuestsAfter         int     `json:"guestsAfter"`
	ReadyBeforeOutage   int     `json:"readyBeforeOutage"`
	NotReadyWhenHealthy int     `json:"deadNotReadyWhenHealthyDone"`
}

func secs(d time.Duration) float64 { return d.Seconds() }

// freePort asks the kernel for a free loopback port.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}

// proc is the provider process and what the run reads of it.
type proc struct {
	cmd     *exec.Cmd
	metrics string
}

func startProvider(ctx context.Context, c *config, ns, mode, logPath string) (*proc, error) {
	maddr, err := freePort()
	if err != nil {
		return nil, err
	}
	haddr, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--poll=" + c.poll.String(), "--metrics-bind-address=" + maddr, "--health-probe-bind-address=" + haddr,
		"--namespace=" + ns, "--shared-cluster-view=" + strconv.FormatBool(mode != "per-guest"),
		"--watch-cluster-view=" + strconv.FormatBool(mode == "shared")}, c.providerArgs...)
	log, err := os.Create(logPath) //nolint:gosec // the provider's log under the operator's -out
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.provider, args...) //nolint:gosec // the provider binary the operator names
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.kubeconfig)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	fmt.Printf("  provider pid %d: %s %s\n", cmd.Process.Pid, c.provider, strings.Join(args, " "))
	p := &proc{cmd: cmd, metrics: "http://" + maddr + "/metrics"}
	for range 240 {
		if res, err := http.Get("http://" + haddr + "/readyz"); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == 200 {
				return p, nil
			}
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("provider not ready after 60s; see %s", logPath)
}

// stop ends the provider by its PID: SIGTERM, SIGKILL after 30s.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func (p *proc) mem() procMem {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)) //nolint:gosec // our child's /proc entry
	if err != nil {
		return procMem{}
	}
	defer func() { _ = f.Close() }()
	m, _ := parseProcStatus(f)
	return m
}

func (p *proc) cpuTicks() int64 { return pidTicks(p.cmd.Process.Pid) }

func (p *proc) scrape() metrics {
	res, err := http.Get(p.metrics) //nolint:gosec // our child's loopback metrics port
	if err != nil {
		return metrics{}
	}
	defer func() { _ = res.Body.Close() }()
	m, _ := parseMetrics(res.Body)
	return m
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// snapshot is what the steady window differences.
type snapshot struct {
	at       time.Time
	ticks    int64
	m        metrics
	requests []float64 // per site
	changes  int
}

func take(p *proc, sites []*site, rd *readiness) snapshot {
	s := snapshot{at: time.Now(), ticks: p.cpuTicks(), m: p.scrape(), changes: rd.changeCount()}
	for _, st := range sites {
		all, _, _ := total(st.counts())
		s.requests = append(s.requests, all)
	}
	return s
}

var writeVerbs = []string{"POST", "PUT", "PATCH", "DELETE"}

// wrote is how many requests of verb the provider sent between two scrapes.
func wrote(a, b metrics, verb string) float64 {
	return grew(a, b, "rest_client_requests_total", `method="`+verb+`"`)
}

// sampler keeps the peak work-queue depth while running.
type sampler struct {
	mu    sync.Mutex
	queue float64
}

func (s *sampler) run(ctx context.Context, p *proc) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d := p.scrape().sum("workqueue_depth")
			s.mu.Lock()
			s.queue = max(s.queue, d)
			s.mu.Unlock()
		}
	}
}

func (s *sampler) reset() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = 0
	return q
}

func runOne(ctx context.Context, c *config, k *kube, p plan) (*result, error) {
	ns := fmt.Sprintf("scale-%d-%s-%dx%d-%d", p.scenario, p.mode, p.sites, p.perSite, time.Now().Unix()%1000000)
	fmt.Printf("== %s: scenario %d, %s view, %d site(s) × %d\n", ns, p.scenario, p.mode, p.sites, p.perSite)
	r := &result{Scenario: p.scenario, Mode: p.mode, Sites: p.sites, PerSite: p.perSite, N: p.sites * p.perSite}

	caDir, err := os.MkdirTemp("", "scalebench-ca-")
	if err != nil {
		return nil, err
	}
	var sites []*site
	defer func() {
		for _, s := range sites {
			s.close()
		}
		_ = os.RemoveAll(caDir)
	}()
	for i := range p.sites {
		s, err := startSite(fmt.Sprintf("site%d", i), pvesim.Options{
			CADir: filepath.Join(caDir, strconv.Itoa(i)),
			Nodes: []string{"pve1", "pve2", "pve3"}, TaskDuration: c.taskDuration, StorageLockTimeout: 10 * time.Second,
			// Each volume's clone under the storage lock for the whole task,
			// as in the measurements and every run in
			// docs/benchmarks.md: one site serves 2.5 clones/s at 200 ms.
			StorageLockHold:   c.taskDuration,
			ConfigLockTimeout: 10 * time.Second, SeedGuests: p.seed,
		})
		if err != nil {
			return nil, err
		}
		sites = append(sites, s)
	}
	if _, err := k.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	pcOf := func(i int) string { return fmt.Sprintf("%s-site%d", ns, i) }
	if !c.keepObjects {
		// Runs after the provider's stop (deferred later, so run first).
		defer func() {
			t0 := time.Now()
			pcs := make([]string, len(sites))
			for i := range sites {
				pcs[i] = pcOf(i)
			}
			if err := k.clear(ctx, ns, pcs); err != nil {
				fmt.Printf("  could not remove the run's objects: %v\n", err)
				return
			}
			fmt.Printf("  removed the run's namespace, objects and configs in %.1fs\n", time.Since(t0).Seconds())
		}()
	}
	for i, s := range sites {
		if err := k.siteConfig(ctx, ns, pcOf(i), s); err != nil {
			return nil, err
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rd := newReadiness()
	rd.observeOnly = p.seed > 0
	k.watch(rctx, ns, rd)
	if c.preapply {
		t0 := time.Now()
		if err := applyAll(ctx, k, ns, p, sites, pcOf, rd); err != nil {
			return r, err
		}
		r.AppliedSeconds, r.Preapplied = time.Since(t0).Seconds(), true
		fmt.Printf("  applied %d objects in %.1fs before the provider started\n", r.N, r.AppliedSeconds)
	}
	launched := time.Now()
	pr, err := startProvider(ctx, c, ns, p.mode, filepath.Join(c.outDir, ns+".log"))
	if err != nil {
		return nil, err
	}
	defer pr.stop()
	smp := &sampler{}
	go smp.run(rctx, pr)

	// Objects of site i are named s<i>-...; scenario 4 tells dead sites apart by it.
	// Unless applied before the provider started (-preapply), the objects
	// are applied while the resources are watched: scenario 4's outage (at
	// half of all Ready) and the second half it is compared on begin at the
	// same point of the work however long the API server takes to take the
	// objects (when the provider is fast, half are Ready before the last is
	// applied).
	start := time.Now()
	wctx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	applied := make(chan error, 1)
	if c.preapply {
		rd.appliedAt(start)
		applied <- nil
	} else {
		go func() {
			err := applyAll(wctx, k, ns, p, sites, pcOf, rd)
			if err != nil {
				stopWaiting()
			} else {
				r.AppliedSeconds = time.Since(start).Seconds()
				fmt.Printf("  applied %d objects in %.1fs\n", r.N, r.AppliedSeconds)
			}
			applied <- err
		}()
	}
	all := func(string) bool { return true }
	// The outage (scenario 4) and the compared window (both) begin at half
	// of all Ready as this process sees them, or at -outage-at.
	due := func(ready, n int) bool { return ready*2 >= n }
	if c.outageAt > 0 {
		due = func(int, int) bool { return time.Since(start) >= c.outageAt }
	}
	var out *outage
	if p.dead > 0 {
		out = &outage{due: due, sites: sites[len(sites)-p.dead:], r: &deadSites{Sites: p.dead}}
	}
	win := newWindow(pr, sites, p.compare, c.cpPIDs, start, due)
	last, err := waitReady(wctx, c, rd, r.N, all, out, win)
	if err != nil {
		stopWaiting()
	}
	if aerr := <-applied; aerr != nil {
		return r, aerr
	}
	if terr := writeTimeline(c.outDir, ns, rd, start, out); terr != nil {
		return r, terr
	}
	if win != nil && win.r.Seconds > 0 {
		r.SecondHalf = win.r
	}
	r.AllReady = secs(last.Sub(start))
	ds, ready, _ := rd.times(all)
	r.Ready = ready
	r.P50, r.P90, r.Max = secs(percentile(ds, 50)), secs(percentile(ds, 90)), secs(percentile(ds, 100))
	st := rd.stampedTimes(all)
	r.Stamped = [3]float64{secs(percentile(st, 50)), secs(percentile(st, 90)), secs(percentile(st, 100))}
	m := pr.scrape()
	r.RampReconcilesPerSec = m.sum("controller_runtime_reconcile_total") / time.Since(start).Seconds()
	r.QueueMax = smp.reset()
	r.PeakRSSMiB = float64(pr.mem().HWM) / 1024
	if out != nil {
		r.Dead = out.r
		if !out.upAt.IsZero() && err == nil {
			r.Dead.BackToAllReady = secs(last.Sub(out.upAt))
			r.Dead.CreatesAfter, r.Dead.DeletesAfter, r.Dead.GuestsAfter = out.counts()
		}
	}
	if err != nil {
		return r, err
	}
	fmt.Printf("  all %d Ready after %.1fs (p50 %.1fs p90 %.1fs max %.1fs); steady window\n", r.N, r.AllReady, r.P50, r.P90, r.Max)
	fmt.Printf("  by the Ready conditions' own transition times (to the second): p50 %.1fs p90 %.1fs max %.1fs\n", r.Stamped[0], r.Stamped[1], r.Stamped[2])

	time.Sleep(c.settle)
	a := take(pr, sites, rd)
	smp.reset()
	select {
	case <-time.After(c.steady):
	case <-ctx.Done():
		return r, ctx.Err()
	}
	b := take(pr, sites, rd)
	mins := b.at.Sub(a.at).Minutes()
	r.SteadyReconcilesPerSec = grew(a.m, b.m, "controller_runtime_reconcile_total") / (mins * 60)
	r.CPUSecPerMin = float64(b.ticks-a.ticks) / clockTicks / mins
	r.WritesByVerb = map[string]float64{}
	for _, v := range writeVerbs {
		if d := wrote(a.m, b.m, v) / mins; d > 0 {
			r.WritesByVerb[v] = d
			r.WritesPerMin += d
		}
	}
	r.ChangesPerMin = float64(b.changes-a.changes) / mins
	var req float64
	for i := range sites {
		req += b.requests[i] - a.requests[i]
	}
	r.PVEReqPerMinPerSite = req / float64(len(sites)) / mins
	r.QueueSteady = smp.reset()
	r.SteadyRSSMiB = float64(pr.mem().RSS) / 1024
	r.PeakRSSMiB = float64(pr.mem().HWM) / 1024
	fmt.Printf("  steady: %.0f PVE req/min/site, %.1f writes/min %v, %.1f object changes/min, %.2f CPU s/min, RSS %.0f MiB (peak %.0f)\n",
		r.PVEReqPerMinPerSite, r.WritesPerMin, r.WritesByVerb, r.ChangesPerMin, r.CPUSecPerMin, r.SteadyRSSMiB, r.PeakRSSMiB)
	if r.WatchCloses, err = closesIn(c.apiserverLog, ns, launched, last); err != nil {
		fmt.Printf("  could not count the API server's watch closes: %v\n", err)
	} else if w := r.WatchCloses; w != nil {
		fmt.Printf("  watches of the namespace the API server closed as too slow to read: %d before the provider started, %d in the ramp%s, %d after\n",
			w.BeforeProvider, w.Ramp, byResource(w.RampByResource), w.After)
	}
	return r, nil
}

// writeTimeline writes, into dir, the per-object timeline
// (objects-<ns>.tsv), every object's steps (steps-<ns>.tsv) and how long the
// kept sites' objects stayed in each state (states-<ns>.tsv), and prints
// the states that took longest.
func writeTimeline(dir, ns string, rd *readiness, start time.Time, out *outage) error {
	keep := func(string) bool { return true }
	if out != nil {
		keep = func(k string) bool { return !onSite(k, out.sites) }
	}
	states := rd.stateTimes(keep, time.Now())
	for i, st := range states[:min(len(states), 6)] {
		if i == 0 {
			fmt.Println("  states that took longest (objects, total s, p50/p90/max s):")
		}
		fmt.Printf("    %5d %8.1f %6.1f %6.1f %6.1f  %s\n", st.Objects, st.Total, st.P50, st.P90, st.Max, st.State)
	}
	for name, write := range map[string]func(io.Writer) error{
		"objects": func(w io.Writer) error { return rd.timeline(w, start) },
		"steps":   func(w io.Writer) error { return rd.writeSteps(w, start) },
		"states":  func(w io.Writer) error { return writeStates(w, states) },
	} {
		if err := writeFile(filepath.Join(dir, name+"-"+ns+".tsv"), write); err != nil {
			return err
		}
	}
	return nil
}

func writeStates(w io.Writer, states []stateTime) error {
	if _, err := fmt.Fprintln(w, "objects\ttotal\tp50\tp90\tmax\tstate"); err != nil {
		return err
	}
	for _, st := range states {
		if _, err := fmt.Fprintf(w, "%d\t%.1f\t%.1f\t%.1f\t%.1f\t%s\n", st.Objects, st.Total, st.P50, st.P90, st.Max, st.State); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path) //nolint:gosec // the operator's -out
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
