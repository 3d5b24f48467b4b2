package ceph

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crushFixture is the shape of the lab cluster's `osd crush dump` (three hosts of one OSD each
// under root default, with the hdd shadow tree), plus a root "one" linking only host0, a host
// whose only OSD has weight 0, and two rules.
const crushFixture = `{
 "types":[{"type_id":0,"name":"osd"},{"type_id":1,"name":"host"},{"type_id":3,"name":"rack"},{"type_id":11,"name":"root"}],
 "buckets":[
  {"id":-1,"name":"default","type_name":"root","weight":196608,"items":[{"id":-2,"weight":65536},{"id":-3,"weight":65536},{"id":-4,"weight":65536},{"id":-10,"weight":0}]},
  {"id":-2,"name":"host0","type_name":"host","weight":65536,"items":[{"id":0,"weight":65536}]},
  {"id":-3,"name":"host1","type_name":"host","weight":65536,"items":[{"id":1,"weight":65536}]},
  {"id":-4,"name":"host2","type_name":"host","weight":65536,"items":[{"id":2,"weight":65536}]},
  {"id":-10,"name":"drained","type_name":"host","weight":0,"items":[{"id":3,"weight":0}]},
  {"id":-5,"name":"host0~hdd","type_name":"host","weight":65536,"items":[{"id":0,"weight":65536}]},
  {"id":-6,"name":"host1~hdd","type_name":"host","weight":65536,"items":[{"id":1,"weight":65536}]},
  {"id":-8,"name":"default~hdd","type_name":"root","weight":131072,"items":[{"id":-5,"weight":65536},{"id":-6,"weight":65536}]},
  {"id":-9,"name":"one","type_name":"root","weight":65536,"items":[{"id":-2,"weight":65536}]}
 ],
 "rules":[
  {"rule_id":0,"rule_name":"by-osd","type":1,"steps":[{"op":"take","item":-1,"item_name":"default"},{"op":"choose_firstn","num":0,"type":"osd"},{"op":"emit"}]},
  {"rule_id":1,"rule_name":"by-host","type":1,"steps":[{"op":"take","item":-1,"item_name":"default"},{"op":"chooseleaf_firstn","num":0,"type":"host"},{"op":"emit"}]},
  {"rule_id":2,"rule_name":"hdd-by-host","type":1,"steps":[{"op":"take","item":-8,"item_name":"default~hdd"},{"op":"chooseleaf_firstn","num":0,"type":"host"},{"op":"emit"}]},
  {"rule_id":3,"rule_name":"one-by-host","type":1,"steps":[{"op":"take","item":-9,"item_name":"one"},{"op":"chooseleaf_firstn","num":0,"type":"host"},{"op":"emit"}]},
  {"rule_id":4,"rule_name":"ec","type":3,"steps":[{"op":"set_chooseleaf_tries","num":5},{"op":"take","item":-1,"item_name":"default"},{"op":"chooseleaf_indep","num":0,"type":"host"},{"op":"emit"}]},
  {"rule_id":5,"rule_name":"two-step","type":1,"steps":[{"op":"take","item":-1,"item_name":"default"},{"op":"choose_firstn","num":2,"type":"rack"},{"op":"chooseleaf_firstn","num":2,"type":"host"},{"op":"emit"}]}
 ]}`

func TestCrushMap(t *testing.T) {
	m := &CrushMap{}
	require.NoError(t, json.Unmarshal([]byte(crushFixture), m))
	m.index()

	domains := map[string]struct {
		n  int
		ok bool
	}{
		"by-osd":      {3, true}, // the zero-weight OSD cannot hold data
		"by-host":     {3, true}, // the drained host does not count
		"hdd-by-host": {2, true}, // shadow tree of the device class
		"one-by-host": {1, true},
		"ec":          {3, true},
		"two-step":    {0, false},
	}
	for name, want := range domains {
		t.Run("FailureDomains"+name, func(t *testing.T) {
			n, ok := m.FailureDomains(m.Rule(name))
			assert.Equal(t, want.ok, ok)
			if want.ok {
				assert.Equal(t, want.n, n)
			}
		})
	}

	shape, ok := m.Rule("hdd-by-host").Shape()
	assert.True(t, ok)
	assert.Equal(t, RuleShape{Root: "default", DeviceClass: "hdd", FailureDomain: "host"}, shape)
	_, ok = m.Rule("two-step").Shape()
	assert.False(t, ok)

	assert.Equal(t, []string{"default", "one"}, m.Parents("host0"), "a linked bucket has two parents; shadow buckets are not parents")
	assert.Empty(t, m.Parents("default"))
	assert.Nil(t, m.Bucket("nosuch"))
	assert.Equal(t, "by-host", m.RuleByID(1).Name)
	assert.True(t, m.HasType("rack"))
	assert.False(t, m.HasType("rack2"))
}

// A bucket's deletion is refused while it holds items or a rule starts at it (or at its shadow).
func TestCrushBucketUsers(t *testing.T) {
	m := &CrushMap{}
	require.NoError(t, json.Unmarshal([]byte(crushFixture), m))
	m.index()
	assert.Equal(t, []string{"drained", "host0", "host1", "host2"}, m.Children("default"))
	assert.Equal(t, []string{"osd.0"}, m.Children("host0"))
	assert.Empty(t, m.Children("nosuch"))
	assert.Equal(t, []string{"by-host", "by-osd", "ec", "hdd-by-host", "two-step"}, m.RulesTaking("default"))
	assert.Equal(t, []string{"one-by-host"}, m.RulesTaking("one"))
	assert.Empty(t, m.RulesTaking("host0"))
}
