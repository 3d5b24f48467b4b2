package harule

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

func TestDiffAndChanges(t *testing.T) {
	pinned := v1alpha1.HARuleParameters{Type: nodeAffinity, Resources: []string{"vm:101", "vm:100", "vm:101"},
		Nodes: []v1alpha1.HARuleNode{{Node: "pve2"}, {Node: "pve1", Priority: ptr.To[int64](2)}}, Strict: ptr.To(true)}
	apart := v1alpha1.HARuleParameters{Type: resAffinity, Resources: []string{"vm:100", "ct:101"}, Affinity: ptr.To("negative"), Comment: ptr.To("c")}
	cases := map[string]struct {
		p      v1alpha1.HARuleParameters
		r      proxmox.HARule
		diff   bool
		change proxmox.Params
	}{
		"node-affinity in sync, node order and default priority aside": {pinned,
			proxmox.HARule{Type: nodeAffinity, Resources: []string{"vm:100", "vm:101"}, Nodes: "pve1:2,pve2:0", Strict: true}, false, proxmox.Params{}},
		"nodes and strict drifted": {pinned,
			proxmox.HARule{Type: nodeAffinity, Resources: []string{"vm:100", "vm:101"}, Nodes: "pve3"}, true,
			proxmox.Params{"nodes": "pve1:2,pve2", "strict": "1"}},
		"disabled by hand is enabled with delete": {pinned,
			proxmox.HARule{Type: nodeAffinity, Resources: []string{"vm:100", "vm:101"}, Nodes: "pve1:2,pve2", Strict: true, Disable: true}, true,
			proxmox.Params{"delete": "disable"}},
		"resource-affinity drifted": {apart,
			proxmox.HARule{Type: resAffinity, Resources: []string{"vm:100"}, Affinity: "positive", Comment: "x"}, true,
			proxmox.Params{"resources": "ct:101,vm:100", "affinity": "negative", "comment": "c"}},
		"comment unset is left alone": {v1alpha1.HARuleParameters{Type: resAffinity, Resources: []string{"vm:100", "vm:101"}, Affinity: ptr.To("positive")},
			proxmox.HARule{Type: resAffinity, Resources: []string{"vm:100", "vm:101"}, Affinity: "positive", Comment: "by hand"}, false, proxmox.Params{}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if d := diff(c.p, c.r); (d != "") != c.diff {
				t.Errorf("diff = %q, want a difference: %v", d, c.diff)
			}
			if d := cmp.Diff(c.change, changes(c.p, c.r)); d != "" {
				t.Errorf("changes -want +got:\n%s", d)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	got := settings(v1alpha1.HARuleParameters{Type: nodeAffinity, Resources: []string{"vm:101", "vm:100"},
		Nodes: []v1alpha1.HARuleNode{{Node: "pve2", Priority: ptr.To[int64](0)}, {Node: "pve1"}}, Strict: ptr.To(false), Disable: true})
	want := proxmox.Params{"resources": "vm:100,vm:101", "nodes": "pve1,pve2:0", "strict": "0", "disable": "1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("settings -want +got:\n%s", d)
	}
	if err := checkResources(v1alpha1.HARuleParameters{Type: resAffinity, Resources: []string{"vm:100", "vm:100"}}); err == nil {
		t.Errorf("a resource-affinity rule over one resource named twice passed the check")
	}
}
