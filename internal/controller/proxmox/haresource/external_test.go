package haresource

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

func TestDiffAndChanges(t *testing.T) {
	cases := map[string]struct {
		p      v1alpha1.HAResourceParameters
		h      proxmox.HAResource
		diff   bool
		change proxmox.Params
	}{
		"PVE's defaults and enabled alias match": {v1alpha1.HAResourceParameters{MaxRestart: ptr.To[int64](1)},
			proxmox.HAResource{State: "enabled"}, false, proxmox.Params{}},
		"unset fields are left alone": {v1alpha1.HAResourceParameters{State: "started"},
			proxmox.HAResource{State: "started", MaxRestart: "5", MaxRelocate: "0", Comment: "by hand"}, false, proxmox.Params{}},
		"drift set back": {v1alpha1.HAResourceParameters{State: "stopped", MaxRestart: ptr.To[int64](2), MaxRelocate: ptr.To[int64](0), Comment: ptr.To("")},
			proxmox.HAResource{State: "started", Comment: "by hand"}, true,
			proxmox.Params{"state": "stopped", "max_restart": "2", "max_relocate": "0", "delete": "comment"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if d := diff(c.p, c.h); (d != "") != c.diff {
				t.Errorf("diff = %q, want a difference: %v", d, c.diff)
			}
			if d := cmp.Diff(c.change, changes(c.p, c.h)); d != "" {
				t.Errorf("changes -want +got:\n%s", d)
			}
		})
	}
}

func TestSID(t *testing.T) {
	mg := &v1alpha1.HAResource{}
	if _, _, err := sid(mg); err == nil {
		t.Errorf("no sid and no external name: want an error")
	}
	mg.Spec.ForProvider.SID = ptr.To("vm:100")
	if id, known, err := sid(mg); id != "vm:100" || known || err != nil {
		t.Errorf("sid = %q %v %v", id, known, err)
	}
	mg.SetAnnotations(map[string]string{"crossplane.io/external-name": "vm:101"})
	if _, _, err := sid(mg); err == nil {
		t.Errorf("spec sid vm:100 and external name vm:101: want an error, never the other guest")
	}
}
