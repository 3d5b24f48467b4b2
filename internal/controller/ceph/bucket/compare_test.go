package bucket

import (
	"strings"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
)

func ptr[T any](v T) *T { return &v }

func TestBucketName(t *testing.T) {
	cases := map[string]struct {
		name, annotation string
		ok               bool
	}{
		"Plain":        {name: "tenant-a.data", ok: true},
		"Annotation":   {name: "x", annotation: "logs-2026", ok: true},
		"TooShort":     {name: "ab"},
		"TooLong":      {name: strings.Repeat("b", 64)},
		"Upper":        {name: "x", annotation: "Data"},
		"Underscore":   {name: "x", annotation: "my_data"},
		"IPAddress":    {name: "10.0.0.1"},
		"DoubleDot":    {name: "a..b"},
		"TrailingDash": {name: "data-"},
	}
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			mg := &v1alpha1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: tc.name}}
			if tc.annotation != "" {
				meta.SetExternalName(mg, tc.annotation)
			}
			_, err := bucketName(mg)
			if (err == nil) != tc.ok {
				t.Errorf("bucketName: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	have := &rgw.Bucket{Versioning: "Enabled", Quota: rgw.Quota{Enabled: true, MaxSizeBytes: -1, MaxObjects: 2}, ExpirationDays: 30}
	spec := v1alpha1.BucketParameters{Versioning: ptr("Enabled"), Quota: &v1alpha1.ObjectStoreQuota{MaxObjects: ptr(int64(2))}, LifecycleExpirationDays: ptr(int32(30))}
	if w := compare(spec, have); !w.upToDate() || w.String() != "" {
		t.Errorf("in sync: %+v", w)
	}
	if w := compare(v1alpha1.BucketParameters{}, &rgw.Bucket{Versioning: "Suspended", ExpirationDays: 3}); !w.upToDate() {
		t.Errorf("unset fields are not managed: %+v", w)
	}
	drifted := &rgw.Bucket{Versioning: "Suspended", Quota: rgw.Quota{Enabled: true, MaxSizeBytes: -1, MaxObjects: 50}}
	w := compare(spec, drifted)
	if w.versioningOK || w.quotaOK || w.expiryOK || w.quota.MaxObjects != 2 {
		t.Errorf("drifted: %+v", w)
	}
	for _, want := range []string{`versioning: want Enabled, RGW has "Suspended"`, "quota.maxObjects: want 2, RGW has 50", "lifecycleExpirationDays: want 30, RGW has 0"} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("diff %q lacks %q", w.String(), want)
		}
	}
}

func TestHolds(t *testing.T) {
	if got := holds("b", nil, 0); got != "" {
		t.Errorf("empty bucket: %q", got)
	}
	got := holds("b", []string{"a", "b", "c", "d", "e", "f"}, 6)
	if !strings.Contains(got, `RGW bucket "b" is not deleted: it holds 6 object(s) or version(s): a, b, c, d, e and 1 more (6 in all)`) {
		t.Errorf("holds = %q", got)
	}
	if got := holds("b", nil, 3); !strings.Contains(got, "bucket stats count 3 object(s)") {
		t.Errorf("stats only: %q", got)
	}
	if got := holds("b", make([]string, listed), listed); !strings.Contains(got, "at least 100 object(s)") {
		t.Errorf("many: %q", got)
	}
}

func TestCompareDefaultRetention(t *testing.T) {
	gov30 := &rgw.Retention{Mode: "GOVERNANCE", Days: 30}
	lock := func(r *v1alpha1.BucketDefaultRetention) v1alpha1.BucketParameters {
		return v1alpha1.BucketParameters{ObjectLockEnabled: ptr(true), ObjectLock: &v1alpha1.BucketObjectLock{DefaultRetention: r}}
	}
	cases := map[string]struct {
		spec v1alpha1.BucketParameters
		have *rgw.Retention
		want *rgw.Retention // what Update sets; only when not ok
		diff string
	}{
		"InSync":        {spec: lock(&v1alpha1.BucketDefaultRetention{Mode: "GOVERNANCE", Days: ptr(int32(30))}), have: gov30},
		"Unmanaged":     {spec: v1alpha1.BucketParameters{ObjectLockEnabled: ptr(true)}, have: gov30},
		"RemovedByHand": {spec: lock(&v1alpha1.BucketDefaultRetention{Mode: "GOVERNANCE", Days: ptr(int32(30))}), want: gov30, diff: "want GOVERNANCE for 30 day(s), RGW has none"},
		"ModeChanged":   {spec: lock(&v1alpha1.BucketDefaultRetention{Mode: "COMPLIANCE", Days: ptr(int32(30))}), have: gov30, want: &rgw.Retention{Mode: "COMPLIANCE", Days: 30}, diff: "want COMPLIANCE for 30 day(s), RGW has GOVERNANCE for 30 day(s)"},
		"DaysToYears":   {spec: lock(&v1alpha1.BucketDefaultRetention{Mode: "GOVERNANCE", Years: ptr(int32(1))}), have: gov30, want: &rgw.Retention{Mode: "GOVERNANCE", Years: 1}, diff: "want GOVERNANCE for 1 year(s)"},
		"RuleToRemove":  {spec: lock(nil), have: gov30, diff: "want none, RGW has GOVERNANCE for 30 day(s)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := compare(tc.spec, &rgw.Bucket{DefaultRetention: tc.have})
			if w.retentionOK != (tc.diff == "") || !strings.Contains(w.String(), tc.diff) {
				t.Errorf("compare = ok %v, diff %q; want diff %q", w.retentionOK, w.String(), tc.diff)
			}
			if !w.retentionOK && show(w.retention) != show(tc.want) {
				t.Errorf("sets %s, want %s", show(w.retention), show(tc.want))
			}
		})
	}
}
