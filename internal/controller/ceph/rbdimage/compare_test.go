package rbdimage

import (
	"slices"
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
)

func TestUpToDate(t *testing.T) {
	obs := v1alpha1.RBDImageObservation{SizeBytes: 64 * mib, Features: []string{"exclusive-lock", "layering"}}
	cases := map[string]struct {
		spec    v1alpha1.RBDImageParameters
		want    bool
		diffHas string
	}{
		"Same":              {spec: v1alpha1.RBDImageParameters{SizeMiB: 64, Features: []string{"layering", "exclusive-lock"}}, want: true},
		"FeaturesUnmanaged": {spec: v1alpha1.RBDImageParameters{SizeMiB: 64}, want: true},
		"Grow":              {spec: v1alpha1.RBDImageParameters{SizeMiB: 128}, diffHas: "sizeMiB: want 128, Ceph has 64"},
		"BiggerInCephKept":  {spec: v1alpha1.RBDImageParameters{SizeMiB: 32}, want: true},
		"FeatureMissing":    {spec: v1alpha1.RBDImageParameters{SizeMiB: 64, Features: []string{"layering", "exclusive-lock", "object-map"}}, diffHas: "features"},
		"FeatureExtra":      {spec: v1alpha1.RBDImageParameters{SizeMiB: 64, Features: []string{"layering"}}, diffHas: "features"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, diff := upToDate(tc.spec, obs)
			if got != tc.want || !strings.Contains(diff, tc.diffHas) {
				t.Fatalf("upToDate = %v, %q; want %v and a diff mentioning %q", got, diff, tc.want, tc.diffHas)
			}
		})
	}
}

func TestFeatureChanges(t *testing.T) {
	cases := map[string]struct {
		want, have      []string
		enable, disable []string
	}{
		"EnableInDependencyOrder": {want: []string{"fast-diff", "object-map", "exclusive-lock", "layering"}, have: []string{"layering"},
			enable: []string{"exclusive-lock", "object-map", "fast-diff"}},
		"DisableInReverseOrder": {want: []string{"layering"}, have: []string{"layering", "exclusive-lock", "object-map", "fast-diff"},
			disable: []string{"fast-diff", "object-map", "exclusive-lock"}},
		"CreateOnlyNeverToggled": {want: []string{"deep-flatten"}, have: []string{"layering"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			en, dis := featureChanges(tc.want, tc.have)
			if !slices.Equal(en, tc.enable) || !slices.Equal(dis, tc.disable) {
				t.Fatalf("featureChanges = %v, %v; want %v, %v", en, dis, tc.enable, tc.disable)
			}
		})
	}
}
