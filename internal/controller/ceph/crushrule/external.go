package crushrule

import (
	"context"
	"fmt"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

const (
	errObserve      = "cannot observe CRUSH rules"
	errCreate       = "cannot create CRUSH rule"
	errUpdate       = "cannot replace CRUSH rule (Ceph cannot edit a rule, so it is removed and created again)"
	errDelete       = "cannot delete CRUSH rule"
	errDeleteInUse  = "CRUSH rule %q is not deleted because pools use it: %s; move those pools to another rule or delete them first, or remove Delete from spec.managementPolicies to keep the rule"
	errReplaceInUse = "CRUSH rule %q differs from the spec, but Ceph can only replace a rule no pool uses, and pools use it: %s"
)

type external struct {
	c *ceph.Client
	d site.Deps
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.CrushRule) (managed.ExternalObservation, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	r := snap.Crush.Rule(name)
	if r == nil {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	mg.Status.AtProvider = observe(r, snap.Crush)
	mg.SetConditions(xpv2.Available())
	ok, diff := upToDate(mg.Spec.ForProvider, mg.Status.AtProvider, snap.Profiles)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: ok, Diff: diff}, nil
}

func (e *external) create(name string, p v1alpha1.CrushRuleParameters) error {
	if p.Type == "erasure" {
		return e.c.CreateErasureRule(name, site.Deref(p.ErasureCodeProfile))
	}
	return e.c.CreateReplicatedRule(name, or(site.Deref(p.Root), defaultRoot), or(site.Deref(p.FailureDomain), defaultFailureDomain), site.Deref(p.DeviceClass))
}

func (e *external) Create(_ context.Context, mg *v1alpha1.CrushRule) (managed.ExternalCreation, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	mg.SetConditions(xpv2.Creating())
	return managed.ExternalCreation{}, errors.Wrap(e.create(name, mg.Spec.ForProvider), errCreate)
}

// Update replaces a rule that drifted. Ceph refuses to remove a rule a pool uses (EBUSY), and
// that refusal, in Ceph's words, is what the MR's condition then shows.
func (e *external) Update(ctx context.Context, mg *v1alpha1.CrushRule) (managed.ExternalUpdate, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	snap, err := e.c.Fresh(ctx)
	if err != nil {
		return managed.ExternalUpdate{}, errors.Wrap(err, errObserve)
	}
	if users := snap.PoolsUsingRule(name); len(users) > 0 {
		return managed.ExternalUpdate{}, errors.Errorf(errReplaceInUse, name, site.Names(users, 5))
	}
	if err := e.c.RemoveCrushRule(name); err != nil {
		return managed.ExternalUpdate{}, errors.Wrap(err, errUpdate)
	}
	return managed.ExternalUpdate{}, errors.Wrap(e.create(name, mg.Spec.ForProvider), errUpdate)
}

// Delete removes the rule unless a pool uses it: Ceph refuses too (EBUSY), the provider says
// which pools before asking.
func (e *external) Delete(ctx context.Context, mg *v1alpha1.CrushRule) (managed.ExternalDelete, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	snap, err := e.c.Fresh(ctx)
	if err != nil { // never delete on a failed read
		return managed.ExternalDelete{}, errors.Wrap(err, errObserve)
	}
	if snap.Crush.Rule(name) == nil {
		return managed.ExternalDelete{}, nil
	}
	if users := snap.PoolsUsingRule(name); len(users) > 0 {
		err := site.DeletionBlocked(mg, fmt.Sprintf(errDeleteInUse, name, site.Names(users, 5)))
		e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
		return managed.ExternalDelete{}, err
	}
	return managed.ExternalDelete{}, errors.Wrap(e.c.RemoveCrushRule(name), errDelete)
}

func (e *external) Disconnect(context.Context) error { return nil }
