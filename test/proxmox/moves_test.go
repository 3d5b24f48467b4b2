package proxmox

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/internal/controller/generic"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// Guests that move or whose node goes away behind the provider's back:
// the resource follows the guest, never creates, destroys or moves one.

// writeRoutes are the calls that create, destroy or move guests.
var writeRoutes = []string{
	"POST /nodes/{node}/qemu", "POST /nodes/{node}/qemu/{vmid}/clone", "DELETE /nodes/{node}/qemu/{vmid}",
	"POST /nodes/{node}/lxc", "POST /nodes/{node}/lxc/{vmid}/clone", "DELETE /nodes/{node}/lxc/{vmid}",
	"POST /cluster/ha/resources/{sid}/migrate", "POST /cluster/ha/resources/{sid}/relocate",
}

func (s *site) writeCounts() map[string]float64 {
	all := s.sim.RequestCounts()
	out := map[string]float64{}
	for _, r := range writeRoutes {
		out[r] = all[r]
	}
	return out
}

// sameWrites fails the test when any create, destroy or move call was made
// since before (a route whose count in before is negative is not checked).
func (s *site) sameWrites(t *testing.T, before map[string]float64, when string) {
	t.Helper()
	for r, n := range s.writeCounts() {
		if b := before[r]; b >= 0 && n != b {
			t.Errorf("%s: %v calls of %s", when, n-before[r], r)
		}
	}
}

// noDrift fails the test when obj reports drift or a lost guest.
func (s *site) noDrift(t *testing.T, obj conditioned) {
	t.Helper()
	if err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	if c := obj.GetCondition(generic.TypeExternalDrift); c.Status == corev1.ConditionTrue {
		t.Errorf("%s: ExternalDrift %s: %s", obj.GetName(), c.Reason, c.Message)
	}
	for _, reason := range []xpv2.ConditionReason{generic.ReasonDriftRepaired, generic.ReasonExternalResourceLost} {
		if ev := s.events(t, obj, string(reason)); len(ev) > 0 {
			t.Errorf("%s: %s events %q", obj.GetName(), reason, ev)
		}
	}
}

// wanted is a config key's value with pending changes applied (a running
// VM keeps cores pending until it restarts).
func wanted(g pvesim.GuestInfo, key string) string {
	if v, ok := g.Pending[key]; ok {
		return v
	}
	return g.Config[key]
}

// simNode is the node the simulator has guest id on.
func (s *site) simNode(t *testing.T, id int) string {
	t.Helper()
	g, ok := s.sim.Guest(id)
	if !ok {
		t.Fatalf("guest %d does not exist", id)
	}
	return g.Node
}

// A VM and a container moved by an admin (MoveGuest), then the VM migrated
// by HA, keep their guests: status.atProvider.node follows, a spec change
// is applied where the guest now is, and nothing is created, destroyed,
// moved back or reported as drift.
func TestMovedGuestsAreFollowed(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()
	vm := s.vm("moved-1", cloneOf(pvesim.DefaultTemplateID))
	ct := s.container("movedct-1", debianCT())
	mustCreate(t, s.env.Client, vm, ct)
	vm = s.waitReady(t, "moved-1")
	ct = s.waitCT(t, "movedct-1")
	id, ctid := int(vm.Status.AtProvider.VMID), int(ct.Status.AtProvider.VMID)
	ids := s.sim.GuestIDs()
	before := s.writeCounts()

	if err := s.sim.MoveGuest(id, "pve2"); err != nil {
		t.Fatal(err)
	}
	if err := s.sim.MoveGuest(ctid, "pve3"); err != nil {
		t.Fatal(err)
	}
	s.waitObj(t, vm, 30*time.Second, "VM followed to pve2", func(r, sy xpv2.Condition) string {
		if n := vm.Status.AtProvider.Node; n != "pve2" || r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue {
			return "status node " + n
		}
		return ""
	})
	s.waitObj(t, ct, 30*time.Second, "container followed to pve3", func(r, sy xpv2.Condition) string {
		if n := ct.Status.AtProvider.Node; n != "pve3" || r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue {
			return "status node " + n
		}
		return ""
	})

	// A spec change reaches the guest where it now is.
	s.update(t, vm, func() { vm.Spec.ForProvider.Cores = 2 })
	eventually(t, 30*time.Second, "cores applied on pve2", func() string {
		g, _ := s.sim.Guest(id)
		if c := wanted(g, "cores"); g.Node != "pve2" || c != "2" {
			return fmt.Sprintf("node %s cores %q", g.Node, c)
		}
		return ""
	})

	// HA migrates it on: the provider's only part is to follow.
	if err := s.pve.Post(ctx, "/cluster/ha/resources", map[string]any{"sid": fmt.Sprintf("vm:%d", id), "state": "started"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.pve.Post(ctx, fmt.Sprintf("/cluster/ha/resources/vm:%d/migrate", id), map[string]any{"node": "pve3"}, nil); err != nil {
		t.Fatal(err)
	}
	before["POST /cluster/ha/resources/{sid}/migrate"]++ // the test's own
	s.waitObj(t, vm, 30*time.Second, "VM followed to pve3 after the HA migration", func(r, sy xpv2.Condition) string {
		if o := vm.Status.AtProvider; o.Node != "pve3" || o.HAState != "started" || r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue {
			return fmt.Sprintf("status node %s, HA state %s", o.Node, o.HAState)
		}
		return ""
	})

	// A few polls later: still there, nothing undone.
	time.Sleep(4 * pollInterval)
	if n := s.simNode(t, id); n != "pve3" {
		t.Errorf("VM %d is on %s, want pve3 where HA put it", id, n)
	}
	if n := s.simNode(t, ctid); n != "pve3" {
		t.Errorf("container %d is on %s, want pve3 where it was moved", ctid, n)
	}
	if now := s.sim.GuestIDs(); !slices.Equal(now, ids) {
		t.Errorf("guest ids %v, were %v", now, ids)
	}
	s.sameWrites(t, before, "after the moves")
	for _, o := range []conditioned{vm, ct} {
		s.noDrift(t, o)
	}
	if meta.GetExternalName(vm) != fmt.Sprint(id) || meta.GetExternalName(ct) != fmt.Sprint(ctid) {
		t.Errorf("external names %q, %q; want %d, %d", meta.GetExternalName(vm), meta.GetExternalName(ct), id, ctid)
	}
	if vm := s.get(t, "moved-1"); vm.Spec.ForProvider.Node != "pve1" {
		t.Errorf("spec.forProvider.node = %q, want pve1 as created", vm.Spec.ForProvider.Node)
	}
}

// A node going offline makes its guests' resources Unavailable with the
// node named while everything else stays Ready; nothing is created,
// destroyed or moved, and a spec change made meanwhile is applied once the
// node is back. A delete requested meanwhile is carried out only then.
func TestOfflineNodeGuestsUnavailableThenConverge(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	p := cloneOf(pvesim.DefaultTemplateID)
	p.Node = "pve2"
	cp := debianCT()
	cp.Node = "pve2"
	vm, other, ct := s.vm("off-1", p), s.vm("on-1", cloneOf(pvesim.DefaultTemplateID)), s.container("offct-1", cp)
	mustCreate(t, s.env.Client, vm, other, ct)
	vm, other, ct = s.waitReady(t, "off-1"), s.waitReady(t, "on-1"), s.waitCT(t, "offct-1")
	id, ctid := int(vm.Status.AtProvider.VMID), int(ct.Status.AtProvider.VMID)
	if n, m := s.simNode(t, id), s.simNode(t, ctid); n != "pve2" || m != "pve2" {
		t.Fatalf("guests on %s and %s, want pve2", n, m)
	}
	ids := s.sim.GuestIDs()
	before := s.writeCounts()
	puts := s.count("PUT /nodes/{node}/qemu/{vmid}/config")

	if err := s.sim.SetNodeOnline("pve2", false); err != nil {
		t.Fatal(err)
	}
	unavailable := func(r, _ xpv2.Condition) string {
		if r.Status != corev1.ConditionFalse || r.Reason != xpv2.ReasonUnavailable || !strings.Contains(r.Message, "node pve2") {
			return "not Unavailable naming pve2"
		}
		return ""
	}
	s.waitObj(t, vm, 30*time.Second, "VM on the offline node Unavailable", unavailable)
	s.waitObj(t, ct, 30*time.Second, "container on the offline node Unavailable", unavailable)
	s.update(t, vm, func() { vm.Spec.ForProvider.Cores = 2 })
	// A delete requested meanwhile waits for the node: its destroy call
	// cannot get through (pveproxy's 595).
	if err := s.env.Client.Delete(context.Background(), ct); err != nil {
		t.Fatal(err)
	}
	before["DELETE /nodes/{node}/lxc/{vmid}"] = -1 // attempts are expected; checked below
	time.Sleep(4 * pollInterval)
	if err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(ct), ct); err != nil {
		t.Fatalf("the container resource let go while its node was offline: %v", err)
	}

	s.waitObj(t, vm, time.Second, "VM still Unavailable", unavailable)
	s.waitObj(t, other, time.Second, "the VM on pve1 still Ready", func(r, sy xpv2.Condition) string {
		if r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue {
			return "not Ready"
		}
		return ""
	})
	if now := s.sim.GuestIDs(); !slices.Equal(now, ids) {
		t.Errorf("guest ids %v while pve2 is offline, were %v", now, ids)
	}
	s.sameWrites(t, before, "while pve2 is offline")
	if n := s.count("PUT /nodes/{node}/qemu/{vmid}/config"); n != puts {
		t.Errorf("%v config writes while pve2 is offline", n-puts)
	}

	if err := s.sim.SetNodeOnline("pve2", true); err != nil {
		t.Fatal(err)
	}
	s.waitReady(t, "off-1")
	s.waitGone(t, ct)
	if _, ok := s.sim.Guest(ctid); ok {
		t.Errorf("container %d still exists after its resource was deleted", ctid)
	}
	ids = slices.DeleteFunc(ids, func(x int) bool { return x == ctid })
	eventually(t, 30*time.Second, "cores applied once pve2 is back", func() string {
		if g, _ := s.sim.Guest(id); wanted(g, "cores") != "2" || g.Node != "pve2" {
			return fmt.Sprintf("node %s cores %q", g.Node, wanted(g, "cores"))
		}
		return ""
	})
	if now := s.sim.GuestIDs(); !slices.Equal(now, ids) {
		t.Errorf("guest ids %v after pve2 came back, were %v", now, ids)
	}
	s.sameWrites(t, before, "after pve2 came back")
	for _, o := range []conditioned{vm, other} {
		s.noDrift(t, o)
	}
	if g := s.guestsNamed(t, "off-1"); len(g) != 1 || g[0].VMID != id {
		t.Errorf("guests named off-1: %+v, want only %d", g, id)
	}
}
