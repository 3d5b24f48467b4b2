package pvesim

import (
	"fmt"
	"strings"
)

// lxcDefaults checks the ostemplate and fills the options pct create
// derives from it (ostype, arch, hostname, rootfs on the chosen storage).
func (s *Simulator) lxcDefaults(r *request, g *guest) error {
	tmpl := r.str("ostemplate")
	sid, rest, ok := cutVolID(tmpl)
	if !ok || s.st.Storages[sid] == nil {
		return fail("unable to parse volume ID '%s'", tmpl)
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

// lxcInterfaces lists a running container's interfaces with addresses; the
// addresses are derived from the vmid so tests can predict them.
func lxcInterfaces(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, err := s.guestArg(r, kindLXC)
	if err != nil {
		return nil, err
	}
	if !g.Running {
		return nil, fail("CT %d not running", g.VMID)
	}
	out := []map[string]any{{"name": "lo", "hwaddr": "00:00:00:00:00:00", "inet": "127.0.0.1/8", "inet6": "::1/128"}}
	for i := 0; i < 32; i++ {
		v, ok := g.Conf[fmt.Sprintf("net%d", i)]
		if !ok {
			continue
		}
		name := propGet(v, "name", "")
		if name == "" {
			name = fmt.Sprintf("eth%d", i)
		}
		inet := propGet(v, "ip", "")
		if inet == "" || inet == "dhcp" || inet == "manual" {
			inet = guestIPv4(g.VMID, i) + "/16"
		}
		out = append(out, map[string]any{"name": name, "hwaddr": strings.ToLower(propGet(v, "hwaddr", "")),
			"inet": inet, "inet6": guestIPv6(g.VMID, i) + "/64"})
	}
	return out, nil
}

// guestIPv4 is the simulated DHCP lease of a guest's interface: 10.x.y.z
// derived from the vmid.
func guestIPv4(vmid, slot int) string {
	return fmt.Sprintf("10.%d.%d.%d", 10+slot, (vmid/250)%250, vmid%250+2)
}

func guestIPv6(vmid, slot int) string {
	return fmt.Sprintf("fd00:%x::%x", 10+slot, vmid)
}
