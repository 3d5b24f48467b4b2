package guest

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

var nicKey = regexp.MustCompile(`^net[0-9]+$`)

// NICs works out which netN keys a guest's resource manages and which of
// them to delete: want is the config the spec asks for, known the keys
// recorded in status (the provider set them earlier), cfg the guest's
// config. Managed are the spec's NICs plus the known ones still in the
// config; remove are the known ones the spec no longer lists, sorted. A NIC
// the provider never set (a template's, one added by hand) is never removed.
func NICs(want map[string]string, known []string, cfg map[string]any) (managed, remove []string) {
	for k := range want {
		if nicKey.MatchString(k) {
			managed = append(managed, k)
		}
	}
	for _, k := range known {
		if _, wanted := want[k]; wanted || !nicKey.MatchString(k) {
			continue
		}
		if _, ok := cfg[k]; ok {
			managed = append(managed, k)
			remove = append(remove, k)
		}
	}
	sortNICs(managed)
	sortNICs(remove)
	return managed, remove
}

// sortNICs orders netN keys by N.
func sortNICs(keys []string) {
	sort.Slice(keys, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.TrimPrefix(keys[i], "net"))
		b, _ := strconv.Atoi(strings.TrimPrefix(keys[j], "net"))
		return a < b
	})
}

// WithDelete adds PVE's delete parameter (a comma-separated list of config
// keys, as qemu-server and pve-container take it) to params.
func WithDelete(params proxmox.Params, keys []string) {
	if len(keys) > 0 {
		params["delete"] = strings.Join(keys, ",")
	}
}

// Removed names config keys to delete for DiffText.
func Removed(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+" (removed from spec)")
	}
	return out
}
