package objectstoreuser

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
	errObserve     = "cannot observe RGW user"
	errCreate      = "cannot create RGW user"
	errModify      = "cannot modify RGW user"
	errQuota       = "cannot set the quota of RGW user"
	errRotate      = "cannot rotate the S3 key of RGW user"
	errRetire      = "cannot remove the S3 keys a rotation replaced from RGW user"
	errDelete      = "cannot delete RGW user"
	errDeleteCheck = "cannot tell whether the RGW user owns buckets, so it is not deleted"
)

// Connection detail keys of an ObjectStoreUser.
const (
	DetailAccessKey = "accessKey"
	DetailSecretKey = "secretKey"
	DetailEndpoint  = "endpoint"
)

type external struct {
	c *rgw.Client
	d objectstore.Deps
}

func (e *external) details(k rgw.Keys) managed.ConnectionDetails {
	return managed.ConnectionDetails{DetailAccessKey: []byte(k.AccessKey), DetailSecretKey: []byte(k.SecretKey), DetailEndpoint: []byte(e.c.Endpoint())}
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.ObjectStoreUser) (managed.ExternalObservation, error) {
	uid, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	u, err := e.c.GetUser(ctx, uid)
	if rgw.IsNotFound(err) {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	w := compare(mg.Spec.ForProvider, mg.Status.AtProvider, u)
	mg.Status.AtProvider = observe(u, mg.Status.AtProvider)
	mg.SetConditions(xpv2.Available())
	obs := managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: w.upToDate(), Diff: w.String()}
	// the key the provider handed out, never another one the user has (e.g. one made by a
	// rotation whose answer was lost, which the rotation's retry removes)
	if k, ok := currentKey(u, mg.Status.AtProvider.AccessKeyID); ok {
		obs.ConnectionDetails = e.details(k)
	}
	return obs, nil
}

func (e *external) Create(ctx context.Context, mg *v1alpha1.ObjectStoreUser) (managed.ExternalCreation, error) {
	uid, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	mg.SetConditions(xpv2.Creating())
	p := mg.Spec.ForProvider
	k, err := e.c.CreateUser(ctx, uid, settings(p))
	if err != nil {
		return managed.ExternalCreation{}, errors.Wrap(err, errCreate)
	}
	// the new user's key is of the spec's generation; quota and the rest follow in Update when
	// the next Observe finds them different
	mg.Status.AtProvider.KeyGeneration, mg.Status.AtProvider.AccessKeyID = p.KeyGeneration, k.AccessKey
	return managed.ExternalCreation{ConnectionDetails: e.details(k)}, nil
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.ObjectStoreUser) (managed.ExternalUpdate, error) {
	uid, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	u, err := e.c.GetUser(ctx, uid) // afresh: the quota keeps what the spec leaves unset
	if err != nil {
		return managed.ExternalUpdate{}, errors.Wrap(err, errObserve)
	}
	p, at := mg.Spec.ForProvider, &mg.Status.AtProvider
	w := compare(p, *at, u)
	if !w.settingsOK {
		if err := e.c.ModifyUser(ctx, uid, settings(p)); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errModify)
		}
	}
	if !w.quotaOK {
		if err := e.c.SetUserQuota(ctx, uid, w.quota); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errQuota)
		}
	}
	var up managed.ExternalUpdate
	if w.rotate {
		k, err := e.c.NewKey(ctx, uid, u.Keys)
		if err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errRotate)
		}
		// recorded before the old keys go: should their removal fail, the status (saved with the
		// error) still names the new key, which the next Observe publishes, and the keys to remove
		at.KeyGeneration, at.AccessKeyID, at.RetiringAccessKeyIDs = p.KeyGeneration, k.AccessKey, accessKeyIDs(u.Keys)
		up.ConnectionDetails = e.details(k)
		w.retire = at.RetiringAccessKeyIDs
	}
	if len(w.retire) > 0 {
		if err := e.c.RemoveKeys(ctx, uid, w.retire); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errRetire)
		}
		at.RetiringAccessKeyIDs = nil
	}
	return up, nil
}

func (e *external) Delete(ctx context.Context, mg *v1alpha1.ObjectStoreUser) (managed.ExternalDelete, error) {
	uid, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	buckets, err := e.c.UserBuckets(ctx, uid)
	if rgw.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	if err != nil { // never delete on a failed read
		return managed.ExternalDelete{}, errors.Wrap(err, errDeleteCheck)
	}
	purge := site.Deref(mg.Spec.ForProvider.AllowDeleteWithData)
	if len(buckets) > 0 && !purge {
		err := site.DeletionBlocked(mg, fmt.Sprintf("RGW user %q is not deleted: it owns %d bucket(s): %s; set spec.forProvider.allowDeleteWithData "+
			"to true to delete it with its buckets and their objects, or remove Delete from spec.managementPolicies to keep the user",
			uid, len(buckets), site.Names(buckets, 5)))
		e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
		return managed.ExternalDelete{}, err
	}
	err = e.c.RemoveUser(ctx, uid, purge && len(buckets) > 0)
	if rgw.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
}

func (e *external) Disconnect(context.Context) error { return nil }
