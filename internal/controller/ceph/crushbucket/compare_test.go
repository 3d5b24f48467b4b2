package crushbucket

import (
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
)

func ptr[T any](v T) *T { return &v }

func TestUpToDate(t *testing.T) {
	cases := map[string]struct {
		spec    v1alpha1.CrushBucketParameters
		obs     v1alpha1.CrushBucketObservation
		want    bool
		diffHas string
	}{
		"Root":        {spec: v1alpha1.CrushBucketParameters{Type: "root"}, obs: v1alpha1.CrushBucketObservation{Type: "root"}, want: true},
		"UnderParent": {spec: v1alpha1.CrushBucketParameters{Type: "rack", Parent: ptr("dc1")}, obs: v1alpha1.CrushBucketObservation{Type: "rack", Parents: []string{"dc1"}}, want: true},
		"Moved":       {spec: v1alpha1.CrushBucketParameters{Type: "rack", Parent: ptr("dc1")}, obs: v1alpha1.CrushBucketObservation{Type: "rack", Parents: []string{"dc2"}}, diffHas: `parent: want "dc1", Ceph has [dc2]`},
		"Detached":    {spec: v1alpha1.CrushBucketParameters{Type: "host", Parent: ptr("rack1")}, obs: v1alpha1.CrushBucketObservation{Type: "host"}, diffHas: "parent"},
		"LinkedTwice": {spec: v1alpha1.CrushBucketParameters{Type: "host", Parent: ptr("rack1")}, obs: v1alpha1.CrushBucketObservation{Type: "host", Parents: []string{"rack1", "rack2"}}, diffHas: "parent"},
		"TypeDiffers": {spec: v1alpha1.CrushBucketParameters{Type: "row"}, obs: v1alpha1.CrushBucketObservation{Type: "rack"}, diffHas: "type"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, diff := upToDate(tc.spec, tc.obs)
			if got != tc.want || !strings.Contains(diff, tc.diffHas) {
				t.Fatalf("upToDate = %v, %q; want %v and a diff mentioning %q", got, diff, tc.want, tc.diffHas)
			}
		})
	}
}
