package pvesim

import (
	"fmt"
	"strconv"
	"strings"
)

// lxcDefaults checks the ostemplate and fills the options pct create
// derives from it (ostype, arch, hostname, rootfs on the chosen storage).
func (s *Simulator) lxcDefaults(r *request, g *guest) error {
	tmpl := r.str("ostemplate")
	sid, rest, ok := cutVolID(tmpl)
	if !ok {
		return fail("unable to parse volume ID '%s'", tmpl)
	}
	if s.st.Storages[sid] == nil {
		// check_volume_access -> parse_volname -> storage_config (pve-storage Storage.pm)
		return fail("storage '%s' does not exist", sid)
	}
	if s.st.volume(g.Node, tmpl) == nil || !strings.HasPrefix(rest, "vztmpl/") {
		return fail("volume '%s' does not exist", tmpl)
	}
	if _, ok := g.Conf["rootfs"]; !ok {
		storageID := r.str("storage")
		if storageID == "" {
			storageID = "local"
		}
		g.Conf["rootfs"] = storageID + ":4"
	}
	if g.Conf["hostname"] == "" {
		g.Conf["hostname"] = fmt.Sprintf("CT%d", g.VMID)
	}
	if g.Conf["arch"] == "" {
		g.Conf["arch"] = "amd64"
	}
	if g.Conf["ostype"] == "" {
		g.Conf["ostype"] = ostypeOf(strings.TrimPrefix(rest, "vztmpl/"))
	}
	if g.Conf["memory"] == "" {
		g.Conf["memory"] = "512"
	}
	if g.Conf["swap"] == "" {
		g.Conf["swap"] = "512"
	}
	return nil
}

// ostypeOf reads the distribution from a template file name like pct does.
func ostypeOf(file string) string {
	for _, os := range []string{"debian", "ubuntu", "alpine", "centos", "fedora", "opensuse", "archlinux", "gentoo", "devuan", "nixos"} {
		if strings.HasPrefix(file, os) {
			return os
		}
	}
	if strings.HasPrefix(file, "rockylinux") || strings.HasPrefix(file, "almalinux") {
		return "centos"
	}
	if strings.HasPrefix(file, "turnkey") {
		return "debian"
	}
	return "unmanaged"
}

// lxcInterfaces is the container's interface list in PVE 9's shape
// (pve-container src/PVE/API2/LXC.pm "ip", PVE::LXC::get_interfaces in
// src/PVE/LXC.pm from `ip --json a` in the container's namespace):
// name, hardware-address and ip-addresses (ip-address, ip-address-type,
// prefix), plus the legacy hwaddr/inet/inet6 keys (the last address of each
// family). A stopped container has no pid, so the answer is null. Addresses
// are derived from the vmid so tests can predict them.
func lxcInterfaces(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, err := s.guestArg(r, kindLXC)
	if err != nil {
		return nil, err
	}
	if !g.Running {
		return nil, nil
	}
	iface := func(name, mac string, addrs ...string) map[string]any {
		obj := map[string]any{"name": name, "hardware-address": mac, "hwaddr": mac}
		list := []map[string]any{}
		for _, a := range addrs {
			ip, prefix, _ := strings.Cut(a, "/")
			fam := "inet"
			if strings.Contains(ip, ":") {
				fam = "inet6"
			}
			n, _ := strconv.Atoi(prefix)
			obj[fam] = a
			list = append(list, map[string]any{"ip-address-type": fam, "ip-address": ip, "prefix": n})
		}
		obj["ip-addresses"] = list
		return obj
	}
	out := []map[string]any{iface("lo", "00:00:00:00:00:00", "127.0.0.1/8", "::1/128")}
	for i := 0; i < 32; i++ {
		v, ok := g.Conf[fmt.Sprintf("net%d", i)]
		if !ok {
			continue
		}
		name := propGet(v, "name", "")
		if name == "" {
			name = fmt.Sprintf("eth%d", i)
		}
		mac := strings.ToLower(propGet(v, "hwaddr", ""))
		var addrs []string
		switch ip := propGet(v, "ip", ""); ip {
		case "", "manual":
		case "dhcp":
			addrs = append(addrs, guestIPv4(g.VMID, i)+"/16")
		default:
			addrs = append(addrs, ip)
		}
		switch ip6 := propGet(v, "ip6", ""); ip6 {
		case "", "manual":
		case "dhcp", "auto":
			addrs = append(addrs, guestIPv6(g.VMID, i)+"/64")
		default:
			addrs = append(addrs, ip6)
		}
		addrs = append(addrs, linkLocal(mac)+"/64")
		out = append(out, iface(name, mac, addrs...))
	}
	return out, nil
}

// linkLocal is the EUI-64 fe80:: address the kernel gives an interface.
func linkLocal(mac string) string {
	var b [6]int
	if n, _ := fmt.Sscanf(mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]); n != 6 {
		return "fe80::1"
	}
	return fmt.Sprintf("fe80::%x:%x:%x:%x", (b[0]^2)<<8|b[1], b[2]<<8|0xff, 0xfe<<8|b[3], b[4]<<8|b[5])
}

// guestIPv4 is the simulated DHCP lease of a guest's interface: 10.x.y.z
// derived from the vmid.
func guestIPv4(vmid, slot int) string {
	return fmt.Sprintf("10.%d.%d.%d", 10+slot, (vmid/250)%250, vmid%250+2)
}

func guestIPv6(vmid, slot int) string {
	return fmt.Sprintf("fd00:%x::%x", 10+slot, vmid)
}
