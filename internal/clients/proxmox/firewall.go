package proxmox

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// A RuleList is a firewall rule list PVE keeps in order: a security group's
// or a guest's own.
type RuleList struct{ path string }

// GroupRules is the rule list of cluster security group name.
func GroupRules(name string) RuleList {
	return RuleList{path: joinPath("cluster", "firewall", "groups", name)}
}

// GuestRules is the rule list of a guest's own firewall.
func GuestRules(g GuestRef) RuleList { return RuleList{path: g.path("firewall", "rules")} }

// ClusterRules is the datacenter firewall's rule list (cluster.fw).
func ClusterRules() RuleList { return RuleList{path: joinPath("cluster", "firewall", "rules")} }

// NodeRules is the rule list of node's host firewall (host.fw).
func NodeRules(node string) RuleList {
	return RuleList{path: joinPath("nodes", node, "firewall", "rules")}
}

func (l RuleList) String() string { return l.path }

// FirewallOptions is where a firewall file's options are read and set: the
// datacenter's or a node's.
type FirewallOptions struct{ path string }

// ClusterFirewallOptions are the datacenter firewall's options.
func ClusterFirewallOptions() FirewallOptions {
	return FirewallOptions{path: joinPath("cluster", "firewall", "options")}
}

// NodeFirewallOptions are node's host firewall options.
func NodeFirewallOptions(node string) FirewallOptions {
	return FirewallOptions{path: joinPath("nodes", node, "firewall", "options")}
}

func (o FirewallOptions) String() string { return o.path }

// Options reads a firewall file's options, in PVE's string forms, with
// their digest; an answer without a digest is an error, as nothing is
// ever written without one.
func (c *Client) Options(ctx context.Context, o FirewallOptions) (Params, string, error) {
	var raw map[string]any
	if err := c.do(ctx, "GET", o.path, nil, &raw); err != nil {
		return nil, "", err
	}
	digest := String(raw["digest"])
	if digest == "" {
		return nil, "", fmt.Errorf("GET %s: the firewall options carry no digest", o.path)
	}
	out := make(Params, len(raw))
	for k, v := range raw {
		if k != "digest" {
			out[k] = String(v)
		}
	}
	return out, digest, nil
}

// SetOptions changes a firewall file's options (delete lists options to
// remove); digest is the options' digest the change was computed from.
func (c *Client) SetOptions(ctx context.Context, o FirewallOptions, set Params, del []string, digest string) error {
	if digest == "" {
		return fmt.Errorf("PUT %s: refusing to write firewall options without their digest", o.path)
	}
	p := anyParams(set)
	if len(del) > 0 {
		sort.Strings(del)
		p["delete"] = strings.Join(del, ",")
	}
	p["digest"] = digest
	return c.do(ctx, "PUT", o.path, p, nil)
}

// A Rule is a rule as PVE lists it, in PVE's string forms (pos, type,
// action, macro, proto, dport, ..., enable, digest).
type Rule = Params

// Rules reads a rule list in order, with the list's digest ("" when empty).
// A missing security group is PVE's error (IsNotFound).
func (c *Client) Rules(ctx context.Context, l RuleList) ([]Rule, string, error) {
	var raw []map[string]any
	if err := c.do(ctx, "GET", l.path, nil, &raw); err != nil {
		return nil, "", err
	}
	out := make([]Rule, 0, len(raw))
	for _, r := range raw {
		p := make(Rule, len(r))
		for k, v := range r {
			p[k] = String(v)
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return atoi(out[i]["pos"]) < atoi(out[j]["pos"]) })
	digest := ""
	if len(out) > 0 {
		digest = out[len(out)-1]["digest"]
	}
	return out, digest, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// CreateRule adds a rule at the top of the list (PVE's create_rule takes no
// digest: it inserts, whatever the list holds).
func (c *Client) CreateRule(ctx context.Context, l RuleList, rule Params) error {
	return c.do(ctx, "POST", l.path, anyParams(rule), nil)
}

// UpdateRule changes the rule at pos (or moves it, with moveto). digest is
// the list's digest the change was computed from ("" only for a list that
// was empty when read).
func (c *Client) UpdateRule(ctx context.Context, l RuleList, pos int, change Params, digest string) error {
	p := anyParams(change)
	if digest != "" {
		p["digest"] = digest
	}
	return c.do(ctx, "PUT", l.path+"/"+strconv.Itoa(pos), p, nil)
}

// DeleteRule removes the rule at pos.
func (c *Client) DeleteRule(ctx context.Context, l RuleList, pos int, digest string) error {
	var p map[string]any
	if digest != "" {
		p = map[string]any{"digest": digest}
	}
	return c.do(ctx, "DELETE", l.path+"/"+strconv.Itoa(pos), p, nil)
}

// A SecurityGroup is a cluster security group as the group list shows it.
type SecurityGroup struct {
	Name    string `json:"group"`
	Comment string `json:"comment"`
	Digest  string `json:"digest"`
}

// SecurityGroups lists the cluster's security groups.
func (c *Client) SecurityGroups(ctx context.Context) ([]SecurityGroup, error) {
	var out []SecurityGroup
	err := c.do(ctx, "GET", joinPath("cluster", "firewall", "groups"), nil, &out)
	return out, err
}

// CreateSecurityGroup creates an empty security group.
func (c *Client) CreateSecurityGroup(ctx context.Context, name, comment string) error {
	p := map[string]any{"group": name}
	if comment != "" {
		p["comment"] = comment
	}
	return c.do(ctx, "POST", joinPath("cluster", "firewall", "groups"), p, nil)
}

// SetSecurityGroupComment changes a group's comment in place (rename to the
// same name, PVE's documented way).
func (c *Client) SetSecurityGroupComment(ctx context.Context, name, comment string) error {
	return c.do(ctx, "POST", joinPath("cluster", "firewall", "groups"),
		map[string]any{"group": name, "rename": name, "comment": comment}, nil)
}

// DeleteSecurityGroup deletes an empty security group (PVE refuses others).
func (c *Client) DeleteSecurityGroup(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", GroupRules(name).path, nil, nil)
}

// GuestFirewall is a guest's own firewall as last read: its options and its
// rules, each with the digest PVE gives it (pve-firewall keeps one for the
// options and one for the rule list).
type GuestFirewall struct {
	Options     map[string]any // as decoded; values read with String
	Rules       []Rule
	RulesDigest string
}

// guestFirewallMemo keeps each guest's firewall as read together with its
// config (see ReadGuestFirewall).
type guestFirewallMemo struct {
	mu sync.Mutex
	m  map[int]*GuestFirewall
}

// ReadGuestFirewall returns a guest's firewall: read now when fresh (the
// guest's config was just read) or when none was read before, else as last
// read. So the firewall is re-read exactly when GuestConfig re-reads the
// config (the view shows a change, the spec changed, the drift interval
// passed, or the provider changed the guest), and steady-state requests
// stay one cluster view per poll whatever the number of guests. Options
// without PVE's digest are an error: nothing is ever written without one.
func (c *Client) ReadGuestFirewall(ctx context.Context, g *Guest, fresh bool) (*GuestFirewall, error) {
	id := int(g.VMID)
	c.fwMemo.mu.Lock()
	st, ok := c.fwMemo.m[id]
	c.fwMemo.mu.Unlock()
	if ok && !fresh {
		return st, nil
	}
	ref := g.Ref()
	st = &GuestFirewall{}
	var opts map[string]any
	err := c.do(ctx, "GET", ref.path("firewall", "options"), nil, &opts)
	if err == nil {
		st.Rules, st.RulesDigest, err = c.Rules(ctx, GuestRules(ref))
	}
	if err == nil && String(opts["digest"]) == "" {
		err = fmt.Errorf("GET %s: the firewall options carry no digest", ref.path("firewall", "options"))
	}
	if err != nil {
		// The next Observe reads config and firewall again rather than
		// compare against an older firewall.
		c.Forget(id)
		return nil, err
	}
	st.Options = opts
	c.fwMemo.mu.Lock()
	if c.fwMemo.m == nil {
		c.fwMemo.m = map[int]*GuestFirewall{}
	}
	c.fwMemo.m[id] = st
	c.fwMemo.mu.Unlock()
	return st, nil
}

// SetGuestFirewallOptions sets a guest's firewall options; digest is the
// options' digest the change was computed from.
func (c *Client) SetGuestFirewallOptions(ctx context.Context, g GuestRef, set Params, digest string) error {
	if digest == "" {
		return fmt.Errorf("PUT %s: refusing to write firewall options without their digest", g.path("firewall", "options"))
	}
	p := anyParams(set)
	p["digest"] = digest
	return c.do(ctx, "PUT", g.path("firewall", "options"), p, nil)
}
