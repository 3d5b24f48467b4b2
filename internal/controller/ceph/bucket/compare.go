package bucket

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/objectstore"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

// The same rule as the CRD's (which only sees metadata.name, not an external-name annotation):
// S3's DNS-compatible bucket names.
var (
	dnsName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipv4    = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
)

// bucketName is the bucket's name: its external name, else metadata.name.
func bucketName(mg *v1alpha1.Bucket) (string, error) {
	n := meta.GetExternalName(mg)
	if n == "" {
		n = mg.GetName()
	}
	if !dnsName.MatchString(n) || ipv4.MatchString(n) || strings.Contains(n, "..") {
		return "", errors.Errorf("invalid bucket name %q: use 3-63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, not an IP address", n)
	}
	return n, nil
}

// wanted is what Update changes to bring a bucket to its spec.
type wanted struct {
	versioningOK bool
	quota        rgw.Quota
	quotaOK      bool
	expiryOK     bool
	// retention is the default retention to set when retentionOK is false (nil: none).
	retention   *rgw.Retention
	retentionOK bool
	diff        []string
}

func (w wanted) upToDate() bool { return w.versioningOK && w.quotaOK && w.expiryOK && w.retentionOK }

func (w wanted) String() string { return strings.Join(w.diff, "; ") }

// compare holds the spec against the bucket RGW has. Only fields set in the spec are compared;
// object lock itself is only chosen at creation, so it is not (its default retention is).
func compare(p v1alpha1.BucketParameters, b *rgw.Bucket) wanted {
	w := wanted{versioningOK: true, expiryOK: true, retentionOK: true}
	if p.Versioning != nil && *p.Versioning != b.Versioning {
		w.versioningOK = false
		w.diff = append(w.diff, fmt.Sprintf("versioning: want %s, RGW has %q", *p.Versioning, b.Versioning))
	}
	var qdiff []string
	w.quota, w.quotaOK, qdiff = objectstore.WantQuota("quota", p.Quota, b.Quota)
	w.diff = append(w.diff, qdiff...)
	if d := site.Deref(p.LifecycleExpirationDays); p.LifecycleExpirationDays != nil && d != b.ExpirationDays {
		w.expiryOK = false
		w.diff = append(w.diff, fmt.Sprintf("lifecycleExpirationDays: want %d, RGW has %d", d, b.ExpirationDays))
	}
	if p.ObjectLock != nil {
		w.retention = retention(p.ObjectLock.DefaultRetention)
		if show(w.retention) != show(b.DefaultRetention) {
			w.retentionOK = false
			w.diff = append(w.diff, fmt.Sprintf("objectLock.defaultRetention: want %s, RGW has %s", show(w.retention), show(b.DefaultRetention)))
		}
	}
	return w
}

// retention is the spec's default retention as RGW takes it.
func retention(r *v1alpha1.BucketDefaultRetention) *rgw.Retention {
	if r == nil {
		return nil
	}
	return &rgw.Retention{Mode: r.Mode, Days: site.Deref(r.Days), Years: site.Deref(r.Years)}
}

// show renders a default retention for comparison and diffs.
func show(r *rgw.Retention) string {
	switch {
	case r == nil:
		return "none"
	case r.Years > 0:
		return fmt.Sprintf("%s for %d year(s)", r.Mode, r.Years)
	}
	return fmt.Sprintf("%s for %d day(s)", r.Mode, r.Days)
}

func observe(b *rgw.Bucket) v1alpha1.BucketObservation {
	var dr *v1alpha1.BucketDefaultRetention
	if r := b.DefaultRetention; r != nil {
		dr = &v1alpha1.BucketDefaultRetention{Mode: r.Mode}
		if r.Days > 0 {
			dr.Days = &r.Days
		}
		if r.Years > 0 {
			dr.Years = &r.Years
		}
	}
	return v1alpha1.BucketObservation{Owner: b.Owner, Versioning: b.Versioning, ObjectLockEnabled: b.ObjectLock, DefaultRetention: dr,
		Quota: objectstore.Observation(b.Quota), LifecycleExpirationDays: b.ExpirationDays, Objects: b.Objects, SizeBytes: b.SizeBytes}
}
