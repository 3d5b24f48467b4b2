package security

import (
	"fmt"
	"sort"
	"strings"
)

// CephClientName is the cephx client docs/security.md tells the admin to create.
const CephClientName = "client.microcloud"

// CephServices are the cephx services in the order the caps are written.
var CephServices = []string{"mon", "mgr", "osd", "mds"}

// CephBaseCaps are what every Ceph kind needs: following the mon's maps (without mon r, mgr
// commands and pool opens time out) and the provider's observation of the cluster (`osd pool ls`, `osd crush dump`, `osd erasure-code-profile ls/get`).
// Read grants are per mon service, not `allow r`, which would also read config-key secrets.
var CephBaseCaps = map[string][]string{
	"mon": {"allow service mon r", "allow service osd r"},
}

// cmd is a grant of one mon or mgr command.
func cmd(prefix string) string { return fmt.Sprintf("allow command %q", prefix) }

// CephKindCaps are the cephx grants each Ceph kind needs beyond CephBaseCaps, per service: the
// mon and mgr commands its controller sends and the pools and daemons it reads or writes
// directly (librados, librbd, libcephfs). ObjectStoreUser and Bucket use the RADOS Gateway's admin
// API with an RGW user, not cephx.
var CephKindCaps = map[string]map[string][]string{
	// Pool stats (pg r) and the PG states of its status (mgr pg dump); before a deletion the
	// pool's objects and RBD image names are read (rbd_directory is read by a class method).
	"Pool": {
		"mon": {"allow service pg r", cmd("osd pool create"), cmd("osd pool set"), cmd("osd pool set-quota"),
			cmd("osd pool application enable"), cmd("osd pool application disable"), cmd("osd pool rm")},
		"mgr": {cmd("pg dump")},
		"osd": {"allow r class-read"},
	},
	"ErasureCodeProfile": {
		"mon": {cmd("osd erasure-code-profile set"), cmd("osd erasure-code-profile rm")},
	},
	"CrushRule": {
		"mon": {cmd("osd crush rule create-replicated"), cmd("osd crush rule create-erasure"), cmd("osd crush rule rm")},
	},
	"CrushBucket": {
		"mon": {cmd("osd crush add-bucket"), cmd("osd crush move"), cmd("osd crush rm")},
	},
	// librbd writes images only in pools tagged for rbd; creating one allocates a self-managed
	// snapshot id from the mon (its "validate pool" step).
	"RBDImage": {
		"mon": {cmd("osd pool op unmanaged-snap")},
		"osd": {"allow rwx tag rbd *=*"},
	},
	// The mgr's volumes module makes and removes the volume and its pools with its own key;
	// the provider reads the FSMap and moves the data pool to its CRUSH rule.
	"Filesystem": {
		"mon": {"allow service fs r", "allow service mds r", cmd("osd pool set")},
		"mgr": {cmd("fs volume create"), cmd("fs volume rm"), cmd("fs subvolumegroup ls"), cmd("fs subvolume ls")},
	},
	"SubvolumeGroup": {
		"mgr": {cmd("fs subvolumegroup create"), cmd("fs subvolumegroup getpath"), cmd("fs subvolumegroup info"),
			cmd("fs subvolumegroup resize"), cmd("fs subvolumegroup rm"), cmd("fs subvolume ls")},
	},
	// Before a deletion the provider mounts the filesystem and lists the subvolume's directory.
	"Subvolume": {
		"mon": {"allow service mds r"},
		"mgr": {cmd("fs subvolume create"), cmd("fs subvolume info"), cmd("fs subvolume resize"), cmd("fs subvolume rm"),
			cmd("fs subvolume snapshot ls"), cmd("fs subvolume snapshot rm")},
		"mds": {"allow r"},
	},
	// The auth commands: whoever holds them can mint a key with any caps. Before a deletion the
	// provider asks every active MDS for its sessions (`session ls`), which an MDS answers only
	// for `allow *`.
	"CephClient": {
		"mon": {"allow service mds r", cmd("auth get"), cmd("auth get-or-create"), cmd("auth caps"), cmd("auth rm")},
		"mgr": {cmd("fs subvolume info")},
		"mds": {"allow *"},
	},
}

// CephKinds lists the kinds of CephKindCaps, sorted.
func CephKinds() []string {
	out := make([]string, 0, len(CephKindCaps))
	for k := range CephKindCaps {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CephCaps is the union of CephBaseCaps and the kinds' grants (every kind when none is named),
// per service, each list in order (read grants first, then commands, sorted) without repeats;
// a service granted `allow *` gets only that.
func CephCaps(kinds ...string) map[string][]string { return cephCaps(nil, kinds) }

// CephCapsWithout is CephCaps of every kind with the given grants ("svc:grant", e.g.
// `mds:allow *`) left out wherever they appear: the caps one refusal test runs with.
func CephCapsWithout(grants ...string) map[string][]string {
	skip := map[string]bool{}
	for _, g := range grants {
		skip[g] = true
	}
	return cephCaps(skip, nil)
}

func cephCaps(skip map[string]bool, kinds []string) map[string][]string {
	if len(kinds) == 0 {
		kinds = CephKinds()
	}
	sets := map[string]map[string]bool{}
	add := func(caps map[string][]string) {
		for svc, gs := range caps {
			for _, g := range gs {
				if skip[svc+":"+g] {
					continue
				}
				if sets[svc] == nil {
					sets[svc] = map[string]bool{}
				}
				sets[svc][g] = true
			}
		}
	}
	add(CephBaseCaps)
	for _, k := range kinds {
		add(CephKindCaps[k])
	}
	out := map[string][]string{}
	for svc, set := range sets {
		if set["allow *"] {
			out[svc] = []string{"allow *"}
			continue
		}
		gs := make([]string, 0, len(set))
		for g := range set {
			gs = append(gs, g)
		}
		SortGrants(gs)
		out[svc] = gs
	}
	return out
}

// SortGrants orders grants: plain grants (`allow service mon r`, `allow r class-read`) before
// command grants, each group sorted.
func SortGrants(gs []string) {
	isCmd := func(g string) bool { return strings.HasPrefix(g, "allow command ") }
	sort.Slice(gs, func(i, j int) bool {
		if isCmd(gs[i]) != isCmd(gs[j]) {
			return !isCmd(gs[i])
		}
		return gs[i] < gs[j]
	})
}

// CephCapString writes one service's grants the way `ceph auth` takes them.
func CephCapString(grants []string) string { return strings.Join(grants, ", ") }

// CephAuthCommand is the `ceph auth get-or-create` line for entity with caps, each service's
// caps in single quotes, services in CephServices order.
func CephAuthCommand(entity string, caps map[string][]string) string {
	var b strings.Builder
	b.WriteString("ceph auth get-or-create " + entity)
	for _, svc := range CephServices {
		if gs := caps[svc]; len(gs) > 0 {
			fmt.Fprintf(&b, " %s '%s'", svc, CephCapString(gs))
		}
	}
	return b.String()
}

// RGWAdminCaps are the caps of the RADOS Gateway user whose S3 keys the ProviderConfig's
// objectStore section holds (ObjectStoreUser and Bucket): users and buckets are what the admin
// API calls touch.
const RGWAdminCaps = "users=*;buckets=*"
