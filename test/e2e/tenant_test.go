package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A Tenant, then a VPS placed in the tenant's Proxmox pool and Ceph pool. Deleting the tenant while
// the VPS uses its pools deletes nothing the VPS needs: the Proxmox pool keeps its member, the Ceph
// pool keeps the VPS's image, the VM keeps running, and the pools' managed resources say why they
// wait. Once the VPS is deleted, the tenant's resources finish going away.
func TestTenantDeletionWaitsForItsVPS(t *testing.T) {
	w := platform(t)
	ctx := context.Background()
	ns := w.namespace(t, "tenants")
	w.mustApply(t, tenantYAML(ns, "acme", 20))
	tenant := w.waitReady(t, gvrTenant, ns, "acme", 3*time.Minute)
	pvePool, cephPool := str(tenant, "status", "proxmoxPool"), str(tenant, "status", "cephPool")
	if pvePool == "" || cephPool == "" {
		t.Fatalf("tenant status names no pools: %v", tenant.Object["status"])
	}
	w.mustApply(t, fmt.Sprintf(`
apiVersion: platform.microcloud.dev/v1alpha1
kind: VPS
metadata: {name: web, namespace: %s}
spec:
  size: small
  node: pve2
  template: {sourceVMID: 9000}
  proxmoxPool: %s
  openPorts: [{port: 443}]
  dataVolume: {pool: %s, sizeGiB: 1}
`, ns, pvePool, cephPool))
	w.waitReady(t, gvrVPS, ns, "web", 3*time.Minute)
	vms := w.composedOf(t, gvrVM, ns, "web")
	imgs := w.composedOf(t, gvrRBDImage, ns, "web")
	if len(vms) != 1 || len(imgs) != 1 {
		t.Fatalf("%d VMs, %d images composed for the VPS", len(vms), len(imgs))
	}
	vmid, _ := strconv.Atoi(str(&vms[0], "status", "atProvider", "vmid"))
	if g, ok := w.sim.Guest(vmid); !ok || g.Pool != pvePool {
		t.Fatalf("guest %d: %+v, want member of pool %s", vmid, g, pvePool)
	}
	image := str(&imgs[0], "metadata", "annotations", "crossplane.io/external-name")
	pools := w.composedOf(t, gvrPVEPool, ns, "acme")
	cpools := w.composedOf(t, gvrCephPool, ns, "acme")
	if len(pools) != 1 || len(cpools) != 1 {
		t.Fatalf("tenant composed %d Proxmox pools, %d Ceph pools", len(pools), len(cpools))
	}

	if _, err := w.kubectl("-n", ns, "delete", "tenant", "acme", "--wait=false"); err != nil {
		t.Fatal(err)
	}
	// The pools' managed resources are being deleted and wait, saying why; nothing is lost.
	eventually(t, 2*time.Minute, "the pools' deletion waiting with a reason", func() string {
		p, err := w.get(ctx, gvrPVEPool, ns, pools[0].GetName())
		if err != nil {
			return "Proxmox pool MR: " + err.Error()
		}
		c, err := w.get(ctx, gvrCephPool, ns, cpools[0].GetName())
		if err != nil {
			return "Ceph pool MR: " + err.Error()
		}
		if p.GetDeletionTimestamp() == nil || c.GetDeletionTimestamp() == nil {
			return "pool MRs not being deleted yet"
		}
		_, pr, pm := condition(p, "Synced")
		_, cr, cm := condition(c, "Ready")
		_, br, bm := condition(c, "Deletable")
		if !strings.Contains(pm, "not empty") || br != "DeletionBlocked" {
			return fmt.Sprintf("no reason yet: Proxmox pool Synced %s %q; Ceph pool Ready %s %q, Deletable %s %q", pr, pm, cr, cm, br, bm)
		}
		t.Logf("Proxmox pool waits: %s %q; Ceph pool: %s %q / %s %q", pr, pm, cr, cm, br, bm)
		return ""
	})
	time.Sleep(10 * time.Second) // several polls of the deleting pools
	if g, ok := w.sim.Guest(vmid); !ok || !g.Running || g.Pool != pvePool {
		t.Fatalf("guest %d after the tenant's deletion: %+v exists %v; want running in %s", vmid, g, ok, pvePool)
	}
	if _, err := w.pve("GET", "/pools/"+pvePool); err != nil {
		t.Fatalf("Proxmox pool %s gone while it has a member: %v", pvePool, err)
	}
	if !w.rbdExists(t, cephPool, image) {
		t.Fatalf("image %s/%s gone while the tenant was being deleted", cephPool, image)
	}
	if v := w.waitReady(t, gvrVPS, ns, "web", time.Minute); v == nil {
		t.Fatal("VPS not Ready")
	}

	// the VPS goes, then the tenant's pools follow
	w.deleteAndWait(t, gvrVPS, ns, "web")
	w.waitGone(t, gvrPVEPool, ns, pools[0].GetName(), 3*time.Minute)
	w.waitGone(t, gvrCephPool, ns, cpools[0].GetName(), 3*time.Minute)
	if _, err := w.pve("GET", "/pools/"+pvePool); err == nil {
		t.Errorf("Proxmox pool %s still exists", pvePool)
	}
	if _, ok := w.cephPoolID(t, cephPool); ok {
		t.Errorf("Ceph pool %s still exists", cephPool)
	}
}
