package proxmox

import (
	"context"
	"sort"
	"strconv"
	"strings"
)

// A FirewallAlias is a cluster firewall alias as PVE reports it; Digest is
// the digest of the whole alias list, which updates and deletes carry.
type FirewallAlias struct {
	Name      string
	CIDR      string
	Comment   string
	IPVersion int
	Digest    string
}

func aliasPath(name string) string { return joinPath("cluster", "firewall", "aliases", name) }

// FirewallAlias reads cluster alias name; found is false only when PVE says
// it does not exist.
func (c *Client) FirewallAlias(ctx context.Context, name string) (FirewallAlias, bool, error) {
	var raw map[string]any
	if err := c.do(ctx, "GET", aliasPath(name), nil, &raw); err != nil {
		if IsNotFound(err) {
			return FirewallAlias{}, false, nil
		}
		return FirewallAlias{}, false, err
	}
	return FirewallAlias{
		Name: String(raw["name"]), CIDR: String(raw["cidr"]), Comment: String(raw["comment"]),
		IPVersion: atoi(String(raw["ipversion"])), Digest: String(raw["digest"]),
	}, true, nil
}

// CreateFirewallAlias creates cluster alias name for cidr.
func (c *Client) CreateFirewallAlias(ctx context.Context, name, cidr, comment string) error {
	p := map[string]any{"name": name, "cidr": cidr}
	if comment != "" {
		p["comment"] = comment
	}
	return c.do(ctx, "POST", joinPath("cluster", "firewall", "aliases"), p, nil)
}

// UpdateFirewallAlias sets an alias's cidr (PVE requires it with every
// update) and comment; digest is the alias list's digest the change was
// computed from.
func (c *Client) UpdateFirewallAlias(ctx context.Context, name, cidr, comment, digest string) error {
	p := map[string]any{"cidr": cidr, "comment": comment}
	if digest != "" {
		p["digest"] = digest
	}
	return c.do(ctx, "PUT", aliasPath(name), p, nil)
}

// DeleteFirewallAlias deletes cluster alias name. PVE does not look for
// rules that use it (they are left dangling) and answers success for a
// missing alias.
func (c *Client) DeleteFirewallAlias(ctx context.Context, name, digest string) error {
	var p map[string]any
	if digest != "" {
		p = map[string]any{"digest": digest}
	}
	return c.do(ctx, "DELETE", aliasPath(name), p, nil)
}

// A FirewallIPSet is an IP set as PVE reports it: its comment (from
// the set list) and entries in PVE's order; Digest is the entries' digest,
// which entry updates and deletes carry.
type FirewallIPSet struct {
	Name    string
	Comment string
	Entries []IPSetEntry
	Digest  string
}

// An IPSetEntry is one address or network of an IP set.
type IPSetEntry struct {
	CIDR    string
	NoMatch bool
	Comment string
}

// An IPSetScope is where IP sets live: the cluster's (/cluster/firewall/ipset)
// or a guest's own (.../{vmid}/firewall/ipset, e.g. ipfilter-net0).
type IPSetScope struct{ base string }

// ClusterIPSets are the cluster's IP sets.
func ClusterIPSets() IPSetScope { return IPSetScope{base: joinPath("cluster", "firewall", "ipset")} }

// GuestIPSets are guest g's own IP sets.
func GuestIPSets(g GuestRef) IPSetScope { return IPSetScope{base: g.path("firewall", "ipset")} }

func (s IPSetScope) path(elems ...string) string { return s.base + joinPath(elems...) }

func (s IPSetScope) String() string { return s.base }

// IPSetNames lists the IP sets of a scope with their comments.
func (c *Client) IPSetNames(ctx context.Context, s IPSetScope) (map[string]string, error) {
	var list []struct {
		Name    string `json:"name"`
		Comment string `json:"comment"`
	}
	if err := c.do(ctx, "GET", s.path(), nil, &list); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(list))
	for _, e := range list {
		out[e.Name] = e.Comment
	}
	return out, nil
}

// FirewallIPSet reads IP set name of scope s with its entries; found is
// false only when PVE says it does not exist.
func (c *Client) FirewallIPSet(ctx context.Context, s IPSetScope, name string) (FirewallIPSet, bool, error) {
	var raw []map[string]any
	if err := c.do(ctx, "GET", s.path(name), nil, &raw); err != nil {
		if IsNotFound(err) {
			return FirewallIPSet{}, false, nil
		}
		return FirewallIPSet{}, false, err
	}
	set := FirewallIPSet{Name: name, Entries: make([]IPSetEntry, 0, len(raw))}
	for _, e := range raw {
		set.Entries = append(set.Entries, IPSetEntry{
			CIDR: String(e["cidr"]), NoMatch: String(e["nomatch"]) == "1", Comment: String(e["comment"]),
		})
		set.Digest = String(e["digest"])
	}
	names, err := c.IPSetNames(ctx, s)
	if err != nil {
		return FirewallIPSet{}, false, err
	}
	set.Comment = names[name]
	return set, true, nil
}

// CreateFirewallIPSet creates an empty IP set.
func (c *Client) CreateFirewallIPSet(ctx context.Context, s IPSetScope, name, comment string) error {
	p := map[string]any{"name": name}
	if comment != "" {
		p["comment"] = comment
	}
	return c.do(ctx, "POST", s.path(), p, nil)
}

// SetFirewallIPSetComment changes a set's comment in place (rename to the
// same name, as IPSet.pm allows).
func (c *Client) SetFirewallIPSetComment(ctx context.Context, s IPSetScope, name, comment string) error {
	return c.do(ctx, "POST", s.path(), map[string]any{"name": name, "rename": name, "comment": comment}, nil)
}

// DeleteFirewallIPSet deletes IP set name; without force PVE
// refuses a set with entries ("IPSet '<name>' is not empty"), with it the
// entries go too. PVE does not look for rules that use it.
func (c *Client) DeleteFirewallIPSet(ctx context.Context, s IPSetScope, name string, force bool) error {
	var p map[string]any
	if force {
		p = map[string]any{"force": "1"}
	}
	return c.do(ctx, "DELETE", s.path(name), p, nil)
}

// AddIPSetEntry adds an entry to set name.
func (c *Client) AddIPSetEntry(ctx context.Context, s IPSetScope, name string, e IPSetEntry) error {
	p := map[string]any{"cidr": e.CIDR}
	if e.NoMatch {
		p["nomatch"] = "1"
	}
	if e.Comment != "" {
		p["comment"] = e.Comment
	}
	return c.do(ctx, "POST", s.path(name), p, nil)
}

// UpdateIPSetEntry sets the nomatch flag and comment of an entry; digest is
// the set's digest the change was computed from.
func (c *Client) UpdateIPSetEntry(ctx context.Context, s IPSetScope, name string, e IPSetEntry, digest string) error {
	p := map[string]any{"nomatch": Bool(e.NoMatch), "comment": e.Comment}
	if digest != "" {
		p["digest"] = digest
	}
	return c.do(ctx, "PUT", s.path(name, e.CIDR), p, nil)
}

// DeleteIPSetEntry removes the entry cidr from set name.
func (c *Client) DeleteIPSetEntry(ctx context.Context, s IPSetScope, name, cidr, digest string) error {
	var p map[string]any
	if digest != "" {
		p = map[string]any{"digest": digest}
	}
	return c.do(ctx, "DELETE", s.path(name, cidr), p, nil)
}

// RulesUsing lists the firewall rules of the site that use an alias or IP
// set in source or dest (match tells whether one address term names it),
// as "security group web, rule 2" or "qemu 100 (web-1), rule 0". PVE
// itself never refuses to delete an alias or IP set in use, so this is the
// only guard. It reads every security group's rules, the datacenter's,
// every node's and every guest's; a
// list that cannot be read is an error, as the use cannot be ruled out.
func (c *Client) RulesUsing(ctx context.Context, match func(term string) bool) ([]string, error) {
	var users []string
	scan := func(what string, rules []Rule) {
		for _, r := range rules {
			if ruleUses(r, match) {
				users = append(users, what+", rule "+r["pos"])
			}
		}
	}
	groups, err := c.SecurityGroups(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		rules, _, err := c.Rules(ctx, GroupRules(g.Name))
		if err != nil {
			return nil, err
		}
		scan("security group "+g.Name, rules)
	}
	if err := c.EachHostRules(ctx, scan); err != nil {
		return nil, err
	}
	if err := c.EachGuestRules(ctx, func(g *Guest, rules []Rule) {
		scan(g.Type+" "+strconv.Itoa(int(g.VMID))+" ("+g.Name+")", rules)
	}); err != nil {
		return nil, err
	}
	sort.Strings(users)
	return users, nil
}

// ruleUses tells whether one term of a rule's source or dest matches.
func ruleUses(r Rule, match func(term string) bool) bool {
	for _, k := range []string{"source", "dest"} {
		for _, t := range strings.Split(r[k], ",") {
			if t = strings.TrimSpace(t); t != "" && match(t) {
				return true
			}
		}
	}
	return false
}

// UsesAlias matches a rule term naming cluster alias name (PVE compares
// alias names without case; dc/ is the explicit cluster scope).
func UsesAlias(name string) func(string) bool {
	return func(t string) bool {
		return strings.EqualFold(strings.TrimPrefix(t, "dc/"), name)
	}
}

// UsesIPSet matches a rule term naming cluster IP set name (+name or
// +dc/name; a guest rule's +name falls back to the cluster set).
func UsesIPSet(name string) func(string) bool {
	return func(t string) bool {
		return t == "+"+name || t == "+dc/"+name
	}
}

// IPSetsUsing lists the cluster IP sets with an entry naming alias name
// (an entry's cidr may be an alias), as "IP set admins, entry office".
// PVE deletes an alias such an entry names without a word.
func (c *Client) IPSetsUsing(ctx context.Context, name string) ([]string, error) {
	var list []struct {
		Name string `json:"name"`
	}
	if err := c.do(ctx, "GET", ClusterIPSets().path(), nil, &list); err != nil {
		return nil, err
	}
	match := UsesAlias(name)
	var users []string
	for _, s := range list {
		set, ok, err := c.FirewallIPSet(ctx, ClusterIPSets(), s.Name)
		if err != nil {
			return nil, err
		}
		for _, e := range set.Entries {
			if ok && match(e.CIDR) {
				users = append(users, "IP set "+s.Name+", entry "+e.CIDR)
			}
		}
	}
	sort.Strings(users)
	return users, nil
}

// NodeNames lists the cluster's nodes (GET /nodes), sorted.
func (c *Client) NodeNames(ctx context.Context) ([]string, error) {
	var list []struct {
		Node string `json:"node"`
	}
	if err := c.do(ctx, "GET", "/nodes", nil, &list); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, n := range list {
		out = append(out, n.Node)
	}
	sort.Strings(out)
	return out, nil
}

// EachHostRules reads the datacenter firewall's rules and every node's and
// hands each list to fn with its name ("the datacenter firewall", "the
// firewall of node pve1"). A list that cannot be read (an offline node's)
// is an error: a caller asking whether something is used cannot rule the
// use out.
func (c *Client) EachHostRules(ctx context.Context, fn func(what string, rules []Rule)) error {
	rules, _, err := c.Rules(ctx, ClusterRules())
	if err != nil {
		return err
	}
	fn("the datacenter firewall", rules)
	nodes, err := c.NodeNames(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		rules, _, err := c.Rules(ctx, NodeRules(n))
		if err != nil {
			return err
		}
		fn("the firewall of node "+n, rules)
	}
	return nil
}
