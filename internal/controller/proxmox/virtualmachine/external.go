package virtualmachine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
)

const (
	errView       = "cannot read the cluster view"
	errConfig     = "cannot read the VM config"
	errExternal   = "external name %q is not a VM id"
	errNotQemu    = "guest %d is a %s, not a QEMU VM"
	errNextID     = "cannot get a free VM id"
	errReserve    = "cannot save the VM id before creating it"
	errCreate     = "cannot create VM %d"
	errUpdate     = "cannot update VM %d"
	errResize     = "cannot grow disk %s of VM %d"
	errPower      = "cannot %s VM %d"
	errTooManyIDs = "VM ids %v were all taken by other writers"
	errDiskLost   = "VM %d: the volume of disk %s is neither attached nor kept as unused: it was removed by hand; the provider will not put a blank disk in its place (restore the volume, or remove the disk from spec.forProvider.disks)"
	maxIDAttempts = 3
	reasonLocked  = "VM is locked (%s)"
	connIP        = "ipAddress"
	connVMID      = "vmid"
	connNode      = "node"
)

type external struct {
	c    *proxmox.Client
	kube client.Client
}

func (e *external) Disconnect(context.Context) error { return nil }

// vmid is the VM's id from the external name, or 0 when none is set yet.
func vmid(mg *v1alpha1.VirtualMachine) (int, error) {
	en := meta.GetExternalName(mg)
	if en == "" || en == mg.GetName() {
		return 0, nil
	}
	id, err := strconv.Atoi(en)
	if err != nil || id < 100 {
		return 0, errors.Errorf(errExternal, en)
	}
	return id, nil
}

func vmName(mg *v1alpha1.VirtualMachine) string {
	if n := mg.Spec.ForProvider.Name; n != nil {
		return *n
	}
	return mg.GetName()
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.VirtualMachine) (managed.ExternalObservation, error) {
	// A task of ours still running (clone, start, delete, ...): wait for it
	// without blocking a worker; the next poll checks again.
	done, lateInit, waiting, err := guest.CheckPending(ctx, e.c, mg, &mg.Status.AtProvider.PendingTask, &mg.Status.AtProvider.LastTaskError)
	if !done || err != nil {
		return waiting, err
	}

	id, err := vmid(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	g, adopted, end, err := guest.Locate(ctx, e.c, mg, id, guest.ExplicitID(mg.Spec.ForProvider.VMID, id), vmName(mg), reasonLocked)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	if end != nil {
		end.ResourceLateInitialized = end.ResourceLateInitialized || lateInit
		return *end, nil
	}
	lateInit = lateInit || adopted
	if g == nil {
		return managed.ExternalObservation{ResourceExists: false, ResourceLateInitialized: lateInit}, nil
	}
	if g.Type != "qemu" {
		return managed.ExternalObservation{}, errors.Errorf(errNotQemu, int(g.VMID), g.Type)
	}

	obs := &mg.Status.AtProvider
	obs.VMID, obs.Node, obs.Status, obs.Lock, obs.HAState = int64(g.VMID), g.Node, g.Status, g.Lock, g.HAState
	if g.Lock != "" {
		// Proxmox is working on the VM (clone, migrate, backup): don't fight it.
		mg.SetConditions(xpv2.Unavailable().WithMessage(fmt.Sprintf(reasonLocked, g.Lock)))
		return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ResourceLateInitialized: lateInit}, nil
	}
	cfg, fresh, read, err := e.c.GuestConfig(ctx, g, mg.GetGeneration())
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errConfig)
	}
	obs.LastVerified = &metav1.Time{Time: read.Truncate(time.Second)}
	want := e.want(mg)
	if lost := lostDisks(want, cfg); len(lost) > 0 && !meta.WasDeleted(mg) {
		return managed.ExternalObservation{}, errors.Errorf(errDiskLost, int(g.VMID), strings.Join(lost, ", "))
	}
	obs.Disks = seenDisks(want, cfg)
	set, grow := diff(want, cfg)
	powerOK := wantRunning(mg) == (g.Status == "running")
	// The firewall is read only when the config was (fresh): see guestfw.
	fwDiff, err := e.firewallDiff(ctx, mg, g, fresh)
	if err != nil {
		return managed.ExternalObservation{}, err
	}

	if g.Status == "running" && agentOn(cfg) {
		if len(obs.IPAddresses) == 0 || fresh {
			obs.IPAddresses = e.c.GuestIPs(ctx, g)
		}
	} else {
		obs.IPAddresses = nil
	}
	// Ready means usable in the power state asked for; config differences
	// are Update's business and show in the diff, not in readiness.
	if powerOK {
		mg.SetConditions(xpv2.Available())
	} else {
		mg.SetConditions(xpv2.Unavailable().WithMessage("VM is " + g.Status))
	}
	cd := managed.ConnectionDetails{connVMID: []byte(strconv.Itoa(int(g.VMID))), connNode: []byte(g.Node)}
	if len(obs.IPAddresses) > 0 {
		cd[connIP] = []byte(obs.IPAddresses[0])
	}
	return managed.ExternalObservation{
		ResourceExists:          true,
		ResourceUpToDate:        powerOK && len(set) == 0 && len(grow) == 0 && fwDiff == "",
		ResourceLateInitialized: lateInit,
		ConnectionDetails:       cd,
		Diff:                    joinDiff(diffText(set, grow, powerOK), fwDiff),
	}, nil
}

// want is the config the spec asks for, with the volumes last seen in its disk slots.
func (e *external) want(mg *v1alpha1.VirtualMachine) desired {
	d := wantConfig(mg.Spec.ForProvider, vmName(mg), guest.OwnerTag(string(mg.GetUID())))
	d.known = mg.Status.AtProvider.Disks
	return d
}

func owner(mg *v1alpha1.VirtualMachine, g *proxmox.Guest) guest.Ownership {
	return guest.Owner(mg, g, vmName(mg))
}

func pendingTask(mg *v1alpha1.VirtualMachine) string {
	return guest.PendingTask(mg, mg.Status.AtProvider.PendingTask)
}

func clearPendingTask(mg *v1alpha1.VirtualMachine) bool {
	return guest.ClearPendingTask(mg, &mg.Status.AtProvider.PendingTask)
}

func wantRunning(mg *v1alpha1.VirtualMachine) bool {
	return mg.Spec.ForProvider.PowerState != v1alpha1.PowerStateStopped
}

func agentOn(cfg map[string]any) bool {
	v, ok := cfg["agent"]
	return ok && proxmox.Flag(proxmox.String(v)) == "1"
}

func diffText(set map[string]any, grow []resize, powerOK bool) string {
	var parts []string
	for k := range set {
		parts = append(parts, k)
	}
	for _, r := range grow {
		parts = append(parts, r.slot+" size")
	}
	if !powerOK {
		parts = append(parts, "power state")
	}
	if len(parts) == 0 {
		return ""
	}
	return "differs from spec: " + strings.Join(parts, ", ")
}
