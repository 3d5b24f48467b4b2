package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

const (
	alpineTemplate = "alpine-3.22-default_20250617_amd64.tar.xz"
	debianTemplate = "debian-12-standard_12.12-1_amd64.tar.zst" // seeded on every node
)

func (s *site) ctTemplate(name string, p v1alpha1.ContainerTemplateParameters) *v1alpha1.ContainerTemplate {
	t := &v1alpha1.ContainerTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	t.Spec.ForProvider = p
	t.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	return t
}

// vztmpls lists the volids of a node's storage's vztmpl content, straight from the simulator.
func (s *site) vztmpls(t *testing.T, node, storage string) []string {
	t.Helper()
	var list []struct {
		VolID string `json:"volid"`
	}
	if err := s.pve.Get(context.Background(), fmt.Sprintf("/nodes/%s/storage/%s/content?content=vztmpl", node, storage), &list); err != nil {
		t.Fatalf("cannot list vztmpl content: %v", err)
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		out = append(out, v.VolID)
	}
	return out
}

func (s *site) hasVZTemplate(t *testing.T, node, volid string) bool {
	t.Helper()
	sid, _, _ := strings.Cut(volid, ":")
	for _, v := range s.vztmpls(t, node, sid) {
		if v == volid {
			return true
		}
	}
	return false
}

// TestContainerTemplateLifecycle downloads an appliance, replaces the file
// when it disappears behind the provider's back, and deletes it.
func TestContainerTemplateLifecycle(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	const volid = "local:vztmpl/" + alpineTemplate
	if s.hasVZTemplate(t, "pve1", volid) {
		t.Fatal("alpine is already on pve1 before the download")
	}
	tmpl := s.ctTemplate("alpine", v1alpha1.ContainerTemplateParameters{Node: "pve1", Template: alpineTemplate})
	mustCreate(t, s.env.Client, tmpl)
	s.waitObjReady(t, tmpl)
	if got := meta.GetExternalName(tmpl); got != volid {
		t.Errorf("external name %q, want %q", got, volid)
	}
	if tmpl.Status.AtProvider.VolID != volid || tmpl.Status.AtProvider.Size <= 0 || tmpl.Status.AtProvider.Format == "" {
		t.Errorf("atProvider = %+v", tmpl.Status.AtProvider)
	}
	if !s.hasVZTemplate(t, "pve1", volid) || s.hasVZTemplate(t, "pve2", volid) {
		t.Errorf("download landed wrong: pve1 %v, pve2 %v", s.vztmpls(t, "pve1", "local"), s.vztmpls(t, "pve2", "local"))
	}

	// "Update": the spec cannot change (the admission test checks that);
	// a label change is a reconcile that must leave the one file alone.
	s.update(t, tmpl, func() { tmpl.SetLabels(map[string]string{"os": "alpine"}) })

	// Drift: the file is removed behind the provider's back and comes back.
	var upid string
	if err := s.pve.Delete(context.Background(), "/nodes/pve1/storage/local/content/"+volid, &upid); err != nil {
		t.Fatalf("cannot remove the file: %v", err)
	}
	eventually(t, 10*time.Second, "file removed by hand", func() string {
		if s.hasVZTemplate(t, "pve1", volid) {
			return "still there"
		}
		return ""
	})
	eventually(t, 30*time.Second, "file downloaded again", func() string {
		if !s.hasVZTemplate(t, "pve1", volid) {
			return "missing"
		}
		return ""
	})
	s.waitObjReady(t, tmpl)

	// Delete removes the file.
	if err := s.env.Client.Delete(context.Background(), tmpl); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, tmpl)
	if s.hasVZTemplate(t, "pve1", volid) {
		t.Errorf("%s still in pve1's storage after delete", volid)
	}
}

// TestContainerTemplateObserveOnlyImport reports an existing file and leaves
// it in place when the resource is deleted.
func TestContainerTemplateObserveOnlyImport(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	const volid = "local:vztmpl/" + debianTemplate
	tmpl := s.ctTemplate("debian", v1alpha1.ContainerTemplateParameters{Node: "pve2", Template: debianTemplate})
	tmpl.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	meta.SetExternalName(tmpl, volid)
	mustCreate(t, s.env.Client, tmpl)
	s.waitObjReady(t, tmpl)
	if tmpl.Status.AtProvider.VolID != volid || tmpl.Status.AtProvider.Size <= 0 {
		t.Errorf("atProvider = %+v", tmpl.Status.AtProvider)
	}
	if err := s.env.Client.Delete(context.Background(), tmpl); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, tmpl)
	if !s.hasVZTemplate(t, "pve2", volid) {
		t.Errorf("an observe-only resource deleted %s", volid)
	}

	// A file that is not there is reported as missing, never downloaded.
	ghost := s.ctTemplate("ghost", v1alpha1.ContainerTemplateParameters{Node: "pve2", Template: alpineTemplate})
	ghost.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	mustCreate(t, s.env.Client, ghost)
	s.waitObj(t, ghost, 30*time.Second, "ghost reported missing", func(_, sy xpv2.Condition) string {
		if !strings.Contains(sy.Message, "does not exist") {
			return "no error yet"
		}
		return ""
	})
	if s.hasVZTemplate(t, "pve2", "local:vztmpl/"+alpineTemplate) {
		t.Errorf("an observe-only resource downloaded its template")
	}
}
