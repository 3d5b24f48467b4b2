// Package ipsetplan is how the provider keeps a Proxmox IP set's entries
// (a cluster set's or a guest's own) equal to a spec: the calls that turn
// the entries PVE has into the spec's, and their application.
package ipsetplan

import (
	"context"
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

// An Op is one API call that changes a set's entries.
type Op struct {
	kind  opKind
	entry proxmox.IPSetEntry
}

func (o Op) String() string {
	switch o.kind {
	case opAdd:
		return "add " + o.entry.CIDR
	case opUpdate:
		return fmt.Sprintf("set %s nomatch=%v comment=%q", o.entry.CIDR, o.entry.NoMatch, o.entry.Comment)
	default:
		return "remove " + o.entry.CIDR
	}
}

// Want are the spec's entries as PVE takes them.
func Want(entries []v1alpha1.FirewallIPSetEntry) []proxmox.IPSetEntry {
	out := make([]proxmox.IPSetEntry, 0, len(entries))
	for _, e := range entries {
		c := ""
		if e.Comment != nil {
			c = *e.Comment
		}
		out = append(out, proxmox.IPSetEntry{CIDR: e.CIDR, NoMatch: e.NoMatch, Comment: c})
	}
	return out
}

// Plan returns the calls that turn the set's entries have into want:
// surplus entries removed first (so a set never briefly matches more than
// either side), then entries whose nomatch or comment differ set in
// place, then missing ones added. Entries are matched by canonical cidr;
// order carries no meaning in an IP set.
func Plan(want, have []proxmox.IPSetEntry) []Op {
	byCIDR := make(map[string]proxmox.IPSetEntry, len(have))
	for _, h := range have {
		byCIDR[canonical(h.CIDR)] = h
	}
	wanted := make(map[string]bool, len(want))
	var dels, upds, adds []Op
	for _, w := range want {
		k := canonical(w.CIDR)
		wanted[k] = true
		h, ok := byCIDR[k]
		switch {
		case !ok:
			adds = append(adds, Op{kind: opAdd, entry: w})
		case h.NoMatch != w.NoMatch || strings.TrimSpace(h.Comment) != strings.TrimSpace(w.Comment):
			// PVE addresses the entry by the cidr it stores.
			w.CIDR = h.CIDR
			upds = append(upds, Op{kind: opUpdate, entry: w})
		}
	}
	for _, h := range have {
		if !wanted[canonical(h.CIDR)] {
			dels = append(dels, Op{kind: opDelete, entry: h})
		}
	}
	return append(append(dels, upds...), adds...)
}

// Describe summarises a plan for the Synced condition's diff.
func Describe(ops []Op) string {
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

// Apply sends the calls of a plan to set name of scope s; the first carries
// digest (the entries' digest the plan was made from), as each change alters
// it: the next observation corrects whatever a concurrent writer did in
// between. An error names the call that failed.
func Apply(ctx context.Context, c *proxmox.Client, s proxmox.IPSetScope, name string, ops []Op, digest string) error {
	for _, o := range ops {
		var err error
		switch o.kind {
		case opAdd:
			err = c.AddIPSetEntry(ctx, s, name, o.entry)
		case opUpdate:
			err = c.UpdateIPSetEntry(ctx, s, name, o.entry, digest)
		case opDelete:
			err = c.DeleteIPSetEntry(ctx, s, name, o.entry.CIDR, digest)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
		digest = ""
	}
	return nil
}
