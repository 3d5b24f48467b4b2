package container

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
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
		"cores":    strconv.FormatInt(orDefault(p.Cores, 1), 10),
		"memory":   strconv.FormatInt(orDefault(p.MemoryMiB, 512), 10),
		"swap":     strconv.FormatInt(swap, 10),
		"tags":     joinTags(append(append([]string{}, p.Tags...), ownerTag)),
	}
	if p.OnBoot != nil {
		c["onboot"] = boolString(*p.OnBoot)
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
		if got, ok := cfg[k]; ok && equalValue(k, want, str(got)) {
			continue
		}
		set[k] = want
	}
	var grow int64
	if size, ok := diskSizeGiB(str(cfg["rootfs"])); ok && size < d.rootSizeGiB {
		grow = d.rootSizeGiB
	}
	return set, grow
}

func equalValue(key, want, got string) bool {
	switch {
	case key == "tags":
		return joinTags(splitTags(got)) == want
	case key == "onboot":
		return firstFlag(got) == want
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
	s := "name=" + n.Name + ",bridge=" + bridge
	if n.IP != nil {
		s += ",ip=" + *n.IP
	}
	if n.Gateway != nil {
		s += ",gw=" + *n.Gateway
	}
	if n.Firewall != nil {
		s += ",firewall=" + boolString(*n.Firewall)
	}
	if n.VLAN != nil {
		s += ",tag=" + strconv.FormatInt(*n.VLAN, 10)
	}
	return s
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
			kv[k] = firstFlag(v)
		}
	}
	return strings.Join([]string{kv["name"], kv["bridge"], kv["ip"], kv["gw"], kv["firewall"], kv["tag"]}, "|")
}

var sizeRe = regexp.MustCompile(`(?:^|,)size=([0-9.]+)([KMGT]?)(?:,|$)`)

// diskSizeGiB reads the size of a volume config value, e.g.
// "ceph-rbd:vm-101-disk-0,size=8G", rounded down to whole GiB.
func diskSizeGiB(v string) (int64, bool) {
	m := sizeRe.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	switch m[2] {
	case "K":
		f /= 1024 * 1024
	case "M":
		f /= 1024
	case "T":
		f *= 1024
	case "":
		f /= 1024 * 1024 * 1024
	}
	return int64(f), true
}

func splitTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
}

// joinTags writes tags the way PVE stores them: lower-case, sorted, unique, ';'-separated.
func joinTags(tags []string) string {
	seen := map[string]bool{}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}

// firstFlag reads "1", "true" or "0" as "1"/"0".
func firstFlag(s string) string {
	if s == "1" || s == "true" {
		return "1"
	}
	return "0"
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func orDefault(v, d int64) int64 {
	if v == 0 {
		return d
	}
	return v
}

// str renders a decoded JSON config value as PVE's string form.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return boolString(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
