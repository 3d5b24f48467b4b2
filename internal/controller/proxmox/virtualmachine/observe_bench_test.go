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
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// BenchmarkObservePoll measures one poll of N VMs (every VM observed once)
// against the PVE simulator over HTTPS, side by side:
//   - shared: this provider's Observe (one shared cluster view per poll,
//     configs re-read only when the view shows a change);
//   - naive: what a per-resource poller does (GET status/current and GET
//     config for every VM on every poll).
//
// It reports API requests per poll and the time of one poll.
func BenchmarkObservePoll(b *testing.B) {
	b.ReportAllocs()
	for _, n := range []int{100, 1000} {
		srv, site := benchSim(b, n)
		vms := seededVMs(b, srv, site, n)

		b.Run(fmt.Sprintf("shared/vms=%d", n), func(b *testing.B) {
			c := mustClient(b, site)
			e := guest.NewExternal[*v1alpha1.VirtualMachine](c, nil, kind{}, nil)
			ctx := context.Background()
			observeAll(ctx, b, e, vms) // first poll reads every config once
			before := c.Requests()
			b.ResetTimer()
			for range b.N {
				c.InvalidateView() // a new poll interval: the view is refreshed once
				observeAll(ctx, b, e, vms)
			}
			b.StopTimer()
			b.ReportMetric(float64(c.Requests()-before)/float64(b.N), "requests/poll")
		})
		b.Run(fmt.Sprintf("naive/vms=%d", n), func(b *testing.B) {
			c := mustClient(b, site)
			ctx := context.Background()
			before := c.Requests()
			b.ResetTimer()
			for range b.N {
				for _, vm := range vms {
					path := proxmox.GuestPath(vm.Status.AtProvider.Node, "qemu", int(vm.Status.AtProvider.VMID))
					var st, cfg map[string]any
					if err := c.Get(ctx, path+"/status/current", &st); err != nil {
						b.Fatal(err)
					}
					if err := c.Get(ctx, path+"/config", &cfg); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(c.Requests()-before)/float64(b.N), "requests/poll")
		})
		_ = srv.Close()
	}
}

func observeAll(ctx context.Context, b *testing.B, e *guest.External[*v1alpha1.VirtualMachine], vms []*v1alpha1.VirtualMachine) {
	for _, vm := range vms {
		o, err := e.Observe(ctx, vm)
		if err != nil || !o.ResourceExists {
			b.Fatalf("Observe %s: exists=%v err=%v", vm.GetName(), o.ResourceExists, err)
		}
	}
}

func benchSim(b *testing.B, guests int) (*pvesim.Server, *providerconfig.Site) {
	b.Helper()
	sim, err := pvesim.New(pvesim.Options{SeedGuests: guests * 5 / 4, CADir: b.TempDir()}) // 4 of 5 seeded guests are VMs
	if err != nil {
		b.Fatal(err)
	}
	srv, err := sim.Start()
	if err != nil {
		b.Fatal(err)
	}
	site := &providerconfig.Site{Ref: "bench", Proxmox: &providerconfig.ProxmoxSite{
		Endpoint: "https://" + srv.Addr, Token: sim.TokenID + "=" + sim.Secret, CABundle: srv.CACertPEM, RequestTimeout: 30 * time.Second}}
	site.Key = fmt.Sprintf("bench-%d", guests)
	return srv, site
}

func mustClient(b *testing.B, site *providerconfig.Site) *proxmox.Client {
	// A registry per run, so each side starts with empty caches and counters.
	c, err := proxmox.NewRegistry(proxmox.Options{ViewTTL: time.Hour}).Client(site)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// seededVMs builds one imported (observe-only) VirtualMachine per seeded VM.
func seededVMs(b *testing.B, srv *pvesim.Server, site *providerconfig.Site, n int) []*v1alpha1.VirtualMachine {
	c := mustClient(b, site)
	view, err := c.View(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var vms []*v1alpha1.VirtualMachine
	for id := 1000; len(vms) < n && id < 1000+2*n; id++ {
		g, ok := view.Guest(id)
		if !ok || g.Type != "qemu" {
			continue
		}
		vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Name: g.Name, Namespace: "bench", UID: types.UID(fmt.Sprintf("uid-%d", id)), Generation: 1}}
		vm.Spec.ForProvider = v1alpha1.VirtualMachineParameters{Node: g.Node, PowerState: v1alpha1.PowerStateStopped}
		meta.SetExternalName(vm, strconv.Itoa(id))
		vm.Status.AtProvider.Node, vm.Status.AtProvider.VMID = g.Node, int64(id)
		vms = append(vms, vm)
	}
	if len(vms) != n {
		b.Fatalf("seeded %d VMs, want %d", len(vms), n)
	}
	_ = srv
	return vms
}
