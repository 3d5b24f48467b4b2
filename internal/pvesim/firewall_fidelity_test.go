package pvesim

import (
	"net/url"
	"strings"
	"testing"
)

// TestGuestFirewallWithoutFwFile: a guest that never had a firewall file
// answers every guest firewall call as PVE's load_vmfw_conf does for a
// missing /etc/pve/firewall/<vmid>.fw: an empty config (pve-firewall
// src/PVE/Firewall.pm load_vmfw_conf, API2/Firewall/VM.pm, Rules.pm,
// IPSet.pm), never a 500 for the missing file.
func TestGuestFirewallWithoutFwFile(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 5})
	form := "application/x-www-form-urlencoded"
	for _, g := range []struct{ kind, vmid string }{{"qemu", "1000"}, {"lxc", "1004"}} {
		if gi, ok := srv.Guest(atoi(t, g.vmid)); !ok || gi.Kind != g.kind {
			t.Fatalf("seed guest %s is %+v", g.vmid, gi)
		}
		base := "/nodes/" + nodeOf(t, srv, g.vmid) + "/" + g.kind + "/" + g.vmid + "/firewall"
		for _, tc := range []struct{ method, path, body, want string }{
			{"GET", "/options", "", "200 OK"},
			{"GET", "/rules", "", "200 OK"},
			{"GET", "/ipset", "", "200 OK"},
			// Rules.pm get_rule: "no rule at position 0" for an empty list.
			{"GET", "/rules/0", "", "500 no rule at position 0"},
			{"DELETE", "/rules/0", "", "500 no rule at position 0"},
			{"PUT", "/rules/0", "comment=x", "500 no rule at position 0"},
			{"GET", "/ipset/ips", "", "500 no such IPSet 'ips'"},
			{"DELETE", "/ipset/ips", "", "500 no such IPSet 'ips'"},
			{"PUT", "/options", "enable=1", "200 OK"},
		} {
			res := raw(t, srv, tc.method, base+tc.path, form, tc.body, "token")
			if res.Status != tc.want {
				t.Errorf("%s %s %s: %s %s", g.kind, tc.method, tc.path, res.Status, res.Body)
			}
		}
	}
}

// TestFirewallSingleRuleFields: GET of one rule (group and guest level)
// carries pos like Rules.pm get_rule; fields sent empty are not stored
// (Firewall.pm copy_rule_data deletes ” and '-'), so unset fields are
// absent rather than empty strings.
func TestFirewallSingleRuleFields(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 1})
	form := "application/x-www-form-urlencoded"
	if res := raw(t, srv, "POST", "/cluster/firewall/groups", form, "group=web", "token"); res.Code != 200 {
		t.Fatalf("group: %s", res.Status)
	}
	vmBase := "/nodes/" + nodeOf(t, srv, "1000") + "/qemu/1000/firewall/rules"
	for _, base := range []string{"/cluster/firewall/groups/web", vmBase} {
		body := "type=in&action=ACCEPT&proto=tcp&dport=443&comment=&macro=&source=&enable=1"
		if res := raw(t, srv, "POST", base, form, body, "token"); res.Code != 200 {
			t.Fatalf("%s add: %s %s", base, res.Status, res.Body)
		}
		if res := raw(t, srv, "POST", base, form, "type=out&action=DROP&comment=second&pos=1", "token"); res.Code != 200 {
			t.Fatalf("%s add 2: %s %s", base, res.Status, res.Body)
		}
		for pos, want := range map[string]map[string]any{
			"0": {"pos": float64(0), "type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "443", "enable": float64(1)},
			"1": {"pos": float64(1), "type": "out", "action": "DROP", "comment": "second", "enable": float64(0)},
		} {
			res := raw(t, srv, "GET", base+"/"+pos, "", "", "token")
			d := decode(t, res.Body)["data"].(map[string]any)
			for k, v := range want {
				if d[k] != v {
					t.Errorf("%s/%s: %s = %#v, want %#v (%v)", base, pos, k, d[k], v, d)
				}
			}
			for _, k := range []string{"comment", "macro", "source", "dest", "sport", "iface", "log", "icmp-type"} {
				if _, want := want[k]; want {
					continue
				}
				if v, ok := d[k]; ok {
					t.Errorf("%s/%s: unset field %s present as %#v", base, pos, k, v)
				}
			}
			if d["digest"] == nil {
				t.Errorf("%s/%s: no digest", base, pos)
			}
		}
		// Updating a field to '' removes it (copy_rule_data).
		if res := raw(t, srv, "PUT", base+"/1", form, "comment=", "token"); res.Code != 200 {
			t.Fatalf("%s update: %s", base, res.Status)
		}
		d := decode(t, raw(t, srv, "GET", base+"/1", "", "", "token").Body)["data"].(map[string]any)
		if _, ok := d["comment"]; ok {
			t.Errorf("%s/1: comment set to '' still present: %v", base, d)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func nodeOf(t *testing.T, srv *Server, vmid string) string {
	t.Helper()
	gi, ok := srv.Guest(atoi(t, vmid))
	if !ok {
		t.Fatalf("guest %s missing", vmid)
	}
	return url.PathEscape(gi.Node)
}

// TestFirewallRuleDigestOnlyOnUpdateAndDelete follows pve-firewall
// API2/Firewall/Rules.pm: create_rule accepts a digest but never asserts
// it; update_rule and delete_rule assert the rule list's digest.
func TestFirewallRuleDigestOnlyOnUpdateAndDelete(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 1})
	form := "application/x-www-form-urlencoded"
	base := "/nodes/" + nodeOf(t, srv, "1000") + "/qemu/1000/firewall/rules"
	stale := "0123456789abcdef0123456789abcdef01234567"
	if res := raw(t, srv, "POST", base, form, "type=in&action=ACCEPT&digest="+stale, "token"); res.Code != 200 {
		t.Fatalf("create with a stale digest: %s", res.Status)
	}
	const modified = "500 detected modified configuration - file changed by other user? Try again."
	if res := raw(t, srv, "PUT", base+"/0", form, "comment=x&digest="+stale, "token"); res.Status != modified {
		t.Errorf("update with a stale digest: %s", res.Status)
	}
	if res := raw(t, srv, "DELETE", base+"/0?digest="+stale, "", "", "token"); res.Status != modified {
		t.Errorf("delete with a stale digest: %s", res.Status)
	}
	d := decode(t, raw(t, srv, "GET", base, "", "", "token").Body)["data"].([]any)
	digest := d[0].(map[string]any)["digest"].(string)
	if res := raw(t, srv, "PUT", base+"/0", form, "comment=x&digest="+digest, "token"); res.Code != 200 {
		t.Errorf("update with the current digest: %s", res.Status)
	}
}

// TestFirewallGroupLinkReadsEnable: a guest's group link created without
// enable reads back enable 0, like every rule PVE parses from a .fw file
// (pve-firewall Firewall.pm parse_fw_rule, Rules.pm create_rule).
func TestFirewallGroupLinkReadsEnable(t *testing.T) {
	srv := startSim(t, Options{SeedGuests: 1})
	form := "application/x-www-form-urlencoded"
	if res := raw(t, srv, "POST", "/cluster/firewall/groups", form, "group=web", "token"); res.Code != 200 {
		t.Fatalf("group: %s", res.Status)
	}
	base := "/nodes/" + nodeOf(t, srv, "1000") + "/qemu/1000/firewall/rules"
	if res := raw(t, srv, "POST", base, form, "type=group&action=web", "token"); res.Code != 200 {
		t.Fatalf("link: %s %s", res.Status, res.Body)
	}
	if res := raw(t, srv, "POST", base, form, "type=group&action=web&enable=1", "token"); res.Code != 200 {
		t.Fatalf("link 2: %s %s", res.Status, res.Body)
	}
	rules := decode(t, raw(t, srv, "GET", base, "", "", "token").Body)["data"].([]any)
	if len(rules) != 2 || rules[0].(map[string]any)["enable"] != float64(1) || rules[1].(map[string]any)["enable"] != float64(0) {
		t.Fatalf("group links %v", rules)
	}
}

// TestIPSetCommentByRename: create_ipset with rename equal to name changes
// the comment in place; renaming onto another existing set is refused
// (pve-firewall src/PVE/API2/Firewall/IPSet.pm, BaseIPSetList create).
func TestIPSetCommentByRename(t *testing.T) {
	srv := startSim(t, Options{})
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct{ body, want string }{
		{"name=a1&comment=one", "200 OK"},
		{"name=b1", "200 OK"},
		{"name=a1&rename=a1&comment=two", "200 OK"},
		{"name=b1&rename=a1", "400 Parameter verification failed."},
	} {
		if res := raw(t, srv, "POST", "/cluster/firewall/ipset", form, tc.body, "token"); res.Status != tc.want {
			t.Errorf("POST %s: %s %s, want %s", tc.body, res.Status, res.Body, tc.want)
		}
	}
	if res := raw(t, srv, "GET", "/cluster/firewall/ipset", "", "", "token"); !strings.Contains(string(res.Body), `"comment":"two"`) {
		t.Errorf("comment not changed in place: %s", res.Body)
	}
}
