package pvesim

import (
	"slices"
	"strconv"
	"strings"
)

// haMove is HA migrate/relocate (PVE 9): resources in positive affinity
// rules move along, resources in negative affinity rules that already sit
// on the target node block the move. The CRM moves the guests a task
// duration later; the call itself answers at once, as in PVE.
func haMove(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sid, err := s.normalizeSID(r.str("sid"), "")
	if err != nil {
		return nil, err
	}
	if s.st.HAResources[sid] == nil {
		return nil, fail("resource '%s' is not HA managed", sid)
	}
	node := r.str("node")
	if !s.st.hasNode(node) {
		return nil, fail("no such cluster node '%s'", node)
	}
	var together, blocking []string
	for _, id := range sortedKeys(s.st.HARules) {
		rule := s.st.HARules[id]
		if rule.Type != "resource-affinity" || rule.Disable || !slices.Contains(rule.Resources, sid) {
			continue
		}
		for _, other := range rule.Resources {
			if other == sid {
				continue
			}
			if rule.Affinity == "positive" && !slices.Contains(together, other) {
				together = append(together, other)
			}
			if rule.Affinity == "negative" && s.guestNodeOf(other) == node {
				blocking = append(blocking, other)
			}
		}
	}
	out := map[string]any{"sid": sid, "requested-node": node}
	if len(together) > 0 {
		out["comigrated-resources"] = together
	}
	if len(blocking) > 0 {
		b := make([]map[string]string, 0, len(blocking))
		for _, x := range blocking {
			b = append(b, map[string]string{"sid": x, "cause": "resource-affinity"})
		}
		out["blocking-resources"] = b
		return out, nil
	}
	moving := append([]string{sid}, together...)
	mode := "migrate"
	if strings.HasSuffix(r.path, "relocate") {
		mode = "relocate"
	}
	for _, m := range moving {
		if h := s.st.HAResources[m]; h != nil {
			h.moving = mode
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.pause(s.opts.TaskDuration)
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range moving {
			if g := s.guestBySID(m); g != nil {
				g.Node = node
			}
			if h := s.st.HAResources[m]; h != nil {
				h.moving = ""
			}
		}
		s.changed()
	}()
	return out, nil
}

func (s *Simulator) guestBySID(sid string) *guest {
	_, idStr, _ := strings.Cut(sid, ":")
	id, err := strconv.Atoi(idStr)
	if err != nil {
		return nil
	}
	if g := s.st.Guests[id]; g != nil && haSID(g) == sid {
		return g
	}
	return nil
}

func (s *Simulator) guestNodeOf(sid string) string {
	if g := s.guestBySID(sid); g != nil {
		return g.Node
	}
	return ""
}
