package guest

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource/fake"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

func TestOwnerTagIsAValidPVETag(t *testing.T) {
	if got := OwnerTag("3F2504E0-4F89-11D3-9A0C-0305E82C3301"); got != "mc-3f2504e04f8911d3" {
		t.Errorf("OwnerTag = %q", got)
	}
}

func TestOwner(t *testing.T) {
	const uid = "11111111-2222-3333-4444-555555555555"
	created := func() *fake.Managed {
		mg := &fake.Managed{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}}
		meta.SetExternalCreatePending(mg, time.Now())
		return mg
	}
	imported := &fake.Managed{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}}
	cases := map[string]struct {
		mg   *fake.Managed
		g    proxmox.Guest
		want Ownership
	}{
		"OurTag":            {created(), proxmox.Guest{Tags: "web;" + OwnerTag(uid), Name: "other"}, Ours},
		"AnotherResource":   {created(), proxmox.Guest{Tags: "mc-0123456789abcdef", Name: "web-1"}, NotOurs},
		"UntaggedImport":    {imported, proxmox.Guest{Name: "legacy"}, Ours},
		"UntaggedOurName":   {created(), proxmox.Guest{Name: "web-1"}, Ours},
		"LockedUnnamed":     {created(), proxmox.Guest{Lock: "clone"}, Undecided},
		"SomeoneElsesGuest": {created(), proxmox.Guest{Name: "db-7"}, NotOurs},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Owner(tc.mg, &tc.g, "web-1"); got != tc.want {
				t.Errorf("Owner = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPendingTask(t *testing.T) {
	mg := &fake.Managed{}
	status := "UPID:pve1:status"
	if got := PendingTask(mg, status); got != status {
		t.Errorf("PendingTask = %q, want the status one", got)
	}
	meta.AddAnnotations(mg, map[string]string{AnnotationPendingTask: "UPID:pve1:create"})
	if got := PendingTask(mg, status); got != "UPID:pve1:create" {
		t.Errorf("PendingTask = %q, want the annotation's", got)
	}
	if !ClearPendingTask(mg, &status) || status != "" || PendingTask(mg, status) != "" {
		t.Errorf("ClearPendingTask left %q / %v", status, mg.GetAnnotations())
	}
	if ClearPendingTask(mg, &status) {
		t.Error("a second clear reported an annotation change")
	}
}
