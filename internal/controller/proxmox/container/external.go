package container

import (
	"context"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guestfw"
)

const (
	errNoTemplate = "spec.forProvider.osTemplate is not set: its ContainerTemplate reference is not resolved yet"
	errUpdate     = "cannot update container %d"
	errResize     = "cannot grow the root volume of container %d"
	errConvert    = "cannot convert container %d to a template"
)

// kind is what Containers add to the shared guest lifecycle: an LXC guest
// created from a template file, its config mapping, root volume, firewall,
// power, interfaces and conversion to a template.
type kind struct{}

func (kind) Type() string                         { return "lxc" }
func (kind) Name(mg *v1alpha1.Container) string   { return hostname(mg) }
func (kind) SpecID(mg *v1alpha1.Container) *int64 { return mg.Spec.ForProvider.VMID }
func (kind) Status(mg *v1alpha1.Container) guest.Status {
	o := &mg.Status.AtProvider
	return guest.Status{PendingTask: &o.PendingTask, LastTaskError: &o.LastTaskError, LastVerified: &o.LastVerified, Lock: &o.Lock}
}

func (kind) Seen(mg *v1alpha1.Container, g *proxmox.Guest) {
	o := &mg.Status.AtProvider
	o.VMID, o.Node, o.Status, o.Lock, o.Template = int64(g.VMID), g.Node, g.Status, g.Lock, g.Template == 1
}

// ownerTag is the owner tag of every guest kind, so an id
// taken by any of the provider's resources is recognised as not ours.
func ownerTag(mg *v1alpha1.Container) string { return guest.OwnerTag(string(mg.GetUID())) }

func hostname(mg *v1alpha1.Container) string {
	if n := mg.Spec.ForProvider.Hostname; n != nil {
		return *n
	}
	return mg.GetName()
}

// fwSpec is the container's firewall spec in the form guestfw manages (nil
// when the spec leaves the firewall alone).
func fwSpec(mg *v1alpha1.Container) *guestfw.Spec {
	fw := mg.Spec.ForProvider.Firewall
	if fw == nil {
		return nil
	}
	return &guestfw.Spec{Enabled: fw.Enabled, PolicyIn: fw.PolicyIn, PolicyOut: fw.PolicyOut, SecurityGroups: fw.SecurityGroups, Rules: fw.Rules, IPSets: fw.IPSets}
}

func wantTemplate(mg *v1alpha1.Container) bool {
	return mg.Spec.ForProvider.ConvertToTemplate != nil && *mg.Spec.ForProvider.ConvertToTemplate
}

func wantRunning(mg *v1alpha1.Container) bool {
	return mg.Spec.ForProvider.PowerState != v1alpha1.PowerStateStopped && !wantTemplate(mg)
}

// Create starts the create task with the whole config: the settings that
// can change later plus those fixed at creation (template, root volume,
// privileges, pool).
func (kind) Create(ctx context.Context, c *proxmox.Client, mg *v1alpha1.Container, id int) (string, error) {
	p := mg.Spec.ForProvider
	if p.OSTemplate == nil || *p.OSTemplate == "" {
		return "", errors.New(errNoTemplate)
	}
	return c.CreateGuest(ctx, p.Node, "lxc", id, createParams(mg))
}

func createParams(mg *v1alpha1.Container) proxmox.Params {
	p := mg.Spec.ForProvider
	params := proxmox.Params{"ostemplate": *p.OSTemplate,
		"rootfs":       proxmox.NewVolume(p.RootFS.Storage, p.RootFS.SizeGiB),
		"unprivileged": proxmox.Bool(p.Unprivileged == nil || *p.Unprivileged)}
	for k, v := range wantConfig(p, hostname(mg), ownerTag(mg)).config {
		params[k] = v
	}
	if p.Pool != nil {
		params["pool"] = *p.Pool
	}
	return params
}

func (kind) Compare(ctx context.Context, c *proxmox.Client, mg *v1alpha1.Container, g *proxmox.Guest, cfg map[string]any, fresh bool) (managed.ExternalObservation, error) {
	obs := &mg.Status.AtProvider
	w := wantConfig(mg.Spec.ForProvider, hostname(mg), ownerTag(mg))
	set, grow := diff(w, cfg)
	var remove []string
	obs.NICs, remove = guest.NICs(w.config, obs.NICs, cfg)
	// The firewall is read only when the config was (fresh): see guestfw.
	fwDiff, err := guestfw.Diff(ctx, c, fwSpec(mg), g, fresh)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	running := g.Status == "running"
	powerOK := wantRunning(mg) == running
	templateOK := !wantTemplate(mg) || obs.Template
	if running {
		if len(obs.IPAddresses) == 0 || fresh {
			obs.IPAddresses = ips(ctx, c, g)
		}
	} else {
		obs.IPAddresses = nil
	}
	if powerOK && templateOK {
		mg.SetConditions(xpv2.Available())
	} else {
		mg.SetConditions(xpv2.Unavailable().WithMessage("container is " + g.Status))
	}
	extra := guest.Removed(remove)
	if grow > 0 {
		extra = append(extra, "rootfs size")
	}
	if !powerOK {
		extra = append(extra, "power state")
	}
	if !templateOK {
		extra = append(extra, "template conversion")
	}
	return managed.ExternalObservation{
		ResourceUpToDate:  powerOK && templateOK && len(set) == 0 && len(remove) == 0 && grow == 0 && fwDiff == "",
		ConnectionDetails: guest.Connection(g, obs.IPAddresses),
		Diff:              guestfw.JoinDiff(guest.DiffText(set, extra...), fwDiff),
	}, nil
}

// ips reads a running container's IPv4 addresses (loopback left out); a
// container that cannot answer yet simply has none.
func ips(ctx context.Context, c *proxmox.Client, g *proxmox.Guest) []string {
	list, err := c.ContainerInterfaces(ctx, g.Ref())
	if err != nil {
		return nil
	}
	var out []string
	for _, i := range list {
		addr, _, _ := strings.Cut(i.Inet, "/")
		if i.Name == "lo" || addr == "" || strings.HasPrefix(addr, "127.") {
			continue
		}
		out = append(out, addr)
	}
	return out
}

func (kind) Update(ctx context.Context, c *proxmox.Client, mg *v1alpha1.Container, g *proxmox.Guest, cfg map[string]any) (string, error) {
	id := int(g.VMID)
	w := wantConfig(mg.Spec.ForProvider, hostname(mg), ownerTag(mg))
	set, grow := diff(w, cfg)
	_, remove := guest.NICs(w.config, mg.Status.AtProvider.NICs, cfg)
	if len(set) > 0 || len(remove) > 0 {
		params := guest.Params(set)
		guest.WithDelete(params, remove)
		// The digest makes PVE refuse the change if the config changed
		// since it was read; the next reconcile re-reads it.
		if err := c.UpdateGuestConfig(ctx, g.Ref(), params, proxmox.String(cfg["digest"])); err != nil {
			return "", errors.Wrapf(err, errUpdate, id)
		}
	}
	if err := guestfw.Apply(ctx, c, fwSpec(mg), g); err != nil {
		return "", err
	}
	if grow > 0 {
		if upid, err := c.Resize(ctx, g.Ref(), "rootfs", grow); err != nil || upid != "" {
			return upid, errors.Wrapf(err, errResize, id)
		}
	}
	if wantTemplate(mg) && g.Template != 1 && g.Status != "running" {
		upid, err := c.ConvertToTemplate(ctx, g.Ref())
		return upid, errors.Wrapf(err, errConvert, id)
	}
	// PVE converts only a stopped container: wantRunning is false for a
	// container to become a template, so it is shut down first.
	return guest.SetPower(ctx, c, g, wantRunning(mg))
}
