package pool

import (
	"context"
	"strconv"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

const (
	errObserve      = "cannot observe Ceph pools"
	errCreate       = "cannot create pool"
	errUpdate       = "cannot update pool"
	errDelete       = "cannot delete pool"
	errTypeChange   = "pool %q is %s in Ceph; a pool's type cannot change (create a new pool)"
	errDeleteCheck  = "cannot tell whether the pool holds data, so it is not deleted"
	errDeleteDenied = "the cluster forbids deleting pools (mon_allow_pool_delete is false); set it to true to let the provider delete pool %q, or remove Delete from spec.managementPolicies to keep the pool"
)

type external struct {
	c *ceph.Client
	d site.Deps
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.Pool) (managed.ExternalObservation, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	p := snap.Pools[name]
	if p == nil {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	mg.Status.AtProvider = observe(p, snap)
	undersized := 0
	if sum := snap.PGs[p.ID]; sum != nil {
		undersized = sum.States["undersized"]
	}
	if why := placementProblem(mg.Status.AtProvider, undersized); why != "" {
		mg.SetConditions(xpv2.Unavailable().WithMessage(why))
	} else {
		mg.SetConditions(xpv2.Available())
	}
	ok, diff := upToDate(mg.Spec.ForProvider, mg.Status.AtProvider)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: ok, Diff: diff}, nil
}

func (e *external) Create(ctx context.Context, mg *v1alpha1.Pool) (managed.ExternalCreation, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	p := mg.Spec.ForProvider
	mg.SetConditions(xpv2.Creating())
	spec := ceph.PoolSpec{
		Name:          name,
		Erasure:       p.Type == "erasure",
		Profile:       site.Deref(p.ErasureCodeProfile),
		Rule:          site.Deref(p.CrushRule),
		PGNum:         int(site.Deref(p.PGNum)),
		AutoscaleMode: autoscaleMode(p),
		Size:          int(site.Deref(p.Size)),
	}
	if err := e.c.CreatePool(spec); err != nil {
		return managed.ExternalCreation{}, errors.Wrap(err, errCreate)
	}
	// everything create does not take is set like an update, against the pool as created; a
	// failure here shows in the condition and the next reconcile tries again
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return managed.ExternalCreation{}, errors.Wrap(err, errObserve)
	}
	return managed.ExternalCreation{}, errors.Wrap(e.apply(name, p, snap.Pools[name], snap), errCreate)
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.Pool) (managed.ExternalUpdate, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return managed.ExternalUpdate{}, errors.Wrap(err, errObserve)
	}
	cur := snap.Pools[name]
	if cur == nil {
		return managed.ExternalUpdate{}, nil // gone since Observe; the next Observe creates it
	}
	return managed.ExternalUpdate{}, errors.Wrap(e.apply(name, mg.Spec.ForProvider, cur, snap), errUpdate)
}

// apply sets every managed setting that differs from cur (all of them when cur is nil), as seen
// in snap.
func (e *external) apply(name string, p v1alpha1.PoolParameters, cur *ceph.PoolInfo, snap *ceph.Snapshot) error {
	var o v1alpha1.PoolObservation
	if cur != nil {
		o = observe(cur, snap)
		if p.Type != "" && p.Type != o.Type {
			return errors.Errorf(errTypeChange, name, o.Type)
		}
	}
	set := func(v, val string) error { return e.c.SetPool(name, v, val) }
	itoa := func(i int32) string { return strconv.Itoa(int(i)) }

	if p.CrushRule != nil && (cur == nil || *p.CrushRule != o.CrushRule) {
		if err := set("crush_rule", *p.CrushRule); err != nil {
			return err
		}
	}
	// keep min_size <= size at every step: shrink min_size first when size goes down
	sizeFirst := p.Size == nil || p.MinSize == nil || cur == nil || int(*p.Size) >= cur.Size
	setSize := func() error {
		if p.Size == nil || p.Type == "erasure" || (cur != nil && int(*p.Size) == cur.Size) {
			return nil
		}
		return set("size", itoa(*p.Size))
	}
	setMin := func() error {
		if p.MinSize == nil || (cur != nil && int(*p.MinSize) == cur.MinSize) {
			return nil
		}
		return set("min_size", itoa(*p.MinSize))
	}
	steps := []func() error{setMin, setSize}
	if sizeFirst {
		steps = []func() error{setSize, setMin}
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	mode := autoscaleMode(p)
	if mode != "" && (cur == nil || cur.AutoscaleMode != mode) {
		if err := set("pg_autoscale_mode", mode); err != nil {
			return err
		}
	}
	if p.PGNum != nil && mode != "on" && cur != nil && int(*p.PGNum) != cur.PGNumTarget {
		if err := set("pg_num", itoa(*p.PGNum)); err != nil {
			return err
		}
		if err := set("pgp_num", itoa(*p.PGNum)); err != nil {
			return err
		}
	}
	if p.TargetSizeRatio != nil && (cur == nil || !sameRatio(*p.TargetSizeRatio, o.TargetSizeRatio)) {
		if err := set("target_size_ratio", *p.TargetSizeRatio); err != nil {
			return err
		}
	}
	if p.CompressionMode != nil && (cur == nil || *p.CompressionMode != o.CompressionMode) {
		if err := set("compression_mode", *p.CompressionMode); err != nil {
			return err
		}
	}
	if p.AllowECOverwrites != nil && *p.AllowECOverwrites && (cur == nil || !cur.HasFlag("ec_overwrites")) {
		if err := set("allow_ec_overwrites", "true"); err != nil {
			return err
		}
	}
	if p.QuotaMaxBytes != nil && (cur == nil || *p.QuotaMaxBytes != cur.QuotaMaxBytes) {
		if err := e.c.SetPoolQuota(name, "max_bytes", *p.QuotaMaxBytes); err != nil {
			return err
		}
	}
	if p.QuotaMaxObjects != nil && (cur == nil || *p.QuotaMaxObjects != cur.QuotaMaxObjects) {
		if err := e.c.SetPoolQuota(name, "max_objects", *p.QuotaMaxObjects); err != nil {
			return err
		}
	}
	if p.Application != nil && (cur == nil || !contains(o.Applications, *p.Application)) {
		if err := e.c.EnablePoolApplication(name, *p.Application); err != nil {
			return err
		}
	}
	// an application enabled by hand besides the spec's goes (its metadata only; no data moves)
	for _, a := range extraApplications(p, o) {
		if err := e.c.DisablePoolApplication(name, a); err != nil {
			return err
		}
	}
	return nil
}

func (e *external) Delete(ctx context.Context, mg *v1alpha1.Pool) (managed.ExternalDelete, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	if !site.Deref(mg.Spec.ForProvider.AllowDeleteWithData) {
		why, err := e.holdsData(ctx, mg, name)
		if err != nil { // never delete on a failed read
			return managed.ExternalDelete{}, errors.Wrap(err, errDeleteCheck)
		}
		if why != "" {
			err := site.DeletionBlocked(mg, why)
			e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
			return managed.ExternalDelete{}, err
		}
	}
	err = e.c.DeletePool(name)
	if ceph.IsErrno(err, ceph.EPERM) {
		return managed.ExternalDelete{}, errors.Wrapf(err, errDeleteDenied, name)
	}
	return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
}

func (e *external) Disconnect(context.Context) error { return nil }
