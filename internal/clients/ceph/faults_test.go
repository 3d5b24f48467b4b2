package ceph

import "testing"

// The fault hook tells writes from reads by the command prefix; a read taken for a write would
// let the fault matrix fault the wrong calls.
func TestCommandClassification(t *testing.T) {
	cases := map[string]struct {
		args   map[string]any
		write  bool
		target string
	}{
		"PoolLs":      {map[string]any{"prefix": "osd pool ls", "detail": "detail"}, false, ""},
		"CrushDump":   {map[string]any{"prefix": "osd crush dump"}, false, ""},
		"ProfileGet":  {map[string]any{"prefix": "osd erasure-code-profile get", "name": "ec"}, false, "ec"},
		"PgDump":      {map[string]any{"prefix": "pg dump"}, false, ""},
		"PoolCreate":  {map[string]any{"prefix": "osd pool create", "pool": "p"}, true, "p"},
		"PoolSet":     {map[string]any{"prefix": "osd pool set", "pool": "p", "var": "size"}, true, "p"},
		"PoolRm":      {map[string]any{"prefix": "osd pool rm", "pool": "p", "pool2": "p"}, true, "p"},
		"RuleCreate":  {map[string]any{"prefix": "osd crush rule create-replicated", "name": "r"}, true, "r"},
		"BucketMove":  {map[string]any{"prefix": "osd crush move", "name": "b"}, true, "b"},
		"AppDisable":  {map[string]any{"prefix": "osd pool application disable", "pool": "p"}, true, "p"},
		"ProfileSet":  {map[string]any{"prefix": "osd erasure-code-profile set", "name": "ec"}, true, "ec"},
		"ProfileRm":   {map[string]any{"prefix": "osd erasure-code-profile rm", "name": "ec"}, true, "ec"},
		"BucketAdd":   {map[string]any{"prefix": "osd crush add-bucket", "name": "b"}, true, "b"},
		"HealthCheck": {map[string]any{"prefix": "health"}, false, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := tc.args["prefix"].(string)
			if got := isWrite(p); got != tc.write {
				t.Errorf("isWrite(%q) = %v, want %v", p, got, tc.write)
			}
			if got := target(tc.args); got != tc.target {
				t.Errorf("target = %q, want %q", got, tc.target)
			}
		})
	}
}
