package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// fwRule is one firewall rule with the options as PVE stores them.
type fwRule map[string]string

// fwGroup is a cluster security group.
type fwGroup struct {
	Name    string   `json:"name"`
	Comment string   `json:"comment,omitempty"`
	Rules   []fwRule `json:"rules"`
}

// firewallSet is a guest's own firewall file: options, rules, IP sets.
type firewallSet struct {
	Options map[string]string   `json:"options,omitempty"`
	Rules   []fwRule            `json:"rules,omitempty"`
	IPSets  map[string]*fwIPSet `json:"ipsets,omitempty"`
}

// fwDigest stands in for the SHA1 of a firewall config file.
func fwDigest(v any) string {
	b, _ := json.Marshal(v)
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// ruleMeta are parameters of rule calls that are not rule options.
var ruleMeta = map[string]bool{"node": true, "vmid": true, "group": true, "digest": true, "pos": true,
	"moveto": true, "delete": true}

func checkDigest(r *request, current string) error {
	if d := r.str("digest"); d != "" && d != current {
		return fail("detected modified configuration - file changed by other user? Try again.")
	}
	return nil
}

var (
	reIPSetRef = regexp.MustCompile(`^\+(guest/|dc/|sdn/)?([A-Za-z][A-Za-z0-9\-_]+)$`)
	reAliasRef = regexp.MustCompile(`^(guest/|dc/)?([A-Za-z][A-Za-z0-9\-_]+)$`)
	reGroupRef = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9\-_]+$`)
	reNetIface = regexp.MustCompile(`^net\d+$`)
)

// verifyRule is PVE's verify_rule (pve-firewall Firewall.pm) for the parts
// the simulator models, in its order: type and action, the rule types the
// firewall file takes (env), an interface where the file allows one, dport
// and sport needing proto, then ipset and alias references. Like PVE (which
// raises the first error it finds) it reports one parameter error, and it
// does not require a referenced security group to exist.
func (s *Simulator) verifyRule(rule fwRule, fw *firewallSet, env fwEnv) error {
	if err := s.ruleError(rule, fw, env); err != nil {
		return paramError(map[string]string{err[0]: err[1]})
	}
	return nil
}

func (s *Simulator) ruleError(rule fwRule, fw *firewallSet, env fwEnv) []string {
	typ, action := rule["type"], rule["action"]
	switch {
	case typ == "":
		return []string{"type", "missing property"}
	case action == "":
		return []string{"action", "missing property"}
	case !env.hasType(typ):
		return []string{"type", fmt.Sprintf("invalid rule type '%s' for rule_env '%s'", typ, env.name)}
	}
	switch typ {
	case "in", "out", "forward":
		if typ == "forward" && action == "REJECT" {
			return []string{"action", "cannot define REJECT rules on forward chain"}
		}
		if action != "ACCEPT" && action != "DROP" && action != "REJECT" {
			return []string{"action", fmt.Sprintf("unknown action '%s'", action)}
		}
	case "group":
		if !reGroupRef.MatchString(action) {
			return []string{"action", "invalid characters in security group name"}
		}
	}
	if rule["iface"] != "" && !env.iface {
		return []string{"type", "parameter -i not allowed for this rule type"}
	}
	if (env.name == "vm" || env.name == "ct") && rule["iface"] != "" && !reNetIface.MatchString(rule["iface"]) {
		return []string{"iface", "value does not match the regex pattern 'net\\d+'"}
	}
	for _, k := range []string{"dport", "sport"} {
		if rule[k] != "" && rule["proto"] == "" {
			return []string{"proto", fmt.Sprintf("missing property - '%s' requires this property", k)}
		}
	}
	for _, k := range []string{"source", "dest"} {
		v := rule[k]
		switch {
		case v == "":
		case strings.HasPrefix(v, "+"):
			m := reIPSetRef.FindStringSubmatch(v)
			if m == nil {
				return []string{k, fmt.Sprintf("invalid ipset name '%s'", v)}
			}
			if s.st.IPSets[m[2]] == nil && (fw == nil || fw.IPSets[m[2]] == nil) {
				return []string{k, fmt.Sprintf("no such ipset '%s'", m[2])}
			}
		case reAliasRef.MatchString(v):
			m := reAliasRef.FindStringSubmatch(v)
			if s.st.Aliases[strings.ToLower(m[2])] == nil && s.st.Aliases[m[2]] == nil {
				return []string{k, fmt.Sprintf("no such alias '%s'", v)}
			}
		}
	}
	return nil
}

func ruleOut(rule fwRule, pos int, digest string) map[string]any {
	spec := ruleSpec()
	out := map[string]any{"pos": pos, "digest": digest}
	for k, v := range rule {
		out[k] = typedValue(spec, k, v)
	}
	// Every rule read back has enable: parse_fw_rule sets 0 for a rule line
	// starting with '|' and 1 otherwise; create_rule stores 0 when not given.
	if _, ok := out["enable"]; !ok {
		out["enable"] = 0
	}
	return out
}

func ruleSpec() *RouteSpec {
	sp, _ := Specs()
	return sp["POST /cluster/firewall/groups/{group}"]
}

func listRuleSet(rules []fwRule) []map[string]any {
	d := fwDigest(rules)
	out := make([]map[string]any, 0, len(rules))
	for i, rule := range rules {
		out = append(out, ruleOut(rule, i, d))
	}
	return out
}

// addRuleTo inserts a rule at pos (default: the top, as PVE does). Like
// pve-firewall API2/Firewall/Rules.pm create_rule it takes a digest
// parameter but never checks it (only update and delete assert it).
func (s *Simulator) addRuleTo(r *request, rules *[]fwRule, fw *firewallSet, env fwEnv) error {
	rule := copyRuleData(fwRule{}, r.params)
	if err := s.verifyRule(rule, fw, env); err != nil {
		return err
	}
	pos := r.int("pos", 0)
	if pos < 0 || pos > len(*rules) {
		pos = len(*rules)
	}
	*rules = append(*rules, nil)
	copy((*rules)[pos+1:], (*rules)[pos:])
	(*rules)[pos] = rule
	s.changed()
	return nil
}

// copyRuleData is pve-firewall Firewall.pm copy_rule_data: rule fields
// from the parameters, where ” or '-' removes a field, so a rule never
// stores (nor returns) an empty field.
func copyRuleData(rule fwRule, params map[string]string) fwRule {
	for k, v := range params {
		if ruleMeta[k] {
			continue
		}
		if v == "" || v == "-" {
			delete(rule, k)
		} else {
			rule[k] = v
		}
	}
	return rule
}

func rulePos(r *request, rules []fwRule) (int, error) {
	pos, err := strconv.Atoi(r.str("pos"))
	if err != nil || pos < 0 || pos >= len(rules) {
		return 0, fail("no rule at position %s", r.str("pos"))
	}
	return pos, nil
}

func (s *Simulator) updateRuleIn(r *request, rules []fwRule, fw *firewallSet, env fwEnv) error {
	pos, err := rulePos(r, rules)
	if err != nil {
		return err
	}
	if err := checkDigest(r, fwDigest(rules)); err != nil {
		return err
	}
	if r.has("moveto") {
		to := r.int("moveto", 0)
		rule := rules[pos]
		rest := append(append([]fwRule{}, rules[:pos]...), rules[pos+1:]...)
		if to > pos {
			to--
		}
		if to < 0 || to > len(rest) {
			to = len(rest)
		}
		rest = append(rest[:to], append([]fwRule{rule}, rest[to:]...)...)
		copy(rules, rest)
		s.changed()
		return nil
	}
	rule := fwRule{}
	for k, v := range rules[pos] {
		rule[k] = v
	}
	rule = copyRuleData(rule, r.params)
	for _, k := range splitList(r.str("delete")) {
		delete(rule, k)
	}
	if err := s.verifyRule(rule, fw, env); err != nil {
		return err
	}
	rules[pos] = rule
	s.changed()
	return nil
}

func (s *Simulator) deleteRuleFrom(r *request, rules *[]fwRule) error {
	pos, err := rulePos(r, *rules)
	if err != nil {
		return err
	}
	if err := checkDigest(r, fwDigest(*rules)); err != nil {
		return err
	}
	*rules = append((*rules)[:pos], (*rules)[pos+1:]...)
	s.changed()
	return nil
}

// Cluster security groups.

func listGroups(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []map[string]any{}
	for _, name := range sortedKeys(s.st.Groups) {
		g := s.st.Groups[name]
		e := map[string]any{"group": name, "digest": fwDigest(s.st.Groups)}
		if g.Comment != "" {
			e["comment"] = g.Comment
		}
		out = append(out, e)
	}
	return out, nil
}

func createGroup(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.str("group")
	if err := checkDigest(r, fwDigest(s.st.Groups)); err != nil {
		return nil, err
	}
	if old := r.str("rename"); old != "" {
		g := s.st.Groups[old]
		if g == nil {
			return nil, paramErr("group", "Security group '%s' does not exist", old)
		}
		// rename = group is PVE's way to change only the comment.
		if name != old && s.st.Groups[name] != nil {
			return nil, paramErr("group", "Security group '%s' does already exist", name)
		}
		delete(s.st.Groups, old)
		g.Name = name
		if r.has("comment") {
			g.Comment = r.str("comment")
		}
		s.st.Groups[name] = g
		s.changed()
		return nil, nil
	}
	if s.st.Groups[name] != nil {
		return nil, paramErr("group", "Security group '%s' already exists", name)
	}
	s.st.Groups[name] = &fwGroup{Name: name, Comment: r.str("comment"), Rules: []fwRule{}}
	s.changed()
	return nil, nil
}

func (s *Simulator) group(r *request) (*fwGroup, error) {
	g := s.st.Groups[r.str("group")]
	if g == nil {
		return nil, fail("no such security group '%s'", r.str("group"))
	}
	return g, nil
}

func groupRules(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, err := s.group(r)
	if err != nil {
		return nil, err
	}
	return listRuleSet(g.Rules), nil
}

func groupAddRule(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(r)
	if err != nil {
		return nil, err
	}
	return nil, s.addRuleTo(r, &g.Rules, nil, envGroup)
}

func deleteGroup(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(r)
	if err != nil {
		return nil, err
	}
	if len(g.Rules) > 0 {
		return nil, fail("Security group '%s' is not empty", g.Name)
	}
	delete(s.st.Groups, g.Name)
	s.changed()
	return nil, nil
}

func groupGetRule(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, err := s.group(r)
	if err != nil {
		return nil, err
	}
	pos, err := rulePos(r, g.Rules)
	if err != nil {
		return nil, err
	}
	return ruleOut(g.Rules[pos], pos, fwDigest(g.Rules)), nil
}

func groupUpdateRule(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(r)
	if err != nil {
		return nil, err
	}
	return nil, s.updateRuleIn(r, g.Rules, nil, envGroup)
}

func groupDeleteRule(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(r)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteRuleFrom(r, &g.Rules)
}
