package erasurecodeprofile

import (
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
)

func ptr[T any](v T) *T { return &v }

func TestUpToDate(t *testing.T) {
	// what Ceph reports for `k=2 m=1 crush-failure-domain=host`, defaults included
	have := map[string]string{"k": "2", "m": "1", "plugin": "jerasure", "technique": "reed_sol_van", "crush-failure-domain": "host", "crush-root": "default", "w": "8"}
	cases := map[string]struct {
		spec    v1alpha1.ErasureCodeProfileParameters
		want    bool
		diffHas string
	}{
		"DefaultsNotCompared": {spec: v1alpha1.ErasureCodeProfileParameters{K: 2, M: 1, Plugin: "jerasure"}, want: true},
		"AllGiven": {spec: v1alpha1.ErasureCodeProfileParameters{K: 2, M: 1, Plugin: "jerasure", Technique: ptr("reed_sol_van"),
			FailureDomain: ptr("host"), CrushRoot: ptr("default")}, want: true},
		"MDiffers":      {spec: v1alpha1.ErasureCodeProfileParameters{K: 2, M: 2}, diffHas: `m: want "2", Ceph has "1"`},
		"DomainDiffers": {spec: v1alpha1.ErasureCodeProfileParameters{K: 2, M: 1, FailureDomain: ptr("osd")}, diffHas: "crush-failure-domain"},
		"ClassMissing":  {spec: v1alpha1.ErasureCodeProfileParameters{K: 2, M: 1, DeviceClass: ptr("ssd")}, diffHas: `crush-device-class: want "ssd", Ceph has ""`},
		"PluginDiffers": {spec: v1alpha1.ErasureCodeProfileParameters{K: 2, M: 1, Plugin: "isa"}, diffHas: "plugin"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, diff := upToDate(tc.spec, have)
			if got != tc.want || !strings.Contains(diff, tc.diffHas) {
				t.Fatalf("upToDate = %v, %q; want %v and a diff mentioning %q", got, diff, tc.want, tc.diffHas)
			}
		})
	}
}
