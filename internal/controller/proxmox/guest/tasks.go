package guest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

const (
	errTask       = "cannot read task %s"
	errTaskFailed = "task %s failed: %s"
	errView       = "cannot read the cluster view"
	errDestroy    = "cannot delete guest %d"
	reasonTask    = "task %s is running"
	errConfirm    = "cannot confirm that guest %d is gone"
	errNotInView  = "PVE says guest id %d is taken, but the cluster view does not list it yet"
	errHidden     = "guest %d exists but the cluster view hides it from this token: it lacks VM.Audit on /vms/%d"
	errIDTaken    = "guest id %d (spec.forProvider.vmid) belongs to another guest (name %q, tags %q): choose a free id or remove the field"
)

// CheckPending looks at mg's pending task without waiting for it; pending
// and lastErr are mg's status fields of that name. While it
// runs, done is false and obs says the resource exists and is up to date
// (so nothing else is attempted). A failed task's exit status is kept in
// status and shown once as the error; then the record is cleared and
// lateInit says whether an annotation changed that must be persisted.
func CheckPending(ctx context.Context, c *proxmox.Client, mg resource.Managed, pending, lastErr *string) (done bool, lateInit bool, obs managed.ExternalObservation, err error) {
	upid := PendingTask(mg, *pending)
	if upid == "" {
		return true, false, obs, nil
	}
	t, err := c.Task(ctx, upid)
	if proxmox.IsTaskGone(err) {
		// PVE no longer knows the task (its log was rotated away, or the
		// node's task index lost it): its outcome can only be learnt from
		// what it left behind, so forget it and observe the guest.
		c.InvalidateView()
		return true, ClearPendingTask(mg, pending), obs, nil
	}
	if err != nil {
		return false, false, obs, errors.Wrapf(err, errTask, upid)
	}
	if t.Running() {
		// The reconciler marks a resource Creating after the create that
		// started the task: it stays so until the task ends, rather than
		// cost a status write to say the same in other words.
		if mg.GetCondition(xpv2.TypeReady).Reason != xpv2.ReasonCreating {
			mg.SetConditions(TaskRunning(upid))
		}
		return false, false, managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, nil
	}
	c.InvalidateView()
	if t.Failed() {
		*lastErr = t.ExitStatus
		// Show PVE's error once in the conditions; the next reconcile
		// observes what the failed task left behind (a failed clone leaves
		// nothing, so the create is retried with the same id).
		if c.ReportOnce(upid) {
			return false, false, obs, errors.Errorf(errTaskFailed, upid, t.ExitStatus)
		}
	}
	return true, ClearPendingTask(mg, pending), obs, nil
}

// TaskRunning is the Ready condition of a resource while its task upid runs.
func TaskRunning(upid string) xpv2.Condition {
	return xpv2.Unavailable().WithMessage(fmt.Sprintf(reasonTask, upid))
}

// Find returns the guest with id from the cluster view; nil when it is gone
// or id is 0 (none saved yet).
func Find(ctx context.Context, c *proxmox.Client, id int) (*proxmox.Guest, error) {
	if id == 0 {
		return nil, nil
	}
	g, _, err := c.Guest(ctx, id)
	if err != nil {
		return nil, errors.Wrap(err, errView)
	}
	return g, nil
}

// Destroy moves guest g towards deletion and returns the task it started: a
// running guest is stopped first (PVE refuses to destroy it; the next pass
// deletes), a stopped one is destroyed with its disks and references purged.
func Destroy(ctx context.Context, c *proxmox.Client, g *proxmox.Guest) (string, error) {
	id := int(g.VMID)
	defer func() { c.Forget(id); c.InvalidateView() }()
	if g.Status == "running" {
		upid, err := c.SetPower(ctx, g.Ref(), proxmox.PowerStop, 0)
		return upid, errors.Wrapf(err, errDestroy, id)
	}
	upid, err := c.Destroy(ctx, g.Ref())
	return upid, errors.Wrapf(err, errDestroy, id)
}

// Locate finds mg's guest for Observe. Under a saved id (id != 0) the guest
// must be ours (Owner): another writer's guest makes mg forget the id so it
// is created anew (an id mg chose itself, explicit, is never given up: that
// is an error the user must resolve), an undecided one is waited for. A
// saved id missing from the view is only taken as gone once PVE confirms no
// guest has it (IDFree). Without an id, a guest carrying mg's owner tag is
// adopted (its id becomes the external name), looked for in a view no older
// than FreshView before mg is declared absent. A non-nil end is the
// observation Observe returns at once; lateInit says the external name
// changed and must be persisted. locked formats the condition message while
// the guest is locked.
func Locate(ctx context.Context, c *proxmox.Client, mg resource.Managed, id int, explicit bool, name, locked string) (g *proxmox.Guest, lateInit bool, end *managed.ExternalObservation, err error) {
	if id == 0 {
		return adopt(ctx, c, mg)
	}
	g, ok, err := c.Guest(ctx, id)
	if err != nil {
		return nil, false, nil, errors.Wrap(err, errView)
	}
	if !ok {
		if g, err = confirmGone(ctx, c, id); g == nil || err != nil {
			return nil, false, nil, err
		}
	}
	switch Owner(mg, g, name) {
	case NotOurs:
		if explicit {
			return nil, false, nil, errors.Errorf(errIDTaken, id, g.Name, g.Tags)
		}
		// Our saved id now names another writer's guest (ours failed, or
		// lost an id race, and the id went to someone else): forget it; a
		// guest of ours under another id is adopted by its owner tag, else
		// the resource is created anew.
		meta.SetExternalName(mg, "")
		if own, _, _, err := adopt(ctx, c, mg); err != nil || own != nil {
			return own, true, nil, err
		}
		return nil, false, &managed.ExternalObservation{ResourceExists: false, ResourceLateInitialized: true}, nil
	case Undecided:
		mg.SetConditions(xpv2.Unavailable().WithMessage(fmt.Sprintf(locked, g.Lock)))
		return nil, false, &managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, nil
	}
	return g, false, nil, nil
}

// FreshView is how old a view may be when it says a resource without an id
// has no guest yet: an older one is refreshed before the create it leads to.
const FreshView = time.Second

// adopt returns the guest carrying mg's owner tag (a guest of ours whose id
// was never saved), setting its id as the external name.
func adopt(ctx context.Context, c *proxmox.Client, mg resource.Managed) (*proxmox.Guest, bool, *managed.ExternalObservation, error) {
	view, err := c.View(ctx)
	if err != nil {
		return nil, false, nil, errors.Wrap(err, errView)
	}
	tag := OwnerTag(string(mg.GetUID()))
	owned := view.Tagged(tag)
	if len(owned) == 0 && time.Since(view.Fetched) > FreshView {
		c.InvalidateView()
		v, err := c.View(ctx)
		if err != nil {
			return nil, false, nil, errors.Wrap(err, errView)
		}
		owned = v.Tagged(tag)
	}
	if len(owned) == 0 {
		return nil, false, nil, nil
	}
	sort.Slice(owned, func(i, j int) bool { return owned[i].VMID < owned[j].VMID })
	g := owned[0]
	meta.SetExternalName(mg, strconv.Itoa(int(g.VMID)))
	return g, true, nil, nil
}

// confirmGone is called when id is missing from the view: nil, nil only
// when PVE confirms no guest has id; the guest when a fresh view shows it
// after all; an error when PVE says the id is taken but no view shows it
// yet, or when either answer could not be had.
func confirmGone(ctx context.Context, c *proxmox.Client, id int) (*proxmox.Guest, error) {
	free, err := c.IDFree(ctx, id)
	if err != nil {
		return nil, errors.Wrapf(err, errConfirm, id)
	}
	if free {
		return nil, nil
	}
	c.InvalidateView()
	view, err := c.View(ctx)
	if err != nil {
		return nil, errors.Wrap(err, errView)
	}
	if g, ok := view.Guest(id); ok {
		return g, nil
	}
	// PVE leaves out of /cluster/resources what the caller may not audit:
	// say so when that is why, rather than wait for a view that never comes.
	if lacks, err := c.Lacks(ctx, fmt.Sprintf("/vms/%d", id), "VM.Audit"); err == nil && len(lacks) > 0 {
		return nil, errors.Errorf(errHidden, id, id)
	}
	return nil, errors.Errorf(errNotInView, id)
}
