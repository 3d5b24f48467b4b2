package pvesim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

// The datacenter firewall (cluster.fw) and a node's (host.fw), as
// pve-firewall's Cluster.pm, Host.pm and Rules.pm serve them.
func TestDatacenterAndHostFirewall(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	cx := ctx(t)
	cl, _ := c.Cluster(cx)

	// A fresh cluster.fw has no options and no rules.
	opts, err := cl.FirewallOptions(cx)
	if err != nil || opts.Enable != 0 || opts.PolicyIn != "" {
		t.Fatalf("fresh options %+v %v", opts, err)
	}
	if err := cl.FirewallOptionsUpdate(cx, &proxmox.FirewallClusterOptionUpdateOption{PolicyIn: "DROP", PolicyForward: "ACCEPT",
		LogRatelimit: "enable=1,rate=5/second,burst=10"}); err != nil {
		t.Fatal(err)
	}
	// enable > 1 is the anti-lockout double call: PVE stores the time.
	before := time.Now().Unix()
	if err := cl.FirewallOptionsUpdate(cx, &proxmox.FirewallClusterOptionUpdateOption{Enable: 2}); err != nil {
		t.Fatal(err)
	}
	opts, err = cl.FirewallOptions(cx)
	if err != nil || int64(opts.Enable) < before || opts.PolicyIn != "DROP" || opts.LogRatelimit != "enable=1,rate=5/second,burst=10" {
		t.Fatalf("options %+v %v", opts, err)
	}
	// Deleting an option the file does not take is a parameter error.
	if err := cl.FirewallOptionsUpdate(cx, &proxmox.FirewallClusterOptionUpdateOption{Delete: "nosmurfs"}); err == nil ||
		!strings.Contains(err.Error(), `{"delete":"no such option 'nosmurfs'"}`) {
		t.Errorf("delete unknown option: %v", err)
	}
	res := raw(t, srv, "PUT", "/cluster/firewall/options", "application/x-www-form-urlencoded", "policy_in=ACCEPT&digest=0123", "token")
	if res.Code != 500 || !strings.Contains(res.Status, "detected modified configuration") {
		t.Errorf("stale digest: %s %s", res.Status, res.Body)
	}
	if err := cl.FirewallOptionsUpdate(cx, &proxmox.FirewallClusterOptionUpdateOption{Delete: "policy_forward,log_ratelimit"}); err != nil {
		t.Fatal(err)
	}
	if opts, err = cl.FirewallOptions(cx); err != nil || opts.PolicyForward != "" || opts.LogRatelimit != "" || opts.PolicyIn != "DROP" {
		t.Fatalf("after delete %+v %v", opts, err)
	}

	// Cluster rules: forward and group rules are allowed (rule_env
	// cluster), references are checked, new rules go to the top.
	if err := cl.NewFirewallAlias(cx, &proxmox.FirewallAliasCreateOption{Name: "office", CIDR: "192.0.2.0/24"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*proxmox.FirewallRule{
		{Type: "in", Action: "ACCEPT", Macro: "SSH", Source: "dc/office", Enable: 1},
		{Type: "forward", Action: "DROP", Dest: "office", Enable: 1},
		{Type: "group", Action: "webserver", Enable: 1},
	} {
		if err := cl.NewFirewallRule(cx, r); err != nil {
			t.Fatalf("add %+v: %v", r, err)
		}
	}
	rules, err := cl.FirewallRules(cx)
	if err != nil || len(rules) != 3 || rules[0].Type != "group" || rules[2].Macro != "SSH" {
		t.Fatalf("rules %+v %v", rules, err)
	}
	if err := cl.NewFirewallRule(cx, &proxmox.FirewallRule{Type: "forward", Action: "REJECT"}); err == nil ||
		!strings.Contains(err.Error(), `{"action":"cannot define REJECT rules on forward chain"}`) {
		t.Errorf("forward REJECT: %v", err)
	}
	if err := cl.NewFirewallRule(cx, &proxmox.FirewallRule{Type: "in", Action: "ACCEPT", Source: "+nope"}); err == nil ||
		!strings.Contains(err.Error(), `{"source":"no such ipset 'nope'"}`) {
		t.Errorf("unknown ipset: %v", err)
	}
	one, err := cl.FirewallRule(cx, 2)
	if err != nil || one.Pos != 2 || one.Source != "dc/office" {
		t.Fatalf("rule 2 %+v %v", one, err)
	}
	// Moving the SSH rule to the top, then deleting the group link.
	if res := raw(t, srv, "PUT", "/cluster/firewall/rules/2", "application/x-www-form-urlencoded", "moveto=0", "token"); res.Code != 200 {
		t.Fatalf("move: %s %s", res.Status, res.Body)
	}
	if rules, _ = cl.FirewallRules(cx); rules[0].Macro != "SSH" || rules[1].Type != "group" {
		t.Fatalf("after move %+v", rules)
	}
	if err := cl.FirewallRuleDelete(cx, 1); err != nil {
		t.Fatal(err)
	}
	if rules, _ = cl.FirewallRules(cx); len(rules) != 2 || rules[1].Type != "forward" {
		t.Fatalf("after delete %+v", rules)
	}

	// host.fw of pve2: enable is stored as 0 or 1, rules take an interface.
	res = raw(t, srv, "PUT", "/nodes/pve2/firewall/options", "application/x-www-form-urlencoded", "enable=1&nosmurfs=1&log_level_in=info", "token")
	if res.Code != 200 {
		t.Fatalf("host options: %s %s", res.Status, res.Body)
	}
	node, _ := c.Node(cx, "pve2")
	hopts, err := node.FirewallOptionGet(cx)
	if err != nil || hopts.Enable == nil || !bool(*hopts.Enable) || hopts.LogLevelIn != "info" {
		t.Fatalf("host options %+v %v", hopts, err)
	}
	if err := node.NewFirewallRule(cx, &proxmox.FirewallRule{Type: "in", Action: "ACCEPT", Proto: "tcp", Dport: "8006", Iface: "vmbr0", Enable: 1}); err != nil {
		t.Fatal(err)
	}
	hrules, err := node.FirewallRules(cx)
	if err != nil || len(hrules) != 1 || hrules[0].Iface != "vmbr0" || hrules[0].Dport != "8006" {
		t.Fatalf("host rules %+v %v", hrules, err)
	}
	hr, err := node.FirewallGetRule(cx, 0)
	if err != nil || hr.Dport != "8006" {
		t.Fatalf("host rule 0 %+v %v", hr, err)
	}
	d := decode(t, raw(t, srv, "GET", "/nodes/pve2/firewall/rules/0", "", "", "token").Body)["data"].(map[string]any)["digest"].(string)
	res = raw(t, srv, "PUT", "/nodes/pve2/firewall/rules/0", "application/x-www-form-urlencoded", "dport=8007&digest="+d, "token")
	if res.Code != 200 {
		t.Fatalf("host rule update: %s %s", res.Status, res.Body)
	}
	if hrules, _ = node.FirewallRules(cx); hrules[0].Dport != "8007" {
		t.Fatalf("after update %+v", hrules)
	}
	res = raw(t, srv, "DELETE", "/nodes/pve2/firewall/rules/0", "", "", "token")
	if res.Code != 200 {
		t.Fatalf("host rule delete: %s %s", res.Status, res.Body)
	}
	// Another node's file is its own; an unknown node fails like pveproxy.
	if hrules, err = node.FirewallRules(cx); err != nil || len(hrules) != 0 {
		t.Fatalf("host rules after delete %+v %v", hrules, err)
	}
	if res = raw(t, srv, "GET", "/nodes/pve1/firewall/options", "", "", "token"); res.Code != 200 || strings.Contains(string(res.Body), "nosmurfs") {
		t.Errorf("pve1 options: %s %s", res.Status, res.Body)
	}
	if res = raw(t, srv, "GET", "/nodes/pve9/firewall/rules", "", "", "token"); !strings.HasPrefix(res.Status, "500 hostname lookup 'pve9' failed") {
		t.Errorf("unknown node: %s", res.Status)
	}
	// The schema refuses what no firewall takes: a policy outside its enum.
	res = raw(t, srv, "PUT", "/cluster/firewall/options", "application/x-www-form-urlencoded", "policy_out=MAYBE", "token")
	if res.Code != 400 || !strings.Contains(string(res.Body), "policy_out") {
		t.Errorf("bad policy: %s %s", res.Status, res.Body)
	}
}

// A guest's own IP set entries are read and changed one by one, as
// pve-firewall's IPSet.pm serves them for VMs and containers.
func TestGuestIPSetEntries(t *testing.T) {
	// Seeded guest 1004 is a container on pve2 (every fifth seed is one).
	srv := startSim(t, Options{SeedGuests: 5})
	form := "application/x-www-form-urlencoded"
	for _, base := range []string{fmt.Sprintf("/nodes/pve1/qemu/%d/firewall/ipset", DefaultTemplateID), "/nodes/pve2/lxc/1004/firewall/ipset"} {
		if res := raw(t, srv, "POST", base, form, "name=ipfilter-net0", "token"); res.Code != 200 {
			t.Fatalf("create: %s %s", res.Status, res.Body)
		}
		if res := raw(t, srv, "POST", base+"/ipfilter-net0", form, "cidr=10.0.0.5", "token"); res.Code != 200 {
			t.Fatalf("add: %s %s", res.Status, res.Body)
		}
		res := raw(t, srv, "GET", base+"/ipfilter-net0/10.0.0.5", "", "", "token")
		if res.Code != 200 || !strings.Contains(string(res.Body), `"cidr":"10.0.0.5"`) {
			t.Fatalf("get entry: %s %s", res.Status, res.Body)
		}
		if res := raw(t, srv, "PUT", base+"/ipfilter-net0/10.0.0.5", form, "nomatch=1&comment=gw", "token"); res.Code != 200 {
			t.Fatalf("update entry: %s %s", res.Status, res.Body)
		}
		res = raw(t, srv, "GET", base+"/ipfilter-net0/10.0.0.5", "", "", "token")
		if !strings.Contains(string(res.Body), `"nomatch":1`) || !strings.Contains(string(res.Body), `"comment":"gw"`) {
			t.Errorf("entry after update: %s", res.Body)
		}
		if res := raw(t, srv, "GET", base+"/ipfilter-net0/10.9.9.9", "", "", "token"); res.Code == 200 {
			t.Errorf("a missing entry was found: %s", res.Body)
		}
	}
}
