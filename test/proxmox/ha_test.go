package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

func (s *site) haResource(name string, p v1alpha1.HAResourceParameters) *v1alpha1.HAResource {
	o := &v1alpha1.HAResource{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	o.Spec.ForProvider = p
	o.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	return o
}

func (s *site) haRule(name string, p v1alpha1.HARuleParameters) *v1alpha1.HARule {
	o := &v1alpha1.HARule{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	o.Spec.ForProvider = p
	o.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	return o
}

// pveHA reads an HA resource from the simulator; ok is false when PVE
// lists no such sid.
func (s *site) pveHA(t *testing.T, sid string) (map[string]any, bool) {
	t.Helper()
	var list []map[string]any
	if err := s.pve.Get(context.Background(), "/cluster/ha/resources", &list); err != nil {
		t.Fatalf("cannot list HA resources: %v", err)
	}
	for _, h := range list {
		if h["sid"] == sid {
			return h, true
		}
	}
	return nil, false
}

// pveRule reads an HA rule from the simulator; ok is false when PVE lists
// no such rule.
func (s *site) pveRule(t *testing.T, id string) (map[string]any, bool) {
	t.Helper()
	var list []map[string]any
	if err := s.pve.Get(context.Background(), "/cluster/ha/rules", &list); err != nil {
		t.Fatalf("cannot list HA rules: %v", err)
	}
	for _, r := range list {
		if r["rule"] == id {
			return r, true
		}
	}
	return nil, false
}

// haIs returns a condition that the simulator's HA resource sid has the
// wanted fields (as strings).
func (s *site) haIs(t *testing.T, sid string, want map[string]string) func() string {
	return func() string {
		h, ok := s.pveHA(t, sid)
		if !ok {
			return sid + " not under HA"
		}
		for k, v := range want {
			if field(h, k) != v {
				return fmt.Sprintf("%s %s=%q, want %q (%v)", sid, k, field(h, k), v, h)
			}
		}
		return ""
	}
}

func (s *site) ruleIs(t *testing.T, id string, want map[string]string) func() string {
	return func() string {
		r, ok := s.pveRule(t, id)
		if !ok {
			return "no rule " + id
		}
		for k, v := range want {
			if field(r, k) != v {
				return fmt.Sprintf("rule %s %s=%q, want %q (%v)", id, k, field(r, k), v, r)
			}
		}
		return ""
	}
}

// field is m[k] as a string, "" when PVE leaves it out.
func field(m map[string]any, k string) string {
	if v, ok := m[k]; ok && v != nil {
		return str(v)
	}
	return ""
}

// haVM creates a VM from the default template and waits until it is Ready.
func (s *site) haVM(t *testing.T, name string) int64 {
	t.Helper()
	mustCreate(t, s.env.Client, s.vm(name, cloneOf(pvesim.DefaultTemplateID)))
	return s.waitReady(t, name).Status.AtProvider.VMID
}

func TestHAResourceLifecycle(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()
	vmid := s.haVM(t, "ha-vm-1")
	sid := fmt.Sprintf("vm:%d", vmid)

	ha := s.haResource("ha-vm-1", v1alpha1.HAResourceParameters{
		VirtualMachineRef: &xpv2.NamespacedReference{Name: "ha-vm-1"},
		MaxRestart:        ptr.To[int64](2), Comment: ptr.To("web tier")})
	mustCreate(t, s.env.Client, ha)
	s.waitObjReady(t, ha)
	if got := ptr.Deref(ha.Spec.ForProvider.SID, ""); got != sid || meta.GetExternalName(ha) != sid {
		t.Fatalf("sid %q, external name %q; want %s from the VM reference", got, meta.GetExternalName(ha), sid)
	}
	eventually(t, 10*time.Second, "guest under HA", s.haIs(t, sid, map[string]string{
		"state": "started", "max_restart": "2", "comment": "web tier"}))
	if obs := ha.Status.AtProvider; obs.State != "started" || obs.MaxRestart != 2 || obs.MaxRelocate != 1 || obs.Type != "vm" {
		t.Errorf("status.atProvider = %+v", obs)
	}

	// Update.
	s.update(t, ha, func() {
		ha.Spec.ForProvider.MaxRelocate = ptr.To[int64](3)
		ha.Spec.ForProvider.Comment = ptr.To("web tier, production")
	})
	eventually(t, 20*time.Second, "HA resource updated", s.haIs(t, sid, map[string]string{
		"max_relocate": "3", "comment": "web tier, production", "max_restart": "2"}))

	// Drift made by hand on PVE is set back.
	if err := s.pve.Put(ctx, "/cluster/ha/resources/"+sid, map[string]any{"state": "disabled", "max_restart": 7, "comment": "by hand"}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "drift repaired", s.haIs(t, sid, map[string]string{
		"state": "started", "max_restart": "2", "max_relocate": "3", "comment": "web tier, production"}))
	s.waitObj(t, ha, 20*time.Second, "drift reported", func(_, _ xpv2.Condition) string {
		if c := ha.GetCondition("ExternalDrift"); c.Status != corev1.ConditionTrue && !strings.Contains(c.Message, "state") {
			return fmt.Sprintf("ExternalDrift %s %s: %s", c.Status, c.Reason, c.Message)
		}
		return ""
	})

	// Deleting the HAResource takes the guest out of HA and leaves it running.
	if err := s.env.Client.Delete(ctx, ha); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, ha)
	if h, ok := s.pveHA(t, sid); ok {
		t.Errorf("guest still under HA after the HAResource was deleted: %v", h)
	}
	g, ok := s.sim.Guest(int(vmid))
	if !ok {
		t.Fatalf("deleting the HAResource removed guest %d", vmid)
	}
	if !g.Running {
		t.Errorf("guest %d stopped on leaving HA, want it left running", vmid)
	}
	s.waitReady(t, "ha-vm-1")
}

func TestHAResourceContainerBySelectorAndState(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()
	ct := s.container("ha-ct-1", debianCT())
	ct.Labels = map[string]string{"tier": "db"}
	mustCreate(t, s.env.Client, ct)
	vmid := s.waitCT(t, "ha-ct-1").Status.AtProvider.VMID
	sid := fmt.Sprintf("ct:%d", vmid)

	ha := s.haResource("ha-ct-1", v1alpha1.HAResourceParameters{
		ContainerSelector: &xpv2.NamespacedSelector{MatchLabels: map[string]string{"tier": "db"}},
		State:             "stopped"})
	mustCreate(t, s.env.Client, ha)
	s.waitObjReady(t, ha)
	eventually(t, 10*time.Second, "container under HA, stopped", s.haIs(t, sid, map[string]string{"state": "stopped", "type": "ct"}))
	eventually(t, 10*time.Second, "HA stops the container", func() string {
		if g, _ := s.sim.Guest(int(vmid)); g.Running {
			return "container running"
		}
		return ""
	})
	if err := s.env.Client.Delete(ctx, ha); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, ha)
	if _, ok := s.pveHA(t, sid); ok {
		t.Errorf("%s still under HA", sid)
	}
	if _, ok := s.sim.Guest(int(vmid)); !ok {
		t.Errorf("deleting the HAResource removed container %d", vmid)
	}
}

// A guest put under HA by hand is not taken over by a HAResource naming
// it, and deleting that HAResource leaves it under HA.
func TestHAResourceNotOurs(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()
	vmid := s.haVM(t, "ha-vm-2")
	sid := fmt.Sprintf("vm:%d", vmid)
	if err := s.pve.Post(ctx, "/cluster/ha/resources", map[string]any{"sid": sid, "comment": "by hand", "max_restart": 5}, nil); err != nil {
		t.Fatal(err)
	}
	ha := s.haResource("ha-vm-2", v1alpha1.HAResourceParameters{SID: ptr.To(sid), MaxRestart: ptr.To[int64](1), Comment: ptr.To("mine")})
	mustCreate(t, s.env.Client, ha)
	s.waitObj(t, ha, 20*time.Second, "refusal", func(_, sy xpv2.Condition) string {
		if sy.Status != corev1.ConditionFalse || !strings.Contains(sy.Message, "already under HA, put there outside this resource") {
			return "no refusal"
		}
		return ""
	})
	if err := s.env.Client.Delete(ctx, ha); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, ha)
	eventually(t, 5*time.Second, "hand-made HA resource kept as it was", s.haIs(t, sid, map[string]string{"comment": "by hand", "max_restart": "5"}))
}

// A dropped answer to the create leaves one HA resource, converged.
func TestHAResourceDroppedCreateAnswer(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	vmid := s.haVM(t, "ha-vm-3")
	sid := fmt.Sprintf("vm:%d", vmid)
	s.setFaults(pvesim.RouteFault{Route: "POST /cluster/ha/resources", DropRate: 1, Phase: pvesim.PhaseAfter, Count: 1})
	ha := s.haResource("ha-vm-3", v1alpha1.HAResourceParameters{SID: ptr.To(sid), Comment: ptr.To("once")})
	mustCreate(t, s.env.Client, ha)
	s.waitObjReady(t, ha)
	eventually(t, 10*time.Second, "HA resource", s.haIs(t, sid, map[string]string{"comment": "once", "state": "started"}))
	if n := s.sim.RequestCounts()["POST /cluster/ha/resources"]; n != 1 {
		t.Errorf("%v creates of the HA resource, want 1 (the dropped one)", n)
	}
	if meta.GetExternalCreateFailed(ha).IsZero() {
		t.Errorf("the create did not fail: the dropped answer never struck")
	}
}

func TestHARuleLifecycle(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()
	var sids []string
	for _, n := range []string{"val-1", "val-2"} {
		vmid := s.haVM(t, n)
		sids = append(sids, fmt.Sprintf("vm:%d", vmid))
		mustCreate(t, s.env.Client, s.haResource(n, v1alpha1.HAResourceParameters{VirtualMachineRef: &xpv2.NamespacedReference{Name: n}}))
	}
	refs := []xpv2.NamespacedReference{{Name: "val-1"}, {Name: "val-2"}}
	apart := s.haRule("validators-apart", v1alpha1.HARuleParameters{Type: "resource-affinity", ResourceRefs: refs, Affinity: ptr.To("negative"), Comment: ptr.To("one validator per node")})
	pinned := s.haRule("validators-pinned", v1alpha1.HARuleParameters{Type: "node-affinity", ResourceRefs: refs,
		Nodes: []v1alpha1.HARuleNode{{Node: "pve1", Priority: ptr.To[int64](2)}, {Node: "pve2"}}, Strict: ptr.To(true)})
	mustCreate(t, s.env.Client, apart, pinned)
	s.waitObjReady(t, apart)
	s.waitObjReady(t, pinned)
	both := sids[0] + "," + sids[1]
	if sids[1] < sids[0] {
		both = sids[1] + "," + sids[0]
	}
	eventually(t, 10*time.Second, "resource-affinity rule", s.ruleIs(t, "validators-apart", map[string]string{
		"type": "resource-affinity", "affinity": "negative", "resources": both, "comment": "one validator per node"}))
	eventually(t, 10*time.Second, "node-affinity rule", s.ruleIs(t, "validators-pinned", map[string]string{
		"type": "node-affinity", "nodes": "pve1:2,pve2", "strict": "1", "resources": both}))

	// Update: disable, priorities changed.
	s.update(t, pinned, func() {
		pinned.Spec.ForProvider.Disable = true
		pinned.Spec.ForProvider.Nodes = []v1alpha1.HARuleNode{{Node: "pve2", Priority: ptr.To[int64](5)}}
	})
	eventually(t, 20*time.Second, "rule updated", s.ruleIs(t, "validators-pinned", map[string]string{"disable": "1", "nodes": "pve2:5"}))
	s.update(t, pinned, func() { pinned.Spec.ForProvider.Disable = false })
	eventually(t, 20*time.Second, "rule enabled again", s.ruleIs(t, "validators-pinned", map[string]string{"disable": ""}))

	// Drift made by hand is set back.
	if err := s.pve.Put(ctx, "/cluster/ha/rules/validators-apart", map[string]any{"type": "resource-affinity", "affinity": "positive", "resources": sids[0] + "," + sids[1], "disable": 1, "comment": "by hand"}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "rule drift repaired", s.ruleIs(t, "validators-apart", map[string]string{
		"affinity": "negative", "disable": "", "comment": "one validator per node"}))

	// Deleting the rules leaves the HA resources.
	for _, r := range []*v1alpha1.HARule{apart, pinned} {
		if err := s.env.Client.Delete(ctx, r); err != nil {
			t.Fatal(err)
		}
		s.waitGone(t, r)
		if _, ok := s.pveRule(t, r.Name); ok {
			t.Errorf("rule %s still in PVE", r.Name)
		}
	}
	for _, sid := range sids {
		if _, ok := s.pveHA(t, sid); !ok {
			t.Errorf("%s left HA when the rules were deleted", sid)
		}
	}
}

// A PVE 8 cluster has no HA rules: the HARule says so and backs off; the
// HAResource and the VM work as usual.
func TestHARulePVE8(t *testing.T) {
	s := newSite(t, pvesim.Options{PVEMajor: 8})
	s.startProxmox(t)
	ctx := context.Background()
	vmid := s.haVM(t, "old-vm")
	sid := fmt.Sprintf("vm:%d", vmid)
	ha := s.haResource("old-vm", v1alpha1.HAResourceParameters{SID: ptr.To(sid), MaxRestart: ptr.To[int64](3)})
	rule := s.haRule("old-rule", v1alpha1.HARuleParameters{Type: "node-affinity", Resources: []string{sid}, Nodes: []v1alpha1.HARuleNode{{Node: "pve1"}}})
	mustCreate(t, s.env.Client, ha, rule)
	s.waitObjReady(t, ha)
	eventually(t, 10*time.Second, "HA resource on PVE 8", s.haIs(t, sid, map[string]string{"max_restart": "3"}))
	s.waitObj(t, rule, 20*time.Second, "no-rules condition", func(_, sy xpv2.Condition) string {
		if sy.Status != corev1.ConditionFalse || !strings.Contains(sy.Message, "the cluster's Proxmox VE has no HA rules") {
			return "no condition naming the missing HA rules"
		}
		return ""
	})
	// Backoff: 100ms doubling to 2s gives a handful of tries in 6s, not a storm.
	before := s.sim.RequestCounts()["GET unmatched"] + s.sim.RequestCounts()["POST unmatched"]
	time.Sleep(6 * time.Second)
	if n := s.sim.RequestCounts()["GET unmatched"] + s.sim.RequestCounts()["POST unmatched"] - before; n > 10 {
		t.Errorf("%v requests to the missing HA rules API in 6s; want backoff", n)
	}
	// The VM still converges on a spec change.
	vm := s.get(t, "old-vm")
	s.update(t, vm, func() { vm.Spec.ForProvider.Cores = 3 })
	eventually(t, 30*time.Second, "VM updated on PVE 8", func() string {
		if c := str(s.guestConfig(t, "pve1", int(vmid))["cores"]); c != "3" {
			return "cores " + c
		}
		return ""
	})
	if err := s.env.Client.Delete(ctx, rule); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, rule)
	s.waitObjReady(t, ha)
}

func TestHAAdmission(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	cases := map[string]struct {
		obj  conditioned
		want string
	}{
		"max_restart negative":  {s.haResource("a1", v1alpha1.HAResourceParameters{SID: ptr.To("vm:100"), MaxRestart: ptr.To[int64](-1)}), "spec.forProvider.maxRestart must be 0 or more"},
		"max_relocate negative": {s.haResource("a2", v1alpha1.HAResourceParameters{SID: ptr.To("vm:100"), MaxRelocate: ptr.To[int64](-2)}), "spec.forProvider.maxRelocate must be 0 or more"},
		"no guest":              {s.haResource("a3", v1alpha1.HAResourceParameters{}), "spec.forProvider.sid, virtualMachineRef"},
		"bad sid":               {s.haResource("a4", v1alpha1.HAResourceParameters{SID: ptr.To("vm:abc")}), "spec.forProvider.sid"},
		"VM and container": {s.haResource("a5", v1alpha1.HAResourceParameters{VirtualMachineRef: &xpv2.NamespacedReference{Name: "x"},
			ContainerRef: &xpv2.NamespacedReference{Name: "y"}}), "either a VirtualMachine"},
		"bad state": {s.haResource("a6", v1alpha1.HAResourceParameters{SID: ptr.To("vm:100"), State: "running"}), "spec.forProvider.state"},
		"node-affinity without nodes": {s.haRule("r1", v1alpha1.HARuleParameters{Type: "node-affinity", Resources: []string{"vm:100"}}),
			"spec.forProvider.nodes: a node-affinity rule needs at least one node"},
		"resource-affinity with one resource": {s.haRule("r2", v1alpha1.HARuleParameters{Type: "resource-affinity", Affinity: ptr.To("negative"), Resources: []string{"vm:100"}}),
			"spec.forProvider.resources: a resource-affinity rule needs at least two resources"},
		"resource-affinity without affinity": {s.haRule("r3", v1alpha1.HARuleParameters{Type: "resource-affinity", Resources: []string{"vm:100", "vm:101"}}),
			"spec.forProvider.affinity (positive or negative) is required"},
		"negative priority": {s.haRule("r4", v1alpha1.HARuleParameters{Type: "node-affinity", Resources: []string{"vm:100"},
			Nodes: []v1alpha1.HARuleNode{{Node: "pve1", Priority: ptr.To[int64](-1)}}}), "spec.forProvider.nodes[].priority must be 0 or more"},
		"no resources": {s.haRule("r5", v1alpha1.HARuleParameters{Type: "node-affinity", Nodes: []v1alpha1.HARuleNode{{Node: "pve1"}}}),
			"spec.forProvider.resources: a rule needs at least one resource"},
		"rule id with a dot": {s.haRule("r.6", v1alpha1.HARuleParameters{Type: "node-affinity", Resources: []string{"vm:100"}, Nodes: []v1alpha1.HARuleNode{{Node: "pve1"}}}),
			"metadata.name is the Proxmox HA rule id"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := s.env.Client.Create(ctx, c.obj)
			if err == nil {
				t.Fatalf("created; want rejection naming %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %q", err, c.want)
			}
		})
	}
}
