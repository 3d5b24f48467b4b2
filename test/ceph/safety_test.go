package ceph

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

const (
	deletable  = xpv2.ConditionType("Deletable")
	sizeInSync = xpv2.ConditionType("SizeInSync")
	// externalDrift is the condition every kind shares (internal/controller/generic)
	externalDrift = xpv2.ConditionType("ExternalDrift")
)

// waitBlocked waits until o's deletion is refused with a message holding msg, and checks the
// condition's reason and the Warning event.
func (h *harness) waitBlocked(o conditioned, msg string) {
	h.t.Helper()
	h.waitCondition(o, deletable, corev1.ConditionFalse, msg, 60*time.Second)
	if r := o.GetCondition(deletable).Reason; r != "DeletionBlocked" {
		h.t.Fatalf("Deletable reason = %q, want DeletionBlocked", r)
	}
	if o.GetDeletionTimestamp() == nil || len(o.GetFinalizers()) == 0 {
		h.t.Fatalf("%s is not being deleted with its finalizer kept", o.GetName())
	}
	h.t.Logf("event: %s", h.waitEvent(o, "DeletionBlocked", msg))
}

// The operator's report: deleting a Pool removed every RBD image in it, managed or not. Now the
// Pool stays while any image is in it, until allowDeleteWithData says otherwise.
func TestPoolDeletionRefusedWhileItHoldsImages(t *testing.T) {
	h := newHarness(t)
	pool := h.name("holds")
	h.cleanup(func() { _ = h.ceph.DeletePool(pool) })
	mg := h.pool(pool, cephv1alpha1.PoolParameters{Size: ptr(int32(2)), PGNum: ptr(int32(4)), Application: ptr("rbd")})
	h.create(mg)
	h.waitReady(mg)
	// images nobody manages, one of them with 16 MiB written
	for _, img := range []string{"data-a", "data-b", "data-c", "data-d", "data-e", "data-f"} {
		h.cli("rbd", "create", "--size", "16M", pool+"/"+img)
	}
	h.cli("rbd", "bench", "--io-type", "write", "--io-size", "4M", "--io-total", "16M", pool+"/data-a")

	h.delete(mg)
	h.waitBlocked(mg, "6 RBD image(s): data-a, data-b, data-c, data-d, data-e and 1 more (6 in all)")
	t.Logf("condition: %s", mg.GetCondition(deletable).Message)
	time.Sleep(2 * pollInterval)
	if err := h.get(mg); err != nil {
		t.Fatalf("Pool MR gone although the pool holds images: %v", err)
	}
	if info, err := h.ceph.GetImage(pool, "data-a"); err != nil || info.SizeBytes != 16<<20 {
		t.Fatalf("image data-a after the refused deletion = %+v, %v", info, err)
	}

	// explicit consent: the pool goes with its data
	h.update(mg, func() { mg.Spec.ForProvider.AllowDeleteWithData = ptr(true) })
	h.waitGone(mg)
	if h.snapshot().Pools[pool] != nil {
		t.Fatal("pool still exists after allowDeleteWithData")
	}
}

// Objects written with librados (no RBD image at all) block the deletion too; once they are gone
// the deletion completes without any consent field.
func TestPoolDeletionRefusedWhileItHoldsObjects(t *testing.T) {
	h := newHarness(t)
	pool := h.name("objs")
	h.cleanup(func() { _ = h.ceph.DeletePool(pool) })
	mg := h.pool(pool, cephv1alpha1.PoolParameters{Size: ptr(int32(2)), PGNum: ptr(int32(4))})
	h.create(mg)
	h.waitReady(mg)
	h.cli("rados", "-p", pool, "put", "obj-1", h.conf)
	h.cli("rados", "-p", pool, "-N", "tenant", "put", "obj-2", h.conf)

	h.delete(mg)
	h.waitBlocked(mg, "2 RADOS object(s)")
	if h.snapshot().Pools[pool] == nil {
		t.Fatal("pool deleted although it holds objects")
	}
	h.cli("rados", "-p", pool, "rm", "obj-1")
	h.cli("rados", "-p", pool, "-N", "tenant", "rm", "obj-2")
	h.poke(mg)
	h.waitGone(mg)
	if h.snapshot().Pools[pool] != nil {
		t.Fatal("empty pool not deleted")
	}
}

// An RBDImage resource naming the pool (here observe-only, its image not there) keeps the pool.
func TestPoolDeletionRefusedWhileRBDImagesReferenceIt(t *testing.T) {
	h := newHarness(t)
	pool, img := h.name("refd"), h.name("future")
	h.cleanup(func() { _ = h.ceph.DeletePool(pool) })
	mg := h.pool(pool, cephv1alpha1.PoolParameters{Size: ptr(int32(2)), PGNum: ptr(int32(4))})
	h.create(mg)
	h.waitReady(mg)
	im := h.image(img, cephv1alpha1.RBDImageParameters{Pool: ptr(pool), SizeMiB: 8})
	im.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.create(im)

	h.delete(mg)
	h.waitBlocked(mg, "RBDImage resource(s) naming it: "+h.ns+"/"+img)
	h.delete(im)
	h.waitGone(im)
	h.poke(mg)
	h.waitGone(mg)
}

// An image with a watcher (a client holding it open) or snapshots is not deleted without
// allowDeleteWithData; with it, snapshots are removed and the image goes.
func TestRBDImageDeletionRefusedWithWatchersOrSnapshots(t *testing.T) {
	h := newHarness(t)
	pool, img := h.name("rbdsafe"), h.name("vol")
	h.cleanup(func() { _ = h.ceph.DeletePool(pool) })
	h.cli("ceph", "osd", "pool", "create", pool, "4", "4", "replicated", "--autoscale-mode=off")
	h.cli("rbd", "pool", "init", pool)
	mg := h.image(img, cephv1alpha1.RBDImageParameters{Pool: ptr(pool), SizeMiB: 16})
	h.create(mg)
	h.waitReady(mg)

	// a watcher: `rbd watch` holds the image open until its stdin closes
	watch := exec.Command("rbd", "--conf", h.conf, "watch", pool+"/"+img) //nolint:gosec // test input
	stdin, err := watch.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = stdin.Close()
			done := make(chan struct{})
			go func() { _ = watch.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = watch.Process.Kill()
				<-done
			}
		}
	}
	t.Cleanup(stop)
	h.eventually(30*time.Second, "the watcher registered", func() bool {
		out, _ := exec.Command("rbd", "--conf", h.conf, "status", pool+"/"+img).CombinedOutput() //nolint:gosec // test input
		return strings.Contains(string(out), "watcher=")
	}, func() string { return "" })

	h.delete(mg)
	h.waitBlocked(mg, "1 watcher(s)")
	stop()

	// no watcher any more, but a snapshot
	h.cli("rbd", "snap", "create", pool+"/"+img+"@keep")
	h.poke(mg)
	h.waitBlocked(mg, "1 snapshot(s): keep")
	if _, err := h.ceph.GetImage(pool, img); err != nil {
		t.Fatalf("image gone although deletion was refused: %v", err)
	}

	h.update(mg, func() { mg.Spec.ForProvider.AllowDeleteWithData = ptr(true) })
	h.waitGone(mg)
	if _, err := h.ceph.GetImage(pool, img); err == nil {
		t.Fatal("image still exists after allowDeleteWithData")
	}
}

// A CRUSH rule a pool uses is not deleted; the refusal names the pool.
func TestCrushRuleDeletionRefusedWhilePoolsUseIt(t *testing.T) {
	h := newHarness(t)
	rule, pool := h.name("usedrule"), h.name("ruleuser")
	h.cleanup(func() { _ = h.ceph.DeletePool(pool); _ = h.ceph.RemoveCrushRule(rule) })
	cr := h.crushRule(rule, cephv1alpha1.CrushRuleParameters{FailureDomain: ptr("osd")})
	h.create(cr)
	h.waitReady(cr)
	h.cli("ceph", "osd", "pool", "create", pool, "4", "4", "replicated", rule, "--autoscale-mode=off")

	h.delete(cr)
	h.waitBlocked(cr, "because pools use it: "+pool)
	if h.snapshot().Crush.Rule(rule) == nil {
		t.Fatal("rule removed although a pool uses it")
	}
	h.cli("ceph", "osd", "pool", "rm", pool, pool, "--yes-i-really-really-mean-it")
	h.poke(cr)
	h.waitGone(cr)
}

// An application enabled by hand besides the spec's is disabled again.
func TestPoolExtraApplicationRemoved(t *testing.T) {
	h := newHarness(t)
	pool := h.name("apps")
	h.cleanup(func() { _ = h.ceph.DeletePool(pool) })
	mg := h.pool(pool, cephv1alpha1.PoolParameters{Size: ptr(int32(2)), PGNum: ptr(int32(4)), Application: ptr("rbd")})
	h.create(mg)
	h.waitInSync(mg)
	h.cli("ceph", "osd", "pool", "application", "enable", pool, "rgw", "--yes-i-really-mean-it")
	h.cephUntil("rgw disabled again, rbd kept", func(s *cephclient.Snapshot) bool {
		p := s.Pools[pool]
		return p != nil && len(p.Applications()) == 1 && p.Applications()[0] == "rbd"
	})
	// the repair is reported with what differed (Observe's Diff, through the shared drift event)
	t.Logf("event: %s", h.waitEvent(mg, "DriftRepaired", "applications: rgw enabled in Ceph but not in the spec (want only rbd)"))
	h.waitReady(mg)
	h.delete(mg)
	h.waitGone(mg)
}

// An image grown by hand beyond its spec is reported (condition and Warning event with both
// sizes) and never shrunk.
func TestRBDImageGrownByHandReported(t *testing.T) {
	h := newHarness(t)
	pool, img := h.name("grown"), h.name("big")
	h.cleanup(func() { _ = h.ceph.DeletePool(pool) })
	h.cli("ceph", "osd", "pool", "create", pool, "4", "4", "replicated", "--autoscale-mode=off")
	h.cli("rbd", "pool", "init", pool)
	mg := h.image(img, cephv1alpha1.RBDImageParameters{Pool: ptr(pool), SizeMiB: 32})
	h.create(mg)
	h.waitReady(mg)
	h.waitCondition(mg, sizeInSync, corev1.ConditionTrue, "", 30*time.Second)

	h.cli("rbd", "resize", "--size", "64M", pool+"/"+img)
	h.waitCondition(mg, sizeInSync, corev1.ConditionFalse, "is 64 MiB in Ceph but spec.forProvider.sizeMiB is 32 MiB", 60*time.Second)
	if r := mg.GetCondition(sizeInSync).Reason; r != "SizeDrift" {
		t.Fatalf("SizeInSync reason = %q, want SizeDrift", r)
	}
	t.Logf("event: %s", h.waitEvent(mg, "SizeDrift", "64 MiB", "32 MiB"))
	if d := mg.GetCondition(externalDrift); d.Status != corev1.ConditionTrue || d.Reason != "DriftUnrepairable" {
		t.Fatalf("ExternalDrift = %s %s, want True DriftUnrepairable", d.Status, d.Reason)
	}
	time.Sleep(3 * pollInterval)
	if info, err := h.ceph.GetImage(pool, img); err != nil || info.SizeBytes != 64<<20 {
		t.Fatalf("image after drift = %+v, %v; want it left at 64 MiB", info, err)
	}
	if c := mg.GetCondition(xpv2.TypeReady); c.Status != corev1.ConditionTrue {
		t.Fatalf("Ready = %s: the bigger image is still usable", c.Status)
	}
	// the spec catching up ends the drift
	h.update(mg, func() { mg.Spec.ForProvider.SizeMiB = 64 })
	h.waitCondition(mg, sizeInSync, corev1.ConditionTrue, "", 60*time.Second)
	h.waitCondition(mg, externalDrift, corev1.ConditionFalse, "", 30*time.Second)
	h.delete(mg)
	h.waitGone(mg)
}

// While Ceph cannot be read (mon snapshot reads and rbd reads fail or time out), Observe reports
// the error: nothing is created again, nothing is deleted, and everything is Ready once reads work.
func TestObserveFailedReadIsNotGone(t *testing.T) {
	h := newHarness(t)
	in, _ := h.faults()
	pool, img := h.name("unread"), h.name("unreadimg")
	h.cleanup(func() { _ = h.ceph.DeletePool(pool) })
	mg := h.pool(pool, cephv1alpha1.PoolParameters{Size: ptr(int32(2)), PGNum: ptr(int32(4)), Application: ptr("rbd")})
	h.create(mg)
	h.waitReady(mg)
	im := h.image(img, cephv1alpha1.RBDImageParameters{Pool: ptr(pool), SizeMiB: 8})
	h.create(im)
	h.waitReady(im)

	// writes about either object are counted (NoFault) so the test sees any attempt
	monWrites := in.add(&faultRule{class: cephclient.ClassMon, target: pool, only: "write", fault: cephclient.NoFault, left: 1 << 30})
	rbdWrites := in.add(&faultRule{class: cephclient.ClassRBD, target: pool, only: "write", fault: cephclient.NoFault, left: 1 << 30})
	snapReads := in.add(&faultRule{class: cephclient.ClassMon, target: "", only: "read", fault: cephclient.FaultBefore, left: 1 << 30})
	imgReads := in.add(&faultRule{class: cephclient.ClassRBD, target: pool + "/" + img, only: "read", fault: cephclient.FaultTimeout, left: 1 << 30})
	h.waitCondition(mg, xpv2.TypeSynced, corev1.ConditionFalse, "injected fault", 60*time.Second)
	h.waitCondition(im, xpv2.TypeSynced, corev1.ConditionFalse, "ETIMEDOUT", 60*time.Second)
	t.Logf("pool: %s", mg.GetCondition(xpv2.TypeSynced).Message)
	t.Logf("image: %s", im.GetCondition(xpv2.TypeSynced).Message)
	time.Sleep(3 * pollInterval)
	if _, hits := in.spent(monWrites); hits != "" {
		t.Fatalf("mon writes about the pool while reads failed: %s", hits)
	}
	if _, hits := in.spent(rbdWrites); hits != "" {
		t.Fatalf("rbd writes about the image while reads failed: %s", hits)
	}
	for _, r := range []*faultRule{snapReads, imgReads, monWrites, rbdWrites} {
		in.remove(r)
	}
	h.waitReady(mg)
	h.waitReady(im)
	if info, err := h.ceph.GetImage(pool, img); err != nil || info.SizeBytes != 8<<20 {
		t.Fatalf("image after the failed reads = %+v, %v", info, err)
	}
}

// A CRUSH bucket a rule starts at is not deleted; the refusal names the rule.
func TestCrushBucketDeletionRefusedWhileRulesUseIt(t *testing.T) {
	h := newHarness(t)
	root, rule := h.name("takenroot"), h.name("takerule")
	h.cleanup(func() { _ = h.ceph.RemoveCrushRule(rule); _ = h.ceph.RemoveCrushBucket(root) })
	mg := h.bucket(root, cephv1alpha1.CrushBucketParameters{Type: "root"})
	h.create(mg)
	h.waitReady(mg)
	h.cli("ceph", "osd", "crush", "rule", "create-replicated", rule, root, "host")

	h.delete(mg)
	h.waitBlocked(mg, "CRUSH rules start at it: "+rule)
	if h.snapshot().Crush.Bucket(root) == nil {
		t.Fatal("bucket removed although a rule starts at it")
	}
	h.cli("ceph", "osd", "crush", "rule", "rm", rule)
	h.poke(mg)
	h.waitGone(mg)
}
