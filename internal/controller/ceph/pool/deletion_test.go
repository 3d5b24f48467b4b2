package pool

import (
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

func TestDataReasonsNameWhatThePoolHolds(t *testing.T) {
	cases := map[string]struct {
		pc      ceph.PoolContents
		refs    []string
		wantHas []string
	}{
		"Empty":           {pc: ceph.PoolContents{Listed: 3, StatsObjects: 3}},
		"OnlyBookkeeping": {pc: ceph.PoolContents{Listed: 3, StatsObjects: 2}},
		"Images": {pc: ceph.PoolContents{Images: []string{"a", "b", "c", "d", "e", "f", "g"}, Objects: 20, Listed: 23},
			wantHas: []string{"7 RBD image(s): a, b, c, d, e and 2 more (7 in all)", "20 RADOS object(s)"}},
		"ManyObjects":    {pc: ceph.PoolContents{Objects: 1000, Truncated: true, Listed: 1000}, wantHas: []string{"1000 or more RADOS object(s)"}},
		"StatsSeeMore":   {pc: ceph.PoolContents{Listed: 3, StatsObjects: 5}, wantHas: []string{"pool stats count 5 object(s) where the listing finds 3"}},
		"ReferencedOnly": {pc: ceph.PoolContents{}, refs: []string{"ns/disk"}, wantHas: []string{"RBDImage resource(s) naming it: ns/disk"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := strings.Join(dataReasons(tc.pc, tc.refs), "; ")
			if len(tc.wantHas) == 0 && got != "" {
				t.Fatalf("dataReasons = %q, want none", got)
			}
			for _, w := range tc.wantHas {
				if !strings.Contains(got, w) {
					t.Errorf("dataReasons = %q, want it to contain %q", got, w)
				}
			}
		})
	}
}
