package proxmox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	mcv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

func (s *site) group(name string, p v1alpha1.FirewallSecurityGroupParameters) *v1alpha1.FirewallSecurityGroup {
	g := &v1alpha1.FirewallSecurityGroup{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	g.Spec.ForProvider = p
	g.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	return g
}

// pveRules reads a rule list from the simulator as "type action options..."
// lines in order, e.g. "in ACCEPT macro=SSH enable=1".
func (s *site) pveRules(t *testing.T, path string) []string {
	t.Helper()
	var rs []map[string]any
	if err := s.pve.Get(context.Background(), path, &rs); err != nil {
		t.Fatalf("cannot read %s: %v", path, err)
	}
	sort.SliceStable(rs, func(i, j int) bool { return str(rs[i]["pos"]) < str(rs[j]["pos"]) })
	out := []string{}
	for _, r := range rs {
		line := []string{str(r["type"]), str(r["action"])}
		var opts []string
		for k, v := range r {
			if k != "type" && k != "action" && k != "pos" && k != "digest" && k != "ipversion" {
				opts = append(opts, k+"="+str(v))
			}
		}
		sort.Strings(opts)
		out = append(out, strings.Join(append(line, opts...), " "))
	}
	return out
}

func groupRulesAre(s *site, t *testing.T, group string, want ...string) func() string {
	return func() string {
		if got := s.pveRules(t, "/cluster/firewall/groups/"+group); strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Sprintf("group %s rules %q, want %q", group, got, want)
		}
		return ""
	}
}

func (s *site) groupComment(t *testing.T, group string) (string, bool) {
	t.Helper()
	var gs []map[string]any
	if err := s.pve.Get(context.Background(), "/cluster/firewall/groups", &gs); err != nil {
		t.Fatalf("cannot list groups: %v", err)
	}
	for _, g := range gs {
		if g["group"] == group {
			return str(g["comment"]), true
		}
	}
	return "", false
}

func TestFirewallSecurityGroupLifecycle(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()

	g := s.group("web", v1alpha1.FirewallSecurityGroupParameters{Comment: ptr.To("web servers"), Rules: []v1alpha1.FirewallRule{
		{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH"), Source: ptr.To("10.0.0.0/8")},
		{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("80,443"), Comment: ptr.To("https")},
	}})
	mustCreate(t, s.env.Client, g)
	s.waitObjReady(t, g)
	eventually(t, 10*time.Second, "rules created in order", groupRulesAre(s, t, "web",
		"in ACCEPT enable=1 macro=SSH source=10.0.0.0/8",
		"in ACCEPT comment=https dport=80,443 enable=1 proto=tcp"))
	if c, ok := s.groupComment(t, "web"); !ok || c != "web servers" {
		t.Errorf("group comment %q (exists %v), want %q", c, ok, "web servers")
	}
	if meta.GetExternalName(g) != "web" || g.Status.AtProvider.RuleCount != 2 {
		t.Errorf("external name %q, status %+v", meta.GetExternalName(g), g.Status.AtProvider)
	}

	// Update: a rule inserted in the middle, one switched off and logged.
	rules := []v1alpha1.FirewallRule{
		g.Spec.ForProvider.Rules[0],
		{Type: "out", Action: "DROP", Dest: ptr.To("192.168.0.0/16")},
		{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("80,443"), Comment: ptr.To("https"), Enable: ptr.To(false), Log: ptr.To("info")},
	}
	s.update(t, g, func() { g.Spec.ForProvider.Rules = rules })
	want := []string{
		"in ACCEPT enable=1 macro=SSH source=10.0.0.0/8",
		"out DROP dest=192.168.0.0/16 enable=1",
		"in ACCEPT comment=https dport=80,443 enable=0 log=info proto=tcp",
	}
	eventually(t, 20*time.Second, "rules updated", groupRulesAre(s, t, "web", want...))

	// Drift through the API: a rule deleted, another added on top, one changed.
	for _, call := range []func() error{
		func() error { return s.pve.Delete(ctx, "/cluster/firewall/groups/web/1", nil) },
		func() error {
			return s.pve.Post(ctx, "/cluster/firewall/groups/web", map[string]any{"type": "in", "action": "ACCEPT", "macro": "Ping", "enable": 1}, nil)
		},
		func() error {
			return s.pve.Put(ctx, "/cluster/firewall/groups/web/1", map[string]any{"source": "0.0.0.0/0"}, nil)
		},
	} {
		if err := call(); err != nil {
			t.Fatalf("cannot make drift: %v", err)
		}
	}
	eventually(t, 20*time.Second, "drift corrected", groupRulesAre(s, t, "web", want...))

	// Delete: rules, then the group.
	if err := s.env.Client.Delete(ctx, g); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, g)
	if _, ok := s.groupComment(t, "web"); ok {
		t.Errorf("group web still exists in Proxmox")
	}
}

func TestFirewallSecurityGroupComment(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	g := s.group("db", v1alpha1.FirewallSecurityGroupParameters{Comment: ptr.To("databases")})
	mustCreate(t, s.env.Client, g)
	s.waitObjReady(t, g)
	s.update(t, g, func() { g.Spec.ForProvider.Comment = ptr.To("postgres") })
	eventually(t, 20*time.Second, "comment updated", func() string {
		if c, _ := s.groupComment(t, "db"); c != "postgres" {
			_ = s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(g), g)
			return "comment " + c + "; synced " + g.GetCondition(xpv2.TypeSynced).Message
		}
		return ""
	})
}

func TestFirewallSecurityGroupObserveOnlyImport(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	if err := s.pve.Post(ctx, "/cluster/firewall/groups", map[string]any{"group": "Legacy_GRP", "comment": "made by hand"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []map[string]any{{"type": "in", "action": "DROP", "enable": 1}, {"type": "in", "action": "ACCEPT", "macro": "SSH", "enable": 1}} {
		if err := s.pve.Post(ctx, "/cluster/firewall/groups/Legacy_GRP", r, nil); err != nil {
			t.Fatal(err)
		}
	}
	before := s.pveRules(t, "/cluster/firewall/groups/Legacy_GRP")
	s.startProxmox(t)

	g := s.group("legacy", v1alpha1.FirewallSecurityGroupParameters{})
	g.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	meta.SetExternalName(g, "Legacy_GRP")
	mustCreate(t, s.env.Client, g)
	s.waitObjReady(t, g)
	obs := g.Status.AtProvider
	if obs.RuleCount != 2 || obs.Comment != "made by hand" || len(obs.Rules) != 2 || obs.Rules[0].Macro != "SSH" || obs.Rules[1].Action != "DROP" {
		t.Errorf("status.atProvider = %+v", obs)
	}
	if err := s.env.Client.Delete(ctx, g); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, g)
	if after := s.pveRules(t, "/cluster/firewall/groups/Legacy_GRP"); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("an observe-only resource changed the group: %q, was %q", after, before)
	}
}

// always re-resolves a reference on every reconcile, so editing references relinks.
var always = &xpv2.Policy{Resolve: ptr.To(xpv2.ResolvePolicyAlways)}

// TestVirtualMachineSecurityGroups links a VM to two groups by reference,
// unlinks one, and shows that a linked group is not deleted.
func TestVirtualMachineSecurityGroups(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()

	web := s.group("web", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Macro: ptr.To("HTTPS")}}})
	ssh := s.group("ssh", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH")}}})
	mustCreate(t, s.env.Client, web, ssh)

	p := cloneOf(pvesim.DefaultTemplateID)
	p.Networks = []v1alpha1.NetworkInterface{{Firewall: ptr.To(true)}}
	p.Firewall = &v1alpha1.GuestFirewall{PolicyIn: ptr.To("DROP"), PolicyOut: ptr.To("ACCEPT"),
		SecurityGroupRefs: []xpv2.NamespacedReference{{Name: "web", Policy: always}, {Name: "ssh"}}}
	mustCreate(t, s.env.Client, s.vm("fw-1", p))
	vm := s.waitReady(t, "fw-1")
	vmid := int(vm.Status.AtProvider.VMID)
	rulesPath := fmt.Sprintf("/nodes/pve1/qemu/%d/firewall/rules", vmid)
	if got := vm.Spec.ForProvider.Firewall.SecurityGroups; strings.Join(got, ",") != "web,ssh" {
		t.Errorf("resolved securityGroups %v, want [web ssh]", got)
	}
	eventually(t, 20*time.Second, "VM linked to both groups", func() string {
		got := s.pveRules(t, rulesPath)
		if strings.Join(got, "\n") != "group web enable=1\ngroup ssh enable=1" {
			return fmt.Sprintf("VM rules %q", got)
		}
		return ""
	})
	opts := map[string]any{}
	if err := s.pve.Get(ctx, fmt.Sprintf("/nodes/pve1/qemu/%d/firewall/options", vmid), &opts); err != nil {
		t.Fatal(err)
	}
	if str(opts["enable"]) != "1" || opts["policy_in"] != "DROP" || opts["policy_out"] != "ACCEPT" {
		t.Errorf("VM firewall options %v, want enable=1 policy_in=DROP policy_out=ACCEPT", opts)
	}

	// A rule of the VM's own, made by hand, is left alone.
	if err := s.pve.Post(ctx, rulesPath, map[string]any{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "8080", "enable": 1}, nil); err != nil {
		t.Fatal(err)
	}
	// Unlink web.
	s.update(t, vm, func() {
		vm.Spec.ForProvider.Firewall.SecurityGroupRefs = []xpv2.NamespacedReference{{Name: "ssh", Policy: always}}
	})
	eventually(t, 20*time.Second, "web unlinked", func() string {
		got := s.pveRules(t, rulesPath)
		if strings.Join(got, "\n") != "in ACCEPT dport=8080 enable=1 proto=tcp\ngroup ssh enable=1" {
			vm := s.get(t, "fw-1")
			return fmt.Sprintf("VM rules %q; synced %q; spec %+v", got, vm.GetCondition(xpv2.TypeSynced).Message, vm.Spec.ForProvider.Firewall)
		}
		return ""
	})

	// ssh is still linked: deleting it is refused, and says why.
	if err := s.env.Client.Delete(ctx, ssh); err != nil {
		t.Fatal(err)
	}
	s.waitObj(t, ssh, 20*time.Second, "deletion of a linked group refused", func(_, sy xpv2.Condition) string {
		if sy.Status != corev1.ConditionFalse || !strings.Contains(sy.Message, "still linked by VirtualMachine "+s.ns+"/fw-1") {
			return "no refusal in the Synced condition"
		}
		return ""
	})
	if got := s.pveRules(t, "/cluster/firewall/groups/ssh"); len(got) != 1 {
		t.Errorf("the linked group's rules were touched: %q", got)
	}
	// web is no longer linked: it goes.
	if err := s.env.Client.Delete(ctx, web); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, web)

	// Once the VM links no group, ssh goes too. The refused deletion is
	// retried with backoff; a touch of the group retries it now.
	s.update(t, vm, func() {
		vm.Spec.ForProvider.Firewall.SecurityGroupRefs, vm.Spec.ForProvider.Firewall.SecurityGroups = nil, nil
	})
	eventually(t, 20*time.Second, "all groups unlinked", func() string {
		if got := s.pveRules(t, rulesPath); strings.Join(got, "\n") != "in ACCEPT dport=8080 enable=1 proto=tcp" {
			return fmt.Sprintf("VM rules %q", got)
		}
		return ""
	})
	s.update(t, ssh, func() { meta.AddAnnotations(ssh, map[string]string{"test/retry": "now"}) })
	s.waitGone(t, ssh)
	if _, ok := s.groupComment(t, "ssh"); ok {
		t.Errorf("group ssh still exists in Proxmox")
	}
}

// TestFirewallAdmission checks that the API server rejects bad specs with
// messages naming the field.
func TestFirewallAdmission(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	cases := map[string]struct {
		obj  conditioned
		want string
	}{
		"dport without proto": {s.group("a1", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{
			{Type: "in", Action: "ACCEPT", DPort: ptr.To("22")}}}), "spec.forProvider.rules[].dport needs spec.forProvider.rules[].proto"},
		"ports on icmp": {s.group("a2", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{
			{Type: "in", Action: "ACCEPT", Proto: ptr.To("icmp"), DPort: ptr.To("22")}}}), "spec.forProvider.rules[].proto must be tcp, udp"},
		"unknown action": {s.group("a3", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{
			{Type: "in", Action: "ALLOW"}}}), "spec.forProvider.rules[0].action"},
		"bad port": {s.group("a4", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{
			{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("22;rm")}}}), "spec.forProvider.rules[0].dport"},
		"a group linking a group": {s.group("a5", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{
			{Type: "group", Action: "web"}}}), "spec.forProvider.rules[].type: a security group cannot link another security group"},
		"a group rule naming an interface": {s.group("a6", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{
			{Type: "in", Action: "ACCEPT", Iface: ptr.To("vmbr0")}}}), "spec.forProvider.rules[].iface: a security group's rules name no interface"},
		"forward REJECT": {s.group("a7", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{
			{Type: "forward", Action: "REJECT"}}}), "spec.forProvider.rules[0].action: Invalid value"},
		"datacenter rule with a bad action": {s.datacenter("d1", v1alpha1.ClusterFirewallParameters{Rules: &[]v1alpha1.FirewallRule{
			{Type: "out", Action: "webserver"}}}), "spec.forProvider.rules[0].action: Invalid value"},
		"a group link matching ports": {s.datacenter("d2", v1alpha1.ClusterFirewallParameters{Rules: &[]v1alpha1.FirewallRule{
			{Type: "group", Action: "webserver", Proto: ptr.To("tcp")}}}), "a rule of type group links the security group named by action and matches nothing itself"},
		"datacenter forward policy REJECT": {s.datacenter("d3", v1alpha1.ClusterFirewallParameters{PolicyForward: ptr.To("REJECT")}),
			"spec.forProvider.policyForward"},
		"log rate": {s.datacenter("d4", v1alpha1.ClusterFirewallParameters{LogRateLimit: &v1alpha1.FirewallLogRateLimit{Rate: ptr.To("5/fortnight")}}),
			"spec.forProvider.logRateLimit.rate"},
		"group name too long":            {s.group("a-very-long-group-name", v1alpha1.FirewallSecurityGroupParameters{}), "metadata.name is the Proxmox security group name"},
		"group name starts with a digit": {s.group("1web", v1alpha1.FirewallSecurityGroupParameters{}), "metadata.name is the Proxmox security group name"},
		"VM links a group twice": {func() conditioned {
			p := cloneOf(pvesim.DefaultTemplateID)
			p.Firewall = &v1alpha1.GuestFirewall{SecurityGroups: []string{"web", "web"}}
			return s.vm("v1", p)
		}(), "spec.forProvider.firewall.securityGroups must not name a group twice"},
		"VM links a bad group name": {func() conditioned {
			p := cloneOf(pvesim.DefaultTemplateID)
			p.Firewall = &v1alpha1.GuestFirewall{SecurityGroups: []string{"no spaces"}}
			return s.vm("v2", p)
		}(), "spec.forProvider.firewall.securityGroups[0]"},
		"VM policy": {func() conditioned {
			p := cloneOf(pvesim.DefaultTemplateID)
			p.Firewall = &v1alpha1.GuestFirewall{PolicyIn: ptr.To("ALLOW")}
			return s.vm("v3", p)
		}(), "spec.forProvider.firewall.policyIn"},
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

// TestProxmoxExamples applies examples/proxmox as it is (into a fresh
// namespace, against a ClusterProviderConfig "default" for this test's
// simulator), waits until every object is Ready, checks that the example VM
// links the example group, and deletes everything again.
func TestProxmoxExamples(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	root, err := envtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "examples", "proxmox", "*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("examples/proxmox: %v %v", files, err)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // our own examples
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("# ")) {
			t.Errorf("%s does not start with a comment line saying what it demonstrates", filepath.Base(f))
		}
		d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := d.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			if len(u.Object) > 0 {
				if u.GetNamespace() != "" {
					t.Errorf("%s: %s has a namespace; examples are applied into any", filepath.Base(f), u.GetName())
				}
				u.SetNamespace(s.ns)
				objs = append(objs, u)
			}
		}
	}
	cpc := &mcv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: mcv1alpha1.ClusterProviderConfigSpec{SiteSpec: mcv1alpha1.SiteSpec{
		Proxmox: &mcv1alpha1.ProxmoxConfig{
			Endpoint:       "https://" + s.sim.Addr,
			TokenSecretRef: mcv1alpha1.SecretKeySelector{Namespace: s.ns, Name: "pve", Key: "token"},
			CABundle:       &mcv1alpha1.CABundleSource{SecretKeyRef: &mcv1alpha1.SecretKeySelector{Namespace: s.ns, Name: "pve", Key: "ca.crt"}},
		}}}}
	mustCreate(t, s.env.Client, cpc)
	t.Cleanup(func() { _ = s.env.Client.Delete(context.Background(), cpc) })
	s.startProxmox(t)
	for _, u := range objs {
		mustCreate(t, s.env.Client, u)
	}
	for _, u := range objs {
		eventually(t, 60*time.Second, u.GetKind()+" "+u.GetName()+" Ready", func() string {
			if err := s.env.Client.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
				return err.Error()
			}
			for _, c := range conditionsOf(u) {
				if c["type"] == "Ready" && c["status"] == "True" {
					return ""
				}
			}
			return fmt.Sprintf("conditions %v", conditionsOf(u))
		})
	}
	vm := s.get(t, "web-1")
	got := s.pveRules(t, fmt.Sprintf("/nodes/%s/qemu/%d/firewall/rules", vm.Status.AtProvider.Node, vm.Status.AtProvider.VMID))
	if strings.Join(got, "\n") != "group web enable=1" {
		t.Errorf("example VM's firewall rules %q, want the link to group web", got)
	}
	for _, u := range objs {
		if err := s.env.Client.Delete(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
}

func conditionsOf(u *unstructured.Unstructured) []map[string]any {
	cs, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var out []map[string]any
	for _, c := range cs {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
