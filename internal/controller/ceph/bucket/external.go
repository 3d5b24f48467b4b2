package bucket

import (
	"context"
	"fmt"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/objectstore"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

const (
	errNoOwner     = "spec.forProvider.owner is not set (its reference or selector is not resolved yet)"
	errOwnedBy     = "bucket %q exists but is owned by RGW user %q, not %q: bucket names are global in RGW, so pick another name"
	errObserve     = "cannot observe RGW bucket"
	errCreate      = "cannot create RGW bucket"
	errVersioning  = "cannot set the versioning of RGW bucket"
	errQuota       = "cannot set the quota of RGW bucket"
	errLifecycle   = "cannot set the lifecycle of RGW bucket"
	errRetention   = "cannot set the object lock default retention of RGW bucket"
	errDelete      = "cannot delete RGW bucket"
	errDeleteCheck = "cannot tell whether the RGW bucket holds objects, so it is not deleted"

	// listed is how many object keys a deletion check lists at most.
	listed = 100
)

type external struct {
	c *rgw.Client
	d objectstore.Deps
}

// read returns the bucket, nil when it does not exist, and its owner's keys.
func (e *external) read(ctx context.Context, mg *v1alpha1.Bucket) (string, *rgw.Bucket, rgw.Keys, error) {
	name, err := bucketName(mg)
	if err != nil {
		return "", nil, rgw.Keys{}, err
	}
	owner := site.Deref(mg.Spec.ForProvider.Owner)
	if owner == "" {
		return "", nil, rgw.Keys{}, errors.New(errNoOwner)
	}
	stats, err := e.c.GetBucketStats(ctx, name)
	if rgw.IsNotFound(err) {
		return name, nil, rgw.Keys{}, nil
	}
	if err != nil {
		return "", nil, rgw.Keys{}, errors.Wrap(err, errObserve)
	}
	if stats.Owner != owner {
		return "", nil, rgw.Keys{}, errors.Errorf(errOwnedBy, name, stats.Owner, owner)
	}
	k, err := objectstore.UserKeys(ctx, e.c, owner)
	if err != nil {
		return "", nil, rgw.Keys{}, err
	}
	b, err := e.c.GetBucket(ctx, name, k)
	return name, b, k, errors.Wrap(err, errObserve)
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.Bucket) (managed.ExternalObservation, error) {
	name, b, _, err := e.read(ctx, mg)
	if err != nil || b == nil {
		return managed.ExternalObservation{ResourceExists: false}, err
	}
	mg.Status.AtProvider = observe(b)
	mg.SetConditions(xpv2.Available())
	w := compare(mg.Spec.ForProvider, b)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: w.upToDate(), Diff: w.String(),
		ConnectionDetails: managed.ConnectionDetails{"bucket": []byte(name), "endpoint": []byte(e.c.Endpoint())}}, nil
}

func (e *external) Create(ctx context.Context, mg *v1alpha1.Bucket) (managed.ExternalCreation, error) {
	name, err := bucketName(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	owner := site.Deref(mg.Spec.ForProvider.Owner)
	if owner == "" {
		return managed.ExternalCreation{}, errors.New(errNoOwner)
	}
	mg.SetConditions(xpv2.Creating())
	k, err := objectstore.UserKeys(ctx, e.c, owner)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	// created as its owner; versioning, quota and lifecycle follow in Update when the next
	// Observe finds them different
	err = e.c.CreateBucket(ctx, name, k, site.Deref(mg.Spec.ForProvider.ObjectLockEnabled))
	return managed.ExternalCreation{}, errors.Wrap(err, errCreate)
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.Bucket) (managed.ExternalUpdate, error) {
	name, b, k, err := e.read(ctx, mg) // afresh: the quota keeps what the spec leaves unset
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	if b == nil {
		return managed.ExternalUpdate{}, errors.Errorf("%s %q: it is gone", errObserve, name)
	}
	p := mg.Spec.ForProvider
	w := compare(p, b)
	if !w.versioningOK {
		if err := e.c.SetBucketVersioning(ctx, name, k, *p.Versioning); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errVersioning)
		}
	}
	if !w.quotaOK {
		if err := e.c.SetBucketQuota(ctx, b.Owner, name, w.quota); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errQuota)
		}
	}
	if !w.retentionOK {
		if err := e.c.SetDefaultRetention(ctx, name, k, w.retention); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errRetention)
		}
	}
	if !w.expiryOK {
		if err := e.c.SetExpirationDays(ctx, name, k, *p.LifecycleExpirationDays); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errLifecycle)
		}
	}
	return managed.ExternalUpdate{}, nil
}

func (e *external) Delete(ctx context.Context, mg *v1alpha1.Bucket) (managed.ExternalDelete, error) {
	mg.SetConditions(xpv2.Deleting())
	name, b, k, err := e.read(ctx, mg)
	if err != nil { // never delete on a failed read
		return managed.ExternalDelete{}, errors.Wrap(err, errDeleteCheck)
	}
	if b == nil {
		return managed.ExternalDelete{}, nil
	}
	keys, err := e.c.BucketContents(ctx, name, k, listed)
	if err != nil {
		return managed.ExternalDelete{}, errors.Wrap(err, errDeleteCheck)
	}
	purge := site.Deref(mg.Spec.ForProvider.AllowDeleteWithData)
	if why := holds(name, keys, b.Objects); why != "" && !purge {
		err := site.DeletionBlocked(mg, why+"; set spec.forProvider.allowDeleteWithData to true to delete it with its objects, "+
			"or remove Delete from spec.managementPolicies to keep the bucket")
		e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
		return managed.ExternalDelete{}, err
	}
	err = e.c.RemoveBucket(ctx, name, purge)
	if rgw.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
}

// holds says why a bucket must not be deleted without allowDeleteWithData, or "": the objects
// (versions and delete markers included) listed afresh, or RGW's stats counting some the listing
// does not show (e.g. parts of unfinished multipart uploads).
func holds(name string, keys []string, statObjects int64) string {
	switch {
	case len(keys) > 0:
		count := fmt.Sprint(len(keys))
		if len(keys) >= listed {
			count = "at least " + count
		}
		return fmt.Sprintf("RGW bucket %q is not deleted: it holds %s object(s) or version(s): %s", name, count, site.Names(keys, 5))
	case statObjects > 0:
		return fmt.Sprintf("RGW bucket %q is not deleted: RGW's bucket stats count %d object(s)", name, statObjects)
	}
	return ""
}

func (e *external) Disconnect(context.Context) error { return nil }
