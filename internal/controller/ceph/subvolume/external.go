package subvolume

import (
	"context"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/fsdir"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

const (
	errObserve     = "cannot observe CephFS subvolume"
	errCreate      = "cannot create CephFS subvolume"
	errResize      = "cannot change the quota of CephFS subvolume"
	errAttrs       = "cannot change CephFS subvolume attributes"
	errDelete      = "cannot delete CephFS subvolume"
	errDeleteCheck = "cannot tell whether the CephFS subvolume holds data, so it is not deleted"
)

// defaultGroup is where Ceph puts subvolumes created without a group.
const defaultGroup = "_nogroup"

type external struct {
	c        *ceph.Client
	d        site.Deps
	monitors string
}

// names are the filesystem, group ("" for Ceph's default group) and subvolume of the MR.
func names(mg *v1alpha1.Subvolume) (fs, group, name string, err error) {
	name, err = site.ExternalName(mg)
	return mg.Spec.ForProvider.Filesystem, site.Deref(mg.Spec.ForProvider.Group), name, err
}

func want(p v1alpha1.SubvolumeParameters) fsdir.Want {
	return fsdir.Want{QuotaMiB: p.QuotaMiB, Mode: p.Mode, UID: p.UID, GID: p.GID, PoolLayout: p.PoolLayout}
}

func observe(i *ceph.FSDirInfo) v1alpha1.SubvolumeObservation {
	return v1alpha1.SubvolumeObservation{Path: i.Path, QuotaBytes: fsdir.QuotaField(i.QuotaBytes), BytesUsed: int64(i.BytesUsed),
		Mode: fsdir.ModeString(i.Mode), UID: i.UID, GID: i.GID, DataPool: i.DataPool, PoolNamespace: i.PoolNamespace, State: i.State}
}

func (e *external) details(fs, group, path string) managed.ConnectionDetails {
	if group == "" {
		group = defaultGroup
	}
	return managed.ConnectionDetails{"path": []byte(path), "filesystem": []byte(fs), "group": []byte(group), "monitors": []byte(e.monitors)}
}

func (e *external) Observe(_ context.Context, mg *v1alpha1.Subvolume) (managed.ExternalObservation, error) {
	fs, group, name, err := names(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	info, err := e.c.GetSubvolume(fs, group, name)
	if ceph.IsNotFound(err) { // the subvolume, its group or its filesystem does not exist
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	mg.Status.AtProvider = observe(info)
	mg.SetConditions(xpv2.Available())
	quotaOK, attrsOK, diff := want(mg.Spec.ForProvider).Compare(info)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: quotaOK && attrsOK, Diff: diff,
		ConnectionDetails: e.details(fs, group, info.Path)}, nil
}

func (e *external) Create(_ context.Context, mg *v1alpha1.Subvolume) (managed.ExternalCreation, error) {
	fs, group, name, err := names(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	mg.SetConditions(xpv2.Creating())
	a, err := want(mg.Spec.ForProvider).CreateAttrs()
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	a.NamespaceIsolated = site.Deref(mg.Spec.ForProvider.NamespaceIsolated)
	// Ceph's create is idempotent: a subvolume made by an earlier attempt whose answer was lost is
	// adopted, and the next Observe compares it with the spec
	return managed.ExternalCreation{}, errors.Wrap(e.c.CreateSubvolume(fs, group, name, a), errCreate)
}

func (e *external) Update(_ context.Context, mg *v1alpha1.Subvolume) (managed.ExternalUpdate, error) {
	fs, group, name, err := names(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	w := want(mg.Spec.ForProvider)
	// read afresh: the attributes Ceph resets unless given are passed as they are now
	info, err := e.c.GetSubvolume(fs, group, name)
	if err != nil {
		return managed.ExternalUpdate{}, errors.Wrap(err, errObserve)
	}
	quotaOK, attrsOK, _ := w.Compare(info)
	if !attrsOK {
		a, err := w.UpdateAttrs(info)
		if err != nil {
			return managed.ExternalUpdate{}, err
		}
		a.NamespaceIsolated = info.PoolNamespace != ""
		if err := e.c.CreateSubvolume(fs, group, name, a); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errAttrs)
		}
	}
	if !quotaOK {
		if err := e.c.ResizeSubvolume(fs, group, name, w.QuotaBytes()); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errResize)
		}
	}
	return managed.ExternalUpdate{}, nil
}

func (e *external) Delete(_ context.Context, mg *v1alpha1.Subvolume) (managed.ExternalDelete, error) {
	fs, group, name, err := names(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	info, err := e.c.GetSubvolume(fs, group, name)
	if ceph.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	if err != nil { // never delete on a failed read
		return managed.ExternalDelete{}, errors.Wrap(err, errDeleteCheck)
	}
	u, err := e.usage(fs, group, name, info)
	if err != nil {
		return managed.ExternalDelete{}, errors.Wrap(err, errDeleteCheck)
	}
	if why := u.why(fs, group, name); why != "" && !site.Deref(mg.Spec.ForProvider.AllowDeleteWithData) {
		err := site.DeletionBlocked(mg, why+"; set spec.forProvider.allowDeleteWithData to true to delete it with its data (snapshots are removed first), "+
			"or remove Delete from spec.managementPolicies to keep the subvolume")
		e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
		return managed.ExternalDelete{}, err
	}
	for _, s := range u.snapshots {
		if err := e.c.RemoveSubvolumeSnapshot(fs, group, name, s); err != nil && !ceph.IsNotFound(err) {
			return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
		}
	}
	err = e.c.RemoveSubvolume(fs, group, name)
	if ceph.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
}

func (e *external) Disconnect(context.Context) error { return nil }
