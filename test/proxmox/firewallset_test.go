package proxmox

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

func (s *site) alias(name string, p v1alpha1.FirewallAliasParameters) *v1alpha1.FirewallAlias {
	o := &v1alpha1.FirewallAlias{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	o.Spec.ForProvider = p
	o.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	return o
}

func (s *site) ipset(name string, p v1alpha1.FirewallIPSetParameters) *v1alpha1.FirewallIPSet {
	o := &v1alpha1.FirewallIPSet{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	o.Spec.ForProvider = p
	o.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	return o
}

// pveAlias reads a cluster alias from the simulator as "cidr comment";
// ok is false when PVE lists no such alias.
func (s *site) pveAlias(t *testing.T, name string) (string, bool) {
	t.Helper()
	var list []map[string]any
	if err := s.pve.Get(context.Background(), "/cluster/firewall/aliases", &list); err != nil {
		t.Fatalf("cannot list aliases: %v", err)
	}
	for _, a := range list {
		if a["name"] == name {
			return strings.TrimSpace(field(a, "cidr") + " " + field(a, "comment")), true
		}
	}
	return "", false
}

// pveIPSet reads a cluster IP set's comment and its entries as sorted
// "cidr [nomatch] [comment]" lines; ok is false when PVE lists no such set.
func (s *site) pveIPSet(t *testing.T, name string) (string, []string, bool) {
	t.Helper()
	var list []map[string]any
	if err := s.pve.Get(context.Background(), "/cluster/firewall/ipset", &list); err != nil {
		t.Fatalf("cannot list IP sets: %v", err)
	}
	comment, ok := "", false
	for _, e := range list {
		if e["name"] == name {
			comment, ok = field(e, "comment"), true
		}
	}
	if !ok {
		return "", nil, false
	}
	var entries []map[string]any
	if err := s.pve.Get(context.Background(), "/cluster/firewall/ipset/"+name, &entries); err != nil {
		t.Fatalf("cannot read IP set %s: %v", name, err)
	}
	out := []string{}
	for _, e := range entries {
		line := field(e, "cidr")
		if field(e, "nomatch") == "1" {
			line += " nomatch"
		}
		if c := field(e, "comment"); c != "" {
			line += " " + c
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return comment, out, true
}

func (s *site) aliasIs(t *testing.T, name, want string) func() string {
	return func() string {
		if got, ok := s.pveAlias(t, name); !ok || got != want {
			return fmt.Sprintf("alias %s is %q (exists %v), want %q", name, got, ok, want)
		}
		return ""
	}
}

func (s *site) ipsetIs(t *testing.T, name, comment string, entries ...string) func() string {
	sort.Strings(entries)
	return func() string {
		c, got, ok := s.pveIPSet(t, name)
		if !ok || c != comment || strings.Join(got, "\n") != strings.Join(entries, "\n") {
			return fmt.Sprintf("IP set %s is %q %q (exists %v), want %q %q", name, c, got, ok, comment, entries)
		}
		return ""
	}
}

// refusedWhileUsed deletes obj while the security group "user" has a rule
// using it: the deletion is refused with a condition naming the rule, both
// stay, and once the group is deleted obj goes too.
func (s *site) refusedWhileUsed(t *testing.T, obj conditioned, source string, inPVE func() bool) {
	t.Helper()
	ctx := context.Background()
	g := s.group("user", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{
		{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH"), Source: ptr.To(source)}}})
	mustCreate(t, s.env.Client, g)
	s.waitObjReady(t, g)
	if err := s.env.Client.Delete(ctx, obj); err != nil {
		t.Fatal(err)
	}
	s.waitObj(t, obj, 20*time.Second, "deletion refused", func(_, sy xpv2.Condition) string {
		if sy.Status != corev1.ConditionFalse || !strings.Contains(sy.Message, "is still used by security group user, rule 0") {
			return "no refusal"
		}
		return ""
	})
	if !inPVE() {
		t.Fatalf("%s deleted in PVE while a rule uses it", obj.GetName())
	}
	s.waitObjReady(t, g)
	if err := s.env.Client.Delete(ctx, g); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, g)
	s.waitGone(t, obj)
	if inPVE() {
		t.Errorf("%s still in PVE after its resource was deleted", obj.GetName())
	}
}

func TestFirewallAliasLifecycle(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()

	a := s.alias("office", v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.0/24", Comment: ptr.To("hq")})
	mustCreate(t, s.env.Client, a)
	s.waitObjReady(t, a)
	eventually(t, 10*time.Second, "alias created", s.aliasIs(t, "office", "192.0.2.0/24 hq"))
	if obs := a.Status.AtProvider; obs.CIDR != "192.0.2.0/24" || obs.IPVersion != 4 || obs.Digest == "" || meta.GetExternalName(a) != "office" {
		t.Errorf("status.atProvider = %+v, external name %q", obs, meta.GetExternalName(a))
	}

	// Drift made by hand on PVE is set back.
	if err := s.pve.Put(ctx, "/cluster/firewall/aliases/office", map[string]any{"cidr": "198.51.100.0/24", "comment": "by hand"}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "drift repaired", s.aliasIs(t, "office", "192.0.2.0/24 hq"))

	// Update.
	s.update(t, a, func() { a.Spec.ForProvider.CIDR = "2001:db8::/64"; a.Spec.ForProvider.Comment = ptr.To("v6 office") })
	eventually(t, 20*time.Second, "alias updated", s.aliasIs(t, "office", "2001:db8::/64 v6 office"))

	s.refusedWhileUsed(t, a, "office", func() bool { _, ok := s.pveAlias(t, "office"); return ok })
}

func TestFirewallIPSetLifecycle(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()

	set := s.ipset("admins", v1alpha1.FirewallIPSetParameters{Comment: ptr.To("administrators"), Entries: []v1alpha1.FirewallIPSetEntry{
		{CIDR: "10.20.0.0/16", Comment: ptr.To("admin network")},
		{CIDR: "10.20.5.9", NoMatch: true},
		{CIDR: "2001:db8:20::10"},
	}})
	mustCreate(t, s.env.Client, set)
	s.waitObjReady(t, set)
	eventually(t, 10*time.Second, "set created", s.ipsetIs(t, "admins", "administrators",
		"10.20.0.0/16 admin network", "10.20.5.9 nomatch", "2001:db8:20::10"))
	if obs := set.Status.AtProvider; obs.EntryCount != 3 || obs.Digest == "" {
		t.Errorf("status.atProvider = %+v", obs)
	}

	// Drift made by hand: an entry removed, one added, one changed, the comment.
	for _, f := range []func() error{
		func() error { return s.pve.Delete(ctx, "/cluster/firewall/ipset/admins/2001:db8:20::10", nil) },
		func() error {
			return s.pve.Post(ctx, "/cluster/firewall/ipset/admins", map[string]any{"cidr": "172.16.0.1"}, nil)
		},
		func() error {
			return s.pve.Put(ctx, "/cluster/firewall/ipset/admins/10.20.5.9", map[string]any{"nomatch": 0, "comment": "x"}, nil)
		},
		func() error {
			return s.pve.Post(ctx, "/cluster/firewall/ipset", map[string]any{"name": "admins", "rename": "admins", "comment": "by hand"}, nil)
		},
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "drift repaired", s.ipsetIs(t, "admins", "administrators",
		"10.20.0.0/16 admin network", "10.20.5.9 nomatch", "2001:db8:20::10"))

	// Update: an entry dropped, one added, one changed, the comment.
	s.update(t, set, func() {
		set.Spec.ForProvider.Comment = ptr.To("admins and ops")
		set.Spec.ForProvider.Entries = []v1alpha1.FirewallIPSetEntry{
			{CIDR: "10.20.0.0/16", Comment: ptr.To("admins")},
			{CIDR: "10.30.0.0/16", Comment: ptr.To("ops")},
		}
	})
	eventually(t, 20*time.Second, "set updated", s.ipsetIs(t, "admins", "admins and ops", "10.20.0.0/16 admins", "10.30.0.0/16 ops"))

	s.refusedWhileUsed(t, set, "+admins", func() bool { _, _, ok := s.pveIPSet(t, "admins"); return ok })
}

// An alias or IP set of the same name made by hand is neither taken over
// nor deleted; an observe-only resource imports one.
func TestFirewallSetsNotOurs(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	if err := s.pve.Post(ctx, "/cluster/firewall/aliases", map[string]any{"name": "hand", "cidr": "203.0.113.0/24", "comment": "by hand"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.pve.Post(ctx, "/cluster/firewall/ipset", map[string]any{"name": "handset", "comment": "by hand"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.pve.Post(ctx, "/cluster/firewall/ipset/handset", map[string]any{"cidr": "203.0.113.7"}, nil); err != nil {
		t.Fatal(err)
	}
	s.startProxmox(t)

	a := s.alias("hand", v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.1"})
	set := s.ipset("handset", v1alpha1.FirewallIPSetParameters{})
	mustCreate(t, s.env.Client, a, set)
	for _, o := range []conditioned{a, set} {
		s.waitObj(t, o, 20*time.Second, "refusal", func(_, sy xpv2.Condition) string {
			if sy.Status != corev1.ConditionFalse || !strings.Contains(sy.Message, "exists and was made outside this resource") {
				return "no refusal"
			}
			return ""
		})
		if err := s.env.Client.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
		s.waitGone(t, o)
	}
	eventually(t, 5*time.Second, "hand-made alias kept", s.aliasIs(t, "hand", "203.0.113.0/24 by hand"))
	eventually(t, 5*time.Second, "hand-made set kept", s.ipsetIs(t, "handset", "by hand", "203.0.113.7"))

	imp := s.ipset("imported", v1alpha1.FirewallIPSetParameters{})
	imp.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	meta.SetExternalName(imp, "handset")
	mustCreate(t, s.env.Client, imp)
	s.waitObjReady(t, imp)
	if obs := imp.Status.AtProvider; obs.EntryCount != 1 || obs.Comment != "by hand" || obs.Entries[0].CIDR != "203.0.113.7" {
		t.Errorf("imported status.atProvider = %+v", obs)
	}
	if err := s.env.Client.Delete(ctx, imp); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, imp)
	eventually(t, 5*time.Second, "imported set kept", s.ipsetIs(t, "handset", "by hand", "203.0.113.7"))
}

func TestFirewallSetsAdmission(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	entries := func(cidrs ...string) v1alpha1.FirewallIPSetParameters {
		p := v1alpha1.FirewallIPSetParameters{}
		for _, c := range cidrs {
			p.Entries = append(p.Entries, v1alpha1.FirewallIPSetEntry{CIDR: c})
		}
		return p
	}
	cases := map[string]struct {
		obj  conditioned
		want string
	}{
		"alias cidr not an address":  {s.alias("a1", v1alpha1.FirewallAliasParameters{CIDR: "office"}), "spec.forProvider.cidr must be an IP address or a CIDR network"},
		"alias prefix too short":     {s.alias("a2", v1alpha1.FirewallAliasParameters{CIDR: "10.0.0.0/4"}), "spec.forProvider.cidr must be an IP address or a CIDR network"},
		"alias name with a dot":      {s.alias("a.b", v1alpha1.FirewallAliasParameters{CIDR: "10.0.0.1"}), "metadata.name is the Proxmox alias name"},
		"alias name one letter":      {s.alias("a", v1alpha1.FirewallAliasParameters{CIDR: "10.0.0.1"}), "metadata.name is the Proxmox alias name"},
		"entry cidr bad":             {s.ipset("s1", entries("10.0.0.0/8", "10.0.0.300")), "spec.forProvider.entries[].cidr must be an IP address or a CIDR network"},
		"entry twice":                {s.ipset("s2", entries("10.0.0.1", "10.0.0.1")), "spec.forProvider.entries[1]: Duplicate value"},
		"set name starts with digit": {s.ipset("1set", entries()), "metadata.name is the Proxmox IP set name"},
		"set name past 64":           {s.ipset("s"+strings.Repeat("x", 64), entries()), "metadata.name is the Proxmox IP set name: 2-64 characters"},
		"alias name past 64":         {s.alias("a"+strings.Repeat("x", 64), v1alpha1.FirewallAliasParameters{CIDR: "10.0.0.1"}), "metadata.name is the Proxmox alias name: 2-64 characters"},
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

// An alias named by an IP set entry (made by hand: a managed set's entries
// are addresses) is not deleted until the entry is gone.
func TestFirewallAliasUsedByIPSet(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()
	a := s.alias("office", v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.0/24"})
	mustCreate(t, s.env.Client, a)
	s.waitObjReady(t, a)
	if err := s.pve.Post(ctx, "/cluster/firewall/ipset", map[string]any{"name": "byhand"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.pve.Post(ctx, "/cluster/firewall/ipset/byhand", map[string]any{"cidr": "office"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.env.Client.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	s.waitObj(t, a, 20*time.Second, "deletion refused", func(_, sy xpv2.Condition) string {
		if sy.Status != corev1.ConditionFalse || !strings.Contains(sy.Message, `firewall alias "office" is still used by IP set byhand, entry office`) {
			return "no refusal"
		}
		return ""
	})
	eventually(t, 5*time.Second, "alias kept", s.aliasIs(t, "office", "192.0.2.0/24"))
	if err := s.pve.Delete(ctx, "/cluster/firewall/ipset/byhand/office", nil); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, a)
	if _, ok := s.pveAlias(t, "office"); ok {
		t.Error("alias still in PVE after its resource was deleted")
	}
}

// TestFirewallSetsFaults runs FirewallAlias and FirewallIPSet create,
// update and delete with each of their routes failing in turn (haFaults'
// kinds): every operation converges, and no alias, set or entry is left
// behind or made twice.
func TestFirewallSetsFaults(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmoxWith(t, func(o *options.Options) { o.PollInterval = 500 * time.Millisecond })
	ctx := context.Background()

	// Alias create (the POST, then observe's GET), update, delete.
	done := s.setHAFaults(t, "POST /cluster/firewall/aliases", 0)
	a := s.alias("f-office", v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.0/24", Comment: ptr.To("one")})
	mustCreate(t, s.env.Client, a)
	s.waitObjReadyWithin(t, a, 90*time.Second)
	done()
	done = s.setHAFaults(t, "GET /cluster/firewall/aliases/{name}", 0)
	b := s.alias("f-lab", v1alpha1.FirewallAliasParameters{CIDR: "198.51.100.1"})
	mustCreate(t, s.env.Client, b)
	s.waitObjReadyWithin(t, b, 90*time.Second)
	done()
	done = s.setHAFaults(t, "PUT /cluster/firewall/aliases/{name}", 1)
	s.update(t, a, func() { a.Spec.ForProvider.CIDR = "192.0.2.0/25" })
	eventually(t, 90*time.Second, "alias update through faults", s.aliasIs(t, "f-office", "192.0.2.0/25 one"))
	done()

	// IP set create (the set's POST, then an entry's), entry update and removal.
	done = s.setHAFaults(t, "POST /cluster/firewall/ipset", 2)
	set := s.ipset("f-admins", v1alpha1.FirewallIPSetParameters{Comment: ptr.To("c"), Entries: []v1alpha1.FirewallIPSetEntry{
		{CIDR: "10.20.0.0/16"}, {CIDR: "10.20.5.9", NoMatch: true}}})
	mustCreate(t, s.env.Client, set)
	s.waitObjReadyWithin(t, set, 90*time.Second)
	done()
	done = s.setHAFaults(t, "POST /cluster/firewall/ipset/{name}", 3)
	s.update(t, set, func() {
		set.Spec.ForProvider.Entries = append(set.Spec.ForProvider.Entries, v1alpha1.FirewallIPSetEntry{CIDR: "10.30.0.1"})
	})
	eventually(t, 90*time.Second, "entry added through faults", s.ipsetIs(t, "f-admins", "c", "10.20.0.0/16", "10.20.5.9 nomatch", "10.30.0.1"))
	done()
	done = s.setHAFaults(t, "PUT /cluster/firewall/ipset/{name}/{cidr}", 4)
	s.update(t, set, func() { set.Spec.ForProvider.Entries[1].NoMatch = false })
	eventually(t, 90*time.Second, "entry changed through faults", s.ipsetIs(t, "f-admins", "c", "10.20.0.0/16", "10.20.5.9", "10.30.0.1"))
	done()
	done = s.setHAFaults(t, "DELETE /cluster/firewall/ipset/{name}/{cidr}", 5)
	s.update(t, set, func() { set.Spec.ForProvider.Entries = set.Spec.ForProvider.Entries[:1] })
	eventually(t, 90*time.Second, "entries removed through faults", s.ipsetIs(t, "f-admins", "c", "10.20.0.0/16"))
	done()

	// Deletes.
	for _, c := range []struct {
		obj   conditioned
		route string
		k     int
		gone  func() bool
	}{
		{set, "DELETE /cluster/firewall/ipset/{name}", 6, func() bool { _, _, ok := s.pveIPSet(t, "f-admins"); return !ok }},
		{a, "DELETE /cluster/firewall/aliases/{name}", 7, func() bool { _, ok := s.pveAlias(t, "f-office"); return !ok }},
		{b, "GET /cluster/firewall/aliases/{name}", 0, func() bool { _, ok := s.pveAlias(t, "f-lab"); return !ok }},
	} {
		done = s.setHAFaults(t, c.route, c.k)
		if err := s.env.Client.Delete(ctx, c.obj); err != nil {
			t.Fatal(err)
		}
		s.waitGoneWithin(t, c.obj, 90*time.Second)
		done()
		if !c.gone() {
			t.Errorf("%s left in PVE after its resource was deleted", c.obj.GetName())
		}
	}
	var aliases, sets []map[string]any
	if err := s.pve.Get(ctx, "/cluster/firewall/aliases", &aliases); err != nil || len(aliases) != 0 {
		t.Errorf("aliases left: %v %v", aliases, err)
	}
	if err := s.pve.Get(ctx, "/cluster/firewall/ipset", &sets); err != nil || len(sets) != 0 {
		t.Errorf("IP sets left: %v %v", sets, err)
	}
}
