package filesystem

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
	errObserve      = "cannot observe CephFS filesystem"
	errCreate       = "cannot create CephFS filesystem"
	errUpdate       = "cannot set the CRUSH rule of a CephFS pool"
	errDelete       = "cannot delete CephFS filesystem"
	errDeleteCheck  = "cannot tell whether the CephFS filesystem holds data, so it is not deleted"
	errDeleteDenied = "the cluster forbids deleting pools, and removing a CephFS volume removes its pools: the mgr's volumes module reads " +
		"mon_allow_pool_delete from the config database (ceph.conf does not count); run `ceph config set mon mon_allow_pool_delete true` " +
		"to let the provider delete filesystem %q, or remove Delete from spec.managementPolicies to keep the filesystem"
	msgNoMDS = "no MDS daemon is active for filesystem %q (%d standby MDS in the cluster): start an MDS daemon for it"
)

type external struct {
	c *ceph.Client
	d site.Deps
}

// ruleOf names the CRUSH rule of a pool in snap ("" when the pool or rule is unknown).
func ruleOf(snap *ceph.Snapshot, pool string) string {
	p := snap.Pools[pool]
	if p == nil {
		return ""
	}
	if r := snap.Crush.RuleByID(p.CrushRule); r != nil {
		return r.Name
	}
	return ""
}

// wantRules are the pools whose rule the spec sets, with the wanted rule and the field's name.
type wantRule struct{ field, pool, rule string }

func wantRules(p v1alpha1.FilesystemParameters, info *ceph.FilesystemInfo) []wantRule {
	var out []wantRule
	if p.MetadataCrushRule != nil {
		out = append(out, wantRule{"metadataCrushRule", info.MetadataPool, *p.MetadataCrushRule})
	}
	if p.DataCrushRule != nil && len(info.DataPools) > 0 {
		out = append(out, wantRule{"dataCrushRule", info.DataPools[0], *p.DataCrushRule})
	}
	return out
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.Filesystem) (managed.ExternalObservation, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	info, err := e.c.GetFilesystem(name)
	if ceph.IsNotFound(err) {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	o := v1alpha1.FilesystemObservation{ID: info.ID, MetadataPool: info.MetadataPool, DataPools: info.DataPools,
		MetadataCrushRule: ruleOf(snap, info.MetadataPool), ActiveMDS: info.ActiveMDS, StandbyMDS: info.Standbys}
	if len(info.DataPools) > 0 {
		o.DataCrushRule = ruleOf(snap, info.DataPools[0])
	}
	mg.Status.AtProvider = o
	if len(info.ActiveMDS) > 0 {
		mg.SetConditions(xpv2.Available())
	} else {
		mg.SetConditions(xpv2.Unavailable().WithMessage(fmt.Sprintf(msgNoMDS, name, info.Standbys)))
	}
	var diff []string
	for _, w := range wantRules(mg.Spec.ForProvider, info) {
		if have := ruleOf(snap, w.pool); have != w.rule {
			diff = append(diff, fmt.Sprintf("%s: want %q, Ceph has %q (pool %s)", w.field, w.rule, have, w.pool))
		}
	}
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: len(diff) == 0, Diff: strings.Join(diff, "; ")}, nil
}

func (e *external) Create(ctx context.Context, mg *v1alpha1.Filesystem) (managed.ExternalCreation, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	mg.SetConditions(xpv2.Creating())
	// the volumes module's create is idempotent: a volume made by an earlier attempt whose answer
	// was lost is found again
	if err := e.c.CreateFilesystem(name); err != nil {
		return managed.ExternalCreation{}, errors.Wrap(err, errCreate)
	}
	return managed.ExternalCreation{}, errors.Wrap(e.applyRules(ctx, name, mg.Spec.ForProvider), errCreate)
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.Filesystem) (managed.ExternalUpdate, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	return managed.ExternalUpdate{}, errors.Wrap(e.applyRules(ctx, name, mg.Spec.ForProvider), errUpdate)
}

// applyRules sets the CRUSH rule of each pool whose rule the spec names and Ceph has otherwise.
func (e *external) applyRules(ctx context.Context, name string, p v1alpha1.FilesystemParameters) error {
	if p.MetadataCrushRule == nil && p.DataCrushRule == nil {
		return nil
	}
	info, err := e.c.GetFilesystem(name)
	if err != nil {
		return err
	}
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return err
	}
	for _, w := range wantRules(p, info) {
		if ruleOf(snap, w.pool) == w.rule {
			continue
		}
		if err := e.c.SetPool(w.pool, "crush_rule", w.rule); err != nil {
			return err
		}
	}
	return nil
}

// holdsData says what keeps the filesystem: subvolume groups and subvolumes of the default group
// ("" when none). RADOS objects in the data pools do not tell: every directory keeps its backtrace
// there, so an empty filesystem has some.
func (e *external) holdsData(name string) (string, error) {
	groups, err := e.c.ListSubvolumeGroups(name)
	if err != nil {
		return "", err
	}
	subs, err := e.c.ListSubvolumes(name, "")
	if err != nil {
		return "", err
	}
	var why []string
	if len(groups) > 0 {
		why = append(why, fmt.Sprintf("%d subvolume group(s): %s", len(groups), site.Names(groups, 5)))
	}
	if len(subs) > 0 {
		why = append(why, fmt.Sprintf("%d subvolume(s) in the default group: %s", len(subs), site.Names(subs, 5)))
	}
	if len(why) == 0 {
		return "", nil
	}
	return fmt.Sprintf("CephFS filesystem %q is not deleted: it holds %s; delete them first, or remove Delete from spec.managementPolicies to keep the filesystem",
		name, strings.Join(why, "; ")), nil
}

func (e *external) Delete(_ context.Context, mg *v1alpha1.Filesystem) (managed.ExternalDelete, error) {
	name, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	_, err = e.c.GetFilesystem(name)
	if ceph.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	if err != nil { // never delete on a failed read
		return managed.ExternalDelete{}, errors.Wrap(err, errDeleteCheck)
	}
	why, err := e.holdsData(name)
	if err != nil {
		return managed.ExternalDelete{}, errors.Wrap(err, errDeleteCheck)
	}
	if why != "" {
		err := site.DeletionBlocked(mg, why)
		e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
		return managed.ExternalDelete{}, err
	}
	err = e.c.RemoveFilesystem(name)
	if ceph.IsErrno(err, ceph.EPERM) {
		return managed.ExternalDelete{}, errors.Wrapf(err, errDeleteDenied, name)
	}
	if ceph.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
}

func (e *external) Disconnect(context.Context) error { return nil }
