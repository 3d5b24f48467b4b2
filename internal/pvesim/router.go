package pvesim

import (
	"net/url"
	"strings"
)

// handlerFunc serves one route; it returns the value for "data" or an error.
type handlerFunc func(r *request) (any, error)

type route struct {
	method   string
	template string
	parts    []string
	spec     *RouteSpec
	handler  handlerFunc
}

// router matches "/nodes/pve1/qemu/100" against templates such as
// "/nodes/{node}/qemu/{vmid}", preferring literal segments.
type router struct {
	byMethod map[string][]*route
}

func (rt *router) add(method, template string, h handlerFunc, spec *RouteSpec) {
	if rt.byMethod == nil {
		rt.byMethod = map[string][]*route{}
	}
	rt.byMethod[method] = append(rt.byMethod[method], &route{
		method: method, template: template, parts: strings.Split(strings.Trim(template, "/"), "/"),
		spec: spec, handler: h,
	})
}

// match returns the route and its path parameters, unescaped.
func (rt *router) match(method, path string) (*route, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *route
	var bestVars map[string]string
	bestLiterals := -1
	for _, r := range rt.byMethod[method] {
		rsegs := segs
		if n := len(r.parts); n > 0 && (r.parts[n-1] == "{cidr}" || r.parts[n-1] == "{volume}") && len(segs) > n {
			// PVE's IP set and storage content handlers take the rest of
			// the URI as the CIDR or volume (fragmentDelimiter ''), so
			// "10.0.0.0/8" and "local:vztmpl/x.tar.zst" need no escaping.
			rsegs = append(append([]string{}, segs[:n-1]...), strings.Join(segs[n-1:], "/"))
		}
		if len(r.parts) != len(rsegs) {
			continue
		}
		vars := map[string]string{}
		literals := 0
		ok := true
		for i, p := range r.parts {
			seg, err := url.PathUnescape(rsegs[i])
			if err != nil {
				ok = false
				break
			}
			if strings.HasPrefix(p, "{") {
				if seg == "" {
					ok = false
					break
				}
				vars[p[1:len(p)-1]] = seg
			} else if p == seg {
				literals++
			} else {
				ok = false
				break
			}
		}
		if ok && literals > bestLiterals {
			best, bestVars, bestLiterals = r, vars, literals
		}
	}
	return best, bestVars
}

// templates lists "METHOD template" of every registered route.
func (rt *router) templates() []string {
	var out []string
	for m, rs := range rt.byMethod {
		for _, r := range rs {
			out = append(out, m+" "+r.template)
		}
	}
	return out
}
