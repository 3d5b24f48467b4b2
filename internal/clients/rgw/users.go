package rgw

import (
	"context"
	"errors"
	"strings"

	"github.com/ceph/go-ceph/rgw/admin"
)

// IsNotFound says whether err is RGW's answer for a user, bucket or key that does not exist.
func IsNotFound(err error) bool {
	return errors.Is(err, admin.ErrNoSuchUser) || errors.Is(err, admin.ErrNoSuchBucket) || errors.Is(err, admin.ErrNoSuchKey)
}

// scrub drops the body go-ceph puts into an error when it cannot decode an answer: user answers
// hold secret keys, which must not reach a condition or a log.
func scrub(err error) error {
	if err != nil && strings.Contains(err.Error(), "failed to unmarshal radosgw http response") {
		return errors.New("cannot decode radosgw's answer (the answer is not shown: it may hold keys)")
	}
	return err
}

// User is an RGW user as the provider manages it.
type User struct {
	ID          string
	DisplayName string
	Email       string
	MaxBuckets  int64
	Suspended   bool
	Keys        []Keys
	Quota       Quota
}

// Quota is an RGW quota; a negative limit means none.
type Quota struct {
	Enabled      bool
	MaxSizeBytes int64
	MaxObjects   int64
}

func quotaOf(q admin.QuotaSpec) Quota {
	out := Quota{Enabled: q.Enabled != nil && *q.Enabled, MaxSizeBytes: -1, MaxObjects: -1}
	if q.MaxSize != nil {
		out.MaxSizeBytes = *q.MaxSize
	}
	if q.MaxObjects != nil {
		out.MaxObjects = *q.MaxObjects
	}
	return out
}

// spec renders q for the admin API. The size goes as max-size-kb too: Ceph 16 reads only that one
// for a bucket quota, and without it sets the bucket's limit to 0 bytes.
func (q Quota) spec() admin.QuotaSpec {
	kb := -1
	if q.MaxSizeBytes >= 0 {
		kb = int((q.MaxSizeBytes + 1023) / 1024)
	}
	return admin.QuotaSpec{Enabled: &q.Enabled, MaxSize: &q.MaxSizeBytes, MaxSizeKb: &kb, MaxObjects: &q.MaxObjects}
}

// GetUser reads a user with its S3 keys and its user quota.
func (c *Client) GetUser(ctx context.Context, uid string) (*User, error) {
	u, err := c.admin.GetUser(ctx, admin.User{ID: uid})
	if err != nil {
		return nil, scrub(err)
	}
	out := &User{ID: u.ID, DisplayName: u.DisplayName, Email: u.Email, Suspended: u.Suspended != nil && *u.Suspended != 0, Quota: quotaOf(u.UserQuota)}
	if u.MaxBuckets != nil {
		out.MaxBuckets = int64(*u.MaxBuckets)
	}
	for _, k := range u.Keys {
		if k.User == uid {
			out.Keys = append(out.Keys, Keys{AccessKey: k.AccessKey, SecretKey: k.SecretKey})
		}
	}
	return out, nil
}

// UserSettings are the writable attributes of a user; nil leaves one as it is.
type UserSettings struct {
	DisplayName string
	Email       *string
	MaxBuckets  *int64
}

func (s UserSettings) user(uid string) admin.User {
	u := admin.User{ID: uid, DisplayName: s.DisplayName}
	if s.Email != nil {
		u.Email = *s.Email
	}
	if s.MaxBuckets != nil {
		n := int(*s.MaxBuckets)
		u.MaxBuckets = &n
	}
	return u
}

// CreateUser makes a user with one generated S3 key, which it returns.
func (c *Client) CreateUser(ctx context.Context, uid string, s UserSettings) (Keys, error) {
	u := s.user(uid)
	u.GenerateKey = ptr(true)
	made, err := c.admin.CreateUser(ctx, u)
	if err != nil {
		return Keys{}, scrub(err)
	}
	for _, k := range made.Keys {
		if k.User == uid {
			return Keys{AccessKey: k.AccessKey, SecretKey: k.SecretKey}, nil
		}
	}
	return Keys{}, errors.New("radosgw answered the user creation without a key")
}

// ModifyUser sets a user's display name, e-mail and bucket limit.
func (c *Client) ModifyUser(ctx context.Context, uid string, s UserSettings) error {
	_, err := c.admin.ModifyUser(ctx, s.user(uid))
	return scrub(err)
}

// SetUserQuota sets a user's quota (all its buckets together).
func (c *Client) SetUserQuota(ctx context.Context, uid string, q Quota) error {
	spec := q.spec()
	spec.UID = uid
	return c.admin.SetUserQuota(ctx, spec)
}

// NewKey gives the user a new generated S3 key and returns it: the one not among old, the keys
// the user had before.
func (c *Client) NewKey(ctx context.Context, uid string, old []Keys) (Keys, error) {
	keys, err := c.admin.CreateKey(ctx, admin.UserKeySpec{UID: uid, KeyType: "s3", GenerateKey: ptr(true)})
	if err != nil {
		return Keys{}, scrub(err)
	}
	for _, k := range *keys {
		if k.User == uid && !hasAccessKey(old, k.AccessKey) {
			return Keys{AccessKey: k.AccessKey, SecretKey: k.SecretKey}, nil
		}
	}
	return Keys{}, errors.New("radosgw answered the key creation without a new key")
}

// RemoveKeys removes the user's S3 keys with these access key IDs; one already gone is no error.
func (c *Client) RemoveKeys(ctx context.Context, uid string, accessKeys []string) error {
	for _, ak := range accessKeys {
		if err := c.admin.RemoveKey(ctx, admin.UserKeySpec{UID: uid, KeyType: "s3", AccessKey: ak}); err != nil && !IsNotFound(err) {
			return scrub(err)
		}
	}
	return nil
}

func hasAccessKey(ks []Keys, ak string) bool {
	for _, k := range ks {
		if k.AccessKey == ak {
			return true
		}
	}
	return false
}

// UserBuckets lists the buckets a user owns.
func (c *Client) UserBuckets(ctx context.Context, uid string) ([]string, error) {
	return c.admin.ListUsersBuckets(ctx, uid)
}

// RemoveUser deletes a user; purge deletes its buckets and their objects too (RGW refuses to
// remove a user that owns buckets otherwise).
func (c *Client) RemoveUser(ctx context.Context, uid string, purge bool) error {
	u := admin.User{ID: uid}
	if purge {
		u.PurgeData = ptr(1)
	}
	return c.admin.RemoveUser(ctx, u)
}

func ptr[T any](v T) *T { return &v }
