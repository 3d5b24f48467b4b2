package subvolumegroup

import (
	"context"
	"fmt"

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
	errObserve     = "cannot observe CephFS subvolume group"
	errCreate      = "cannot create CephFS subvolume group"
	errResize      = "cannot change the quota of CephFS subvolume group"
	errAttrs       = "cannot change CephFS subvolume group attributes"
	errDelete      = "cannot delete CephFS subvolume group"
	errDeleteCheck = "cannot tell whether the CephFS subvolume group holds subvolumes, so it is not deleted"
	// shown is how many subvolumes a refusal names before "and N more".
	shown = 5
)

type external struct {
	c        *ceph.Client
	d        site.Deps
	monitors string
}

func want(p v1alpha1.SubvolumeGroupParameters) fsdir.Want {
	return fsdir.Want{QuotaMiB: p.QuotaMiB, Mode: p.Mode, UID: p.UID, GID: p.GID, PoolLayout: p.PoolLayout}
}

func observe(i *ceph.FSDirInfo) v1alpha1.SubvolumeGroupObservation {
	return v1alpha1.SubvolumeGroupObservation{Path: i.Path, QuotaBytes: fsdir.QuotaField(i.QuotaBytes), BytesUsed: int64(i.BytesUsed),
		Mode: fsdir.ModeString(i.Mode), UID: i.UID, GID: i.GID, DataPool: i.DataPool}
}

func (e *external) details(fs, path string) managed.ConnectionDetails {
	return managed.ConnectionDetails{"path": []byte(path), "filesystem": []byte(fs), "monitors": []byte(e.monitors)}
}

func (e *external) Observe(_ context.Context, mg *v1alpha1.SubvolumeGroup) (managed.ExternalObservation, error) {
	group, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	fs := mg.Spec.ForProvider.Filesystem
	info, err := e.c.GetSubvolumeGroup(fs, group)
	if ceph.IsNotFound(err) { // the group, or its filesystem, does not exist
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	mg.Status.AtProvider = observe(info)
	mg.SetConditions(xpv2.Available())
	quotaOK, attrsOK, diff := want(mg.Spec.ForProvider).Compare(info)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: quotaOK && attrsOK, Diff: diff, ConnectionDetails: e.details(fs, info.Path)}, nil
}

func (e *external) Create(_ context.Context, mg *v1alpha1.SubvolumeGroup) (managed.ExternalCreation, error) {
	group, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	mg.SetConditions(xpv2.Creating())
	a, err := want(mg.Spec.ForProvider).CreateAttrs()
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	// Ceph's create is idempotent: a group made by an earlier attempt whose answer was lost is
	// adopted, and the next Observe compares it with the spec
	return managed.ExternalCreation{}, errors.Wrap(e.c.CreateSubvolumeGroup(mg.Spec.ForProvider.Filesystem, group, a), errCreate)
}

func (e *external) Update(_ context.Context, mg *v1alpha1.SubvolumeGroup) (managed.ExternalUpdate, error) {
	group, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	fs, w := mg.Spec.ForProvider.Filesystem, want(mg.Spec.ForProvider)
	// read afresh: the attributes Ceph resets unless given are passed as they are now
	info, err := e.c.GetSubvolumeGroup(fs, group)
	if err != nil {
		return managed.ExternalUpdate{}, errors.Wrap(err, errObserve)
	}
	quotaOK, attrsOK, _ := w.Compare(info)
	if !attrsOK {
		a, err := w.UpdateAttrs(info)
		if err != nil {
			return managed.ExternalUpdate{}, err
		}
		if err := e.c.CreateSubvolumeGroup(fs, group, a); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errAttrs)
		}
	}
	if !quotaOK {
		if err := e.c.ResizeSubvolumeGroup(fs, group, w.QuotaBytes()); err != nil {
			return managed.ExternalUpdate{}, errors.Wrap(err, errResize)
		}
	}
	return managed.ExternalUpdate{}, nil
}

func (e *external) Delete(_ context.Context, mg *v1alpha1.SubvolumeGroup) (managed.ExternalDelete, error) {
	group, err := site.ExternalName(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	fs := mg.Spec.ForProvider.Filesystem
	mg.SetConditions(xpv2.Deleting())
	subs, err := e.c.ListSubvolumes(fs, group)
	if ceph.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	if err != nil { // never delete on a failed read
		return managed.ExternalDelete{}, errors.Wrap(err, errDeleteCheck)
	}
	if len(subs) > 0 {
		err := site.DeletionBlocked(mg, fmt.Sprintf("CephFS subvolume group %s/%s is not deleted: it holds %d subvolume(s): %s; delete them first "+
			"(Ceph refuses too), or remove Delete from spec.managementPolicies to keep the group", fs, group, len(subs), site.Names(subs, shown)))
		e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
		return managed.ExternalDelete{}, err
	}
	err = e.c.RemoveSubvolumeGroup(fs, group)
	if ceph.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
}

func (e *external) Disconnect(context.Context) error { return nil }
