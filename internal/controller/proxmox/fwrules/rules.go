// Package fwrules is how the provider keeps a Proxmox firewall rule list
// (a security group's, the datacenter's or a node's) equal to a spec: rules
// are normalised so equal rules compare equal however PVE lists them, and a
// plan of PUT/DELETE/POST calls turns the list PVE has into the spec's.
package fwrules

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

// ruleKeys are the rule options the spec manages, in the order they are sent.
var ruleKeys = []string{"type", "action", "macro", "proto", "dport", "sport", "source", "dest", "iface", "enable", "comment", "log"}

// ignoredKeys are what PVE adds to a listed rule that is not a rule option
// (ipversion PVE derives from the addresses).
var ignoredKeys = map[string]bool{"pos": true, "digest": true, "ipversion": true}

// A Rule is a firewall rule as normalised key/value pairs: absent options
// and PVE's defaults (nolog, an empty comment) are left out, enable is 1 or 0.
type Rule map[string]string

// wantRule normalises a spec rule; enable defaults to on, as in PVE's GUI
// (the API's default, off, is never relied on: enable is always sent).
func Want(r v1alpha1.FirewallRule) Rule {
	out := Rule{"type": r.Type, "action": r.Action, "enable": "1"}
	if r.Enable != nil && !*r.Enable {
		out["enable"] = "0"
	}
	for k, v := range map[string]*string{"macro": r.Macro, "proto": r.Proto, "dport": r.DPort, "sport": r.SPort,
		"source": r.Source, "dest": r.Dest, "iface": r.Iface, "comment": r.Comment, "log": r.Log} {
		if v != nil {
			out[k] = *v
		}
	}
	return out.Normal()
}

// gotRule normalises a rule as GET .../groups/{group} lists it.
func Got(m map[string]any) Rule {
	out := Rule{"enable": "0"} // PVE stores a rule created without enable as off
	for k, v := range m {
		if !ignoredKeys[k] {
			out[k] = proxmox.String(v)
		}
	}
	return out.Normal()
}

// normal drops empty options and PVE's implicit defaults so equal rules
// compare equal however they were written.
func (r Rule) Normal() Rule {
	out := Rule{}
	for k, v := range r {
		v = strings.TrimSpace(v)
		switch k {
		case "enable":
			if v == "1" || v == "true" {
				v = "1"
			} else {
				v = "0"
			}
		case "log":
			if v == "nolog" {
				v = ""
			}
		case "proto":
			v = strings.ToLower(v)
		}
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// equal compares normalised rules; PVE rewrites macro names to their
// preferred case (ssh -> SSH), so macros compare without case.
func (r Rule) Equal(o Rule) bool {
	if len(r) != len(o) {
		return false
	}
	for k, v := range r {
		w, ok := o[k]
		if !ok {
			return false
		}
		if k == "macro" {
			if !strings.EqualFold(v, w) {
				return false
			}
		} else if v != w {
			return false
		}
	}
	return true
}

// params is the rule in the form the API takes; enable is always sent.
func (r Rule) Params() proxmox.Params {
	p := proxmox.Params{}
	for _, k := range ruleKeys {
		if v, ok := r[k]; ok {
			p[k] = v
		}
	}
	return p
}

// An Op is one API call that changes a rule list.
type Op struct {
	Method string // PUT, DELETE or POST
	Pos    int    // the rule position PUT and DELETE address
	Params proxmox.Params
}

func (o Op) String() string {
	if o.Method == "POST" {
		return fmt.Sprintf("POST %v", o.Params)
	}
	return fmt.Sprintf("%s %d %v", o.Method, o.Pos, o.Params)
}

// firstDiff is the first position where got differs from want, or -1.
func firstDiff(want, got []Rule) int {
	for i := range max(len(want), len(got)) {
		if i >= len(want) || i >= len(got) || !want[i].Equal(got[i]) {
			return i
		}
	}
	return -1
}

// plan returns the calls that turn the group's rules got into want: rules that
// differ are rewritten in place (PUT, deleting options the spec does not
// set), surplus rules are deleted from the end, missing ones are created and
// moved to the end (PVE always creates a rule at the top). The first call
// carries the digest of the list the plan was made from, so PVE refuses it
// if someone changed the group since; later calls are not guarded, as the
// next observation corrects whatever a concurrent writer did in between.
func Plan(want, got []Rule, digest string) []Op {
	if firstDiff(want, got) < 0 {
		return nil
	}
	var ops []Op
	for i := 0; i < min(len(want), len(got)); i++ {
		if want[i].Equal(got[i]) {
			continue
		}
		p := want[i].Params()
		var del []string
		for k := range got[i] {
			if _, ok := want[i][k]; !ok {
				del = append(del, k)
			}
		}
		if len(del) > 0 {
			sort.Strings(del)
			p["delete"] = strings.Join(del, ",")
		}
		ops = append(ops, Op{Method: "PUT", Pos: i, Params: p})
	}
	for i := len(got) - 1; i >= len(want); i-- {
		ops = append(ops, Op{Method: "DELETE", Pos: i})
	}
	for i := len(got); i < len(want); i++ {
		ops = append(ops, Op{Method: "POST", Params: want[i].Params()})
		if i > 0 {
			// The new rule is at the top of i+1 rules: move it past the last.
			ops = append(ops, Op{Method: "PUT", Pos: 0, Params: proxmox.Params{"moveto": strconv.Itoa(i + 1)}})
		}
	}
	if digest != "" {
		ops[0].Params = ops[0].Params.WithDigest(digest)
	}
	return ops
}

// observed turns normalised rules into the status form.
func Observed(rules []Rule) []v1alpha1.FirewallRuleObservation {
	out := make([]v1alpha1.FirewallRuleObservation, 0, len(rules))
	for i, r := range rules {
		out = append(out, v1alpha1.FirewallRuleObservation{Pos: i, Type: r["type"], Action: r["action"], Macro: r["macro"],
			Proto: r["proto"], DPort: r["dport"], SPort: r["sport"], Source: r["source"], Dest: r["dest"], Iface: r["iface"],
			Enable: r["enable"] == "1", Comment: r["comment"], Log: r["log"]})
	}
	return out
}

// describe names the differing positions for the Synced condition's diff.
func Describe(want, got []Rule) string {
	i := firstDiff(want, got)
	if i < 0 {
		return ""
	}
	return fmt.Sprintf("rules differ from position %d (spec has %d rules, Proxmox %d)", i, len(want), len(got))
}

// WantAll normalises a spec's rules.
func WantAll(rules []v1alpha1.FirewallRule) []Rule {
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		out = append(out, Want(r))
	}
	return out
}

// Read reads a rule list in order, normalised, with its digest.
func Read(ctx context.Context, c *proxmox.Client, l proxmox.RuleList) ([]Rule, string, error) {
	raw, digest, err := c.Rules(ctx, l)
	if err != nil {
		return nil, "", err
	}
	return FromPVE(raw), digest, nil
}

// FromPVE normalises rules as the client read them.
func FromPVE(raw []proxmox.Rule) []Rule {
	out := make([]Rule, 0, len(raw))
	for _, r := range raw {
		m := make(map[string]any, len(r))
		for k, v := range r {
			m[k] = v
		}
		out = append(out, Got(m))
	}
	return out
}

// Link is the rule that links security group name (enabled).
func Link(name string) Rule { return Rule{"type": "group", "action": name, "enable": "1"} }

// Apply sends one call of a plan.
func Apply(ctx context.Context, c *proxmox.Client, l proxmox.RuleList, o Op) error {
	change, digest := o.Params.SplitDigest()
	switch o.Method {
	case "POST":
		return c.CreateRule(ctx, l, change)
	case "PUT":
		return c.UpdateRule(ctx, l, o.Pos, change, digest)
	default:
		return c.DeleteRule(ctx, l, o.Pos, digest)
	}
}

// Rewrite turns the list got (read with digest) into want; an error names
// the call that failed.
func Rewrite(ctx context.Context, c *proxmox.Client, l proxmox.RuleList, want, got []Rule, digest string) error {
	for _, o := range Plan(want, got, digest) {
		if err := Apply(ctx, c, l, o); err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
	}
	return nil
}

// MoveTo moves rule pos before the rule at index to (to the end when to is
// past it), the way PVE's update_rule handles moveto.
func MoveTo[T any](rules []T, pos, to int) []T {
	if to == pos {
		return rules
	}
	out := make([]T, 0, len(rules))
	for i, r := range rules {
		if i == pos {
			continue
		}
		if i == to {
			out = append(out, rules[pos])
		}
		out = append(out, r)
	}
	if to >= len(rules) {
		out = append(out, rules[pos])
	}
	return out
}
