package crashloop

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	goproxmox "github.com/luthermonson/go-proxmox"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// TestChecksSeeDuplicatesAndLeaks shows that the crash loop's checks fail
// when the simulator holds what they look for: two guests of one resource,
// and a volume no guest references.
func TestChecksSeeDuplicatesAndLeaks(t *testing.T) {
	ctx := context.Background()
	sim, err := pvesim.New(pvesim.Options{CADir: t.TempDir(), TaskDuration: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	pve := goproxmox.NewClient(srv.URL, goproxmox.WithHTTPClient(srv.HTTPClient()), goproxmox.WithAPIToken(sim.TokenID, sim.Secret))
	nodes := sim.Options().Nodes

	// Two clones named after one resource, neither tagged yet: both its own.
	for _, id := range []int{200, 201} {
		var upid string
		if err := pve.Post(ctx, "/nodes/pve1/qemu/9000/clone", map[string]any{"newid": id, "name": "crash-00", "full": true}, &upid); err != nil {
			t.Fatal(err)
		}
	}
	sim.Wait()
	r := res{name: "crash-00", tag: "mc-0123456789abcdef"}
	if got := takeSnapshot(srv).owned(r); !slices.Equal(got, []int{200, 201}) {
		t.Errorf("owned = %v, want [200 201]", got)
	}
	// Another resource's tag makes 201 not ours; our tag keeps 200 ours.
	if err := sim.SetConfig(201, map[string]string{"tags": "mc-fedcba9876543210"}); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetConfig(200, map[string]string{"tags": "crash;" + r.tag, "name": "renamed"}); err != nil {
		t.Fatal(err)
	}
	if got := takeSnapshot(srv).owned(r); !slices.Equal(got, []int{200}) {
		t.Errorf("owned = %v, want [200]", got)
	}

	st, err := storages(ctx, pve, nodes)
	if err != nil {
		t.Fatal(err)
	}
	if leaks := st.leaks(takeSnapshot(srv)); len(leaks) != 0 {
		t.Errorf("leaks = %v with every volume attached", leaks)
	}
	if got := st.volumesOf(pvesim.DefaultTemplateID); len(got) != 2 {
		t.Errorf("template volumes = %v, want its base disk and cloud-init drive", got)
	}
	// Detach 201's system disk behind PVE's back: its volume is left over.
	disk, _, _ := strings.Cut(takeSnapshot(srv).guests[201].Config["scsi0"], ",")
	if err := sim.SetConfig(201, map[string]string{"scsi0": ""}); err != nil {
		t.Fatal(err)
	}
	leaks := st.leaks(takeSnapshot(srv))
	if len(leaks) != 1 || !strings.HasPrefix(leaks[0], disk+" ") {
		t.Errorf("leaks = %v, want only %s", leaks, disk)
	}
}
