package pvesim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// haResource is an HA-managed guest.
type haResource struct {
	SID         string `json:"sid"`
	State       string `json:"state"`
	Group       string `json:"group,omitempty"`
	Comment     string `json:"comment,omitempty"`
	MaxRelocate *int   `json:"max_relocate,omitempty"`
	MaxRestart  *int   `json:"max_restart,omitempty"`
	Failback    *int   `json:"failback,omitempty"`
}

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

func haSID(g *guest) string {
	if g.Kind == kindLXC {
		return "ct:" + strconv.Itoa(g.VMID)
	}
	return "vm:" + strconv.Itoa(g.VMID)
}

// normalizeSID turns "100" into "vm:100" / "ct:100" after the guest's kind.
func (s *Simulator) normalizeSID(sid, typ string) (string, error) {
	if strings.Contains(sid, ":") {
		return sid, nil
	}
	id, _ := strconv.Atoi(sid)
	g := s.st.Guests[id]
	switch {
	case g == nil:
		return "", fail("unable to detect SID from VMID - VM/CT %s does not exist", sid)
	default:
		return haSID(g), nil
	}
}

func (s *Simulator) haOut(h *haResource) map[string]any {
	typ, _, _ := strings.Cut(h.SID, ":")
	m := map[string]any{"sid": h.SID, "type": typ, "state": h.State, "digest": fwDigest(s.st.HAResources)}
	if h.Group != "" {
		m["group"] = h.Group
	}
	if h.Comment != "" {
		m["comment"] = h.Comment
	}
	if h.MaxRelocate != nil {
		m["max_relocate"] = *h.MaxRelocate
	}
	if h.MaxRestart != nil {
		m["max_restart"] = *h.MaxRestart
	}
	if h.Failback != nil {
		m["failback"] = *h.Failback
	}
	return m
}

func listHAResources(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []map[string]any{}
	for _, sid := range sortedKeys(s.st.HAResources) {
		if t := r.str("type"); t != "" && !strings.HasPrefix(sid, t+":") {
			continue
		}
		out = append(out, s.haOut(s.st.HAResources[sid]))
	}
	return out, nil
}

func (s *Simulator) haArg(r *request) (*haResource, error) {
	sid, err := s.normalizeSID(r.str("sid"), "")
	if err != nil {
		return nil, err
	}
	h := s.st.HAResources[sid]
	if h == nil {
		return nil, fail("no such resource '%s'", sid)
	}
	return h, nil
}

func (s *Simulator) applyHA(r *request, h *haResource) {
	if r.has("state") {
		st := r.str("state")
		if st == "enabled" {
			st = "started"
		}
		h.State = st
	}
	if r.has("group") {
		h.Group = r.str("group")
	}
	if r.has("comment") {
		h.Comment = r.str("comment")
	}
	intp := func(k string) *int {
		v := r.int(k, 0)
		return &v
	}
	if r.has("max_relocate") {
		h.MaxRelocate = intp("max_relocate")
	}
	if r.has("max_restart") {
		h.MaxRestart = intp("max_restart")
	}
	if r.has("failback") {
		v := b2i(r.bool("failback", true))
		h.Failback = &v
	}
}

func createHAResource(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sid, err := s.normalizeSID(r.str("sid"), "")
	if err != nil {
		return nil, err
	}
	typ, idStr, _ := strings.Cut(sid, ":")
	if t := r.str("type"); t != "" && t != typ {
		return nil, fail("types does not match")
	}
	if r.has("group") {
		return nil, fail("invalid parameter 'group': ha groups have been migrated to rules")
	}
	id, _ := strconv.Atoi(idStr)
	g := s.st.Guests[id]
	if g == nil || (typ == "vm") != (g.Kind == kindQemu) {
		return nil, fail("%s %d does not exist", map[string]string{"vm": "VM", "ct": "CT"}[typ], id)
	}
	if s.st.HAResources[sid] != nil {
		return nil, fail("resource ID '%s' already defined", sid)
	}
	h := &haResource{SID: sid, State: "started"}
	s.applyHA(r, h)
	s.st.HAResources[sid] = h
	if h.State == "started" && !g.Running && !g.isTemplate() {
		g.Running, g.Started, g.bootedAt = true, nowUnix(), time.Now()
	}
	s.changed()
	return nil, nil
}

func getHAResource(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, err := s.haArg(r)
	if err != nil {
		return nil, err
	}
	return s.haOut(h), nil
}

func updateHAResource(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.haArg(r)
	if err != nil {
		return nil, err
	}
	if err := checkDigest(r, fwDigest(s.st.HAResources)); err != nil {
		return nil, err
	}
	for _, k := range splitList(r.str("delete")) {
		switch k {
		case "group":
			h.Group = ""
		case "comment":
			h.Comment = ""
		case "max_relocate":
			h.MaxRelocate = nil
		case "max_restart":
			h.MaxRestart = nil
		case "failback":
			h.Failback = nil
		}
	}
	s.applyHA(r, h)
	s.changed()
	return nil, nil
}

func deleteHAResource(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sid, err := s.normalizeSID(r.str("sid"), "")
	if err != nil {
		return nil, err
	}
	h := s.st.HAResources[sid]
	if h == nil {
		return nil, fail("cannot delete service '%s', not HA managed!", sid)
	}
	delete(s.st.HAResources, h.SID)
	if r.bool("purge", true) {
		for id, rule := range s.st.HARules {
			rule.Resources = removeItem(rule.Resources, h.SID)
			if len(rule.Resources) == 0 {
				delete(s.st.HARules, id)
			}
		}
	}
	s.changed()
	return nil, nil
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
