package pvesim

import (
	"strings"
	"testing"
)

// TestLXCInterfacesPVE9Shape follows the "ip" method of pve-container
// src/PVE/API2/LXC.pm and PVE::LXC::get_interfaces (src/PVE/LXC.pm): each
// interface has name, hardware-address and ip-addresses entries with
// ip-address, ip-address-type and prefix, besides the legacy hwaddr and
// inet/inet6 keys; a stopped container (no pid) answers null.
func TestLXCInterfacesPVE9Shape(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/lxc", map[string]any{"vmid": 530, "ostemplate": "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst",
		"rootfs": "ceph-rbd:2", "net0": "name=eth0,bridge=vmbr0,ip=192.0.2.10/24,ip6=auto", "start": 1}); st != "OK" {
		t.Fatal(st)
	}
	var ifaces []map[string]any
	if err := s.c.Get(ctx(t), "/nodes/pve1/lxc/530/interfaces", &ifaces); err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 2 || ifaces[0]["name"] != "lo" || ifaces[1]["name"] != "eth0" {
		t.Fatalf("interfaces: %v", ifaces)
	}
	eth := ifaces[1]
	mac, _ := eth["hardware-address"].(string)
	if mac == "" || mac != strings.ToLower(mac) || eth["hwaddr"] != mac {
		t.Errorf("hardware-address %v hwaddr %v", eth["hardware-address"], eth["hwaddr"])
	}
	addrs, _ := eth["ip-addresses"].([]any)
	if len(addrs) != 3 {
		t.Fatalf("ip-addresses: %v", addrs)
	}
	v4 := addrs[0].(map[string]any)
	if v4["ip-address"] != "192.0.2.10" || v4["ip-address-type"] != "inet" || v4["prefix"] != float64(24) {
		t.Errorf("static IPv4 entry: %v", v4)
	}
	for _, a := range addrs[1:] {
		if a.(map[string]any)["ip-address-type"] != "inet6" {
			t.Errorf("IPv6 entry: %v", a)
		}
	}
	if eth["inet"] != "192.0.2.10/24" || !strings.HasPrefix(eth["inet6"].(string), "fe80::") {
		t.Errorf("legacy inet %v inet6 %v (the last address of each family)", eth["inet"], eth["inet6"])
	}
	if st := s.post("/nodes/pve1/lxc/530/status/stop", nil); st != "OK" {
		t.Fatal(st)
	}
	r := raw(t, s.srv, "GET", "/nodes/pve1/lxc/530/interfaces", "", "", "token")
	if r.Code != 200 || strings.TrimSpace(string(r.Body)) != `{"data":null}` {
		t.Errorf("stopped container: %d %s", r.Code, r.Body)
	}
}

// TestLXCCPUsFromCoresOrCPULimit: PVE::LXC::vmstatus (pve-container
// src/PVE/LXC.pm) reports cpus as cores, else cpulimit, else the host's CPUs.
func TestLXCCPUsFromCoresOrCPULimit(t *testing.T) {
	s := newSimT(t)
	for _, tc := range []struct {
		vmid  int
		extra map[string]any
		want  float64
	}{{580, map[string]any{"cores": 2, "cpulimit": 1}, 2}, {581, map[string]any{"cpulimit": 1.5}, 1.5}, {582, nil, nodeCPUs}} {
		body := map[string]any{"vmid": tc.vmid, "ostemplate": "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst", "rootfs": "ceph-rbd:1"}
		for k, v := range tc.extra {
			body[k] = v
		}
		if st := s.post("/nodes/pve1/lxc", body); st != "OK" {
			t.Fatal(st)
		}
		if e := s.listEntry("/nodes/pve1/lxc", tc.vmid); e["cpus"] != tc.want {
			t.Errorf("CT %d cpus %v, want %v", tc.vmid, e["cpus"], tc.want)
		}
	}
}
