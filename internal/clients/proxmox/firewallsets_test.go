package proxmox

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// The alias and IP set calls against the simulator: create, read,
// digest-guarded update, entries by cidr, delete, and the rule scan the
// controllers refuse deletion with.
func TestFirewallAliasesAndIPSets(t *testing.T) {
	c, _ := simClient(t)
	ctx := context.Background()
	if _, ok, err := c.FirewallAlias(ctx, "office"); err != nil || ok {
		t.Fatalf("alias before create: ok %v err %v; want absent", ok, err)
	}
	if err := c.CreateFirewallAlias(ctx, "office", "192.0.2.0/24", "hq"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateFirewallAlias(ctx, "office", "192.0.2.0/24", ""); !IsAlreadyExists(err) {
		t.Errorf("second create: %v, want IsAlreadyExists", err)
	}
	a, ok, err := c.FirewallAlias(ctx, "office")
	if err != nil || !ok || a.CIDR != "192.0.2.0/24" || a.Comment != "hq" || a.IPVersion != 4 || a.Digest == "" {
		t.Fatalf("alias = %+v, %v, %v", a, ok, err)
	}
	if err := c.UpdateFirewallAlias(ctx, "office", "192.0.2.0/25", "", strings.Repeat("0", 40)); !IsDigestMismatch(err) {
		t.Errorf("update with a stale digest: %v, want IsDigestMismatch", err)
	}
	if err := c.UpdateFirewallAlias(ctx, "office", "2001:db8::/64", "", a.Digest); err != nil {
		t.Fatal(err)
	}
	if a, _, _ := c.FirewallAlias(ctx, "office"); a.CIDR != "2001:db8::/64" || a.Comment != "" || a.IPVersion != 6 {
		t.Errorf("alias after update = %+v", a)
	}

	if _, ok, err := c.FirewallIPSet(ctx, ClusterIPSets(), "admins"); err != nil || ok {
		t.Fatalf("ipset before create: ok %v err %v; want absent", ok, err)
	}
	if err := c.CreateFirewallIPSet(ctx, ClusterIPSets(), "admins", "one"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateFirewallIPSet(ctx, ClusterIPSets(), "admins", ""); !IsAlreadyExists(err) {
		t.Errorf("second create: %v, want IsAlreadyExists", err)
	}
	for _, e := range []IPSetEntry{{CIDR: "198.51.100.0/24", Comment: "lan"}, {CIDR: "198.51.100.7", NoMatch: true}, {CIDR: "2001:db8:1::/48"}} {
		if err := c.AddIPSetEntry(ctx, ClusterIPSets(), "admins", e); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetFirewallIPSetComment(ctx, ClusterIPSets(), "admins", "two"); err != nil {
		t.Fatal(err)
	}
	set, ok, err := c.FirewallIPSet(ctx, ClusterIPSets(), "admins")
	want := []IPSetEntry{{CIDR: "198.51.100.0/24", Comment: "lan"}, {CIDR: "198.51.100.7", NoMatch: true}, {CIDR: "2001:db8:1::/48"}}
	if err != nil || !ok || set.Comment != "two" || !slices.Equal(set.Entries, want) || set.Digest == "" {
		t.Fatalf("ipset = %+v, %v, %v", set, ok, err)
	}
	if err := c.UpdateIPSetEntry(ctx, ClusterIPSets(), "admins", IPSetEntry{CIDR: "198.51.100.0/24", NoMatch: true}, strings.Repeat("0", 40)); !IsDigestMismatch(err) {
		t.Errorf("entry update with a stale digest: %v, want IsDigestMismatch", err)
	}
	if err := c.UpdateIPSetEntry(ctx, ClusterIPSets(), "admins", IPSetEntry{CIDR: "198.51.100.0/24", NoMatch: true}, set.Digest); err != nil {
		t.Fatal(err)
	}
	set, _, _ = c.FirewallIPSet(ctx, ClusterIPSets(), "admins")
	if err := c.DeleteIPSetEntry(ctx, ClusterIPSets(), "admins", "2001:db8:1::/48", set.Digest); err != nil {
		t.Fatal(err)
	}
	set, _, _ = c.FirewallIPSet(ctx, ClusterIPSets(), "admins")
	want = []IPSetEntry{{CIDR: "198.51.100.0/24", NoMatch: true}, {CIDR: "198.51.100.7", NoMatch: true}}
	if !slices.Equal(set.Entries, want) {
		t.Errorf("entries = %+v, want %+v", set.Entries, want)
	}

	// Rules using them are found; PVE itself deletes them regardless.
	if err := c.CreateSecurityGroup(ctx, "web", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateRule(ctx, GroupRules("web"), Params{"type": "in", "action": "ACCEPT", "source": "+admins", "enable": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateRule(ctx, GroupRules("web"), Params{"type": "in", "action": "ACCEPT", "source": "office", "enable": "1"}); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]func(string) bool{"+admins": UsesIPSet("admins"), "office": UsesAlias("Office")} {
		users, err := c.RulesUsing(ctx, m)
		if err != nil || len(users) != 1 || !strings.HasPrefix(users[0], "security group web, rule ") {
			t.Errorf("RulesUsing(%s) = %v, %v; want the group's rule", name, users, err)
		}
	}
	if users, err := c.RulesUsing(ctx, UsesIPSet("other")); err != nil || len(users) != 0 {
		t.Errorf("RulesUsing(other) = %v, %v; want none", users, err)
	}
	if err := c.AddIPSetEntry(ctx, ClusterIPSets(), "admins", IPSetEntry{CIDR: "office"}); err != nil {
		t.Fatal(err)
	}
	if users, err := c.IPSetsUsing(ctx, "office"); err != nil || strings.Join(users, ";") != "IP set admins, entry office" {
		t.Errorf("IPSetsUsing(office) = %v, %v; want the admins entry", users, err)
	}
	if users, err := c.IPSetsUsing(ctx, "other"); err != nil || len(users) != 0 {
		t.Errorf("IPSetsUsing(other) = %v, %v; want none", users, err)
	}

	if err := c.DeleteFirewallIPSet(ctx, ClusterIPSets(), "admins", false); err == nil || !strings.Contains(err.Error(), "IPSet 'admins' is not empty") {
		t.Errorf("delete of a non-empty set: %v", err)
	}
	if err := c.DeleteFirewallIPSet(ctx, ClusterIPSets(), "admins", true); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.FirewallIPSet(ctx, ClusterIPSets(), "admins"); err != nil || ok {
		t.Errorf("ipset after delete: ok %v err %v", ok, err)
	}
	a, _, _ = c.FirewallAlias(ctx, "office")
	if err := c.DeleteFirewallAlias(ctx, "office", a.Digest); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.FirewallAlias(ctx, "office"); err != nil || ok {
		t.Errorf("alias after delete: ok %v err %v", ok, err)
	}
}
