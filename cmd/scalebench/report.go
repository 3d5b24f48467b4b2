package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
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
	var closes []string
	for i, r := range rs {
		if w := r.WatchCloses; w != nil {
			closes = append(closes, fmt.Sprintf("| %d | %d | %s | %d | %d%s | %d |", i+1, r.Scenario, r.Mode, w.BeforeProvider, w.Ramp, byResource(w.RampByResource), w.After))
		}
	}
	if len(closes) > 0 {
		b.WriteString("\nwatches of the run's namespace the API server closed as too slow to read (before the provider started only this bench watched it):\n\n" +
			"| run | scenario | view | before the provider | ramp (by resource) | after all Ready |\n| --- | --- | --- | --- | --- | --- |\n")
		b.WriteString(strings.Join(closes, "\n") + "\n")
	}
	b.WriteString(isolation(rs))
	return b.String()
}

// isolation pairs each scenario 4 run with the scenario 3 run of the same
// size and view next to it in the order they ran (run them as 3,4,4,3,...
// so each pair shares its part of the session) and prints, per pair, the
// kept sites' figures of scenario 4 over scenario 3's, then their mean and
// spread: the isolation target is scenario 4 within 10 % of scenario 3.
func isolation(rs []*result) string {
	type pair struct{ three, four *result }
	var pairs []pair
	var open *result
	for _, r := range rs {
		if r.SecondHalf == nil || (r.Scenario != 3 && r.Scenario != 4) {
			continue
		}
		if open != nil && open.Scenario != r.Scenario && open.Mode == r.Mode && open.Sites == r.Sites && open.PerSite == r.PerSite {
			p := pair{open, r}
			if r.Scenario == 3 {
				p = pair{r, open}
			}
			pairs = append(pairs, p)
			open = nil
			continue
		}
		open = r
	}
	if len(pairs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nisolation, pair by pair (kept sites; Ready times from apply by the conditions' own times; scenario 4 ÷ scenario 3):\n\n" +
		"| pair | view | sites × per site | scenario 3 p50 / max s | scenario 4 p50 / max s | p50 4÷3 | max 4÷3 | reconcile mean s, answering sites, 3 / 4 | 4÷3 | queue wait mean 4÷3 | machine busy s 3 / 4 |\n" +
		"| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var p50s, maxes, recs []float64
	for i, p := range pairs {
		t, f := p.three.SecondHalf, p.four.SecondHalf
		p50s = append(p50s, f.Stamped[0]/t.Stamped[0])
		maxes = append(maxes, f.Stamped[2]/t.Stamped[2])
		if t.AnsweringMean > 0 && f.AnsweringMean > 0 {
			recs = append(recs, f.AnsweringMean/t.AnsweringMean)
		}
		fmt.Fprintf(&b, "| %d | %s | %d × %d | %.1f / %.1f | %.1f / %.1f | %s | %s | %.3f / %.3f | %s | %s | %.1f / %.1f |\n", i+1, p.three.Mode, p.three.Sites, p.three.PerSite,
			t.Stamped[0], t.Stamped[2], f.Stamped[0], f.Stamped[2], ratio(f.Stamped[0], t.Stamped[0]), ratio(f.Stamped[2], t.Stamped[2]),
			t.AnsweringMean, f.AnsweringMean, ratio(f.AnsweringMean, t.AnsweringMean), ratio(f.QueueWaitMean, t.QueueWaitMean), t.MachineBusy, f.MachineBusy)
	}
	fmt.Fprintf(&b, "| mean ± sd of the %d pairs | | | | | %s | %s | | %s | | |\n", len(pairs), meanSD(p50s), meanSD(maxes), meanSD(recs))
	return b.String()
}

// meanSD is "mean ± standard deviation (95 %: the interval of the mean, by
// Student's t)" of ratios; just the mean of one.
func meanSD(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	m := sum / float64(len(xs))
	if len(xs) < 2 {
		return fmt.Sprintf("%.2f", m)
	}
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	sd := math.Sqrt(ss / float64(len(xs)-1))
	hw := t95(len(xs)-1) * sd / math.Sqrt(float64(len(xs)))
	return fmt.Sprintf("%.2f ± %.2f (95 %%: %.2f to %.2f)", m, sd, m-hw, m+hw)
}

// t95 is Student's t for a two-sided 95 % interval with df degrees of
// freedom; past 30 it stays at 30's (2.042, a little wider than the 1.96
// it tends to).
func t95(df int) float64 {
	t := [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
		2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	return t[min(max(df, 1), len(t))-1]
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
