package pvesim

import (
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

func TestClusterFirewall(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	cx := ctx(t)
	cl, _ := c.Cluster(cx)

	// Aliases and IP sets.
	if err := cl.NewFirewallAlias(cx, &proxmox.FirewallAliasCreateOption{Name: "office", CIDR: "192.0.2.0/24"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.NewFirewallAlias(cx, &proxmox.FirewallAliasCreateOption{Name: "office", CIDR: "192.0.2.0/24"}); err == nil ||
		!strings.Contains(err.Error(), `400 Parameter verification failed. - {"name":"alias 'office' already exists"}`) {
		t.Errorf("duplicate alias: %v", err)
	}
	if err := cl.NewFirewallIPSet(cx, &proxmox.FirewallIPSetCreationOption{Name: "mgmt", Comment: "admins"}); err != nil {
		t.Fatal(err)
	}
	for _, cidr := range []string{"10.1.0.0/16", "198.51.100.7", "office"} {
		if err := cl.NewFirewallIPSetEntry(cx, "mgmt", &proxmox.FirewallIPSetEntryCreationOption{CIDR: cidr}); err != nil {
			t.Fatalf("add %s: %v", cidr, err)
		}
	}
	if err := cl.NewFirewallIPSetEntry(cx, "mgmt", &proxmox.FirewallIPSetEntryCreationOption{CIDR: "10.1.0.0/16"}); err == nil ||
		!strings.Contains(err.Error(), "address '10.1.0.0/16' already exists") {
		t.Errorf("duplicate cidr: %v", err)
	}
	entries, err := cl.FirewallIPSet(cx, "mgmt")
	if err != nil || len(entries) != 3 || entries[0].Digest == "" {
		t.Fatalf("entries %v %v", entries, err)
	}
	if err := cl.FirewallIPSetDelete(cx, "mgmt", false); err == nil || !strings.Contains(err.Error(), "IPSet 'mgmt' is not empty") {
		t.Errorf("delete non-empty ipset: %v", err)
	}

	// Security groups with rules; new rules go to the top unless pos is given.
	if err := cl.NewFWGroup(cx, &proxmox.FirewallSecurityGroup{Group: "webserver", Comment: "http"}); err != nil {
		t.Fatal(err)
	}
	g, err := cl.FWGroup(cx, "webserver")
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"80", "443"} {
		if err := g.RuleCreate(cx, &proxmox.FirewallRule{Type: "in", Action: "ACCEPT", Proto: "tcp", Dport: port, Enable: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.RuleCreate(cx, &proxmox.FirewallRule{Type: "in", Action: "ACCEPT", Source: "+mgmt", Proto: "tcp", Dport: "22", Enable: 1, Pos: 2}); err != nil {
		t.Fatal(err)
	}
	if err := g.RuleCreate(cx, &proxmox.FirewallRule{Type: "in", Action: "ALLOW"}); err == nil || !strings.Contains(err.Error(), "unknown action 'ALLOW'") {
		t.Errorf("bad action: %v", err)
	}
	// GetRules returns the list read before the call (go-proxmox evaluates
	// g.Rules first), so re-read the group instead.
	rules := groupRulesVia(t, cl, "webserver")
	if len(rules) != 3 || rules[0].Dport != "443" || rules[1].Dport != "80" || rules[2].Dport != "22" || rules[2].Pos != 2 {
		t.Fatalf("rule order: %+v %+v %+v", rules[0], rules[1], rules[2])
	}
	rules[1].Dport = "8080"
	if err := g.RuleUpdate(cx, rules[1]); err != nil {
		t.Fatal(err)
	}
	if err := g.RuleDelete(cx, 0); err != nil {
		t.Fatal(err)
	}
	rules = groupRulesVia(t, cl, "webserver")
	if len(rules) != 2 || rules[0].Dport != "8080" {
		t.Fatalf("after update/delete: %+v", rules)
	}
	if err := g.Delete(cx); err == nil || !strings.Contains(err.Error(), "Security group 'webserver' is not empty") {
		t.Errorf("delete non-empty group: %v", err)
	}

	// A VM links the group through its own firewall rules and options.
	node, _ := c.Node(cx, "pve1")
	vm, err := node.VirtualMachine(cx, DefaultTemplateID)
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.NewFirewallRule(cx, &proxmox.FirewallRule{Type: "group", Action: "webserver", Enable: 1}); err != nil {
		t.Fatal(err)
	}
	// Like PVE, references to IP sets and aliases are checked; group names
	// only for syntax. verify_rule raises the first error it finds, and it
	// checks ports before addresses.
	if err := vm.NewFirewallRule(cx, &proxmox.FirewallRule{Type: "in", Action: "ACCEPT", Source: "+nope", Dport: "22"}); err == nil ||
		!strings.Contains(err.Error(), `{"proto":"missing property - 'dport' requires this property"}`) {
		t.Errorf("dport without proto: %v", err)
	}
	if err := vm.NewFirewallRule(cx, &proxmox.FirewallRule{Type: "in", Action: "ACCEPT", Source: "+nope"}); err == nil ||
		!strings.Contains(err.Error(), `{"source":"no such ipset 'nope'"}`) {
		t.Errorf("bad references: %v", err)
	}
	// A guest's rules are in, out or group: forward rules belong to the
	// cluster, nodes and groups (rule_env vm).
	if err := vm.NewFirewallRule(cx, &proxmox.FirewallRule{Type: "forward", Action: "ACCEPT"}); err == nil ||
		!strings.Contains(err.Error(), `{"type":"invalid rule type 'forward' for rule_env 'vm'"}`) {
		t.Errorf("forward on a VM: %v", err)
	}
	if err := vm.NewFirewallRule(cx, &proxmox.FirewallRule{Type: "out", Action: "DROP", Dest: "nowhere"}); err == nil ||
		!strings.Contains(err.Error(), "no such alias 'nowhere'") {
		t.Errorf("unknown alias: %v", err)
	}
	vmRules, err := vm.FirewallRules(cx)
	if err != nil || len(vmRules) != 1 || vmRules[0].Action != "webserver" {
		t.Fatalf("vm rules %v %v", vmRules, err)
	}
	if err := vm.FirewallOptionSet(cx, &proxmox.FirewallVirtualMachineOption{Enable: true, PolicyIn: "DROP"}); err != nil {
		t.Fatal(err)
	}
	// FirewallOptionGet decodes into a nil pointer in go-proxmox v0.8.2, so read directly.
	opts := &proxmox.FirewallVirtualMachineOption{}
	err = c.Get(cx, "/nodes/pve1/qemu/9000/firewall/options", opts)
	if err != nil || !bool(opts.Enable) || opts.PolicyIn != "DROP" {
		t.Fatalf("options %+v %v", opts, err)
	}
	if err := vm.NewFirewallIPSet(cx, proxmox.FirewallIPSetCreationOption{Name: "ipfilter-net0"}); err != nil {
		t.Fatal(err)
	}
	if err := vm.NewFirewallIPSetEntry(cx, "ipfilter-net0", proxmox.FirewallIPSetEntryCreationOption{CIDR: "10.10.0.5"}); err != nil {
		t.Fatal(err)
	}
	ents, err := vm.GetFirewallIPSetEntries(cx, "ipfilter-net0")
	if err != nil || len(ents) != 1 || ents[0].CIDR != "10.10.0.5" {
		t.Fatalf("vm ipset %v %v", ents, err)
	}
	if err := vm.DeleteFirewallIPSetEntry(cx, "ipfilter-net0", "10.10.0.5", ""); err != nil {
		t.Fatal(err)
	}
	// Emptied, the group can go (PVE does not look for references).
	for range rules {
		if err := g.RuleDelete(cx, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Delete(cx); err != nil {
		t.Fatal(err)
	}
}

func TestPoolsAndHA(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 4})
	c := pveClient(t, srv)
	cx := ctx(t)
	for _, p := range []string{"red", "blue"} {
		if err := c.NewPool(cx, p, p+" team"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.NewPool(cx, "red", ""); err == nil || !strings.Contains(err.Error(), "pool 'red' already exists") {
		t.Errorf("duplicate pool: %v", err)
	}
	red, _ := c.Pool(cx, "red")
	if err := red.Update(cx, &proxmox.PoolUpdateOption{VirtualMachines: "1000,1001", Storage: "ceph-rbd"}); err != nil {
		t.Fatal(err)
	}
	blue, _ := c.Pool(cx, "blue")
	if err := blue.Update(cx, &proxmox.PoolUpdateOption{VirtualMachines: "1000"}); err == nil ||
		err.Error() != "500 update pools failed: VM 1000 belongs already to pool 'red' and 'allow-move' is not set" {
		t.Errorf("move without allow-move: %v", err)
	}
	if err := blue.Update(cx, &proxmox.PoolUpdateOption{VirtualMachines: "1000", AllowMove: true}); err != nil {
		t.Fatal(err)
	}
	red, _ = c.Pool(cx, "red")
	vms := 0
	for _, m := range red.Members {
		if m.Type == "qemu" {
			vms++
		}
	}
	if vms != 1 || red.Comment != "red team" {
		t.Fatalf("red members %+v", red.Members)
	}
	if err := red.Delete(cx); err == nil || err.Error() != "500 delete pool failed: pool 'red' is not empty (contains VM 1001)" {
		t.Errorf("delete non-empty pool: %v", err)
	}

	cl, _ := c.Cluster(cx)
	for _, sid := range []string{"vm:1000", "vm:1001", "1002"} {
		if err := cl.NewHAResource(cx, &proxmox.HAResourceCreateOption{SID: sid}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.NewHAResource(cx, &proxmox.HAResourceCreateOption{SID: "vm:1000"}); err == nil ||
		!strings.Contains(err.Error(), "resource ID 'vm:1000' already defined") {
		t.Errorf("duplicate HA resource: %v", err)
	}
	res, err := cl.HAResources(cx, "vm")
	if err != nil || len(res) != 3 || res[2].SID != "vm:1002" || *res[0].State != "started" {
		t.Fatalf("HA resources %v %v", res, err)
	}
	stopped := "stopped"
	if err := cl.HAResourceUpdate(cx, "vm:1001", &proxmox.HAResourceUpdateOption{State: &stopped}); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	if g, _ := srv.Guest(1001); g.Running {
		t.Error("HA state stopped did not stop the guest")
	}
	// PVE 9 rules: node affinity and positive/negative resource affinity.
	if err := cl.NewHARule(cx, &proxmox.HARuleCreateOption{Rule: "pin", Type: "node-affinity", Resources: "vm:1000", Nodes: "pve1:2,pve2"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.NewHARule(cx, &proxmox.HARuleCreateOption{Rule: "apart", Type: "resource-affinity", Resources: "vm:1000,vm:1001", Affinity: "negative"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.NewHARule(cx, &proxmox.HARuleCreateOption{Rule: "together", Type: "resource-affinity", Resources: "vm:1001,vm:1002", Affinity: "positive"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.NewHARule(cx, &proxmox.HARuleCreateOption{Rule: "bad", Type: "resource-affinity", Resources: "vm:1000,vm:1001"}); err == nil ||
		!strings.Contains(err.Error(), "affinity") {
		t.Errorf("rule without affinity: %v", err)
	}
	if err := cl.NewHARule(cx, &proxmox.HARuleCreateOption{Rule: "bad", Type: "node-affinity", Resources: "vm:1003", Nodes: "pve1"}); err == nil ||
		err.Error() != "500 create ha rule failed: cannot use unmanaged resource(s) vm:1003." {
		t.Errorf("rule for unmanaged guest: %v", err)
	}
	rules, err := cl.HARules(cx, "vm:1000", "")
	if err != nil || len(rules) != 2 {
		t.Fatalf("rules for vm:1000: %v %v", rules, err)
	}
	neg, err := cl.HARule(cx, "apart")
	if err != nil || neg.Affinity != "negative" || neg.Resources != "vm:1000,vm:1001" {
		t.Fatalf("rule apart %+v %v", neg, err)
	}
	// A purged guest leaves HA and its rules.
	node, _ := c.Node(cx, "pve1")
	vm, _ := node.VirtualMachine(cx, 1000)
	if _, err := vm.Delete(cx, nil); err == nil || !strings.Contains(err.Error(), "used in HA resources and purge parameter not set") {
		t.Errorf("delete HA guest without purge: %v", err)
	}
	if err := cl.HAResourceDelete(cx, "vm:1000", true); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.HARule(cx, "pin"); err == nil {
		t.Error("rule 'pin' survived purge of its only resource")
	}
}

func groupRulesVia(t *testing.T, cl *proxmox.Cluster, name string) []*proxmox.FirewallRule {
	t.Helper()
	g, err := cl.FWGroup(ctx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return g.Rules
}
