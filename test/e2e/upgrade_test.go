package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// upgradeMark starts the VirtualMachine CRD's schema description in the second version.
const upgradeMark = "(provider-microcloud v0.1.1)"

// A second version of the provider package pushed to the registry and named by the Provider:
// Crossplane rolls the revision, the runtime replaces the process, the CRDs update, and no guest,
// pool or image is created again (same VM ids, same Ceph pool id, same external names).
func TestProviderUpgradeKeepsEverything(t *testing.T) {
	w := platform(t)
	ctx := context.Background()
	ns := w.namespace(t, "upgrade")
	w.mustApply(t, tenantYAML(ns, "keep", 20))
	tenant := w.waitReady(t, gvrTenant, ns, "keep", 3*time.Minute)
	w.mustApply(t, vpsYAML(ns, "keep-vm", str(tenant, "status", "proxmoxPool"), str(tenant, "status", "cephPool"), 443))
	w.waitReady(t, gvrVPS, ns, "keep-vm", 3*time.Minute)
	cephPool := str(tenant, "status", "cephPool")
	poolID, ok := w.cephPoolID(t, cephPool)
	if !ok {
		t.Fatalf("Ceph pool %s missing", cephPool)
	}
	guestsBefore := w.sim.GuestIDs()
	extBefore := w.externalNames(t, ns)
	oldRev := w.activeRevision(t)

	// v0.1.1: the same provider, its CRDs annotated, built and pushed like a release
	tmp := t.TempDir()
	pkgRoot := filepath.Join(tmp, "package")
	if err := os.CopyFS(pkgRoot, os.DirFS(filepath.Join(repoRoot, "package"))); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(pkgRoot, "crds", "proxmox.microcloud.dev_virtualmachines.yaml")} {
		b, err := os.ReadFile(f) //nolint:gosec // test files
		if err != nil {
			t.Fatal(err)
		}
		const at = "      openAPIV3Schema:\n        description: |-\n"
		i := strings.Index(string(b), at)
		if i < 0 {
			t.Fatalf("%s has no top-level schema description to extend", f)
		}
		s := string(b[:i+len(at)]) + "          " + upgradeMark + "\n" + string(b[i+len(at):])
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil { //nolint:gosec // a copy of package/ in the test's temp dir
			t.Fatal(err)
		}
	}
	xpkg, err := script([]string{"PACKAGE_ROOT=" + pkgRoot, "PACKAGE_OUTPUT_DIR=" + filepath.Join(tmp, "out"), "VERSION=v0.1.1"}, "package.sh", "provider")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(w.runtimeBin, "push", "--registry="+w.registry, xpkg, "microcloud-dev/provider-microcloud:v0.1.1").CombinedOutput(); err != nil { //nolint:gosec // test
		t.Fatalf("push: %v: %s", err, out)
	}
	start := time.Now()
	if _, err := w.kubectl("patch", "providers.pkg.crossplane.io/provider-microcloud", "--type=merge",
		"-p", `{"spec":{"package":"ghcr.io/microcloud-dev/provider-microcloud:v0.1.1"}}`); err != nil {
		t.Fatal(err)
	}
	var newRev string
	eventually(t, 3*time.Minute, "a new active, healthy revision", func() string {
		newRev = w.activeRevision(t)
		if newRev == "" || newRev == oldRev {
			return "still " + oldRev
		}
		r, err := w.get(ctx, gvrProviderRev, "", newRev)
		if err != nil {
			return err.Error()
		}
		for _, c := range []string{"RevisionHealthy", "RuntimeHealthy"} {
			if s, _, m := condition(r, c); s != "True" {
				return fmt.Sprintf("%s %s=%s %q", newRev, c, s, m)
			}
		}
		old, err := w.get(ctx, gvrProviderRev, "", oldRev)
		if err == nil && str(old, "spec", "desiredState") != "Inactive" {
			return oldRev + " still " + str(old, "spec", "desiredState")
		}
		return ""
	})
	t.Logf("revision %s -> %s healthy %s after the Provider named v0.1.1", oldRev, newRev, time.Since(start).Round(time.Second))
	eventually(t, time.Minute, "the CRDs updated and owned by the new revision", func() string {
		crd, err := w.get(ctx, gvrCRD, "", "virtualmachines.proxmox.microcloud.dev")
		if err != nil {
			return err.Error()
		}
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		if len(versions) == 0 {
			return "no versions"
		}
		desc, _, _ := unstructured.NestedString(versions[0].(map[string]any), "schema", "openAPIV3Schema", "description")
		if !strings.Contains(desc, upgradeMark) {
			return "schema description not updated: " + desc
		}
		for _, o := range crd.GetOwnerReferences() {
			if o.Controller != nil && *o.Controller && o.Name == newRev {
				return ""
			}
		}
		return fmt.Sprintf("controller owner is not %s: %v", newRev, crd.GetOwnerReferences())
	})

	// the new process reconciles: a change to the VPS is made and recorded by v0.1.1
	w.mustApply(t, vpsYAML(ns, "keep-vm", str(tenant, "status", "proxmoxPool"), cephPool, 8443))
	sgs := w.composedOf(t, gvrSG, ns, "keep-vm")
	if len(sgs) != 1 {
		t.Fatalf("%d security groups", len(sgs))
	}
	key := record.ResourceKey("proxmox.microcloud.dev/v1alpha1", "FirewallSecurityGroup", ns, sgs[0].GetName())
	eventually(t, 2*time.Minute, "an update recorded by provider v0.1.1", func() string {
		var seen []string
		for _, r := range w.ledgerHistory(t, key) {
			if r.ProviderVersion == "v0.1.1" && r.Operation == record.OpUpdate && r.Outcome == record.OutcomeSuccess {
				return ""
			}
			seen = append(seen, r.Operation+"/"+r.Outcome+"@"+r.ProviderVersion)
		}
		return fmt.Sprintf("records %v", seen)
	})
	w.waitReady(t, gvrVPS, ns, "keep-vm", 2*time.Minute)

	// nothing was created again
	if after := w.sim.GuestIDs(); !slices.Equal(after, guestsBefore) {
		t.Errorf("guests %v before the upgrade, %v after", guestsBefore, after)
	}
	if id, ok := w.cephPoolID(t, cephPool); !ok || id != poolID {
		t.Errorf("Ceph pool %s id %d before, %d (exists %v) after", cephPool, poolID, id, ok)
	}
	if after := w.externalNames(t, ns); !mapsEqual(after, extBefore) {
		t.Errorf("external names before %v, after %v", extBefore, after)
	}
	w.deleteAndWait(t, gvrVPS, ns, "keep-vm")
	w.deleteAndWait(t, gvrTenant, ns, "keep")
}

func vpsYAML(ns, name, pvePool, cephPool string, port int) string {
	return fmt.Sprintf(`
apiVersion: platform.microcloud.dev/v1alpha1
kind: VPS
metadata: {name: %s, namespace: %s}
spec:
  size: small
  node: pve4
  template: {sourceVMID: 9000}
  proxmoxPool: %s
  openPorts: [{port: %d}]
  dataVolume: {pool: %s, sizeGiB: 1}
`, name, ns, pvePool, port, cephPool)
}

// activeRevision is the name of provider-microcloud's active revision ("" when none).
func (w *world) activeRevision(t *testing.T) string {
	t.Helper()
	revs, err := w.list(context.Background(), gvrProviderRev, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range revs {
		if r.GetLabels()["pkg.crossplane.io/package"] == "provider-microcloud" && str(&r, "spec", "desiredState") == "Active" {
			return r.GetName()
		}
	}
	return ""
}

// externalNames maps every managed resource of ns to its external name and UID.
func (w *world) externalNames(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, g := range []schema.GroupVersionResource{gvrVM, gvrSG, gvrRBDImage, gvrCephPool, gvrPVEPool} {
		items, err := w.list(context.Background(), g, ns)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			out[g.Resource+"/"+it.GetName()] = it.GetAnnotations()["crossplane.io/external-name"] + " " + string(it.GetUID())
		}
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// cephPoolID is the id of a Ceph pool, from a fresh `osd pool ls detail`.
func (w *world) cephPoolID(t *testing.T, name string) (int64, bool) {
	t.Helper()
	s, err := w.ceph.Fresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, ok := s.Pools[name]
	if !ok {
		return 0, false
	}
	return p.ID, true
}
