package objectstoreuser

import (
	"slices"
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
)

func ptr[T any](v T) *T { return &v }

func TestCompare(t *testing.T) {
	key := []rgw.Keys{{AccessKey: "A", SecretKey: "S"}}
	rgwUser := func(mut func(*rgw.User)) *rgw.User {
		u := &rgw.User{ID: "u", DisplayName: "Tenant", Email: "t@example.net", MaxBuckets: 5, Keys: key,
			Quota: rgw.Quota{Enabled: true, MaxSizeBytes: 64 << 20, MaxObjects: -1}}
		if mut != nil {
			mut(u)
		}
		return u
	}
	spec := v1alpha1.ObjectStoreUserParameters{DisplayName: "Tenant", Email: ptr("t@example.net"), MaxBuckets: ptr(int64(5)),
		Quota: &v1alpha1.ObjectStoreQuota{MaxSizeMiB: ptr(int64(64))}}
	cases := map[string]struct {
		spec                                  v1alpha1.ObjectStoreUserParameters
		at                                    v1alpha1.ObjectStoreUserObservation
		user                                  *rgw.User
		upToDate, settingsOK, quotaOK, rotate bool
		retire                                []string
		diff                                  string
	}{
		"InSync":        {spec: spec, user: rgwUser(nil), upToDate: true, settingsOK: true, quotaOK: true},
		"UnsetIgnored":  {spec: v1alpha1.ObjectStoreUserParameters{DisplayName: "Tenant"}, user: rgwUser(func(u *rgw.User) { u.MaxBuckets = 99; u.Email = "x" }), upToDate: true, settingsOK: true, quotaOK: true},
		"MaxBuckets":    {spec: spec, user: rgwUser(func(u *rgw.User) { u.MaxBuckets = 99 }), quotaOK: true, diff: "maxBuckets: want 5, RGW has 99"},
		"DisplayName":   {spec: spec, user: rgwUser(func(u *rgw.User) { u.DisplayName = "x" }), quotaOK: true, diff: `displayName: want "Tenant", RGW has "x"`},
		"QuotaDisabled": {spec: spec, user: rgwUser(func(u *rgw.User) { u.Quota.Enabled = false }), settingsOK: true, diff: "quota.enabled: want true, RGW has false"},
		"Rotate":        {spec: func() v1alpha1.ObjectStoreUserParameters { s := spec; s.KeyGeneration = 2; return s }(), at: v1alpha1.ObjectStoreUserObservation{KeyGeneration: 1}, user: rgwUser(nil), settingsOK: true, quotaOK: true, rotate: true, diff: "keyGeneration: want 2, the S3 key is of generation 1"},
		"NoKeyLeft":     {spec: spec, user: rgwUser(func(u *rgw.User) { u.Keys = nil }), settingsOK: true, quotaOK: true, rotate: true, diff: "(0 key(s) in RGW)"},
		"SecretKeyGone": {spec: spec, at: v1alpha1.ObjectStoreUserObservation{AccessKeyID: "GONE"}, user: rgwUser(nil), settingsOK: true, quotaOK: true, rotate: true, diff: "S3 key GONE is gone from RGW"},
		"Retiring": {spec: spec, at: v1alpha1.ObjectStoreUserObservation{AccessKeyID: "A", RetiringAccessKeyIDs: []string{"OLD", "LOST"}},
			user: rgwUser(func(u *rgw.User) { u.Keys = append(key, rgw.Keys{AccessKey: "OLD"}) }), settingsOK: true, quotaOK: true, retire: []string{"OLD"}, diff: "1 S3 key(s) replaced by a rotation still in RGW"},
		"Retired": {spec: spec, at: v1alpha1.ObjectStoreUserObservation{AccessKeyID: "A", RetiringAccessKeyIDs: []string{"OLD"}}, user: rgwUser(nil), upToDate: true, settingsOK: true, quotaOK: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := compare(tc.spec, tc.at, tc.user)
			if w.upToDate() != tc.upToDate || w.settingsOK != tc.settingsOK || w.quotaOK != tc.quotaOK || w.rotate != tc.rotate || !slices.Equal(w.retire, tc.retire) {
				t.Errorf("compare = %+v", w)
			}
			if !strings.Contains(w.String(), tc.diff) || (tc.diff == "") != (w.String() == "") {
				t.Errorf("diff %q, want it to contain %q", w.String(), tc.diff)
			}
		})
	}
}
