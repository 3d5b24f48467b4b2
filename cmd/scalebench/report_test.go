package main

import (
	"strings"
	"testing"
)

func half(p50, maxS, rec float64) *secondHalf {
	return &secondHalf{Stamped: [3]float64{p50, 0, maxS}, AnsweringMean: rec, ReconcileMean: 7, QueueWaitMean: 1}
}

// Runs made as 3,4,4,3 pair up in order; a run of another size or scenario
// pairs with nothing.
func TestIsolationPairsNeighbours(t *testing.T) {
	rs := []*result{
		{Scenario: 3, Mode: "shared", Sites: 100, PerSite: 10, SecondHalf: half(10, 20, 0.1)},
		{Scenario: 1, Mode: "shared", Sites: 1, PerSite: 100},
		{Scenario: 4, Mode: "shared", Sites: 100, PerSite: 10, SecondHalf: half(11, 22, 0.1)},
		{Scenario: 4, Mode: "shared", Sites: 100, PerSite: 30, SecondHalf: half(50, 60, 0.2)},
		{Scenario: 4, Mode: "shared", Sites: 100, PerSite: 10, SecondHalf: half(9, 18, 0.1)},
		{Scenario: 3, Mode: "shared", Sites: 100, PerSite: 10, SecondHalf: half(10, 20, 0.2)},
	}
	out := isolation(rs)
	for _, want := range []string{
		"| 1 | shared | 100 × 10 | 10.0 / 20.0 | 11.0 / 22.0 | 1.10x | 1.10x | 0.100 / 0.100 | 1.00x |",
		"| 2 | shared | 100 × 10 | 10.0 / 20.0 | 9.0 / 18.0 | 0.90x | 0.90x | 0.200 / 0.100 | 0.50x |",
		"| mean ± sd of the 2 pairs | | | | | 1.00 ± 0.14 (95 %: -0.27 to 2.27) | 1.00 ± 0.14 (95 %: -0.27 to 2.27) | | 0.75 ± 0.35 (95 %: -2.43 to 3.93) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no line %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "| 3 |") || strings.Contains(out, "100 × 30") {
		t.Errorf("a run without a neighbour of its size was paired:\n%s", out)
	}
	if isolation(rs[:2]) != "" {
		t.Errorf("a table without pairs")
	}
}

// A batch's leading warm-up run (-scenarios 3,3,4,4,...) has no neighbour
// of the other scenario before the next run of its own, so it stays out.
func TestIsolationLeavesTheWarmUpOut(t *testing.T) {
	run := func(sc int, p50 float64) *result {
		return &result{Scenario: sc, Mode: "shared", Sites: 100, PerSite: 100, SecondHalf: half(p50, 2*p50, 0.1)}
	}
	out := isolation([]*result{run(3, 99), run(3, 10), run(4, 11), run(4, 12), run(3, 10)})
	if strings.Contains(out, "99.0") || !strings.Contains(out, "| 1 | shared | 100 × 100 | 10.0 / 20.0 | 11.0 / 22.0 |") ||
		!strings.Contains(out, "| 2 | shared | 100 × 100 | 10.0 / 20.0 | 12.0 / 24.0 |") || !strings.Contains(out, "of the 2 pairs") {
		t.Errorf("want the warm-up (p50 99) left out and two pairs, got\n%s", out)
	}
}

// The interval is the mean's, by Student's t with n-1 degrees of freedom:
// session 16's four median ratios give the interval its notes worked out
// by hand (0.89-1.11 from the unrounded ratios).
func TestMeanSDIntervalOfTheMean(t *testing.T) {
	if got, want := meanSD([]float64{1.10, 1.01, 0.96, 0.94}), "1.00 ± 0.07 (95 %: 0.89 to 1.12)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := meanSD([]float64{1.2}); got != "1.20" {
		t.Errorf("one ratio: got %q, want its value", got)
	}
	if t95(1) != 12.706 || t95(3) != 3.182 || t95(500) != t95(30) {
		t.Errorf("t95: %v %v %v", t95(1), t95(3), t95(500))
	}
}

// A run with the API server's log counted gets a row of watch closes.
func TestMarkdownListsWatchCloses(t *testing.T) {
	out := markdown([]*result{
		{Scenario: 3, Mode: "shared", Sites: 1, PerSite: 1},
		{Scenario: 4, Mode: "shared", Sites: 1, PerSite: 1, WatchCloses: &watchCloses{BeforeProvider: 28, Ramp: 5,
			RampByResource: map[string]int{"virtualmachines": 4, "containers": 1}, After: 2}},
	})
	if !strings.Contains(out, "| 2 | 4 | shared | 28 | 5 (containers 1, virtualmachines 4) | 2 |") || strings.Contains(out, "| 1 | 3 | shared |") {
		t.Errorf("want one row of closes, for run 2:\n%s", out)
	}
}

// countMean takes a histogram's change between two scrapes over the series
// with the labels asked for only.
func TestCountMeanByLabel(t *testing.T) {
	scrape := func(text string) metrics {
		t.Helper()
		m, err := parseMetrics(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := scrape(`microcloud_reconcile_seconds_sum{controller="vm",site="answering"} 10
microcloud_reconcile_seconds_count{controller="vm",site="answering"} 100
microcloud_reconcile_seconds_sum{controller="vm",site="unanswering"} 1
microcloud_reconcile_seconds_count{controller="vm",site="unanswering"} 50
`)
	b := scrape(`microcloud_reconcile_seconds_sum{controller="vm",site="answering"} 16
microcloud_reconcile_seconds_count{controller="vm",site="answering"} 120
microcloud_reconcile_seconds_sum{controller="vm",site="unanswering"} 2
microcloud_reconcile_seconds_count{controller="vm",site="unanswering"} 150
`)
	if n, m := countMean(a, b, "microcloud_reconcile_seconds", `site="answering"`); n != 20 || m != 0.3 {
		t.Errorf("answering: %v reconciles, mean %v; want 20, 0.3", n, m)
	}
	if n, m := countMean(a, b, "microcloud_reconcile_seconds", `site="unanswering"`); n != 100 || m != 0.01 {
		t.Errorf("unanswering: %v reconciles, mean %v; want 100, 0.01", n, m)
	}
	if m := meanOf(a, b, "microcloud_reconcile_seconds"); m != 7.0/120 {
		t.Errorf("all: mean %v, want %v", m, 7.0/120)
	}
}
