package virtualmachine

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// applyLinks runs ops on a guest's rules the way PVE's rule API does: POST
// puts the new rule at the top, PUT rewrites or (moveto) moves one, DELETE
// removes one.
func applyLinks(rules []fwRule, ops []fwOp) ([]fwRule, error) {
	for _, o := range ops {
		if o.method != "POST" && o.pos >= len(rules) {
			return nil, fmt.Errorf("no rule at position %d", o.pos)
		}
		switch o.method {
		case "POST":
			rules = append([]fwRule{{typ: o.params["type"].(string), action: o.params["action"].(string), enable: o.params["enable"] == 1}}, rules...)
		case "PUT":
			if to, ok := o.params["moveto"]; ok {
				rules = moveTo(rules, o.pos, to.(int))
				continue
			}
			rules[o.pos].action = o.params["action"].(string)
			rules[o.pos].enable = o.params["enable"] == 1
		case "DELETE":
			rules = append(rules[:o.pos], rules[o.pos+1:]...)
		}
	}
	return rules, nil
}

func TestLinkPlan(t *testing.T) {
	link := func(g string) fwRule { return fwRule{typ: "group", action: g, enable: true} }
	ssh := fwRule{typ: "in", action: "ACCEPT", enable: true}
	drop := fwRule{typ: "out", action: "DROP", enable: false}
	cases := map[string]struct {
		want  []string
		rules []fwRule
		calls int
	}{
		"nothing to do":                  {[]string{"web", "ssh"}, []fwRule{link("web"), link("ssh"), ssh}, 0},
		"no links, none wanted":          {nil, []fwRule{ssh, drop}, 0},
		"link two to an empty firewall":  {[]string{"web", "ssh"}, nil, 3},
		"link two beside other rules":    {[]string{"web", "ssh"}, []fwRule{ssh, drop}, 3},
		"unlink the second":              {[]string{"web"}, []fwRule{link("web"), ssh, link("ssh")}, 1},
		"unlink the first":               {[]string{"ssh"}, []fwRule{link("web"), ssh, link("ssh")}, 2},
		"unlink all":                     {nil, []fwRule{link("web"), ssh, link("ssh")}, 2},
		"swap the order":                 {[]string{"ssh", "web"}, []fwRule{link("web"), link("ssh")}, 2},
		"add a third after other rules":  {[]string{"a", "b", "c"}, []fwRule{link("a"), ssh, link("b"), drop}, 2},
		"a link disabled by hand":        {[]string{"web"}, []fwRule{{typ: "group", action: "web"}}, 1},
		"replace one group with another": {[]string{"db"}, []fwRule{ssh, link("web")}, 1},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ops := linkPlan(c.want, c.rules, "d1")
			if len(ops) != c.calls {
				t.Errorf("%d calls, want %d: %v", len(ops), c.calls, ops)
			}
			for i, o := range ops {
				if _, has := o.params["digest"]; has != (i == 0) {
					t.Errorf("call %d (%v): digest sent = %v; only the first call carries it", i, o, has)
				}
			}
			end, err := applyLinks(append([]fwRule{}, c.rules...), ops)
			if err != nil {
				t.Fatalf("%v: %v", ops, err)
			}
			var links []string
			var others, othersBefore []fwRule
			for _, r := range end {
				if r.typ == "group" {
					links = append(links, r.action)
					if !r.enable {
						t.Errorf("link %s is disabled", r.action)
					}
				} else {
					others = append(others, r)
				}
			}
			for _, r := range c.rules {
				if r.typ != "group" {
					othersBefore = append(othersBefore, r)
				}
			}
			if !reflect.DeepEqual(links, c.want) {
				t.Errorf("after %v the links are %v, want %v", ops, links, c.want)
			}
			if !reflect.DeepEqual(others, othersBefore) {
				t.Errorf("other rules changed: %v, were %v", others, othersBefore)
			}
			if again := linkPlan(c.want, end, ""); len(again) != 0 {
				t.Errorf("not converged: a second plan is %v", again)
			}
		})
	}
}

func TestFirewallOptions(t *testing.T) {
	cases := map[string]struct {
		fw   v1alpha1.VirtualMachineFirewall
		have map[string]any
		set  map[string]any
	}{
		"enable a fresh VM's firewall": {v1alpha1.VirtualMachineFirewall{}, map[string]any{"digest": "x"}, map[string]any{"enable": "1"}},
		"already on":                   {v1alpha1.VirtualMachineFirewall{Enabled: ptr.To(true)}, map[string]any{"enable": 1.0}, map[string]any{}},
		"turn off": {v1alpha1.VirtualMachineFirewall{Enabled: ptr.To(false)}, map[string]any{"enable": 1.0, "policy_in": "DROP"},
			map[string]any{"enable": "0"}},
		"policies": {v1alpha1.VirtualMachineFirewall{PolicyIn: ptr.To("DROP"), PolicyOut: ptr.To("REJECT")},
			map[string]any{"enable": 1.0, "policy_in": "ACCEPT", "policy_out": "REJECT"}, map[string]any{"policy_in": "DROP"}},
		"unset policies are left alone": {v1alpha1.VirtualMachineFirewall{}, map[string]any{"enable": 1.0, "policy_in": "ACCEPT"}, map[string]any{}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := optionsDiff(wantOptions(&c.fw), c.have); !reflect.DeepEqual(got, c.set) {
				t.Errorf("optionsDiff = %v, want %v", got, c.set)
			}
		})
	}
}

// TestFirewallReadWithConfigOnly checks the request budget of VMs with a
// managed firewall against the simulator: the firewall is read with the
// config, so a steady-state poll costs one cluster view whatever the number
// of VMs, and a spec change re-reads that VM's config and firewall only.
func TestFirewallReadWithConfigOnly(t *testing.T) {
	const n = 20
	sim, err := pvesim.New(pvesim.Options{SeedGuests: n * 2, CADir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	site := &providerconfig.Site{Ref: "fw", Key: "fw", Proxmox: &providerconfig.ProxmoxSite{
		Endpoint: "https://" + srv.Addr, Token: sim.TokenID + "=" + sim.Secret, CABundle: srv.CACertPEM, RequestTimeout: 30 * time.Second}}
	c, err := proxmox.NewRegistry(proxmox.Options{ViewTTL: time.Hour}).Client(site)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	view, err := c.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var vms []*v1alpha1.VirtualMachine
	for id := 1000; len(vms) < n && id < 1000+4*n; id++ {
		g, ok := view.Guest(id)
		if !ok || g.Type != "qemu" {
			continue
		}
		vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: g.Name, Namespace: "fw", UID: types.UID(fmt.Sprintf("uid-%d", id)), Generation: 1}}
		vm.Spec.ForProvider = v1alpha1.VirtualMachineParameters{Node: g.Node, PowerState: v1alpha1.PowerStateStopped,
			Firewall: &v1alpha1.VirtualMachineFirewall{SecurityGroups: []string{"web"}}}
		meta.SetExternalName(vm, strconv.Itoa(id))
		vms = append(vms, vm)
	}
	if len(vms) != n {
		t.Fatalf("seeded %d VMs, want %d", len(vms), n)
	}
	poll := func() (requests uint64, upToDate int) {
		before := c.Requests()
		c.InvalidateView()
		for _, vm := range vms {
			o, err := (&external{c: c}).Observe(ctx, vm)
			if err != nil || !o.ResourceExists {
				t.Fatalf("Observe %s: exists=%v err=%v", vm.GetName(), o.ResourceExists, err)
			}
			if o.ResourceUpToDate {
				upToDate++
			}
		}
		return c.Requests() - before, upToDate
	}
	if r, ok := poll(); r != 1+3*n || ok != 0 {
		t.Errorf("first poll: %d requests (want a view, then config, firewall options and rules per VM: %d), %d up to date (want 0: no VM links web yet)", r, 1+3*n, ok)
	}
	if r, _ := poll(); r != 1 {
		t.Errorf("steady-state poll of %d VMs: %d requests, want 1 (the cluster view)", n, r)
	}
	vms[0].SetGeneration(2)
	if r, _ := poll(); r != 1+3 {
		t.Errorf("poll after one spec change: %d requests, want 4 (view, config, firewall options, rules)", r)
	}
}
