package firewallsecuritygroup

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

// ruleKeys are the rule options the spec manages, in the order they are sent.
var ruleKeys = []string{"type", "action", "macro", "proto", "dport", "sport", "source", "dest", "enable", "comment", "log"}

// ignoredKeys are what PVE adds to a listed rule that is not a rule option
// (ipversion PVE derives from the addresses).
var ignoredKeys = map[string]bool{"pos": true, "digest": true, "ipversion": true}

// A rule is a firewall rule as normalised key/value pairs: absent options
// and PVE's defaults (nolog, an empty comment) are left out, enable is 1 or 0.
type rule map[string]string

// wantRule normalises a spec rule; enable defaults to on, as in PVE's GUI
// (the API's default, off, is never relied on: enable is always sent).
func wantRule(r v1alpha1.FirewallRule) rule {
	out := rule{"type": r.Type, "action": r.Action, "enable": "1"}
	if r.Enable != nil && !*r.Enable {
		out["enable"] = "0"
	}
	for k, v := range map[string]*string{"macro": r.Macro, "proto": r.Proto, "dport": r.DPort, "sport": r.SPort,
		"source": r.Source, "dest": r.Dest, "comment": r.Comment, "log": r.Log} {
		if v != nil {
			out[k] = *v
		}
	}
	return out.normal()
}

// gotRule normalises a rule as GET .../groups/{group} lists it.
func gotRule(m map[string]any) rule {
	out := rule{"enable": "0"} // PVE stores a rule created without enable as off
	for k, v := range m {
		if !ignoredKeys[k] {
			out[k] = proxmox.String(v)
		}
	}
	return out.normal()
}

// normal drops empty options and PVE's implicit defaults so equal rules
// compare equal however they were written.
func (r rule) normal() rule {
	out := rule{}
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
func (r rule) equal(o rule) bool {
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
func (r rule) params() proxmox.Params {
	p := proxmox.Params{}
	for _, k := range ruleKeys {
		if v, ok := r[k]; ok {
			p[k] = v
		}
	}
	return p
}

// An op is one API call that changes a group's rule list.
type op struct {
	method string // PUT, DELETE or POST
	pos    int    // the rule position PUT and DELETE address
	params proxmox.Params
}

func (o op) String() string {
	if o.method == "POST" {
		return fmt.Sprintf("POST %v", o.params)
	}
	return fmt.Sprintf("%s %d %v", o.method, o.pos, o.params)
}

// firstDiff is the first position where got differs from want, or -1.
func firstDiff(want, got []rule) int {
	for i := range max(len(want), len(got)) {
		if i >= len(want) || i >= len(got) || !want[i].equal(got[i]) {
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
func plan(want, got []rule, digest string) []op {
	if firstDiff(want, got) < 0 {
		return nil
	}
	var ops []op
	for i := 0; i < min(len(want), len(got)); i++ {
		if want[i].equal(got[i]) {
			continue
		}
		p := want[i].params()
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
		ops = append(ops, op{method: "PUT", pos: i, params: p})
	}
	for i := len(got) - 1; i >= len(want); i-- {
		ops = append(ops, op{method: "DELETE", pos: i})
	}
	for i := len(got); i < len(want); i++ {
		ops = append(ops, op{method: "POST", params: want[i].params()})
		if i > 0 {
			// The new rule is at the top of i+1 rules: move it past the last.
			ops = append(ops, op{method: "PUT", pos: 0, params: proxmox.Params{"moveto": strconv.Itoa(i + 1)}})
		}
	}
	if digest != "" {
		ops[0].params = ops[0].params.WithDigest(digest)
	}
	return ops
}

// observed turns normalised rules into the status form.
func observed(rules []rule) []v1alpha1.FirewallRuleObservation {
	out := make([]v1alpha1.FirewallRuleObservation, 0, len(rules))
	for i, r := range rules {
		out = append(out, v1alpha1.FirewallRuleObservation{Pos: i, Type: r["type"], Action: r["action"], Macro: r["macro"],
			Proto: r["proto"], DPort: r["dport"], SPort: r["sport"], Source: r["source"], Dest: r["dest"],
			Enable: r["enable"] == "1", Comment: r["comment"], Log: r["log"]})
	}
	return out
}

// describe names the differing positions for the Synced condition's diff.
func describe(want, got []rule) string {
	i := firstDiff(want, got)
	if i < 0 {
		return ""
	}
	return fmt.Sprintf("rules differ from position %d (spec has %d rules, Proxmox %d)", i, len(want), len(got))
}
