package guestfw

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/fwrules"
)

// applyLinks runs ops on a guest's rules the way PVE's rule API does: POST
// puts the new rule at the top, PUT rewrites or (moveto) moves one, DELETE
// removes one.
func applyLinks(rules []fwRule, ops []fwrules.Op) ([]fwRule, error) {
	for _, o := range ops {
		if o.Method != "POST" && o.Pos >= len(rules) {
			return nil, fmt.Errorf("no rule at position %d", o.Pos)
		}
		switch o.Method {
		case "POST":
			rules = append([]fwRule{{typ: o.Params["type"], action: o.Params["action"], enable: o.Params["enable"] == "1"}}, rules...)
		case "PUT":
			if to, ok := o.Params["moveto"]; ok {
				n, err := strconv.Atoi(to)
				if err != nil {
					return nil, err
				}
				rules = fwrules.MoveTo(rules, o.Pos, n)
				continue
			}
			rules[o.Pos].action = o.Params["action"]
			rules[o.Pos].enable = o.Params["enable"] == "1"
		case "DELETE":
			rules = append(rules[:o.Pos], rules[o.Pos+1:]...)
		}
	}
	return rules, nil
}

func TestLinkPlan(t *testing.T) {
	link := func(g string) fwRule { return fwRule{typ: "group", action: g, enable: true} }
	ssh := fwRule{typ: "in", action: "ACCEPT", enable: true}
	drop := fwRule{typ: "out", action: "DROP", enable: false}
	cases := map[string]struct {
		want  []string
		rules []fwRule
		calls int
	}{
		"nothing to do":                  {[]string{"web", "ssh"}, []fwRule{link("web"), link("ssh"), ssh}, 0},
		"no links, none wanted":          {nil, []fwRule{ssh, drop}, 0},
		"link two to an empty firewall":  {[]string{"web", "ssh"}, nil, 3},
		"link two beside other rules":    {[]string{"web", "ssh"}, []fwRule{ssh, drop}, 3},
		"unlink the second":              {[]string{"web"}, []fwRule{link("web"), ssh, link("ssh")}, 1},
		"unlink the first":               {[]string{"ssh"}, []fwRule{link("web"), ssh, link("ssh")}, 2},
		"unlink all":                     {nil, []fwRule{link("web"), ssh, link("ssh")}, 2},
		"swap the order":                 {[]string{"ssh", "web"}, []fwRule{link("web"), link("ssh")}, 2},
		"add a third after other rules":  {[]string{"a", "b", "c"}, []fwRule{link("a"), ssh, link("b"), drop}, 2},
		"a link disabled by hand":        {[]string{"web"}, []fwRule{{typ: "group", action: "web"}}, 1},
		"replace one group with another": {[]string{"db"}, []fwRule{ssh, link("web")}, 1},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ops := linkPlan(c.want, c.rules, "d1")
			if len(ops) != c.calls {
				t.Errorf("%d calls, want %d: %v", len(ops), c.calls, ops)
			}
			for i, o := range ops {
				if _, has := o.Params["digest"]; has != (i == 0) {
					t.Errorf("call %d (%v): digest sent = %v; only the first call carries it", i, o, has)
				}
			}
			end, err := applyLinks(append([]fwRule{}, c.rules...), ops)
			if err != nil {
				t.Fatalf("%v: %v", ops, err)
			}
			var links []string
			var others, othersBefore []fwRule
			for _, r := range end {
				if r.typ == "group" {
					links = append(links, r.action)
					if !r.enable {
						t.Errorf("link %s is disabled", r.action)
					}
				} else {
					others = append(others, r)
				}
			}
			for _, r := range c.rules {
				if r.typ != "group" {
					othersBefore = append(othersBefore, r)
				}
			}
			if !reflect.DeepEqual(links, c.want) {
				t.Errorf("after %v the links are %v, want %v", ops, links, c.want)
			}
			if !reflect.DeepEqual(others, othersBefore) {
				t.Errorf("other rules changed: %v, were %v", others, othersBefore)
			}
			if again := linkPlan(c.want, end, ""); len(again) != 0 {
				t.Errorf("not converged: a second plan is %v", again)
			}
		})
	}
}

func TestFirewallOptions(t *testing.T) {
	cases := map[string]struct {
		fw   Spec
		have map[string]any
		set  map[string]any
	}{
		"enable a fresh VM's firewall": {Spec{}, map[string]any{"digest": "x"}, map[string]any{"enable": "1"}},
		"already on":                   {Spec{Enabled: ptr.To(true)}, map[string]any{"enable": 1.0}, map[string]any{}},
		"turn off": {Spec{Enabled: ptr.To(false)}, map[string]any{"enable": 1.0, "policy_in": "DROP"},
			map[string]any{"enable": "0"}},
		"policies": {Spec{PolicyIn: ptr.To("DROP"), PolicyOut: ptr.To("REJECT")},
			map[string]any{"enable": 1.0, "policy_in": "ACCEPT", "policy_out": "REJECT"}, map[string]any{"policy_in": "DROP"}},
		"unset policies are left alone": {Spec{}, map[string]any{"enable": 1.0, "policy_in": "ACCEPT"}, map[string]any{}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := optionsDiff(wantOptions(&c.fw), c.have); !reflect.DeepEqual(got, c.set) {
				t.Errorf("optionsDiff = %v, want %v", got, c.set)
			}
		})
	}
}
