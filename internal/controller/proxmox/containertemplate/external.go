package containertemplate

import (
	"context"
	"fmt"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
)

const (
	errBadVolID = "external name %q is not a container template volid (storage:vztmpl/file)"
	errList     = "cannot list the vztmpl content of storage %s on node %s"
	errDownload = "cannot download appliance %s into storage %s on node %s"
	errDelete   = "cannot delete %s on node %s"
)

type external struct{ c *proxmox.Client }

func (e *external) Disconnect(context.Context) error { return nil }

// specVolID is the volid the spec's download produces.
func specVolID(p v1alpha1.ContainerTemplateParameters) string {
	return storageOf(p) + ":vztmpl/" + p.Template
}

func storageOf(p v1alpha1.ContainerTemplateParameters) string {
	if p.Storage == "" {
		return "local"
	}
	return p.Storage
}

// volID is the template's volid: the external name, or the spec's volid
// while no external name was set (crossplane's default is metadata.name).
func volID(mg *v1alpha1.ContainerTemplate) (volid, storage string, err error) {
	en := meta.GetExternalName(mg)
	if en == "" || en == mg.GetName() {
		en = specVolID(mg.Spec.ForProvider)
	}
	sid, file, ok := strings.Cut(en, ":")
	if !ok || sid == "" || !strings.HasPrefix(file, "vztmpl/") || len(file) == len("vztmpl/") {
		return "", "", errors.Errorf(errBadVolID, en)
	}
	return en, sid, nil
}

// content is one entry of a storage's content listing.
// find looks volid up in the node's storage; nil when it is not there.
func (e *external) find(ctx context.Context, node, storage, volid string) (*proxmox.Volume, error) {
	list, err := e.c.StorageContent(ctx, node, storage, "vztmpl")
	if err != nil {
		return nil, errors.Wrapf(err, errList, storage, node)
	}
	for i := range list {
		if list[i].VolID == volid {
			return &list[i], nil
		}
	}
	return nil, nil
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.ContainerTemplate) (managed.ExternalObservation, error) {
	// A download or delete task still running is waited for without
	// blocking a worker; a failed one shows PVE's error once.
	done, lateInit, waiting, err := guest.CheckPending(ctx, e.c, mg, &mg.Status.AtProvider.PendingTask, &mg.Status.AtProvider.LastTaskError)
	if !done || err != nil {
		return waiting, err
	}
	volid, storage, err := volID(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	if meta.GetExternalName(mg) != volid {
		meta.SetExternalName(mg, volid)
		lateInit = true
	}
	f, err := e.find(ctx, mg.Spec.ForProvider.Node, storage, volid)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	if f == nil {
		mg.Status.AtProvider.VolID, mg.Status.AtProvider.Size, mg.Status.AtProvider.Format = "", 0, ""
		return managed.ExternalObservation{ResourceExists: false, ResourceLateInitialized: lateInit}, nil
	}
	mg.Status.AtProvider.VolID, mg.Status.AtProvider.Size, mg.Status.AtProvider.Format = f.VolID, f.Size, f.Format
	mg.SetConditions(xpv2.Available())
	// The spec is immutable and a file has nothing to update: an imported
	// volid that differs from the spec's is reported, not replaced.
	diff := ""
	if want := specVolID(mg.Spec.ForProvider); want != volid {
		diff = fmt.Sprintf("external name %s is not the spec's %s", volid, want)
	}
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ResourceLateInitialized: lateInit, Diff: diff}, nil
}

func (e *external) Create(ctx context.Context, mg *v1alpha1.ContainerTemplate) (managed.ExternalCreation, error) {
	p := mg.Spec.ForProvider
	upid, err := e.c.DownloadAppliance(ctx, p.Node, storageOf(p), p.Template)
	if err != nil {
		return managed.ExternalCreation{}, errors.Wrapf(err, errDownload, p.Template, storageOf(p), p.Node)
	}
	meta.SetExternalName(mg, specVolID(p))
	meta.AddAnnotations(mg, map[string]string{guest.AnnotationPendingTask: upid})
	mg.Status.AtProvider.PendingTask = upid
	mg.Status.AtProvider.LastTaskError = ""
	return managed.ExternalCreation{}, nil
}

// Update has nothing to do: the spec is immutable and a file has no settings.
func (e *external) Update(context.Context, *v1alpha1.ContainerTemplate) (managed.ExternalUpdate, error) {
	return managed.ExternalUpdate{}, nil
}

func (e *external) Delete(ctx context.Context, mg *v1alpha1.ContainerTemplate) (managed.ExternalDelete, error) {
	if pendingTask(mg) != "" {
		return managed.ExternalDelete{}, nil // Observe waits for it first.
	}
	volid, storage, err := volID(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	node := mg.Spec.ForProvider.Node
	upid, err := e.c.DeleteVolume(ctx, node, storage, volid)
	if err != nil {
		return managed.ExternalDelete{}, errors.Wrapf(err, errDelete, volid, node)
	}
	mg.Status.AtProvider.PendingTask = upid
	return managed.ExternalDelete{}, nil
}

func pendingTask(mg *v1alpha1.ContainerTemplate) string {
	return guest.PendingTask(mg, mg.Status.AtProvider.PendingTask)
}
