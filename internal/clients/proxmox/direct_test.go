package proxmox

import (
	"context"
	"testing"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim/pvesimtest"
)

// With the shared view off (--shared-cluster-view=false) a guest seen once
// is polled through its own status/current and config, never the cluster
// view; with it on, every poll is served by one GET /cluster/resources and
// the memoised config. Each side must show in what the simulator is asked,
// so the scale benchmark's comparison cannot silently measure one mode twice.
func TestPerGuestObservation(t *testing.T) {
	const polls = 3
	for _, perGuest := range []bool{false, true} {
		srv := pvesimtest.Start(t, pvesim.Options{TaskDuration: 20 * time.Millisecond, SeedGuests: 4})
		c, err := newClient("test", pvesimtest.Site(srv, "test", 2*time.Second).Proxmox,
			Options{ViewTTL: time.Minute, DriftInterval: time.Minute, PerGuest: perGuest})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ids := srv.GuestIDs()
		for range polls {
			for _, id := range ids {
				g, ok, err := c.Guest(ctx, id)
				if err != nil || !ok || int(g.VMID) != id || g.Node == "" || g.Name == "" && g.Type == "qemu" {
					t.Fatalf("perGuest=%v: Guest(%d) = %+v, %v, %v", perGuest, id, g, ok, err)
				}
				if _, _, _, err := c.GuestConfig(ctx, g, 1); err != nil {
					t.Fatalf("perGuest=%v: GuestConfig(%d): %v", perGuest, id, err)
				}
			}
		}
		n := srv.RequestCounts()
		views := n["GET /cluster/resources"]
		status := n["GET /nodes/{node}/qemu/{vmid}/status/current"] + n["GET /nodes/{node}/lxc/{vmid}/status/current"]
		configs := n["GET /nodes/{node}/qemu/{vmid}/config"] + n["GET /nodes/{node}/lxc/{vmid}/config"]
		g := float64(len(ids))
		want := [3]float64{1, 0, g} // one view, configs memoised after the first read
		if perGuest {
			// The first guest's first read fetches the view, which shows where
			// every guest lives; every later read is the guest's own.
			want = [3]float64{1, g*polls - 1, g * polls}
		}
		if got := [3]float64{views, status, configs}; got != want {
			t.Errorf("perGuest=%v: %v guests × %d polls: cluster/resources, status/current, config requests = %v, want %v",
				perGuest, g, polls, got, want)
		}
	}
}
