package pvesim

import (
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

func TestControlCallsAndAgentDelay(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 2, AgentStartDelay: time.Hour})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve1")
	vm, _ := node.VirtualMachine(cx, 1000)
	waitOK(t, must(t)(vm.Start(cx)))
	if _, err := vm.AgentGetNetworkIFaces(cx); err == nil || err.Error() != "500 QEMU guest agent is not running" {
		t.Fatalf("agent right after start: %v", err)
	}
	if err := srv.SetLock(1000, "backup"); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.Config(cx, proxmox.VirtualMachineOption{Name: "cores", Value: 3}); err == nil ||
		err.Error() != "500 VM 1000 is locked (backup)" {
		t.Fatalf("config while locked: %v", err)
	}
	_ = srv.SetLock(1000, "")
	// HA moves the guest: the old node no longer has it, the new one does.
	if err := srv.MoveGuest(1000, "pve3"); err != nil {
		t.Fatal(err)
	}
	if _, err := node.VirtualMachine(cx, 1000); err == nil || !strings.Contains(err.Error(), "nodes/pve1/qemu-server/1000.conf") {
		t.Fatalf("old node: %v", err)
	}
	var res []map[string]any
	if err := c.Get(cx, "/cluster/resources?type=vm", &res); err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r["vmid"] == float64(1000) && r["node"] != "pve3" {
			t.Errorf("resources still place 1000 on %v", r["node"])
		}
	}
	// An out-of-band edit changes the digest.
	before, _ := srv.Guest(1000)
	var cfg map[string]any
	_ = c.Get(cx, "/nodes/pve3/qemu/1000/config", &cfg)
	if err := srv.SetConfig(1000, map[string]string{"description": "edited by hand"}); err != nil {
		t.Fatal(err)
	}
	var cfg2 map[string]any
	_ = c.Get(cx, "/nodes/pve3/qemu/1000/config", &cfg2)
	if cfg["digest"] == cfg2["digest"] || before.Config["description"] != "" {
		t.Errorf("digest did not change: %v", cfg2["digest"])
	}
	if ids := srv.GuestIDs(); len(ids) != 3 {
		t.Errorf("guest ids %v", ids)
	}
}
