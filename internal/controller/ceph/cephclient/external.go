package cephclient

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"k8s.io/apimachinery/pkg/types"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

const (
	errObserve   = "cannot observe cephx client"
	errCreate    = "cannot create cephx client"
	errCaps      = "cannot set the caps of cephx client"
	errDelete    = "cannot delete cephx client"
	errInUseRead = "cannot tell whether the cephx client is in use, so it is not deleted"
	errReserved  = "cephx client %q is not managed by a CephClient: it is the admin client or the provider's own"
	errNoPool    = "spec.forProvider.grants[%d]: pool %q does not exist in Ceph"
	errNoPoolSet = "spec.forProvider.grants[%d]: the pool reference is not resolved yet"
	errSubvolMR  = "spec.forProvider.grants[%d]: cannot read Subvolume %q"
	errSubvol    = "spec.forProvider.grants[%d]: CephFS subvolume %s/%s/%s of Subvolume %q"
	errSubvolNew = "spec.forProvider.grants[%d]: CephFS subvolume %s/%s/%s of Subvolume %q does not exist in Ceph (yet)"
)

type external struct {
	c        *ceph.Client
	d        site.Deps
	monitors string
}

// entity is the client's cephx name; the admin client and the provider's own are refused.
func (e *external) entity(mg *v1alpha1.CephClient) (string, error) {
	id, err := site.ExternalName(mg)
	if err != nil {
		return "", err
	}
	own := strings.TrimPrefix(e.d.Site.Ceph.ClientName, "client.")
	if id == "admin" || id == own || strings.HasPrefix(id, "client.") {
		return "", errors.Errorf(errReserved, id)
	}
	return "client." + id, nil
}

// targets resolves the grants: pools must exist, subvolumes are read from Ceph (their path,
// filesystem and RADOS namespace).
func (e *external) targets(ctx context.Context, mg *v1alpha1.CephClient) ([]target, error) {
	snap, err := e.c.Snapshot(ctx)
	if err != nil {
		return nil, errors.Wrap(err, errObserve)
	}
	out := make([]target, 0, len(mg.Spec.ForProvider.Grants))
	for i, g := range mg.Spec.ForProvider.Grants {
		ro := site.Deref(g.ReadOnly)
		if g.SubvolumeRef != nil {
			t, err := e.subvolume(ctx, i, mg.GetNamespace(), g.SubvolumeRef.Name)
			if err != nil {
				return nil, err
			}
			t.ReadOnly = ro
			out = append(out, t)
			continue
		}
		pool := site.Deref(g.Pool)
		if pool == "" {
			return nil, errors.Errorf(errNoPoolSet, i)
		}
		if snap.Pools[pool] == nil {
			return nil, errors.Errorf(errNoPool, i, pool)
		}
		out = append(out, target{Pool: pool, Namespace: site.Deref(g.Namespace), RBD: site.Deref(g.Profile) == "rbd", ReadOnly: ro})
	}
	return out, nil
}

func (e *external) subvolume(ctx context.Context, i int, ns, name string) (target, error) {
	sv := &v1alpha1.Subvolume{}
	if err := e.d.Kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, sv); err != nil {
		return target{}, errors.Wrapf(err, errSubvolMR, i, name)
	}
	svName, err := site.ExternalName(sv)
	if err != nil {
		return target{}, err
	}
	fs, group := sv.Spec.ForProvider.Filesystem, site.Deref(sv.Spec.ForProvider.Group)
	info, err := e.c.GetSubvolume(fs, group, svName)
	shown := group
	if shown == "" {
		shown = "_nogroup"
	}
	if ceph.IsNotFound(err) {
		return target{}, errors.Errorf(errSubvolNew, i, fs, shown, svName, name)
	}
	if err != nil {
		return target{}, errors.Wrapf(err, errSubvol, i, fs, shown, svName, name)
	}
	return target{FS: fs, Path: info.Path, DataPool: info.DataPool, PoolNamespace: info.PoolNamespace}, nil
}

func (e *external) details(a *ceph.AuthEntity) managed.ConnectionDetails {
	id := strings.TrimPrefix(a.Entity, "client.")
	return managed.ConnectionDetails{
		"key":        []byte(a.Key),
		"clientName": []byte(id),
		"entity":     []byte(a.Entity),
		"monitors":   []byte(e.monitors),
		"keyring":    []byte(fmt.Sprintf("[%s]\n\tkey = %s\n", a.Entity, a.Key)),
	}
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.CephClient) (managed.ExternalObservation, error) {
	entity, err := e.entity(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	a, err := e.c.GetAuth(entity)
	if ceph.IsNotFound(err) {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errObserve)
	}
	mg.Status.AtProvider = v1alpha1.CephClientObservation{Entity: a.Entity, Caps: a.Caps}
	mg.SetConditions(xpv2.Available())
	o := managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ConnectionDetails: e.details(a)}
	if meta.WasDeleted(mg) { // grants need not resolve for the client to go
		return o, nil
	}
	ts, err := e.targets(ctx, mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	o.ResourceUpToDate, o.Diff = compareCaps(buildCaps(ts), a.Caps)
	return o, nil
}

func (e *external) Create(ctx context.Context, mg *v1alpha1.CephClient) (managed.ExternalCreation, error) {
	entity, err := e.entity(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	ts, err := e.targets(ctx, mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	mg.SetConditions(xpv2.Creating())
	return managed.ExternalCreation{}, errors.Wrap(e.c.CreateAuth(entity, buildCaps(ts)), errCreate)
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.CephClient) (managed.ExternalUpdate, error) {
	entity, err := e.entity(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	ts, err := e.targets(ctx, mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	return managed.ExternalUpdate{}, errors.Wrap(e.c.SetAuthCaps(entity, buildCaps(ts)), errCaps)
}

func (e *external) Delete(ctx context.Context, mg *v1alpha1.CephClient) (managed.ExternalDelete, error) {
	entity, err := e.entity(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	sessions, err := e.c.CephFSSessions(ctx, strings.TrimPrefix(entity, "client."))
	if err != nil { // never delete on a failed read
		return managed.ExternalDelete{}, errors.Wrap(err, errInUseRead)
	}
	if len(sessions) > 0 {
		var on []string
		for mds, n := range sessions {
			on = append(on, fmt.Sprintf("%d on %s", n, mds))
		}
		sort.Strings(on)
		err := site.DeletionBlocked(mg, fmt.Sprintf("cephx client %s is not deleted: it is in use, with open CephFS sessions (%s); "+
			"unmount them (or evict them: ceph tell mds.<name> client evict id=<session id>), or remove Delete from spec.managementPolicies to keep the client",
			entity, strings.Join(on, ", ")))
		e.d.Record.Event(mg, event.Warning(site.EventDeletionBlocked, err))
		return managed.ExternalDelete{}, err
	}
	err = e.c.RemoveAuth(entity)
	if ceph.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrap(err, errDelete)
}

func (e *external) Disconnect(context.Context) error { return nil }
