package proxmox

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/security"
)

// roleRowOf is the row of internal/security's role (and docs/security.md's
// table) that each Proxmox kind runs under: ClusterFirewall and NodeFirewall
// share the HostFirewall row.
var roleRowOf = map[string]string{
	"VirtualMachine": "VirtualMachine", "Pool": "Pool", "Container": "Container",
	"ContainerTemplate": "ContainerTemplate", "FirewallSecurityGroup": "FirewallSecurityGroup",
	"FirewallIPSet": "FirewallIPSet", "FirewallAlias": "FirewallAlias",
	"ClusterFirewall": "HostFirewall", "NodeFirewall": "HostFirewall",
	"HAResource": "HAResource", "HARule": "HARule",
}

// Every managed kind the provider ships has a row in the role, and every
// row is a kind's: a kind added without its privileges fails here.
func TestLeastPrivilegeEveryKindHasARow(t *testing.T) {
	sch := runtime.NewScheme()
	if err := v1alpha1.SchemeBuilder.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for kind := range sch.KnownTypes(v1alpha1.SchemeGroupVersion) {
		if strings.HasSuffix(kind, "List") || strings.HasSuffix(kind, "Options") || strings.HasSuffix(kind, "Event") {
			continue
		}
		row, ok := roleRowOf[kind]
		if !ok {
			t.Errorf("kind %s has no row in the least-privilege role", kind)
			continue
		}
		if _, ok := security.ProxmoxKindPrivileges[row]; !ok {
			t.Errorf("kind %s: internal/security defines no row %s", kind, row)
		}
		rows[row] = true
	}
	for _, row := range security.ProxmoxKinds() {
		if !rows[row] {
			t.Errorf("internal/security's row %s belongs to no kind", row)
		}
	}
}

// lpRef points a managed resource at the ProviderConfig whose token holds
// exactly row's privileges.
func lpRef(row string) *xpv2.ProviderConfigReference {
	return &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "lp-" + strings.ToLower(row)}
}

// rootGuest makes an empty VM as root, outside the provider, and waits
// until PVE lists it.
func (s *site) rootGuest(t *testing.T, vmid int, name string) {
	t.Helper()
	var upid string
	if err := s.pve.Post(context.Background(), "/nodes/pve1/qemu", map[string]any{"vmid": vmid, "name": name}, &upid); err != nil {
		t.Fatalf("cannot create guest %d: %v", vmid, err)
	}
	eventually(t, 20*time.Second, "guest "+name, func() string {
		if len(s.guestsNamed(t, name)) != 1 {
			return "not listed"
		}
		return ""
	})
}

// guestRule adds a rule to a guest's firewall as root (PVE's admin, not
// the provider) and returns a function that removes it again.
func (s *site) guestRule(t *testing.T, vmid int, rule map[string]any) func() {
	t.Helper()
	path := fmt.Sprintf("/nodes/pve1/qemu/%d/firewall/rules", vmid)
	if err := s.pve.Post(context.Background(), path, rule, nil); err != nil {
		t.Fatalf("cannot add a rule to guest %d: %v", vmid, err)
	}
	return func() {
		t.Helper()
		if err := s.pve.Delete(context.Background(), path+"/0", nil); err != nil {
			t.Fatalf("cannot remove the rule of guest %d: %v", vmid, err)
		}
	}
}

// keptWhileUsed deletes obj while a guest's firewall (set by hand) uses
// it: the deletion is refused with a condition naming the guest, obj stays
// in PVE, and once the rule is gone obj is deleted. Without VM.Audit the
// token would not see the guest, its rules or the use.
func (s *site) keptWhileUsed(t *testing.T, obj conditioned, vmid int, rule map[string]any, inPVE func() bool) {
	t.Helper()
	unuse := s.guestRule(t, vmid, rule)
	if err := s.env.Client.Delete(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, obj.GetName()+" kept while guest "+fmt.Sprint(vmid)+" uses it", func() string {
		err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if kerrors.IsNotFound(err) {
			return fmt.Sprintf("resource deleted (still in PVE: %v) although guest %d uses it", inPVE(), vmid)
		}
		if err != nil {
			return err.Error()
		}
		if sy := obj.GetCondition(xpv2.TypeSynced); sy.Status != corev1.ConditionFalse || !strings.Contains(sy.Message, fmt.Sprintf("%d (", vmid)) {
			return "no refusal naming the guest: " + sy.Message
		}
		return ""
	})
	if !inPVE() {
		t.Fatalf("%s deleted in PVE although guest %d uses it", obj.GetName(), vmid)
	}
	unuse()
	s.waitGone(t, obj)
	if inPVE() {
		t.Errorf("%s still in PVE after its resource was deleted", obj.GetName())
	}
}

// Every Proxmox kind besides VirtualMachine and Pool (TestLeastPrivilegeLifecycle)
// is created, observed, updated and deleted through a privilege-separated
// token of a non-root user that holds exactly its row of the documented
// role on /, all kinds at once on one site. Guests and HA resources they
// work on are made by root, as an admin would.
func TestLeastPrivilegeOtherKinds(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()

	rows := []string{"Container", "ContainerTemplate", "FirewallAlias", "FirewallIPSet",
		"FirewallSecurityGroup", "HostFirewall", "HAResource", "HARule"}
	for _, row := range rows {
		lower := strings.ToLower(row)
		want := security.ProxmoxRole(row)
		c := s.roleToken(t, lower+"@pve", "Microcloud"+row, "pve-"+lower, want)
		s.providerConfig(t, "lp-"+lower, "pve-"+lower)
		// The token holds exactly the row on /, as PVE reports it to the
		// token itself: not root, nothing more.
		var perms map[string]map[string]int
		if err := c.Get(ctx, "/access/permissions?path=/", &perms); err != nil {
			t.Fatalf("%s token: cannot read its permissions: %v", row, err)
		}
		var got []string
		for p := range perms["/"] {
			got = append(got, p)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s token holds %v on /, want exactly %v", row, got, want)
		}
	}
	// Guests whose firewalls use the cluster's objects, and the subjects
	// of the HA resource and rule.
	const aliasUser, ipsetUser, groupUser, haGuest, ruleA, ruleB = 501, 502, 503, 504, 505, 506
	for id, name := range map[int]string{aliasUser: "lp-alias-user", ipsetUser: "lp-ipset-user", groupUser: "lp-group-user",
		haGuest: "lp-ha", ruleA: "lp-rule-a", ruleB: "lp-rule-b"} {
		s.rootGuest(t, id, name)
	}
	for _, id := range []int{ruleA, ruleB} {
		if err := s.pve.Post(ctx, "/cluster/ha/resources", map[string]any{"sid": fmt.Sprintf("vm:%d", id)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	s.startProxmox(t)
	start := time.Now()

	t.Run("kinds", func(t *testing.T) {
		t.Run("Container", func(t *testing.T) {
			t.Parallel()
			// A group (made under root) to link, as a tenant's container would.
			g := s.group("lp-ct-web", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{
				{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("80")}}})
			mustCreate(t, s.env.Client, g)
			s.waitObjReady(t, g)
			p := debianCT()
			p.Cores, p.MemoryMiB = 1, 512
			p.Networks[0].Firewall = ptr.To(true)
			p.Firewall = &v1alpha1.GuestFirewall{SecurityGroupRefs: []xpv2.NamespacedReference{{Name: "lp-ct-web"}}}
			ct := s.container("lp-ct", p)
			ct.Spec.ProviderConfigReference = lpRef("Container")
			mustCreate(t, s.env.Client, ct)
			ct = s.waitCT(t, "lp-ct")
			vmid := int(ct.Status.AtProvider.VMID)
			eventually(t, 20*time.Second, "group linked", func() string {
				if got := s.pveRules(t, fmt.Sprintf("/nodes/pve1/lxc/%d/firewall/rules", vmid)); strings.Join(got, "\n") != "group lp-ct-web enable=1" {
					return fmt.Sprintf("rules %q", got)
				}
				return ""
			})
			s.update(t, ct, func() { ct.Spec.ForProvider.Cores, ct.Spec.ForProvider.RootFS.SizeGiB = 2, 6 })
			eventually(t, 30*time.Second, "cores and rootfs updated", func() string {
				cfg := s.lxcConfig(t, "pve1", vmid)
				if c, r := str(cfg["cores"]), str(cfg["rootfs"]); c != "2" || !strings.Contains(r, "size=6G") {
					return "cores " + c + ", rootfs " + r
				}
				return ""
			})
			s.update(t, ct, func() { ct.Spec.ForProvider.PowerState = v1alpha1.PowerStateStopped })
			eventually(t, 30*time.Second, "container stopped", func() string {
				if g, _ := s.sim.Guest(vmid); g.Running {
					return "running"
				}
				return ""
			})
			if err := s.env.Client.Delete(ctx, ct); err != nil {
				t.Fatal(err)
			}
			s.waitGone(t, ct)
			if gs := s.guestsNamed(t, "lp-ct"); len(gs) != 0 {
				t.Errorf("containers left: %+v", gs)
			}
		})
		t.Run("ContainerTemplate", func(t *testing.T) {
			t.Parallel()
			const volid = "local:vztmpl/" + alpineTemplate
			tmpl := s.ctTemplate("lp-alpine", v1alpha1.ContainerTemplateParameters{Node: "pve1", Template: alpineTemplate})
			tmpl.Spec.ProviderConfigReference = lpRef("ContainerTemplate")
			mustCreate(t, s.env.Client, tmpl)
			s.waitObjReady(t, tmpl)
			if !s.hasVZTemplate(t, "pve1", volid) || tmpl.Status.AtProvider.VolID != volid {
				t.Fatalf("downloaded file not there: %v, atProvider %+v", s.vztmpls(t, "pve1", "local"), tmpl.Status.AtProvider)
			}
			if err := s.env.Client.Delete(ctx, tmpl); err != nil {
				t.Fatal(err)
			}
			s.waitGone(t, tmpl)
			if s.hasVZTemplate(t, "pve1", volid) {
				t.Errorf("%s still there after delete", volid)
			}
		})
		t.Run("FirewallAlias", func(t *testing.T) {
			t.Parallel()
			a := s.alias("lp-office", v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.0/24", Comment: ptr.To("hq")})
			a.Spec.ProviderConfigReference = lpRef("FirewallAlias")
			mustCreate(t, s.env.Client, a)
			s.waitObjReady(t, a)
			eventually(t, 10*time.Second, "alias created", s.aliasIs(t, "lp-office", "192.0.2.0/24 hq"))
			s.update(t, a, func() { a.Spec.ForProvider.CIDR = "198.51.100.0/24" })
			eventually(t, 20*time.Second, "alias updated", s.aliasIs(t, "lp-office", "198.51.100.0/24 hq"))
			s.keptWhileUsed(t, a, aliasUser, map[string]any{"type": "in", "action": "ACCEPT", "macro": "SSH", "source": "lp-office", "enable": 1},
				func() bool { _, ok := s.pveAlias(t, "lp-office"); return ok })
		})
		t.Run("FirewallIPSet", func(t *testing.T) {
			t.Parallel()
			set := s.ipset("lp-admins", v1alpha1.FirewallIPSetParameters{Comment: ptr.To("admins"), Entries: []v1alpha1.FirewallIPSetEntry{
				{CIDR: "10.20.0.0/16"}, {CIDR: "10.20.5.9", NoMatch: true}}})
			set.Spec.ProviderConfigReference = lpRef("FirewallIPSet")
			mustCreate(t, s.env.Client, set)
			s.waitObjReady(t, set)
			eventually(t, 10*time.Second, "set created", s.ipsetIs(t, "lp-admins", "admins", "10.20.0.0/16", "10.20.5.9 nomatch"))
			s.update(t, set, func() {
				set.Spec.ForProvider.Entries = []v1alpha1.FirewallIPSetEntry{{CIDR: "10.20.0.0/16"}, {CIDR: "10.30.0.0/16", Comment: ptr.To("ops")}}
			})
			eventually(t, 20*time.Second, "set updated", s.ipsetIs(t, "lp-admins", "admins", "10.20.0.0/16", "10.30.0.0/16 ops"))
			s.keptWhileUsed(t, set, ipsetUser, map[string]any{"type": "in", "action": "ACCEPT", "macro": "SSH", "source": "+lp-admins", "enable": 1},
				func() bool { _, _, ok := s.pveIPSet(t, "lp-admins"); return ok })
		})
		t.Run("FirewallSecurityGroup", func(t *testing.T) {
			t.Parallel()
			g := s.group("lp-web", v1alpha1.FirewallSecurityGroupParameters{Comment: ptr.To("web"), Rules: []v1alpha1.FirewallRule{
				{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH")}}})
			g.Spec.ProviderConfigReference = lpRef("FirewallSecurityGroup")
			mustCreate(t, s.env.Client, g)
			s.waitObjReady(t, g)
			eventually(t, 10*time.Second, "group created", groupRulesAre(s, t, "lp-web", "in ACCEPT enable=1 macro=SSH"))
			s.update(t, g, func() {
				g.Spec.ForProvider.Rules = append(g.Spec.ForProvider.Rules, v1alpha1.FirewallRule{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("443")})
			})
			eventually(t, 20*time.Second, "group updated", groupRulesAre(s, t, "lp-web", "in ACCEPT enable=1 macro=SSH", "in ACCEPT dport=443 enable=1 proto=tcp"))
			s.keptWhileUsed(t, g, groupUser, map[string]any{"type": "group", "action": "lp-web", "enable": 1},
				func() bool { _, ok := s.groupComment(t, "lp-web"); return ok })
		})
		t.Run("HostFirewall", func(t *testing.T) {
			t.Parallel()
			dc := s.datacenter("lp-datacenter", v1alpha1.ClusterFirewallParameters{PolicyIn: ptr.To("DROP"),
				Rules: &[]v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH")}}})
			dc.Spec.ProviderConfigReference = lpRef("HostFirewall")
			node := &v1alpha1.NodeFirewall{}
			node.SetNamespace(s.ns)
			node.SetName("lp-pve3")
			node.Spec.ProviderConfigReference = lpRef("HostFirewall")
			node.Spec.ForProvider = v1alpha1.NodeFirewallParameters{Node: "pve3", NoSmurfs: ptr.To(true),
				Rules: &[]v1alpha1.FirewallRule{{Type: "in", Action: "DROP", Proto: ptr.To("tcp"), DPort: ptr.To("111")}}}
			mustCreate(t, s.env.Client, dc, node)
			s.waitObjReady(t, dc)
			s.waitObjReady(t, node)
			eventually(t, 20*time.Second, "datacenter firewall set", s.firewallIs(t, "/cluster/firewall", map[string]string{"policy_in": "DROP"}, "in ACCEPT SSH"))
			eventually(t, 20*time.Second, "node firewall set", s.firewallIs(t, "/nodes/pve3/firewall", map[string]string{"nosmurfs": "1"}, "in DROP tcp 111"))
			s.update(t, dc, func() {
				dc.Spec.ForProvider.Rules = &[]v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH")},
					{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("8006")}}
			})
			s.update(t, node, func() { node.Spec.ForProvider.LogLevelIn = ptr.To("info") })
			eventually(t, 20*time.Second, "datacenter firewall updated", s.firewallIs(t, "/cluster/firewall", nil, "in ACCEPT SSH", "in ACCEPT tcp 8006"))
			eventually(t, 20*time.Second, "node firewall updated", s.firewallIs(t, "/nodes/pve3/firewall", map[string]string{"log_level_in": "info"}, "in DROP tcp 111"))
			for _, o := range []conditioned{dc, node} {
				if err := s.env.Client.Delete(ctx, o); err != nil {
					t.Fatal(err)
				}
				s.waitGone(t, o)
			}
			eventually(t, 5*time.Second, "datacenter rules gone", s.firewallIs(t, "/cluster/firewall", map[string]string{"policy_in": "DROP"}))
			eventually(t, 5*time.Second, "node rules gone", s.firewallIs(t, "/nodes/pve3/firewall", map[string]string{"nosmurfs": "1"}))
		})
		t.Run("HAResource", func(t *testing.T) {
			t.Parallel()
			sid := fmt.Sprintf("vm:%d", haGuest)
			ha := s.haResource("lp-ha", v1alpha1.HAResourceParameters{SID: ptr.To(sid), MaxRestart: ptr.To[int64](2), Comment: ptr.To("web")})
			ha.Spec.ProviderConfigReference = lpRef("HAResource")
			mustCreate(t, s.env.Client, ha)
			s.waitObjReady(t, ha)
			eventually(t, 10*time.Second, "guest under HA", s.haIs(t, sid, map[string]string{"max_restart": "2", "comment": "web"}))
			s.update(t, ha, func() {
				ha.Spec.ForProvider.MaxRelocate, ha.Spec.ForProvider.Comment = ptr.To[int64](3), ptr.To("web, prod")
			})
			eventually(t, 20*time.Second, "HA resource updated", s.haIs(t, sid, map[string]string{"max_relocate": "3", "comment": "web, prod"}))
			if err := s.env.Client.Delete(ctx, ha); err != nil {
				t.Fatal(err)
			}
			s.waitGone(t, ha)
			if h, ok := s.pveHA(t, sid); ok {
				t.Errorf("guest still under HA: %v", h)
			}
			if _, ok := s.sim.Guest(haGuest); !ok {
				t.Errorf("leaving HA removed guest %d", haGuest)
			}
		})
		t.Run("HARule", func(t *testing.T) {
			t.Parallel()
			sids := []string{fmt.Sprintf("vm:%d", ruleA), fmt.Sprintf("vm:%d", ruleB)}
			r := s.haRule("lp-apart", v1alpha1.HARuleParameters{Type: "resource-affinity", Resources: sids, Affinity: ptr.To("negative"), Comment: ptr.To("apart")})
			r.Spec.ProviderConfigReference = lpRef("HARule")
			mustCreate(t, s.env.Client, r)
			s.waitObjReady(t, r)
			eventually(t, 10*time.Second, "rule created", s.ruleIs(t, "lp-apart", map[string]string{
				"type": "resource-affinity", "affinity": "negative", "resources": strings.Join(sids, ","), "comment": "apart"}))
			s.update(t, r, func() { r.Spec.ForProvider.Comment, r.Spec.ForProvider.Disable = ptr.To("apart, prod"), true })
			eventually(t, 20*time.Second, "rule updated", s.ruleIs(t, "lp-apart", map[string]string{"comment": "apart, prod", "disable": "1"}))
			if err := s.env.Client.Delete(ctx, r); err != nil {
				t.Fatal(err)
			}
			s.waitGone(t, r)
			if _, ok := s.pveRule(t, "lp-apart"); ok {
				t.Error("rule still in PVE")
			}
			for _, sid := range sids {
				if _, ok := s.pveHA(t, sid); !ok {
					t.Errorf("%s left HA with the rule", sid)
				}
			}
		})
	})
	t.Logf("every kind's lifecycle under its row took %s", time.Since(start).Round(100*time.Millisecond))
}
