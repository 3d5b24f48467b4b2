package function

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func nodes(names ...string) []Node {
	out := make([]Node, len(names))
	for i, n := range names {
		out[i] = Node{Name: n}
	}
	return out
}

func TestValidatorCount(t *testing.T) {
	for f, want := range map[int]int{1: 4, 2: 7, 3: 10, 10: 31} {
		assert.Equal(t, want, ValidatorCount(f), "f=%d", f)
	}
}

func TestPlace(t *testing.T) {
	cases := map[string]struct {
		nodes   []Node
		n       int
		want    []string // nodes, in validator order
		wantErr string
	}{
		"ExactlyEnoughNodes":  {nodes: nodes("a", "b", "c", "d"), n: 4, want: []string{"a", "b", "c", "d"}},
		"MoreNodesThanNeeded": {nodes: nodes("a", "b", "c", "d", "e"), n: 4, want: []string{"a", "b", "c", "d"}},
		"TooFewNodes": {nodes: nodes("a", "b", "c"), n: 4,
			wantErr: "spec.nodes lists 3 distinct node(s) but spec.faultsTolerated=1 needs n=3f+1=4 validators"},
		"DuplicatesDoNotCount": {nodes: nodes("a", "b", "b", "c", "a"), n: 4,
			wantErr: "spec.nodes lists 3 distinct node(s)"},
		"EmptyNamesDoNotCount": {nodes: nodes("a", "", "b", "c"), n: 4, wantErr: "add 1 node(s)"},
		"RacksRoundRobin": {
			nodes: []Node{{Name: "a1", Rack: "a"}, {Name: "a2", Rack: "a"}, {Name: "a3", Rack: "a"},
				{Name: "b1", Rack: "b"}, {Name: "b2", Rack: "b"}, {Name: "c1", Rack: "c"}},
			n: 4, want: []string{"a1", "b1", "c1", "a2"},
		},
		"ExhaustedRackSkipped": {
			nodes: []Node{{Name: "a1", Rack: "a"}, {Name: "a2", Rack: "a"}, {Name: "a3", Rack: "a"}, {Name: "b1", Rack: "b"}},
			n:     4, want: []string{"a1", "b1", "a2", "a3"},
		},
		"DatacentersFirst": {
			nodes: []Node{{Name: "x1", Datacenter: "x", Rack: "r1"}, {Name: "x2", Datacenter: "x", Rack: "r2"},
				{Name: "x3", Datacenter: "x", Rack: "r3"}, {Name: "y1", Datacenter: "y", Rack: "r1"}, {Name: "y2", Datacenter: "y", Rack: "r1"}},
			n: 4, want: []string{"x1", "y1", "x2", "y2"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Place(tc.nodes, tc.n)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			var gotNodes []string
			for i, p := range got {
				assert.Equal(t, i, p.Validator)
				gotNodes = append(gotNodes, p.Node)
			}
			assert.Equal(t, tc.want, gotNodes)
		})
	}
}

// TestPlaceSpreadProperties checks, over many shapes, that nodes are distinct and racks are as
// even as their capacity allows: no rack gets two more than another rack that still had room.
func TestPlaceSpreadProperties(t *testing.T) {
	for racks := 1; racks <= 5; racks++ {
		for per := 1; per <= 4; per++ {
			var ns []Node
			for r := 0; r < racks; r++ {
				for i := 0; i <= (per+r)%4; i++ { // uneven rack sizes
					ns = append(ns, Node{Name: string(rune('a'+r)) + string(rune('0'+i)), Rack: string(rune('a' + r))})
				}
			}
			for f := 1; ValidatorCount(f) <= len(ns); f++ {
				n := ValidatorCount(f)
				p, err := Place(ns, n)
				require.NoError(t, err)
				require.Len(t, p, n)
				seen := map[string]bool{}
				count := map[string]int{}
				for _, v := range p {
					require.False(t, seen[v.Node], "node %s used twice", v.Node)
					seen[v.Node] = true
					count[v.Rack]++
				}
				capacity := map[string]int{}
				for _, x := range ns {
					capacity[x.Rack]++
				}
				for r1, c1 := range count {
					for r2 := range capacity {
						if count[r2] < capacity[r2] {
							assert.LessOrEqual(t, c1-count[r2], 1, "racks=%d per=%d f=%d: %s has %d, %s has %d with room", racks, per, f, r1, c1, r2, count[r2])
						}
					}
				}
			}
		}
	}
}

func TestMaxPerDomain(t *testing.T) {
	p, err := Place([]Node{{Name: "a1", Rack: "a"}, {Name: "a2", Rack: "a"}, {Name: "a3", Rack: "a"}, {Name: "b1", Rack: "b"}}, 4)
	require.NoError(t, err)
	assert.Equal(t, 3, MaxPerDomain(p))
}

func TestSecurityGroupName(t *testing.T) {
	for _, xr := range []string{"chain", "a-very-long-validator-set-name", "9lives", "x"} {
		got := securityGroupName("team-a", xr, "validators")
		assert.LessOrEqual(t, len(got), 18, got)
		assert.Regexp(t, `^[a-z][a-z0-9-]+$`, got)
		assert.False(t, strings.Contains(got, "--"), got)
	}
	assert.NotEqual(t, securityGroupName("team-a", "chain", "v"), securityGroupName("team-b", "chain", "v"))
}
