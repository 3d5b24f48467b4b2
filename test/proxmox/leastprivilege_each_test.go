package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/security"
)

// lpKind is how TestLeastPrivilegeEachPrivilegeNeeded runs one row's kind:
// make builds the i-th resource named n (its ProviderConfig set by the
// caller), change updates it, changed and exists read PVE; use, for the
// cluster firewall objects, makes a guest's own rule (set by root) use the
// object and returns what removes the rule.
type lpKind struct {
	row     string
	make    func(n string, i int) conditioned
	change  func(o conditioned)
	changed func(n string, i int) bool
	exists  func(n string, i int) bool
	use     func(n string, i int) func()
}

// lpOutcome is where a lifecycle under a reduced role stopped: stage is
// "create" (create or first observe), "update" or "delete", "" when it
// finished; usedWhenDeleted tells that the object went from PVE while a
// guest's rule used it.
type lpOutcome struct {
	stage, msg      string
	events          []string
	usedWhenDeleted bool
}

// runReduced creates o, updates it, deletes it (with a guest using it, for
// kinds that have use), and returns the first stage that did not finish.
func (s *site) runReduced(t *testing.T, k lpKind, o conditioned, n string, i int) lpOutcome {
	t.Helper()
	ctx := context.Background()
	gone := false
	// stuck polls until done, or Synced=False (refused, unless tolerate
	// accepts its message), or within passes.
	stuck := func(stage string, done func() bool, tolerate func(msg string) bool, within time.Duration) (lpOutcome, bool) {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			err := s.env.Client.Get(ctx, client.ObjectKeyFromObject(o), o)
			if kerrors.IsNotFound(err) {
				gone = true
				return lpOutcome{}, false
			}
			if err == nil {
				if sy := o.GetCondition(xpv2.TypeSynced); sy.Status == corev1.ConditionFalse && (tolerate == nil || !tolerate(sy.Message)) {
					return lpOutcome{stage: stage, msg: sy.Message, events: s.warnings(t, o)}, true
				}
				if done() {
					return lpOutcome{}, false
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		return lpOutcome{stage: stage, msg: "neither done nor refused within " + within.String()}, true
	}
	mustCreate(t, s.env.Client, o)
	if out, bad := stuck("create", func() bool {
		r, sy := o.GetCondition(xpv2.TypeReady), o.GetCondition(xpv2.TypeSynced)
		return r.Status == corev1.ConditionTrue && sy.Status == corev1.ConditionTrue
	}, nil, 25*time.Second); bad {
		return out
	}
	s.update(t, o, func() { k.change(o) })
	if out, bad := stuck("update", func() bool { return k.changed(n, i) }, nil, 20*time.Second); bad {
		return out
	}
	var unuse func()
	if k.use != nil {
		unuse = k.use(n, i)
	}
	if err := s.env.Client.Delete(ctx, o); err != nil {
		t.Fatal(err)
	}
	inUse := func(msg string) bool {
		return unuse != nil && strings.Contains(msg, fmt.Sprintf("%d (", lpUser(k.row, i)))
	}
	if unuse != nil {
		// Kept while used, as with the whole role: the refusal names the
		// guest; or gone, although the guest uses it.
		if out, bad := stuck("delete", func() bool {
			sy := o.GetCondition(xpv2.TypeSynced)
			return sy.Status == corev1.ConditionFalse && inUse(sy.Message)
		}, inUse, 20*time.Second); bad {
			unuse() // refused for another reason: the use must not hold the deletion later
			return out
		}
		if gone {
			unuse()
			return lpOutcome{usedWhenDeleted: !k.exists(n, i)}
		}
		unuse()
	}
	// (the refusal for the use may still be the condition until the next reconcile)
	if out, bad := stuck("delete", func() bool { return false }, inUse, 20*time.Second); bad {
		return out
	}
	if k.exists(n, i) {
		return lpOutcome{stage: "delete", msg: "resource gone, but still in PVE"}
	}
	return lpOutcome{}
}

// lpUser is the guest whose rule uses the i-th object of a firewall row.
func lpUser(row string, i int) int {
	return map[string]int{"FirewallAlias": 700, "FirewallIPSet": 710, "FirewallSecurityGroup": 720}[row] + i
}

// warnings lists the warning events of obj.
func (s *site) warnings(t *testing.T, obj client.Object) []string {
	t.Helper()
	var list corev1.EventList
	if err := s.env.Client.List(context.Background(), &list, client.InNamespace(s.ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == obj.GetName() && e.Type == corev1.EventTypeWarning {
			out = append(out, e.Message)
		}
	}
	return out
}

// Each privilege of every row but VirtualMachine's
// (TestLeastPrivilegeEachVMPrivilegeNeeded): with it taken away, the kind's
// lifecycle stops where PVE refuses, with Synced=False and a warning event
// in PVE's words.
func TestLeastPrivilegeEachPrivilegeNeeded(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	// Guests made by root: HA subjects (two per case of HARule), and one
	// per case of each firewall row whose own rule uses the object.
	guests := map[int]bool{}
	nextGuest := 600
	guest := func() int {
		nextGuest++
		guests[nextGuest] = true
		return nextGuest
	}
	haSID := map[int]string{}
	for i := range security.ProxmoxKindPrivileges["HAResource"] {
		haSID[i] = fmt.Sprintf("vm:%d", guest())
	}
	rulePair := map[int][]string{}
	for i := range security.ProxmoxKindPrivileges["HARule"] {
		rulePair[i] = []string{fmt.Sprintf("vm:%d", guest()), fmt.Sprintf("vm:%d", guest())}
	}
	for _, row := range []string{"FirewallAlias", "FirewallIPSet", "FirewallSecurityGroup"} {
		for i := range security.ProxmoxKindPrivileges[row] {
			guests[lpUser(row, i)] = true
		}
	}
	for id := range guests {
		var upid string
		if err := s.pve.Post(ctx, "/nodes/pve1/qemu", map[string]any{"vmid": id, "name": fmt.Sprintf("lp-g%d", id)}, &upid); err != nil {
			t.Fatalf("cannot create guest %d: %v", id, err)
		}
	}
	eventually(t, 30*time.Second, "root's guests", func() string {
		seen := 0
		for _, g := range s.guests(t) {
			if guests[g.VMID] {
				seen++
			}
		}
		if seen != len(guests) {
			return fmt.Sprintf("%d of %d guests", seen, len(guests))
		}
		return ""
	})
	for _, pair := range rulePair {
		for _, sid := range pair {
			if err := s.pve.Post(ctx, "/cluster/ha/resources", map[string]any{"sid": sid}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	nodes := []string{"pve1", "pve2", "pve3"}
	appliances := []string{alpineTemplate, "debian-13-standard_13.1-2_amd64.tar.zst",
		"ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "rockylinux-9-default_20240912_amd64.tar.xz"}

	kinds := []lpKind{
		{row: "Container",
			make: func(n string, _ int) conditioned {
				p := debianCT()
				p.Cores, p.MemoryMiB = 1, 512
				return s.container(n, p)
			},
			change: func(o conditioned) { o.(*v1alpha1.Container).Spec.ForProvider.Cores = 2 },
			changed: func(n string, _ int) bool {
				gs := s.guestsNamed(t, n)
				return len(gs) == 1 && str(s.lxcConfig(t, gs[0].Node, gs[0].VMID)["cores"]) == "2"
			},
			exists: func(n string, _ int) bool { return len(s.guestsNamed(t, n)) > 0 }},
		{row: "ContainerTemplate",
			make: func(n string, i int) conditioned {
				return s.ctTemplate(n, v1alpha1.ContainerTemplateParameters{Node: "pve1", Template: appliances[i]})
			},
			change:  func(o conditioned) { o.SetLabels(map[string]string{"changed": "yes"}) },
			changed: func(n string, i int) bool { return s.hasVZTemplate(t, "pve1", "local:vztmpl/"+appliances[i]) },
			exists:  func(n string, i int) bool { return s.hasVZTemplate(t, "pve1", "local:vztmpl/"+appliances[i]) }},
		{row: "FirewallAlias",
			make: func(n string, _ int) conditioned {
				return s.alias(n, v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.0/24"})
			},
			change:  func(o conditioned) { o.(*v1alpha1.FirewallAlias).Spec.ForProvider.CIDR = "198.51.100.0/24" },
			changed: func(n string, _ int) bool { return s.aliasIs(t, n, "198.51.100.0/24")() == "" },
			exists:  func(n string, _ int) bool { _, ok := s.pveAlias(t, n); return ok },
			use: func(n string, i int) func() {
				return s.guestRule(t, lpUser("FirewallAlias", i), map[string]any{"type": "in", "action": "ACCEPT", "source": n, "enable": 1})
			}},
		{row: "FirewallIPSet",
			make: func(n string, _ int) conditioned {
				return s.ipset(n, v1alpha1.FirewallIPSetParameters{Entries: []v1alpha1.FirewallIPSetEntry{{CIDR: "10.20.0.0/16"}}})
			},
			change: func(o conditioned) {
				o.(*v1alpha1.FirewallIPSet).Spec.ForProvider.Entries = []v1alpha1.FirewallIPSetEntry{{CIDR: "10.30.0.0/16"}}
			},
			changed: func(n string, _ int) bool { return s.ipsetIs(t, n, "", "10.30.0.0/16")() == "" },
			exists:  func(n string, _ int) bool { _, _, ok := s.pveIPSet(t, n); return ok },
			use: func(n string, i int) func() {
				return s.guestRule(t, lpUser("FirewallIPSet", i), map[string]any{"type": "in", "action": "ACCEPT", "source": "+" + n, "enable": 1})
			}},
		{row: "FirewallSecurityGroup",
			make: func(n string, _ int) conditioned {
				return s.group(n, v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH")}}})
			},
			change: func(o conditioned) {
				g := o.(*v1alpha1.FirewallSecurityGroup)
				g.Spec.ForProvider.Rules = append(g.Spec.ForProvider.Rules, v1alpha1.FirewallRule{Type: "in", Action: "DROP"})
			},
			changed: func(n string, _ int) bool {
				return groupRulesAre(s, t, n, "in ACCEPT enable=1 macro=SSH", "in DROP enable=1")() == ""
			},
			exists: func(n string, _ int) bool { _, ok := s.groupComment(t, n); return ok },
			use: func(n string, i int) func() {
				return s.guestRule(t, lpUser("FirewallSecurityGroup", i), map[string]any{"type": "group", "action": n, "enable": 1})
			}},
		{row: "HostFirewall",
			make: func(n string, i int) conditioned {
				o := &v1alpha1.NodeFirewall{}
				o.SetNamespace(s.ns)
				o.SetName(n)
				o.Spec.ForProvider = v1alpha1.NodeFirewallParameters{Node: nodes[i], NoSmurfs: ptr.To(true),
					Rules: &[]v1alpha1.FirewallRule{{Type: "in", Action: "DROP", Proto: ptr.To("tcp"), DPort: ptr.To("111")}}}
				return o
			},
			change: func(o conditioned) { o.(*v1alpha1.NodeFirewall).Spec.ForProvider.LogLevelIn = ptr.To("info") },
			changed: func(n string, i int) bool {
				return s.firewallIs(t, "/nodes/"+nodes[i]+"/firewall", map[string]string{"log_level_in": "info"}, "in DROP tcp 111")() == ""
			},
			exists: func(n string, i int) bool {
				_, rules := s.pveFirewall(t, "/nodes/"+nodes[i]+"/firewall")
				return len(rules) > 0
			}},
		{row: "HAResource",
			make: func(n string, i int) conditioned {
				return s.haResource(n, v1alpha1.HAResourceParameters{SID: ptr.To(haSID[i]), MaxRestart: ptr.To[int64](2)})
			},
			change: func(o conditioned) { o.(*v1alpha1.HAResource).Spec.ForProvider.Comment = ptr.To("changed") },
			changed: func(n string, i int) bool {
				return s.haIs(t, haSID[i], map[string]string{"comment": "changed"})() == ""
			},
			exists: func(n string, i int) bool { _, ok := s.pveHA(t, haSID[i]); return ok }},
		{row: "HARule",
			make: func(n string, i int) conditioned {
				return s.haRule(n, v1alpha1.HARuleParameters{Type: "resource-affinity", Resources: rulePair[i], Affinity: ptr.To("negative")})
			},
			change:  func(o conditioned) { o.(*v1alpha1.HARule).Spec.ForProvider.Comment = ptr.To("changed") },
			changed: func(n string, _ int) bool { return s.ruleIs(t, n, map[string]string{"comment": "changed"})() == "" },
			exists:  func(n string, _ int) bool { _, ok := s.pveRule(t, n); return ok }},
		{row: "Pool",
			make:    func(n string, _ int) conditioned { return s.pool(n, v1alpha1.PoolParameters{Comment: ptr.To("team")}) },
			change:  func(o conditioned) { o.(*v1alpha1.Pool).Spec.ForProvider.Comment = ptr.To("changed") },
			changed: func(n string, _ int) bool { c, _, ok := s.pvePool(t, n); return ok && c == "changed" },
			exists:  func(n string, _ int) bool { _, _, ok := s.pvePool(t, n); return ok }},
	}
	// Privileges of a row that no call of its controller needs when the
	// role is on / (docs/security.md says why for each): the lifecycle
	// finishes without them.
	notNeeded := map[string]bool{
		"Pool/Pool.Audit": true, // PVE's GET /pools?poolid= makes its Pool.Audit check with noerr and ignores it
	}
	// What a refusal says: PVE's "Permission check failed (<path>,
	// <privilege>)", except where PVE names nothing (an "or" check) or
	// refuses nothing but hides the guest.
	says := map[string][]string{
		"Container/VM.Allocate": {"403 Permission check failed"},
		"Container/VM.Audit":    {"it lacks VM.Audit on /vms/"},
		// the template volume's access check comes first and asks for either
		"Container/Datastore.AllocateSpace": {"403 Permission check failed (/storage/", "Datastore.AllocateSpace|Datastore.Audit)"},
		// Without VM.Audit PVE hides the guests from the in-use scan of a
		// cluster firewall object: its deletion is refused, not made blind.
		"FirewallAlias/VM.Audit":         {"lacks VM.Audit on /vms"},
		"FirewallIPSet/VM.Audit":         {"lacks VM.Audit on /vms"},
		"FirewallSecurityGroup/VM.Audit": {"lacks VM.Audit on /vms"},
		// listing storage content asks for either
		"ContainerTemplate/Datastore.Audit": {"403 Permission check failed (/storage/local, Datastore.Audit|Datastore.AllocateSpace)"},
	}
	// A refusal after the guest was made leaves it, to be finished once
	// the privilege is back.
	leaves := map[string]bool{"Container/VM.PowerMgmt": true, "Container/VM.Audit": true}
	type one struct {
		k    lpKind
		i    int
		drop string
		name string
	}
	var cases []one
	for ki, k := range kinds {
		full := security.ProxmoxKindPrivileges[k.row]
		for i, drop := range full {
			var privs []string
			for _, p := range full {
				if p != drop {
					privs = append(privs, p)
				}
			}
			n := fmt.Sprintf("x%d-%d", ki, i)
			s.roleToken(t, n+"@pve", "Role-"+n, "pve-"+n, privs)
			s.providerConfig(t, n, "pve-"+n)
			cases = append(cases, one{k: k, i: i, drop: drop, name: n})
		}
	}
	s.startProxmox(t)
	start := time.Now()
	t.Run("rows", func(t *testing.T) {
		for _, c := range cases {
			key := c.k.row + "/" + c.drop
			t.Run(c.k.row+"-without-"+c.drop, func(t *testing.T) {
				t.Parallel()
				o := c.k.make(c.name, c.i)
				o.(interface {
					SetProviderConfigReference(*xpv2.ProviderConfigReference)
				}).SetProviderConfigReference(&xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: c.name})
				out := s.runReduced(t, c.k, o, c.name, c.i)
				t.Logf("without %s: stage %q: %s", c.drop, out.stage, out.msg)
				switch {
				case notNeeded[key]:
					if out.stage != "" || out.usedWhenDeleted {
						t.Errorf("without %s the lifecycle stopped at %q (%s); docs/security.md says no call needs it", c.drop, out.stage, out.msg)
					}
					return
				}
				if out.usedWhenDeleted {
					t.Errorf("without %s: deleted while a guest uses it", c.drop)
				}
				want := says[key]
				if want == nil {
					want = []string{"403 Permission check failed (/", ", " + c.drop + ")"}
				}
				has := func(msg string) bool {
					for _, w := range want {
						if !strings.Contains(msg, w) {
							return false
						}
					}
					return true
				}
				if out.stage == "" || !has(out.msg) {
					t.Fatalf("without %s: stage %q, Synced %q; want a refusal saying %q", c.drop, out.stage, out.msg, want)
				}
				// Events are written after the condition, asynchronously.
				events, found := out.events, false
				for deadline := time.Now().Add(15 * time.Second); ; events = s.warnings(t, o) {
					for _, e := range events {
						found = found || has(e)
					}
					if found || time.Now().After(deadline) {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				if !found {
					t.Errorf("without %s: no warning event says %q: %q", c.drop, want, events)
				}
				// Nothing half made, changed or removed.
				switch ex := c.k.exists(c.name, c.i); {
				case out.stage == "create" && ex && !leaves[key]:
					t.Errorf("without %s: refused at create, but PVE has it", c.drop)
				case out.stage == "update" && c.k.changed(c.name, c.i):
					t.Errorf("without %s: refused at update, but PVE has the change", c.drop)
				case out.stage == "delete" && !ex:
					t.Errorf("without %s: refused at delete, but PVE removed it", c.drop)
				}
				// The privilege back: it converges, and deletes cleanly.
				if err := s.pve.Put(ctx, "/access/roles/Role-"+c.name, map[string]any{"privs": c.drop, "append": 1}, nil); err != nil {
					t.Fatal(err)
				}
				if out.stage != "delete" {
					s.waitObj(t, o, 30*time.Second, o.GetName()+" converges", func(r, sy xpv2.Condition) string {
						if r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue || (out.stage == "update" && !c.k.changed(c.name, c.i)) {
							return "not yet"
						}
						return ""
					})
					if err := s.env.Client.Delete(ctx, o); err != nil {
						t.Fatal(err)
					}
				}
				s.waitGone(t, o)
				if c.k.exists(c.name, c.i) {
					t.Errorf("without %s, then with it: still in PVE after delete", c.drop)
				}
			})
		}
	})
	t.Logf("%d reduced roles took %s", len(cases), time.Since(start).Round(100*time.Millisecond))
}
