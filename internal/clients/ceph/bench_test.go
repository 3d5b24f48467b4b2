package ceph

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkObservePools measures one poll of N pools (every Pool observed
// once) against the real Ceph cluster, side by side:
//   - shared: this provider's observation (one snapshot per poll for every
//     resource of the site: osd pool ls detail, osd crush dump, EC profiles, PG states);
//   - naive: what a per-resource poller does (osd pool get <pool> all and
//     osd pool get-quota <pool> for every pool on every poll).
//
// It reports mon/mgr commands per poll and the time of one poll.
func BenchmarkObservePools(b *testing.B) {
	conf := os.Getenv("CEPH_CONF")
	if conf == "" {
		b.Skip("CEPH_CONF not set; start Ceph with CEPH_CONF=$(cluster/ceph-up.sh)")
	}
	cfg, err := ConfigFromConfFile(conf)
	if err != nil {
		b.Fatal(err)
	}
	c, err := Connect(cfg, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const n = 24
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%02d-%d", i, time.Now().UnixNano()%1_000_000)
		if err := c.CreatePool(PoolSpec{Name: names[i], PGNum: 1, AutoscaleMode: "off"}); err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		for _, name := range names {
			_ = c.DeletePool(name)
		}
	}()
	// Quotas are answered from the mgr's stats, which a new pool gets within seconds.
	for _, name := range names {
		deadline := time.Now().Add(60 * time.Second)
		for {
			var q map[string]any
			err := c.monJSON(map[string]any{"prefix": "osd pool get-quota", "pool": name}, &q)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("no stats for pool %s after 60s: %v", name, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	ctx := context.Background()
	commands := func() int64 {
		var t int64
		for _, p := range []string{"osd pool ls", "osd crush dump", "osd erasure-code-profile ls", "osd erasure-code-profile get", "pg dump", "osd pool get", "osd pool get-quota"} {
			t += c.CommandCount(p)
		}
		return t
	}

	b.Run(fmt.Sprintf("shared/pools=%d", n), func(b *testing.B) {
		before := commands()
		b.ResetTimer()
		for range b.N {
			c.Invalidate() // a new poll interval
			for _, name := range names {
				s, err := c.Snapshot(ctx)
				if err != nil || s.Pools[name] == nil {
					b.Fatalf("pool %s not observed: %v", name, err)
				}
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(commands()-before)/float64(b.N), "commands/poll")
	})
	b.Run(fmt.Sprintf("naive/pools=%d", n), func(b *testing.B) {
		before := commands()
		b.ResetTimer()
		for range b.N {
			for _, name := range names {
				var all, quota map[string]any
				if err := c.monJSON(map[string]any{"prefix": "osd pool get", "pool": name, "var": "all"}, &all); err != nil {
					b.Fatal(err)
				}
				if err := c.monJSON(map[string]any{"prefix": "osd pool get-quota", "pool": name}, &quota); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(commands()-before)/float64(b.N), "commands/poll")
	})
}
