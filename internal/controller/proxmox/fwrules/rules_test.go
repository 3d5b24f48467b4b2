package fwrules

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

func TestRuleNormalisation(t *testing.T) {
	ssh := v1alpha1.FirewallRule{Type: "in", Action: "ACCEPT", Macro: ptr.To("ssh")}
	web := v1alpha1.FirewallRule{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("80,443"), Comment: ptr.To("web")}
	cases := map[string]struct {
		spec v1alpha1.FirewallRule
		pve  map[string]any
		want bool
	}{
		"macro case is PVE's":           {ssh, map[string]any{"pos": 0.0, "digest": "d", "type": "in", "action": "ACCEPT", "macro": "SSH", "enable": 1.0}, true},
		"enable defaults on":            {ssh, map[string]any{"type": "in", "action": "ACCEPT", "macro": "SSH", "enable": "1"}, true},
		"a rule created without enable": {ssh, map[string]any{"type": "in", "action": "ACCEPT", "macro": "SSH"}, false},
		"disabled by hand":              {ssh, map[string]any{"type": "in", "action": "ACCEPT", "macro": "SSH", "enable": 0.0}, false},
		"ipversion is derived": {web, map[string]any{"type": "in", "action": "ACCEPT", "proto": "TCP", "dport": "80,443", "comment": "web",
			"enable": 1.0, "ipversion": 4.0}, true},
		"nolog is no log": {web, map[string]any{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "80,443", "comment": "web",
			"enable": 1.0, "log": "nolog"}, true},
		"a log level differs": {web, map[string]any{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "80,443", "comment": "web",
			"enable": 1.0, "log": "info"}, false},
		"an option added by hand": {web, map[string]any{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "80,443", "comment": "web",
			"enable": 1.0, "iface": "net0"}, false},
		"another port":      {web, map[string]any{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "80", "comment": "web", "enable": 1.0}, false},
		"comment removed":   {web, map[string]any{"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "80,443", "enable": 1.0}, false},
		"another direction": {web, map[string]any{"type": "out", "action": "ACCEPT", "proto": "tcp", "dport": "80,443", "comment": "web", "enable": 1.0}, false},
		"off in spec and in PVE": {v1alpha1.FirewallRule{Type: "out", Action: "DROP", Enable: ptr.To(false), Log: ptr.To("nolog")},
			map[string]any{"type": "out", "action": "DROP", "enable": 0.0}, true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w, g := Want(c.spec), Got(c.pve)
			if got := w.Equal(g); got != c.want {
				t.Errorf("equal(%v, %v) = %v, want %v", w, g, got, c.want)
			}
		})
	}
}

// pveApply runs ops on a rule list the way PVE's rule API does: POST puts a
// new rule at the top (enable 0 unless sent), PUT copies options and
// deletes those listed in delete or moves the rule (moveto), DELETE
// removes one. It fails on a bad position, as PVE does.
func pveApply(rules []map[string]string, ops []Op) ([]map[string]string, error) {
	for _, o := range ops {
		switch o.Method {
		case "POST":
			r := map[string]string{"enable": "0"}
			for k, v := range o.Params {
				if k != "digest" {
					r[k] = fmt.Sprint(v)
				}
			}
			rules = append([]map[string]string{r}, rules...)
		case "PUT":
			if o.Pos >= len(rules) {
				return nil, fmt.Errorf("no rule at position %d", o.Pos)
			}
			if to, ok := o.Params["moveto"]; ok {
				n, err := strconv.Atoi(to)
				if err != nil {
					return nil, err
				}
				rules = MoveTo(rules, o.Pos, n)
				continue
			}
			r := rules[o.Pos]
			for k, v := range o.Params {
				if k != "digest" && k != "delete" {
					r[k] = fmt.Sprint(v)
				}
			}
			if d, ok := o.Params["delete"]; ok {
				for _, k := range strings.Split(d, ",") {
					delete(r, k)
				}
			}
		case "DELETE":
			if o.Pos >= len(rules) {
				return nil, fmt.Errorf("no rule at position %d", o.Pos)
			}
			rules = append(rules[:o.Pos], rules[o.Pos+1:]...)
		}
	}
	return rules, nil
}

func TestPlanReachesTheSpec(t *testing.T) {
	r := func(typ, action, extra string) map[string]string {
		m := map[string]string{"type": typ, "action": action, "enable": "1"}
		for _, kv := range strings.Fields(extra) {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		return m
	}
	a, b, c, d := r("in", "ACCEPT", "macro=SSH"), r("in", "ACCEPT", "proto=tcp dport=443"), r("out", "DROP", "dest=10.0.0.0/8"), r("in", "REJECT", "comment=last log=info")
	cases := map[string]struct {
		want, got []map[string]string
		calls     int
	}{
		"equal":                       {[]map[string]string{a, b}, []map[string]string{a, b}, 0},
		"create all in an empty one":  {[]map[string]string{a, b, c}, nil, 5},
		"empty the group":             {nil, []map[string]string{a, b, c}, 3},
		"append one":                  {[]map[string]string{a, b, c}, []map[string]string{a, b}, 2},
		"drop the last":               {[]map[string]string{a, b}, []map[string]string{a, b, c}, 1},
		"drop the first":              {[]map[string]string{b, c}, []map[string]string{a, b, c}, 3},
		"insert in the middle":        {[]map[string]string{a, d, b, c}, []map[string]string{a, b, c}, 4},
		"reorder":                     {[]map[string]string{b, a}, []map[string]string{a, b}, 2},
		"an option added by hand":     {[]map[string]string{a, b}, []map[string]string{a, r("in", "ACCEPT", "proto=tcp dport=443 iface=net0")}, 1},
		"disabled by hand":            {[]map[string]string{a}, []map[string]string{r("in", "ACCEPT", "macro=SSH enable=0")}, 1},
		"a rule added by hand on top": {[]map[string]string{a, b}, []map[string]string{c, a, b}, 3},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want := toRules(tc.want)
			ops := Plan(want, toRules(tc.got), "d1")
			if len(ops) != tc.calls {
				t.Errorf("%d calls, want %d: %v", len(ops), tc.calls, ops)
			}
			for i, o := range ops {
				if _, has := o.Params["digest"]; has != (i == 0) {
					t.Errorf("call %d (%v): digest sent = %v; only the first call carries it", i, o, has)
				}
			}
			end, err := pveApply(clone(tc.got), ops)
			if err != nil {
				t.Fatalf("%v: %v", ops, err)
			}
			if i := firstDiff(want, toRules(end)); i >= 0 {
				t.Errorf("after %v the group is %v, want %v (differs at %d)", ops, end, tc.want, i)
			}
		})
	}
}

func toRules(ms []map[string]string) []Rule {
	out := []Rule{}
	for _, m := range ms {
		a := map[string]any{}
		for k, v := range m {
			a[k] = v
		}
		out = append(out, Got(a))
	}
	return out
}

func clone(ms []map[string]string) []map[string]string {
	var out []map[string]string
	for _, m := range ms {
		c := map[string]string{}
		for k, v := range m {
			c[k] = v
		}
		out = append(out, c)
	}
	return out
}
