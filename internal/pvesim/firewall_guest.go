package pvesim

import "net/http"

// guestFWHandler operates on a guest's firewall with s.mu held.
type guestFWHandler func(r *request, fw *firewallSet) (any, error)

// guestFW resolves the guest and its firewall file; GETs take the read lock.
func guestFW(kind string, fn guestFWHandler) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		if r.method == http.MethodGet {
			s.mu.RLock()
			defer s.mu.RUnlock()
		} else {
			s.mu.Lock()
			defer s.mu.Unlock()
		}
		g, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		if g.Firewall == nil {
			if r.method == http.MethodGet {
				return fn(r, &firewallSet{})
			}
			g.Firewall = &firewallSet{}
		}
		return fn(r, g.Firewall)
	}
}

func getFWOptions(r *request, fw *firewallSet) (any, error) {
	spec := r.s.fwOptionSpec(r)
	out := map[string]any{"digest": fwDigest(fw.Options)}
	for k, v := range fw.Options {
		out[k] = typedValue(spec, k, v)
	}
	return out, nil
}

func (s *Simulator) fwOptionSpec(r *request) *RouteSpec {
	sp, _ := Specs()
	kind := kindQemu
	if r.route != nil && len(r.route.parts) > 2 && r.route.parts[2] == kindLXC {
		kind = kindLXC
	}
	return sp["PUT /nodes/{node}/"+kind+"/{vmid}/firewall/options"]
}

func putFWOptions(r *request, fw *firewallSet) (any, error) {
	if err := checkDigest(r, fwDigest(fw.Options)); err != nil {
		return nil, err
	}
	if fw.Options == nil {
		fw.Options = map[string]string{}
	}
	for k, v := range r.params {
		if k != "node" && k != "vmid" && k != "digest" && k != "delete" {
			fw.Options[k] = v
		}
	}
	for _, k := range splitList(r.str("delete")) {
		delete(fw.Options, k)
	}
	r.s.changed()
	return nil, nil
}

func listRules(r *request, fw *firewallSet) (any, error) { return listRuleSet(fw.Rules), nil }

func addRule(r *request, fw *firewallSet) (any, error) { return nil, r.s.addRuleTo(r, &fw.Rules, fw) }

func getRule(r *request, fw *firewallSet) (any, error) {
	pos, err := rulePos(r, fw.Rules)
	if err != nil {
		return nil, err
	}
	return ruleOut(fw.Rules[pos], pos, fwDigest(fw.Rules)), nil
}

func updateRule(r *request, fw *firewallSet) (any, error) {
	return nil, r.s.updateRuleIn(r, fw.Rules, fw)
}

func deleteRule(r *request, fw *firewallSet) (any, error) {
	return nil, r.s.deleteRuleFrom(r, &fw.Rules)
}
