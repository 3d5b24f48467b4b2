package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/generic"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// These tests each prove one item of the fault-safety list: the provider
// never acts on an answer it did not get, never replaces or loses data, and
// makes loss and drift visible.

func (s *site) count(route string) float64 { return s.sim.RequestCounts()[route] }

func (s *site) setFaults(rf ...pvesim.RouteFault) {
	s.sim.Faults().Set(pvesim.FaultConfig{Routes: rf})
}

// events lists the Warning events of obj with reason.
func (s *site) events(t *testing.T, obj client.Object, reason string) []string {
	t.Helper()
	var list corev1.EventList
	if err := s.env.Client.List(context.Background(), &list, client.InNamespace(s.ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == obj.GetName() && e.Reason == reason && e.Type == corev1.EventTypeWarning {
			out = append(out, e.Message)
		}
	}
	return out
}

func volumeOf(drive string) string {
	v, _, _ := strings.Cut(drive, ",")
	return v
}

// A 502 with PVE's JSON on the config read once made the provider diff the
// spec against nothing and write a new blank boot disk. The config that
// could not be read is never written against.
func TestGatewayErrorOnConfigReadNeverReplacesBootDisk(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	p := cloneOf(pvesim.DefaultTemplateID)
	p.Disks = []v1alpha1.Disk{{Slot: "scsi0", Storage: "ceph-rbd", SizeGiB: 4}}
	vm := s.vm("disk-1", p)
	mustCreate(t, s.env.Client, vm)
	vm = s.waitReady(t, "disk-1")
	id := int(vm.Status.AtProvider.VMID)
	boot := volumeOf(str(s.guestConfig(t, "pve1", id)["scsi0"]))

	s.setFaults(pvesim.RouteFault{Route: "GET /nodes/{node}/qemu/{vmid}/config", Code: 502, Body: pvesim.BodyJSON,
		Phase: pvesim.PhaseBefore, ErrorRate: 1})
	puts := s.count("PUT /nodes/{node}/qemu/{vmid}/config")
	s.update(t, vm, func() { vm.Spec.ForProvider.Cores = 2 }) // a spec change forces a config read
	s.waitObj(t, vm, 20*time.Second, "the 502 shown", func(_, sy xpv2.Condition) string {
		if sy.Status != corev1.ConditionFalse || !strings.Contains(sy.Message, "502") {
			return "no 502 in Synced"
		}
		return ""
	})
	time.Sleep(3 * time.Second)
	if n := s.count("PUT /nodes/{node}/qemu/{vmid}/config"); n != puts {
		t.Fatalf("%v config writes while the config could not be read", n-puts)
	}
	s.sim.Faults().Clear()
	eventually(t, 30*time.Second, "cores applied", func() string {
		cfg := s.guestConfig(t, "pve1", id)
		if str(cfg["cores"]) != "2" {
			return fmt.Sprintf("cores %v", cfg["cores"])
		}
		return ""
	})
	if now := volumeOf(str(s.guestConfig(t, "pve1", id)["scsi0"])); now != boot {
		t.Fatalf("boot disk %s replaced by %s", boot, now)
	}
}

// A 502 on /cluster/resources once read as an empty cluster: a second guest
// for one VM, and a delete that let go of a running guest.
func TestGatewayErrorOnClusterViewNeitherDuplicatesNorLeaks(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	view := pvesim.RouteFault{Route: "GET /cluster/resources", Code: 502, Body: pvesim.BodyHTML, Phase: pvesim.PhaseBefore, ErrorRate: 1}
	s.setFaults(view)
	clones := s.count("POST /nodes/{node}/qemu/{vmid}/clone")
	vm := s.vm("view-1", cloneOf(pvesim.DefaultTemplateID))
	mustCreate(t, s.env.Client, vm)
	time.Sleep(3 * time.Second)
	if n := s.count("POST /nodes/{node}/qemu/{vmid}/clone") - clones; n != 0 {
		t.Fatalf("%v clones while the cluster view could not be read", n)
	}
	s.sim.Faults().Clear()
	vm = s.waitReady(t, "view-1")
	id := int(vm.Status.AtProvider.VMID)

	s.setFaults(view)
	if err := s.env.Client.Delete(context.Background(), vm); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	if err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(vm), vm); err != nil {
		t.Fatalf("the VM resource let go while its guest could not be seen: %v", err)
	}
	if _, ok := s.sim.Guest(id); !ok {
		t.Fatalf("guest %d gone although the view could not be read", id)
	}
	s.sim.Faults().Clear()
	s.waitGone(t, vm)
	if _, ok := s.sim.Guest(id); ok {
		t.Fatalf("guest %d still exists after the resource is gone (leaked)", id)
	}
	if g := s.guestsNamed(t, "view-1"); len(g) != 0 {
		t.Fatalf("guests left: %+v", g)
	}
}

// A 503 on /cluster/nextid once saved external name "0" and wedged the
// resource; a failed id allocation is never saved.
func TestNextIDFailureNeverSavesAnID(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	s.setFaults(pvesim.RouteFault{Route: "GET /cluster/nextid", Code: 503, Body: pvesim.BodyJSON, Phase: pvesim.PhaseBefore, Count: 6})
	vm := s.vm("id-1", cloneOf(pvesim.DefaultTemplateID))
	mustCreate(t, s.env.Client, vm)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(vm), vm); err != nil {
			t.Fatal(err)
		}
		if en := meta.GetExternalName(vm); en != "" && en != vm.GetName() {
			var id int
			if _, err := fmt.Sscan(en, &id); err != nil || id < 100 {
				t.Fatalf("external name %q saved", en)
			}
		}
		if vm.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.waitReady(t, "id-1")
}

// Hand-made changes the cluster view does not show (a NIC's bridge, the
// firewall switched off, a policy opened to ACCEPT, a security group link
// removed) are found within the drift interval and set back, with a Warning
// event and the ExternalDrift condition; status shows when the config was
// last verified.
func TestHandMadeDriftRepairedWithinDriftInterval(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmoxWith(t, func(o *options.Options) { o.DriftInterval = 3 * time.Second })
	ctx := context.Background()
	web := s.group("web", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Macro: ptr.To("HTTPS")}}})
	mustCreate(t, s.env.Client, web)
	p := cloneOf(pvesim.DefaultTemplateID)
	p.Networks = []v1alpha1.NetworkInterface{{Bridge: "vmbr0", Firewall: ptr.To(true)}}
	p.Firewall = &v1alpha1.GuestFirewall{PolicyIn: ptr.To("DROP"), SecurityGroupRefs: []xpv2.NamespacedReference{{Name: "web"}}}
	vm := s.vm("drift-1", p)
	mustCreate(t, s.env.Client, vm)
	vm = s.waitReady(t, "drift-1")
	id := int(vm.Status.AtProvider.VMID)
	fw := fmt.Sprintf("/nodes/pve1/qemu/%d/firewall", id)
	eventually(t, 20*time.Second, "group linked", func() string {
		if got := s.pveRules(t, fw+"/rules"); len(got) != 1 {
			return fmt.Sprintf("rules %v", got)
		}
		return ""
	})
	vm = s.waitReady(t, "drift-1")
	if vm.Status.AtProvider.LastVerified == nil {
		t.Fatal("status.atProvider.lastVerified not set")
	}

	// By hand, nothing of which shows in /cluster/resources.
	net0 := str(s.guestConfig(t, "pve1", id)["net0"])
	if err := s.sim.SetConfig(id, map[string]string{"net0": strings.Replace(net0, "bridge=vmbr0", "bridge=vmbr9", 1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.pve.Put(ctx, fw+"/options", map[string]any{"enable": 0, "policy_in": "ACCEPT"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.pve.Delete(ctx, fw+"/rules/0", nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, 30*time.Second, "drift repaired", func() string {
		cfg := s.guestConfig(t, "pve1", id)
		opts := map[string]any{}
		if err := s.pve.Get(ctx, fw+"/options", &opts); err != nil {
			return err.Error()
		}
		rules := s.pveRules(t, fw+"/rules")
		if !strings.Contains(str(cfg["net0"]), "bridge=vmbr0") || str(opts["enable"]) != "1" || opts["policy_in"] != "DROP" || len(rules) != 1 {
			return fmt.Sprintf("net0 %v options %v rules %v", cfg["net0"], opts, rules)
		}
		return ""
	})
	t.Logf("hand-made drift repaired after %s (drift interval 3s)", time.Since(start).Round(100*time.Millisecond))
	eventually(t, 20*time.Second, "DriftRepaired in the ExternalDrift condition", func() string {
		vm = s.get(t, "drift-1")
		if c := vm.GetCondition(generic.TypeExternalDrift); c.Reason != generic.ReasonDriftRepaired && !strings.Contains(c.Message, "set back to the spec") {
			return fmt.Sprintf("ExternalDrift %s: %s", c.Reason, c.Message)
		}
		return ""
	})
	// The Warning event goes through client-go's recorder, whose spam filter
	// may drop it when the object already had many events; it is reported,
	// the condition above is what must hold.
	t.Logf("DriftRepaired events: %q", s.events(t, vm, string(generic.ReasonDriftRepaired)))
}

// A security group linked to a guest in PVE, by hand, is not deleted: PVE
// would leave the guest's group rule dangling.
func TestSecurityGroupLinkedByHandIsNotDeleted(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()
	g := s.group("handlinked", v1alpha1.FirewallSecurityGroupParameters{Rules: []v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH")}}})
	mustCreate(t, s.env.Client, g)
	s.waitObjReady(t, g)
	rules := fmt.Sprintf("/nodes/pve1/qemu/%d/firewall/rules", pvesim.DefaultTemplateID)
	if err := s.pve.Post(ctx, rules, map[string]any{"type": "group", "action": "handlinked", "enable": 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.env.Client.Delete(ctx, g); err != nil {
		t.Fatal(err)
	}
	s.waitObj(t, g, 20*time.Second, "deletion refused", func(_, sy xpv2.Condition) string {
		if !strings.Contains(sy.Message, fmt.Sprintf("qemu %d", pvesim.DefaultTemplateID)) {
			return "no refusal naming the guest"
		}
		return ""
	})
	if _, ok := s.groupComment(t, "handlinked"); !ok {
		t.Fatal("the linked group was deleted")
	}
	if err := s.pve.Delete(ctx, rules+"/0", nil); err != nil {
		t.Fatal(err)
	}
	s.waitGone(t, g)
	if _, ok := s.groupComment(t, "handlinked"); ok {
		t.Fatal("group still in PVE after the resource is gone")
	}
}

// A boot disk detached by hand (delete=scsi0: PVE keeps it as unused0) is
// re-attached, never replaced by a blank disk; a disk whose volume was
// destroyed by hand is reported, not replaced.
func TestDetachedDiskReattachedAndDestroyedDiskReported(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()
	p := cloneOf(pvesim.DefaultTemplateID)
	p.Disks = []v1alpha1.Disk{{Slot: "scsi0", Storage: "ceph-rbd", SizeGiB: 4}, {Slot: "scsi1", Storage: "ceph-rbd", SizeGiB: 1}}
	vm := s.vm("detach-1", p)
	mustCreate(t, s.env.Client, vm)
	vm = s.waitReady(t, "detach-1")
	id := int(vm.Status.AtProvider.VMID)
	eventually(t, 20*time.Second, "disks recorded", func() string {
		vm = s.get(t, "detach-1")
		if len(vm.Status.AtProvider.Disks) != 2 {
			return fmt.Sprintf("status disks %v", vm.Status.AtProvider.Disks)
		}
		return ""
	})
	boot, data := vm.Status.AtProvider.Disks["scsi0"], vm.Status.AtProvider.Disks["scsi1"]
	path := fmt.Sprintf("/nodes/pve1/qemu/%d/config", id)
	if err := s.pve.Put(ctx, path, map[string]any{"delete": "scsi0"}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "boot disk re-attached", func() string {
		cfg := s.guestConfig(t, "pve1", id)
		if volumeOf(str(cfg["scsi0"])) != boot {
			return fmt.Sprintf("scsi0 %v unused0 %v, want %s", cfg["scsi0"], cfg["unused0"], boot)
		}
		return ""
	})

	// scsi1's volume detached and destroyed by hand: nothing to re-attach.
	if err := s.pve.Put(ctx, path, map[string]any{"delete": "scsi1"}, nil); err != nil {
		t.Fatal(err)
	}
	cfg := s.guestConfig(t, "pve1", id)
	for k, v := range cfg {
		if strings.HasPrefix(k, "unused") && volumeOf(str(v)) == data {
			if err := s.pve.Put(ctx, path, map[string]any{"delete": k}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.waitObj(t, vm, 30*time.Second, "lost disk reported", func(_, sy xpv2.Condition) string {
		if sy.Status != corev1.ConditionFalse || !strings.Contains(sy.Message, "scsi1 ("+data+")") {
			return "no report of scsi1"
		}
		return ""
	})
	time.Sleep(2 * time.Second)
	if v, ok := s.guestConfig(t, "pve1", id)["scsi1"]; ok {
		t.Fatalf("scsi1 refilled with %v", v)
	}
}

// A VM deleted by hand is created again, and the loss is a Warning event and
// the ExternalDrift condition, not a Normal "created".
func TestGuestDeletedByHandReportedAsLost(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	ctx := context.Background()
	vm := s.vm("lost-1", cloneOf(pvesim.DefaultTemplateID))
	mustCreate(t, s.env.Client, vm)
	vm = s.waitReady(t, "lost-1")
	id := int(vm.Status.AtProvider.VMID)
	path := fmt.Sprintf("/nodes/pve1/qemu/%d", id)
	if err := s.pve.Post(ctx, path+"/status/stop", nil, nil); err != nil {
		t.Fatal(err)
	}
	s.sim.Wait()
	if err := s.pve.Delete(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	s.sim.Wait()
	eventually(t, 60*time.Second, "loss in the ExternalDrift condition or a Warning event", func() string {
		vm = s.get(t, "lost-1")
		if len(s.events(t, vm, string(generic.ReasonExternalResourceLost))) > 0 {
			return ""
		}
		if c := vm.GetCondition(generic.TypeExternalDrift); !strings.Contains(c.Message, "is gone") {
			return fmt.Sprintf("ExternalDrift %s: %s (conditions %+v, external name %s, guests %+v)", c.Reason, c.Message,
				vm.Status.Conditions, meta.GetExternalName(vm), s.guestsNamed(t, "lost-1"))
		}
		return ""
	})
	vm = s.waitReady(t, "lost-1")
	t.Logf("ExternalResourceLost events: %q", s.events(t, vm, string(generic.ReasonExternalResourceLost)))
	if n := len(s.guestsNamed(t, "lost-1")); n != 1 {
		t.Fatalf("%d guests named lost-1, want 1", n)
	}
}

// A task whose status PVE no longer knows (400 no such task) never wedges a
// resource: it observes what the task left behind and goes on.
func TestTaskPVENoLongerKnowsDoesNotWedge(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	vm := s.vm("task-1", cloneOf(pvesim.DefaultTemplateID))
	mustCreate(t, s.env.Client, vm)
	vm = s.waitReady(t, "task-1")
	s.update(t, vm, func() {
		meta.AddAnnotations(vm, map[string]string{guest.AnnotationPendingTask: "UPID:pve1:0000DEAD:0000BEEF:65000000:qmclone:4242:root@pam:"})
	})
	eventually(t, 20*time.Second, "forgotten task dropped", func() string {
		vm = s.get(t, "task-1")
		if _, ok := vm.GetAnnotations()[guest.AnnotationPendingTask]; ok {
			return "pending task annotation still set: " + vm.GetCondition(xpv2.TypeSynced).Message
		}
		return ""
	})
	s.waitReady(t, "task-1")
}

// A vmid the spec names that another guest holds is an error the user must
// fix, not a loop of clones and external-name flips.
func TestExplicitVMIDHeldByAnotherGuestIsTerminal(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmox(t)
	p := cloneOf(pvesim.DefaultTemplateID)
	p.VMID = ptr.To[int64](pvesim.DefaultTemplateID)
	clones := s.count("POST /nodes/{node}/qemu/{vmid}/clone")
	vm := s.vm("taken-1", p)
	mustCreate(t, s.env.Client, vm)
	flips, last := 0, ""
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		vm = s.get(t, "taken-1")
		if en := meta.GetExternalName(vm); en != last {
			flips++
			last = en
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := s.count("POST /nodes/{node}/qemu/{vmid}/clone") - clones; n > 1 {
		t.Errorf("%v clone requests for an id another guest holds, want at most 1", n)
	}
	if flips > 2 {
		t.Errorf("external name changed %d times", flips)
	}
	if sy := vm.GetCondition(xpv2.TypeSynced); !strings.Contains(sy.Message, "belongs to another guest") && !strings.Contains(sy.Message, "already exists") {
		t.Errorf("Synced: %s", sy.Message)
	}
	if g, _ := s.sim.Guest(pvesim.DefaultTemplateID); g.Config["name"] == "taken-1" {
		t.Error("the template was taken over")
	}
}

// A failing resource backs off exponentially, and its condition says so.
func TestFailingResourceBacksOffExponentially(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmoxWith(t, func(o *options.Options) { o.RetryBase, o.RetryMax = 500*time.Millisecond, 8*time.Second })
	s.setFaults(pvesim.RouteFault{Route: "POST /nodes/{node}/qemu/{vmid}/clone", Code: 503, Body: pvesim.BodyEmpty, Phase: pvesim.PhaseBefore, ErrorRate: 1})
	route := "POST /nodes/{node}/qemu/{vmid}/clone"
	base := s.count(route)
	vm := s.vm("backoff-1", cloneOf(pvesim.DefaultTemplateID))
	mustCreate(t, s.env.Client, vm)
	var at []time.Time
	seen := base
	deadline := time.Now().Add(14 * time.Second)
	for time.Now().Before(deadline) {
		if n := s.count(route); n > seen {
			for range int(n - seen) {
				at = append(at, time.Now())
			}
			seen = n
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(at) < 4 {
		t.Fatalf("only %d attempts in 14s", len(at))
	}
	var gaps []time.Duration
	for i := 1; i < len(at); i++ {
		gaps = append(gaps, at[i].Sub(at[i-1]).Round(10*time.Millisecond))
	}
	t.Logf("%d attempts, gaps %v", len(at), gaps)
	if len(at) > 7 {
		t.Errorf("%d attempts in 14s: no backoff (gaps %v)", len(at), gaps)
	}
	// The backoff is a lower bound (load only delays a retry): the n-th gap
	// is at least base·2^n, less the jitter and the sampling.
	for i, g := range gaps {
		if least := time.Duration(0.85 * float64(500*time.Millisecond) * float64(int(1)<<i)); g < least && least <= 8*time.Second {
			t.Errorf("gap %d is %s, want at least %s (gaps %v)", i, g, least, gaps)
		}
	}
	sy := s.get(t, "backoff-1").GetCondition(xpv2.TypeSynced)
	if !strings.Contains(sy.Message, "next try in") || !strings.Contains(sy.Message, "503") {
		t.Errorf("Synced: %s", sy.Message)
	}
	s.sim.Faults().Clear()
	s.waitReady(t, "backoff-1")
}

var _ = kerrors.IsNotFound
