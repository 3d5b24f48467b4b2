package proxmox

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	changelogs "github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

func TestVirtualMachineLifecycle(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProvider(t, nil)
	ctx := context.Background()

	p := cloneOf(pvesim.DefaultTemplateID)
	p.Cores, p.MemoryMiB, p.Tags = 2, 2048, []string{"web"}
	p.Networks = []v1alpha1.NetworkInterface{{Model: "virtio", Bridge: "vmbr0", Firewall: ptr.To(true)}}
	vm := s.vm("web-1", p)
	mustCreate(t, s.env.Client, vm)

	vm = s.waitReady(t, "web-1")
	vmid := int(vm.Status.AtProvider.VMID)
	if meta.GetExternalName(vm) != fmt.Sprint(vmid) || vmid < 100 {
		t.Fatalf("external name %q, status vmid %d", meta.GetExternalName(vm), vmid)
	}
	if vm.Status.AtProvider.Node != "pve1" || vm.Status.AtProvider.Status != "running" {
		t.Errorf("atProvider = %+v, want running on pve1", vm.Status.AtProvider)
	}
	if len(vm.Status.AtProvider.IPAddresses) == 0 {
		t.Errorf("no IP address from the guest agent")
	}
	cfg := s.guestConfig(t, "pve1", vmid)
	owner := guest.OwnerTag(string(vm.GetUID()))
	if str(cfg["cores"]) != "2" || str(cfg["memory"]) != "2048" || !hasTag(str(cfg["tags"]), "web") || !hasTag(str(cfg["tags"]), owner) {
		t.Errorf("simulator config = cores %v memory %v tags %v; want 2, 2048, web;%s", cfg["cores"], cfg["memory"], cfg["tags"], owner)
	}
	if n := str(cfg["net0"]); !strings.Contains(n, "bridge=vmbr0") || !strings.Contains(n, "firewall=1") {
		t.Errorf("net0 = %q", n)
	}

	// Update: more cores.
	s.update(t, vm, func() { vm.Spec.ForProvider.Cores = 4 })
	eventually(t, 30*time.Second, "cores updated", func() string {
		if c := str(s.guestConfig(t, "pve1", vmid)["cores"]); c != "4" {
			return "cores " + c
		}
		return ""
	})

	// Drift made behind the provider's back is corrected.
	if err := s.pve.Put(ctx, fmt.Sprintf("/nodes/pve1/qemu/%d/config", vmid), map[string]any{"memory": "512"}, nil); err != nil {
		t.Fatalf("cannot make drift: %v", err)
	}
	eventually(t, 30*time.Second, "drift corrected", func() string {
		if m := str(s.guestConfig(t, "pve1", vmid)["memory"]); m != "2048" {
			return "memory " + m
		}
		return ""
	})

	// Power state.
	s.update(t, vm, func() { vm.Spec.ForProvider.PowerState = v1alpha1.PowerStateStopped })
	eventually(t, 30*time.Second, "VM stopped", func() string {
		for _, g := range s.guests(t) {
			if g.VMID == vmid && g.Status != "stopped" {
				return g.Status
			}
		}
		return ""
	})

	// Delete removes the guest.
	if err := s.env.Client.Delete(ctx, s.get(t, "web-1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "VM deleted", func() string {
		if gs := s.guestsNamed(t, "web-1"); len(gs) > 0 {
			return fmt.Sprintf("%d guests named web-1 remain", len(gs))
		}
		return ""
	})
}

// A clone whose response is lost after PVE started it must not be cloned again.
func TestVirtualMachineLostCreateResponseCreatesOnce(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.sim.Faults().Set(pvesim.FaultConfig{Routes: []pvesim.RouteFault{{Route: "POST /nodes/{node}/qemu/{vmid}/clone", DropRate: 1}}})
	s.startProvider(t, nil)
	mustCreate(t, s.env.Client, s.vm("lost-1", cloneOf(pvesim.DefaultTemplateID)))

	// The clone happened although the provider never got its answer.
	eventually(t, 30*time.Second, "clone applied", func() string {
		if len(s.guestsNamed(t, "lost-1")) == 0 {
			return "no guest yet"
		}
		return ""
	})
	s.sim.Faults().Clear()
	vm := s.waitReady(t, "lost-1")
	if gs := s.guestsNamed(t, "lost-1"); len(gs) != 1 {
		t.Fatalf("%d guests named lost-1, want exactly 1: %+v", len(gs), gs)
	}
	if got := meta.GetExternalName(vm); got != fmt.Sprint(vm.Status.AtProvider.VMID) {
		t.Errorf("external name %q, vmid %d", got, vm.Status.AtProvider.VMID)
	}
}

// The provider stops while a clone task runs and a new one takes over: the
// VM is created once, and the new provider waits for the old task's result.
func TestVirtualMachineProviderRestartMidCreate(t *testing.T) {
	s := newSite(t, pvesim.Options{TaskDuration: 3 * time.Second})
	stop := s.startStoppableProvider(t, nil)
	mustCreate(t, s.env.Client, s.vm("restart-1", cloneOf(pvesim.DefaultTemplateID)))
	eventually(t, 30*time.Second, "clone started", func() string {
		if len(s.guestsNamed(t, "restart-1")) == 0 {
			return "no guest yet"
		}
		return ""
	})
	stop() // the clone task is still running
	s.startProvider(t, nil)
	s.waitReady(t, "restart-1")
	if gs := s.guestsNamed(t, "restart-1"); len(gs) != 1 {
		t.Fatalf("%d guests named restart-1 after the restart, want 1: %+v", len(gs), gs)
	}
}

// 50 clones from one template at once contend for PVE's storage lock (held
// 200 ms per clone, waiters give up after 1 s with PVE's "got timeout"); the
// provider retries the failed ones and creates each VM exactly once.
func TestVirtualMachineParallelClonesUnderLockContention(t *testing.T) {
	s := newSite(t, pvesim.Options{TaskDuration: 100 * time.Millisecond, StorageLockHold: 200 * time.Millisecond, StorageLockTimeout: time.Second})
	s.startProvider(t, nil)
	const n = 50
	start := time.Now()
	for i := range n {
		mustCreate(t, s.env.Client, s.vm(fmt.Sprintf("par-%d", i), cloneOf(pvesim.DefaultTemplateID)))
	}
	lockErrors := 0
	for i := range n {
		name := fmt.Sprintf("par-%d", i)
		// Failed clones are retried with crossplane's per-resource backoff.
		vm := s.waitReadyWithin(t, name, 5*time.Minute)
		if strings.Contains(vm.Status.AtProvider.LastTaskError, "timeout") {
			lockErrors++
		}
		if gs := s.guestsNamed(t, name); len(gs) != 1 {
			t.Errorf("%d guests named %s, want 1", len(gs), name)
		}
	}
	t.Logf("%d of %d VMs saw a storage lock timeout and were retried; all Ready after %s", lockErrors, n, time.Since(start).Round(time.Second))
	if lockErrors == 0 {
		t.Errorf("no clone saw a storage lock timeout: the test did not contend")
	}
}

// An existing VM imported with the Observe policy is reported, never changed.
func TestVirtualMachineObserveOnlyImport(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProvider(t, nil)
	before := s.guestConfig(t, "pve1", pvesim.DefaultTemplateID)

	vm := s.vm("imported", v1alpha1.VirtualMachineParameters{Node: "pve1", Cores: 8, PowerState: v1alpha1.PowerStateStopped})
	vm.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	meta.SetExternalName(vm, fmt.Sprint(pvesim.DefaultTemplateID))
	mustCreate(t, s.env.Client, vm)
	vm = s.waitReady(t, "imported")
	if vm.Status.AtProvider.VMID != pvesim.DefaultTemplateID || vm.Status.AtProvider.Node != "pve1" {
		t.Errorf("atProvider = %+v", vm.Status.AtProvider)
	}
	time.Sleep(3 * pollInterval)
	after := s.guestConfig(t, "pve1", pvesim.DefaultTemplateID)
	if str(before["cores"]) != str(after["cores"]) || str(before["tags"]) != str(after["tags"]) || str(before["digest"]) != str(after["digest"]) {
		t.Errorf("observe-only changed the VM: before %v/%v after %v/%v", before["cores"], before["tags"], after["cores"], after["tags"])
	}
}

// A backend error (clone of a template that does not exist) surfaces in the
// Synced condition with PVE's or the provider's words, and nothing is created.
func TestVirtualMachineBackendErrorInCondition(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProvider(t, nil)
	mustCreate(t, s.env.Client, s.vm("ghost", cloneOf(4242)))
	eventually(t, 30*time.Second, "error condition", func() string {
		c := s.get(t, "ghost").GetCondition(xpv2.TypeSynced)
		if c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, "clone source VM 4242 not found") {
			return fmt.Sprintf("synced=%s %q", c.Status, c.Message)
		}
		return ""
	})
	if gs := s.guestsNamed(t, "ghost"); len(gs) != 0 {
		t.Errorf("a guest was created: %+v", gs)
	}
}

// gate is an intent recorder that refuses until opened, like a provenance
// connector that is down in required mode.
type gate struct{ open atomic.Bool }

func (g *gate) RecordIntent(context.Context, resource.Managed, changelogs.OperationType) error {
	if !g.open.Load() {
		return fmt.Errorf("connector unavailable")
	}
	return nil
}

func TestVirtualMachineWaitsForIntentRecord(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	g := &gate{}
	s.startProvider(t, g)
	mustCreate(t, s.env.Client, s.vm("audited", cloneOf(pvesim.DefaultTemplateID)))
	eventually(t, 30*time.Second, "refusal in condition", func() string {
		c := s.get(t, "audited").GetCondition(xpv2.TypeSynced)
		if c.Status != corev1.ConditionFalse || !strings.Contains(c.Message, "intent record of this create was not accepted") {
			return fmt.Sprintf("synced=%s %q", c.Status, c.Message)
		}
		return ""
	})
	if gs := s.guestsNamed(t, "audited"); len(gs) != 0 {
		t.Fatalf("VM created although its intent was refused: %+v", gs)
	}
	g.open.Store(true)
	s.waitReady(t, "audited")
	if gs := s.guestsNamed(t, "audited"); len(gs) != 1 {
		t.Fatalf("%d guests named audited, want 1", len(gs))
	}
}
