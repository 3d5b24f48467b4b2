package objectstore

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
)

func ptr[T any](v T) *T { return &v }

func TestWantQuota(t *testing.T) {
	none := rgw.Quota{Enabled: false, MaxSizeBytes: -1, MaxObjects: -1}
	cases := map[string]struct {
		spec    *v1alpha1.ObjectStoreQuota
		have    rgw.Quota
		want    rgw.Quota
		ok      bool
		diffHas string
		diffLen int
	}{
		"Unmanaged": {spec: nil, have: rgw.Quota{MaxObjects: 0}, want: rgw.Quota{MaxObjects: 0}, ok: true},
		"Set": {spec: &v1alpha1.ObjectStoreQuota{MaxSizeMiB: ptr(int64(64)), MaxObjects: ptr(int64(10))}, have: none,
			want: rgw.Quota{Enabled: true, MaxSizeBytes: 64 << 20, MaxObjects: 10}, diffHas: "quota.maxSizeMiB: want 64, RGW has no limit", diffLen: 3},
		"InSync": {spec: &v1alpha1.ObjectStoreQuota{Enabled: ptr(true), MaxObjects: ptr(int64(10))}, have: rgw.Quota{Enabled: true, MaxSizeBytes: -1, MaxObjects: 10},
			want: rgw.Quota{Enabled: true, MaxSizeBytes: -1, MaxObjects: 10}, ok: true},
		// RGW spells "no limit" -1 or, after a size in KiB, -1024; 0 in the spec means no limit
		"ZeroIsNoLimit": {spec: &v1alpha1.ObjectStoreQuota{MaxSizeMiB: ptr(int64(0)), MaxObjects: ptr(int64(0))}, have: rgw.Quota{Enabled: true, MaxSizeBytes: -1024, MaxObjects: -1},
			want: rgw.Quota{Enabled: true, MaxSizeBytes: -1, MaxObjects: -1}, ok: true},
		// but 0 in RGW is a limit of nothing, which a spec's 0 repairs
		"RGWZeroIsALimit": {spec: &v1alpha1.ObjectStoreQuota{MaxObjects: ptr(int64(0))}, have: rgw.Quota{Enabled: true, MaxSizeBytes: -1, MaxObjects: 0},
			want: rgw.Quota{Enabled: true, MaxSizeBytes: -1, MaxObjects: -1}, diffHas: "quota.maxObjects: want no limit, RGW has 0 (nothing allowed)", diffLen: 1},
		"Disabled": {spec: &v1alpha1.ObjectStoreQuota{Enabled: ptr(false)}, have: rgw.Quota{Enabled: true, MaxSizeBytes: 1 << 20, MaxObjects: 5},
			want: rgw.Quota{Enabled: false, MaxSizeBytes: 1 << 20, MaxObjects: 5}, diffHas: "quota.enabled: want false, RGW has true", diffLen: 1},
		"OddBytes": {spec: &v1alpha1.ObjectStoreQuota{MaxSizeMiB: ptr(int64(1))}, have: rgw.Quota{Enabled: true, MaxSizeBytes: 1000, MaxObjects: -1},
			want: rgw.Quota{Enabled: true, MaxSizeBytes: 1 << 20, MaxObjects: -1}, diffHas: "RGW has 1000 bytes", diffLen: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok, diff := WantQuota("quota", tc.spec, tc.have)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("quota (-want +got):\n%s", d)
			}
			if ok != tc.ok || len(diff) != tc.diffLen || !strings.Contains(strings.Join(diff, "; "), tc.diffHas) {
				t.Errorf("ok %v, diff %q; want ok %v, %d differences containing %q", ok, diff, tc.ok, tc.diffLen, tc.diffHas)
			}
		})
	}
}
