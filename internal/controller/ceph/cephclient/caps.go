package cephclient

import (
	"fmt"
	"sort"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

// target is one resolved grant: a pool (Pool set) or a subvolume (FS and Path set).
type target struct {
	Pool      string
	Namespace string
	RBD       bool
	ReadOnly  bool
	// FS, Path: a subvolume's filesystem and path; DataPool and PoolNamespace when the
	// subvolume's files live in a RADOS namespace of their own.
	FS, Path                string
	DataPool, PoolNamespace string
}

// capList collects one service's caps in grant order, each once.
type capList []string

func (l *capList) add(c string) {
	for _, have := range *l {
		if have == c {
			return
		}
	}
	*l = append(*l, c)
}

func access(readOnly bool) string {
	if readOnly {
		return "r"
	}
	return "rw"
}

// buildCaps makes the caps of a client from its grants: pools as RADOS or RBD access limited to
// the pool (and namespace), subvolumes as `ceph fs authorize` makes them, except that a subvolume
// whose files are in a RADOS namespace of their own gets OSD access to that namespace only.
func buildCaps(ts []target) ceph.Caps {
	var mon, osd, mds capList
	for _, t := range ts {
		a := access(t.ReadOnly)
		switch {
		case t.Path != "":
			mon.add("allow r fsname=" + t.FS)
			mds.add(fmt.Sprintf("allow %s fsname=%s path=%s", a, t.FS, t.Path))
			if t.PoolNamespace != "" {
				osd.add(fmt.Sprintf("allow %s pool=%s namespace=%s", a, t.DataPool, t.PoolNamespace))
			} else {
				osd.add(fmt.Sprintf("allow %s tag cephfs data=%s", a, t.FS))
			}
		case t.RBD:
			mon.add("profile rbd")
			p := "profile rbd"
			if t.ReadOnly {
				p = "profile rbd-read-only"
			}
			osd.add(p + " pool=" + t.Pool + nsSuffix(t.Namespace))
		default:
			mon.add("allow r")
			osd.add(fmt.Sprintf("allow %s pool=%s%s", a, t.Pool, nsSuffix(t.Namespace)))
		}
	}
	caps := ceph.Caps{}
	for svc, l := range map[string]capList{"mon": mon, "osd": osd, "mds": mds} {
		if len(l) > 0 {
			caps[svc] = strings.Join(l, ", ")
		}
	}
	return caps
}

func nsSuffix(ns string) string {
	if ns == "" {
		return ""
	}
	return " namespace=" + ns
}

// compareCaps tells whether Ceph's caps are exactly the wanted ones, and how they differ.
func compareCaps(want, have ceph.Caps) (bool, string) {
	services := map[string]bool{}
	for s := range want {
		services[s] = true
	}
	for s := range have {
		services[s] = true
	}
	names := make([]string, 0, len(services))
	for s := range services {
		names = append(names, s)
	}
	sort.Strings(names)
	var diff []string
	for _, s := range names {
		w, h := strings.TrimSpace(want[s]), strings.TrimSpace(have[s])
		if w != h {
			diff = append(diff, fmt.Sprintf("caps %s: want %q, Ceph has %q", s, w, h))
		}
	}
	return len(diff) == 0, strings.Join(diff, "; ")
}
