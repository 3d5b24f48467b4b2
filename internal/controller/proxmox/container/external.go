package container

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
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guestfw"
)

const (
	errView      = "cannot read the cluster view"
	errConfig    = "cannot read the container config"
	errExternal  = "external name %q is not a container id"
	errNotLXC    = "guest %d is a %s, not an LXC container"
	reasonLocked = "container is locked (%s)"
	connIP       = "ipAddress"
	connVMID     = "vmid"
	connNode     = "node"
)

type external struct {
	c    *proxmox.Client
	kube client.Client
}

func (e *external) Disconnect(context.Context) error { return nil }

// ownerTag is the owner tag of every guest kind, so an id
// taken by any of the provider's resources is recognised as not ours.
func ownerTag(mg *v1alpha1.Container) string { return guest.OwnerTag(string(mg.GetUID())) }

// ctid is the container's id from the external name, or 0 when none is set yet.
func ctid(mg *v1alpha1.Container) (int, error) {
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
	return &guestfw.Spec{Enabled: fw.Enabled, PolicyIn: fw.PolicyIn, PolicyOut: fw.PolicyOut, SecurityGroups: fw.SecurityGroups}
}

func wantTemplate(mg *v1alpha1.Container) bool {
	return mg.Spec.ForProvider.ConvertToTemplate != nil && *mg.Spec.ForProvider.ConvertToTemplate
}

func wantRunning(mg *v1alpha1.Container) bool {
	return mg.Spec.ForProvider.PowerState != v1alpha1.PowerStateStopped && !wantTemplate(mg)
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.Container) (managed.ExternalObservation, error) {
	done, lateInit, waiting, err := guest.CheckPending(ctx, e.c, mg, &mg.Status.AtProvider.PendingTask, &mg.Status.AtProvider.LastTaskError)
	if !done || err != nil {
		return waiting, err
	}

	id, err := ctid(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	g, adopted, end, err := guest.Locate(ctx, e.c, mg, id, guest.ExplicitID(mg.Spec.ForProvider.VMID, id), hostname(mg), reasonLocked)
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
	if g.Type != "lxc" {
		return managed.ExternalObservation{}, errors.Errorf(errNotLXC, int(g.VMID), g.Type)
	}

	obs := &mg.Status.AtProvider
	obs.VMID, obs.Node, obs.Status, obs.Lock, obs.Template = int64(g.VMID), g.Node, g.Status, g.Lock, g.Template == 1
	if g.Lock != "" {
		mg.SetConditions(xpv2.Unavailable().WithMessage(fmt.Sprintf(reasonLocked, g.Lock)))
		return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ResourceLateInitialized: lateInit}, nil
	}
	cfg, fresh, read, err := e.c.GuestConfig(ctx, g, mg.GetGeneration())
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, errConfig)
	}
	obs.LastVerified = &metav1.Time{Time: read.Truncate(time.Second)}
	set, grow := diff(wantConfig(mg.Spec.ForProvider, hostname(mg), ownerTag(mg)), cfg)
	// The firewall is read only when the config was (fresh): see guestfw.
	fwDiff, err := guestfw.Diff(ctx, e.c, fwSpec(mg), g, fresh)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	running := g.Status == "running"
	powerOK := wantRunning(mg) == running
	templateOK := !wantTemplate(mg) || obs.Template
	if running {
		if len(obs.IPAddresses) == 0 || fresh {
			obs.IPAddresses = e.ips(ctx, g)
		}
	} else {
		obs.IPAddresses = nil
	}
	if powerOK && templateOK {
		mg.SetConditions(xpv2.Available())
	} else {
		mg.SetConditions(xpv2.Unavailable().WithMessage("container is " + g.Status))
	}
	cd := managed.ConnectionDetails{connVMID: []byte(strconv.Itoa(int(g.VMID))), connNode: []byte(g.Node)}
	if len(obs.IPAddresses) > 0 {
		cd[connIP] = []byte(obs.IPAddresses[0])
	}
	return managed.ExternalObservation{
		ResourceExists:          true,
		ResourceUpToDate:        powerOK && templateOK && len(set) == 0 && grow == 0 && fwDiff == "",
		ResourceLateInitialized: lateInit,
		ConnectionDetails:       cd,
		Diff:                    guestfw.JoinDiff(diffText(set, grow, powerOK, templateOK), fwDiff),
	}, nil
}

// iface is one entry of GET .../lxc/{vmid}/interfaces.
type iface struct {
	Name string `json:"name"`
	Inet string `json:"inet"`
}

// ips reads a running container's IPv4 addresses (loopback left out); a
// container that cannot answer yet simply has none.
func (e *external) ips(ctx context.Context, g *proxmox.Guest) []string {
	var list []iface
	if err := e.c.Get(ctx, proxmox.GuestPath(g.Node, "lxc", int(g.VMID))+"/interfaces", &list); err != nil {
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

func owner(mg *v1alpha1.Container, g *proxmox.Guest) guest.Ownership {
	return guest.Owner(mg, g, hostname(mg))
}

func pendingTask(mg *v1alpha1.Container) string {
	return guest.PendingTask(mg, mg.Status.AtProvider.PendingTask)
}

func clearPendingTask(mg *v1alpha1.Container) bool {
	return guest.ClearPendingTask(mg, &mg.Status.AtProvider.PendingTask)
}

func diffText(set map[string]any, grow int64, powerOK, templateOK bool) string {
	var parts []string
	for k := range set {
		parts = append(parts, k)
	}
	if grow > 0 {
		parts = append(parts, "rootfs size")
	}
	if !powerOK {
		parts = append(parts, "power state")
	}
	if !templateOK {
		parts = append(parts, "template conversion")
	}
	if len(parts) == 0 {
		return ""
	}
	return "differs from spec: " + strings.Join(parts, ", ")
}
