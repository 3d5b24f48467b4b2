package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// secondHalf is the part of scenarios 3 and 4 that the isolation target
// compares: the sites that stay up in scenario 4 (all but the last -dead
// sites, in scenario 3 too), from the moment half of all resources are Ready
// (when scenario 4 takes its sites down) until those sites are all Ready. It
// counts the work done in that window by each party, so that a slower
// scenario 4 can be told apart: more work by the provider, or the same work
// on a machine that had less to give.
type secondHalf struct {
	Sites int     `json:"sites"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	Max   float64 `json:"max"`
	// Stamped: p50/p90/max of the same resources by their Ready
	// conditions' own transition times (the provider's write, without the
	// lag of this process's watch), from their apply.
	Stamped [3]float64 `json:"stampedP50P90Max"`

	// After: the kept sites' resources that became Ready after half of all
	// were, timed from that moment (the part scenario 4's outage can touch:
	// the time from each resource's own apply mixes in how fast the objects
	// were applied and the first half, which the two scenarios share).
	AfterN   int     `json:"afterN"`
	AfterP50 float64 `json:"afterP50"`
	AfterP90 float64 `json:"afterP90"`
	AfterMax float64 `json:"afterMax"`
	// Late: the kept sites' resources applied after half of all were Ready
	// (their whole life under scenario 4's outage), timed from their own
	// apply: unlike After, not lengthened by objects the API server took
	// late.
	LateN   int     `json:"lateN"`
	LateP50 float64 `json:"lateP50"`
	LateP90 float64 `json:"lateP90"`
	LateMax float64 `json:"lateMax"`

	// FirstHalf: from the first apply to half of all Ready (the part both
	// scenarios share); Seconds: the window.
	FirstHalf float64 `json:"firstHalfSeconds"`
	Seconds   float64 `json:"seconds"`
	// CPU seconds in the window: the provider; etcd and kube-apiserver; this
	// process (the simulated sites and the watch that times Ready); the
	// machine's busy time (every process) and the time the hypervisor took
	// (steal), from /proc/stat.
	ProviderCPU     float64 `json:"providerCPUSeconds"`
	ControlPlaneCPU float64 `json:"controlPlaneCPUSeconds"`
	BenchCPU        float64 `json:"benchCPUSeconds"`
	MachineBusy     float64 `json:"machineBusySeconds"`
	Steal           float64 `json:"stealSeconds"`
	Reconciles      float64 `json:"reconciles"`
	// Unbudgeted: reconciles of resources whose site did not answer, let
	// past the shared reconcile budget (microcloud_reconciles_unbudgeted_total).
	Unbudgeted float64 `json:"reconcilesUnbudgeted"`
	// Mean seconds a reconcile took and an item waited in the work queue,
	// over every site's resources (controller-runtime's histograms).
	ReconcileMean float64 `json:"reconcileMeanSeconds"`
	QueueWaitMean float64 `json:"queueWaitMeanSeconds"`
	// AnsweringMean: mean seconds of the reconciles that ran for resources
	// of sites that answered (microcloud_reconcile_seconds{site="answering"}:
	// not those held back, nor the dead sites'); UnansweringN and
	// UnansweringMean: the dead sites' reconciles that ran.
	AnsweringN      float64            `json:"answeringReconciles"`
	AnsweringMean   float64            `json:"answeringReconcileMeanSeconds"`
	UnansweringN    float64            `json:"unansweringReconciles"`
	UnansweringMean float64            `json:"unansweringReconcileMeanSeconds"`
	Writes          map[string]float64 `json:"apiWritesByVerb"`
	// Conflicts: of Writes, those refused for a conflict (409: the
	// provider's cache was behind the API server); StatusConflicts: of
	// them, status writes (microcloud_status_writes_conflicted_total).
	Conflicts       float64 `json:"apiWriteConflicts"`
	StatusConflicts float64 `json:"statusWriteConflicts"`
	// Deferred: reconciles put off until the cache showed the provider's
	// own last write (microcloud_reconciles_deferred_total).
	Deferred float64 `json:"reconcilesDeferred"`
	// Gets: the provider's GET requests to the API server (lists, watches
	// and the few reads its cache does not serve): each watch the API
	// server closes as too slow to read ("Forcing ... watcher close") is
	// one more, its re-watch.
	Gets        float64 `json:"apiGets"`
	PVERequests float64 `json:"pveRequestsKeptSites"`
	Changes     int     `json:"objectChanges"`
	// KeptChanges: of Changes, those of the kept sites' objects (the rest
	// are the other sites', dead in scenario 4).
	KeptChanges int `json:"objectChangesKept"`
}

// window drives secondHalf from waitReady's loop.
type window struct {
	due       func(ready, n int) bool // whether the window opens now
	pr        *proc
	kept      []*site
	keep      func(key string) bool
	cpPIDs    []int
	a         *winSnap
	r         *secondHalf
	startedAt time.Time
}

type winSnap struct {
	snapshot
	cp, bench, busy, steal int64
	keptChanges            int
}

// newWindow returns nil where there is nothing to compare (one site).
func newWindow(pr *proc, sites []*site, dead int, cpPIDs []int, start time.Time, due func(ready, n int) bool) *window {
	if dead < 1 || dead >= len(sites) {
		return nil
	}
	gone := sites[len(sites)-dead:]
	return &window{due: due, pr: pr, kept: sites[:len(sites)-dead], keep: func(k string) bool { return !onSite(k, gone) },
		cpPIDs: cpPIDs, r: &secondHalf{Sites: len(sites) - dead}, startedAt: start}
}

func (w *window) snap(rd *readiness) *winSnap {
	s := &winSnap{snapshot: take(w.pr, w.kept, rd), bench: pidTicks(os.Getpid())}
	for _, p := range w.cpPIDs {
		s.cp += pidTicks(p)
	}
	s.busy, s.steal = machineTicks()
	s.keptChanges = rd.changesWhere(w.keep)
	return s
}

// step takes the first snapshot at half Ready and the second once the kept
// sites are all Ready; it reports whether the window is closed.
func (w *window) step(rd *readiness, ready, n int) bool {
	if w == nil {
		return true
	}
	if w.a == nil {
		if w.due(ready, n) {
			w.a = w.snap(rd)
		}
		return false
	}
	if w.r.Seconds > 0 {
		return true
	}
	ds, kr, kt := rd.times(w.keep)
	if kr < kt {
		return false
	}
	b := w.snap(rd)
	r := w.r
	r.P50, r.P90, r.Max = secs(percentile(ds, 50)), secs(percentile(ds, 90)), secs(percentile(ds, 100))
	st := rd.stampedTimes(w.keep)
	r.Stamped = [3]float64{secs(percentile(st, 50)), secs(percentile(st, 90)), secs(percentile(st, 100))}
	r.FirstHalf = w.a.at.Sub(w.startedAt).Seconds()
	r.Seconds = b.at.Sub(w.a.at).Seconds()
	after := rd.readySince(w.keep, w.a.at)
	r.AfterN = len(after)
	r.AfterP50, r.AfterP90, r.AfterMax = secs(percentile(after, 50)), secs(percentile(after, 90)), secs(percentile(after, 100))
	late := rd.appliedSince(w.keep, w.a.at)
	r.LateN = len(late)
	r.LateP50, r.LateP90, r.LateMax = secs(percentile(late, 50)), secs(percentile(late, 90)), secs(percentile(late, 100))
	r.ProviderCPU = float64(b.ticks-w.a.ticks) / clockTicks
	r.ControlPlaneCPU = float64(b.cp-w.a.cp) / clockTicks
	r.BenchCPU = float64(b.bench-w.a.bench) / clockTicks
	r.MachineBusy = float64(b.busy-w.a.busy) / clockTicks
	r.Steal = float64(b.steal-w.a.steal) / clockTicks
	r.Reconciles = grew(w.a.m, b.m, "controller_runtime_reconcile_total")
	r.Unbudgeted = grew(w.a.m, b.m, "microcloud_reconciles_unbudgeted_total")
	r.ReconcileMean = meanOf(w.a.m, b.m, "controller_runtime_reconcile_time_seconds")
	r.QueueWaitMean = meanOf(w.a.m, b.m, "workqueue_queue_duration_seconds")
	r.AnsweringN, r.AnsweringMean = countMean(w.a.m, b.m, "microcloud_reconcile_seconds", `site="answering"`)
	r.UnansweringN, r.UnansweringMean = countMean(w.a.m, b.m, "microcloud_reconcile_seconds", `site="unanswering"`)
	r.Writes = map[string]float64{}
	for _, v := range writeVerbs {
		if d := wrote(w.a.m, b.m, v); d > 0 {
			r.Writes[v] = d
		}
	}
	r.Conflicts = grew(w.a.m, b.m, "rest_client_requests_total", `code="409"`)
	r.Deferred = grew(w.a.m, b.m, "microcloud_reconciles_deferred_total")
	r.StatusConflicts = grew(w.a.m, b.m, "microcloud_status_writes_conflicted_total")
	r.Gets = grew(w.a.m, b.m, "rest_client_requests_total", `method="GET"`)
	for i := range b.requests {
		r.PVERequests += b.requests[i] - w.a.requests[i]
	}
	r.Changes = b.changes - w.a.changes
	r.KeptChanges = b.keptChanges - w.a.keptChanges
	fmt.Printf("  second half on the %d kept sites: %.1f s after a first half of %.1f s (%d Ready in it: p50 %.1f s p90 %.1f s max %.1f s after half; %d applied in it: p50 %.1f s p90 %.1f s max %.1f s after their apply); CPU s provider %.1f, control plane %.1f, bench %.1f, machine %.1f (steal %.1f); %.0f reconciles (%.0f unbudgeted, %.0f put off for the cache, mean %.3f s, queued %.2f s; %.0f ran for answering sites, mean %.3f s, %.0f for the others, mean %.3f s), writes %v (%.0f refused for a conflict, %.0f of them status), %.0f GETs (lists and watches), %.0f PVE requests, %d object changes (%d of the kept sites)\n",
		r.Sites, r.Seconds, r.FirstHalf, r.AfterN, r.AfterP50, r.AfterP90, r.AfterMax, r.LateN, r.LateP50, r.LateP90, r.LateMax, r.ProviderCPU, r.ControlPlaneCPU, r.BenchCPU, r.MachineBusy, r.Steal, r.Reconciles, r.Unbudgeted, r.Deferred, r.ReconcileMean, r.QueueWaitMean, r.AnsweringN, r.AnsweringMean, r.UnansweringN, r.UnansweringMean, r.Writes, r.Conflicts, r.StatusConflicts, r.Gets, r.PVERequests, r.Changes, r.KeptChanges)
	return true
}

// grew is how much the series of name with all the labels in want grew
// between two scrapes.
func grew(a, b metrics, name string, want ...string) float64 {
	return b.sum(name, want...) - a.sum(name, want...)
}

// meanOf is the mean of a histogram's observations between two scrapes.
func meanOf(a, b metrics, name string) float64 {
	_, m := countMean(a, b, name)
	return m
}

// countMean is how many observations a histogram's series with all the
// labels in want got between two scrapes, and their mean (0 if none).
func countMean(a, b metrics, name string, want ...string) (n, mean float64) {
	n = grew(a, b, name+"_count", want...)
	if n <= 0 {
		return 0, 0
	}
	return n, grew(a, b, name+"_sum", want...) / n
}

// pidTicks is a process's utime+stime in clock ticks, 0 if it is gone.
func pidTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)) //nolint:gosec // a process of this run
	if err != nil {
		return 0
	}
	n, _ := parseProcStatTicks(string(b))
	return n
}

// machineTicks is the machine's busy and steal time in clock ticks.
func machineTicks() (busy, steal int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	busy, steal, _ = parseCPULine(string(b))
	return busy, steal
}

// parseCPULine reads /proc/stat's first line (cpu user nice system idle
// iowait irq softirq steal ...): busy is everything but idle, iowait and
// steal; steal is the time the hypervisor ran something else.
func parseCPULine(s string) (busy, steal int64, err error) {
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat does not start with a cpu line of 8 numbers: %q", line)
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return 0, 0, err
		}
	}
	return v[0] + v[1] + v[2] + v[5] + v[6], v[7], nil
}

// readPIDFiles reads the pid files named in a comma-separated list.
func readPIDFiles(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		b, err := os.ReadFile(f) //nolint:gosec // the operator's pid files
		if err != nil {
			return nil, err
		}
		p, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, p)
	}
	return out, nil
}
