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

func TestHAMigrateWithAffinity(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 4})
	c := pveClient(t, srv)
	cx := ctx(t)
	cl, _ := c.Cluster(cx)
	for _, sid := range []string{"vm:1000", "vm:1001", "vm:1002"} {
		if err := cl.NewHAResource(cx, &proxmox.HAResourceCreateOption{SID: sid}); err != nil {
			t.Fatal(err)
		}
	}
	// 1000 and 1001 stay together; 1002 must not share a node with 1000.
	if err := cl.NewHARule(cx, &proxmox.HARuleCreateOption{Rule: "pair", Type: "resource-affinity", Resources: "vm:1000,vm:1001", Affinity: "positive"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.NewHARule(cx, &proxmox.HARuleCreateOption{Rule: "apart", Type: "resource-affinity", Resources: "vm:1000,vm:1002", Affinity: "negative"}); err != nil {
		t.Fatal(err)
	}
	// vm:1002 lives on pve3 (seeded round-robin), so moving 1000 there is blocked.
	var res map[string]any
	if err := c.Post(cx, "/cluster/ha/resources/vm:1000/migrate", map[string]string{"node": "pve3"}, &res); err != nil {
		t.Fatal(err)
	}
	if b, ok := res["blocking-resources"].([]any); !ok || len(b) != 1 || b[0].(map[string]any)["sid"] != "vm:1002" {
		t.Fatalf("blocking: %v", res)
	}
	if err := c.Post(cx, "/cluster/ha/resources/vm:1000/migrate", map[string]string{"node": "pve2"}, &res); err != nil {
		t.Fatal(err)
	}
	if cm, _ := res["comigrated-resources"].([]any); len(cm) != 1 || cm[0] != "vm:1001" || res["requested-node"] != "pve2" {
		t.Fatalf("comigrated: %v", res)
	}
	srv.Wait()
	for _, id := range []int{1000, 1001} {
		if g, _ := srv.Guest(id); g.Node != "pve2" {
			t.Errorf("guest %d on %s after migrate", id, g.Node)
		}
	}
	if err := cl.HAResourceRelocate(cx, "vm:1003", "pve1"); err == nil || err.Error() != "500 resource 'vm:1003' is not HA managed" {
		t.Errorf("relocate unmanaged: %v", err)
	}
	if err := cl.HAResourceRelocate(cx, "vm:1001", "pve1"); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	if g, _ := srv.Guest(1000); g.Node != "pve1" {
		t.Errorf("relocate did not take the positive-affinity partner along: %s", g.Node)
	}
	counts := srv.RequestCounts()
	if counts["POST /cluster/ha/resources/{sid}/migrate"] != 2 || counts["POST /cluster/ha/resources/{sid}/relocate"] != 2 {
		t.Errorf("request counts %v", counts)
	}
}

func TestAgentOSInfoAndPing(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 1})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve1")
	vm, _ := node.VirtualMachine(cx, 1000)
	if _, err := vm.AgentOsInfo(cx); err == nil || err.Error() != "500 VM 1000 is not running" {
		t.Fatalf("osinfo stopped: %v", err)
	}
	waitOK(t, must(t)(vm.Start(cx)))
	if err := vm.WaitForAgent(cx, 5); err != nil {
		t.Fatal(err)
	}
	info, err := vm.AgentOsInfo(cx)
	if err != nil || info.ID != "debian" {
		t.Fatalf("osinfo %+v %v", info, err)
	}
	if err := vm.AgentPing(cx); err != nil {
		t.Fatal(err)
	}
}

func TestOfflineNode(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 3})
	c := pveClient(t, srv)
	cx := ctx(t)
	if err := srv.SetNodeOnline("pve2", false); err != nil {
		t.Fatal(err)
	}
	res := raw(t, srv, "GET", "/nodes/pve2/qemu/1001/status/current", "", "", "token")
	if res.Status != "595 No route to host" || len(res.Body) != 0 {
		t.Fatalf("offline node: %s %q", res.Status, res.Body)
	}
	nodes, _ := c.Nodes(cx)
	for _, n := range nodes {
		if want := map[bool]string{true: "offline", false: "online"}[n.Node == "pve2"]; n.Status != want {
			t.Errorf("node %s status %s", n.Node, n.Status)
		}
	}
	var vms []map[string]any
	if err := c.Get(cx, "/cluster/resources?type=vm", &vms); err != nil {
		t.Fatal(err)
	}
	for _, v := range vms {
		if v["node"] == "pve2" {
			// extract_vm_stats without the node's statistics; tags from the
			// cluster-wide config (pve-manager PVE/API2/Cluster.pm).
			if v["status"] != "unknown" {
				t.Errorf("guest on offline node: %v", v)
			}
			lacksKeys(t, "guest on offline node", v, "name", "uptime", "maxmem", "maxcpu", "maxdisk", "template", "mem", "cpu")
			hasKeys(t, "guest on offline node", v, "id", "vmid", "type", "tags")
		}
	}
	_ = srv.SetNodeOnline("pve2", true)
	if res := raw(t, srv, "GET", "/nodes/pve2/qemu/1001/status/current", "", "", "token"); res.Code != 200 {
		t.Fatalf("back online: %s", res.Status)
	}
}
