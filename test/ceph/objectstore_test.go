package ceph

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

func (h *harness) objectStoreUser(name string, p cephv1alpha1.ObjectStoreUserParameters) *cephv1alpha1.ObjectStoreUser {
	return &cephv1alpha1.ObjectStoreUser{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.ObjectStoreUserSpec{ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: h.ref,
			WriteConnectionSecretToReference: &xpv2.LocalSecretReference{Name: name + "-s3"}}, ForProvider: p}}
}

// s3Keys reads an ObjectStoreUser's keys from its connection Secret once it has them (and, if
// not, the key other than notThis).
func (h *harness) s3Keys(u *cephv1alpha1.ObjectStoreUser, notThis string) rgw.Keys {
	h.t.Helper()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: u.Spec.WriteConnectionSecretToReference.Name}}
	h.eventually(30*time.Second, u.GetName()+"'s connection secret with a key", func() bool {
		return h.get(sec) == nil && len(sec.Data["accessKey"]) > 0 && string(sec.Data["accessKey"]) != notThis
	}, func() string { return "" })
	return rgw.Keys{AccessKey: string(sec.Data["accessKey"]), SecretKey: string(sec.Data["secretKey"])}
}

func put(ctx context.Context, c *rgw.Client, k rgw.Keys, bucket, key, body string) error {
	_, err := c.S3(k).PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader(body)})
	return err
}

func get(ctx context.Context, c *rgw.Client, k rgw.Keys, bucket, key string) (string, error) {
	out, err := c.S3(k).GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return "", err
	}
	defer func() { _ = out.Body.Close() }()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

// An ObjectStoreUser and its Bucket through their whole life against the real radosgw: the
// user's keys (from its connection Secret) put and get an object, another user's are refused,
// the bucket quota stops a put, drift made with the admin API is repaired, a key rotation
// replaces the key, and neither a bucket holding objects nor a user owning a bucket is deleted
// until allowDeleteWithData says so.
func TestObjectStoreUserAndBucket(t *testing.T) {
	h := newHarness(t)
	admin := h.rgwAdmin()
	ctx := context.Background()
	owner := h.objectStoreUser(h.name("owner"), cephv1alpha1.ObjectStoreUserParameters{DisplayName: "Tenant A", MaxBuckets: ptr(int64(5)),
		Quota: &cephv1alpha1.ObjectStoreQuota{MaxSizeMiB: ptr(int64(64))}})
	other := h.objectStoreUser(h.name("other"), cephv1alpha1.ObjectStoreUserParameters{DisplayName: "Tenant B"})
	bucket := &cephv1alpha1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: h.name("data")},
		Spec: cephv1alpha1.BucketSpec{ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: h.ref},
			ForProvider: cephv1alpha1.BucketParameters{OwnerRef: &xpv2.NamespacedReference{Name: owner.Name}, Versioning: ptr("Enabled"),
				Quota: &cephv1alpha1.ObjectStoreQuota{MaxObjects: ptr(int64(2))}, LifecycleExpirationDays: ptr(int32(30))}}}
	h.cleanup(func() {
		_ = admin.RemoveBucket(ctx, bucket.Name, true)
		_ = admin.RemoveUser(ctx, owner.Name, true)
		_ = admin.RemoveUser(ctx, other.Name, true)
	})
	// object lock, which Ceph 16 allows only when a bucket is created
	locked := &cephv1alpha1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: h.name("locked")},
		Spec: cephv1alpha1.BucketSpec{ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: h.ref},
			ForProvider: cephv1alpha1.BucketParameters{Owner: ptr(owner.Name), Versioning: ptr("Enabled"), ObjectLockEnabled: ptr(true)}}}
	h.cleanup(func() { _ = admin.RemoveBucket(ctx, locked.Name, true) })
	h.create(bucket) // before its owner: it waits for the reference
	h.create(owner)
	h.create(other)
	h.create(locked)
	h.waitReady(owner)
	h.waitReady(other)
	h.waitReady(bucket)
	h.waitReady(locked)
	if lb, err := admin.GetBucket(ctx, locked.Name, h.s3Keys(owner, "")); err != nil || !lb.ObjectLock || lb.Versioning != "Enabled" || !locked.Status.AtProvider.ObjectLockEnabled {
		t.Errorf("object-locked bucket in RGW = %+v, %v; atProvider %+v", lb, err, locked.Status.AtProvider)
	}
	if b, err := admin.GetBucket(ctx, bucket.Name, h.s3Keys(owner, "")); err != nil || b.ObjectLock {
		t.Errorf("bucket without object lock has it: %+v, %v", b, err)
	}
	h.delete(locked) // empty: deleted at once
	h.waitGone(locked)

	b, err := admin.GetBucket(ctx, bucket.Name, h.s3Keys(owner, ""))
	if err != nil || b.Owner != owner.Name || b.Versioning != "Enabled" || b.Quota.MaxObjects != 2 || !b.Quota.Enabled || b.ExpirationDays != 30 {
		t.Fatalf("bucket in RGW = %+v, %v", b, err)
	}
	u, err := admin.GetUser(ctx, owner.Name)
	if err != nil || u.DisplayName != "Tenant A" || u.MaxBuckets != 5 || u.Quota.MaxSizeBytes != 64<<20 || !u.Quota.Enabled {
		t.Fatalf("user in RGW = %+v, %v", u, err)
	}

	// the owner's keys work, the other user's are refused
	keys := h.s3Keys(owner, "")
	if err := put(ctx, admin, keys, bucket.Name, "a.txt", "hello"); err != nil {
		t.Fatalf("put with the owner's keys: %v", err)
	}
	if got, err := get(ctx, admin, keys, bucket.Name, "a.txt"); err != nil || got != "hello" {
		t.Fatalf("get with the owner's keys = %q, %v", got, err)
	}
	otherKeys := h.s3Keys(other, "")
	if _, err := get(ctx, admin, otherKeys, bucket.Name, "a.txt"); !rgw.IsS3Code(err, "AccessDenied") {
		t.Errorf("get with another user's keys: %v, want AccessDenied", err)
	}
	if err := put(ctx, admin, otherKeys, bucket.Name, "b.txt", "intruder"); !rgw.IsS3Code(err, "AccessDenied") {
		t.Errorf("put with another user's keys: %v, want AccessDenied", err)
	}

	// the bucket quota (2 objects) stops the third
	if err := put(ctx, admin, keys, bucket.Name, "b.txt", "second"); err != nil {
		t.Fatalf("second put: %v", err)
	}
	if err := put(ctx, admin, keys, bucket.Name, "c.txt", "third"); !rgw.IsS3Code(err, "QuotaExceeded") {
		t.Errorf("put beyond the bucket quota: %v, want QuotaExceeded", err)
	}

	// drift by hand with radosgw-admin, repaired by the provider
	h.cli("radosgw-admin", "quota", "set", "--quota-scope=bucket", "--bucket="+bucket.Name, "--max-objects=50")
	h.cli("radosgw-admin", "user", "modify", "--uid="+owner.Name, "--max-buckets=99")
	h.cli("radosgw-admin", "quota", "disable", "--quota-scope=user", "--uid="+owner.Name)
	// the provider saw each change and set it back (the events carry its Diff), and RGW has the spec again
	t.Logf("event: %s", h.waitEvent(bucket, "DriftRepaired", "quota.maxObjects: want 2, RGW has 50"))
	t.Logf("event: %s", h.waitEvent(owner, "DriftRepaired", "maxBuckets: want 5, RGW has 99"))
	t.Logf("event: %s", h.waitEvent(owner, "DriftRepaired", "quota.enabled: want true, RGW has false"))
	h.eventually(30*time.Second, "the bucket quota restored to 2 objects", func() bool {
		b, err := admin.GetBucketStats(ctx, bucket.Name)
		return err == nil && b.Quota.MaxObjects == 2
	}, func() string { return "" })
	h.eventually(30*time.Second, "the user's max-buckets and quota restored", func() bool {
		u, err := admin.GetUser(ctx, owner.Name)
		return err == nil && u.MaxBuckets == 5 && u.Quota.Enabled && u.Quota.MaxSizeBytes == 64<<20
	}, func() string { return "" })

	// key rotation: the Secret gets a new key, the old one stops working
	h.update(owner, func() { owner.Spec.ForProvider.KeyGeneration = 1 })
	fresh := h.s3Keys(owner, keys.AccessKey)
	if got, err := get(ctx, admin, fresh, bucket.Name, "a.txt"); err != nil || got != "hello" {
		t.Fatalf("get with the rotated key = %q, %v", got, err)
	}
	if _, err := get(ctx, admin, keys, bucket.Name, "a.txt"); !rgw.IsS3Code(err, "InvalidAccessKeyId") {
		t.Errorf("get with the replaced key: %v, want InvalidAccessKeyId", err)
	}
	if u, err := admin.GetUser(ctx, owner.Name); err != nil || len(u.Keys) != 1 {
		t.Errorf("user keys after rotation: %d, %v", len(u.Keys), err)
	}

	// deleting the bucket (holds objects) and the user (owns the bucket) is refused, both kept
	h.delete(bucket)
	h.delete(owner)
	h.waitCondition(bucket, site.TypeDeletable, corev1.ConditionFalse, "it holds 2 object(s) or version(s): a.txt, b.txt", 30*time.Second)
	h.waitCondition(owner, site.TypeDeletable, corev1.ConditionFalse, "it owns 1 bucket(s): "+bucket.Name, 30*time.Second)
	if _, err := admin.GetBucketStats(ctx, bucket.Name); err != nil {
		t.Fatalf("bucket gone after a refused deletion: %v", err)
	}
	if got, err := get(ctx, admin, fresh, bucket.Name, "b.txt"); err != nil || got != "second" {
		t.Fatalf("object after a refused deletion = %q, %v", got, err)
	}

	// allowed: the bucket goes with its objects, then the user can go
	h.update(bucket, func() { bucket.Spec.ForProvider.AllowDeleteWithData = ptr(true) })
	h.waitGone(bucket)
	h.poke(owner)
	h.waitGone(owner)
	if _, err := admin.GetUser(ctx, owner.Name); !rgw.IsNotFound(err) {
		t.Errorf("user after deletion: %v, want NoSuchUser", err)
	}
}

// An existing RGW user and its bucket are imported observe-only: Ready with RGW's values (the
// user's key in its connection Secret), never changed, and left in RGW, the bucket with its
// object, when the resources are deleted.
func TestObjectStoreUserObserveOnly(t *testing.T) {
	h := newHarness(t)
	admin := h.rgwAdmin()
	ctx := context.Background()
	uid := h.name("legacy")
	if _, err := admin.CreateUser(ctx, uid, rgw.UserSettings{DisplayName: "Made by hand", MaxBuckets: ptr(int64(3))}); err != nil {
		t.Fatal(err)
	}
	h.cleanup(func() { _ = admin.RemoveUser(ctx, uid, true) })
	u := h.objectStoreUser(uid, cephv1alpha1.ObjectStoreUserParameters{DisplayName: "Another name", MaxBuckets: ptr(int64(7))})
	u.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.create(u)
	h.waitReady(u)
	if u.Status.AtProvider.DisplayName != "Made by hand" || u.Status.AtProvider.MaxBuckets != 3 {
		t.Errorf("atProvider = %+v", u.Status.AtProvider)
	}
	in, err := admin.GetUser(ctx, uid)
	if err != nil || len(in.Keys) != 1 {
		t.Fatalf("user in RGW: %+v, %v", in, err)
	}
	if k := h.s3Keys(u, ""); k != in.Keys[0] {
		t.Error("the connection secret does not hold the user's key")
	}

	// and its bucket, holding an object, the same way
	bucket := h.name("legacy-data")
	if err := admin.CreateBucket(ctx, bucket, in.Keys[0], false); err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, admin, in.Keys[0], bucket, "old.txt", "kept"); err != nil {
		t.Fatal(err)
	}
	h.cleanup(func() { _ = admin.RemoveBucket(ctx, bucket, true) })
	b := &cephv1alpha1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: bucket},
		Spec: cephv1alpha1.BucketSpec{ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: h.ref,
			ManagementPolicies: xpv2.ManagementPolicies{xpv2.ManagementActionObserve}},
			ForProvider: cephv1alpha1.BucketParameters{Owner: ptr(uid), Versioning: ptr("Enabled"), Quota: &cephv1alpha1.ObjectStoreQuota{MaxObjects: ptr(int64(1))}}}}
	h.create(b)
	h.waitReady(b)
	if b.Status.AtProvider.Owner != uid || b.Status.AtProvider.Objects != 1 || b.Status.AtProvider.Versioning != "" {
		t.Errorf("bucket atProvider = %+v", b.Status.AtProvider)
	}
	h.delete(b)
	h.waitGone(b)
	if got, err := get(ctx, admin, in.Keys[0], bucket, "old.txt"); err != nil || got != "kept" {
		t.Errorf("object after the observe-only Bucket was deleted = %q, %v", got, err)
	}
	if st, err := admin.GetBucketStats(ctx, bucket); err != nil || st.Quota.MaxObjects == 1 {
		t.Errorf("observe-only bucket changed: %+v, %v", st, err)
	}

	h.delete(u)
	h.waitGone(u)
	after, err := admin.GetUser(ctx, uid)
	if err != nil || after.DisplayName != "Made by hand" || after.MaxBuckets != 3 {
		t.Errorf("user after the observe-only resource was deleted: %+v, %v", after, err)
	}
}
