package pvesim

import (
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
	Strict    bool     `json:"strict,omitempty"`
	Disable   bool     `json:"disable,omitempty"`
	Comment   string   `json:"comment,omitempty"`
}

func ruleOutHA(s *Simulator, h *haRule) map[string]any {
	m := map[string]any{"rule": h.Rule, "type": h.Type, "resources": strings.Join(h.Resources, ","),
		"digest": fwDigest(s.st.HARules), "disable": b2i(h.Disable)}
	if h.Type == "node-affinity" {
		m["nodes"] = h.Nodes
		m["strict"] = b2i(h.Strict)
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
	for _, id := range sortedKeys(s.st.HARules) {
		h := s.st.HARules[id]
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
		h.Strict = r.bool("strict", false)
	}
	if r.has("disable") {
		h.Disable = r.bool("disable", false)
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
		return nil, fail("HA rule '%s' already defined", id)
	}
	h := &haRule{Rule: id, Type: r.str("type")}
	if err := s.applyRule(r, h); err != nil {
		return nil, err
	}
	s.st.HARules[id] = h
	s.changed()
	return nil, nil
}

func (s *Simulator) ruleArg(r *request) (*haRule, error) {
	h := s.st.HARules[r.str("rule")]
	if h == nil {
		if r.method == http.MethodPut {
			return nil, fail("HA rule '%s' does not exist", r.str("rule"))
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
		return nil, err
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
			cp.Strict = false
		case "disable":
			cp.Disable = false
		}
	}
	if err := s.applyRule(r, &cp); err != nil {
		return nil, err
	}
	*h = cp
	s.changed()
	return nil, nil
}

func deleteHARule(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.ruleArg(r)
	if err != nil {
		return nil, err
	}
	delete(s.st.HARules, h.Rule)
	s.changed()
	return nil, nil
}
