package ceph

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

// matrixCell is one (kind, operation, class of backend call, fault) of the fault matrix.
type matrixCell struct {
	kind  string // pool, ecp, rule, bucket, image, subvol, cephx, fs, rgwuser, s3bucket
	op    string // create, update, delete; rotate (an RGW user's key), lock (a bucket's default retention)
	class cephclient.CallClass
	fault cephclient.Fault
}

func (c matrixCell) String() string {
	return fmt.Sprintf("%s-%s-%s-%s", c.kind, c.op, c.class, c.fault)
}

// matrixClasses are the classes of backend call each kind's operation makes about its own
// object: Pools use mon commands and read PG states from the mgr, and read their contents with
// librados before a deletion; profiles, rules and buckets are mon commands only; images are rbd;
// subvolumes are CephFS calls (the mgr's volumes module, and a libcephfs listing before a deletion).
var matrixClasses = []struct {
	kind, op string
	classes  []cephclient.CallClass
}{
	{"pool", "create", []cephclient.CallClass{cephclient.ClassMon, cephclient.ClassMgr}},
	{"pool", "update", []cephclient.CallClass{cephclient.ClassMon, cephclient.ClassMgr}},
	{"pool", "delete", []cephclient.CallClass{cephclient.ClassMon, cephclient.ClassMgr, cephclient.ClassRBD}},
	{"ecp", "create", []cephclient.CallClass{cephclient.ClassMon}},
	{"ecp", "update", []cephclient.CallClass{cephclient.ClassMon}},
	{"ecp", "delete", []cephclient.CallClass{cephclient.ClassMon}},
	{"rule", "create", []cephclient.CallClass{cephclient.ClassMon}},
	{"rule", "update", []cephclient.CallClass{cephclient.ClassMon}},
	{"rule", "delete", []cephclient.CallClass{cephclient.ClassMon}},
	{"bucket", "create", []cephclient.CallClass{cephclient.ClassMon}},
	{"bucket", "update", []cephclient.CallClass{cephclient.ClassMon}},
	{"bucket", "delete", []cephclient.CallClass{cephclient.ClassMon}},
	{"image", "create", []cephclient.CallClass{cephclient.ClassRBD}},
	{"image", "update", []cephclient.CallClass{cephclient.ClassRBD}},
	{"image", "delete", []cephclient.CallClass{cephclient.ClassRBD}},
	{"subvol", "create", []cephclient.CallClass{cephclient.ClassFS}},
	{"subvol", "update", []cephclient.CallClass{cephclient.ClassFS}},
	{"subvol", "delete", []cephclient.CallClass{cephclient.ClassFS}},
	// CephClients are mon auth commands, and an MDS `session ls` (cephfs) before `auth rm`
	{"cephx", "create", []cephclient.CallClass{cephclient.ClassMon}},
	{"cephx", "update", []cephclient.CallClass{cephclient.ClassMon}},
	{"cephx", "delete", []cephclient.CallClass{cephclient.ClassMon, cephclient.ClassFS}},
	// Filesystems are the volumes module's `fs volume create|rm` (cephfs) and the CRUSH rule set
	// on their pools (mon)
	{"fs", "create", []cephclient.CallClass{cephclient.ClassFS, cephclient.ClassMon}},
	{"fs", "update", []cephclient.CallClass{cephclient.ClassMon}},
	{"fs", "delete", []cephclient.CallClass{cephclient.ClassFS}},
	// ObjectStoreUsers are radosgw admin API requests (user, quota and key writes; the bucket
	// listing before user rm); Buckets are S3 requests (CreateBucket, versioning, lifecycle, the
	// object listing before a deletion, the object lock default retention) and admin ones (bucket
	// quota, stats, bucket rm)
	{"rgwuser", "create", []cephclient.CallClass{classRGWAdmin}},
	{"rgwuser", "update", []cephclient.CallClass{classRGWAdmin}},
	{"rgwuser", "rotate", []cephclient.CallClass{classRGWAdmin}},
	{"rgwuser", "delete", []cephclient.CallClass{classRGWAdmin}},
	{"s3bucket", "create", []cephclient.CallClass{classS3}},
	{"s3bucket", "update", []cephclient.CallClass{classS3, classRGWAdmin}},
	{"s3bucket", "lock", []cephclient.CallClass{classS3}},
	{"s3bucket", "delete", []cephclient.CallClass{classRGWAdmin, classS3}},
}

// matrixSerial are the kinds whose cells run one after another (each kind in one parallel
// subtest, beside the other cells): their calls name no target a rule can match (auth commands
// name an entity, volume commands a vol_name, which Call.Target does not carry), so two of their
// cells at once would spend each other's faults; Filesystems also need the lab's one standby MDS
// each to become Ready.
var matrixSerial = []string{"cephx", "fs"}

// rules arms the faults of a cell about the object named target: the first write of the class
// about it, plus its first read where the kind reads it by name (profiles in the snapshot, images,
// a pool's contents before deletion, an image's watchers and snapshots before deletion). mgr calls are cluster-wide (PG states), so a mgr cell faults
// the next PG read, whoever makes it.
func (c matrixCell) rules(target string) []*faultRule {
	switch {
	case c.kind == "rgwuser" || c.kind == "s3bucket":
		return c.rgwRules(target)
	case c.kind == "cephx" && c.class == cephclient.ClassFS: // the MDS session check before auth rm
		return []*faultRule{{class: c.class, target: target, op: "session ls", fault: c.fault, left: 1}}
	case c.kind == "cephx": // the cell's auth write, and the auth get of its Observe
		op := map[string]string{"create": "auth get-or-create", "update": "auth caps", "delete": "auth rm"}[c.op]
		return []*faultRule{
			{class: c.class, target: "", op: op, fault: c.fault, left: 1},
			{class: c.class, target: "", op: "auth get", fault: c.fault, left: 1},
		}
	case c.kind == "fs" && c.class == cephclient.ClassMon: // crush_rule set on the data pool
		return []*faultRule{{class: c.class, target: "cephfs." + target + ".data", only: "write", fault: c.fault, left: 1}}
	case c.kind == "fs" && c.op == "create":
		return []*faultRule{{class: c.class, target: "", op: "fs volume create", fault: c.fault, left: 1}}
	case c.kind == "fs": // also the subvolume group and subvolume listings before fs volume rm
		return []*faultRule{
			{class: c.class, target: "", op: "fs volume rm", fault: c.fault, left: 1},
			{class: c.class, target: "", op: "fs subvolumegroup ls", fault: c.fault, left: 1},
			{class: c.class, target: "", op: "fs subvolume ls", fault: c.fault, left: 1},
		}
	case c.kind == "subvol" && c.op == "delete": // also the listing of its directory before fs subvolume rm
		return []*faultRule{
			{class: c.class, target: target, only: "write", fault: c.fault, left: 1},
			{class: c.class, target: "/volumes/_nogroup/" + target, op: "readdir", fault: c.fault, left: 1},
			{class: c.class, target: target, only: "read", fault: c.fault, left: 1},
		}
	case c.kind == "subvol":
		return []*faultRule{
			{class: c.class, target: target, only: "write", fault: c.fault, left: 1},
			{class: c.class, target: target, only: "read", fault: c.fault, left: 1},
		}
	case c.class == cephclient.ClassMgr:
		return []*faultRule{{class: c.class, target: "*", fault: c.fault, left: 1}}
	case c.kind == "pool" && c.class == cephclient.ClassRBD:
		return []*faultRule{{class: c.class, target: target, only: "read", fault: c.fault, left: 1}}
	case c.kind == "image" && c.op == "delete": // also the watcher/snapshot check before rbd rm
		return []*faultRule{
			{class: c.class, target: target, only: "write", fault: c.fault, left: 1},
			{class: c.class, target: target, op: "rbd status", fault: c.fault, left: 1},
			{class: c.class, target: target, only: "read", fault: c.fault, left: 1},
		}
	case c.kind == "image" || c.kind == "ecp":
		return []*faultRule{
			{class: c.class, target: target, only: "write", fault: c.fault, left: 1},
			{class: c.class, target: target, only: "read", fault: c.fault, left: 1},
		}
	}
	return []*faultRule{{class: c.class, target: target, only: "write", fault: c.fault, left: 1}}
}

// TestFaultMatrix creates, updates and deletes every Ceph kind while one class of backend call
// fails before it is sent, loses its answer after it ran, or times out (the call possibly
// completing later). The faults are a test-only hook on the real client against a real Ceph
// cluster. After the faults are spent every resource must converge to its spec (or be gone),
// nothing may exist twice, no image may shrink or vanish, and a pool holding data must survive
// its deletion request until the data is gone.
func TestFaultMatrix(t *testing.T) {
	h := newHarness(t)
	in, _ := h.faults()
	h.rgwFaults(in)
	started := time.Now()

	// shared fixtures: an RBD pool for the image cells and a sentinel image with data in it
	rbdPool, sentinel := h.name("fm-rbd"), "sentinel"
	if err := h.ceph.CreatePool(cephclient.PoolSpec{Name: rbdPool, PGNum: 8, AutoscaleMode: "off", Size: 2}); err != nil {
		t.Fatal(err)
	}
	h.cleanup(func() { _ = h.ceph.DeletePool(rbdPool) })
	if err := h.ceph.InitRBDPool(rbdPool); err != nil {
		t.Fatal(err)
	}
	h.cli("rbd", "create", "--size", "8M", rbdPool+"/"+sentinel)
	h.cli("rbd", "bench", "--io-type", "write", "--io-size", "1M", "--io-total", "8M", rbdPool+"/"+sentinel)
	fsRule := h.fsFixtures()

	var cells []matrixCell
	for _, kc := range matrixClasses {
		for _, class := range kc.classes {
			for _, f := range []cephclient.Fault{cephclient.FaultBefore, cephclient.FaultAfter, cephclient.FaultTimeout} {
				cells = append(cells, matrixCell{kind: kc.kind, op: kc.op, class: class, fault: f})
			}
		}
	}
	t.Logf("fault matrix: %d (kind, operation, call class) combinations x 3 faults (before, after, timeout) = %d cells", len(cells)/3, len(cells))

	type result struct {
		hits string
		took time.Duration
		ok   bool
	}
	var mu sync.Mutex
	results := map[string]result{}
	run := func(st *testing.T, c matrixCell) {
		start, hits := time.Now(), ""
		defer func() {
			mu.Lock()
			results[c.String()] = result{hits: hits, took: time.Since(start), ok: !st.Failed()}
			mu.Unlock()
		}()
		hits = h.sub(st).runCell(in, c, rbdPool, fsRule)
	}
	t.Run("cells", func(t *testing.T) {
		serial := map[string][]matrixCell{}
		for _, c := range cells {
			if slices.Contains(matrixSerial, c.kind) {
				serial[c.kind] = append(serial[c.kind], c)
				continue
			}
			t.Run(c.String(), func(st *testing.T) {
				st.Parallel()
				run(st, c)
			})
		}
		for _, kind := range matrixSerial {
			t.Run(kind, func(st *testing.T) {
				st.Parallel()
				for _, c := range serial[kind] { // each cell's cleanups end before the next starts
					st.Run(c.String(), func(ct *testing.T) { run(ct, c) })
				}
			})
		}
	})

	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	passed := 0
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-32s %-6s %6s  %s\n", "cell (kind-op-class-fault)", "result", "secs", "faulted calls")
	for _, n := range names {
		r := results[n]
		verdict := "FAIL"
		if r.ok {
			verdict, passed = "ok", passed+1
		}
		fmt.Fprintf(&b, "%-32s %-6s %6.1f  %s\n", n, verdict, r.took.Seconds(), r.hits)
	}
	t.Logf("fault matrix results (%d/%d cells run converged, of %d in the matrix; %.0fs in all):%s", passed, len(results), len(cells), time.Since(started).Seconds(), b.String())

	// nothing outside the cells was touched: the sentinel image keeps its size
	if info, err := h.ceph.GetImage(rbdPool, sentinel); err != nil || info.SizeBytes != 8<<20 {
		t.Fatalf("sentinel image after the matrix = %+v, %v", info, err)
	}
}

// runCell runs one cell and returns the calls its faults hit.
func (h *harness) runCell(in *injector, c matrixCell, rbdPool, fsRule string) string {
	n := h.name("fm-" + c.String())
	target := n
	if c.kind == "image" { // rbd calls are about pool/image
		target = rbdPool + "/" + n
	}
	var armed []*faultRule
	arm := func() {
		for _, r := range c.rules(target) {
			armed = append(armed, in.add(r))
		}
		h.t.Cleanup(func() {
			for _, r := range armed {
				in.remove(r)
			}
		})
	}
	hits := func() string {
		var s []string
		for _, r := range armed {
			_, hs := in.spent(r)
			s = append(s, hs)
		}
		return strings.Join(s, "; ")
	}
	waitSpent := func() {
		h.eventually(90*time.Second, "the faults injected", func() bool {
			for _, r := range armed {
				if ok, _ := in.spent(r); !ok {
					return false
				}
			}
			return true
		}, hits)
	}

	switch c.kind {
	case "pool":
		h.cellPool(c.op, n, arm, waitSpent)
	case "ecp":
		h.cellProfile(c.op, n, arm, waitSpent)
	case "rule":
		h.cellRule(c.op, n, arm, waitSpent)
	case "bucket":
		h.cellBucket(c.op, n, arm, waitSpent)
	case "image":
		h.cellImage(c.op, n, rbdPool, arm, waitSpent)
	case "subvol":
		h.cellSubvolume(c.op, n, arm, waitSpent)
	case "cephx":
		h.cellCephClient(c.op, n, rbdPool, arm, waitSpent)
	case "fs":
		h.cellFilesystem(c.op, n, fsRule, arm, waitSpent)
	case "rgwuser":
		h.cellRGWUser(c.op, n, arm, waitSpent)
	case "s3bucket":
		h.cellS3Bucket(c.op, n, arm, waitSpent)
	}
	return hits()
}

// requireSingle checks how many Ceph objects (pools, profiles, rules, buckets) are named n.
func (h *harness) requireSingle(n string, want int) {
	h.t.Helper()
	s := h.snapshot()
	got := 0
	if s.Pools[n] != nil {
		got++
	}
	if _, ok := s.Profiles[n]; ok {
		got++
	}
	if s.Crush.Rule(n) != nil {
		got++
	}
	if s.Crush.Bucket(n) != nil {
		got++
	}
	if got != want {
		h.t.Fatalf("%d Ceph object(s) named %s, want %d", got, n, want)
	}
}

// createCell creates a cell's resource (the faults armed first when the
// cell is a create, and waited until spent) and waits until it is Ready.
func (h *harness) createCell(op string, mg conditioned, arm, waitSpent func()) {
	if op == "create" {
		arm()
	}
	h.create(mg)
	if op == "create" {
		waitSpent()
	}
	h.waitReady(mg)
}

func (h *harness) cellPool(op, n string, arm, waitSpent func()) {
	h.cleanup(func() { _ = h.ceph.DeletePool(n) })
	mg := h.pool(n, cephv1alpha1.PoolParameters{Size: ptr(int32(2)), PGNum: ptr(int32(4)), Application: ptr("rbd")})
	h.createCell(op, mg, arm, waitSpent)
	switch op {
	case "update":
		arm()
		h.update(mg, func() {
			mg.Spec.ForProvider.Size = ptr(int32(3))
			mg.Spec.ForProvider.QuotaMaxObjects = ptr(int64(1000))
		})
		waitSpent()
		h.cephUntil(n+" size 3 and quota", func(s *cephclient.Snapshot) bool {
			p := s.Pools[n]
			return p != nil && p.Size == 3 && p.QuotaMaxObjects == 1000
		})
		h.waitReady(mg)
	case "delete":
		// the pool holds an object: the deletion must be refused through every fault
		h.cli("rados", "-p", n, "put", "keep", h.conf)
		arm()
		h.delete(mg)
		h.waitBlocked(mg, "1 RADOS object(s)")
		if h.snapshot().Pools[n] == nil {
			h.t.Fatalf("pool %s holding an object was deleted", n)
		}
		h.cli("rados", "-p", n, "rm", "keep")
		h.poke(mg)
		waitSpent()
		h.waitGone(mg)
		h.requireSingle(n, 0)
		return
	}
	p := h.snapshot().Pools[n]
	if p == nil || p.Size < 2 || len(p.Applications()) != 1 {
		h.t.Fatalf("pool %s in Ceph = %+v", n, p)
	}
	h.requireSingle(n, 1)
}

func (h *harness) cellProfile(op, n string, arm, waitSpent func()) {
	h.cleanup(func() { _ = h.ceph.RemoveErasureCodeProfile(n) })
	mg := h.ecProfile(n, cephv1alpha1.ErasureCodeProfileParameters{K: 2, M: 1, FailureDomain: ptr("osd")})
	h.createCell(op, mg, arm, waitSpent)
	switch op {
	case "update": // drift by hand; the provider removes and sets the profile again
		arm()
		if err := h.ceph.RemoveErasureCodeProfile(n); err != nil {
			h.t.Fatal(err)
		}
		if err := h.ceph.SetErasureCodeProfile(n, map[string]string{"k": "2", "m": "1", "crush-failure-domain": "host"}); err != nil {
			h.t.Fatal(err)
		}
		waitSpent()
		h.cephUntil(n+" restored", func(s *cephclient.Snapshot) bool { return s.Profiles[n]["crush-failure-domain"] == "osd" })
		h.waitReady(mg)
	case "delete":
		h.faultedDelete(mg, arm, waitSpent)
		h.requireSingle(n, 0)
		return
	}
	if p := h.snapshot().Profiles[n]; p["k"] != "2" || p["m"] != "1" || p["crush-failure-domain"] != "osd" {
		h.t.Fatalf("profile %s = %v", n, p)
	}
	h.requireSingle(n, 1)
}

func (h *harness) cellRule(op, n string, arm, waitSpent func()) {
	h.cleanup(func() { _ = h.ceph.RemoveCrushRule(n) })
	mg := h.crushRule(n, cephv1alpha1.CrushRuleParameters{FailureDomain: ptr("host")})
	h.createCell(op, mg, arm, waitSpent)
	want := "host"
	switch op {
	case "update":
		h.faultedUpdate(mg, arm, waitSpent, func() { mg.Spec.ForProvider.FailureDomain = ptr("osd") })
		want = "osd"
		h.cephUntil(n+" replaced", func(s *cephclient.Snapshot) bool {
			r := s.Crush.Rule(n)
			if r == nil {
				return false
			}
			sh, _ := r.Shape()
			return sh.FailureDomain == "osd"
		})
		h.waitReady(mg)
	case "delete":
		h.faultedDelete(mg, arm, waitSpent)
		h.requireSingle(n, 0)
		return
	}
	r := h.snapshot().Crush.Rule(n)
	if r == nil {
		h.t.Fatalf("rule %s missing", n)
	}
	if sh, _ := r.Shape(); sh.FailureDomain != want {
		h.t.Fatalf("rule %s failure domain %s, want %s", n, sh.FailureDomain, want)
	}
	h.requireSingle(n, 1)
}

func (h *harness) cellBucket(op, n string, arm, waitSpent func()) {
	r1, r2 := n+"-r1", n+"-r2"
	for _, r := range []string{r1, r2} {
		if err := h.ceph.AddCrushBucket(r, "root"); err != nil {
			h.t.Fatal(err)
		}
	}
	h.cleanup(func() {
		_ = h.ceph.RemoveCrushBucket(n)
		_ = h.ceph.RemoveCrushBucket(r1)
		_ = h.ceph.RemoveCrushBucket(r2)
	})
	mg := h.bucket(n, cephv1alpha1.CrushBucketParameters{Type: "rack", Parent: ptr(r1)})
	h.createCell(op, mg, arm, waitSpent)
	want := r1
	switch op {
	case "update":
		h.faultedUpdate(mg, arm, waitSpent, func() { mg.Spec.ForProvider.Parent = ptr(r2) })
		want = r2
		h.cephUntil(n+" moved", func(s *cephclient.Snapshot) bool {
			p := s.Crush.Parents(n)
			return len(p) == 1 && p[0] == r2
		})
		h.waitReady(mg)
	case "delete":
		h.faultedDelete(mg, arm, waitSpent)
		h.requireSingle(n, 0)
		return
	}
	if p := h.snapshot().Crush.Parents(n); len(p) != 1 || p[0] != want {
		h.t.Fatalf("bucket %s parents %v, want [%s]", n, p, want)
	}
	h.requireSingle(n, 1)
}

// faultedUpdate applies change to o with the cell's faults armed and waits until they are spent.
func (h *harness) faultedUpdate(o client.Object, arm, waitSpent func(), change func()) {
	h.t.Helper()
	arm()
	h.update(o, change)
	waitSpent()
}

// faultedDelete deletes o with the cell's faults armed, waits until they are spent and until o is gone.
func (h *harness) faultedDelete(o client.Object, arm, waitSpent func()) {
	h.t.Helper()
	arm()
	h.delete(o)
	waitSpent()
	h.waitGone(o)
}

func (h *harness) cellImage(op, n, pool string, arm, waitSpent func()) {
	h.cleanup(func() { _ = h.ceph.RemoveImage(pool, n) })
	mg := h.image(n, cephv1alpha1.RBDImageParameters{Pool: ptr(pool), SizeMiB: 8})
	h.createCell(op, mg, arm, waitSpent)
	want := uint64(8 << 20)
	switch op {
	case "update":
		h.faultedUpdate(mg, arm, waitSpent, func() { mg.Spec.ForProvider.SizeMiB = 16 })
		want = 16 << 20
		h.eventually(60*time.Second, n+" grown", func() bool {
			i, err := h.ceph.GetImage(pool, n)
			if err == nil && i.SizeBytes < 8<<20 {
				h.t.Fatalf("image %s shrank to %d bytes", n, i.SizeBytes)
			}
			return err == nil && i.SizeBytes == 16<<20
		}, func() string { return "" })
		h.waitReady(mg)
	case "delete":
		h.faultedDelete(mg, arm, waitSpent)
		if _, err := h.ceph.GetImage(pool, n); !cephclient.IsNotFound(err) {
			h.t.Fatalf("image %s after its deletion: %v", n, err)
		}
		return
	}
	if i, err := h.ceph.GetImage(pool, n); err != nil || i.SizeBytes != want {
		h.t.Fatalf("image %s = %+v, %v; want %d bytes", n, i, err, want)
	}
	images := h.cli("rbd", "ls", pool)
	if c := strings.Count("\n"+images, "\n"+n+"\n"); c != 1 {
		h.t.Fatalf("image %s listed %d times in %s", n, c, pool)
	}
}

// sub is the harness for a parallel subtest: same API server, manager and namespace, its own
// test, MRs and cleanups (run when the subtest ends, while the manager still runs).
func (h *harness) sub(t *testing.T) *harness {
	c := *h
	c.t, c.mrs, c.cleanups = t, nil, nil
	s := &c
	t.Cleanup(func() {
		s.deleteMRs()
		for i := len(s.cleanups) - 1; i >= 0; i-- {
			s.cleanups[i]()
		}
	})
	return s
}

func (h *harness) cellSubvolume(op, n string, arm, waitSpent func()) {
	h.cleanup(func() { _, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolume", "rm", labFS, n) })
	mg := h.subvolume(n, cephv1alpha1.SubvolumeParameters{QuotaMiB: ptr(int64(8))})
	h.createCell(op, mg, arm, waitSpent)
	want := int64(8 << 20)
	switch op {
	case "update":
		h.faultedUpdate(mg, arm, waitSpent, func() { mg.Spec.ForProvider.QuotaMiB = ptr(int64(16)); mg.Spec.ForProvider.Mode = ptr("750") })
		want = 16 << 20
		h.eventually(60*time.Second, n+" resized and chmod'ed", func() bool {
			i, _ := h.fsCLI("", n)
			return i.quota() == 16<<20 && i.Mode&0o7777 == 0o750
		}, func() string { i, _ := h.fsCLI("", n); return toJSON(i) })
		h.waitReady(mg)
	case "delete":
		// the subvolume holds a file: the deletion must be refused through every fault
		i, _ := h.fsCLI("", n)
		m := h.mountFS(i.Path)
		if err := writeFile(m, "keep", 0); err != nil {
			h.t.Fatal(err)
		}
		arm()
		h.delete(mg)
		h.waitBlocked(mg, "1 file(s) or directories (keep)")
		if _, ok := h.fsCLI("", n); !ok {
			h.t.Fatalf("subvolume %s holding a file was deleted", n)
		}
		if err := m.Unlink("keep"); err != nil {
			h.t.Fatal(err)
		}
		h.poke(mg)
		waitSpent()
		h.waitGone(mg)
		if _, ok := h.fsCLI("", n); ok {
			h.t.Fatalf("subvolume %s exists after its deletion", n)
		}
		return
	}
	if i, ok := h.fsCLI("", n); !ok || i.quota() != want {
		h.t.Fatalf("subvolume %s = %+v (exists %v); want a %d-byte quota", n, i, ok, want)
	}
	out := h.cli("ceph", "fs", "subvolume", "ls", labFS, "--format", "json")
	if c := strings.Count(out, `"`+n+`"`); c != 1 {
		h.t.Fatalf("subvolume %s listed %d times", n, c)
	}
}
