package virtualmachine

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
)

// desired is what the spec asks of a VM's Proxmox config, as normalised
// key/value pairs, plus disks to create or grow.
type desired struct {
	config map[string]string
	disks  []v1alpha1.Disk
	// known are the volumes last seen in disk slots (status.atProvider.disks).
	known map[string]string
}

// wantConfig maps the spec onto Proxmox config keys. Only keys present are
// managed; anything else in the config (from the template, set by hand) is left alone.
func wantConfig(p v1alpha1.VirtualMachineParameters, name, ownerTag string) desired {
	c := map[string]string{
		"name":    name,
		"cores":   strconv.FormatInt(guest.OrDefault(p.Cores, 1), 10),
		"sockets": strconv.FormatInt(guest.OrDefault(p.Sockets, 1), 10),
		"memory":  strconv.FormatInt(guest.OrDefault(p.MemoryMiB, 1024), 10),
		"tags":    proxmox.JoinTags(append(append([]string{}, p.Tags...), ownerTag)),
	}
	if p.Description != nil {
		c["description"] = *p.Description
	}
	if p.OnBoot != nil {
		c["onboot"] = proxmox.Bool(*p.OnBoot)
	}
	if p.Agent != nil {
		c["agent"] = proxmox.Bool(*p.Agent)
	}
	for i, n := range p.Networks {
		c[fmt.Sprintf("net%d", i)] = netString(n)
	}
	if ci := p.CloudInit; ci != nil {
		if ci.User != nil {
			c["ciuser"] = *ci.User
		}
		if len(ci.SSHKeys) > 0 {
			c["sshkeys"] = strings.Join(ci.SSHKeys, "\n")
		}
		for i, ip := range ci.IPConfigs {
			c[fmt.Sprintf("ipconfig%d", i)] = ip
		}
		if ci.Nameserver != nil {
			c["nameserver"] = *ci.Nameserver
		}
		if ci.SearchDomain != nil {
			c["searchdomain"] = *ci.SearchDomain
		}
	}
	return desired{config: c, disks: p.Disks}
}

// resize is one disk to grow.
type resize struct {
	slot    string
	sizeGiB int64
}

// diff returns the config keys to set (in the form the API takes) and the
// disks to grow. Values are compared normalised: PVE adds MAC addresses to
// NICs, URL-encodes SSH keys and reorders tags, none of which is drift.
func diff(d desired, cfg map[string]any) (map[string]any, []resize) {
	set := map[string]any{}
	for k, want := range d.config {
		got, ok := cfg[k]
		if ok && equalValue(k, want, proxmox.String(got)) {
			continue
		}
		switch k {
		case "sshkeys":
			// The API takes SSH keys URL-encoded.
			set[k] = strings.ReplaceAll(url.QueryEscape(want), "+", "%20")
		default:
			set[k] = want
		}
	}
	var grow []resize
	for _, disk := range d.disks {
		cur, ok := cfg[disk.Slot]
		if !ok {
			// A slot that held a volume is never refilled with a new blank
			// disk: its volume is re-attached when PVE keeps it as unusedN
			// (detached by hand), else lostDisks reports it.
			if vol := d.known[disk.Slot]; vol != "" {
				if unusedSlot(cfg, vol) != "" {
					set[disk.Slot] = vol
				}
				continue
			}
			set[disk.Slot] = fmt.Sprintf("%s:%d", disk.Storage, disk.SizeGiB)
			continue
		}
		if size, ok := proxmox.DiskSizeGiB(proxmox.String(cur)); ok && size < disk.SizeGiB {
			grow = append(grow, resize{slot: disk.Slot, sizeGiB: disk.SizeGiB})
		}
	}
	return set, grow
}

// unusedSlot names the unusedN entry holding vol ("" when none does).
func unusedSlot(cfg map[string]any, vol string) string {
	for k, v := range cfg {
		if strings.HasPrefix(k, "unused") && proxmox.VolumeOf(proxmox.String(v)) == vol {
			return k
		}
	}
	return ""
}

// seenDisks returns the volumes now in the spec's disk slots, merged over
// the ones known before (a slot found empty keeps its last volume).
func seenDisks(d desired, cfg map[string]any) map[string]string {
	out := map[string]string{}
	for _, disk := range d.disks {
		if v, ok := cfg[disk.Slot]; ok {
			out[disk.Slot] = proxmox.VolumeOf(proxmox.String(v))
		} else if vol := d.known[disk.Slot]; vol != "" {
			out[disk.Slot] = vol
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// lostDisks lists the spec's slots whose volume is neither attached nor
// kept as unusedN: removed by hand, so data is gone or elsewhere, and the
// provider will not put a blank disk in its place.
func lostDisks(d desired, cfg map[string]any) []string {
	var out []string
	for _, disk := range d.disks {
		vol := d.known[disk.Slot]
		if _, ok := cfg[disk.Slot]; ok || vol == "" || unusedSlot(cfg, vol) != "" {
			continue
		}
		out = append(out, fmt.Sprintf("%s (%s)", disk.Slot, vol))
	}
	return out
}

func equalValue(key, want, got string) bool {
	switch {
	case key == "tags":
		return proxmox.JoinTags(proxmox.SplitTags(got)) == want
	case key == "agent" || key == "onboot":
		return proxmox.Flag(got) == want
	case key == "sshkeys":
		dec, err := url.QueryUnescape(got)
		if err != nil {
			dec = got
		}
		return strings.TrimSpace(dec) == strings.TrimSpace(want)
	case key == "description":
		return strings.TrimSpace(got) == strings.TrimSpace(want)
	case strings.HasPrefix(key, "net"):
		return normNet(got) == normNet(want)
	}
	return got == want
}

var netModels = map[string]bool{"virtio": true, "e1000": true, "e1000e": true, "vmxnet3": true, "rtl8139": true}

// netString writes a NIC the way the API takes it; PVE generates the MAC.
func netString(n v1alpha1.NetworkInterface) string {
	model := n.Model
	if model == "" {
		model = "virtio"
	}
	bridge := n.Bridge
	if bridge == "" {
		bridge = "vmbr0"
	}
	return proxmox.Props{{Key: model}, {Key: "bridge", Value: bridge}}.
		WithFlag("firewall", n.Firewall).WithInt("tag", n.VLAN).String()
}

// normNet reduces a NIC to the settings the spec manages: model, bridge,
// firewall (0 when absent) and VLAN tag.
func normNet(s string) string {
	kv := map[string]string{"firewall": "0"}
	for _, part := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch {
		case netModels[k]:
			kv["model"] = k
		case k == "model":
			kv["model"] = v
		case k == "bridge" || k == "tag":
			kv[k] = v
		case k == "firewall":
			kv[k] = proxmox.Flag(v)
		}
	}
	return kv["model"] + "|" + kv["bridge"] + "|" + kv["firewall"] + "|" + kv["tag"]
}
