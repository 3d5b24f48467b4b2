package function

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

var notNameChar = regexp.MustCompile(`[^a-z0-9-]+`)

// securityGroupName makes a Proxmox security group name (2-18 characters, a letter first, then
// letters, digits, '-') that is unique per XR: groups are cluster-wide in PVE while XRs are
// namespaced, so the name carries a hash of namespace, XR name and purpose.
func securityGroupName(namespace, xr, purpose string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + xr + "/" + purpose))
	base := strings.Trim(notNameChar.ReplaceAllString(strings.ToLower(xr), ""), "-")
	if len(base) > 11 {
		base = strings.TrimRight(base[:11], "-")
	}
	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = "g" + base
		if len(base) > 11 {
			base = base[:11]
		}
	}
	return base + "-" + hex.EncodeToString(sum[:])[:6]
}

// globalName is the name of an object whose external name is cluster-wide (a Ceph pool, an RBD
// image in a shared pool, a Proxmox pool): prefixed with the namespace so that XRs of the same
// name in two namespaces do not collide.
func globalName(namespace, name string) string {
	return namespace + "-" + name
}
