package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

func (s *site) pool(name string, p v1alpha1.PoolParameters) *v1alpha1.Pool {
	o := &v1alpha1.Pool{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	o.Spec.ForProvider = p
	o.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	return o
}

// pvePool reads a pool from the simulator; ok is false when it does not exist.
func (s *site) pvePool(t *testing.T, id string) (comment string, vmids []string, ok bool) {
	t.Helper()
	var ps []map[string]any
	if err := s.pve.Get(context.Background(), "/pools", &ps); err != nil {
		t.Fatalf("cannot list pools: %v", err)
	}
	for _, p := range ps {
		if p["poolid"] != id {
			continue
		}
		var one []struct {
			Members []map[string]any `json:"members"`
		}
		if err := s.pve.Get(context.Background(), "/pools?poolid="+id, &one); err != nil {
			t.Fatalf("cannot read pool %s: %v", id, err)
		}
		for _, m := range one[0].Members {
			if m["type"] != "storage" {
				vmids = append(vmids, str(m["vmid"]))
			}
		}
		return str(p["comment"]), vmids, true
	}
	return "", nil, false
}

func TestPoolLifecycle(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()

	p := s.pool("tenant-a", v1alpha1.PoolParameters{Comment: ptr.To("team A")})
	mustCreate(t, s.env.Client, p)
	s.waitObjReady(t, p)
	if c, _, ok := s.pvePool(t, "tenant-a"); !ok || c != "team A" {
		t.Fatalf("pool in Proxmox: exists %v comment %q", ok, c)
	}

	// Update.
	s.update(t, p, func() { p.Spec.ForProvider.Comment = ptr.To("team A, production") })
	eventually(t, 20*time.Second, "comment updated", func() string {
		if c, _, _ := s.pvePool(t, "tenant-a"); c != "team A, production" {
			return "comment " + c
		}
		return ""
	})

	// Drift through the API is corrected.
	if err := s.pve.Put(ctx, "/pools", map[string]any{"poolid": "tenant-a", "comment": "changed by hand"}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "drift corrected", func() string {
		if c, _, _ := s.pvePool(t, "tenant-a"); c != "team A, production" {
			return "comment " + c
		}
		return ""
	})

	// A VM created in the pool shows as a member.
	vp := cloneOf(pvesim.DefaultTemplateID)
	vp.Pool = ptr.To("tenant-a")
	mustCreate(t, s.env.Client, s.vm("member-1", vp))
	vm := s.waitReady(t, "member-1")
	vmid := vm.Status.AtProvider.VMID
	s.waitObj(t, p, 20*time.Second, "member observed", func(_, _ xpv2.Condition) string {
		if fmt.Sprint(p.Status.AtProvider.VMIDs) != fmt.Sprint([]int64{vmid}) || p.Status.AtProvider.MemberCount != 1 {
			return fmt.Sprintf("status %+v, want vmids [%d]", p.Status.AtProvider, vmid)
		}
		return ""
	})

	// PVE refuses to delete a pool that holds a guest; its words show.
	if err := s.env.Client.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	s.waitObj(t, p, 20*time.Second, "deletion of a non-empty pool refused", func(_, sy xpv2.Condition) string {
		if sy.Status != corev1.ConditionFalse || !strings.Contains(sy.Message, fmt.Sprintf("pool 'tenant-a' is not empty (contains VM %d)", vmid)) {
			return "no refusal in the Synced condition"
		}
		return ""
	})
	if _, _, ok := s.pvePool(t, "tenant-a"); !ok {
		t.Fatalf("the pool is gone although it held VM %d", vmid)
	}

	// Once the VM is gone, so is the pool (touched to retry at once).
	if err := s.env.Client.Delete(ctx, s.get(t, "member-1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "VM deleted", func() string {
		if _, ids, _ := s.pvePool(t, "tenant-a"); len(ids) > 0 {
			return fmt.Sprintf("pool still holds %v", ids)
		}
		return ""
	})
	s.update(t, p, func() { meta.AddAnnotations(p, map[string]string{"test/retry": "now"}) })
	s.waitGone(t, p)
	if _, _, ok := s.pvePool(t, "tenant-a"); ok {
		t.Errorf("pool tenant-a still exists in Proxmox")
	}
}

func TestPoolObserveOnlyImport(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx := context.Background()
	if err := s.pve.Post(ctx, "/pools", map[string]any{"poolid": "Legacy_Pool", "comment": "made by hand"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.pve.Put(ctx, "/pools", map[string]any{"poolid": "Legacy_Pool", "storage": "local"}, nil); err != nil {
		t.Fatal(err)
	}
	s.startProxmox(t)

	p := s.pool("legacy", v1alpha1.PoolParameters{Comment: ptr.To("would change it")})
	p.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	meta.SetExternalName(p, "Legacy_Pool")
	mustCreate(t, s.env.Client, p)
	s.waitObjReady(t, p)
	if obs := p.Status.AtProvider; obs.Comment != "made by hand" || fmt.Sprint(obs.Storages) != "[local]" || obs.MemberCount != 1 {
		t.Errorf("status.atProvider = %+v", obs)
	}
	if err := s.env.Client.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, p)
	if c, _, ok := s.pvePool(t, "Legacy_Pool"); !ok || c != "made by hand" {
		t.Errorf("an observe-only resource changed the pool: exists %v comment %q", ok, c)
	}
}

func TestPoolAdmission(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	for name, c := range map[string]struct {
		obj  *v1alpha1.Pool
		want string
	}{
		"id starts with a digit": {s.pool("9lives", v1alpha1.PoolParameters{}), "metadata.name is the Proxmox pool id"},
		"comment too long":       {s.pool("long", v1alpha1.PoolParameters{Comment: ptr.To(strings.Repeat("x", 4097))}), "spec.forProvider.comment"},
	} {
		t.Run(name, func(t *testing.T) {
			err := s.env.Client.Create(context.Background(), c.obj)
			if err == nil {
				t.Fatalf("created; want rejection naming %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %q", err, c.want)
			}
		})
	}
}
