package main

import (
	"strings"
	"testing"
)

func half(p50, maxS, rec float64) *secondHalf {
	return &secondHalf{Stamped: [3]float64{p50, 0, maxS}, ReconcileMean: rec, QueueWaitMean: 1}
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
		"| 1 | shared | 100 × 10 | 10.0 / 20.0 | 11.0 / 22.0 | 1.10x | 1.10x | 1.00x |",
		"| 2 | shared | 100 × 10 | 10.0 / 20.0 | 9.0 / 18.0 | 0.90x | 0.90x | 0.50x |",
		"| mean ± sd of the 2 pairs | | | | | 1.00 ± 0.14 (se 0.10) | 1.00 ± 0.14 (se 0.10) | 0.75 ± 0.35 (se 0.25) |",
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
