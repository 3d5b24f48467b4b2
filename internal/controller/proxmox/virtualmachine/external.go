package virtualmachine

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guestfw"
)

const (
	errView        = "cannot read the cluster view"
	errCloneSource = "clone source VM %d not found in the cluster"
	errCloneHidden = "clone source VM %d is not in the cluster view: this token lacks VM.Audit on %s, so PVE hides it"
	errUpdate      = "cannot update VM %d"
	errResize      = "cannot grow disk %s of VM %d"
	errDiskLost    = "VM %d: the volume of disk %s is neither attached nor kept as unused: it was removed by hand; the provider will not put a blank disk in its place (restore the volume, or remove the disk from spec.forProvider.disks)"
)

// kind is what VirtualMachines add to the shared guest lifecycle: a QEMU
// guest cloned from a template (or created empty), its config mapping,
// disks, firewall, power and guest-agent addresses.
type kind struct{}

func (kind) Type() string                              { return "qemu" }
func (kind) Name(mg *v1alpha1.VirtualMachine) string   { return vmName(mg) }
func (kind) SpecID(mg *v1alpha1.VirtualMachine) *int64 { return mg.Spec.ForProvider.VMID }
func (kind) Status(mg *v1alpha1.VirtualMachine) guest.Status {
	o := &mg.Status.AtProvider
	return guest.Status{PendingTask: &o.PendingTask, LastTaskError: &o.LastTaskError, LastVerified: &o.LastVerified, Lock: &o.Lock}
}

func (kind) Seen(mg *v1alpha1.VirtualMachine, g *proxmox.Guest) {
	o := &mg.Status.AtProvider
	o.VMID, o.Node, o.Status, o.Lock, o.HAState = int64(g.VMID), g.Node, g.Status, g.Lock, g.HAState
}

func vmName(mg *v1alpha1.VirtualMachine) string {
	if n := mg.Spec.ForProvider.Name; n != nil {
		return *n
	}
	return mg.GetName()
}

func wantRunning(mg *v1alpha1.VirtualMachine) bool {
	return mg.Spec.ForProvider.PowerState != v1alpha1.PowerStateStopped
}

// want is the config the spec asks for, with the volumes last seen in its disk slots.
func want(mg *v1alpha1.VirtualMachine) desired {
	d := wantConfig(mg.Spec.ForProvider, vmName(mg), guest.OwnerTag(string(mg.GetUID())))
	d.known = mg.Status.AtProvider.Disks
	return d
}

// fwSpec is the VM's firewall spec in the form guestfw manages (nil when
// the spec leaves the firewall alone).
func fwSpec(mg *v1alpha1.VirtualMachine) *guestfw.Spec {
	fw := mg.Spec.ForProvider.Firewall
	if fw == nil {
		return nil
	}
	return &guestfw.Spec{Enabled: fw.Enabled, PolicyIn: fw.PolicyIn, PolicyOut: fw.PolicyOut, SecurityGroups: fw.SecurityGroups, Rules: fw.Rules, IPSets: fw.IPSets}
}

func agentOn(cfg map[string]any) bool {
	v, ok := cfg["agent"]
	return ok && proxmox.Flag(proxmox.String(v)) == "1"
}

// Create clones the template (the clone gets its config by Update once the
// task is done) or creates an empty VM with its whole config.
func (kind) Create(ctx context.Context, c *proxmox.Client, mg *v1alpha1.VirtualMachine, id int) (string, error) {
	p := mg.Spec.ForProvider
	if cl := p.Clone; cl != nil {
		view, err := c.View(ctx)
		if err != nil {
			return "", errors.Wrap(err, errView)
		}
		src, ok := view.Guest(int(cl.SourceVMID))
		if !ok {
			// PVE leaves out of /cluster/resources what the caller may not
			// audit: name the privilege when that is why.
			path := fmt.Sprintf("/vms/%d", cl.SourceVMID)
			if lacks, err := c.Lacks(ctx, path, "VM.Audit"); err == nil && len(lacks) > 0 {
				return "", errors.Errorf(errCloneHidden, cl.SourceVMID, path)
			}
			return "", errors.Errorf(errCloneSource, cl.SourceVMID)
		}
		return c.CloneVM(ctx, proxmox.CloneRequest{Source: src.Ref(), NewID: id, Name: vmName(mg), Target: p.Node,
			Full: cl.Full == nil || *cl.Full, Storage: deref(cl.Storage), Pool: deref(p.Pool)})
	}
	w := want(mg)
	params := guest.Params(setAll(w))
	for _, d := range w.disks {
		params[d.Slot] = proxmox.NewVolume(d.Storage, d.SizeGiB)
	}
	if p.Pool != nil {
		params["pool"] = *p.Pool
	}
	return c.CreateGuest(ctx, p.Node, "qemu", id, params)
}

// setAll is every config key of w in the form the API takes.
func setAll(w desired) map[string]any {
	set, _ := diff(desired{config: w.config}, map[string]any{})
	return set
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (kind) Compare(ctx context.Context, c *proxmox.Client, mg *v1alpha1.VirtualMachine, g *proxmox.Guest, cfg map[string]any, fresh bool) (managed.ExternalObservation, error) {
	obs := &mg.Status.AtProvider
	w := want(mg)
	if lost := lostDisks(w, cfg); len(lost) > 0 && !meta.WasDeleted(mg) {
		return managed.ExternalObservation{}, errors.Errorf(errDiskLost, int(g.VMID), strings.Join(lost, ", "))
	}
	obs.Disks = seenDisks(w, cfg)
	var remove []string
	obs.NICs, remove = guest.NICs(w.config, obs.NICs, cfg)
	set, grow := diff(w, cfg)
	powerOK := wantRunning(mg) == (g.Status == "running")
	// The firewall is read only when the config was (fresh): see guestfw.
	fwDiff, err := guestfw.Diff(ctx, c, fwSpec(mg), g, fresh)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	if g.Status == "running" && agentOn(cfg) {
		if len(obs.IPAddresses) == 0 || fresh {
			if obs.IPAddresses, err = c.GuestIPs(ctx, g); err != nil {
				return managed.ExternalObservation{}, err
			}
		}
	} else {
		obs.IPAddresses = nil
	}
	if g.Status == "running" && agentOn(cfg) && len(obs.IPAddresses) == 0 {
		awaitingIPs.Store(mg.GetUID(), true)
	} else {
		awaitingIPs.Delete(mg.GetUID())
	}
	// Ready means usable in the power state asked for; config differences
	// are Update's business and show in the diff, not in readiness.
	if powerOK {
		mg.SetConditions(xpv2.Available())
	} else {
		mg.SetConditions(xpv2.Unavailable().WithMessage("VM is " + g.Status))
	}
	extra := guest.Removed(remove)
	for _, r := range grow {
		extra = append(extra, r.slot+" size")
	}
	if !powerOK {
		extra = append(extra, "power state")
	}
	return managed.ExternalObservation{
		ResourceUpToDate:  powerOK && len(set) == 0 && len(remove) == 0 && len(grow) == 0 && fwDiff == "",
		ConnectionDetails: guest.Connection(g, obs.IPAddresses),
		Diff:              guestfw.JoinDiff(guest.DiffText(set, extra...), fwDiff),
	}, nil
}

// awaitingIPs holds the UIDs of running VMs with the guest agent on whose
// addresses are not known yet: the cluster view does not show them come,
// so these VMs keep their poll (guest.Unsettled).
var awaitingIPs sync.Map

// Unsettled implements guest.Unsettled: a VM waiting for its guest agent's
// addresses polls.
func (kind) Unsettled(mg *v1alpha1.VirtualMachine) bool {
	_, waiting := awaitingIPs.Load(mg.GetUID())
	return waiting
}

func (kind) Update(ctx context.Context, c *proxmox.Client, mg *v1alpha1.VirtualMachine, g *proxmox.Guest, cfg map[string]any) (string, error) {
	id := int(g.VMID)
	w := want(mg)
	set, grow := diff(w, cfg)
	_, remove := guest.NICs(w.config, mg.Status.AtProvider.NICs, cfg)
	if len(set) > 0 || len(remove) > 0 {
		params := guest.Params(set)
		guest.WithDelete(params, remove)
		// The digest makes PVE refuse the change if someone else changed
		// the config since it was read; the next reconcile re-reads it.
		if err := c.UpdateGuestConfig(ctx, g.Ref(), params, proxmox.String(cfg["digest"])); err != nil {
			return "", errors.Wrapf(err, errUpdate, id)
		}
	}
	if err := guestfw.Apply(ctx, c, fwSpec(mg), g); err != nil {
		return "", err
	}
	for _, r := range grow {
		upid, err := c.Resize(ctx, g.Ref(), r.slot, r.sizeGiB)
		if err != nil || upid != "" {
			return upid, errors.Wrapf(err, errResize, r.slot, id)
		}
	}
	return guest.SetPower(ctx, c, g, wantRunning(mg))
}
