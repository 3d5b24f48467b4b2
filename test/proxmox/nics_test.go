package proxmox

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// netKeys lists a guest's netN config keys in the simulator, sorted.
func (s *site) netKeys(t *testing.T, vmid int) []string {
	t.Helper()
	g, ok := s.sim.Guest(vmid)
	if !ok {
		t.Fatalf("guest %d does not exist", vmid)
	}
	var out []string
	for k := range g.Config {
		if strings.HasPrefix(k, "net") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (s *site) waitNetKeys(t *testing.T, vmid int, want ...string) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("guest %d NICs %v", vmid, want), func() string {
		if got := s.netKeys(t, vmid); !slices.Equal(got, want) {
			return fmt.Sprintf("NICs %v", got)
		}
		return ""
	})
}

// waitNICsStatus waits until status.atProvider.nics (read by get) is want:
// the NICs the provider manages, not those added by hand.
func (s *site) waitNICsStatus(t *testing.T, get func() []string, want ...string) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("status.atProvider.nics %v", want), func() string {
		if got := get(); !slices.Equal(got, want) {
			return fmt.Sprintf("nics %v", got)
		}
		return ""
	})
}

func (s *site) getCT(t *testing.T, name string) *v1alpha1.Container {
	t.Helper()
	ct := &v1alpha1.Container{}
	if err := s.env.Client.Get(context.Background(), types.NamespacedName{Namespace: s.ns, Name: name}, ct); err != nil {
		t.Fatalf("cannot get container %s: %v", name, err)
	}
	return ct
}

// Removing an entry from a VM's networks removes its NIC from the guest; a
// NIC the provider never set (added by hand) stays.
func TestVirtualMachineRemovedNetworkRemovesNIC(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	p := cloneOf(pvesim.DefaultTemplateID)
	p.Networks = []v1alpha1.NetworkInterface{{Bridge: "vmbr0"}, {Bridge: "vmbr1", VLAN: ptr.To[int64](20)}}
	vm := s.vm("nics-1", p)
	mustCreate(t, s.env.Client, vm)
	vm = s.waitReady(t, "nics-1")
	id := int(vm.Status.AtProvider.VMID)
	s.waitNetKeys(t, id, "net0", "net1")
	if err := s.sim.SetConfig(id, map[string]string{"net5": "e1000=BC:24:11:00:00:55,bridge=vmbr5"}); err != nil {
		t.Fatal(err)
	}
	s.waitNICsStatus(t, func() []string { return s.get(t, "nics-1").Status.AtProvider.NICs }, "net0", "net1")

	s.update(t, vm, func() { vm.Spec.ForProvider.Networks = vm.Spec.ForProvider.Networks[:1] })
	s.waitNetKeys(t, id, "net0", "net5")
	s.waitNICsStatus(t, func() []string { return s.get(t, "nics-1").Status.AtProvider.NICs }, "net0")
	vm = s.waitReady(t, "nics-1")
	if n := str(s.guestConfig(t, "pve1", id)["net0"]); !strings.Contains(n, "bridge=vmbr0") {
		t.Errorf("net0 = %q", n)
	}

	s.update(t, vm, func() { vm.Spec.ForProvider.Networks = nil })
	s.waitNetKeys(t, id, "net5")
	s.waitReady(t, "nics-1")
	if g := s.guestsNamed(t, "nics-1"); len(g) != 1 || g[0].VMID != id {
		t.Fatalf("guests named nics-1: %+v, want only %d", g, id)
	}
}

// The same for a container's interfaces.
func TestContainerRemovedNetworkRemovesNIC(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	p := debianCT()
	p.Networks = append(p.Networks, v1alpha1.ContainerNetwork{Name: "eth1", Bridge: "vmbr1", IP: ptr.To("192.0.2.10/24")})
	ct := s.container("ctnics-1", p)
	mustCreate(t, s.env.Client, ct)
	ct = s.waitCT(t, "ctnics-1")
	id := int(ct.Status.AtProvider.VMID)
	s.waitNetKeys(t, id, "net0", "net1")
	if err := s.sim.SetConfig(id, map[string]string{"net3": "name=eth3,bridge=vmbr3,hwaddr=BC:24:11:00:00:33,type=veth"}); err != nil {
		t.Fatal(err)
	}

	s.update(t, ct, func() { ct.Spec.ForProvider.Networks = ct.Spec.ForProvider.Networks[:1] })
	s.waitNetKeys(t, id, "net0", "net3")
	s.waitNICsStatus(t, func() []string { return s.getCT(t, "ctnics-1").Status.AtProvider.NICs }, "net0")
	s.waitCT(t, "ctnics-1")
	if n := str(s.lxcConfig(t, "pve1", id)["net0"]); !strings.Contains(n, "name=eth0") {
		t.Errorf("net0 = %q", n)
	}
	if g := s.guestsNamed(t, "ctnics-1"); len(g) != 1 || g[0].VMID != id {
		t.Fatalf("guests named ctnics-1: %+v, want only %d", g, id)
	}
}
