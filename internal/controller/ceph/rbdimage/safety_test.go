package rbdimage

import (
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

func TestSizeDriftNamesBothSizes(t *testing.T) {
	cases := map[string]struct {
		specMiB int64
		have    int64
		wantHas string
	}{
		"Same":          {specMiB: 64, have: 64 * mib},
		"SmallerIsGrow": {specMiB: 64, have: 32 * mib},
		"Bigger":        {specMiB: 32, have: 64 * mib, wantHas: "is 64 MiB in Ceph but spec.forProvider.sizeMiB is 32 MiB"},
		"BiggerOddSize": {specMiB: 1, have: mib + mib/2, wantHas: "is 1.5 MiB in Ceph"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := sizeDrift(v1alpha1.RBDImageParameters{SizeMiB: tc.specMiB}, v1alpha1.RBDImageObservation{ImageSpec: "p/i", SizeBytes: tc.have})
			if (tc.wantHas == "") != (got == "") || !strings.Contains(got, tc.wantHas) {
				t.Fatalf("sizeDrift = %q, want it to contain %q", got, tc.wantHas)
			}
		})
	}
}

func TestInUseNamesWatchersAndSnapshots(t *testing.T) {
	if got := inUse("p", "i", ceph.ImageUsage{}); got != "" {
		t.Fatalf("unused image: %q", got)
	}
	got := inUse("p", "i", ceph.ImageUsage{Watchers: []string{"10.0.0.1:0/1"}, Snapshots: []string{"a", "b", "c", "d", "e", "f", "g"}})
	for _, want := range []string{"1 watcher(s) (open or mapped by 10.0.0.1:0/1)", "7 snapshot(s): a, b, c, d, e and 2 more (7 in all)"} {
		if !strings.Contains(got, want) {
			t.Errorf("inUse = %q, want it to contain %q", got, want)
		}
	}
}
