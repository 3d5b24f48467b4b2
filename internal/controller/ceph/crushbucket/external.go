package crushbucket

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
	errObserve     = "cannot observe the CRUSH map"
	errCreate      = "cannot create CRUSH bucket"
	errMove        = "cannot move CRUSH bucket"
	errDelete      = "cannot delete CRUSH bucket"
	errDeleteInUse = "CRUSH bucket %q is not deleted: %s; or remove Delete from spec.managementPolicies to keep the bucket"
	errNotEmpty    = "cannot delete CRUSH bucket %q: it still holds buckets or OSDs (move or delete them first)"
	errNoParent    = "parent bucket %q does not exist in the CRUSH map"
	errTypeChange  = "CRUSH bucket %q is of type %s in Ceph; a bucket's type cannot change"
)

type external struct {
	c *ceph.Client
	d site.Deps
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.CrushBucket) (managed.ExternalObservation, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	b := snap.Crush.Bucket(name)
	if b == nil {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	mg.Status.AtProvider = observe(b, snap.Crush)
	mg.SetConditions(xpv2.Available())
	ok, diff := upToDate(mg.Spec.ForProvider, mg.Status.AtProvider)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: ok, Diff: diff}, nil
}

func (e *external) Create(ctx context.Context, mg *v1alpha1.CrushBucket) (managed.ExternalCreation, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	mg.SetConditions(xpv2.Creating())
	if err := e.c.AddCrushBucket(name, mg.Spec.ForProvider.Type); err != nil {
		return managed.ExternalCreation{}, errors.Wrap(err, errCreate)
	}
	return managed.ExternalCreation{}, errors.Wrap(e.move(ctx, name, mg.Spec.ForProvider.Parent), errCreate)
}

// move re-parents the bucket (with everything below it); Ceph needs the parent's type.
func (e *external) move(ctx context.Context, name string, parent *string) error {
	if parent == nil {
		return nil
	}
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return errors.Wrap(err, errObserve)
	}
	pb := snap.Crush.Bucket(*parent)
	if pb == nil {
		return errors.Errorf(errNoParent, *parent)
	}
	return e.c.MoveCrushBucket(name, pb.TypeName, pb.Name)
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.CrushBucket) (managed.ExternalUpdate, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	if t := mg.Status.AtProvider.Type; t != "" && t != mg.Spec.ForProvider.Type {
		return managed.ExternalUpdate{}, errors.Errorf(errTypeChange, name, t)
	}
	return managed.ExternalUpdate{}, errors.Wrap(e.move(ctx, name, mg.Spec.ForProvider.Parent), errMove)
}

// Delete removes the bucket unless it holds buckets or OSDs or a rule starts at it: Ceph refuses
// too (ENOTEMPTY, EBUSY), the provider names them before asking.
func (e *external) Delete(ctx context.Context, mg *v1alpha1.CrushBucket) (managed.ExternalDelete, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	snap, err := e.c.Fresh(ctx)
	if err != nil { // never delete on a failed read
		return managed.ExternalDelete{}, errors.Wrap(err, errObserve)
	}
	if snap.Crush.Bucket(name) == nil {
		return managed.ExternalDelete{}, nil
	}
	var why []string
	if c := snap.Crush.Children(name); len(c) > 0 {
		why = append(why, fmt.Sprintf("it holds %s (move or delete them first)", site.Names(c, 5)))
	}
	if r := snap.Crush.RulesTaking(name); len(r) > 0 {
		why = append(why, fmt.Sprintf("CRUSH rules start at it: %s", site.Names(r, 5)))
	}
	if len(why) > 0 {
		err := site.DeletionBlocked(mg, fmt.Sprintf(errDeleteInUse, name, strings.Join(why, "; ")))
		e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
		return managed.ExternalDelete{}, err
	}
	err = e.c.RemoveCrushBucket(name)
	switch {
	case ceph.IsNotFound(err):
		return managed.ExternalDelete{}, nil
	case ceph.IsErrno(err, ceph.ENOTEMPTY):
		return managed.ExternalDelete{}, errors.Wrapf(err, errNotEmpty, name)
	}
	return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
}

func (e *external) Disconnect(context.Context) error { return nil }
