package virtualmachine

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
)

const errCloneSource = "clone source VM %d not found in the cluster"

func (e *external) Create(ctx context.Context, mg *v1alpha1.VirtualMachine) (managed.ExternalCreation, error) {
	p := mg.Spec.ForProvider
	id, err := vmid(mg) // an id saved by an earlier attempt is reused
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	if p.VMID != nil {
		id = int(*p.VMID)
	}
	// Whatever happens below (a lost response included), the next Observe
	// must see the cluster as it is now, not a view from before the write.
	defer e.c.InvalidateView()
	var taken []int
	for range maxIDAttempts {
		if id == 0 {
			if id, err = e.c.NextID(ctx); err != nil {
				return managed.ExternalCreation{}, errors.Wrap(err, errNextID)
			}
		}
		// Save the id before creating: after a crash or a lost response the
		// next Observe finds the guest by this id instead of creating another.
		if meta.GetExternalName(mg) != strconv.Itoa(id) {
			meta.SetExternalName(mg, strconv.Itoa(id))
			if err := e.kube.Update(ctx, mg); err != nil {
				return managed.ExternalCreation{}, errors.Wrap(err, errReserve)
			}
		}
		upid, err := e.create(ctx, mg, id)
		if err == nil {
			meta.AddAnnotations(mg, map[string]string{guest.AnnotationPendingTask: upid})
			mg.Status.AtProvider.PendingTask = upid
			mg.Status.AtProvider.LastTaskError = ""
			return managed.ExternalCreation{}, nil
		}
		if !proxmox.IsAlreadyExists(err) {
			return managed.ExternalCreation{}, errors.Wrapf(err, errCreate, id)
		}
		// The id is in use: by our own earlier attempt whose answer was
		// lost (then it is ours to keep), or by another writer (nextid is
		// only a hint).
		if mine, err := e.ownsID(ctx, mg, id); err != nil || mine {
			return managed.ExternalCreation{}, err
		}
		if p.VMID != nil {
			return managed.ExternalCreation{}, errors.Wrapf(err, errCreate, id)
		}
		taken = append(taken, id)
		id = 0
	}
	return managed.ExternalCreation{}, errors.Errorf(errTooManyIDs, taken)
}

// ownsID tells whether the guest that holds id, seen in a fresh view, is mg's.
func (e *external) ownsID(ctx context.Context, mg *v1alpha1.VirtualMachine, id int) (bool, error) {
	e.c.InvalidateView()
	view, err := e.c.View(ctx)
	if err != nil {
		return false, errors.Wrap(err, errView)
	}
	g, ok := view.Guest(id)
	return ok && owner(mg, g) != guest.NotOurs, nil
}

// create starts the clone or create task for VM id and returns its UPID.
func (e *external) create(ctx context.Context, mg *v1alpha1.VirtualMachine, id int) (string, error) {
	p := mg.Spec.ForProvider
	var upid string
	if c := p.Clone; c != nil {
		view, err := e.c.View(ctx)
		if err != nil {
			return "", errors.Wrap(err, errView)
		}
		src, ok := view.Guest(int(c.SourceVMID))
		if !ok {
			return "", errors.Errorf(errCloneSource, c.SourceVMID)
		}
		params := map[string]any{"newid": id, "name": vmName(mg), "target": p.Node,
			"full": proxmox.Bool(c.Full == nil || *c.Full) == "1"}
		if c.Storage != nil {
			params["storage"] = *c.Storage
		}
		if p.Pool != nil {
			params["pool"] = *p.Pool
		}
		err = e.c.Post(ctx, proxmox.GuestPath(src.Node, "qemu", int(c.SourceVMID))+"/clone", params, &upid)
		return upid, err
	}
	// An empty VM gets its whole config at create; a clone gets it by Update
	// once the clone task is done.
	want := wantConfig(p, vmName(mg), guest.OwnerTag(string(mg.GetUID())))
	params := map[string]any{"vmid": id}
	for k, v := range want.config {
		params[k] = v
	}
	if set, _ := diff(want, map[string]any{}); set["sshkeys"] != nil {
		params["sshkeys"] = set["sshkeys"]
	}
	for _, d := range want.disks {
		params[d.Slot] = fmt.Sprintf("%s:%d", d.Storage, d.SizeGiB)
	}
	if p.Pool != nil {
		params["pool"] = *p.Pool
	}
	err := e.c.Post(ctx, fmt.Sprintf("/nodes/%s/qemu", p.Node), params, &upid)
	return upid, err
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.VirtualMachine) (managed.ExternalUpdate, error) {
	g, err := e.guest(ctx, mg)
	if err != nil || g == nil {
		return managed.ExternalUpdate{}, err
	}
	id := int(g.VMID)
	defer func() { e.c.Forget(id); e.c.InvalidateView() }()
	cfg, _, _, err := e.c.GuestConfig(ctx, g, mg.GetGeneration())
	if err != nil {
		return managed.ExternalUpdate{}, errors.Wrap(err, errConfig)
	}
	path := proxmox.GuestPath(g.Node, "qemu", id)
	set, grow := diff(e.want(mg), cfg)
	if len(set) > 0 {
		// The digest makes PVE refuse the change if someone else changed
		// the config since it was read; the next reconcile re-reads it.
		// GuestConfig never returns a config without one.
		set["digest"] = cfg["digest"]
		if err := e.c.Put(ctx, path+"/config", set, nil); err != nil {
			return managed.ExternalUpdate{}, errors.Wrapf(err, errUpdate, id)
		}
	}
	if err := e.updateFirewall(ctx, mg, g); err != nil {
		return managed.ExternalUpdate{}, err
	}
	for _, r := range grow {
		var out any
		if err := e.c.Put(ctx, path+"/resize", map[string]any{"disk": r.slot, "size": fmt.Sprintf("%dG", r.sizeGiB)}, &out); err != nil {
			return managed.ExternalUpdate{}, errors.Wrapf(err, errResize, r.slot, id)
		}
		if upid, ok := out.(string); ok && strings.HasPrefix(upid, "UPID:") {
			mg.Status.AtProvider.PendingTask = upid
			return managed.ExternalUpdate{}, nil
		}
	}
	running := g.Status == "running"
	switch {
	case wantRunning(mg) && !running:
		return managed.ExternalUpdate{}, e.power(ctx, mg, path, "start", nil)
	case !wantRunning(mg) && running:
		return managed.ExternalUpdate{}, e.power(ctx, mg, path, "shutdown", map[string]any{"forceStop": true, "timeout": 60})
	}
	return managed.ExternalUpdate{}, nil
}

// power starts a start/stop/shutdown task and records it as pending.
func (e *external) power(ctx context.Context, mg *v1alpha1.VirtualMachine, path, action string, params map[string]any) error {
	upid, err := guest.Power(ctx, e.c, path, action, params)
	if err != nil {
		return errors.Wrapf(err, errPower, action, mg.Status.AtProvider.VMID)
	}
	mg.Status.AtProvider.PendingTask = upid
	return nil
}

func (e *external) Delete(ctx context.Context, mg *v1alpha1.VirtualMachine) (managed.ExternalDelete, error) {
	if pendingTask(mg) != "" {
		return managed.ExternalDelete{}, nil // Observe waits for it first.
	}
	g, err := e.guest(ctx, mg)
	if err != nil || g == nil {
		return managed.ExternalDelete{}, err
	}
	upid, err := guest.Destroy(ctx, e.c, g)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.Status.AtProvider.PendingTask = upid
	return managed.ExternalDelete{}, nil
}

// guest finds the VM of mg in the cluster view; nil when it is gone.
func (e *external) guest(ctx context.Context, mg *v1alpha1.VirtualMachine) (*proxmox.Guest, error) {
	id, err := vmid(mg)
	if err != nil {
		return nil, err
	}
	return guest.Find(ctx, e.c, id)
}
