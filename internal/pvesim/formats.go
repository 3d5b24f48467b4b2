package pvesim

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	reNode     = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$`)
	reVMID     = regexp.MustCompile(`^[1-9][0-9]{2,8}$`)
	reID       = regexp.MustCompile(`(?i)^[a-z][a-z0-9\-_.]*[a-z0-9]$`)
	reConfigID = regexp.MustCompile(`(?i)^[a-z][a-z0-9_-]+$`)
	rePool     = regexp.MustCompile(`^[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}$`)
	reTag      = regexp.MustCompile(`(?i)^[a-z0-9_][a-z0-9_\-+.]*$`)
	reDNSLabel = `([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)`
	reDNS      = regexp.MustCompile(`^(` + reDNSLabel + `\.)*` + reDNSLabel + `$`)
	reHASID    = regexp.MustCompile(`^((vm|ct):)?[1-9][0-9]{2,8}$`)
)

// checkFormat applies the named formats PVE registers, with their messages;
// formats the simulator does not model are accepted unchecked. A trailing
// "-list" applies the format to each element of a list, as PVE does.
func checkFormat(format, v string) string {
	if base, ok := strings.CutSuffix(format, "-list"); ok && base != "pve-tag" {
		if knownFormat(base) {
			for _, item := range splitList(v) {
				if msg := checkFormat(base, item); msg != "" {
					return msg
				}
			}
			return ""
		}
	}
	if base, ok := strings.CutSuffix(format, "-opt"); ok && v == "" {
		_ = base
		return ""
	}
	switch format {
	case "pve-node":
		if !reNode.MatchString(v) {
			return "value does not look like a valid node name\n"
		}
	case "pve-vmid":
		if !reVMID.MatchString(v) {
			return "value does not look like a valid VM ID\n"
		}
	case "pve-storage-id":
		return checkID("storage", v)
	case "pve-configid":
		if !reConfigID.MatchString(v) {
			return fmt.Sprintf("invalid configuration ID '%s'\n", v)
		}
	case "pve-poolid": // verify_poolname (pve-access-control src/PVE/AccessControl.pm)
		if len(strings.Split(strings.TrimRight(v, "/"), "/")) > 3 {
			return fmt.Sprintf("pool name '%s' nested too deeply (max levels = 3)\n", v)
		}
		if !rePool.MatchString(v) {
			return fmt.Sprintf("pool name '%s' contains invalid characters\n", v)
		}
	case "pve-tag-list":
		for _, t := range splitList(v) {
			if !reTag.MatchString(t) {
				return "invalid characters in tag\n"
			}
		}
	case "dns-name":
		if !reDNS.MatchString(v) {
			return "value does not look like a valid DNS name\n"
		}
	case "CIDR":
		if !validCIDR(v) {
			return "value does not look like a valid CIDR network\n"
		}
	case "ip", "IP":
		if _, err := netip.ParseAddr(v); err != nil {
			return "value does not look like a valid IP address\n"
		}
	case "pve-ha-resource-or-vm-id", "pve-ha-resource-id":
		if !reHASID.MatchString(v) {
			return fmt.Sprintf("unable to parse HA resource id '%s'\n", v)
		}
	}
	return ""
}

func knownFormat(f string) bool {
	switch f {
	case "pve-node", "pve-vmid", "pve-storage-id", "pve-configid", "pve-poolid", "dns-name",
		"CIDR", "ip", "IP", "pve-ha-resource-or-vm-id", "pve-ha-resource-id":
		return true
	}
	return false
}

func checkID(kind, v string) string {
	if len(v) < 2 {
		return fmt.Sprintf("%s ID '%s' cannot be shorter than 2 characters\n", kind, v)
	}
	if !reID.MatchString(v) {
		return fmt.Sprintf("%s ID '%s' contains illegal characters\n", kind, v)
	}
	return ""
}

func validCIDR(v string) bool {
	addr, bits, ok := strings.Cut(v, "/")
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(bits)
	if err != nil {
		return false
	}
	if a.Is4() {
		return n > 7 && n <= 32
	}
	return n > 7 && n <= 128
}

// splitList splits PVE's list syntax (separated by commas, semicolons,
// spaces or NULs).
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == 0
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
