package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// A VPSClaim becomes an XVPS, a VM on the simulator, its security group and its data volume on
// real Ceph; the claim shows node and IP; the VM's records on the ledger carry the composite and the
// claim; deleting the claim removes the guest and the image, and the VM's history reads create ...
// delete.
func TestVPSClaimLifecycle(t *testing.T) {
	w := platform(t)
	ctx := context.Background()
	ns := w.namespace(t, "claims")
	w.mustApply(t, tenantYAML(ns, "shop", 50))
	w.waitReady(t, gvrTenant, ns, "shop", 3*time.Minute)
	pool := ns + "-shop"

	start := time.Now()
	w.mustApply(t, fmt.Sprintf(`
apiVersion: platform.microcloud.dev/v1alpha1
kind: VPSClaim
metadata: {name: blog, namespace: %s}
spec:
  size: small
  node: pve3
  template: {sourceVMID: 9000}
  openPorts: [{port: 80}, {port: 443}]
  dataVolume: {pool: %s, sizeGiB: 2}
`, ns, pool))
	claim := w.waitReady(t, gvrVPSClaim, ns, "blog", 3*time.Minute)
	t.Logf("VPSClaim Ready %s after apply", time.Since(start).Round(time.Second))
	xr := str(claim, "spec", "resourceRef", "name")
	if xr == "" {
		t.Fatalf("the claim names no composite: %v", claim.Object["spec"])
	}
	if _, err := w.get(ctx, gvrXVPS, "", xr); err != nil {
		t.Fatalf("XVPS %s: %v", xr, err)
	}
	if got := str(claim, "status", "node"); got != "pve3" {
		t.Errorf("claim status.node = %q, want pve3", got)
	}
	eventually(t, time.Minute, "an IP in the claim's status", func() string {
		c, err := w.get(ctx, gvrVPSClaim, ns, "blog")
		if err != nil {
			return err.Error()
		}
		if ips := str(c, "status", "ipAddresses"); ips == "" || ips == "[]" {
			return "status.ipAddresses empty: " + fmt.Sprint(c.Object["status"])
		}
		return ""
	})

	// what Crossplane composed, and what exists outside Kubernetes
	vms := w.composedOf(t, gvrVM, ns, xr)
	sgs := w.composedOf(t, gvrSG, ns, xr)
	imgs := w.composedOf(t, gvrRBDImage, ns, xr)
	if len(vms) != 1 || len(sgs) != 1 || len(imgs) != 1 {
		t.Fatalf("composed %d VMs, %d security groups, %d RBD images; want 1 each", len(vms), len(sgs), len(imgs))
	}
	vmid, _ := strconv.Atoi(str(&vms[0], "status", "atProvider", "vmid"))
	g, ok := w.sim.Guest(vmid)
	if !ok || g.Node != "pve3" || !g.Running {
		t.Fatalf("guest %d on the simulator: %+v (exists %v), want running on pve3", vmid, g, ok)
	}
	if n := len(w.guestsNamed(vms[0].GetName())); n != 1 {
		t.Fatalf("%d guests named %s, want 1", n, vms[0].GetName())
	}
	sgName := str(&sgs[0], "metadata", "annotations", "crossplane.io/external-name")
	if !strings.Contains(g.Config["net0"], "firewall=1") {
		t.Errorf("net0 %q has no firewall=1", g.Config["net0"])
	}
	groups, err := w.pve("GET", fmt.Sprintf("/nodes/pve3/qemu/%d/firewall/rules", vmid))
	if err != nil || !strings.Contains(string(groups), sgName) {
		t.Errorf("guest rules %s (err %v) do not link security group %s", groups, err, sgName)
	}
	image := str(&imgs[0], "metadata", "annotations", "crossplane.io/external-name")
	if !w.rbdExists(t, pool, image) {
		t.Fatalf("RBD image %s/%s missing on Ceph", pool, image)
	}

	// provenance: the VM's records name the composite and the claim
	key := record.ResourceKey("proxmox.microcloud.dev/v1alpha1", "VirtualMachine", ns, vms[0].GetName())
	var hist []record.Record
	eventually(t, time.Minute, "the VM's create record on the ledger", func() string {
		hist = w.ledgerHistory(t, key)
		if !slices.Contains(succeeded(hist), record.OpCreate) {
			return fmt.Sprintf("ops %v", succeeded(hist))
		}
		return ""
	})
	for _, r := range hist {
		if r.Composite != xr || r.ClaimName != "blog" || r.ClaimNamespace != ns {
			t.Fatalf("record %s %s: composite %q claim %s/%s, want %s and %s/blog", r.Operation, r.Outcome, r.Composite, r.ClaimNamespace, r.ClaimName, xr, ns)
		}
	}

	// delete the claim: guest and image go, and the ledger tells it
	if _, err := w.kubectl("-n", ns, "delete", "vpsclaim", "blog", "--wait=false"); err != nil {
		t.Fatal(err)
	}
	w.waitGone(t, gvrVM, ns, vms[0].GetName(), 3*time.Minute)
	w.waitGone(t, gvrRBDImage, ns, imgs[0].GetName(), 3*time.Minute)
	w.waitGone(t, gvrVPSClaim, ns, "blog", 2*time.Minute)
	if _, ok := w.sim.Guest(vmid); ok {
		t.Errorf("guest %d still on the simulator after the claim was deleted", vmid)
	}
	if w.rbdExists(t, pool, image) {
		t.Errorf("RBD image %s/%s still on Ceph after the claim was deleted", pool, image)
	}
	eventually(t, time.Minute, "create ... delete on the ledger", func() string {
		ops := succeeded(w.ledgerHistory(t, key))
		if len(ops) < 2 || ops[0] != record.OpCreate || ops[len(ops)-1] != record.OpDelete {
			return fmt.Sprintf("successful ops %v, want create ... delete", ops)
		}
		return ""
	})
	if rep, err := w.lc.Verify(ctx, key); err != nil || !rep.OK {
		t.Errorf("verify %s: %+v %v", key, rep, err)
	}
	w.deleteAndWait(t, gvrTenant, ns, "shop")
}

func tenantYAML(ns, name string, quotaGiB int) string {
	return fmt.Sprintf(`
apiVersion: platform.microcloud.dev/v1alpha1
kind: Tenant
metadata: {name: %s, namespace: %s}
spec:
  storageQuotaGiB: %d
  replicas: 2
  adminCIDRs: [10.9.0.0/16]
`, name, ns, quotaGiB)
}

func (w *world) rbdExists(t *testing.T, pool, image string) bool {
	t.Helper()
	_, err := w.ceph.GetImage(pool, image)
	if cephclient.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("rbd info %s/%s: %v", pool, image, err)
	}
	return true
}

// deleteAndWait deletes an XR and waits until it and everything it composed are gone.
func (w *world) deleteAndWait(t *testing.T, gvr schema.GroupVersionResource, ns, name string) {
	t.Helper()
	if _, err := w.kubectl("-n", ns, "delete", gvr.Resource+"."+gvr.Group, name, "--wait=false"); err != nil {
		t.Fatal(err)
	}
	w.waitGone(t, gvr, ns, name, 3*time.Minute)
	for _, g := range []schema.GroupVersionResource{gvrVM, gvrSG, gvrRBDImage, gvrCephPool, gvrPVEPool} {
		for _, o := range w.composedOf(t, g, ns, name) {
			w.waitGone(t, g, ns, o.GetName(), 3*time.Minute)
		}
	}
}
