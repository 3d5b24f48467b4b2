// Package guestfw manages a guest's own Proxmox firewall (options and links
// to cluster security groups) for every guest kind: QEMU VMs and LXC
// containers share the firewall API under their own paths.
package guestfw

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/fwrules"
)

const (
	errFirewallRead  = "cannot read the firewall of guest %d"
	errFirewallOpts  = "cannot set the firewall options of guest %d"
	errFirewallLink  = "cannot link security groups to guest %d (%s)"
	errFirewallRules = "cannot rewrite the firewall rules of guest %d"
	errNoDigest      = "the firewall options of guest %d carry no digest, so nothing is written"
)

// Spec is the firewall a guest's spec asks for: the options it manages and
// the security groups it links, in evaluation order.
type Spec struct {
	Enabled        *bool
	PolicyIn       *string
	PolicyOut      *string
	SecurityGroups []string
	// Rules, when set, are the guest's own rules after its links: the
	// whole rule list is then owned.
	Rules *[]v1alpha1.FirewallRule
	// IPSets, when set, are exactly the guest's own IP sets.
	IPSets *[]v1alpha1.GuestIPSet
}

// fwRule is the part of a guest firewall rule the provider looks at.
type fwRule struct {
	typ    string
	action string
	enable bool
}

// firewall returns the guest's firewall (read now when its config was,
// fresh, else as last read: see proxmox.ReadGuestFirewall) and its rules in
// the form the link plan works on.
func firewall(ctx context.Context, c *proxmox.Client, g *proxmox.Guest, fresh bool) (*proxmox.GuestFirewall, []fwRule, error) {
	st, err := c.ReadGuestFirewall(ctx, g, fresh)
	if err != nil {
		return nil, nil, errors.Wrapf(err, errFirewallRead, int(g.VMID))
	}
	rules := make([]fwRule, 0, len(st.Rules))
	for _, r := range st.Rules {
		rules = append(rules, fwRule{typ: r["type"], action: r["action"], enable: proxmox.Flag(r["enable"]) == "1"})
	}
	return st, rules, nil
}

// wantOptions are the firewall options the spec manages, as PVE stores them.
func wantOptions(fw *Spec) map[string]string {
	o := map[string]string{"enable": "1"}
	if fw.Enabled != nil && !*fw.Enabled {
		o["enable"] = "0"
	}
	if fw.PolicyIn != nil {
		o["policy_in"] = *fw.PolicyIn
	}
	if fw.PolicyOut != nil {
		o["policy_out"] = *fw.PolicyOut
	}
	return o
}

// optionsDiff returns the options to set; PVE leaves out enable when off.
func optionsDiff(want map[string]string, have map[string]any) map[string]any {
	set := map[string]any{}
	for k, v := range want {
		got := proxmox.String(have[k])
		if k == "enable" {
			got = proxmox.Flag(got)
		}
		if got != v {
			set[k] = v
		}
	}
	return set
}

// linkPlan returns the calls that make the guest's group rules exactly want, in
// order, leaving its other rules alone: links that differ are rewritten in
// place, surplus links are deleted (last first), missing ones are created
// (PVE puts a new rule at the top) and moved right after the previous link.
// The first call carries the digest of the rules the plan was made from.
func linkPlan(want []string, rules []fwRule, digest string) []fwrules.Op {
	model := append([]fwRule{}, rules...)
	links := func() []int {
		var idx []int
		for i, r := range model {
			if r.typ == "group" {
				idx = append(idx, i)
			}
		}
		return idx
	}
	idx := links()
	var ops []fwrules.Op
	for k := 0; k < min(len(idx), len(want)); k++ {
		if r := model[idx[k]]; r.action != want[k] || !r.enable {
			ops = append(ops, fwrules.Op{Method: "PUT", Pos: idx[k], Params: proxmox.Params{"action": want[k], "enable": "1"}})
			model[idx[k]] = fwRule{typ: "group", action: want[k], enable: true}
		}
	}
	for k := len(idx) - 1; k >= len(want); k-- {
		ops = append(ops, fwrules.Op{Method: "DELETE", Pos: idx[k]})
		model = append(model[:idx[k]], model[idx[k]+1:]...)
	}
	for k := len(idx); k < len(want); k++ {
		ops = append(ops, fwrules.Op{Method: "POST", Params: fwrules.Link(want[k]).Params()})
		model = append([]fwRule{{typ: "group", action: want[k], enable: true}}, model...)
		if k == 0 {
			continue
		}
		prev := links()[k] // links()[0] is the new rule; the k-th is link k-1
		ops = append(ops, fwrules.Op{Method: "PUT", Pos: 0, Params: proxmox.Params{"moveto": strconv.Itoa(prev + 1)}})
		model = fwrules.MoveTo(model, 0, prev+1)
	}
	if len(ops) > 0 && digest != "" {
		ops[0].Params = ops[0].Params.WithDigest(digest)
	}
	return ops
}

// linkedGroups lists the groups the rules link, in order.
func linkedGroups(rules []fwRule) []string {
	var out []string
	for _, r := range rules {
		if r.typ == "group" {
			out = append(out, r.action)
		}
	}
	return out
}

// Diff compares the spec's firewall with the guest's and names what differs
// ("" when nothing does, or when the spec leaves the firewall alone: fw nil).
// fresh says the guest's config was just read, and so is its firewall.
func Diff(ctx context.Context, c *proxmox.Client, fw *Spec, g *proxmox.Guest, fresh bool) (string, error) {
	if fw == nil {
		return "", nil
	}
	st, rules, err := firewall(ctx, c, g, fresh)
	if err != nil {
		return "", err
	}
	var parts []string
	if len(optionsDiff(wantOptions(fw), st.Options)) > 0 {
		parts = append(parts, "firewall options")
	}
	switch {
	case fw.Rules != nil:
		if d := fwrules.Describe(ownedRules(fw), fwrules.FromPVE(st.Rules)); d != "" {
			parts = append(parts, "firewall "+d)
		}
	case len(linkPlan(fw.SecurityGroups, rules, "")) > 0:
		parts = append(parts, fmt.Sprintf("security groups [%s] (linked: [%s])",
			strings.Join(fw.SecurityGroups, ","), strings.Join(linkedGroups(rules), ",")))
	}
	// The guest's own IP sets are compared when its firewall was just read
	// (the spec changed, the view showed a change, or the drift interval
	// passed): reading them costs a request per set.
	if fw.IPSets != nil && fresh {
		have, err := readSets(ctx, c, g.Ref(), *fw.IPSets)
		if err != nil {
			return "", err
		}
		if d := setsDiff(*fw.IPSets, have); d != "" {
			parts = append(parts, d)
		}
	}
	return strings.Join(parts, ", "), nil
}

// Apply sets the guest's firewall options and group links from the spec,
// using the firewall as last read; its digests make PVE refuse the change if
// the firewall changed since, and the next reconcile re-reads it.
func Apply(ctx context.Context, c *proxmox.Client, fw *Spec, g *proxmox.Guest) error {
	if fw == nil {
		return nil
	}
	id := int(g.VMID)
	st, rules, err := firewall(ctx, c, g, false)
	if err != nil {
		return err
	}
	if set := optionsDiff(wantOptions(fw), st.Options); len(set) > 0 {
		change := proxmox.Params{}
		for k, v := range set {
			change[k] = proxmox.String(v)
		}
		if err := c.SetGuestFirewallOptions(ctx, g.Ref(), change, proxmox.String(st.Options["digest"])); err != nil {
			return errors.Wrapf(err, errFirewallOpts, id)
		}
		// Re-read, so the memo and the rule digest are current.
		if st, rules, err = firewall(ctx, c, g, true); err != nil {
			return err
		}
	}
	// IP sets the rules may name first; sets the spec drops go after the
	// rules no longer name them.
	var sets *guestSets
	if fw.IPSets != nil {
		if sets, err = readSets(ctx, c, g.Ref(), *fw.IPSets); err != nil {
			return err
		}
		if err := ensureSets(ctx, c, g.Ref(), *fw.IPSets, sets); err != nil {
			return err
		}
	}
	list := proxmox.GuestRules(g.Ref())
	if fw.Rules != nil {
		if err := fwrules.Rewrite(ctx, c, list, ownedRules(fw), fwrules.FromPVE(st.Rules), st.RulesDigest); err != nil {
			return errors.Wrapf(err, errFirewallRules, id)
		}
	} else {
		for _, o := range linkPlan(fw.SecurityGroups, rules, st.RulesDigest) {
			if err := fwrules.Apply(ctx, c, list, o); err != nil {
				return errors.Wrapf(err, errFirewallLink, id, o)
			}
		}
	}
	if sets != nil {
		return dropExtraSets(ctx, c, g.Ref(), *fw.IPSets, sets)
	}
	return nil
}

// ownedRules is the whole rule list of a guest whose spec has rules: its
// group links in order, then its own rules.
func ownedRules(fw *Spec) []fwrules.Rule {
	out := make([]fwrules.Rule, 0, len(fw.SecurityGroups)+len(*fw.Rules))
	for _, g := range fw.SecurityGroups {
		out = append(out, fwrules.Link(g))
	}
	return append(out, fwrules.WantAll(*fw.Rules)...)
}

// JoinDiff adds the firewall's differences to the config's.
func JoinDiff(config, firewall string) string {
	switch {
	case firewall == "":
		return config
	case config == "":
		return "differs from spec: " + firewall
	}
	return config + ", " + firewall
}
