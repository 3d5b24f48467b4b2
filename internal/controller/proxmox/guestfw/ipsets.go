package guestfw

import (
	"context"
	"sort"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/ipsetplan"
)

const (
	errIPSetsRead   = "cannot read the IP sets of guest %d"
	errIPSetCreate  = "cannot create IP set %s of guest %d"
	errIPSetEntries = "cannot change the entries of IP set %s of guest %d"
	errIPSetComment = "cannot set the comment of IP set %s of guest %d"
	errIPSetDelete  = "cannot delete IP set %s of guest %d"
)

// guestSets is a guest's own IP sets as read: comments by name, and the
// entries (with their digest) of the sets a spec names.
type guestSets struct {
	comments map[string]string
	sets     map[string]proxmox.FirewallIPSet
}

func readSets(ctx context.Context, c *proxmox.Client, g proxmox.GuestRef, want []v1alpha1.GuestIPSet) (*guestSets, error) {
	s := proxmox.GuestIPSets(g)
	names, err := c.IPSetNames(ctx, s)
	if err != nil {
		return nil, errors.Wrapf(err, errIPSetsRead, g.VMID)
	}
	out := &guestSets{comments: names, sets: map[string]proxmox.FirewallIPSet{}}
	for _, w := range want {
		if _, ok := names[w.Name]; !ok {
			continue
		}
		set, ok, err := c.FirewallIPSet(ctx, s, w.Name)
		if err != nil {
			return nil, errors.Wrapf(err, errIPSetsRead, g.VMID)
		}
		if ok {
			out.sets[w.Name] = set
		}
	}
	return out, nil
}

// setsDiff names what differs between the spec's sets and the guest's.
func setsDiff(want []v1alpha1.GuestIPSet, have *guestSets) string {
	var parts []string
	for _, w := range want {
		set, ok := have.sets[w.Name]
		switch {
		case !ok:
			parts = append(parts, "IP set "+w.Name+" missing")
		default:
			if d := ipsetplan.Describe(ipsetplan.Plan(ipsetplan.Want(w.Entries), set.Entries)); d != "" {
				parts = append(parts, "IP set "+w.Name+" "+d)
			}
			if w.Comment != nil && strings.TrimSpace(*w.Comment) != strings.TrimSpace(have.comments[w.Name]) {
				parts = append(parts, "IP set "+w.Name+" comment differs")
			}
		}
	}
	for _, n := range extraSets(want, have) {
		parts = append(parts, "IP set "+n+" not in the spec")
	}
	return strings.Join(parts, ", ")
}

// extraSets are the guest's sets the spec does not name, sorted.
func extraSets(want []v1alpha1.GuestIPSet, have *guestSets) []string {
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w.Name] = true
	}
	var out []string
	for n := range have.comments {
		if !wanted[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// ensureSets creates the spec's sets that are missing and brings every
// one's entries and comment to the spec. Sets the spec does not name are
// removed afterwards by dropExtraSets, once no rule of the spec needs them.
func ensureSets(ctx context.Context, c *proxmox.Client, g proxmox.GuestRef, want []v1alpha1.GuestIPSet, have *guestSets) error {
	s := proxmox.GuestIPSets(g)
	for _, w := range want {
		set, ok := have.sets[w.Name]
		if !ok {
			comment := ""
			if w.Comment != nil {
				comment = *w.Comment
			}
			if err := c.CreateFirewallIPSet(ctx, s, w.Name, comment); err != nil && !proxmox.IsAlreadyExists(err) {
				return errors.Wrapf(err, errIPSetCreate, w.Name, g.VMID)
			}
		} else if w.Comment != nil && strings.TrimSpace(*w.Comment) != strings.TrimSpace(have.comments[w.Name]) {
			if err := c.SetFirewallIPSetComment(ctx, s, w.Name, *w.Comment); err != nil {
				return errors.Wrapf(err, errIPSetComment, w.Name, g.VMID)
			}
		}
		ops := ipsetplan.Plan(ipsetplan.Want(w.Entries), set.Entries)
		if err := ipsetplan.Apply(ctx, c, s, w.Name, ops, set.Digest); err != nil {
			return errors.Wrapf(err, errIPSetEntries, w.Name, g.VMID)
		}
	}
	return nil
}

// dropExtraSets deletes, with their entries, the guest's sets the spec does
// not name.
func dropExtraSets(ctx context.Context, c *proxmox.Client, g proxmox.GuestRef, want []v1alpha1.GuestIPSet, have *guestSets) error {
	for _, n := range extraSets(want, have) {
		if err := c.DeleteFirewallIPSet(ctx, proxmox.GuestIPSets(g), n, true); err != nil && !proxmox.IsNotFound(err) {
			return errors.Wrapf(err, errIPSetDelete, n, g.VMID)
		}
	}
	return nil
}
