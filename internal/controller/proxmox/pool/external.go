package pool

import (
	"context"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

const (
	errBadName = "external name %q is not a Proxmox pool id: a letter first, then letters, digits, '.', '-' or '_'"
	errRead    = "cannot read pool %q"
	errCreate  = "cannot create pool %q"
	errUpdate  = "cannot set the comment of pool %q"
	errDelete  = "cannot delete pool %q"
)

// poolID is PVE's pve-poolid for a top-level pool, starting with a letter
// as PVE requires of a new pool. Nested pools (a/b) are not managed.
var poolID = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*$`)

type external struct{ c *proxmox.Client }

func (e *external) Disconnect(context.Context) error { return nil }

func id(mg *v1alpha1.Pool) (string, error) {
	n := meta.GetExternalName(mg)
	if n == "" {
		n = mg.GetName()
	}
	if !poolID.MatchString(n) {
		return "", errors.Errorf(errBadName, n)
	}
	return n, nil
}

// poolInfo is a pool as PVE lists it.
type poolInfo = proxmox.ResourcePool

// read returns the pool with its members; ok is false when it does not exist.
func (e *external) read(ctx context.Context, pid string) (poolInfo, bool, error) {
	p, ok, err := e.c.Pool(ctx, pid)
	return p, ok, errors.Wrapf(err, errRead, pid)
}

// observe fills the status from a pool: guests by id, storages once each
// (PVE lists a storage once per node).
func observe(p poolInfo, obs *v1alpha1.PoolObservation) {
	obs.Comment = p.Comment
	obs.VMIDs, obs.Storages = nil, nil
	seen := map[string]bool{}
	for _, m := range p.Members {
		switch m.Type {
		case "storage":
			if !seen[m.Storage] {
				seen[m.Storage] = true
				obs.Storages = append(obs.Storages, m.Storage)
			}
		default:
			if n, err := strconv.ParseInt(proxmox.String(m.VMID), 10, 64); err == nil {
				obs.VMIDs = append(obs.VMIDs, n)
			}
		}
	}
	sort.Slice(obs.VMIDs, func(i, j int) bool { return obs.VMIDs[i] < obs.VMIDs[j] })
	sort.Strings(obs.Storages)
	obs.MemberCount = len(obs.VMIDs) + len(obs.Storages)
}

// commentDiffers tells whether the spec manages the comment and PVE's differs.
func commentDiffers(want *string, have string) bool {
	return want != nil && strings.TrimSpace(*want) != strings.TrimSpace(have)
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.Pool) (managed.ExternalObservation, error) {
	pid, err := id(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	p, ok, err := e.read(ctx, pid)
	if err != nil || !ok {
		return managed.ExternalObservation{ResourceExists: false}, err
	}
	observe(p, &mg.Status.AtProvider)
	mg.SetConditions(xpv2.Available())
	if commentDiffers(mg.Spec.ForProvider.Comment, p.Comment) {
		return managed.ExternalObservation{ResourceExists: true, Diff: "comment differs"}, nil
	}
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, nil
}

func (e *external) Create(ctx context.Context, mg *v1alpha1.Pool) (managed.ExternalCreation, error) {
	pid, err := id(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	comment := ""
	if c := mg.Spec.ForProvider.Comment; c != nil {
		comment = *c
	}
	return managed.ExternalCreation{}, errors.Wrapf(e.c.CreatePool(ctx, pid, comment), errCreate, pid)
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.Pool) (managed.ExternalUpdate, error) {
	pid, err := id(mg)
	if err != nil || mg.Spec.ForProvider.Comment == nil {
		return managed.ExternalUpdate{}, err
	}
	err = e.c.SetPoolComment(ctx, pid, *mg.Spec.ForProvider.Comment)
	return managed.ExternalUpdate{}, errors.Wrapf(err, errUpdate, pid)
}

// Delete removes the pool. PVE refuses while it still holds guests or
// storages; its message shows in the Synced condition until they are gone.
func (e *external) Delete(ctx context.Context, mg *v1alpha1.Pool) (managed.ExternalDelete, error) {
	pid, err := id(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	err = e.c.DeletePool(ctx, pid)
	if proxmox.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrapf(err, errDelete, pid)
}
