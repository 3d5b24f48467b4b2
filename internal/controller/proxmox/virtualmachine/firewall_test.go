package virtualmachine

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim/pvesimtest"
)

// TestFirewallReadWithConfigOnly checks the request budget of VMs with a
// managed firewall against the simulator: the firewall is read with the
// config, so a steady-state poll costs one cluster view whatever the number
// of VMs, and a spec change re-reads that VM's config and firewall only.
func TestFirewallReadWithConfigOnly(t *testing.T) {
	const n = 20
	srv := pvesimtest.Start(t, pvesim.Options{SeedGuests: n * 2})
	site := pvesimtest.Site(srv, "fw", 30*time.Second)
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
			Firewall: &v1alpha1.GuestFirewall{SecurityGroups: []string{"web"}}}
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
			o, err := guest.NewExternal[*v1alpha1.VirtualMachine](c, nil, kind{}, nil).Observe(ctx, vm)
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
