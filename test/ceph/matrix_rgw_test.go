package ceph

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
)

// s3Attempts is how often the AWS SDK sends one S3 operation whose request failed to send or
// lost its answer: a fault must fail every attempt to reach the controller.
const s3Attempts = retry.DefaultMaxAttempts

// rgwRules arms the faults of an RGW cell about the user or bucket named target: the cell's
// writes (and, for deletions, the reads deciding whether the object may go).
func (c matrixCell) rgwRules(target string) []*faultRule {
	rule := func(op string, left int) *faultRule {
		return &faultRule{class: c.class, target: target, op: op, fault: c.fault, left: left}
	}
	switch c.kind + "-" + c.op + "-" + string(c.class) {
	case "rgwuser-create-rgw-admin": // user create, and the first read of its Observe
		return []*faultRule{rule("PUT /admin/user", 1), rule("GET /admin/user", 1)}
	case "rgwuser-update-rgw-admin": // user modify and quota set
		return []*faultRule{rule("POST /admin/user", 1), rule("PUT /admin/user?quota", 1)}
	case "rgwuser-rotate-rgw-admin": // key create and key rm
		return []*faultRule{rule("PUT /admin/user?key", 1), rule("DELETE /admin/user?key", 1)}
	case "rgwuser-delete-rgw-admin": // the listing of its buckets, and user rm
		return []*faultRule{rule("GET /admin/bucket", 1), rule("DELETE /admin/user", 1)}
	case "s3bucket-create-s3": // CreateBucket
		return []*faultRule{rule("PUT bucket", s3Attempts)}
	case "s3bucket-update-s3": // versioning and lifecycle
		return []*faultRule{rule("PUT bucket?versioning", s3Attempts), rule("PUT bucket?lifecycle", s3Attempts)}
	case "s3bucket-lock-s3": // PutObjectLockConfiguration
		return []*faultRule{rule("PUT bucket?object-lock", s3Attempts)}
	case "s3bucket-update-rgw-admin": // bucket quota
		return []*faultRule{rule("PUT /admin/bucket?quota", 1)}
	case "s3bucket-delete-rgw-admin": // bucket stats before the deletion, and bucket rm
		return []*faultRule{rule("GET /admin/bucket", 1), rule("DELETE /admin/bucket", 1)}
	case "s3bucket-delete-s3": // the listing of its objects before the deletion
		return []*faultRule{rule("GET bucket?versions", s3Attempts)}
	}
	return nil
}

// userKeyState checks an RGW user has exactly one S3 key and that it is the one in the
// ObjectStoreUser's connection Secret, and that the key works; it returns the key.
func (h *harness) userKeyState(admin *rgw.Client, u *cephv1alpha1.ObjectStoreUser) rgw.Keys {
	h.t.Helper()
	k := h.s3Keys(u, "")
	in, err := admin.GetUser(context.Background(), u.Name)
	if err != nil || len(in.Keys) != 1 || in.Keys[0] != k {
		n := -1
		if in != nil {
			n = len(in.Keys)
		}
		h.t.Fatalf("user %s: %d key(s) in RGW (%v); want exactly the one in its connection Secret", u.Name, n, err)
	}
	if _, err := admin.S3(k).ListBuckets(context.Background(), &s3.ListBucketsInput{}); err != nil {
		h.t.Fatalf("user %s's key from its connection Secret does not work: %v", u.Name, err)
	}
	return k
}

// cellRGWUser: an ObjectStoreUser whose update changes its settings and quota, whose rotation
// asks for a new key, and whose deletion waits until it owns no bucket.
func (h *harness) cellRGWUser(op, n string, arm, waitSpent func()) {
	admin, ctx := h.rgwAdmin(), context.Background()
	h.cleanup(func() { _ = admin.RemoveUser(ctx, n, true) })
	mg := h.objectStoreUser(n, cephv1alpha1.ObjectStoreUserParameters{DisplayName: "cell", MaxBuckets: ptr(int64(4)),
		Quota: &cephv1alpha1.ObjectStoreQuota{MaxObjects: ptr(int64(100))}})
	h.createCell(op, mg, arm, waitSpent)
	key := h.userKeyState(admin, mg)
	want := func(u *rgw.User) bool {
		return u.DisplayName == "cell" && u.MaxBuckets == 4 && u.Quota.MaxObjects == 100
	}
	switch op {
	case "update":
		h.faultedUpdate(mg, arm, waitSpent, func() {
			mg.Spec.ForProvider.DisplayName, mg.Spec.ForProvider.MaxBuckets = "cell updated", ptr(int64(9))
			mg.Spec.ForProvider.Quota.MaxObjects = ptr(int64(200))
		})
		want = func(u *rgw.User) bool {
			return u.DisplayName == "cell updated" && u.MaxBuckets == 9 && u.Quota.MaxObjects == 200 && u.Quota.Enabled
		}
		h.waitInSync(mg)
	case "rotate":
		h.faultedUpdate(mg, arm, waitSpent, func() { mg.Spec.ForProvider.KeyGeneration = 1 })
		first := h.s3Keys(mg, key.AccessKey) // the first key the Secret held after the old one
		h.waitInSync(mg)
		fresh := h.userKeyState(admin, mg)
		if fresh != first {
			h.t.Fatalf("user %s rotated more than once: its connection Secret held %s, then %s", n, first.AccessKey, fresh.AccessKey)
		}
		if _, err := admin.S3(key).ListBuckets(ctx, &s3.ListBucketsInput{}); !rgw.IsS3Code(err, "InvalidAccessKeyId") {
			h.t.Fatalf("user %s's key from before the rotation: %v, want InvalidAccessKeyId", n, err)
		}
		// rotated once: the key stays through further polls
		time.Sleep(3 * pollInterval)
		if k := h.userKeyState(admin, mg); k != fresh || mg.Status.AtProvider.KeyGeneration != 1 {
			h.t.Fatalf("user %s rotated again after its rotation (key generation %d)", n, mg.Status.AtProvider.KeyGeneration)
		}
		key = fresh
	case "delete":
		// the user owns a bucket holding an object: the deletion must be refused through every fault
		b := n + "-keep"
		h.cleanup(func() { _ = admin.RemoveBucket(ctx, b, true) })
		if err := admin.CreateBucket(ctx, b, key, false); err != nil {
			h.t.Fatal(err)
		}
		if err := put(ctx, admin, key, b, "keep", "v1"); err != nil {
			h.t.Fatal(err)
		}
		h.refusedUntilEmpty(mg, "it owns 1 bucket(s): "+b, arm, waitSpent,
			func() error { return kept(get(ctx, admin, key, b, "keep")) },
			func() error { return admin.RemoveBucket(ctx, b, true) },
			func() error { _, err := admin.GetUser(ctx, n); return err })
		return
	}
	h.eventually(60*time.Second, "user "+n+" as its spec says", func() bool {
		u, err := admin.GetUser(ctx, n)
		return err == nil && want(u)
	}, func() string { u, err := admin.GetUser(ctx, n); return toJSON(u) + " " + toJSON(err) })
	if k := h.userKeyState(admin, mg); k != key {
		h.t.Fatalf("user %s's key changed", n)
	}
}

// cellS3Bucket: a Bucket of a user made by hand, holding an object from its creation on; the
// update turns versioning on and changes the quota and the expiration, the deletion waits until
// the bucket is empty.
func (h *harness) cellS3Bucket(op, n string, arm, waitSpent func()) {
	admin, ctx := h.rgwAdmin(), context.Background()
	owner := n + "-o"
	if _, err := admin.CreateUser(ctx, owner, rgw.UserSettings{DisplayName: "cell owner"}); err != nil {
		h.t.Fatal(err)
	}
	h.cleanup(func() {
		_ = admin.RemoveBucket(ctx, n, true)
		_ = admin.RemoveUser(ctx, owner, true)
	})
	u, err := admin.GetUser(ctx, owner)
	if err != nil || len(u.Keys) != 1 {
		h.t.Fatalf("owner %s: %+v, %v", owner, u, err)
	}
	key := u.Keys[0]
	mg := h.s3Bucket(n, cephv1alpha1.BucketParameters{Owner: ptr(owner),
		Quota: &cephv1alpha1.ObjectStoreQuota{MaxObjects: ptr(int64(10))}, LifecycleExpirationDays: ptr(int32(30))})
	if op == "lock" { // object lock with a one-day default retention, lengthened under the faults
		mg.Spec.ForProvider.Versioning, mg.Spec.ForProvider.ObjectLockEnabled = ptr("Enabled"), ptr(true)
		mg.Spec.ForProvider.ObjectLock = &cephv1alpha1.BucketObjectLock{DefaultRetention: &cephv1alpha1.BucketDefaultRetention{Mode: "GOVERNANCE", Days: ptr(int32(1))}}
	}
	h.createCell(op, mg, arm, waitSpent)
	if err := put(ctx, admin, key, n, "keep", "v1"); err != nil {
		h.t.Fatalf("put into bucket %s: %v", n, err)
	}
	want := func(b *rgw.Bucket) bool {
		return b.Versioning == "" && b.Quota.MaxObjects == 10 && b.ExpirationDays == 30
	}
	switch op {
	case "update":
		h.faultedUpdate(mg, arm, waitSpent, func() {
			mg.Spec.ForProvider.Versioning = ptr("Enabled")
			mg.Spec.ForProvider.Quota.MaxObjects = ptr(int64(20))
			mg.Spec.ForProvider.LifecycleExpirationDays = ptr(int32(7))
		})
		want = func(b *rgw.Bucket) bool {
			return b.Versioning == "Enabled" && b.Quota.MaxObjects == 20 && b.ExpirationDays == 7
		}
		h.waitInSync(mg)
	case "lock":
		h.faultedUpdate(mg, arm, waitSpent, func() { mg.Spec.ForProvider.ObjectLock.DefaultRetention.Days = ptr(int32(2)) })
		want = func(b *rgw.Bucket) bool {
			return b.ObjectLock && b.DefaultRetention != nil && *b.DefaultRetention == rgw.Retention{Mode: "GOVERNANCE", Days: 2} &&
				b.Quota.MaxObjects == 10 && b.ExpirationDays == 30
		}
		h.waitInSync(mg)
		defer h.retainedThroughFaults(admin.S3(key), n) // after the checks below, which read the object
	case "delete":
		h.refusedUntilEmpty(mg, "it holds 1 object(s) or version(s): keep", arm, waitSpent,
			func() error { return kept(get(ctx, admin, key, n, "keep")) },
			func() error {
				_, err := admin.S3(key).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &n, Key: ptr("keep")})
				return err
			},
			func() error { _, err := admin.GetBucketStats(ctx, n); return err })
		return
	}
	h.eventually(60*time.Second, "bucket "+n+" as its spec says", func() bool {
		b, err := admin.GetBucket(ctx, n, key)
		return err == nil && want(b)
	}, func() string { b, err := admin.GetBucket(ctx, n, key); return toJSON(b) + " " + toJSON(err) })
	if got, err := get(ctx, admin, key, n, "keep"); err != nil || got != "v1" {
		h.t.Fatalf("object in bucket %s = %q, %v; want v1", n, got, err)
	}
	if bs, err := admin.UserBuckets(ctx, owner); err != nil || !slices.Equal(bs, []string{n}) {
		h.t.Fatalf("user %s owns buckets %v (%v), want exactly [%s]", owner, bs, err, n)
	}
}

func (h *harness) s3Bucket(name string, p cephv1alpha1.BucketParameters) *cephv1alpha1.Bucket {
	return &cephv1alpha1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.BucketSpec{ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: h.ref}, ForProvider: p}}
}

// refusedUntilEmpty deletes mg with the cell's faults armed: the deletion must be refused (msg)
// through them with the data still there (held), and complete once empty removed the data, after
// which read must find the user or bucket gone from RGW.
func (h *harness) refusedUntilEmpty(mg conditioned, msg string, arm, waitSpent func(), held, empty, read func() error) {
	h.t.Helper()
	arm()
	h.delete(mg)
	h.waitBlocked(mg, msg)
	if err := held(); err != nil {
		h.t.Fatalf("%s being deleted: its data: %v", mg.GetName(), err)
	}
	if err := empty(); err != nil {
		h.t.Fatal(err)
	}
	h.poke(mg)
	waitSpent()
	h.waitGone(mg)
	if err := read(); !rgw.IsNotFound(err) {
		h.t.Fatalf("%s after its deletion: %v, want RGW's not found", mg.GetName(), err)
	}
}

// kept says what is wrong with an object read back, which the cells put as "v1".
func kept(got string, err error) error {
	if err == nil && got != "v1" {
		err = fmt.Errorf("object reads %q, want v1", got)
	}
	return err
}

// retainedThroughFaults checks the version of "keep", put into the object-locked bucket before the
// faults, is still retained: deleting it is refused. It is then deleted with the governance bypass,
// so the bucket can go when the cell ends.
func (h *harness) retainedThroughFaults(c *s3.Client, bucket string) {
	h.t.Helper()
	ctx := context.Background()
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: ptr("keep")})
	if err != nil {
		h.t.Fatal(err)
	}
	del := &s3.DeleteObjectInput{Bucket: &bucket, Key: ptr("keep"), VersionId: head.VersionId}
	if _, err := c.DeleteObject(ctx, del); !rgw.IsS3Code(err, "AccessDenied") {
		h.t.Fatalf("deleting the retained version of keep in %s: %v, want AccessDenied", bucket, err)
	}
	del.BypassGovernanceRetention = ptr(true)
	if _, err := c.DeleteObject(ctx, del); err != nil {
		h.t.Fatal(err)
	}
}
