package ceph

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
)

// A Bucket with a default object lock retention on the real radosgw: an object put without a
// retention of its own gets the bucket's, and deleting its version is refused until the
// retention ends; the retention removed by hand is set again, and a changed spec is applied.
func TestBucketDefaultRetention(t *testing.T) {
	h := newHarness(t)
	admin, ctx := h.rgwAdmin(), context.Background()
	owner, name := h.name("lock-owner"), h.name("worm")
	key, err := admin.CreateUser(ctx, owner, rgw.UserSettings{DisplayName: "lock owner"})
	if err != nil {
		t.Fatal(err)
	}
	h.cleanup(func() {
		_ = admin.RemoveBucket(ctx, name, true)
		_ = admin.RemoveUser(ctx, owner, true)
	})
	mg := h.s3Bucket(name, cephv1alpha1.BucketParameters{Owner: ptr(owner), Versioning: ptr("Enabled"), ObjectLockEnabled: ptr(true),
		ObjectLock: &cephv1alpha1.BucketObjectLock{DefaultRetention: &cephv1alpha1.BucketDefaultRetention{Mode: "GOVERNANCE", Days: ptr(int32(1))}}})
	h.create(mg)
	h.waitInSync(mg)
	// observed one poll after the Update that set it
	h.eventually(30*time.Second, name+"'s observed default retention", func() bool {
		if h.get(mg) != nil {
			return false
		}
		r := mg.Status.AtProvider.DefaultRetention
		return r != nil && r.Mode == "GOVERNANCE" && r.Days != nil && *r.Days == 1
	}, func() string { return toJSON(mg.Status.AtProvider.DefaultRetention) })

	// an object put without a retention gets the bucket's, and its version cannot be deleted
	s := admin.S3(key)
	out, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: &name, Key: aws.String("record"), Body: strings.NewReader("kept")})
	if err != nil {
		t.Fatal(err)
	}
	ret, err := s.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: &name, Key: aws.String("record"), VersionId: out.VersionId})
	if err != nil || ret.Retention == nil || string(ret.Retention.Mode) != "GOVERNANCE" {
		t.Fatalf("the object's retention = %+v, %v", ret, err)
	}
	if until := time.Until(aws.ToTime(ret.Retention.RetainUntilDate)); until < 23*time.Hour || until > 25*time.Hour {
		t.Fatalf("the object is retained for %v, want a day", until)
	}
	_, err = s.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &name, Key: aws.String("record"), VersionId: out.VersionId})
	if !rgw.IsS3Code(err, "AccessDenied") {
		t.Fatalf("deleting the retained version: %v, want AccessDenied", err)
	}
	t.Logf("deleting the retained version: %v", err)
	if got, err := get(ctx, admin, key, name, "record"); err != nil || got != "kept" {
		t.Fatalf("the retained object = %q, %v", got, err)
	}

	// drift by hand: the rule removed is set again
	if err := admin.SetDefaultRetention(ctx, name, key, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("event: %s", h.waitEvent(mg, "DriftRepaired", "objectLock.defaultRetention: want GOVERNANCE for 1 day(s), RGW has none"))
	// a changed spec is applied
	h.update(mg, func() { mg.Spec.ForProvider.ObjectLock.DefaultRetention.Days = ptr(int32(2)) })
	h.eventually(30*time.Second, name+"'s retention two days", func() bool {
		b, err := admin.GetBucket(ctx, name, key)
		return err == nil && b.DefaultRetention != nil && b.DefaultRetention.Mode == "GOVERNANCE" && b.DefaultRetention.Days == 2
	}, func() string { b, err := admin.GetBucket(ctx, name, key); return toJSON(b) + " " + toJSON(err) })
	h.waitInSync(mg)

	// GOVERNANCE lets the owner delete the version when it says so; then the empty bucket goes
	if _, err := s.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &name, Key: aws.String("record"), VersionId: out.VersionId,
		BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Fatalf("deleting the version with the governance bypass: %v", err)
	}
	h.delete(mg)
	h.waitGone(mg)
	if _, err := admin.GetBucketStats(ctx, name); !rgw.IsNotFound(err) {
		t.Fatalf("bucket %s after its deletion: %v", name, err)
	}
}
