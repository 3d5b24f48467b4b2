package pvesim

import (
	"strings"
	"testing"
)

// TestClusterResourcesLikeClusterPm follows resources in pve-manager
// PVE/API2/Cluster.pm: pools first with the totals of their running guests,
// guests by vmid sorted as strings with extract_vm_stats' fields (memhost
// from PVE 9's RRD) plus tags/lock/pool and the HA manager's state, nodes
// with live figures (extract_node_stats), storages per storage then node,
// and without a type filter the "localnetwork" zone per node as PVE 9.1's
// network entries.
func TestClusterResourcesLikeClusterPm(t *testing.T) {
	s := newSimT(t)
	cx := ctx(t)
	for _, id := range []int{100, 1000, 101} {
		if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": id, "cores": 2, "memory": 1024, "start": 1}); st != "OK" {
			t.Fatal(st)
		}
	}
	if err := s.c.Post(cx, "/pools", map[string]any{"poolid": "p"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Put(cx, "/pools", map[string]any{"poolid": "p", "vms": "100,1000"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Post(cx, "/cluster/ha/resources", map[string]any{"sid": "vm:101", "state": "stopped"}, nil); err != nil {
		t.Fatal(err)
	}
	var all []map[string]any
	if err := s.c.Get(cx, "/cluster/resources", &all); err != nil {
		t.Fatal(err)
	}
	var order []string
	byID := map[string]map[string]any{}
	for _, e := range all {
		id := e["id"].(string)
		byID[id] = e
		typ := e["type"].(string)
		if len(order) == 0 || order[len(order)-1] != typ {
			order = append(order, typ)
		}
	}
	if strings.Join(order, ",") != "pool,qemu,node,storage,network" {
		t.Errorf("section order %v", order)
	}
	var vms []string
	for _, e := range all {
		if e["type"] == "qemu" {
			vms = append(vms, e["id"].(string))
		}
	}
	if strings.Join(vms, ",") != "qemu/100,qemu/1000,qemu/101,qemu/9000" {
		t.Errorf("guests not in Perl's string order: %v", vms)
	}
	p := byID["/pool/p"]
	if p["maxmem"] != float64(2*1024*mib) || p["maxcpu"] != float64(4) || p["mem"] == nil || p["uptime"] == nil || p["cpu"] == nil {
		t.Errorf("pool totals: %v", p)
	}
	vm := byID["qemu/101"]
	hasKeys(t, "guest entry", vm, "memhost", "template", "hastate")
	if vm["hastate"] != "request_stop" {
		t.Errorf("hastate is the manager's state: %v", vm["hastate"])
	}
	node := byID["node/pve2"]
	hasKeys(t, "node entry", node, "uptime", "cpu", "mem", "disk", "maxcpu", "maxmem", "maxdisk", "level", "cgroup-mode")
	if node["hastate"] != "online" {
		t.Errorf("node hastate with HA in use: %v", node["hastate"])
	}
	net := byID["network/pve3/zone/localnetwork"]
	if net["network-type"] != "zone" || net["network"] != "localnetwork" || net["node"] != "pve3" || net["status"] != "ok" {
		t.Errorf("network entry: %v", net)
	}
	var storages []string
	for _, e := range all {
		if e["type"] == "storage" {
			storages = append(storages, e["id"].(string))
		}
	}
	if len(storages) < 6 || storages[0] != "storage/pve1/ceph-rbd" || storages[1] != "storage/pve2/ceph-rbd" {
		t.Errorf("storages not per storage then node: %v", storages)
	}
	var vmOnly []map[string]any
	if err := s.c.Get(cx, "/cluster/resources?type=vm", &vmOnly); err != nil {
		t.Fatal(err)
	}
	for _, e := range vmOnly {
		if e["type"] != "qemu" && e["type"] != "lxc" {
			t.Errorf("type=vm lists %v", e["id"])
		}
	}
	s.srv.SetNodeOnline("pve2", false)
	var nodes []map[string]any
	if err := s.c.Get(cx, "/cluster/resources?type=node", &nodes); err != nil {
		t.Fatal(err)
	}
	for _, e := range nodes {
		if e["node"] == "pve2" {
			lacksKeys(t, "offline node", e, "uptime", "cpu", "mem", "disk")
			hasKeys(t, "offline node", e, "maxcpu", "maxmem", "maxdisk")
		}
	}
}
