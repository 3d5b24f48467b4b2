package erasurecodeprofile

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
)

// desired is the profile as Ceph's key=value pairs; unset optional fields are left out so
// Ceph's defaults apply (and are not compared).
func desired(p v1alpha1.ErasureCodeProfileParameters) map[string]string {
	kv := map[string]string{"k": strconv.Itoa(int(p.K)), "m": strconv.Itoa(int(p.M))}
	if p.Plugin != "" {
		kv["plugin"] = p.Plugin
	}
	opt := map[string]*string{
		"technique":            p.Technique,
		"crush-failure-domain": p.FailureDomain,
		"crush-device-class":   p.DeviceClass,
		"crush-root":           p.CrushRoot,
	}
	for k, v := range opt {
		if v != nil {
			kv[k] = *v
		}
	}
	return kv
}

// upToDate compares the desired pairs with Ceph's profile (which also holds Ceph's defaults).
func upToDate(p v1alpha1.ErasureCodeProfileParameters, have map[string]string) (bool, string) {
	want := desired(p)
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var diff []string
	for _, k := range keys {
		if have[k] != want[k] {
			diff = append(diff, fmt.Sprintf("%s: want %q, Ceph has %q", k, want[k], have[k]))
		}
	}
	return len(diff) == 0, strings.Join(diff, "; ")
}
