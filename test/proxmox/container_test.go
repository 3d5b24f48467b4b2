package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

func (s *site) container(name string, p v1alpha1.ContainerParameters) *v1alpha1.Container {
	ct := &v1alpha1.Container{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	ct.Spec.ForProvider = p
	ct.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	return ct
}

// debianCT is a container from the template seeded on every node.
func debianCT() v1alpha1.ContainerParameters {
	return v1alpha1.ContainerParameters{Node: "pve1", OSTemplate: ptr.To("local:vztmpl/" + debianTemplate),
		RootFS:   v1alpha1.ContainerRootFS{Storage: "ceph-rbd", SizeGiB: 4},
		Networks: []v1alpha1.ContainerNetwork{{Name: "eth0", Bridge: "vmbr0", IP: ptr.To("dhcp")}}}
}

// lxcConfig reads a container's config straight from the simulator.
func (s *site) lxcConfig(t *testing.T, node string, vmid int) map[string]any {
	t.Helper()
	cfg := map[string]any{}
	if err := s.pve.Get(context.Background(), fmt.Sprintf("/nodes/%s/lxc/%d/config", node, vmid), &cfg); err != nil {
		t.Fatalf("cannot read CT %d config from the simulator: %v", vmid, err)
	}
	return cfg
}

// waitCT waits until the container is Ready and Synced and returns it.
func (s *site) waitCT(t *testing.T, name string) *v1alpha1.Container {
	t.Helper()
	ct := &v1alpha1.Container{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	s.waitObj(t, ct, 60*time.Second, "container "+name+" Ready", func(r, sy xpv2.Condition) string {
		if r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue {
			return fmt.Sprintf("atProvider=%+v annotations=%v guests=%+v", ct.Status.AtProvider, ct.GetAnnotations(), s.guestsNamed(t, name))
		}
		return ""
	})
	return ct
}

// TestContainerLifecycle creates a container from a ContainerTemplate by
// reference, updates it, corrects drift, stops and deletes it.
func TestContainerLifecycle(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()

	mustCreate(t, s.env.Client, s.ctTemplate("alpine", v1alpha1.ContainerTemplateParameters{Node: "pve1", Template: alpineTemplate}),
		s.group("web", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{
			{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("80")}}}))
	p := v1alpha1.ContainerParameters{Node: "pve1", OSTemplateRef: &xpv2.NamespacedReference{Name: "alpine"},
		Firewall: &v1alpha1.GuestFirewall{PolicyIn: ptr.To("DROP"), SecurityGroupRefs: []xpv2.NamespacedReference{{Name: "web"}}},
		Cores:    2, MemoryMiB: 1024, Tags: []string{"web"}, OnBoot: ptr.To(true),
		RootFS:   v1alpha1.ContainerRootFS{Storage: "ceph-rbd", SizeGiB: 4},
		Networks: []v1alpha1.ContainerNetwork{{Name: "eth0", Bridge: "vmbr0", IP: ptr.To("dhcp"), Firewall: ptr.To(true)}}}
	ct := s.container("ct-1", p)
	ct.Spec.WriteConnectionSecretToReference = &xpv2.LocalSecretReference{Name: "ct-1-conn"}
	mustCreate(t, s.env.Client, ct)

	ct = s.waitCT(t, "ct-1")
	vmid := int(ct.Status.AtProvider.VMID)
	if meta.GetExternalName(ct) != fmt.Sprint(vmid) || vmid < 100 {
		t.Fatalf("external name %q, status vmid %d", meta.GetExternalName(ct), vmid)
	}
	if got := ptr.Deref(ct.Spec.ForProvider.OSTemplate, ""); got != "local:vztmpl/"+alpineTemplate {
		t.Errorf("osTemplate resolved to %q", got)
	}
	if ct.Status.AtProvider.Status != "running" || ct.Status.AtProvider.Node != "pve1" || len(ct.Status.AtProvider.IPAddresses) == 0 {
		t.Errorf("atProvider = %+v, want running on pve1 with an IP", ct.Status.AtProvider)
	}
	cfg := s.lxcConfig(t, "pve1", vmid)
	owner := guest.OwnerTag(string(ct.GetUID()))
	if str(cfg["hostname"]) != "ct-1" || str(cfg["cores"]) != "2" || str(cfg["memory"]) != "1024" || str(cfg["ostype"]) != "alpine" ||
		str(cfg["unprivileged"]) != "1" || !hasTag(str(cfg["tags"]), "web") || !hasTag(str(cfg["tags"]), owner) {
		t.Errorf("simulator config = %v", cfg)
	}
	if n := str(cfg["net0"]); !strings.Contains(n, "ip=dhcp") || !strings.Contains(n, "firewall=1") {
		t.Errorf("net0 = %q", n)
	}
	rulesPath := fmt.Sprintf("/nodes/pve1/lxc/%d/firewall/rules", vmid)
	linked := func() string {
		if got := s.pveRules(t, rulesPath); strings.Join(got, "\n") != "group web enable=1" {
			return fmt.Sprintf("container firewall rules %q, want the link to group web", got)
		}
		opts := map[string]any{}
		if err := s.pve.Get(ctx, fmt.Sprintf("/nodes/pve1/lxc/%d/firewall/options", vmid), &opts); err != nil {
			return err.Error()
		}
		if str(opts["enable"]) != "1" || str(opts["policy_in"]) != "DROP" {
			return fmt.Sprintf("firewall options %v", opts)
		}
		return ""
	}
	eventually(t, 30*time.Second, "security group linked", linked)
	eventually(t, 30*time.Second, "connection secret", func() string {
		sec := &corev1.Secret{}
		if err := s.env.Client.Get(ctx, types.NamespacedName{Namespace: s.ns, Name: "ct-1-conn"}, sec); err != nil {
			return err.Error()
		}
		if string(sec.Data["ipAddress"]) != ct.Status.AtProvider.IPAddresses[0] || string(sec.Data["vmid"]) != fmt.Sprint(vmid) {
			return fmt.Sprintf("secret data %v", sec.Data)
		}
		return ""
	})

	// Update: more cores and a bigger root volume.
	s.update(t, ct, func() { ct.Spec.ForProvider.Cores, ct.Spec.ForProvider.RootFS.SizeGiB = 4, 8 })
	eventually(t, 30*time.Second, "cores and rootfs updated", func() string {
		cfg := s.lxcConfig(t, "pve1", vmid)
		if c, r := str(cfg["cores"]), str(cfg["rootfs"]); c != "4" || !strings.Contains(r, "size=8G") {
			return "cores " + c + ", rootfs " + r
		}
		return ""
	})

	// Drift made behind the provider's back is corrected.
	if err := s.pve.Put(ctx, fmt.Sprintf("/nodes/pve1/lxc/%d/config", vmid), map[string]any{"memory": "256", "net0": "name=eth0,bridge=vmbr9,ip=dhcp"}, nil); err != nil {
		t.Fatalf("cannot make drift: %v", err)
	}
	if err := s.pve.Delete(ctx, rulesPath+"/0", nil); err != nil {
		t.Fatalf("cannot unlink the group by hand: %v", err)
	}
	eventually(t, 30*time.Second, "drift corrected", func() string {
		cfg := s.lxcConfig(t, "pve1", vmid)
		if m, n := str(cfg["memory"]), str(cfg["net0"]); m != "1024" || !strings.Contains(n, "bridge=vmbr0") || !strings.Contains(n, "firewall=1") {
			return "memory " + m + ", net0 " + n
		}
		return ""
	})
	eventually(t, 30*time.Second, "group relinked", linked)

	// Power state.
	s.update(t, ct, func() { ct.Spec.ForProvider.PowerState = v1alpha1.PowerStateStopped })
	eventually(t, 30*time.Second, "container stopped", func() string {
		for _, g := range s.guests(t) {
			if g.VMID == vmid && g.Status != "stopped" {
				return g.Status
			}
		}
		return ""
	})
	s.waitCT(t, "ct-1")

	// Delete removes the container.
	if err := s.env.Client.Delete(ctx, ct); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, ct)
	if gs := s.guestsNamed(t, "ct-1"); len(gs) > 0 {
		t.Errorf("containers named ct-1 remain: %+v", gs)
	}
}

// TestContainerToTemplate converts a stopped container into a template.
func TestContainerToTemplate(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	p := debianCT()
	p.PowerState = v1alpha1.PowerStateStopped
	mustCreate(t, s.env.Client, s.container("base", p))
	ct := s.waitCT(t, "base")
	vmid := int(ct.Status.AtProvider.VMID)
	if ct.Status.AtProvider.Template || str(s.lxcConfig(t, "pve1", vmid)["template"]) == "1" {
		t.Fatal("a template before conversion was asked for")
	}
	s.update(t, ct, func() { ct.Spec.ForProvider.ConvertToTemplate = ptr.To(true) })
	eventually(t, 30*time.Second, "converted", func() string {
		cfg := s.lxcConfig(t, "pve1", vmid)
		if str(cfg["template"]) != "1" || !strings.Contains(str(cfg["rootfs"]), ":base-") {
			return fmt.Sprintf("template %v rootfs %v", cfg["template"], cfg["rootfs"])
		}
		return ""
	})
	s.waitObj(t, ct, 30*time.Second, "template observed", func(r, sy xpv2.Condition) string {
		if r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue || !ct.Status.AtProvider.Template || ct.Status.AtProvider.Status != "stopped" {
			return fmt.Sprintf("atProvider = %+v", ct.Status.AtProvider)
		}
		return ""
	})
	// The template is a clone source as PVE knows it.
	var upid string
	if err := s.pve.Post(context.Background(), fmt.Sprintf("/nodes/pve1/lxc/%d/clone", vmid), map[string]any{"newid": 7001, "hostname": "from-base"}, &upid); err != nil {
		t.Errorf("cannot clone the template: %v", err)
	}
}

// TestContainerObserveOnlyImport reports an existing container and never changes it.
func TestContainerObserveOnlyImport(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()
	var upid string
	if err := s.pve.Post(ctx, "/nodes/pve2/lxc", map[string]any{"vmid": 4100, "ostemplate": "local:vztmpl/" + debianTemplate,
		"hostname": "legacy", "rootfs": "ceph-rbd:4", "net0": "name=eth0,bridge=vmbr0,ip=dhcp", "start": true}, &upid); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "legacy container running", func() string {
		for _, g := range s.guests(t) {
			if g.VMID == 4100 && g.Status == "running" {
				return ""
			}
		}
		return "not yet"
	})
	before := s.lxcConfig(t, "pve2", 4100)

	p := debianCT()
	p.Node, p.Cores, p.PowerState = "pve2", 8, v1alpha1.PowerStateStopped
	ct := s.container("imported", p)
	ct.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	meta.SetExternalName(ct, "4100")
	mustCreate(t, s.env.Client, ct)
	s.waitObj(t, ct, 30*time.Second, "import observed", func(_, sy xpv2.Condition) string {
		if sy.Status != corev1.ConditionTrue || ct.Status.AtProvider.VMID != 4100 || len(ct.Status.AtProvider.IPAddresses) == 0 {
			return fmt.Sprintf("atProvider %+v", ct.Status.AtProvider)
		}
		return ""
	})
	if ct.Status.AtProvider.Node != "pve2" || ct.Status.AtProvider.Status != "running" {
		t.Errorf("atProvider = %+v", ct.Status.AtProvider)
	}
	time.Sleep(3 * pollInterval)
	after := s.lxcConfig(t, "pve2", 4100)
	if str(before["digest"]) != str(after["digest"]) || str(after["cores"]) == "8" {
		t.Errorf("observe-only changed the container: before %v after %v", before, after)
	}
	for _, g := range s.guests(t) {
		if g.VMID == 4100 && g.Status != "running" {
			t.Errorf("observe-only stopped the container: %s", g.Status)
		}
	}
}

// A create whose response is lost after PVE created the container must not
// create a second one.
func TestContainerLostCreateResponseCreatesOnce(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.sim.Faults().Set(pvesim.FaultConfig{Routes: []pvesim.RouteFault{{Route: "POST /nodes/{node}/lxc", DropRate: 1}}})
	s.startProxmox(t)
	mustCreate(t, s.env.Client, s.container("lost-ct", debianCT()))
	eventually(t, 30*time.Second, "create applied", func() string {
		if len(s.guestsNamed(t, "lost-ct")) == 0 {
			return "no container yet"
		}
		return ""
	})
	s.sim.Faults().Clear()
	ct := s.waitCT(t, "lost-ct")
	if gs := s.guestsNamed(t, "lost-ct"); len(gs) != 1 {
		t.Fatalf("%d containers named lost-ct, want exactly 1: %+v", len(gs), gs)
	}
	if got := meta.GetExternalName(ct); got != fmt.Sprint(ct.Status.AtProvider.VMID) {
		t.Errorf("external name %q, vmid %d", got, ct.Status.AtProvider.VMID)
	}
}

// TestContainerAdmission checks that the API server rejects bad container
// and template specs, and bad changes, with messages naming the field.
func TestContainerAdmission(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	with := func(change func(p *v1alpha1.ContainerParameters)) v1alpha1.ContainerParameters {
		p := debianCT()
		change(&p)
		return p
	}
	creates := map[string]struct {
		obj  conditioned
		want string
	}{
		"running template": {s.container("a1", with(func(p *v1alpha1.ContainerParameters) { p.ConvertToTemplate = ptr.To(true) })),
			"spec.forProvider.powerState must be Stopped when spec.forProvider.convertToTemplate is true"},
		"no template": {s.container("a2", with(func(p *v1alpha1.ContainerParameters) { p.OSTemplate = nil })),
			"spec.forProvider.osTemplate, osTemplateRef or osTemplateSelector is required"},
		"gateway with dhcp": {s.container("a3", with(func(p *v1alpha1.ContainerParameters) { p.Networks[0].Gateway = ptr.To("10.0.0.1") })),
			"spec.forProvider.networks[].gw needs a static spec.forProvider.networks[].ip"},
		"bad ip": {s.container("a4", with(func(p *v1alpha1.ContainerParameters) { p.Networks[0].IP = ptr.To("static") })),
			"spec.forProvider.networks[0].ip"},
		"not a vztmpl volid": {s.container("a5", with(func(p *v1alpha1.ContainerParameters) { p.OSTemplate = ptr.To("local:iso/x.iso") })),
			"spec.forProvider.osTemplate"},
		"links a group twice": {s.container("a6", with(func(p *v1alpha1.ContainerParameters) {
			p.Firewall = &v1alpha1.GuestFirewall{SecurityGroups: []string{"web", "web"}}
		})), "spec.forProvider.firewall.securityGroups must not name a group twice"},
		"template file name": {s.ctTemplate("t1", v1alpha1.ContainerTemplateParameters{Node: "pve1", Template: "debian.iso"}),
			"spec.forProvider.template"},
	}
	for name, c := range creates {
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

	// Changes: no controller runs, so the objects stay as written.
	p := debianCT()
	p.PowerState = v1alpha1.PowerStateStopped
	p.ConvertToTemplate = ptr.To(true)
	ct := s.container("u1", p)
	tmpl := s.ctTemplate("u2", v1alpha1.ContainerTemplateParameters{Node: "pve1", Template: alpineTemplate})
	mustCreate(t, s.env.Client, ct, tmpl)
	changes := map[string]struct {
		obj    conditioned
		change func()
		want   string
	}{
		"shrink rootfs":    {ct, func() { ct.Spec.ForProvider.RootFS.SizeGiB = 2 }, "spec.forProvider.rootfs.sizeGiB can only grow"},
		"undo template":    {ct, func() { ct.Spec.ForProvider.ConvertToTemplate = ptr.To(false) }, "spec.forProvider.convertToTemplate cannot be undone"},
		"start template":   {ct, func() { ct.Spec.ForProvider.PowerState = v1alpha1.PowerStateRunning }, "spec.forProvider.powerState must be Stopped"},
		"move node":        {ct, func() { ct.Spec.ForProvider.Node = "pve2" }, "spec.forProvider.node is immutable"},
		"other ostemplate": {ct, func() { ct.Spec.ForProvider.OSTemplate = ptr.To("local:vztmpl/" + alpineTemplate) }, "spec.forProvider.osTemplate is immutable"},
		"rootfs storage":   {ct, func() { ct.Spec.ForProvider.RootFS.Storage = "local" }, "spec.forProvider.rootfs.storage is immutable"},
		"privileges":       {ct, func() { ct.Spec.ForProvider.Unprivileged = ptr.To(false) }, "spec.forProvider.unprivileged is immutable"},
		"other appliance":  {tmpl, func() { tmpl.Spec.ForProvider.Template = debianTemplate }, "spec.forProvider is immutable"},
	}
	for name, c := range changes {
		t.Run(name, func(t *testing.T) {
			if err := s.env.Client.Get(ctx, types.NamespacedName{Namespace: s.ns, Name: c.obj.GetName()}, c.obj); err != nil {
				t.Fatal(err)
			}
			c.change()
			err := s.env.Client.Update(ctx, c.obj)
			if err == nil {
				t.Fatalf("updated; want rejection naming %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %q", err, c.want)
			}
		})
	}
}
