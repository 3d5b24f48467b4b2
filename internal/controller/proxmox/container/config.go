package container

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
)

// desired is what the spec asks of a container's config, as normalised
// key/value pairs, and the root volume's size.
type desired struct {
	config      map[string]string
	rootSizeGiB int64
}

// wantConfig maps the spec onto the LXC config keys that can change after
// creation. Keys not named are left alone (set by PVE or by hand).
func wantConfig(p v1alpha1.ContainerParameters, hostname, ownerTag string) desired {
	swap := int64(512)
	if p.SwapMiB != nil {
		swap = *p.SwapMiB
	}
	c := map[string]string{
		"hostname": hostname,
		"cores":    strconv.FormatInt(guest.OrDefault(p.Cores, 1), 10),
		"memory":   strconv.FormatInt(guest.OrDefault(p.MemoryMiB, 512), 10),
		"swap":     strconv.FormatInt(swap, 10),
		"tags":     proxmox.JoinTags(append(append([]string{}, p.Tags...), ownerTag)),
	}
	if p.OnBoot != nil {
		c["onboot"] = proxmox.Bool(*p.OnBoot)
	}
	for i, n := range p.Networks {
		c[fmt.Sprintf("net%d", i)] = netString(n)
	}
	return desired{config: c, rootSizeGiB: p.RootFS.SizeGiB}
}

// diff returns the config keys to set and the size the root volume must
// grow to (0 when it need not). Values are compared normalised: PVE adds a
// MAC and type=veth to interfaces and reorders tags, none of which is drift.
func diff(d desired, cfg map[string]any) (map[string]any, int64) {
	set := map[string]any{}
	for k, want := range d.config {
		if got, ok := cfg[k]; ok && equalValue(k, want, proxmox.String(got)) {
			continue
		}
		set[k] = want
	}
	var grow int64
	if size, ok := proxmox.DiskSizeGiB(proxmox.String(cfg["rootfs"])); ok && size < d.rootSizeGiB {
		grow = d.rootSizeGiB
	}
	return set, grow
}

func equalValue(key, want, got string) bool {
	switch {
	case key == "tags":
		return proxmox.JoinTags(proxmox.SplitTags(got)) == want
	case key == "onboot":
		return proxmox.Flag(got) == want
	case strings.HasPrefix(key, "net"):
		return normNet(got) == normNet(want)
	}
	return got == want
}

// netString writes an interface the way the API takes it; PVE adds the
// MAC address and type=veth.
func netString(n v1alpha1.ContainerNetwork) string {
	bridge := n.Bridge
	if bridge == "" {
		bridge = "vmbr0"
	}
	return proxmox.Props{{Key: "name", Value: n.Name}, {Key: "bridge", Value: bridge}}.
		With("ip", n.IP).With("gw", n.Gateway).WithFlag("firewall", n.Firewall).WithInt("tag", n.VLAN).String()
}

// normNet reduces an interface to the settings the spec manages: name,
// bridge, ip, gw, firewall (0 when absent) and VLAN tag.
func normNet(s string) string {
	kv := map[string]string{"firewall": "0"}
	for _, part := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "name", "bridge", "ip", "gw", "tag":
			kv[k] = v
		case "firewall":
			kv[k] = proxmox.Flag(v)
		}
	}
	return strings.Join([]string{kv["name"], kv["bridge"], kv["ip"], kv["gw"], kv["firewall"], kv["tag"]}, "|")
}
