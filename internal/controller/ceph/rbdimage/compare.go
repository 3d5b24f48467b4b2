package rbdimage

import (
	"fmt"
	"sort"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

const mib = 1 << 20

// observe turns librbd's view of the image into the MR's status.
func observe(pool, name string, i *ceph.ImageInfo) v1alpha1.RBDImageObservation {
	return v1alpha1.RBDImageObservation{
		ImageSpec: pool + "/" + name,
		SizeBytes: int64(i.SizeBytes),
		Features:  i.Features,
		DataPool:  i.DataPool,
	}
}

// upToDate compares size and, when the spec lists them, features. An image bigger than the
// spec is left alone: shrinking destroys data, so only growth is ever applied.
func upToDate(p v1alpha1.RBDImageParameters, o v1alpha1.RBDImageObservation) (bool, string) {
	var diff []string
	if o.SizeBytes < p.SizeMiB*mib {
		diff = append(diff, fmt.Sprintf("sizeMiB: want %d, Ceph has %d", p.SizeMiB, o.SizeBytes/mib))
	}
	if p.Features != nil {
		enable, disable := featureChanges(p.Features, o.Features)
		if len(enable)+len(disable) > 0 {
			diff = append(diff, fmt.Sprintf("features: want [%s], Ceph has [%s]", strings.Join(sorted(p.Features), ", "), strings.Join(o.Features, ", ")))
		}
	}
	return len(diff) == 0, strings.Join(diff, "; ")
}

// Features that depend on others, in the order librbd accepts enabling them; disabling goes in
// reverse (fast-diff needs object-map, which needs exclusive-lock).
var order = []string{"layering", "striping", "exclusive-lock", "object-map", "fast-diff", "deep-flatten", "journaling", "data-pool"}

// Features librbd only sets at creation; they are never toggled on an existing image.
var createOnly = map[string]bool{"layering": true, "striping": true, "deep-flatten": true, "data-pool": true}

// featureChanges lists the mutable features to enable and to disable, each in a safe order.
func featureChanges(want, have []string) (enable, disable []string) {
	w, h := set(want), set(have)
	for _, f := range order {
		if w[f] && !h[f] && !createOnly[f] {
			enable = append(enable, f)
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		f := order[i]
		if h[f] && !w[f] && !createOnly[f] {
			disable = append(disable, f)
		}
	}
	return enable, disable
}

func set(s []string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, x := range s {
		m[x] = true
	}
	return m
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
