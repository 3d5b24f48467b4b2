package ceph

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

func (h *harness) mrSpec() xpv2.ManagedResourceSpec {
	return xpv2.ManagedResourceSpec{ProviderConfigReference: h.ref}
}

func (h *harness) ecProfile(name string, p cephv1alpha1.ErasureCodeProfileParameters) *cephv1alpha1.ErasureCodeProfile {
	return &cephv1alpha1.ErasureCodeProfile{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.ErasureCodeProfileSpec{ManagedResourceSpec: h.mrSpec(), ForProvider: p}}
}

func (h *harness) crushRule(name string, p cephv1alpha1.CrushRuleParameters) *cephv1alpha1.CrushRule {
	return &cephv1alpha1.CrushRule{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.CrushRuleSpec{ManagedResourceSpec: h.mrSpec(), ForProvider: p}}
}

func (h *harness) bucket(name string, p cephv1alpha1.CrushBucketParameters) *cephv1alpha1.CrushBucket {
	return &cephv1alpha1.CrushBucket{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.CrushBucketSpec{ManagedResourceSpec: h.mrSpec(), ForProvider: p}}
}

func (h *harness) image(name string, p cephv1alpha1.RBDImageParameters) *cephv1alpha1.RBDImage {
	return &cephv1alpha1.RBDImage{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.RBDImageSpec{ManagedResourceSpec: h.mrSpec(), ForProvider: p}}
}

// An erasure-code profile, an erasure rule and an EC pool made from it; the profile's drift is
// corrected while unused and explained while a pool uses it.
func TestErasureCoding(t *testing.T) {
	h := newHarness(t)
	prof, rule, pool := h.name("ec21"), h.name("ecrule"), h.name("ecpool")
	h.cleanup(func() {
		_ = h.ceph.DeletePool(pool)
		_ = h.ceph.RemoveCrushRule(rule)
		_ = h.ceph.RemoveErasureCodeProfile(prof)
	})
	ecp := h.ecProfile(prof, cephv1alpha1.ErasureCodeProfileParameters{K: 2, M: 1, FailureDomain: ptr("host"), Technique: ptr("reed_sol_van")})
	h.create(ecp)
	h.waitReady(ecp)
	if got := h.snapshot().Profiles[prof]; got["k"] != "2" || got["m"] != "1" || got["crush-failure-domain"] != "host" {
		t.Fatalf("profile in Ceph = %v", got)
	}

	// drift while unused: removed, then changed with --force; both corrected
	h.cli("ceph", "osd", "erasure-code-profile", "rm", prof)
	h.cephUntil("profile recreated", func(s *cephclient.Snapshot) bool { return s.Profiles[prof]["m"] == "1" })
	h.waitInSync(ecp)
	h.cli("ceph", "osd", "erasure-code-profile", "set", prof, "k=2", "m=2", "crush-failure-domain=osd", "--force", "--yes-i-really-mean-it")
	h.cephUntil("profile restored", func(s *cephclient.Snapshot) bool {
		return s.Profiles[prof]["m"] == "1" && s.Profiles[prof]["crush-failure-domain"] == "host"
	})
	t.Logf("event: %s", h.waitEvent(ecp, "DriftRepaired", `m: want "1", Ceph has "2"`))

	cr := h.crushRule(rule, cephv1alpha1.CrushRuleParameters{Type: "erasure", ErasureCodeProfileRef: &xpv2.NamespacedReference{Name: prof}})
	h.create(cr)
	h.waitReady(cr)
	if cr.Status.AtProvider.Type != "erasure" || cr.Status.AtProvider.FailureDomain != "host" || cr.Status.AtProvider.FailureDomains != 3 {
		t.Fatalf("erasure rule status = %+v", cr.Status.AtProvider)
	}

	mg := h.pool(pool, cephv1alpha1.PoolParameters{Type: "erasure", PGNum: ptr(int32(4)), AllowECOverwrites: ptr(true),
		ErasureCodeProfileRef: &xpv2.NamespacedReference{Name: prof}, CrushRuleRef: &xpv2.NamespacedReference{Name: rule}})
	h.create(mg)
	h.waitReady(mg)
	if a := mg.Status.AtProvider; a.Type != "erasure" || a.Size != 3 || a.ErasureCodeProfile != prof || a.CrushRule != rule || !strings.Contains(a.Flags, "ec_overwrites") {
		t.Fatalf("EC pool status = %+v", a)
	}

	// deleting a profile in use: refused with the pool named, and nothing else changes
	h.delete(ecp)
	h.waitCondition(ecp, xpv2.TypeSynced, corev1.ConditionFalse, "because pools use it: "+pool, 60*time.Second)
	if h.snapshot().Pools[pool] == nil {
		t.Fatal("EC pool vanished")
	}
	h.delete(mg)
	h.waitGone(mg)
	h.delete(cr)
	h.waitGone(cr)
	h.poke(ecp) // out of its error backoff now that nothing uses it
	h.waitGone(ecp)
	if _, ok := h.snapshot().Profiles[prof]; ok {
		t.Fatal("profile still exists")
	}
}

func TestErasureCodeProfileImport(t *testing.T) {
	h := newHarness(t)
	prof := h.name("ecimport")
	h.cli("ceph", "osd", "erasure-code-profile", "set", prof, "k=3", "m=2")
	h.cleanup(func() { _ = h.ceph.RemoveErasureCodeProfile(prof) })
	ecp := h.ecProfile(prof, cephv1alpha1.ErasureCodeProfileParameters{K: 3, M: 2})
	ecp.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.create(ecp)
	h.waitReady(ecp)
	if ecp.Status.AtProvider.Profile["k"] != "3" || ecp.Status.AtProvider.Profile["plugin"] != "jerasure" {
		t.Fatalf("imported profile = %v", ecp.Status.AtProvider.Profile)
	}
	h.delete(ecp)
	h.waitGone(ecp)
	if _, ok := h.snapshot().Profiles[prof]; !ok {
		t.Fatal("observe-only profile was removed")
	}
}

func TestCrushRule(t *testing.T) {
	h := newHarness(t)
	rule, imported := h.name("rrule"), h.name("rimport")
	h.cleanup(func() { _ = h.ceph.RemoveCrushRule(rule); _ = h.ceph.RemoveCrushRule(imported) })
	cr := h.crushRule(rule, cephv1alpha1.CrushRuleParameters{Root: ptr("default"), FailureDomain: ptr("host"), DeviceClass: ptr("hdd")})
	h.create(cr)
	h.waitReady(cr)
	if a := cr.Status.AtProvider; a.Root != "default" || a.FailureDomain != "host" || a.DeviceClass != "hdd" || a.FailureDomains != 3 {
		t.Fatalf("rule status = %+v", a)
	}

	// update: Ceph cannot edit a rule, the provider replaces it
	h.update(cr, func() { cr.Spec.ForProvider.FailureDomain = ptr("osd") })
	h.cephUntil("rule replaced with failure domain osd", func(s *cephclient.Snapshot) bool {
		r := s.Crush.Rule(rule)
		if r == nil {
			return false
		}
		sh, _ := r.Shape()
		return sh.FailureDomain == "osd"
	})

	// drift: removed with the CLI, created again
	h.cli("ceph", "osd", "crush", "rule", "rm", rule)
	h.cephUntil("rule recreated", func(s *cephclient.Snapshot) bool { return s.Crush.Rule(rule) != nil })

	// bad input only Ceph can judge
	bad := h.crushRule(h.name("rbad"), cephv1alpha1.CrushRuleParameters{Root: ptr("nosuchroot")})
	h.create(bad)
	h.waitCondition(bad, xpv2.TypeSynced, corev1.ConditionFalse, "root item nosuchroot does not exist", 60*time.Second)
	h.delete(bad)
	h.waitGone(bad)

	h.delete(cr)
	h.waitGone(cr)
	if h.snapshot().Crush.Rule(rule) != nil {
		t.Fatal("rule still exists")
	}

	// observe-only import
	h.cli("ceph", "osd", "crush", "rule", "create-replicated", imported, "default", "osd")
	im := h.crushRule(imported, cephv1alpha1.CrushRuleParameters{FailureDomain: ptr("osd")})
	im.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.create(im)
	h.waitReady(im)
	h.delete(im)
	h.waitGone(im)
	if h.snapshot().Crush.Rule(imported) == nil {
		t.Fatal("observe-only rule was removed")
	}
}

// The micro cloud hierarchy root → datacenter → rack → host, moved and drifted.
func TestCrushBucket(t *testing.T) {
	h := newHarness(t)
	root, dc1, dc2, rack, host := h.name("root"), h.name("dc1"), h.name("dc2"), h.name("rack"), h.name("host")
	h.cleanup(func() {
		for _, b := range []string{host, rack, dc2, dc1, root} {
			_ = h.ceph.RemoveCrushBucket(b)
		}
	})
	ref := func(n string) *xpv2.NamespacedReference { return &xpv2.NamespacedReference{Name: n} }
	mgRoot := h.bucket(root, cephv1alpha1.CrushBucketParameters{Type: "root"})
	mgDC1 := h.bucket(dc1, cephv1alpha1.CrushBucketParameters{Type: "datacenter", ParentRef: ref(root)})
	mgDC2 := h.bucket(dc2, cephv1alpha1.CrushBucketParameters{Type: "datacenter", ParentRef: ref(root)})
	mgRack := h.bucket(rack, cephv1alpha1.CrushBucketParameters{Type: "rack", ParentRef: ref(dc1)})
	mgHost := h.bucket(host, cephv1alpha1.CrushBucketParameters{Type: "host", ParentRef: ref(rack)})
	for _, b := range []*cephv1alpha1.CrushBucket{mgHost, mgRack, mgDC2, mgDC1, mgRoot} { // children first: references wait
		h.create(b)
	}
	for _, b := range []*cephv1alpha1.CrushBucket{mgRoot, mgDC1, mgDC2, mgRack, mgHost} {
		h.waitReady(b)
	}
	s := h.snapshot()
	if !slices.Equal(s.Crush.Parents(rack), []string{dc1}) || !slices.Equal(s.Crush.Parents(host), []string{rack}) {
		t.Fatalf("hierarchy: rack under %v, host under %v", s.Crush.Parents(rack), s.Crush.Parents(host))
	}

	// update: moving the rack re-parents it with its host
	h.update(mgRack, func() { mgRack.Spec.ForProvider.Parent = nil; mgRack.Spec.ForProvider.ParentRef = ref(dc2) })
	h.cephUntil("rack moved to dc2", func(s *cephclient.Snapshot) bool {
		return slices.Equal(s.Crush.Parents(rack), []string{dc2}) && slices.Equal(s.Crush.Parents(host), []string{rack})
	})

	// drift: moved back by hand, corrected
	h.waitInSync(mgRack)
	h.cli("ceph", "osd", "crush", "move", rack, "datacenter="+dc1)
	h.cephUntil("rack back under dc2", func(s *cephclient.Snapshot) bool { return slices.Equal(s.Crush.Parents(rack), []string{dc2}) })
	t.Logf("event: %s", h.waitEvent(mgRack, "DriftRepaired", fmt.Sprintf("parent: want %q, Ceph has [%s]", dc2, dc1)))

	// a bucket with children is not deleted; the refusal names them
	h.delete(mgDC2)
	h.waitBlocked(mgDC2, "it holds "+rack)
	t.Logf("condition: %s", mgDC2.GetCondition(xpv2.TypeSynced).Message)

	for _, b := range []*cephv1alpha1.CrushBucket{mgHost, mgRack, mgDC2, mgDC1, mgRoot} {
		h.delete(b)
		// dc2's failed deletions put it in the controller's error backoff (up to a minute);
		// a metadata change queues it at once instead
		h.poke(b)
		h.waitGone(b)
	}
	if s := h.snapshot(); s.Crush.Bucket(root) != nil || s.Crush.Bucket(host) != nil {
		t.Fatal("buckets left behind")
	}

	// observe-only import of the lab's own host bucket
	im := h.bucket("lab-host1", cephv1alpha1.CrushBucketParameters{Type: "host", Parent: ptr("default")})
	im.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.create(im)
	h.waitReady(im)
	if im.Status.AtProvider.Items != 1 || !slices.Equal(im.Status.AtProvider.Parents, []string{"default"}) {
		t.Fatalf("imported host = %+v", im.Status.AtProvider)
	}
	h.delete(im)
	h.waitGone(im)
	if h.snapshot().Crush.Bucket("lab-host1") == nil {
		t.Fatal("observe-only import removed a bucket")
	}
}

func TestRBDImage(t *testing.T) {
	h := newHarness(t)
	pool, img := h.name("rbdpool"), h.name("disk")
	h.cleanup(func() { _ = h.ceph.DeletePool(pool) })
	mgPool := h.pool(pool, cephv1alpha1.PoolParameters{Size: ptr(int32(2)), PGNum: ptr(int32(4)), Application: ptr("rbd")})
	h.create(mgPool)
	mg := h.image(img, cephv1alpha1.RBDImageParameters{PoolRef: &xpv2.NamespacedReference{Name: pool}, SizeMiB: 64, Features: []string{"layering", "exclusive-lock"}})
	mg.Spec.WriteConnectionSecretToReference = &xpv2.LocalSecretReference{Name: img + "-conn"}
	h.create(mg)
	h.waitReady(mgPool)
	h.waitReady(mg)
	info, err := h.ceph.GetImage(pool, img)
	if err != nil || info.SizeBytes != 64<<20 || !slices.Equal(info.Features, []string{"exclusive-lock", "layering"}) {
		t.Fatalf("image = %+v, %v", info, err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: img + "-conn"}}
	h.eventually(30*time.Second, "connection secret", func() bool { return h.get(sec) == nil }, func() string { return "" })
	if string(sec.Data["imageSpec"]) != pool+"/"+img || len(sec.Data["monitors"]) == 0 {
		t.Errorf("connection details = %v", sec.Data)
	}

	// update: grow and add features
	h.update(mg, func() {
		mg.Spec.ForProvider.SizeMiB = 128
		mg.Spec.ForProvider.Features = []string{"layering", "exclusive-lock", "object-map", "fast-diff"}
	})
	h.eventually(60*time.Second, "image grown with object-map", func() bool {
		i, err := h.ceph.GetImage(pool, img)
		return err == nil && i.SizeBytes == 128<<20 && slices.Contains(i.Features, "fast-diff")
	}, func() string {
		i, err := h.ceph.GetImage(pool, img)
		return strings.Join(i.Features, ",") + " " + errString(err)
	})

	// drift: shrunk and a feature dropped by hand; grown back and re-enabled
	h.waitInSync(mg)
	h.cli("rbd", "resize", "--allow-shrink", "--size", "32M", pool+"/"+img)
	h.cli("rbd", "feature", "disable", pool+"/"+img, "fast-diff")
	h.eventually(60*time.Second, "drift corrected", func() bool {
		i, err := h.ceph.GetImage(pool, img)
		return err == nil && i.SizeBytes == 128<<20 && slices.Contains(i.Features, "fast-diff")
	}, func() string { return "" })
	t.Logf("event: %s", h.waitEvent(mg, "DriftRepaired", "sizeMiB: want 128, Ceph has 32"))

	// bad input only Ceph can judge: an image in a pool that does not exist
	orphan := h.image(h.name("orphan"), cephv1alpha1.RBDImageParameters{Pool: ptr(h.name("nopool")), SizeMiB: 8})
	h.create(orphan)
	h.waitCondition(orphan, xpv2.TypeSynced, corev1.ConditionFalse, "ENOENT", 60*time.Second)
	h.delete(orphan)
	h.waitGone(orphan)

	h.delete(mg)
	h.waitGone(mg)
	if _, err := h.ceph.GetImage(pool, img); !cephclient.IsNotFound(err) {
		t.Fatalf("image still there: %v", err)
	}

	// observe-only import
	h.cli("rbd", "create", "--size", "16M", pool+"/imported")
	im := h.image("imported", cephv1alpha1.RBDImageParameters{Pool: ptr(pool), SizeMiB: 16})
	im.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.create(im)
	h.waitReady(im)
	if im.Status.AtProvider.SizeBytes != 16<<20 || im.Status.AtProvider.ImageSpec != pool+"/imported" {
		t.Fatalf("imported image = %+v", im.Status.AtProvider)
	}
	h.delete(im)
	h.waitGone(im)
	if _, err := h.ceph.GetImage(pool, "imported"); err != nil {
		t.Fatalf("observe-only image removed: %v", err)
	}
	// the pool still holds the kept image, so it stays until the image goes
	h.delete(mgPool)
	h.waitCondition(mgPool, xpv2.TypeSynced, corev1.ConditionFalse, "1 RBD image(s): imported", 60*time.Second)
	h.cli("rbd", "rm", pool+"/imported")
	h.poke(mgPool)
	h.waitGone(mgPool)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
