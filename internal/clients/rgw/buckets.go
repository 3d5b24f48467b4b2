package rgw

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/ceph/go-ceph/rgw/admin"
)

// ExpirationRuleID names the one lifecycle rule the provider writes.
const ExpirationRuleID = "microcloud-expiration"

// Bucket is an RGW bucket as the provider manages it: the admin API's owner, quota and stats,
// and the S3 API's versioning, object lock and expiration (read with the owner's keys).
type Bucket struct {
	Name       string
	Owner      string
	Quota      Quota
	Objects    int64
	SizeBytes  int64
	Versioning string // Enabled, Suspended or "" (never versioned)
	ObjectLock bool
	// DefaultRetention is the object lock configuration's default retention; nil when none.
	DefaultRetention *Retention
	ExpirationDays   int32 // of the provider's lifecycle rule; 0 when there is none
}

// Retention is an S3 default retention: GOVERNANCE or COMPLIANCE, for Days or Years (one of them).
type Retention struct {
	Mode  string
	Days  int32
	Years int32
}

// IsS3Code says whether err is an S3 error answer with one of codes.
func IsS3Code(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}

// GetBucketStats reads a bucket's owner, quota and usage from the admin API.
func (c *Client) GetBucketStats(ctx context.Context, name string) (*Bucket, error) {
	b, err := c.admin.GetBucketInfo(ctx, admin.Bucket{Bucket: name})
	if err != nil {
		return nil, err
	}
	out := &Bucket{Name: name, Owner: b.Owner, Quota: quotaOf(b.BucketQuota)}
	if n := b.Usage.RgwMain.NumObjects; n != nil {
		out.Objects = int64(*n)
	}
	if n := b.Usage.RgwMain.Size; n != nil {
		out.SizeBytes = int64(*n)
	}
	return out, nil
}

// GetBucket reads the whole bucket: stats from the admin API, the rest through S3 as its owner,
// whose keys k are.
func (c *Client) GetBucket(ctx context.Context, name string, k Keys) (*Bucket, error) {
	b, err := c.GetBucketStats(ctx, name)
	if err != nil {
		return nil, err
	}
	s := c.S3(k)
	v, err := s.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &name})
	if err != nil {
		return nil, err
	}
	b.Versioning = string(v.Status)
	lock, err := s.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &name})
	switch {
	case IsS3Code(err, "ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound"):
	case err != nil:
		return nil, err
	case lock.ObjectLockConfiguration != nil:
		lc := lock.ObjectLockConfiguration
		b.ObjectLock = lc.ObjectLockEnabled == types.ObjectLockEnabledEnabled
		if lc.Rule != nil && lc.Rule.DefaultRetention != nil {
			r := lc.Rule.DefaultRetention
			b.DefaultRetention = &Retention{Mode: string(r.Mode), Days: aws.ToInt32(r.Days), Years: aws.ToInt32(r.Years)}
		}
	}
	lc, err := s.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &name})
	switch {
	case IsS3Code(err, "NoSuchLifecycleConfiguration"):
	case err != nil:
		return nil, err
	default:
		for _, r := range lc.Rules {
			if aws.ToString(r.ID) == ExpirationRuleID && r.Status == types.ExpirationStatusEnabled && r.Expiration != nil {
				b.ExpirationDays = aws.ToInt32(r.Expiration.Days)
			}
		}
	}
	return b, nil
}

// CreateBucket creates a bucket as the user whose keys k are, with S3 object lock if asked
// (which RGW allows only at creation, and which turns versioning on).
func (c *Client) CreateBucket(ctx context.Context, name string, k Keys, objectLock bool) error {
	in := &s3.CreateBucketInput{Bucket: &name}
	if objectLock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	_, err := c.S3(k).CreateBucket(ctx, in)
	if IsS3Code(err, "BucketAlreadyOwnedByYou") { // a create whose answer was lost
		return nil
	}
	return err
}

// SetBucketVersioning sets Enabled or Suspended.
func (c *Client) SetBucketVersioning(ctx context.Context, name string, k Keys, status string) error {
	_, err := c.S3(k).PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &name,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatus(status)}})
	return err
}

// SetDefaultRetention replaces the object lock configuration of a bucket created with object
// lock: enabled, with r as its default retention, or none when r is nil.
func (c *Client) SetDefaultRetention(ctx context.Context, name string, k Keys, r *Retention) error {
	lc := &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}
	if r != nil {
		dr := &types.DefaultRetention{Mode: types.ObjectLockRetentionMode(r.Mode)}
		if r.Days > 0 {
			dr.Days = aws.Int32(r.Days)
		}
		if r.Years > 0 {
			dr.Years = aws.Int32(r.Years)
		}
		lc.Rule = &types.ObjectLockRule{DefaultRetention: dr}
	}
	_, err := c.S3(k).PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: &name, ObjectLockConfiguration: lc})
	return err
}

// SetExpirationDays replaces the bucket's lifecycle configuration with the provider's one rule,
// or removes the configuration when days is 0.
func (c *Client) SetExpirationDays(ctx context.Context, name string, k Keys, days int32) error {
	s := c.S3(k)
	if days == 0 {
		_, err := s.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: &name})
		return err
	}
	_, err := s.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: &name,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String(ExpirationRuleID), Status: types.ExpirationStatusEnabled,
			Filter:     &types.LifecycleRuleFilter{Prefix: aws.String("")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(days)},
		}}}})
	return err
}

// SetBucketQuota sets a bucket's quota through the admin API (owner is the bucket's owner).
func (c *Client) SetBucketQuota(ctx context.Context, owner, name string, q Quota) error {
	spec := q.spec()
	spec.UID, spec.Bucket = owner, name
	return c.admin.SetIndividualBucketQuota(ctx, spec)
}

// BucketContents lists up to limit object keys in a bucket, every version and delete marker
// included, as its owner (afresh from the bucket index; the stats lag nothing here, but a
// listing also sees versions the stats count elsewhere).
func (c *Client) BucketContents(ctx context.Context, name string, k Keys, limit int32) ([]string, error) {
	out, err := c.S3(k).ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &name, MaxKeys: aws.Int32(limit)})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, v := range out.Versions {
		keys = append(keys, aws.ToString(v.Key))
	}
	for _, m := range out.DeleteMarkers {
		keys = append(keys, aws.ToString(m.Key)+" (delete marker)")
	}
	return keys, nil
}

// RemoveBucket deletes a bucket through the admin API; purge deletes its objects first (RGW
// refuses to delete a bucket holding objects otherwise).
func (c *Client) RemoveBucket(ctx context.Context, name string, purge bool) error {
	b := admin.Bucket{Bucket: name}
	if purge {
		b.PurgeObject = ptr(true)
	}
	return c.admin.RemoveBucket(ctx, b)
}
