package function

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/crossplane/function-sdk-go/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
)

// Pipeline resource names of a Tenant's storage bundle.
const (
	tenantSubvolume  resource.Name = "subvolume"
	tenantS3User     resource.Name = "object-store-user"
	tenantBucket     resource.Name = "bucket"
	tenantCephClient resource.Name = "ceph-client"
)

// StorageResult names what a Tenant's storage bundle composed ("" for what it did not).
type StorageResult struct {
	Subvolume, ObjectStoreUser, Bucket, CephClient string
}

// bucketName makes an RGW bucket name (3-63 lowercase letters, digits, '-' and '.', a letter or
// digit at both ends) from a global name; a long one is cut and made unique with a hash.
func bucketName(global string) string {
	n := strings.Trim(global, "-.")
	if len(n) <= 63 && len(n) >= 3 {
		return n
	}
	sum := sha256.Sum256([]byte(global))
	return strings.Trim(n[:min(len(n), 56)], "-.") + "-" + hex.EncodeToString(sum[:])[:6]
}

// composeTenantStorage adds the optional storage bundle: a CephFS subvolume (files), an S3 user
// with a bucket (objects), and a cephx client limited to the tenant's Ceph pool and, with files,
// its subvolume (cephClient). Each writes its connection Secret in the tenant's namespace.
func composeTenantStorage(namespace, xr, cephPool string, s TenantSpec, mrs xpv2.ManagedResourceSpec, d desired) (StorageResult, error) {
	var r StorageResult
	global := globalName(namespace, xr)
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: namespace, Name: name} }
	withSecret := func(suffix string) xpv2.ManagedResourceSpec {
		m := mrs
		m.WriteConnectionSecretToReference = &xpv2.LocalSecretReference{Name: xr + "-" + suffix}
		return m
	}
	if f := s.Files; f != nil {
		if f.QuotaGiB < 1 || f.Filesystem == "" {
			return r, fmt.Errorf("spec.files needs a filesystem and a quotaGiB of at least 1, got %q and %d", f.Filesystem, f.QuotaGiB)
		}
		r.Subvolume = global
		if err := d.add(tenantSubvolume, &cephv1alpha1.Subvolume{ObjectMeta: meta(r.Subvolume),
			Spec: cephv1alpha1.SubvolumeSpec{ManagedResourceSpec: withSecret("cephfs"), ForProvider: cephv1alpha1.SubvolumeParameters{
				Filesystem: f.Filesystem, QuotaMiB: ptr(f.QuotaGiB * 1024), NamespaceIsolated: ptr(true)}}}); err != nil {
			return r, err
		}
	}
	if o := s.Objects; o != nil {
		r.ObjectStoreUser, r.Bucket = global, bucketName(global)
		p := cephv1alpha1.ObjectStoreUserParameters{DisplayName: fmt.Sprintf("tenant %s/%s", namespace, xr)}
		if o.QuotaGiB > 0 {
			p.Quota = &cephv1alpha1.ObjectStoreQuota{MaxSizeMiB: ptr(o.QuotaGiB * 1024)}
		}
		if err := d.add(tenantS3User, &cephv1alpha1.ObjectStoreUser{ObjectMeta: meta(r.ObjectStoreUser),
			Spec: cephv1alpha1.ObjectStoreUserSpec{ManagedResourceSpec: withSecret("s3"), ForProvider: p}}); err != nil {
			return r, err
		}
		if err := d.add(tenantBucket, &cephv1alpha1.Bucket{ObjectMeta: meta(r.Bucket),
			Spec: cephv1alpha1.BucketSpec{ManagedResourceSpec: mrs, ForProvider: cephv1alpha1.BucketParameters{
				OwnerRef: &xpv2.NamespacedReference{Name: r.ObjectStoreUser}}}}); err != nil {
			return r, err
		}
	}
	if s.CephClient {
		r.CephClient = global
		grants := []cephv1alpha1.CephClientGrant{{PoolRef: &xpv2.NamespacedReference{Name: cephPool}, Profile: ptr("rbd")}}
		if r.Subvolume != "" {
			grants = append(grants, cephv1alpha1.CephClientGrant{SubvolumeRef: &cephv1alpha1.SubvolumeReference{Name: r.Subvolume}})
		}
		if err := d.add(tenantCephClient, &cephv1alpha1.CephClient{ObjectMeta: meta(r.CephClient),
			Spec: cephv1alpha1.CephClientSpec{ManagedResourceSpec: withSecret("cephx"), ForProvider: cephv1alpha1.CephClientParameters{Grants: grants}}}); err != nil {
			return r, err
		}
	}
	return r, nil
}
