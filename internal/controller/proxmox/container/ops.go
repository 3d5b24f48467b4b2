package container

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guestfw"
)

const (
	errNoTemplate = "spec.forProvider.osTemplate is not set: its ContainerTemplate reference is not resolved yet"
	errNextID     = "cannot get a free container id"
	errReserve    = "cannot save the container id before creating it"
	errCreate     = "cannot create container %d"
	errUpdate     = "cannot update container %d"
	errResize     = "cannot grow the root volume of container %d"
	errConvert    = "cannot convert container %d to a template"
	errPower      = "cannot %s container %d"
	errTooManyIDs = "container ids %v were all taken by other writers"
	maxIDAttempts = 3
)

func (e *external) Create(ctx context.Context, mg *v1alpha1.Container) (managed.ExternalCreation, error) {
	p := mg.Spec.ForProvider
	if p.OSTemplate == nil || *p.OSTemplate == "" {
		return managed.ExternalCreation{}, errors.New(errNoTemplate)
	}
	id, err := ctid(mg) // an id saved by an earlier attempt is reused
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	if p.VMID != nil {
		id = int(*p.VMID)
	}
	defer e.c.InvalidateView()
	var taken []int
	for range maxIDAttempts {
		if id == 0 {
			if id, err = e.c.NextID(ctx); err != nil {
				return managed.ExternalCreation{}, errors.Wrap(err, errNextID)
			}
		}
		// Save the id before creating: after a crash or a lost response the
		// next Observe finds the container by this id instead of creating another.
		if meta.GetExternalName(mg) != strconv.Itoa(id) {
			meta.SetExternalName(mg, strconv.Itoa(id))
			if err := e.kube.Update(ctx, mg); err != nil {
				return managed.ExternalCreation{}, errors.Wrap(err, errReserve)
			}
		}
		var upid string
		err := e.c.Post(ctx, fmt.Sprintf("/nodes/%s/lxc", url.PathEscape(p.Node)), createParams(mg, id), &upid)
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
		// lost (then it is ours to keep), or by another writer.
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

// createParams is the whole config of a new container: the settings that
// can change later plus those fixed at creation (template, root volume,
// privileges, pool).
func createParams(mg *v1alpha1.Container, id int) map[string]any {
	p := mg.Spec.ForProvider
	params := map[string]any{"vmid": id, "ostemplate": *p.OSTemplate,
		"rootfs":       fmt.Sprintf("%s:%d", p.RootFS.Storage, p.RootFS.SizeGiB),
		"unprivileged": p.Unprivileged == nil || *p.Unprivileged}
	for k, v := range wantConfig(p, hostname(mg), ownerTag(mg)).config {
		params[k] = v
	}
	if p.Pool != nil {
		params["pool"] = *p.Pool
	}
	return params
}

// ownsID tells whether the guest that holds id, seen in a fresh view, is mg's.
func (e *external) ownsID(ctx context.Context, mg *v1alpha1.Container, id int) (bool, error) {
	e.c.InvalidateView()
	view, err := e.c.View(ctx)
	if err != nil {
		return false, errors.Wrap(err, errView)
	}
	g, ok := view.Guest(id)
	return ok && owner(mg, g) != guest.NotOurs, nil
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.Container) (managed.ExternalUpdate, error) {
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
	path := proxmox.GuestPath(g.Node, "lxc", id)
	set, grow := diff(wantConfig(mg.Spec.ForProvider, hostname(mg), ownerTag(mg)), cfg)
	if len(set) > 0 {
		// The digest makes PVE refuse the change if the config changed
		// since it was read; the next reconcile re-reads it. GuestConfig
		// never returns a config without one.
		set["digest"] = cfg["digest"]
		if err := e.c.Put(ctx, path+"/config", set, nil); err != nil {
			return managed.ExternalUpdate{}, errors.Wrapf(err, errUpdate, id)
		}
	}
	if err := guestfw.Apply(ctx, e.c, fwSpec(mg), g); err != nil {
		return managed.ExternalUpdate{}, err
	}
	if grow > 0 {
		if done, err := e.task(ctx, mg, "PUT", path+"/resize", map[string]any{"disk": "rootfs", "size": fmt.Sprintf("%dG", grow)}); err != nil || !done {
			return managed.ExternalUpdate{}, errors.Wrapf(err, errResize, id)
		}
	}
	running := g.Status == "running"
	switch {
	case wantTemplate(mg) && g.Template != 1:
		if running {
			// PVE converts only a stopped container.
			return managed.ExternalUpdate{}, e.power(ctx, mg, path, "shutdown", map[string]any{"forceStop": true, "timeout": 60})
		}
		_, err := e.task(ctx, mg, "POST", path+"/template", nil)
		return managed.ExternalUpdate{}, errors.Wrapf(err, errConvert, id)
	case wantRunning(mg) && !running:
		return managed.ExternalUpdate{}, e.power(ctx, mg, path, "start", nil)
	case !wantRunning(mg) && running:
		return managed.ExternalUpdate{}, e.power(ctx, mg, path, "shutdown", map[string]any{"forceStop": true, "timeout": 60})
	}
	return managed.ExternalUpdate{}, nil
}

// task makes a call that PVE answers either at once or with a task; a
// task is recorded as pending and done is false.
func (e *external) task(ctx context.Context, mg *v1alpha1.Container, method, path string, params map[string]any) (done bool, err error) {
	var out any
	if method == "POST" {
		err = e.c.Post(ctx, path, params, &out)
	} else {
		err = e.c.Put(ctx, path, params, &out)
	}
	if err != nil {
		return false, err
	}
	if upid, ok := out.(string); ok && strings.HasPrefix(upid, "UPID:") {
		mg.Status.AtProvider.PendingTask = upid
		return false, nil
	}
	return true, nil
}

// power starts a start/stop/shutdown task and records it as pending.
func (e *external) power(ctx context.Context, mg *v1alpha1.Container, path, action string, params map[string]any) error {
	upid, err := guest.Power(ctx, e.c, path, action, params)
	if err != nil {
		return errors.Wrapf(err, errPower, action, mg.Status.AtProvider.VMID)
	}
	mg.Status.AtProvider.PendingTask = upid
	return nil
}

func (e *external) Delete(ctx context.Context, mg *v1alpha1.Container) (managed.ExternalDelete, error) {
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

// guest finds the container of mg in the cluster view; nil when it is gone.
func (e *external) guest(ctx context.Context, mg *v1alpha1.Container) (*proxmox.Guest, error) {
	id, err := ctid(mg)
	if err != nil {
		return nil, err
	}
	return guest.Find(ctx, e.c, id)
}
