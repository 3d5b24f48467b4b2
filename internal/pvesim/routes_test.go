package pvesim

import (
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

// TestGuestListsStorageAndLXCExtras drives the routes the lifecycle tests
// do not: node guest lists, storages, container pending/resize/firewall,
// and per-rule firewall calls.
func TestGuestListsStorageAndLXCExtras(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 10})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve2")

	vms, err := node.VirtualMachines(cx)
	if err != nil || len(vms) == 0 {
		t.Fatalf("qemu list: %d %v", len(vms), err)
	}
	for _, vm := range vms {
		if vm.Node != "" && vm.Node != "pve2" {
			t.Errorf("vm %d listed on pve2 but lives on %s", vm.VMID, vm.Node)
		}
	}
	cts, err := node.Containers(cx)
	if err != nil || len(cts) != 1 {
		t.Fatalf("lxc list: %d %v", len(cts), err)
	}
	storages, err := node.Storages(cx)
	if err != nil || len(storages) != 3 { // local, local-lvm, ceph-rbd
		t.Fatalf("storages %v %v", storages, err)
	}
	rbd, err := node.Storage(cx, "ceph-rbd")
	if err != nil || rbd.Type != "rbd" || rbd.Shared != 1 || rbd.Used == 0 || rbd.Total != 10*1024*gib {
		t.Fatalf("ceph-rbd status %+v %v", rbd, err)
	}

	// A stopped container from the seed: pending is empty, resize grows.
	ct, err := node.Container(cx, int(cts[0].VMID))
	if err != nil {
		t.Fatal(err)
	}
	waitOK(t, must(t)(ct.Start(cx)))
	waitOK(t, must(t)(ct.Reboot(cx)))
	waitOK(t, must(t)(ct.Shutdown(cx, false, 10)))
	if _, err := ct.Shutdown(cx, false, 10); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("shutdown stopped CT: %v", err)
	}
	pend, err := ct.Pending(cx)
	if err != nil || len(pend) == 0 {
		t.Fatalf("pending %v %v", pend, err)
	}
	waitOK(t, must(t)(ct.Resize(cx, "rootfs", "+1G")))
	if err := ct.Ping(cx); err != nil {
		t.Fatal(err)
	}
	if ct.MaxDisk != 9*gib {
		t.Errorf("maxdisk after resize %d", ct.MaxDisk)
	}

	// Container firewall: options, rules by position, IP sets.
	if err := ct.UpdateFirewallOptions(cx, &proxmox.FirewallVirtualMachineOption{Enable: true}); err != nil {
		t.Fatal(err)
	}
	opts, err := ct.GetFirewallOptions(cx)
	if err != nil || !bool(opts.Enable) {
		t.Fatalf("ct fw options %+v %v", opts, err)
	}
	if err := ct.NewFirewallRule(cx, &proxmox.FirewallRule{Type: "in", Action: "DROP", Proto: "udp", Dport: "53"}); err != nil {
		t.Fatal(err)
	}
	rules, err := ct.FirewallRules(cx)
	if err != nil || len(rules) != 1 {
		t.Fatalf("ct rules %v %v", rules, err)
	}
	r0 := ct.FirewallRule(0)
	if err := r0.Get(cx); err != nil || r0.Dport != "53" {
		t.Fatalf("rule get %+v %v", r0, err)
	}
	r0.Action = "ACCEPT"
	if err := r0.Update(cx); err != nil {
		t.Fatal(err)
	}
	if err := r0.Get(cx); err != nil || r0.Action != "ACCEPT" {
		t.Fatalf("after update %+v %v", r0, err)
	}
	if err := ct.NewFirewallIPSet(cx, proxmox.FirewallIPSetCreationOption{Name: "allowed"}); err != nil {
		t.Fatal(err)
	}
	if err := ct.NewFirewallIPSetEntry(cx, "allowed", proxmox.FirewallIPSetEntryCreationOption{CIDR: "10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	sets, err := ct.GetFirewallIPSet(cx)
	if err != nil || len(sets) != 1 {
		t.Fatalf("ct ipsets %v %v", sets, err)
	}
	ents, err := ct.GetFirewallIPSetEntries(cx, "allowed")
	if err != nil || len(ents) != 1 {
		t.Fatalf("ct ipset entries %v %v", ents, err)
	}
	// go-proxmox passes force as the response target, so PVE never sees it
	// and refuses to drop a non-empty set; empty it first.
	if err := ct.DeleteFirewallIPSet(cx, "allowed", true); err == nil || !strings.Contains(err.Error(), "IPSet 'allowed' is not empty") {
		t.Fatalf("delete non-empty ipset: %v", err)
	}
	if err := ct.DeleteFirewallIPSetEntry(cx, "allowed", "10.0.0.0/8", ""); err != nil {
		t.Fatal(err)
	}
	if err := ct.DeleteFirewallIPSet(cx, "allowed", false); err != nil {
		t.Fatal(err)
	}
	if err := r0.Delete(cx); err != nil {
		t.Fatal(err)
	}

	// VM firewall rule by position, VM IP set listing and removal, stop.
	vm, err := node.VirtualMachine(cx, int(vms[0].VMID))
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.NewFirewallRule(cx, &proxmox.FirewallRule{Type: "out", Action: "REJECT", Dest: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	vr := vm.FirewallRule(0)
	if err := vr.Get(cx); err != nil || vr.Dest != "192.0.2.1" {
		t.Fatalf("vm rule %+v %v", vr, err)
	}
	vr.Comment = "block"
	if err := vr.Update(cx); err != nil {
		t.Fatal(err)
	}
	if err := vr.Delete(cx); err != nil {
		t.Fatal(err)
	}
	if err := vm.NewFirewallIPSet(cx, proxmox.FirewallIPSetCreationOption{Name: "s1"}); err != nil {
		t.Fatal(err)
	}
	if sets, err := vm.GetFirewallIPSet(cx); err != nil || len(sets) != 1 {
		t.Fatalf("vm ipsets %v %v", sets, err)
	}
	if err := vm.DeleteFirewallIPSet(cx, "s1", false); err != nil {
		t.Fatal(err)
	}
	waitOK(t, must(t)(vm.Start(cx)))
	waitOK(t, must(t)(vm.Stop(cx)))
}

// TestClusterObjectsByName drives the per-object cluster calls: aliases,
// IP set entries, group rules by position, deprecated pool paths, HA by id.
func TestClusterObjectsByName(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 3})
	c := pveClient(t, srv)
	cx := ctx(t)
	cl, _ := c.Cluster(cx)

	if err := cl.NewFirewallAlias(cx, &proxmox.FirewallAliasCreateOption{Name: "gw", CIDR: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.FirewallAliasUpdate(cx, "gw", &proxmox.FirewallAliasUpdateOption{CIDR: "10.0.0.254", Comment: "router"}); err != nil {
		t.Fatal(err)
	}
	a, err := cl.FirewallAlias(cx, "gw")
	if err != nil || a.Cidr != "10.0.0.254" || a.Comment != "router" {
		t.Fatalf("alias %+v %v", a, err)
	}
	if as, err := cl.FirewallAliases(cx); err != nil || len(as) != 1 {
		t.Fatalf("aliases %v %v", as, err)
	}
	if err := cl.FirewallAliasDelete(cx, "gw"); err != nil {
		t.Fatal(err)
	}

	if err := cl.NewFirewallIPSet(cx, &proxmox.FirewallIPSetCreationOption{Name: "blocked"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.NewFirewallIPSetEntry(cx, "blocked", &proxmox.FirewallIPSetEntryCreationOption{CIDR: "203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.FirewallIPSetEntryUpdate(cx, "blocked", "203.0.113.0/24", &proxmox.FirewallIPSetEntryUpdateOption{Comment: "spam", NoMatch: true}); err != nil {
		t.Fatal(err)
	}
	// PVE writes nomatch as the number 1, which go-proxmox's bool field
	// cannot decode; read the entry generically.
	var e map[string]any
	if err := c.Get(cx, "/cluster/firewall/ipset/blocked/203.0.113.0/24", &e); err != nil || e["comment"] != "spam" || e["nomatch"] != float64(1) {
		t.Fatalf("entry %+v %v", e, err)
	}
	if sets, err := cl.FirewallIPSets(cx); err != nil || len(sets) != 1 {
		t.Fatalf("ipsets %v %v", sets, err)
	}
	if err := cl.FirewallIPSetEntryDelete(cx, "blocked", "203.0.113.0/24"); err != nil {
		t.Fatal(err)
	}
	if err := cl.FirewallIPSetDelete(cx, "blocked", false); err != nil {
		t.Fatal(err)
	}

	if err := cl.NewFWGroup(cx, &proxmox.FirewallSecurityGroup{Group: "db"}); err != nil {
		t.Fatal(err)
	}
	if gs, err := cl.FWGroups(cx); err != nil || len(gs) != 1 || gs[0].Group != "db" {
		t.Fatalf("groups %v %v", gs, err)
	}
	// rename = group changes only the comment; a rename onto another existing group is refused.
	if err := c.Post(cx, "/cluster/firewall/groups", map[string]any{"group": "db", "rename": "db", "comment": "databases"}, nil); err != nil {
		t.Fatalf("comment update: %v", err)
	}
	if gs, err := cl.FWGroups(cx); err != nil || len(gs) != 1 || gs[0].Comment != "databases" {
		t.Fatalf("groups after the comment update %+v %v", gs, err)
	}
	g, _ := cl.FWGroup(cx, "db")
	if err := g.RuleCreate(cx, &proxmox.FirewallRule{Type: "in", Action: "ACCEPT", Dport: "5432", Proto: "tcp"}); err != nil {
		t.Fatal(err)
	}
	var rule map[string]any
	if err := c.Get(cx, "/cluster/firewall/groups/db/0", &rule); err != nil || rule["dport"] != "5432" || rule["pos"] != float64(0) {
		t.Fatalf("group rule %v %v", rule, err)
	}
	if err := g.RuleDelete(cx, 0); err != nil {
		t.Fatal(err)
	}
	if err := g.Delete(cx); err != nil {
		t.Fatal(err)
	}

	if err := c.NewPool(cx, "old-style", ""); err != nil {
		t.Fatal(err)
	}
	p := &proxmox.Pool{PoolID: "old-style"}
	pools, _ := c.Pools(cx)
	for _, x := range pools {
		if x.PoolID == "old-style" {
			p = x
		}
	}
	if err := p.UpdateDeprecated(cx, &proxmox.PoolUpdateOption{VirtualMachines: "1001", Comment: "x"}); err != nil {
		t.Fatal(err)
	}
	got, err := p.GetDeprecated(cx)
	if err != nil || len(got.Members) != 1 || got.Comment != "x" {
		t.Fatalf("pool via /pools/{poolid}: %+v %v", got, err)
	}
	if err := p.UpdateDeprecated(cx, &proxmox.PoolUpdateOption{VirtualMachines: "1001", Delete: true}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteDeprecated(cx); err != nil {
		t.Fatal(err)
	}
	if err := c.NewPool(cx, "new-style", ""); err != nil {
		t.Fatal(err)
	}
	np, _ := c.Pool(cx, "new-style")
	if err := np.Delete(cx); err != nil {
		t.Fatal(err)
	}

	if err := cl.NewHAResource(cx, &proxmox.HAResourceCreateOption{SID: "vm:1000"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.NewHAResource(cx, &proxmox.HAResourceCreateOption{SID: "vm:1001"}); err != nil {
		t.Fatal(err)
	}
	h, err := cl.HAResource(cx, "vm:1000")
	if err != nil || h.SID != "vm:1000" || *h.State != "started" {
		t.Fatalf("HA resource %+v %v", h, err)
	}
	if err := cl.NewHARule(cx, &proxmox.HARuleCreateOption{Rule: "r1", Type: "resource-affinity", Resources: "vm:1000,vm:1001", Affinity: "positive"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.HARuleUpdate(cx, "r1", &proxmox.HARuleUpdateOption{Type: "resource-affinity", Affinity: "negative"}); err != nil {
		t.Fatal(err)
	}
	r1, err := cl.HARule(cx, "r1")
	if err != nil || r1.Affinity != "negative" {
		t.Fatalf("rule after update %+v %v", r1, err)
	}
	if err := cl.HARuleDelete(cx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := cl.HAResourceDelete(cx, "vm:1000", false); err != nil {
		t.Fatal(err)
	}
}
