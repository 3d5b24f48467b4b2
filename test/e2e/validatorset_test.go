package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A ValidatorSet with f=1 makes 4 VMs on 4 distinct nodes and reports 4 ready validators; a
// validator VM destroyed by hand on the simulator is created again and the set returns to ready;
// raising f without enough nodes is refused at admission with the field-named message.
func TestValidatorSetLifecycle(t *testing.T) {
	w := platform(t)
	ctx := context.Background()
	ns := w.namespace(t, "chains")
	const vs = `
apiVersion: platform.microcloud.dev/v1alpha1
kind: ValidatorSet
metadata: {name: chain, namespace: %s}
spec:
  faultsTolerated: %d
  nodes:
  - {name: pve1, rack: r1}
  - {name: pve2, rack: r1}
  - {name: pve3, rack: r2}
  - {name: pve4, rack: r2}
  - {name: pve5, rack: r3}
  template: {sourceVMID: 9000}
  chainStorage: {sizeGiB: 1}
  p2pPort: 26656
  rpcPort: 26657
  rpcAllowedCIDRs: [10.0.0.0/8]
`
	start := time.Now()
	w.mustApply(t, fmt.Sprintf(vs, ns, 1))
	set := w.waitReady(t, gvrValidatorSet, ns, "chain", 4*time.Minute)
	t.Logf("ValidatorSet f=1 Ready %s after apply", time.Since(start).Round(time.Second))
	if got := str(set, "status", "readyValidators"); got != "4" {
		t.Fatalf("status.readyValidators = %s, want 4", got)
	}
	vms := w.composedOf(t, gvrVM, ns, "chain")
	if len(vms) != 4 {
		t.Fatalf("%d VMs composed, want 4", len(vms))
	}
	nodes := map[string]string{}
	for _, vm := range vms {
		id, _ := strconv.Atoi(str(&vm, "status", "atProvider", "vmid"))
		g, ok := w.sim.Guest(id)
		if !ok || !g.Running {
			t.Fatalf("guest %d of %s missing or stopped on the simulator", id, vm.GetName())
		}
		if other, dup := nodes[g.Node]; dup {
			t.Fatalf("%s and %s both on %s", other, vm.GetName(), g.Node)
		}
		nodes[g.Node] = vm.GetName()
	}

	// every validator under HA, kept apart by one negative resource-affinity rule, with its
	// chain-state disk on Ceph RBD storage
	ids := make([]int, 0, len(vms))
	for _, vm := range vms {
		id, _ := strconv.Atoi(str(&vm, "status", "atProvider", "vmid"))
		ids = append(ids, id)
		g, _ := w.sim.Guest(id)
		if !strings.HasPrefix(g.Config["scsi1"], "ceph-rbd:") {
			t.Errorf("validator %s has no chain-state disk on ceph-rbd: scsi1 %q", vm.GetName(), g.Config["scsi1"])
		}
	}
	eventually(t, time.Minute, "validators under HA and apart", w.validatorsUnderHA(ids))
	for _, p := range set.Object["status"].(map[string]any)["placement"].([]any) {
		e := p.(map[string]any)
		if e["haState"] != "started" || !strings.HasPrefix(fmt.Sprint(e["chainDisk"]), "ceph-rbd:") {
			t.Errorf("status.placement entry %v: want haState started and a chainDisk", e)
		}
	}

	// an admin destroys one validator's VM by hand
	victim := vms[0]
	id, _ := strconv.Atoi(str(&victim, "status", "atProvider", "vmid"))
	g, _ := w.sim.Guest(id)
	w.destroyByHand(t, g.Node, id)
	// PVE hands out the lowest free id, so the new guest may well get the old one: what tells the
	// new guest is that it exists again after it was gone, and the provider's ExternalResourceLost.
	eventually(t, 3*time.Minute, "the destroyed validator created again and the set ready", func() string {
		guests := w.guestsNamed(victim.GetName())
		if len(guests) != 1 {
			return fmt.Sprintf("%d guests named %s", len(guests), victim.GetName())
		}
		for nid, node := range guests {
			if gi, _ := w.sim.Guest(nid); !gi.Running {
				return fmt.Sprintf("guest %d not running", nid)
			}
			if node != g.Node {
				return fmt.Sprintf("recreated on %s, want %s", node, g.Node)
			}
		}
		s, err := w.get(ctx, gvrValidatorSet, ns, "chain")
		if err != nil {
			return err.Error()
		}
		if st, _, m := condition(s, "Ready"); st != "True" || str(s, "status", "readyValidators") != "4" {
			return fmt.Sprintf("set Ready=%s %q, readyValidators %s", st, m, str(s, "status", "readyValidators"))
		}
		return ""
	})
	// the recreated validator is under HA again, whatever its id
	vms = w.composedOf(t, gvrVM, ns, "chain")
	ids = ids[:0]
	for _, vm := range vms {
		id, _ := strconv.Atoi(str(&vm, "status", "atProvider", "vmid"))
		ids = append(ids, id)
	}
	eventually(t, 2*time.Minute, "the recreated validator under HA and apart again", w.validatorsUnderHA(ids))
	ev, err := w.kubectl("-n", ns, "get", "events", "--field-selector", "involvedObject.name="+victim.GetName(), "-o", "jsonpath={.items[*].reason}")
	if err != nil || !strings.Contains(ev, "ExternalResourceLost") {
		t.Errorf("no ExternalResourceLost event on %s (events %q, %v)", victim.GetName(), ev, err)
	}
	if n := len(w.sim.GuestIDs()); n == 0 {
		t.Fatal("no guests at all")
	}
	for _, vm := range vms {
		if n := len(w.guestsNamed(vm.GetName())); n != 1 {
			t.Errorf("%d guests named %s, want exactly 1", n, vm.GetName())
		}
	}

	// f=2 needs 7 nodes: refused by the API server, the set untouched
	_, err = w.apply(fmt.Sprintf(vs, ns, 2))
	if err == nil || !strings.Contains(err.Error(), "spec.nodes must list at least 3*spec.faultsTolerated+1 nodes") {
		t.Fatalf("raising faultsTolerated to 2 with 5 nodes: err %v, want the spec.nodes CEL message", err)
	}
	if s, _ := w.get(ctx, gvrValidatorSet, ns, "chain"); str(s, "spec", "faultsTolerated") != "1" {
		t.Fatalf("spec.faultsTolerated changed to %s", str(s, "spec", "faultsTolerated"))
	}
	w.deleteAndWait(t, gvrValidatorSet, ns, "chain")
	for _, vm := range vms {
		if n := len(w.guestsNamed(vm.GetName())); n != 0 {
			t.Errorf("%d guests named %s left after the set was deleted", n, vm.GetName())
		}
	}
	if msg := w.validatorsUnderHA(nil, ids...)(); msg != "" {
		t.Errorf("after the set was deleted: %s", msg)
	}
}

// validatorsUnderHA checks that the guests ids are under HA (started) and that exactly one
// negative resource-affinity rule names them, and only them. With mine non-empty and ids
// empty it checks that none of mine is under HA or in a rule any more. Other tests' HA
// resources on the same simulator are ignored.
func (w *world) validatorsUnderHA(ids []int, mine ...int) func() string {
	return func() string {
		var res []struct {
			SID   string `json:"sid"`
			State string `json:"state"`
		}
		var rules []struct {
			Type      string `json:"type"`
			Affinity  string `json:"affinity"`
			Resources string `json:"resources"`
		}
		for path, into := range map[string]any{"/cluster/ha/resources": &res, "/cluster/ha/rules": &rules} {
			raw, err := w.pve("GET", path)
			if err != nil {
				return err.Error()
			}
			if err := json.Unmarshal(raw, into); err != nil {
				return err.Error()
			}
		}
		sid := func(id int) string { return fmt.Sprintf("vm:%d", id) }
		state := map[string]string{}
		for _, r := range res {
			state[r.SID] = r.State
		}
		for _, id := range mine {
			if st, ok := state[sid(id)]; ok {
				return fmt.Sprintf("%s still under HA (%s)", sid(id), st)
			}
			for _, r := range rules {
				if slices.Contains(strings.Split(r.Resources, ","), sid(id)) {
					return fmt.Sprintf("%s still in HA rule %+v", sid(id), r)
				}
			}
		}
		if len(ids) == 0 {
			return ""
		}
		want := make([]string, 0, len(ids))
		for _, id := range ids {
			if st := state[sid(id)]; st != "started" {
				return fmt.Sprintf("%s under HA: %q, want started", sid(id), st)
			}
			want = append(want, sid(id))
		}
		slices.Sort(want)
		var apart []string
		for _, r := range rules {
			members := strings.Split(r.Resources, ",")
			if r.Type != "resource-affinity" || r.Affinity != "negative" || !slices.Contains(members, want[0]) {
				continue
			}
			slices.Sort(members)
			apart = append(apart, strings.Join(members, ","))
		}
		if len(apart) != 1 || apart[0] != strings.Join(want, ",") {
			return fmt.Sprintf("negative resource-affinity rules naming %s: %q, want one over %v", want[0], apart, want)
		}
		return ""
	}
}

// destroyByHand stops and destroys a guest through the API as an admin would. The provider may
// start the stopped guest again before the destroy lands (its spec says running), and PVE refuses
// to destroy a running VM: like an admin, try again until it is gone.
func (w *world) destroyByHand(t *testing.T, node string, id int) {
	t.Helper()
	path := fmt.Sprintf("/nodes/%s/qemu/%d", node, id)
	eventually(t, time.Minute, fmt.Sprintf("guest %d destroyed by hand", id), func() string {
		if _, ok := w.sim.Guest(id); !ok {
			return ""
		}
		if _, err := w.pve("POST", path+"/status/stop"); err != nil {
			return err.Error()
		}
		w.sim.Wait()
		// An HA-managed guest is destroyed only with purge (PVE refuses otherwise), which also
		// takes it out of HA and out of the HA rules naming it.
		if _, err := w.pve("DELETE", path+"?purge=1"); err != nil {
			return err.Error()
		}
		w.sim.Wait()
		if _, ok := w.sim.Guest(id); ok {
			return "still there"
		}
		return ""
	})
}
