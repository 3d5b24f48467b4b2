package ceph

import (
	"strings"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

func (h *harness) pool(name string, p cephv1alpha1.PoolParameters) *cephv1alpha1.Pool {
	return &cephv1alpha1.Pool{
		ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.PoolSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: h.ref},
			ForProvider:         p,
		},
	}
}

func TestPoolLifecycle(t *testing.T) {
	h := newHarness(t)
	name := h.name("pool")
	mg := h.pool(name, cephv1alpha1.PoolParameters{
		Size: ptr(int32(2)), MinSize: ptr(int32(1)), PGNum: ptr(int32(8)),
		Application: ptr("rbd"), QuotaMaxBytes: ptr(int64(1 << 30)), CompressionMode: ptr("aggressive"),
	})
	h.create(mg)
	h.waitReady(mg)
	p := h.snapshot().Pools[name]
	if p == nil || p.Size != 2 || p.MinSize != 1 || p.PGNumTarget != 8 || p.AutoscaleMode != "off" ||
		p.QuotaMaxBytes != 1<<30 || p.Option("compression_mode") != "aggressive" || len(p.Applications()) != 1 {
		t.Fatalf("Ceph pool after create = %+v", p)
	}
	if mg.Status.AtProvider.ID != p.ID || mg.Status.AtProvider.CrushRule != "replicated_rule" {
		t.Errorf("status.atProvider = %+v", mg.Status.AtProvider)
	}

	// update: size, min_size, quota
	h.update(mg, func() {
		mg.Spec.ForProvider.Size = ptr(int32(3))
		mg.Spec.ForProvider.MinSize = ptr(int32(2))
		mg.Spec.ForProvider.QuotaMaxObjects = ptr(int64(5000))
	})
	h.cephUntil("size 3, min_size 2, max_objects 5000", func(s *cephclient.Snapshot) bool {
		p := s.Pools[name]
		return p != nil && p.Size == 3 && p.MinSize == 2 && p.QuotaMaxObjects == 5000
	})

	// drift made with the ceph CLI is corrected
	h.cli("ceph", "osd", "pool", "set", name, "size", "1", "--yes-i-really-mean-it")
	h.cli("ceph", "osd", "pool", "application", "disable", name, "rbd", "--yes-i-really-mean-it")
	h.cli("ceph", "osd", "pool", "set", name, "compression_mode", "none")
	h.cephUntil("drift corrected", func(s *cephclient.Snapshot) bool {
		p := s.Pools[name]
		return p != nil && p.Size == 3 && len(p.Applications()) == 1 && p.Option("compression_mode") == "aggressive"
	})

	h.delete(mg)
	h.waitGone(mg)
	if h.snapshot().Pools[name] != nil {
		t.Fatalf("pool %s still exists after the MR was deleted", name)
	}
}

func TestPoolObserveOnly(t *testing.T) {
	h := newHarness(t)
	name := h.name("import")
	h.cli("ceph", "osd", "pool", "create", name, "4", "4", "replicated", "--autoscale-mode=off")
	h.cli("ceph", "osd", "pool", "set", name, "size", "2")
	h.cleanup(func() { _ = h.ceph.DeletePool(name) })

	mg := h.pool(name, cephv1alpha1.PoolParameters{Size: ptr(int32(3))})
	mg.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.create(mg)
	h.waitReady(mg)
	if mg.Status.AtProvider.Size != 2 || mg.Status.AtProvider.PGNumTarget != 4 {
		t.Fatalf("imported status = %+v", mg.Status.AtProvider)
	}
	// observe-only: the spec's size 3 is never applied
	time.Sleep(3 * pollInterval)
	if p := h.snapshot().Pools[name]; p.Size != 2 {
		t.Fatalf("observe-only pool was changed: size %d", p.Size)
	}
	h.delete(mg)
	h.waitGone(mg)
	if h.snapshot().Pools[name] == nil {
		t.Fatalf("observe-only pool %s was deleted with its MR", name)
	}
}

// Ceph accepts a size its rule cannot satisfy and leaves the PGs undersized; the provider must
// say so in the Ready condition and recover when the spec is fixed.
func TestPoolUnplaceableSize(t *testing.T) {
	h := newHarness(t)
	root, rule, name := h.name("oneroot"), h.name("onehost"), h.name("tight")
	// a root holding a single host (lab-host0 and its one OSD, linked, not moved)
	h.cli("ceph", "osd", "crush", "add-bucket", root, "root")
	h.cli("ceph", "osd", "crush", "link", "lab-host0", "root="+root)
	h.cleanup(func() {
		_ = h.ceph.DeletePool(name)
		_ = h.ceph.RemoveCrushRule(rule)
		h.cli("ceph", "osd", "crush", "unlink", "lab-host0", root)
		_ = h.ceph.RemoveCrushBucket(root)
	})

	cr := &cephv1alpha1.CrushRule{
		ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: rule},
		Spec: cephv1alpha1.CrushRuleSpec{
			ManagedResourceSpec: xpv2.ManagedResourceSpec{ProviderConfigReference: h.ref},
			ForProvider:         cephv1alpha1.CrushRuleParameters{Root: ptr(root), FailureDomain: ptr("host")},
		},
	}
	h.create(cr)
	h.waitReady(cr)
	if cr.Status.AtProvider.FailureDomains != 1 {
		t.Fatalf("rule on a one-host root reports %d failure domains", cr.Status.AtProvider.FailureDomains)
	}

	mg := h.pool(name, cephv1alpha1.PoolParameters{Size: ptr(int32(3)), MinSize: ptr(int32(1)), PGNum: ptr(int32(4)),
		CrushRuleRef: &xpv2.NamespacedReference{Name: rule}})
	h.create(mg)
	h.waitCondition(mg, xpv2.TypeSynced, corev1.ConditionTrue, "", 60*time.Second)
	h.waitCondition(mg, xpv2.TypeReady, corev1.ConditionFalse, `CRUSH rule "`+rule+`" finds only 1 failure domain(s) for 3 copies`, 60*time.Second)
	// and Ceph's own PG states say the same once the mgr reports them
	h.waitCondition(mg, xpv2.TypeReady, corev1.ConditionFalse, "undersized", 60*time.Second)
	t.Logf("condition: %s", mg.GetCondition(xpv2.TypeReady).Message)

	h.update(mg, func() { mg.Spec.ForProvider.Size = ptr(int32(1)) })
	h.waitCondition(mg, xpv2.TypeReady, corev1.ConditionTrue, "", 90*time.Second)
	if p := h.snapshot().Pools[name]; p.Size != 1 {
		t.Fatalf("size = %d after the fix", p.Size)
	}
}

// Bad input only Ceph can judge: Ceph's message lands in the condition, and a pool created at
// the same time is untouched.
func TestPoolCephRejects(t *testing.T) {
	h := newHarness(t)
	bad, good := h.name("toomanypgs"), h.name("fine")
	h.cleanup(func() { _ = h.ceph.DeletePool(good); _ = h.ceph.DeletePool(bad) })
	badMR := h.pool(bad, cephv1alpha1.PoolParameters{PGNum: ptr(int32(65536))})
	goodMR := h.pool(good, cephv1alpha1.PoolParameters{PGNum: ptr(int32(4)), Size: ptr(int32(1))})
	h.create(badMR)
	h.create(goodMR)
	h.waitCondition(badMR, xpv2.TypeSynced, corev1.ConditionFalse, "exceeds max", 60*time.Second)
	msg := badMR.GetCondition(xpv2.TypeSynced).Message
	if !strings.Contains(msg, "pg_num 65536") || !strings.Contains(msg, "ERANGE") {
		t.Errorf("condition does not carry Ceph's words: %s", msg)
	}
	h.waitReady(goodMR)
	if h.snapshot().Pools[bad] != nil {
		t.Errorf("Ceph created the pool it rejected")
	}
	// fixing the spec recovers
	h.update(badMR, func() { badMR.Spec.ForProvider.PGNum = ptr(int32(4)) })
	h.waitReady(badMR)
}

// Deletion needs the MR's consent (Delete in managementPolicies) and the cluster's
// (mon_allow_pool_delete); a refusal is explained in the condition.
func TestPoolDeletionConsent(t *testing.T) {
	h := newHarness(t)
	kept, guarded := h.name("kept"), h.name("guarded")
	h.cleanup(func() {
		h.cli("ceph", "tell", "mon.*", "config", "set", "mon_allow_pool_delete", "true")
		_ = h.ceph.DeletePool(kept)
		_ = h.ceph.DeletePool(guarded)
	})

	// no Delete in the policies: deleting the MR orphans the pool
	keptMR := h.pool(kept, cephv1alpha1.PoolParameters{Size: ptr(int32(1)), PGNum: ptr(int32(4))})
	keptMR.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve, xpv2.ManagementActionCreate, xpv2.ManagementActionUpdate, xpv2.ManagementActionLateInitialize}
	h.create(keptMR)
	h.waitReady(keptMR)
	h.delete(keptMR)
	h.waitGone(keptMR)
	if h.snapshot().Pools[kept] == nil {
		t.Fatalf("pool %s was deleted although its MR's policies exclude Delete", kept)
	}

	// the cluster forbids pool deletion: the MR stays, and its condition says why
	guardedMR := h.pool(guarded, cephv1alpha1.PoolParameters{Size: ptr(int32(1)), PGNum: ptr(int32(4))})
	h.create(guardedMR)
	h.waitReady(guardedMR)
	h.cli("ceph", "tell", "mon.*", "config", "set", "mon_allow_pool_delete", "false")
	h.delete(guardedMR)
	h.waitCondition(guardedMR, xpv2.TypeSynced, corev1.ConditionFalse, "mon_allow_pool_delete", 60*time.Second)
	t.Logf("condition: %s", guardedMR.GetCondition(xpv2.TypeSynced).Message)
	if h.snapshot().Pools[guarded] == nil {
		t.Fatal("pool deleted although the cluster forbids it")
	}
	h.cli("ceph", "tell", "mon.*", "config", "set", "mon_allow_pool_delete", "true")
	h.waitGone(guardedMR)
	if h.snapshot().Pools[guarded] != nil {
		t.Fatal("pool still exists after deletion was allowed")
	}
}
