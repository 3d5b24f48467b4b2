package shard

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/microcloud-dev/provider-microcloud/apis"
	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	proxmoxv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

func TestParse(t *testing.T) {
	cases := map[string]struct {
		in      string
		key     string
		matches []map[string]string
		refuses []map[string]string
		err     string
	}{
		"empty is no shard": {in: " "},
		"equality":          {in: "microcloud.dev/shard=eu-1", key: "microcloud.dev/shard", matches: []map[string]string{{"microcloud.dev/shard": "eu-1", "x": "y"}}, refuses: []map[string]string{{}, {"microcloud.dev/shard": "eu-2"}}},
		"set":               {in: "region in (eu,us)", key: "region", matches: []map[string]string{{"region": "us"}}, refuses: []map[string]string{{"region": "ap"}, {}}},
		"negative refused":  {in: "microcloud.dev/shard!=a", err: "only key=value or key in (values)"},
		"notin refused":     {in: "s notin (a)", err: "only key=value"},
		"absence refused":   {in: "!s", err: "only key=value"},
		"two keys refused":  {in: "a=1,b=2", err: "exactly one label key"},
		"same key twice ok": {in: "a in (1,2),a=1", key: "a", matches: []map[string]string{{"a": "1"}}, refuses: []map[string]string{{"a": "2"}}},
		"not a selector":    {in: "a=(", err: "is not a label selector"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) error %v, want one containing %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.key == "" {
				if s != nil {
					t.Fatalf("Parse(%q) = %v, want no shard (everything)", tc.in, s)
				}
				return
			}
			if s.Key != tc.key {
				t.Fatalf("key %q, want %q", s.Key, tc.key)
			}
			for _, l := range tc.matches {
				if !s.Selector.Matches(labels.Set(l)) {
					t.Errorf("%s does not own %v", s, l)
				}
			}
			for _, l := range tc.refuses {
				if s.Selector.Matches(labels.Set(l)) {
					t.Errorf("%s owns %v", s, l)
				}
			}
		})
	}
}

func TestLeaderElectionID(t *testing.T) {
	const base = "crossplane-leader-election-provider-microcloud"
	var none *Shard
	if got := none.LeaderElectionID(base); got != base {
		t.Fatalf("no shard: %q, want the base %q", got, base)
	}
	a, _ := Parse("microcloud.dev/shard=a")
	a2, _ := Parse("microcloud.dev/shard==a")
	b, _ := Parse("microcloud.dev/shard=b")
	if a.LeaderElectionID(base) != a2.LeaderElectionID(base) {
		t.Errorf("the same selector written two ways gave two lease names: %q, %q", a.LeaderElectionID(base), a2.LeaderElectionID(base))
	}
	if a.LeaderElectionID(base) == b.LeaderElectionID(base) || !strings.HasPrefix(a.LeaderElectionID(base), base+"-shard-") {
		t.Errorf("lease names %q and %q must differ and extend the base", a.LeaderElectionID(base), b.LeaderElectionID(base))
	}
}

func TestCacheOptionsCoverEveryManagedKind(t *testing.T) {
	s := runtime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	kinds, err := ManagedKinds(s, proxmoxv1alpha1.Group, cephv1alpha1.Group)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"VirtualMachine": false, "Container": false, "Pool": false, "FirewallSecurityGroup": false, "RBDImage": false}
	for _, k := range kinds {
		if _, ok := want[k.Kind]; ok {
			want[k.Kind] = true
		}
		if strings.HasSuffix(k.Kind, "List") || k.Group == "microcloud.dev" {
			t.Errorf("%s is not a managed kind", k)
		}
	}
	for k, found := range want {
		if !found {
			t.Errorf("managed kind %s missing from %v", k, kinds)
		}
	}
	sh, _ := Parse("microcloud.dev/shard=a")
	co := cache.Options{}
	if err := sh.CacheOptions(&co, s, kinds); err != nil {
		t.Fatal(err)
	}
	if len(co.ByObject) != len(kinds)+2 {
		t.Fatalf("%d cache selectors for %d managed kinds and the two config kinds", len(co.ByObject), len(kinds))
	}
	for obj, bo := range co.ByObject {
		if bo.Label == nil || bo.Label.String() != "microcloud.dev/shard=a" {
			t.Errorf("%T cached with selector %v", obj, bo.Label)
		}
	}
}
