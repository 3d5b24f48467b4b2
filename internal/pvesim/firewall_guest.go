package pvesim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// An fwEnv is pve-firewall's rule_env of a firewall file (Firewall.pm
// $rule_env_direction_lookup and $rule_env_iface_lookup): the rule types it
// takes, whether a rule may name an interface, and the PUT route whose
// parameters are its options.
type fwEnv struct {
	name    string
	types   []string
	iface   bool
	options string
}

var (
	envVM      = fwEnv{name: "vm", types: []string{"in", "out", "group"}, iface: true, options: "PUT /nodes/{node}/qemu/{vmid}/firewall/options"}
	envCT      = fwEnv{name: "ct", types: []string{"in", "out", "group"}, iface: true, options: "PUT /nodes/{node}/lxc/{vmid}/firewall/options"}
	envGroup   = fwEnv{name: "group", types: []string{"in", "out", "forward"}}
	envCluster = fwEnv{name: "cluster", types: []string{"in", "out", "forward", "group"}, iface: true, options: "PUT /cluster/firewall/options"}
	envHost    = fwEnv{name: "host", types: []string{"in", "out", "forward", "group"}, iface: true, options: "PUT /nodes/{node}/firewall/options"}
)

func guestEnv(kind string) fwEnv {
	if kind == kindLXC {
		return envCT
	}
	return envVM
}

// fwHandler operates on a firewall file with s.mu held.
type fwHandler func(r *request, fw *firewallSet, env fwEnv) (any, error)

// scopedFW locks the simulator (GETs take the read lock), resolves the
// firewall file with find (create: the call writes) and runs fn on it; a
// file never written reads as empty.
func scopedFW(env fwEnv, find func(r *request, create bool) (*firewallSet, error), fn fwHandler) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		get := r.method == http.MethodGet
		if get {
			s.mu.RLock()
			defer s.mu.RUnlock()
		} else {
			s.mu.Lock()
			defer s.mu.Unlock()
		}
		fw, err := find(r, !get)
		if err != nil {
			return nil, err
		}
		if fw == nil {
			fw = &firewallSet{}
		}
		return fn(r, fw, env)
	}
}

// guestFW resolves the guest and its firewall file.
func guestFW(kind string, fn fwHandler) handlerFunc {
	return scopedFW(guestEnv(kind), func(r *request, create bool) (*firewallSet, error) {
		g, err := r.s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		if g.Firewall == nil && create {
			g.Firewall = &firewallSet{}
		}
		return g.Firewall, nil
	}, fn)
}

// clusterFW is the datacenter's firewall file (cluster.fw): its options and
// rules (its groups, IP sets and aliases are served by their own routes).
func clusterFW(fn fwHandler) handlerFunc {
	return scopedFW(envCluster, func(r *request, create bool) (*firewallSet, error) {
		st := r.s.st
		if st.ClusterFW == nil && create {
			st.ClusterFW = &firewallSet{}
		}
		return st.ClusterFW, nil
	}, fn)
}

// hostFW is a node's firewall file (host.fw), reached through the node the
// way pveproxy proxies to it (proxyto node).
func hostFW(fn fwHandler) handlerFunc {
	return scopedFW(envHost, func(r *request, create bool) (*firewallSet, error) {
		s := r.s
		node := r.str("node")
		if err := s.checkNode(node); err != nil {
			return nil, err
		}
		if s.st.HostFW == nil {
			if !create {
				return nil, nil
			}
			s.st.HostFW = map[string]*firewallSet{}
		}
		if s.st.HostFW[node] == nil && create {
			s.st.HostFW[node] = &firewallSet{}
		}
		return s.st.HostFW[node], nil
	}, fn)
}

func getFWOptions(r *request, fw *firewallSet, env fwEnv) (any, error) {
	spec := optionSpec(env)
	out := map[string]any{"digest": fwDigest(fw.Options)}
	for k, v := range fw.Options {
		out[k] = typedValue(spec, k, v)
	}
	return out, nil
}

func optionSpec(env fwEnv) *RouteSpec {
	sp, _ := Specs()
	return sp[env.options]
}

// optionMeta are parameters of the options calls that are not options.
var optionMeta = map[string]bool{"node": true, "vmid": true, "digest": true, "delete": true}

// putFWOptions is set_options of pve-firewall's VM.pm, Cluster.pm and
// Host.pm: the digest is asserted, deleting an option the file does not
// take is a parameter error, and enable is stored the way each file does
// (a host stores 0 or 1; the cluster turns enable > 1 into the time, its
// anti-lockout double call).
func putFWOptions(r *request, fw *firewallSet, env fwEnv) (any, error) {
	if err := checkDigest(r, fwDigest(fw.Options)); err != nil {
		return nil, err
	}
	spec := optionSpec(env)
	del := splitList(r.str("delete"))
	for _, k := range del {
		if optionMeta[k] || spec == nil || spec.Params[k] == nil {
			return nil, paramErr("delete", "no such option '%s'", k)
		}
	}
	if fw.Options == nil {
		fw.Options = map[string]string{}
	}
	for _, k := range del {
		delete(fw.Options, k)
	}
	for k, v := range r.params {
		if optionMeta[k] {
			continue
		}
		if k == "enable" {
			switch env.name {
			case "host":
				v = boolDigit(v != "0" && v != "")
			case "cluster":
				if r.int("enable", 0) > 1 {
					v = strconv.FormatInt(time.Now().Unix(), 10)
				}
			}
		}
		fw.Options[k] = v
	}
	r.s.changed()
	return nil, nil
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func listRules(r *request, fw *firewallSet, _ fwEnv) (any, error) { return listRuleSet(fw.Rules), nil }

func addRule(r *request, fw *firewallSet, env fwEnv) (any, error) {
	return nil, r.s.addRuleTo(r, &fw.Rules, fw, env)
}

func getRule(r *request, fw *firewallSet, _ fwEnv) (any, error) {
	pos, err := rulePos(r, fw.Rules)
	if err != nil {
		return nil, err
	}
	return ruleOut(fw.Rules[pos], pos, fwDigest(fw.Rules)), nil
}

func updateRule(r *request, fw *firewallSet, env fwEnv) (any, error) {
	return nil, r.s.updateRuleIn(r, fw.Rules, fw, env)
}

func deleteRule(r *request, fw *firewallSet, _ fwEnv) (any, error) {
	return nil, r.s.deleteRuleFrom(r, &fw.Rules)
}

// hasType says whether env takes rules of type t.
func (env fwEnv) hasType(t string) bool {
	for _, x := range env.types {
		if x == t {
			return true
		}
	}
	return strings.TrimSpace(t) == "" // a missing type is reported as missing
}
