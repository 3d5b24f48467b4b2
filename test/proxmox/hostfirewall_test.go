package proxmox

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// pveFirewall reads a firewall file's options and its rules as
// "type action [macro] [proto/dport] [source] [iface]" lines.
func (s *site) pveFirewall(t *testing.T, base string) (map[string]string, []string) {
	t.Helper()
	var opts map[string]any
	if err := s.pve.Get(context.Background(), base+"/options", &opts); err != nil {
		t.Fatalf("cannot read %s/options: %v", base, err)
	}
	o := map[string]string{}
	for k := range opts {
		if k != "digest" {
			o[k] = field(opts, k)
		}
	}
	var rules []map[string]any
	if err := s.pve.Get(context.Background(), base+"/rules", &rules); err != nil {
		t.Fatalf("cannot read %s/rules: %v", base, err)
	}
	out := []string{}
	for _, r := range rules {
		line := field(r, "type") + " " + field(r, "action")
		for _, k := range []string{"macro", "proto", "dport", "source", "iface"} {
			if v := field(r, k); v != "" {
				line += " " + v
			}
		}
		out = append(out, line)
	}
	return o, out
}

func (s *site) firewallIs(t *testing.T, base string, opts map[string]string, rules ...string) func() string {
	return func() string {
		got, gotRules := s.pveFirewall(t, base)
		for k, v := range opts {
			if got[k] != v {
				return fmt.Sprintf("%s option %s is %q, want %q (options %v)", base, k, got[k], v, got)
			}
		}
		if strings.Join(gotRules, "\n") != strings.Join(rules, "\n") {
			return fmt.Sprintf("%s rules are %q, want %q", base, gotRules, rules)
		}
		return ""
	}
}

func (s *site) providerRef() *xpv2.ProviderConfigReference {
	return &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
}

func (s *site) datacenter(name string, p v1alpha1.ClusterFirewallParameters) *v1alpha1.ClusterFirewall {
	o := &v1alpha1.ClusterFirewall{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	o.Spec.ForProvider = p
	o.Spec.ProviderConfigReference = s.providerRef()
	return o
}

// The datacenter and a node firewall: options and owned rules set, drift
// made by hand repaired, a rule list left alone when the spec has none, and
// a delete that removes the owned rules but leaves the firewall's options.
func TestClusterAndNodeFirewall(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	// Rules made by hand before: the datacenter's are replaced by the
	// spec's, the node's kept (its resource owns no rules).
	if err := s.pve.Post(ctx, "/cluster/firewall/rules", map[string]any{"type": "in", "action": "ACCEPT", "macro": "Ping", "enable": 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.pve.Post(ctx, "/nodes/pve2/firewall/rules", map[string]any{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "9100", "enable": 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.pve.Post(ctx, "/cluster/firewall/aliases", map[string]any{"name": "office", "cidr": "192.0.2.0/24"}, nil); err != nil {
		t.Fatal(err)
	}
	s.startProxmox(t)

	dc := s.datacenter("datacenter", v1alpha1.ClusterFirewallParameters{Enabled: ptr.To(true), PolicyIn: ptr.To("DROP"), PolicyForward: ptr.To("DROP"),
		LogRateLimit: &v1alpha1.FirewallLogRateLimit{Rate: ptr.To("10/minute"), Burst: ptr.To[int32](20)},
		Rules: &[]v1alpha1.FirewallRule{
			{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH"), Source: ptr.To("office")},
			{Type: "group", Action: "webserver"},
			{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("8006"), Iface: ptr.To("vmbr0")},
		}})
	node := &v1alpha1.NodeFirewall{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "pve2"}}
	node.Spec.ProviderConfigReference = s.providerRef()
	node.Spec.ForProvider = v1alpha1.NodeFirewallParameters{Node: "pve2", NoSmurfs: ptr.To(true), TCPFlags: ptr.To(true), LogLevelIn: ptr.To("info")}
	mustCreate(t, s.env.Client, dc, node)
	s.waitObjReady(t, dc)
	s.waitObjReady(t, node)

	dcWant := s.firewallIs(t, "/cluster/firewall", map[string]string{"enable": "1", "policy_in": "DROP", "policy_forward": "DROP",
		"log_ratelimit": "enable=1,burst=20,rate=10/minute"},
		"in ACCEPT SSH office", "group webserver", "in ACCEPT tcp 8006 vmbr0")
	eventually(t, 20*time.Second, "datacenter firewall set", dcWant)
	nodeWant := s.firewallIs(t, "/nodes/pve2/firewall", map[string]string{"nosmurfs": "1", "tcpflags": "1", "log_level_in": "info"},
		"in ACCEPT tcp 9100")
	eventually(t, 20*time.Second, "node firewall set, its hand-made rule kept", nodeWant)
	if obs := dc.Status.AtProvider; !obs.Enabled || obs.RuleCount != 3 || obs.Rules[2].Iface != "vmbr0" || obs.OptionsDigest == "" {
		t.Errorf("datacenter status.atProvider = %+v", obs)
	}

	// Drift made by hand: a policy opened, a rule removed, one added.
	for _, f := range []func() error{
		func() error {
			return s.pve.Put(ctx, "/cluster/firewall/options", map[string]any{"policy_in": "ACCEPT"}, nil)
		},
		func() error { return s.pve.Delete(ctx, "/cluster/firewall/rules/0", nil) },
		func() error {
			return s.pve.Post(ctx, "/cluster/firewall/rules", map[string]any{"type": "in", "action": "ACCEPT", "enable": 1}, nil)
		},
		func() error {
			return s.pve.Put(ctx, "/nodes/pve2/firewall/options", map[string]any{"tcpflags": 0}, nil)
		},
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "datacenter drift repaired", dcWant)
	eventually(t, 30*time.Second, "node drift repaired", nodeWant)

	// The node resource takes over its rules: the hand-made one goes.
	s.update(t, node, func() {
		node.Spec.ForProvider.Rules = &[]v1alpha1.FirewallRule{{Type: "in", Action: "DROP", Proto: ptr.To("tcp"), DPort: ptr.To("111")}}
	})
	eventually(t, 20*time.Second, "node rules owned", s.firewallIs(t, "/nodes/pve2/firewall", nil, "in DROP tcp 111"))

	// PVE's refusals become the Synced condition with PVE's words.
	s.update(t, dc, func() {
		rules := append(*dc.Spec.ForProvider.Rules, v1alpha1.FirewallRule{Type: "in", Action: "ACCEPT", Source: ptr.To("+nosuchset")})
		dc.Spec.ForProvider.Rules = &rules
	})
	s.waitObj(t, dc, 20*time.Second, "PVE's refusal", func(_, sy xpv2.Condition) string {
		if !strings.Contains(sy.Message, "no such ipset 'nosuchset'") {
			return "no refusal in " + sy.Message
		}
		return ""
	})

	// An alias a node rule uses is kept, with the rule named, until the
	// rule is gone.
	mgmt := s.alias("mgmt", v1alpha1.FirewallAliasParameters{CIDR: "10.9.0.0/16"})
	mustCreate(t, s.env.Client, mgmt)
	s.waitObjReady(t, mgmt)
	s.update(t, node, func() {
		node.Spec.ForProvider.Rules = &[]v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH"), Source: ptr.To("mgmt")}}
	})
	eventually(t, 20*time.Second, "node rule uses the alias", s.firewallIs(t, "/nodes/pve2/firewall", nil, "in ACCEPT SSH mgmt"))
	if err := s.env.Client.Delete(ctx, mgmt); err != nil {
		t.Fatal(err)
	}
	s.waitObj(t, mgmt, 20*time.Second, "deletion refused", func(_, sy xpv2.Condition) string {
		if !strings.Contains(sy.Message, "is still used by the firewall of node pve2, rule 0") {
			return "no refusal in " + sy.Message
		}
		return ""
	})
	if _, ok := s.pveAlias(t, "mgmt"); !ok {
		t.Fatal("alias mgmt deleted while a node rule uses it")
	}
	// So is a security group the datacenter links.
	web := s.group("webserver", v1alpha1.FirewallSecurityGroupParameters{})
	mustCreate(t, s.env.Client, web)
	s.waitObjReady(t, web)
	if err := s.env.Client.Delete(ctx, web); err != nil {
		t.Fatal(err)
	}
	s.waitObj(t, web, 20*time.Second, "deletion refused", func(_, sy xpv2.Condition) string {
		if !strings.Contains(sy.Message, "is still linked in PVE by the firewall rules of the datacenter firewall") {
			return "no refusal in " + sy.Message
		}
		return ""
	})

	// Deleting removes the owned rules and leaves the options; then the
	// alias goes too.
	for _, o := range []conditioned{dc, node, mgmt, web} {
		if err := s.env.Client.Delete(ctx, o); err != nil && o != mgmt && o != web {
			t.Fatal(err)
		}
		s.waitGone(t, o)
	}
	eventually(t, 5*time.Second, "datacenter rules gone, options kept", s.firewallIs(t, "/cluster/firewall", map[string]string{"enable": "1", "policy_in": "DROP"}))
	eventually(t, 5*time.Second, "node rules gone, options kept", s.firewallIs(t, "/nodes/pve2/firewall", map[string]string{"nosmurfs": "1"}))
}

// A VM whose spec has firewall rules owns its whole rule list: its group
// links in order, then its own rules; a rule added by hand is removed, and
// emptying the list keeps only the links.
func TestGuestOwnFirewallRules(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()

	p := cloneOf(pvesim.DefaultTemplateID)
	p.Networks = []v1alpha1.NetworkInterface{{Firewall: ptr.To(true)}}
	p.Firewall = &v1alpha1.GuestFirewall{SecurityGroups: []string{"web"}, Rules: &[]v1alpha1.FirewallRule{
		{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("22"), Source: ptr.To("+admins"), Iface: ptr.To("net0")},
		{Type: "out", Action: "DROP", Proto: ptr.To("tcp"), DPort: ptr.To("25"), Comment: ptr.To("no mail")},
	}, IPSets: &[]v1alpha1.GuestIPSet{
		{Name: "ipfilter-net0", Entries: []v1alpha1.FirewallIPSetEntry{{CIDR: "10.0.0.5"}}},
		{Name: "admins", Comment: ptr.To("ops"), Entries: []v1alpha1.FirewallIPSetEntry{{CIDR: "10.1.0.0/16"}, {CIDR: "10.1.9.9", NoMatch: true}}},
	}}
	mustCreate(t, s.env.Client, s.vm("own-1", p))
	vm := s.waitReady(t, "own-1")
	rulesPath := fmt.Sprintf("/nodes/%s/qemu/%d/firewall/rules", vm.Status.AtProvider.Node, vm.Status.AtProvider.VMID)
	want := []string{"group web enable=1", "in ACCEPT dport=22 enable=1 iface=net0 proto=tcp source=+admins",
		"out DROP comment=no mail dport=25 enable=1 proto=tcp"}
	rulesAre := func(want ...string) func() string {
		return func() string {
			if got := s.pveRules(t, rulesPath); strings.Join(got, "\n") != strings.Join(want, "\n") {
				return fmt.Sprintf("VM rules %q, want %q", got, want)
			}
			return ""
		}
	}
	eventually(t, 20*time.Second, "links then own rules", rulesAre(want...))
	setsPath := strings.Replace(rulesPath, "/rules", "/ipset", 1)
	setsAre := func(want ...string) func() string {
		return func() string {
			var list []map[string]any
			if err := s.pve.Get(ctx, setsPath, &list); err != nil {
				return err.Error()
			}
			var got []string
			for _, l := range list {
				name := str(l["name"])
				line := name + "(" + field(l, "comment") + "):"
				var entries []map[string]any
				if err := s.pve.Get(ctx, setsPath+"/"+name, &entries); err != nil {
					return err.Error()
				}
				var es []string
				for _, e := range entries {
					es = append(es, str(e["cidr"])+map[bool]string{true: "!", false: ""}[str(e["nomatch"]) == "1"])
				}
				sort.Strings(es)
				got = append(got, line+strings.Join(es, ","))
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				return fmt.Sprintf("guest IP sets %q, want %q", got, want)
			}
			return ""
		}
	}
	eventually(t, 20*time.Second, "the guest's own IP sets", setsAre("admins(ops):10.1.0.0/16,10.1.9.9!", "ipfilter-net0():10.0.0.5"))

	// A rule, a set and an entry added by hand are removed at the next full
	// read of the guest (the drift interval, or here a spec change).
	for _, f := range []func() error{
		func() error {
			return s.pve.Post(ctx, rulesPath, map[string]any{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "8080", "enable": 1}, nil)
		},
		func() error { return s.pve.Post(ctx, setsPath, map[string]any{"name": "byhand"}, nil) },
		func() error {
			return s.pve.Post(ctx, setsPath+"/ipfilter-net0", map[string]any{"cidr": "10.0.0.6"}, nil)
		},
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	s.update(t, vm, func() { (*vm.Spec.ForProvider.Firewall.Rules)[1].Comment = ptr.To("no smtp") })
	want[2] = "out DROP comment=no smtp dport=25 enable=1 proto=tcp"
	eventually(t, 30*time.Second, "hand-made rule removed", rulesAre(want...))
	eventually(t, 30*time.Second, "hand-made set and entry removed", setsAre("admins(ops):10.1.0.0/16,10.1.9.9!", "ipfilter-net0():10.0.0.5"))

	// An empty list keeps only the links; the set no rule names any more
	// goes once the rule is gone.
	s.update(t, vm, func() {
		vm.Spec.ForProvider.Firewall.Rules = &[]v1alpha1.FirewallRule{}
		vm.Spec.ForProvider.Firewall.IPSets = &[]v1alpha1.GuestIPSet{{Name: "ipfilter-net0", Entries: []v1alpha1.FirewallIPSetEntry{{CIDR: "10.0.0.5"}}}}
	})
	eventually(t, 20*time.Second, "own rules removed", rulesAre("group web enable=1"))
	eventually(t, 20*time.Second, "dropped set removed", setsAre("ipfilter-net0():10.0.0.5"))

	// Admission: a guest rule is in or out, on a NIC of the guest.
	bad := cloneOf(pvesim.DefaultTemplateID)
	bad.Firewall = &v1alpha1.GuestFirewall{Rules: &[]v1alpha1.FirewallRule{{Type: "forward", Action: "DROP"}}}
	if err := s.env.Client.Create(ctx, s.vm("bad-1", bad)); err == nil || !strings.Contains(err.Error(), "spec.forProvider.firewall.rules[].type must be in or out") {
		t.Errorf("forward rule on a VM: %v", err)
	}
	bad.Firewall = &v1alpha1.GuestFirewall{Rules: &[]v1alpha1.FirewallRule{{Type: "in", Action: "DROP", Iface: ptr.To("vmbr0")}}}
	if err := s.env.Client.Create(ctx, s.vm("bad-2", bad)); err == nil || !strings.Contains(err.Error(), "spec.forProvider.firewall.rules[].iface must name a NIC of the guest") {
		t.Errorf("iface vmbr0 on a VM: %v", err)
	}
}

// A rule's sourceRef and destRef name a FirewallAlias or FirewallIPSet: the
// rule waits until they are Ready, then uses their Proxmox names.
func TestFirewallRuleReferences(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)

	g := s.group("refs", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{{
		Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("5432"),
		SourceRef: &v1alpha1.FirewallAddressReference{Kind: "FirewallAlias", Name: "lan"},
		DestRef:   &v1alpha1.FirewallAddressReference{Kind: "FirewallIPSet", Name: "dbs"},
	}}})
	mustCreate(t, s.env.Client, g)
	s.waitObj(t, g, 20*time.Second, "waiting for its references", func(_, sy xpv2.Condition) string {
		if !strings.Contains(sy.Message, "spec.forProvider.rules[0].sourceRef: FirewallAlias "+s.ns+"/lan does not exist") {
			return "no reference error in " + sy.Message
		}
		return ""
	})
	if _, ok := s.groupComment(t, "refs"); ok {
		t.Fatal("the group was made before its references resolved")
	}
	mustCreate(t, s.env.Client,
		s.alias("lan", v1alpha1.FirewallAliasParameters{CIDR: "10.1.0.0/16"}),
		s.ipset("dbs", v1alpha1.FirewallIPSetParameters{Entries: []v1alpha1.FirewallIPSetEntry{{CIDR: "10.2.0.10"}}}))
	s.waitObjReady(t, g)
	eventually(t, 20*time.Second, "rule with resolved addresses", groupRulesAre(s, t, "refs",
		"in ACCEPT dest=+dbs dport=5432 enable=1 proto=tcp source=lan"))
	if r := g.Spec.ForProvider.Rules[0]; r.Source == nil || *r.Source != "lan" || r.Dest == nil || *r.Dest != "+dbs" {
		t.Errorf("resolved spec rule %+v", r)
	}
}

// An observe-only ClusterFirewall imports the datacenter firewall as it is:
// status shows it, and a spec that differs changes nothing.
func TestClusterFirewallObserveOnly(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	if err := s.pve.Put(ctx, "/cluster/firewall/options", map[string]any{"enable": 1, "policy_in": "ACCEPT"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.pve.Post(ctx, "/cluster/firewall/rules", map[string]any{"type": "in", "action": "ACCEPT", "macro": "Ping", "enable": 1}, nil); err != nil {
		t.Fatal(err)
	}
	s.startProxmox(t)
	dc := s.datacenter("imported", v1alpha1.ClusterFirewallParameters{PolicyIn: ptr.To("DROP"), Rules: &[]v1alpha1.FirewallRule{}})
	dc.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	mustCreate(t, s.env.Client, dc)
	s.waitObjReady(t, dc)
	if obs := dc.Status.AtProvider; !obs.Enabled || obs.Options["policy_in"] != "ACCEPT" || obs.RuleCount != 1 || obs.Rules[0].Macro != "Ping" {
		t.Errorf("imported status.atProvider = %+v", obs)
	}
	time.Sleep(3 * pollInterval)
	eventually(t, 5*time.Second, "nothing changed", s.firewallIs(t, "/cluster/firewall", map[string]string{"policy_in": "ACCEPT"}, "in ACCEPT Ping"))
	if err := s.env.Client.Delete(ctx, dc); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, dc)
	eventually(t, 5*time.Second, "nothing deleted", s.firewallIs(t, "/cluster/firewall", map[string]string{"policy_in": "ACCEPT"}, "in ACCEPT Ping"))
}

// TestHostFirewallFaults runs the datacenter and node firewall through
// each of their write routes failing in turn (502/503 before and after the
// handler, a hung request, a dropped answer): every change converges to
// exactly the spec's rules (a rule whose answer was lost is not left twice)
// and a delete removes exactly the owned rules.
func TestHostFirewallFaults(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmoxWith(t, func(o *options.Options) { o.PollInterval = 500 * time.Millisecond })
	ctx := context.Background()

	done := s.setHAFaults(t, "PUT /cluster/firewall/options", 0)
	dc := s.datacenter("f-dc", v1alpha1.ClusterFirewallParameters{Enabled: ptr.To(true), PolicyIn: ptr.To("DROP")})
	mustCreate(t, s.env.Client, dc)
	s.waitObjReadyWithin(t, dc, 90*time.Second)
	done()
	eventually(t, 30*time.Second, "options through faults", s.firewallIs(t, "/cluster/firewall", map[string]string{"enable": "1", "policy_in": "DROP"}))

	ssh := v1alpha1.FirewallRule{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH")}
	web := v1alpha1.FirewallRule{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("443")}
	done = s.setHAFaults(t, "POST /cluster/firewall/rules", 1)
	s.update(t, dc, func() { dc.Spec.ForProvider.Rules = &[]v1alpha1.FirewallRule{ssh, web} })
	eventually(t, 90*time.Second, "rules added through faults", s.firewallIs(t, "/cluster/firewall", nil, "in ACCEPT SSH", "in ACCEPT tcp 443"))
	done()
	done = s.setHAFaults(t, "PUT /cluster/firewall/rules/{pos}", 2)
	s.update(t, dc, func() { dc.Spec.ForProvider.Rules = &[]v1alpha1.FirewallRule{web, ssh} })
	eventually(t, 90*time.Second, "rules rewritten through faults", s.firewallIs(t, "/cluster/firewall", nil, "in ACCEPT tcp 443", "in ACCEPT SSH"))
	done()

	done = s.setHAFaults(t, "PUT /nodes/{node}/firewall/options", 3)
	node := &v1alpha1.NodeFirewall{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "f-pve3"}}
	node.Spec.ProviderConfigReference = s.providerRef()
	node.Spec.ForProvider = v1alpha1.NodeFirewallParameters{Node: "pve3", TCPFlags: ptr.To(true), Rules: &[]v1alpha1.FirewallRule{ssh}}
	mustCreate(t, s.env.Client, node)
	s.waitObjReadyWithin(t, node, 90*time.Second)
	done()
	eventually(t, 30*time.Second, "node firewall through faults", s.firewallIs(t, "/nodes/pve3/firewall", map[string]string{"tcpflags": "1"}, "in ACCEPT SSH"))

	for _, c := range []struct {
		obj   conditioned
		route string
		k     int
		base  string
	}{
		{dc, "DELETE /cluster/firewall/rules/{pos}", 4, "/cluster/firewall"},
		{node, "DELETE /nodes/{node}/firewall/rules/{pos}", 5, "/nodes/pve3/firewall"},
	} {
		done = s.setHAFaults(t, c.route, c.k)
		if err := s.env.Client.Delete(ctx, c.obj); err != nil {
			t.Fatal(err)
		}
		s.waitGoneWithin(t, c.obj, 90*time.Second)
		done()
		eventually(t, 5*time.Second, "owned rules gone, options kept", s.firewallIs(t, c.base, nil))
	}
	eventually(t, 5*time.Second, "datacenter options kept", s.firewallIs(t, "/cluster/firewall", map[string]string{"enable": "1", "policy_in": "DROP"}))
}
