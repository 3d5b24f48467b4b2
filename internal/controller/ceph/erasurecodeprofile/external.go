package erasurecodeprofile

import (
	"context"
	"fmt"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

const (
	errObserve     = "cannot observe Ceph erasure-code profiles"
	errCreate      = "cannot create erasure-code profile"
	errUpdate      = "cannot correct erasure-code profile"
	errDelete      = "cannot delete erasure-code profile"
	errDeleteInUse = "erasure-code profile %q is not deleted because pools use it: %s; delete those pools first, or remove Delete from spec.managementPolicies to keep the profile"
	errInUse       = "erasure-code profile %q differs from the spec (%s) but pools %s use it; Ceph cannot change a profile in use"
)

type external struct {
	c *ceph.Client
	d site.Deps
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.ErasureCodeProfile) (managed.ExternalObservation, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	have, ok := snap.Profiles[name]
	if !ok {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	mg.Status.AtProvider.Profile = have
	mg.SetConditions(xpv2.Available())
	same, diff := upToDate(mg.Spec.ForProvider, have)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: same, Diff: diff}, nil
}

func (e *external) Create(_ context.Context, mg *v1alpha1.ErasureCodeProfile) (managed.ExternalCreation, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	mg.SetConditions(xpv2.Creating())
	return managed.ExternalCreation{}, errors.Wrap(e.c.SetErasureCodeProfile(name, desired(mg.Spec.ForProvider)), errCreate)
}

// Update restores a profile changed behind the provider's back (e.g. `ceph osd
// erasure-code-profile set --force`). Ceph cannot edit a profile, so it is removed and set again,
// which is only safe while no pool uses it.
func (e *external) Update(ctx context.Context, mg *v1alpha1.ErasureCodeProfile) (managed.ExternalUpdate, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return managed.ExternalUpdate{}, errors.Wrap(err, errObserve)
	}
	if users := snap.PoolsUsingProfile(name); len(users) > 0 {
		_, diff := upToDate(mg.Spec.ForProvider, snap.Profiles[name])
		return managed.ExternalUpdate{}, errors.Errorf(errInUse, name, diff, strings.Join(users, ", "))
	}
	if err := e.c.RemoveErasureCodeProfile(name); err != nil {
		return managed.ExternalUpdate{}, errors.Wrap(err, errUpdate)
	}
	return managed.ExternalUpdate{}, errors.Wrap(e.c.SetErasureCodeProfile(name, desired(mg.Spec.ForProvider)), errUpdate)
}

// Delete removes the profile unless a pool uses it: Ceph refuses too (EBUSY), the provider says
// which pools before asking.
func (e *external) Delete(ctx context.Context, mg *v1alpha1.ErasureCodeProfile) (managed.ExternalDelete, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	snap, err := e.c.Fresh(ctx)
	if err != nil { // never delete on a failed read
		return managed.ExternalDelete{}, errors.Wrap(err, errObserve)
	}
	if _, ok := snap.Profiles[name]; !ok {
		return managed.ExternalDelete{}, nil
	}
	if users := snap.PoolsUsingProfile(name); len(users) > 0 {
		err := site.DeletionBlocked(mg, fmt.Sprintf(errDeleteInUse, name, site.Names(users, 5)))
		e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
		return managed.ExternalDelete{}, err
	}
	return managed.ExternalDelete{}, errors.Wrap(e.c.RemoveErasureCodeProfile(name), errDelete)
}

func (e *external) Disconnect(context.Context) error { return nil }
