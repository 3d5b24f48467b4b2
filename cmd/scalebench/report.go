package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// render prints the tables of earlier runs' results.json files, together.
func render(w io.Writer, files []string) error {
	var all []*result
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // the operator's own results files
		if err != nil {
			return err
		}
		var rs []*result
		if err := json.Unmarshal(b, &rs); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		all = append(all, rs...)
	}
	_, err := io.WriteString(w, markdown(all))
	return err
}

// markdown renders results as the tables of docs/benchmarks.md: one row per
// run, and per scenario and size the polled/shared and per-guest/shared
// ratios of each figure.
func markdown(rs []*result) string {
	var b strings.Builder
	b.WriteString("| scenario | view | sites × per site | Ready | p50 s | p90 s | max s | all Ready s | reconciles/s ramp | reconciles/s steady | RSS peak MiB | RSS steady MiB | CPU s/min | PVE req/min/site | API writes/min | object changes/min | queue max ramp | queue max steady |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %d | %s | %d × %d | %d/%d | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.0f | %.0f | %.2f | %.0f | %.1f | %.1f | %.0f | %.0f |\n",
			r.Scenario, r.Mode, r.Sites, r.PerSite, r.Ready, r.N, r.P50, r.P90, r.Max, r.AllReady, r.RampReconcilesPerSec,
			r.SteadyReconcilesPerSec, r.PeakRSSMiB, r.SteadyRSSMiB, r.CPUSecPerMin, r.PVEReqPerMinPerSite, r.WritesPerMin, r.ChangesPerMin, r.QueueMax, r.QueueSteady)
	}
	for _, other := range []string{"polled", "per-guest"} {
		var ratios []string
		for _, s := range rs {
			if s.Mode != "shared" {
				continue
			}
			for _, p := range rs {
				if p.Mode == other && p.Scenario == s.Scenario && p.Sites == s.Sites && p.PerSite == s.PerSite {
					ratios = append(ratios, fmt.Sprintf("| %d | %d × %d | %s | %s | %s | %s | %s | %s | %s |", s.Scenario, s.Sites, s.PerSite,
						ratio(p.P50, s.P50), ratio(p.AllReady, s.AllReady), ratio(p.SteadyReconcilesPerSec, s.SteadyReconcilesPerSec),
						ratio(p.SteadyRSSMiB, s.SteadyRSSMiB), ratio(p.CPUSecPerMin, s.CPUSecPerMin),
						ratio(p.PVEReqPerMinPerSite, s.PVEReqPerMinPerSite), ratio(p.WritesPerMin, s.WritesPerMin)))
				}
			}
		}
		if len(ratios) > 0 {
			fmt.Fprintf(&b, "\n%s / shared:\n\n| scenario | sites × per site | p50 | all Ready | reconciles/s steady | RSS steady | CPU s/min | PVE req/min/site | API writes/min |\n", other)
			b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
			b.WriteString(strings.Join(ratios, "\n") + "\n")
		}
	}
	for _, r := range rs {
		if d := r.Dead; d != nil {
			fmt.Fprintf(&b, "\nscenario 4, %s view, %d × %d, %d sites down with %d Ready: healthy sites p50 %.1f s, p90 %.1f s, max %.1f s; "+
				"%d/%d dead-site resources named their endpoint (%d not Ready; the last %.1f s after the outage began, 0: not all); back to all Ready and Synced %.1f s after the sites returned; "+
				"creates %v → %v, deletes %v → %v, guests %d → %d on the dead sites. Sample: `%s`\n",
				r.Mode, r.Sites, r.PerSite, d.Sites, d.ReadyBeforeOutage, d.HealthyP50, d.HealthyP90, d.HealthyMax, d.NamingEndpoint, d.Resources,
				d.NotReadyWhenHealthy, d.AllNamedAfter, d.BackToAllReady, d.CreatesBefore, d.CreatesAfter, d.DeletesBefore, d.DeletesAfter, d.GuestsBefore, d.GuestsAfter, d.SampleMessage)
		}
	}
	var halves []string
	for _, r := range rs {
		if h := r.SecondHalf; h != nil {
			var w float64
			for _, v := range h.Writes {
				w += v
			}
			halves = append(halves, fmt.Sprintf("| %d | %s | %d of %d × %d | %.1f / %.1f / %.1f | %d: %.1f / %.1f / %.1f | %d: %.1f / %.1f / %.1f | %.1f + %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f (%.0f) | %.3f / %.2f | %.0f | %.0f |",
				r.Scenario, r.Mode, h.Sites, r.Sites, r.PerSite, h.P50, h.P90, h.Max, h.AfterN, h.AfterP50, h.AfterP90, h.AfterMax, h.LateN, h.LateP50, h.LateP90, h.LateMax, h.FirstHalf, h.Seconds, h.ProviderCPU, h.ControlPlaneCPU, h.BenchCPU,
				h.MachineBusy, h.Steal, h.Reconciles, h.Unbudgeted, h.ReconcileMean, h.QueueWaitMean, w, h.PVERequests))
		}
	}
	if len(halves) > 0 {
		b.WriteString("\nsecond half of the ramp on the sites scenario 4 keeps up (from half of all Ready to those sites all Ready; CPU in seconds):\n\n" +
			"| scenario | view | sites | p50 / p90 / max s | Ready in the window: n, p50 / p90 / max s after half | applied in the window: n, p50 / p90 / max s from apply | first half + window s | CPU provider | CPU etcd + apiserver | CPU bench (simulator) | CPU machine busy | steal | reconciles (unbudgeted) | reconcile / queue wait mean s | API writes | PVE requests |\n" +
			"| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		b.WriteString(strings.Join(halves, "\n") + "\n")
	}
	return b.String()
}

// ratio is a/b as "12x", "-" when b is 0.
func ratio(a, b float64) string {
	if b == 0 {
		if a == 0 {
			return "1x"
		}
		return "-"
	}
	if r := a / b; r >= 10 {
		return fmt.Sprintf("%.0fx", r)
	}
	return fmt.Sprintf("%.2fx", a/b)
}
