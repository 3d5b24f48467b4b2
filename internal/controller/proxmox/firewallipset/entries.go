package firewallipset

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

type opKind int

const (
	opDelete opKind = iota
	opUpdate
	opAdd
)

// An op is one API call that changes a set's entries.
type op struct {
	kind  opKind
	entry proxmox.IPSetEntry
}

func (o op) String() string {
	switch o.kind {
	case opAdd:
		return "add " + o.entry.CIDR
	case opUpdate:
		return fmt.Sprintf("set %s nomatch=%v comment=%q", o.entry.CIDR, o.entry.NoMatch, o.entry.Comment)
	default:
		return "remove " + o.entry.CIDR
	}
}

// want are the spec's entries as PVE takes them.
func want(p v1alpha1.FirewallIPSetParameters) []proxmox.IPSetEntry {
	out := make([]proxmox.IPSetEntry, 0, len(p.Entries))
	for _, e := range p.Entries {
		out = append(out, proxmox.IPSetEntry{CIDR: e.CIDR, NoMatch: e.NoMatch, Comment: ptrOr(e.Comment, "")})
	}
	return out
}

// plan returns the calls that turn the set's entries have into want:
// surplus entries removed first (so a set never briefly matches more than
// either side), then entries whose nomatch or comment differ set in
// place, then missing ones added. Entries are matched by canonical cidr;
// order carries no meaning in an IP set.
func plan(want, have []proxmox.IPSetEntry) []op {
	byCIDR := make(map[string]proxmox.IPSetEntry, len(have))
	for _, h := range have {
		byCIDR[canonical(h.CIDR)] = h
	}
	wanted := make(map[string]bool, len(want))
	var dels, upds, adds []op
	for _, w := range want {
		k := canonical(w.CIDR)
		wanted[k] = true
		h, ok := byCIDR[k]
		switch {
		case !ok:
			adds = append(adds, op{kind: opAdd, entry: w})
		case h.NoMatch != w.NoMatch || strings.TrimSpace(h.Comment) != strings.TrimSpace(w.Comment):
			// PVE addresses the entry by the cidr it stores.
			w.CIDR = h.CIDR
			upds = append(upds, op{kind: opUpdate, entry: w})
		}
	}
	for _, h := range have {
		if !wanted[canonical(h.CIDR)] {
			dels = append(dels, op{kind: opDelete, entry: h})
		}
	}
	return append(append(dels, upds...), adds...)
}

// describe summarises a plan for the Synced condition's diff.
func describe(ops []op) string {
	if len(ops) == 0 {
		return ""
	}
	parts := make([]string, 0, len(ops))
	for _, o := range ops {
		parts = append(parts, o.String())
	}
	return "entries differ: " + strings.Join(parts, ", ")
}

// canonical is an address or network in its canonical form
// (2001:DB8::/32 is 2001:db8::/32).
func canonical(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.String()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return s
}
