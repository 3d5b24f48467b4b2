package pvesim

import (
	"errors"
	"net/http"
	"sort"
	"strings"
)

// haRule is a PVE 9 HA rule (node-affinity or resource-affinity).
type haRule struct {
	Rule      string   `json:"rule"`
	Type      string   `json:"type"`
	Resources []string `json:"resources"`
	Nodes     string   `json:"nodes,omitempty"`
	Affinity  string   `json:"affinity,omitempty"`
	Strict    *bool    `json:"strict,omitempty"`
	Disable   bool     `json:"disable,omitempty"`
	Comment   string   `json:"comment,omitempty"`
	Order     int      `json:"order,omitempty"` // position in rules.cfg
}

// ruleOutHA is $get_api_ha_rule (pve-ha-manager src/PVE/API2/HA/Rules.pm):
// the rule with its digest and order; set_rule_defaults only fills options
// whose default is true, so disable appears only when set and strict only
// when given; resources are encoded sorted.
func ruleOutHA(s *Simulator, h *haRule) map[string]any {
	res := append([]string(nil), h.Resources...)
	sort.Strings(res)
	m := map[string]any{"rule": h.Rule, "type": h.Type, "resources": strings.Join(res, ","),
		"digest": fwDigest(s.st.HARules), "order": h.Order}
	if h.Disable {
		m["disable"] = 1
	}
	if h.Type == "node-affinity" {
		m["nodes"] = h.Nodes
		if h.Strict != nil {
			m["strict"] = b2i(*h.Strict)
		}
	} else {
		m["affinity"] = h.Affinity
	}
	if h.Comment != "" {
		m["comment"] = h.Comment
	}
	return m
}

func listHARules(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []map[string]any{}
	for _, h := range s.rulesInOrder() { // foreach_rule with sorted => 1
		if t := r.str("type"); t != "" && h.Type != t {
			continue
		}
		if res := r.str("resource"); res != "" && !contains(h.Resources, res) {
			continue
		}
		out = append(out, ruleOutHA(s, h))
	}
	return out, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// applyRule fills and checks a rule; node-affinity needs nodes,
// resource-affinity needs affinity, and every resource must be HA-managed.
func (s *Simulator) applyRule(r *request, h *haRule) error {
	if r.has("resources") {
		h.Resources = nil
		var unmanaged []string
		for _, res := range splitList(r.str("resources")) {
			sid, err := s.normalizeSID(res, "")
			if err != nil {
				return err
			}
			if s.st.HAResources[sid] == nil {
				unmanaged = append(unmanaged, sid)
			}
			h.Resources = append(h.Resources, sid)
		}
		if len(h.Resources) == 0 {
			return fail("no resources were specified")
		}
		if len(unmanaged) > 0 {
			sort.Strings(unmanaged)
			return fail("cannot use unmanaged resource(s) %s.", strings.Join(unmanaged, ", "))
		}
	}
	if r.has("nodes") {
		var missing []string
		for _, n := range splitList(r.str("nodes")) {
			name, _, _ := strings.Cut(n, ":")
			if !s.st.hasNode(name) {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return fail("cannot use non-existent node(s) %s.", strings.Join(missing, ", "))
		}
		h.Nodes = r.str("nodes")
	}
	if r.has("affinity") {
		h.Affinity = r.str("affinity")
	}
	if r.has("strict") {
		v := r.bool("strict", false)
		h.Strict = &v
	}
	// create_rule and update_rule drop a false "disable" parameter, so
	// disable=0 does not re-enable a rule (delete=disable does).
	if r.bool("disable", false) {
		h.Disable = true
	}
	if r.has("comment") {
		h.Comment = r.str("comment")
	}
	if h.Type == "node-affinity" && h.Nodes == "" {
		return paramErr("nodes", "property is missing and it is not optional")
	}
	if h.Type == "resource-affinity" && h.Affinity == "" {
		return paramErr("affinity", "property is missing and it is not optional")
	}
	if h.Type == "node-affinity" && h.Affinity != "" {
		return paramErr("affinity", "property is not defined in schema and the schema does not allow additional properties")
	}
	return nil
}

func createHARule(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.str("rule")
	if s.st.HARules[id] != nil {
		return nil, fail("create ha rule failed: HA rule '%s' already defined", id)
	}
	h := &haRule{Rule: id, Type: r.str("type")}
	if err := s.applyRule(r, h); err != nil {
		return nil, lockHAErr("create ha rule failed", err)
	}
	// get_next_ordinal (pve-ha-manager src/PVE/HA/Rules.pm) takes the
	// smallest existing order plus one; writing rules.cfg sorts by order
	// and reading it back numbers the sections 1..n.
	h.Order = 1
	for i, x := range s.rulesInOrder() {
		if i == 0 {
			h.Order = x.Order + 1
		}
	}
	s.st.HARules[id] = h
	s.renumberRules(h)
	s.changed()
	return nil, nil
}

func (s *Simulator) ruleArg(r *request) (*haRule, error) {
	h := s.st.HARules[r.str("rule")]
	if h == nil {
		if r.method == http.MethodPut {
			return nil, fail("update HA rules failed: HA rule '%s' does not exist", r.str("rule"))
		}
		return nil, fail("no such ha rule '%s'", r.str("rule"))
	}
	return h, nil
}

func getHARule(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, err := s.ruleArg(r)
	if err != nil {
		return nil, err
	}
	return ruleOutHA(s, h), nil
}

func updateHARule(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.ruleArg(r)
	if err != nil {
		return nil, err
	}
	if err := checkDigest(r, fwDigest(s.st.HARules)); err != nil {
		return nil, lockHAErr("update HA rules failed", err)
	}
	if t := r.str("type"); t != h.Type {
		return nil, paramErr("type", "rule '%s' is of type '%s'", h.Rule, h.Type)
	}
	cp := *h
	for _, k := range splitList(r.str("delete")) {
		switch k {
		case "comment":
			cp.Comment = ""
		case "strict":
			cp.Strict = nil
		case "disable":
			cp.Disable = false
		}
	}
	if err := s.applyRule(r, &cp); err != nil {
		return nil, lockHAErr("update HA rules failed", err)
	}
	*h = cp
	s.changed()
	return nil, nil
}

func deleteHARule(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	// delete_rule deletes without looking: a missing rule is no error.
	h := s.st.HARules[r.str("rule")]
	if h == nil {
		return nil, nil
	}
	delete(s.st.HARules, h.Rule)
	s.renumberRules(nil)
	s.changed()
	return nil, nil
}

// rulesInOrder lists the rules by their order (rule id on ties).
func (s *Simulator) rulesInOrder() []*haRule {
	out := make([]*haRule, 0, len(s.st.HARules))
	for _, id := range sortedKeys(s.st.HARules) {
		out = append(out, s.st.HARules[id])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out
}

// renumberRules is write_rules_config then read_rules_config: sections are
// written sorted by order and read back numbered from 1. A new rule sharing
// its order with an existing one goes after it (PVE's tie order follows
// Perl's hash order).
func (s *Simulator) renumberRules(added *haRule) {
	list := s.rulesInOrder()
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Order != list[j].Order {
			return list[i].Order < list[j].Order
		}
		return list[j] == added && list[i] != added
	})
	for i, h := range list {
		h.Order = i + 1
	}
}

// lockHAErr is lock_ha_domain (pve-ha-manager src/PVE/HA/Config.pm): a
// die inside the locked section comes out as "errmsg: error".
func lockHAErr(prefix string, err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == http.StatusInternalServerError && ae.Errors == nil {
		return fail("%s: %s", prefix, ae.Msg)
	}
	return err
}
