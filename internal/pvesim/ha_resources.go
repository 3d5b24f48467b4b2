package pvesim

import (
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

	moving string // "migrate" or "relocate" while an HA move is under way
}

// managerState is the HA manager's service state for a resource
// (pve-ha-manager src/PVE/HA/Manager.pm): a started request is
// "request_start" until the guest runs, a stopped or disabled one
// "request_stop" until it stops; migrate/relocate while moving.
func (h *haResource) managerState(g *guest) string {
	switch {
	case h.moving != "":
		return h.moving
	case h.State == "started" && g.Running:
		return "started"
	case h.State == "started":
		return "request_start"
	case g.Running:
		return "request_stop"
	}
	return "stopped"
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
		if s.opts.PVEMajor == 8 {
			return nil, fail("HA group '%s' does not exist", r.str("group"))
		}
		return nil, fail("invalid parameter 'group': ha groups have been migrated to rules")
	}
	id, _ := strconv.Atoi(idStr)
	g := s.st.Guests[id]
	if g == nil || (typ == "vm") != (g.Kind == kindQemu) {
		return nil, fail("%s %d does not exist", map[string]string{"vm": "VM", "ct": "CT"}[typ], id)
	}
	if s.st.HAResources[sid] != nil {
		return nil, fail("create resource failed: resource ID '%s' already defined", sid)
	}
	h := &haResource{SID: sid, State: "started"}
	s.applyHA(r, h)
	s.st.HAResources[sid] = h
	if h.State == "started" && !g.Running && !g.isTemplate() {
		g.Running, g.Started, g.bootedAt = true, nowUnix(), time.Now()
	} else if h.State != "started" && g.Running {
		s.haEnforce(sid, h.State) // the manager's request_stop
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
	before := h.State
	s.applyHA(r, h)
	if h.State != before {
		s.haEnforce(h.SID, h.State)
	}
	s.changed()
	return nil, nil
}

// haEnforce lets the CRM bring a guest to its requested state a task
// duration later: started runs it, stopped and disabled stop it.
func (s *Simulator) haEnforce(sid, state string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.pause(s.opts.TaskDuration)
		s.mu.Lock()
		defer s.mu.Unlock()
		g := s.guestBySID(sid)
		if g == nil || g.isTemplate() {
			return
		}
		switch state {
		case "started":
			if !g.Running {
				s.startGuest(g)
			}
		case "stopped", "disabled":
			if g.Running {
				applyPending(g)
				g.Running, g.Paused = false, false
			}
		}
		s.changed()
	}()
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
