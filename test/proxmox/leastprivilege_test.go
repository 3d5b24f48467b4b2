package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	goproxmox "github.com/luthermonson/go-proxmox"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	mcv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/security"
)

// roleToken sets up, over the simulator's /access API as root (what pveum
// role add / user add / user token add --privsep 1 / acl modify do), user
// with a privilege-separated token that holds exactly privs on /, in a
// role of its own, and a Secret "<secret>" with that token and the CA. It
// returns a PVE client that authenticates with the token.
func (s *site) roleToken(t *testing.T, user, role, secret string, privs []string) *goproxmox.Client {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.pve.Post(ctx, "/access/roles", map[string]any{"roleid": role, "privs": strings.Join(privs, ",")}, nil))
	must(s.pve.Post(ctx, "/access/users", map[string]any{"userid": user}, nil))
	var tok struct {
		FullTokenID string `json:"full-tokenid"`
		Value       string `json:"value"`
	}
	must(s.pve.Post(ctx, "/access/users/"+user+"/token/provider", map[string]any{"privsep": 1}, &tok))
	must(s.pve.Put(ctx, "/access/acl", map[string]any{"path": "/", "roles": role, "users": user, "tokens": tok.FullTokenID}, nil))
	mustCreate(t, s.env.Client, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: secret},
		Data: map[string][]byte{"token": []byte(tok.FullTokenID + "=" + tok.Value), "ca.crt": s.sim.CACertPEM}})
	return goproxmox.NewClient(s.sim.URL, goproxmox.WithHTTPClient(s.sim.HTTPClient()), goproxmox.WithAPIToken(tok.FullTokenID, tok.Value))
}

// useSecret points the ProviderConfig "name" at a token Secret.
func (s *site) providerConfig(t *testing.T, name, secret string) {
	t.Helper()
	mustCreate(t, s.env.Client, &mcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name},
		Spec: mcv1alpha1.ProviderConfigSpec{SiteSpec: mcv1alpha1.SiteSpec{Proxmox: &mcv1alpha1.ProxmoxConfig{
			Endpoint:       "https://" + s.sim.Addr,
			TokenSecretRef: mcv1alpha1.SecretKeySelector{Name: secret, Key: "token"},
			CABundle:       &mcv1alpha1.CABundleSource{SecretKeyRef: &mcv1alpha1.SecretKeySelector{Name: secret, Key: "ca.crt"}},
		}}}})
}

// The VirtualMachine lifecycle and a Pool's, each through a
// privilege-separated token of a non-root user holding exactly the
// documented role for its kind.
func TestLeastPrivilegeLifecycle(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.roleToken(t, "microcloud@pve", security.ProxmoxRoleName, "pve-least", security.ProxmoxRole("VirtualMachine"))
	s.providerConfig(t, "least", "pve-least")
	s.roleToken(t, "pools@pve", "MicrocloudPools", "pve-pools", security.ProxmoxRole("Pool"))
	s.providerConfig(t, "least-pools", "pve-pools")
	s.startProxmox(t)
	ctx := context.Background()

	p := cloneOf(pvesim.DefaultTemplateID)
	p.Cores, p.MemoryMiB, p.Tags = 2, 2048, []string{"web"}
	p.Networks = []v1alpha1.NetworkInterface{{Model: "virtio", Bridge: "vmbr0", Firewall: ptr.To(true)}}
	vm := s.vm("lp-web", p)
	vm.Spec.ProviderConfigReference.Name = "least"
	mustCreate(t, s.env.Client, vm)
	pool := s.pool("lp-tenant", v1alpha1.PoolParameters{Comment: ptr.To("team")})
	pool.Spec.ProviderConfigReference.Name = "least-pools"
	mustCreate(t, s.env.Client, pool)

	vm = s.waitReady(t, "lp-web")
	vmid := int(vm.Status.AtProvider.VMID)
	s.waitObjReady(t, pool)
	s.update(t, vm, func() { vm.Spec.ForProvider.Cores = 4 })
	s.update(t, pool, func() { pool.Spec.ForProvider.Comment = ptr.To("team, prod") })
	eventually(t, 30*time.Second, "updates applied", func() string {
		if c := str(s.guestConfig(t, "pve1", vmid)["cores"]); c != "4" {
			return "cores " + c
		}
		if c, _, _ := s.pvePool(t, "lp-tenant"); c != "team, prod" {
			return "pool comment " + c
		}
		return ""
	})
	if err := s.env.Client.Delete(ctx, vm); err != nil {
		t.Fatal(err)
	}
	if err := s.env.Client.Delete(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, vm)
	s.waitGone(t, pool)
	if gs := s.guestsNamed(t, "lp-web"); len(gs) != 0 {
		t.Fatalf("guests left: %+v", gs)
	}
	if _, _, ok := s.pvePool(t, "lp-tenant"); ok {
		t.Fatal("pool left in Proxmox")
	}
}

// Each privilege of the VirtualMachine role is needed: with it removed
// (one token per privilege, all at once), creating a VM fails with
// Synced=False and an event naming PVE's "Permission check failed (<path>,
// <privilege>)", and no second guest appears; given the privilege back the
// VM converges and deletes cleanly.
func TestLeastPrivilegeEachVMPrivilegeNeeded(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	full := security.ProxmoxKindPrivileges["VirtualMachine"]
	names := map[string]string{}
	for i, drop := range full {
		var privs []string
		for _, p := range full {
			if p != drop {
				privs = append(privs, p)
			}
		}
		n := fmt.Sprintf("lp%d", i)
		s.roleToken(t, n+"@pve", "Role-"+n, "pve-"+n, privs)
		s.providerConfig(t, n, "pve-"+n)
		names[drop] = n
	}
	s.startProxmox(t)
	ctx := context.Background()
	for _, drop := range full {
		n := names[drop]
		p := cloneOf(pvesim.DefaultTemplateID)
		p.Cores, p.MemoryMiB, p.Tags = 2, 2048, []string{"web"}
		p.Networks = []v1alpha1.NetworkInterface{{Model: "virtio", Bridge: "vmbr0", Firewall: ptr.To(true)}}
		p.Disks = []v1alpha1.Disk{{Slot: "scsi0", Storage: "ceph-rbd", SizeGiB: 4}}
		p.CloudInit = &v1alpha1.CloudInit{User: ptr.To("debian"), SSHKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0 lp@test"}}
		vm := s.vm(n, p)
		vm.Spec.ProviderConfigReference.Name = n
		mustCreate(t, s.env.Client, vm)
	}
	// What each refusal says: PVE's "Permission check failed (<path>,
	// <privilege>)", except where PVE names nothing: clone's check on the
	// new id is an "or" (/vms/{newid} or /pool/{pool}), whose failure is a
	// bare "Permission check failed"; and without VM.Audit PVE refuses
	// nothing but hides every guest from /cluster/resources: the provider
	// finds no clone source and clones nothing, or, when the id it picked
	// from its empty view is another token's new guest, says that guest
	// is hidden; which comes first depends on the order of the creates,
	// and both name VM.Audit.
	expect := map[string][]string{}
	for _, drop := range full {
		expect[drop] = []string{"403 Permission check failed (/", drop}
		if strings.HasPrefix(drop, "VM.") {
			expect[drop][0] = "403 Permission check failed (/vms/"
		}
	}
	expect["VM.Allocate"] = []string{"/clone: 403 Permission check failed ["}
	expect["VM.Audit"] = []string{"lacks VM.Audit on /vms/"}
	says := func(msg string, want []string) bool {
		for _, w := range want {
			if !strings.Contains(msg, w) {
				return false
			}
		}
		return true
	}
	saysFor := func(msg, drop string) bool { return says(msg, expect[drop]) }
	// Every VM at once: Synced=False naming the privilege, a warning event
	// naming it, at most one guest.
	pending := func() map[string]string {
		var evs corev1.EventList
		if err := s.env.Client.List(ctx, &evs, client.InNamespace(s.ns)); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, drop := range full {
			n := names[drop]
			vm := s.get(t, n)
			sy := vm.GetCondition(xpv2.TypeSynced)
			if sy.Status != corev1.ConditionFalse || !saysFor(sy.Message, drop) {
				out[drop] = fmt.Sprintf("synced=%s %q", sy.Status, sy.Message)
				continue
			}
			found := false
			for _, e := range evs.Items {
				found = found || (e.InvolvedObject.Name == n && e.Type == corev1.EventTypeWarning &&
					saysFor(e.Message, drop))
			}
			if !found {
				out[drop] = "no warning event names it"
			}
		}
		return out
	}
	var left map[string]string
	for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		if left = pending(); len(left) == 0 {
			break
		}
	}
	for _, drop := range full {
		n := names[drop]
		guests := len(s.guestsNamed(t, n))
		if why, bad := left[drop]; bad {
			t.Errorf("without %s: %s", drop, why)
		}
		if guests > 1 {
			t.Errorf("without %s: %d guests named %s", drop, guests, n)
		}
		t.Logf("without %-24s %d guest(s); %s", drop, guests, s.get(t, n).GetCondition(xpv2.TypeSynced).Message)
	}
	t.Logf("guests: %+v", s.guests(t))
	if t.Failed() {
		return
	}
	// Privileges back: every VM converges, then deletes cleanly.
	for _, drop := range full {
		n := names[drop]
		if err := s.pve.Put(ctx, "/access/roles/Role-"+n, map[string]any{"privs": drop, "append": 1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int64]string{}
	for _, drop := range full {
		n := names[drop]
		vm := s.waitReady(t, n)
		if other, dup := seen[vm.Status.AtProvider.VMID]; dup {
			t.Errorf("%s and %s both claim guest %d", other, n, vm.Status.AtProvider.VMID)
		}
		seen[vm.Status.AtProvider.VMID] = n
		if gs := s.guestsNamed(t, n); len(gs) != 1 || int64(gs[0].VMID) != vm.Status.AtProvider.VMID {
			t.Errorf("%s (without %s before): guest %d, guests named so: %+v", n, drop, vm.Status.AtProvider.VMID, gs)
		}
	}
	if gs := s.guests(t); len(gs) != len(full)+1 {
		t.Errorf("%d guests for %d VMs and the template: %+v", len(gs), len(full), gs)
	}
	for _, drop := range full {
		if err := s.env.Client.Delete(ctx, s.get(t, names[drop])); err != nil {
			t.Fatal(err)
		}
	}
	for _, drop := range full {
		vm := &v1alpha1.VirtualMachine{}
		vm.SetNamespace(s.ns)
		vm.SetName(names[drop])
		s.waitGone(t, vm)
		if gs := s.guestsNamed(t, names[drop]); len(gs) != 0 {
			t.Errorf("guests left for %s: %+v", names[drop], gs)
		}
	}
}
