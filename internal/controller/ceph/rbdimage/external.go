package rbdimage

import (
	"context"
	"slices"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

const (
	errNoPool      = "spec.forProvider.pool is not set (its reference is not resolved yet)"
	errObserve     = "cannot observe RBD image"
	errCreate      = "cannot create RBD image"
	errResize      = "cannot grow RBD image"
	errFeatures    = "cannot change RBD image features"
	errDelete      = "cannot delete RBD image"
	errDeleteCheck = "cannot tell whether the RBD image is in use or has snapshots, so it is not deleted"
)

type external struct {
	c        *ceph.Client
	d        site.Deps
	monitors string
}

func names(mg *v1alpha1.RBDImage) (pool, image string, err error) {
	image, err = site.ExternalName(mg)
	if err != nil {
		return "", "", err
	}
	if mg.Spec.ForProvider.Pool == nil || *mg.Spec.ForProvider.Pool == "" {
		return "", "", errors.New(errNoPool)
	}
	return *mg.Spec.ForProvider.Pool, image, nil
}

func (e *external) details(pool, image string) managed.ConnectionDetails {
	return managed.ConnectionDetails{
		"imageSpec": []byte(pool + "/" + image),
		"pool":      []byte(pool),
		"image":     []byte(image),
		"monitors":  []byte(e.monitors),
	}
}

func (e *external) Observe(_ context.Context, mg *v1alpha1.RBDImage) (managed.ExternalObservation, error) {
	pool, image, err := names(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	info, err := e.c.GetImage(pool, image)
	if ceph.IsNotFound(err) { // the image, or its whole pool, does not exist
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	mg.Status.AtProvider = observe(pool, image, info)
	mg.SetConditions(xpv2.Available())
	e.reportSize(mg)
	ok, diff := upToDate(mg.Spec.ForProvider, mg.Status.AtProvider)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: ok, Diff: diff, ConnectionDetails: e.details(pool, image)}, nil
}

func (e *external) Create(_ context.Context, mg *v1alpha1.RBDImage) (managed.ExternalCreation, error) {
	pool, image, err := names(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	mg.SetConditions(xpv2.Creating())
	p := mg.Spec.ForProvider
	err = e.c.CreateImage(ceph.ImageSpec{Pool: pool, Name: image, SizeBytes: uint64(p.SizeMiB) * mib, Features: p.Features, DataPool: site.Deref(p.DataPool)})
	if ceph.IsErrno(err, ceph.EEXIST) {
		// created by an earlier attempt whose answer was lost (or still in flight when Observe
		// looked): adopt it; the next Observe compares it with the spec and never shrinks it
		return managed.ExternalCreation{ConnectionDetails: e.details(pool, image)}, nil
	}
	if err != nil {
		return managed.ExternalCreation{}, errors.Wrap(err, errCreate)
	}
	return managed.ExternalCreation{ConnectionDetails: e.details(pool, image)}, nil
}

func (e *external) Update(_ context.Context, mg *v1alpha1.RBDImage) (managed.ExternalUpdate, error) {
	pool, image, err := names(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	p, o := mg.Spec.ForProvider, mg.Status.AtProvider
	if want := uint64(p.SizeMiB) * mib; uint64(o.SizeBytes) < want {
		if err := e.c.ResizeImage(pool, image, want); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errResize)
		}
	}
	if p.Features != nil {
		enable, disable := featureChanges(p.Features, o.Features)
		for _, f := range disable {
			if err := e.c.UpdateImageFeatures(pool, image, []string{f}, false); err != nil {
				return managed.ExternalUpdate{}, errors.Wrap(err, errFeatures)
			}
		}
		for _, f := range enable {
			if err := e.c.UpdateImageFeatures(pool, image, []string{f}, true); err != nil {
				// librbd enables fast-diff along with object-map and then refuses it (EINVAL,
				// "already enabled"): a feature that is on now is what was asked
				if info, rerr := e.c.GetImage(pool, image); rerr == nil && slices.Contains(info.Features, f) {
					continue
				}
				return managed.ExternalUpdate{}, errors.Wrap(err, errFeatures)
			}
		}
	}
	return managed.ExternalUpdate{ConnectionDetails: e.details(pool, image)}, nil
}

func (e *external) Delete(_ context.Context, mg *v1alpha1.RBDImage) (managed.ExternalDelete, error) {
	pool, image, err := names(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	u, err := e.c.ImageUsage(pool, image)
	if ceph.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	if err != nil { // never delete on a failed read
		return managed.ExternalDelete{}, errors.Wrap(err, errDeleteCheck)
	}
	if why := inUse(pool, image, u); why != "" && !site.Deref(mg.Spec.ForProvider.AllowDeleteWithData) {
		err := site.DeletionBlocked(mg, why+"; set spec.forProvider.allowDeleteWithData to true to delete it anyway (snapshots are removed first), "+
			"or remove Delete from spec.managementPolicies to keep the image")
		e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
		return managed.ExternalDelete{}, err
	}
	if len(u.Snapshots) > 0 {
		if err := e.c.PurgeImageSnapshots(pool, image); err != nil {
			return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
		}
	}
	err = e.c.RemoveImage(pool, image)
	if ceph.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
}

func (e *external) Disconnect(context.Context) error { return nil }
