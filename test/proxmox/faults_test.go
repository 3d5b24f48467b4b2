package proxmox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/guest"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// faultVariants are what a backend call may meet on its way: a gateway's or
// pveproxy's error status with PVE's JSON, an HTML page or nothing, a request
// that hangs until the connection is closed, and an answer dropped after PVE
// did the work. Each strikes one request; in a cell they strike one after the
// other, alternating before the handler ran (nothing done) and after it
// (done, answer lost).
func faultVariants(route string) []pvesim.RouteFault {
	drops := 1
	if strings.HasPrefix(route, "GET ") {
		drops = 2 // Go's transport re-sends a GET dropped on a reused connection once
	}
	var out []pvesim.RouteFault
	i := 0
	for _, code := range []int{502, 503, 504, 595} {
		for _, body := range []string{pvesim.BodyJSON, pvesim.BodyHTML, pvesim.BodyEmpty} {
			phase := pvesim.PhaseBefore
			if i%2 == 1 {
				phase = pvesim.PhaseAfter
			}
			i++
			out = append(out, pvesim.RouteFault{Route: route, Code: code, Body: body, Phase: phase, Count: 1,
				Message: "injected: does not exist"})
		}
	}
	out = append(out,
		pvesim.RouteFault{Route: route, Hang: pvesim.Duration(1500 * time.Millisecond), Phase: pvesim.PhaseAfter, Count: 1},
		pvesim.RouteFault{Route: route, DropRate: 1, Count: drops})
	return out
}

// A faultCell is one kind × operation × backend route class.
type faultCell struct {
	kind, op, route string
}

func (c faultCell) String() string { return c.kind + "/" + c.op + "/" + c.route }

var faultCells = func() []faultCell {
	var cells []faultCell
	add := func(kind, op string, routes ...string) {
		for _, r := range routes {
			cells = append(cells, faultCell{kind, op, r})
		}
	}
	const (
		view  = "GET /cluster/resources"
		next  = "GET /cluster/nextid"
		task  = "GET /nodes/{node}/tasks/{upid}/status"
		fwGrp = "GET /cluster/firewall/groups/{group}"
	)
	add("VirtualMachine", "create", view, next, "POST /nodes/{node}/qemu/{vmid}/clone", task,
		"GET /nodes/{node}/qemu/{vmid}/config", "PUT /nodes/{node}/qemu/{vmid}/config")
	add("VirtualMachine", "update", view, "GET /nodes/{node}/qemu/{vmid}/config", "PUT /nodes/{node}/qemu/{vmid}/config")
	add("VirtualMachine", "delete", view, next, "DELETE /nodes/{node}/qemu/{vmid}", "POST /nodes/{node}/qemu/{vmid}/status/stop", task)
	add("Container", "create", view, next, "POST /nodes/{node}/lxc", task, "GET /nodes/{node}/lxc/{vmid}/config")
	add("Container", "update", view, "GET /nodes/{node}/lxc/{vmid}/config", "PUT /nodes/{node}/lxc/{vmid}/config")
	add("Container", "delete", view, next, "DELETE /nodes/{node}/lxc/{vmid}", "POST /nodes/{node}/lxc/{vmid}/status/stop", task)
	add("FirewallSecurityGroup", "create", fwGrp, "POST /cluster/firewall/groups")
	add("FirewallSecurityGroup", "update", fwGrp, "PUT /cluster/firewall/groups/{group}/{pos}", "POST /cluster/firewall/groups/{group}")
	add("FirewallSecurityGroup", "delete", fwGrp, "DELETE /cluster/firewall/groups/{group}/{pos}", view, "GET /nodes/{node}/qemu/{vmid}/firewall/rules")
	return cells
}()

// TestFaultMatrix drives create, update and delete of VMs, containers and
// security groups while each backend route class they use fails in every
// way faultVariants lists, then checks, once the faults are spent, that
// every resource converged, no guest was duplicated or leaked, no disk was
// replaced and no resource let go of a guest that still existed.
func TestFaultMatrix(t *testing.T) {
	first := newSite(t, pvesim.Options{})
	first.startProxmoxWith(t, func(o *options.Options) {
		o.GlobalRateLimiter = ratelimiter.NewGlobal(500)
		o.MaxConcurrentReconciles = 16
	})
	variants := len(faultVariants("x"))
	results := make([]string, len(faultCells))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	for i, cell := range faultCells {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = runFaultCell(t, cell)
		}()
	}
	wg.Wait()
	failed := 0
	var b strings.Builder
	fmt.Fprintf(&b, "fault matrix: %d cells (kind × operation × route class) × %d fault variants = %d injected faults\n",
		len(faultCells), variants, len(faultCells)*variants)
	for i, cell := range faultCells {
		verdict := "ok"
		if results[i] != "" {
			verdict = "FAIL: " + results[i]
			failed++
		}
		fmt.Fprintf(&b, "  %-70s %s\n", cell, verdict)
	}
	t.Log(b.String())
	report(t, "fault-matrix-proxmox.txt", b.String())
	if failed > 0 {
		t.Fatalf("%d of %d fault matrix cells failed (see the table above)", failed, len(faultCells))
	}
}

// runFaultCell runs one cell on its own simulator and namespace; it returns
// "" or what went wrong.
func runFaultCell(t *testing.T, cell faultCell) string {
	s := newSite(t, pvesim.Options{TaskDuration: 50 * time.Millisecond})
	ctx := context.Background()
	kube := s.env.Client
	// A write struck after PVE did it (answer lost) is not needed again, so
	// a write route needs as many resources as variants that strike after
	// the handler for every variant to strike; reads are repeated anyway.
	n := 2
	if !strings.HasPrefix(cell.route, "GET ") {
		n = 8
	}
	objs := make([]client.Object, n)
	for i := range n {
		name := fmt.Sprintf("f%d", i)
		switch cell.kind {
		case "VirtualMachine":
			p := cloneOf(9000)
			p.Disks = []v1alpha1.Disk{{Slot: "scsi0", Storage: "ceph-rbd", SizeGiB: 4}}
			objs[i] = s.vm(name, p)
		case "Container":
			objs[i] = s.container(name, debianCT())
		default:
			objs[i] = s.group(fmt.Sprintf("fm%s%d", strings.ReplaceAll(cell.op, "e", ""), i), v1alpha1.FirewallSecurityGroupParameters{
				Rules: []v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("22")}}})
		}
	}
	arm := func() {
		s.sim.Faults().Set(pvesim.FaultConfig{Routes: faultVariants(cell.route)})
	}
	if cell.op == "create" {
		arm()
	}
	// The cell's resources go when the test ends (before its simulator
	// does): left behind, hundreds of them would be reconciled against dead
	// simulators by every later test's manager of this package.
	t.Cleanup(func() { forget(kube, objs) })
	for _, o := range objs {
		if err := kube.Create(ctx, o); err != nil {
			return "create: " + err.Error()
		}
	}
	if cell.kind == "FirewallSecurityGroup" && cell.op == "delete" {
		// a guest whose firewall the in-use scan reads
		vm := s.vm("scan", cloneOf(9000))
		t.Cleanup(func() { forget(kube, []client.Object{vm}) })
		if err := kube.Create(ctx, vm); err != nil {
			return err.Error()
		}
		objs = append(objs, vm)
	}
	if msg := waitAll(s, objs, 120*time.Second); msg != "" {
		return "before/while " + cell.op + ": " + msg
	}
	before := s.volumes()
	switch cell.op {
	case "update":
		arm()
		for _, o := range objs {
			if err := patchSpec(ctx, kube, o); err != nil {
				return "update: " + err.Error()
			}
		}
		if msg := waitAll(s, objs, 120*time.Second); msg != "" {
			return "update: " + msg
		}
		// An update can finish on a cluster view read before the faults were armed
		// (it is kept for a poll): polls go on reading it, so wait until every fault
		// struck, then everything must converge again.
		for deadline := time.Now().Add(30 * time.Second); len(s.sim.Faults().Get().Routes) > 0 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
		}
		if msg := waitAll(s, objs, 120*time.Second); msg != "" {
			return "after the update's faults struck: " + msg
		}
	case "delete":
		arm()
		ids := map[string]int{}
		for _, o := range objs[:n] {
			ids[o.GetName()] = guestID(o)
			if err := kube.Delete(ctx, o); err != nil {
				return "delete: " + err.Error()
			}
		}
		if msg := waitGone(s, objs[:n], ids, 120*time.Second); msg != "" {
			return "delete: " + msg
		}
	}
	left := len(s.sim.Faults().Get().Routes)
	s.sim.Faults().Clear()
	if cell.op == "update" {
		if msg := checkUpdated(s, objs); msg != "" {
			return msg
		}
	}
	if msg := s.invariants(cell, objs, before); msg != "" {
		return msg
	}
	if left > 0 {
		// Every variant must have struck: otherwise the cell tested less than it says.
		return fmt.Sprintf("%d of the %d faults never struck (the route was not used?)", left, len(faultVariants("x")))
	}
	return ""
}

// report writes a test's summary to $MICROCLOUD_REPORT_DIR (cluster/test.sh
// prints every report after go test, which shows a passing test's log only
// with -v).
func report(t *testing.T, name, text string) {
	dir := os.Getenv("MICROCLOUD_REPORT_DIR")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("cannot write the report: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Errorf("cannot write the report: %v", err)
	}
}

// forget removes objects from the API server without waiting for their
// controllers: deleted (so no finalizer is added again), then their
// finalizers dropped; what they manage is left to the simulator, which goes
// with the test.
func forget(kube client.Client, objs []client.Object) {
	ctx := context.Background()
	for _, o := range objs {
		if err := kube.Delete(ctx, o); err != nil {
			continue // gone already
		}
		_ = retryOnConflict(func() error {
			if err := kube.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				return client.IgnoreNotFound(err)
			}
			o.SetFinalizers(nil)
			return client.IgnoreNotFound(kube.Update(ctx, o))
		})
	}
}

func guestID(o client.Object) int {
	var id int
	_, _ = fmt.Sscan(o.GetAnnotations()["crossplane.io/external-name"], &id)
	return id
}

// waitAll waits until every object is Ready and Synced.
func waitAll(s *site, objs []client.Object, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		last = ""
		for _, o := range objs {
			if err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o); err != nil {
				last = err.Error()
				break
			}
			c := o.(conditioned)
			r, sy := c.GetCondition(xpv2.TypeReady), c.GetCondition(xpv2.TypeSynced)
			// Synced at the current generation: a condition from before a
			// spec change says nothing about the change.
			if r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue || sy.ObservedGeneration != o.GetGeneration() {
				last = fmt.Sprintf("%s: ready=%s (%s) synced=%s (%s) at generation %d of %d", o.GetName(), r.Status, r.Message,
					sy.Status, sy.Message, sy.ObservedGeneration, o.GetGeneration())
				break
			}
		}
		if last == "" {
			return ""
		}
		time.Sleep(250 * time.Millisecond)
	}
	return "not converged within " + timeout.String() + ": " + last
}

// waitGone waits until the objects are gone, and checks at every sample
// that none let go of its guest (finalizer removed) while PVE still had it.
func waitGone(s *site, objs []client.Object, ids map[string]int, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		gone := 0
		for _, o := range objs {
			err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o)
			if !kerrors.IsNotFound(err) {
				continue
			}
			gone++
			if id := ids[o.GetName()]; id != 0 {
				if _, ok := s.sim.Guest(id); ok {
					return fmt.Sprintf("%s was released while its guest %d still exists (leaked)", o.GetName(), id)
				}
			}
			if _, isGroup := o.(*v1alpha1.FirewallSecurityGroup); isGroup {
				if exists, err := groupExists(s, groupNameOf(o)); err != nil || exists {
					return fmt.Sprintf("%s was released while its security group still exists (%v)", o.GetName(), err)
				}
			}
		}
		if gone == len(objs) {
			return ""
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "not deleted within " + timeout.String()
}

func groupNameOf(o client.Object) string {
	if en := o.GetAnnotations()["crossplane.io/external-name"]; en != "" {
		return en
	}
	return o.GetName()
}

// patchSpec changes what an update must carry to the backend.
func patchSpec(ctx context.Context, kube client.Client, o client.Object) error {
	return retryOnConflict(func() error {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			return err
		}
		switch x := o.(type) {
		case *v1alpha1.VirtualMachine:
			x.Spec.ForProvider.Cores = 3
			x.Spec.ForProvider.MemoryMiB = 1536
		case *v1alpha1.Container:
			x.Spec.ForProvider.Cores = 3
			x.Spec.ForProvider.MemoryMiB = 768
		case *v1alpha1.FirewallSecurityGroup:
			x.Spec.ForProvider.Rules = append(x.Spec.ForProvider.Rules,
				v1alpha1.FirewallRule{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("443")})
			x.Spec.ForProvider.Rules[0].DPort = ptr.To("2222")
		}
		return kube.Update(ctx, o)
	})
}

func retryOnConflict(fn func() error) error {
	for range 20 {
		err := fn()
		if !kerrors.IsConflict(err) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("still conflicting")
}

// checkUpdated compares the backend with the patched specs.
func checkUpdated(s *site, objs []client.Object) string {
	for _, o := range objs {
		switch o.(type) {
		case *v1alpha1.VirtualMachine, *v1alpha1.Container:
			g, ok := s.sim.Guest(guestID(o))
			if !ok {
				return o.GetName() + ": guest gone after update"
			}
			// A running VM keeps a cores change pending until it restarts, as PVE does.
			cores := g.Config["cores"]
			if p, ok := g.Pending["cores"]; ok {
				cores = p
			}
			if cores != "3" {
				return fmt.Sprintf("%s: cores=%q after update, want 3", o.GetName(), cores)
			}
		case *v1alpha1.FirewallSecurityGroup:
			var rules []map[string]any
			if err := s.pve.Get(context.Background(), "/cluster/firewall/groups/"+groupNameOf(o), &rules); err != nil {
				return err.Error()
			}
			sort.Slice(rules, func(i, j int) bool { return str(rules[i]["pos"]) < str(rules[j]["pos"]) })
			if len(rules) != 2 || str(rules[0]["dport"]) != "2222" {
				return fmt.Sprintf("%s: rules after update %v", o.GetName(), rules)
			}
		}
	}
	return ""
}

// volumes lists every volume the simulator's storages hold.
func (s *site) volumes() []string {
	var out []string
	for _, id := range s.sim.GuestIDs() {
		g, _ := s.sim.Guest(id)
		for k, v := range g.Config {
			if isDiskKey(k) && !strings.Contains(v, "media=cdrom") || strings.HasPrefix(k, "rootfs") || strings.HasPrefix(k, "unused") {
				vol, _, _ := strings.Cut(v, ",")
				out = append(out, fmt.Sprintf("%d:%s=%s", id, k, vol))
			}
		}
	}
	sort.Strings(out)
	return out
}

func isDiskKey(k string) bool {
	for _, p := range []string{"scsi", "virtio", "sata", "ide", "mp"} {
		if strings.HasPrefix(k, p) && len(k) > len(p) && k[len(p)] >= '0' && k[len(p)] <= '9' {
			return true
		}
	}
	return false
}

// invariants: one guest per resource (owner tags), no guest of ours left
// after a delete, and no disk of a surviving guest replaced.
func (s *site) invariants(cell faultCell, objs []client.Object, before []string) string {
	owners := map[string][]int{}
	for _, id := range s.sim.GuestIDs() {
		g, _ := s.sim.Guest(id)
		for _, tag := range strings.FieldsFunc(g.Config["tags"], func(r rune) bool { return r == ';' || r == ',' }) {
			if strings.HasPrefix(tag, "mc-") {
				owners[tag] = append(owners[tag], id)
			}
		}
	}
	for _, o := range objs {
		tag := guest.OwnerTag(string(o.GetUID()))
		ids := owners[tag]
		switch {
		case len(ids) > 1:
			return fmt.Sprintf("%s has %d guests %v (duplicated)", o.GetName(), len(ids), ids)
		case cell.op == "delete" && len(ids) > 0 && o.GetName() != "scan":
			return fmt.Sprintf("%s deleted but its guest %v remains", o.GetName(), ids)
		}
		if _, isGuest := o.(*v1alpha1.FirewallSecurityGroup); !isGuest && cell.op != "delete" && len(ids) != 1 {
			return fmt.Sprintf("%s has %d guests, want 1", o.GetName(), len(ids))
		}
	}
	if _, ok := s.sim.Guest(9000); !ok {
		return "the template 9000 is gone"
	}
	if cell.op == "update" {
		after := strings.Join(s.volumes(), " ")
		for _, v := range before {
			if !strings.Contains(after, v) {
				return fmt.Sprintf("volume %s was replaced or lost by the update (now: %s)", v, after)
			}
		}
	}
	return ""
}

func groupExists(s *site, name string) (bool, error) {
	var gs []map[string]any
	if err := s.pve.Get(context.Background(), "/cluster/firewall/groups", &gs); err != nil {
		return false, err
	}
	for _, g := range gs {
		if g["group"] == name {
			return true, nil
		}
	}
	return false, nil
}
