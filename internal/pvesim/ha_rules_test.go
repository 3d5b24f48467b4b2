package pvesim

import (
	"testing"
)

// TestHARulesOrderAndDefaults follows pve-ha-manager src/PVE/API2/HA/Rules.pm
// ($get_api_ha_rule adds order; create_rule/update_rule drop a false
// "disable"; set_rule_defaults fills only true defaults) and
// get_next_ordinal in src/PVE/HA/Rules.pm (smallest order + 1, then the
// config is written sorted and read back numbered 1..n).
func TestHARulesOrderAndDefaults(t *testing.T) {
	s := newSimT(t)
	cx := ctx(t)
	for _, id := range []string{"vm:9000"} {
		if err := s.c.Post(cx, "/cluster/ha/resources", map[string]any{"sid": id, "state": "stopped"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []map[string]any{
		{"rule": "first", "type": "node-affinity", "resources": "vm:9000", "nodes": "pve1", "disable": 0},
		{"rule": "second", "type": "node-affinity", "resources": "vm:9000", "nodes": "pve2", "strict": 1},
		{"rule": "third", "type": "node-affinity", "resources": "vm:9000", "nodes": "pve3", "disable": 1},
	} {
		if err := s.c.Post(cx, "/cluster/ha/rules", r, nil); err != nil {
			t.Fatal(err)
		}
	}
	var rules []map[string]any
	if err := s.c.Get(cx, "/cluster/ha/rules", &rules); err != nil {
		t.Fatal(err)
	}
	var got []string
	byID := map[string]map[string]any{}
	for _, r := range rules {
		got = append(got, r["rule"].(string))
		byID[r["rule"].(string)] = r
	}
	// first=1; second gets 1+1=2; third gets min(1,2)+1=2 too and is written after second.
	if len(got) != 3 || got[0] != "first" || got[1] != "second" || got[2] != "third" {
		t.Fatalf("rules in order: %v", got)
	}
	for i, id := range got {
		if byID[id]["order"] != float64(i+1) {
			t.Errorf("%s order %v, want %d", id, byID[id]["order"], i+1)
		}
	}
	lacksKeys(t, "rule first", byID["first"], "disable", "strict")
	if byID["second"]["strict"] != float64(1) || byID["third"]["disable"] != float64(1) {
		t.Errorf("explicit strict/disable: %v %v", byID["second"], byID["third"])
	}
	// disable=0 is dropped by update_rule: the rule stays disabled until delete=disable.
	if err := s.c.Put(cx, "/cluster/ha/rules/third", map[string]any{"type": "node-affinity", "disable": 0}, nil); err != nil {
		t.Fatal(err)
	}
	var one map[string]any
	if err := s.c.Get(cx, "/cluster/ha/rules/third", &one); err != nil {
		t.Fatal(err)
	}
	if one["disable"] != float64(1) {
		t.Errorf("disable=0 re-enabled the rule: %v", one)
	}
	if err := s.c.Delete(cx, "/cluster/ha/rules/first", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Get(cx, "/cluster/ha/rules/third", &one); err != nil || one["order"] != float64(2) {
		t.Errorf("order after deleting the first rule: %v %v", one["order"], err)
	}
}

// TestHAErrorsCarryLockPrefix: dies inside lock_ha_domain (pve-ha-manager
// src/PVE/HA/Config.pm) come out as "errmsg: error" (src/PVE/API2/HA/Rules.pm
// "create ha rule failed", "update HA rules failed"; Resources.pm "create
// resource failed"), and delete_rule deletes without checking the rule exists.
func TestHAErrorsCarryLockPrefix(t *testing.T) {
	s := newSimT(t)
	cx := ctx(t)
	if err := s.c.Post(cx, "/cluster/ha/resources", map[string]any{"sid": "vm:9000", "state": "stopped"}, nil); err != nil {
		t.Fatal(err)
	}
	err := s.c.Post(cx, "/cluster/ha/resources", map[string]any{"sid": "vm:9000"}, nil)
	if err == nil || err.Error() != "500 create resource failed: resource ID 'vm:9000' already defined" {
		t.Errorf("duplicate resource: %v", err)
	}
	rule := map[string]any{"rule": "r1", "type": "node-affinity", "resources": "vm:9000", "nodes": "pve1"}
	if err := s.c.Post(cx, "/cluster/ha/rules", rule, nil); err != nil {
		t.Fatal(err)
	}
	err = s.c.Post(cx, "/cluster/ha/rules", rule, nil)
	if err == nil || err.Error() != "500 create ha rule failed: HA rule 'r1' already defined" {
		t.Errorf("duplicate rule: %v", err)
	}
	err = s.c.Put(cx, "/cluster/ha/rules/nope", map[string]any{"type": "node-affinity", "comment": "x"}, nil)
	if err == nil || err.Error() != "500 update HA rules failed: HA rule 'nope' does not exist" {
		t.Errorf("update missing rule: %v", err)
	}
	err = s.c.Put(cx, "/cluster/ha/rules/r1", map[string]any{"type": "node-affinity", "nodes": "pve9"}, nil)
	if err == nil || err.Error() != "500 update HA rules failed: cannot use non-existent node(s) pve9." {
		t.Errorf("update with unknown node: %v", err)
	}
	if err := s.c.Delete(cx, "/cluster/ha/rules/nope", nil); err != nil {
		t.Errorf("delete of a missing rule: %v", err)
	}
}
