package crushrule

import (
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
)

func ptr[T any](v T) *T { return &v }

func TestUpToDate(t *testing.T) {
	profiles := map[string]map[string]string{"ec21": {"k": "2", "m": "1", "crush-failure-domain": "osd", "crush-root": "default"}}
	hostRule := v1alpha1.CrushRuleObservation{Type: "replicated", Root: "default", FailureDomain: "host"}
	cases := map[string]struct {
		spec    v1alpha1.CrushRuleParameters
		obs     v1alpha1.CrushRuleObservation
		want    bool
		diffHas string
	}{
		"DefaultsMatch": {spec: v1alpha1.CrushRuleParameters{}, obs: hostRule, want: true},
		"ExplicitMatch": {spec: v1alpha1.CrushRuleParameters{Type: "replicated", Root: ptr("default"), FailureDomain: ptr("host")}, obs: hostRule, want: true},
		"DomainDiffers": {spec: v1alpha1.CrushRuleParameters{FailureDomain: ptr("osd")}, obs: hostRule, diffHas: `failureDomain: want "osd", Ceph has "host"`},
		"ClassDiffers":  {spec: v1alpha1.CrushRuleParameters{DeviceClass: ptr("ssd")}, obs: hostRule, diffHas: "deviceClass"},
		"RootDiffers":   {spec: v1alpha1.CrushRuleParameters{Root: ptr("dc1")}, obs: hostRule, diffHas: "root"},
		"ErasureFromProfile": {spec: v1alpha1.CrushRuleParameters{Type: "erasure", ErasureCodeProfile: ptr("ec21")},
			obs: v1alpha1.CrushRuleObservation{Type: "erasure", Root: "default", FailureDomain: "osd"}, want: true},
		"ErasureProfileDomainDiffers": {spec: v1alpha1.CrushRuleParameters{Type: "erasure", ErasureCodeProfile: ptr("ec21")},
			obs: v1alpha1.CrushRuleObservation{Type: "erasure", Root: "default", FailureDomain: "host"}, diffHas: "failureDomain"},
		"ErasureProfileUnknown": {spec: v1alpha1.CrushRuleParameters{Type: "erasure", ErasureCodeProfile: ptr("gone")}, obs: hostRule, want: true},
		"TypeDiffers":           {spec: v1alpha1.CrushRuleParameters{Type: "erasure", ErasureCodeProfile: ptr("ec21")}, obs: hostRule, diffHas: "type"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, diff := upToDate(tc.spec, tc.obs, profiles)
			if got != tc.want || !strings.Contains(diff, tc.diffHas) {
				t.Fatalf("upToDate = %v, %q; want %v and a diff mentioning %q", got, diff, tc.want, tc.diffHas)
			}
		})
	}
}
