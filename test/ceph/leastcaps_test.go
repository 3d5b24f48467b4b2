package ceph

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/security"
)

// capsMR is a managed resource whose ProviderConfig the test switches.
type capsMR interface {
	conditioned
	SetProviderConfigReference(*xpv2.ProviderConfigReference)
}

// capsSeq numbers the cephx clients of one test run.
var capsSeq atomic.Int32

// capsConfig creates the cephx client client.microcloud-<suffix>-<n> with caps (through the
// admin connection, `auth get-or-create`) and a ProviderConfig logging in as it; the client is
// removed when the test ends. Each set of caps gets its own client, so its own connection: the
// OSDs read a client's caps from its ticket, which a cap change does not renew.
func (h *harness) capsConfig(caps map[string][]string) *xpv2.ProviderConfigReference {
	h.t.Helper()
	id := fmt.Sprintf("microcloud-%s-%d", h.ns[len(h.ns)-5:], capsSeq.Add(1))
	entity := "client." + id
	cc := cephclient.Caps{}
	for svc, gs := range caps {
		c := security.CephCapString(gs)
		// Ceph 16 does not authenticate a client whose mon caps text is a multiple of 256 bytes
		// long (handle_auth_bad_method); one more space keeps every variant clear of that
		if len(c)%256 == 0 {
			c = strings.Replace(c, ", ", ",  ", 1)
		}
		cc[svc] = c
	}
	if err := h.ceph.CreateAuth(entity, cc); err != nil {
		h.t.Fatalf("cannot create %s: %v", entity, err)
	}
	h.cleanup(func() { _ = h.ceph.RemoveAuth(entity) })
	a, err := h.ceph.GetAuth(entity)
	if err != nil {
		h.t.Fatal(err)
	}
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: id}, Data: map[string][]byte{"key": []byte(a.Key)}})
	h.create(&v1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: id},
		Spec: v1alpha1.ProviderConfigSpec{SiteSpec: v1alpha1.SiteSpec{Ceph: &v1alpha1.CephConfig{
			Monitors: h.cfg.Monitors, ClientName: id,
			KeyringSecretRef: v1alpha1.SecretKeySelector{Name: id, Key: "key"},
		}}},
	})
	return &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: id}
}

// refusal is caps with some grants ("svc:grant") taken away and the words the Synced condition
// must then hold.
type refusal struct {
	without []string
	want    []string
}

// without names grants to take away; a command grant's refusal is expected to name the command
// with Ceph's EACCES.
func without(grants ...string) refusal {
	r := refusal{without: grants}
	if len(grants) == 1 {
		if _, g, _ := strings.Cut(grants[0], ":"); strings.HasPrefix(g, "allow command ") {
			r.want = []string{strings.TrimPrefix(g, "allow command "), "EACCES"}
		}
	}
	return r
}

func (r refusal) saying(words ...string) refusal { r.want = words; return r }

// waitRefused waits until mg's Synced condition is False with every word of r.want.
func (h *harness) waitRefused(mg capsMR, r refusal) {
	h.t.Helper()
	h.eventually(60*time.Second, fmt.Sprintf("%s refused without %v", mg.GetName(), r.without), func() bool {
		if err := h.get(mg); err != nil {
			return false
		}
		c := mg.GetCondition(xpv2.TypeSynced)
		if c.Status != corev1.ConditionFalse {
			return false
		}
		for _, w := range r.want {
			if !strings.Contains(c.Message, w) {
				return false
			}
		}
		return true
	}, func() string { return conditions(mg) })
	h.t.Logf("without %v: %s", r.without, mg.GetCondition(xpv2.TypeSynced).Message)
}

// refusedCreate creates mg under caps lacking r's grants, waits for the refusal, checks with
// absent that Ceph holds nothing of it, and deletes the MR.
func (h *harness) refusedCreate(mg capsMR, r refusal, absent func() bool) {
	h.t.Helper()
	mg.SetProviderConfigReference(h.capsConfig(security.CephCapsWithout(r.without...)))
	h.create(mg)
	h.waitRefused(mg, r)
	if !absent() {
		h.t.Errorf("without %v, %s was made in Ceph", r.without, mg.GetName())
	}
	h.delete(mg)
	h.waitGone(mg)
}

// refuse moves mg to caps lacking r's grants, applies change (an update) or deletes it, and
// waits for the refusal. The caller checks Ceph and moves mg on (use).
// keptThenGone checks that a refused deletion left what in Ceph (gone says
// it is no longer there), then gives mg the whole caps back and waits until
// the deletion went through, in Ceph too.
func (h *harness) keptThenGone(mg capsMR, full *xpv2.ProviderConfigReference, what string, gone func() bool) {
	h.t.Helper()
	if gone() {
		h.t.Fatal(what + " removed although refused")
	}
	h.use(mg, full)
	h.waitGone(mg)
	if !gone() {
		h.t.Fatal(what + " left in Ceph")
	}
}

func (h *harness) refuse(mg capsMR, r refusal, change func(), del bool) {
	h.t.Helper()
	ref := h.capsConfig(security.CephCapsWithout(r.without...))
	h.update(mg, func() {
		mg.SetProviderConfigReference(ref)
		if change != nil {
			change()
		}
	})
	if del {
		h.delete(mg)
	}
	h.waitRefused(mg, r)
}

// use moves mg to the ProviderConfig ref.
func (h *harness) use(mg capsMR, ref *xpv2.ProviderConfigReference) {
	h.t.Helper()
	h.update(mg, func() { mg.SetProviderConfigReference(ref) })
}

// unchanged fails the test when what (read from Ceph) is not what it was.
func (h *harness) unchanged(what string, got, was any) {
	h.t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(was) {
		h.t.Errorf("%s changed although refused: %v, was %v", what, got, was)
	}
}

// The provider runs every Ceph kind with a cephx client holding exactly the caps of
// docs/security.md (internal/security/cephcaps.go); with any one of them taken away, the kind
// that needs it fails with a Synced condition naming what Ceph refused, changes nothing in
// Ceph, and converges once the caps are whole again.
func TestCephLeastCaps(t *testing.T) {
	h := newHarness(t)
	full := h.capsConfig(security.CephCaps())
	start := time.Now()
	t.Cleanup(func() { t.Logf("%.1fs in all", time.Since(start).Seconds()) })
	run := func(name string, f func(s *harness)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(h.sub(t))
		})
	}
	run("Pool", func(s *harness) { s.capsPool(full) })
	run("ErasureCodeProfile", func(s *harness) { s.capsProfile(full) })
	run("CrushRule", func(s *harness) { s.capsRule(full) })
	run("CrushBucket", func(s *harness) { s.capsBucket(full) })
	run("RBDImage", func(s *harness) { s.capsImage(full) })
	run("Filesystem", func(s *harness) { s.capsFilesystem(full) })
	run("SubvolumeGroup", func(s *harness) { s.capsGroup(full) })
	run("Subvolume", func(s *harness) { s.capsSubvolume(full) })
	run("CephClient", func(s *harness) { s.capsClient(full) })
}

func (h *harness) capsPool(full *xpv2.ProviderConfigReference) {
	name := h.name("capspool")
	h.cleanup(func() { _ = h.ceph.DeletePool(name) })
	noPool := func(n string) func() bool { return func() bool { return h.snapshot().Pools[n] == nil } }

	c1 := h.pool(h.name("capspool1"), cephv1alpha1.PoolParameters{PGNum: ptr(int32(4))})
	h.refusedCreate(c1, without(`mon:allow command "osd pool create"`), noPool(c1.Name))
	c2 := h.pool(h.name("capspool2"), cephv1alpha1.PoolParameters{PGNum: ptr(int32(4))})
	h.refusedCreate(c2, without("mon:allow service osd r").saying(`"osd pool ls"`, "EACCES"), noPool(c2.Name))

	mg := h.pool(name, cephv1alpha1.PoolParameters{Size: ptr(int32(2)), PGNum: ptr(int32(4)), Application: ptr("cephfs")})
	mg.Spec.ProviderConfigReference = full
	h.create(mg)
	h.waitReady(mg)
	h.eventually(30*time.Second, "PG states in the pool's status (mgr pg dump)", func() bool {
		return h.get(mg) == nil && mg.Status.AtProvider.PGStates != ""
	}, func() string { return fmt.Sprintf("%+v", mg.Status.AtProvider) })

	// without pg dump nothing fails: the status just has no PG states
	np := h.pool(h.name("capspool3"), cephv1alpha1.PoolParameters{PGNum: ptr(int32(4))})
	np.Spec.ProviderConfigReference = h.capsConfig(security.CephCapsWithout(`mgr:allow command "pg dump"`))
	h.cleanup(func() { _ = h.ceph.DeletePool(np.Name) })
	h.create(np)
	h.waitReady(np)
	time.Sleep(2 * pollInterval) // a few observations
	if h.get(np) != nil || np.Status.AtProvider.PGStates != "" {
		h.t.Errorf("without pg dump the pool's status has PG states %q", np.Status.AtProvider.PGStates)
	}
	h.delete(np)

	h.refuse(mg, without(`mon:allow command "osd pool set"`), func() { mg.Spec.ForProvider.CompressionMode = ptr("aggressive") }, false)
	h.unchanged("compression_mode", h.snapshot().Pools[name].Option("compression_mode"), "")
	h.refuse(mg, without(`mon:allow command "osd pool set-quota"`), func() { mg.Spec.ForProvider.QuotaMaxBytes = ptr(int64(1 << 30)) }, false)
	h.unchanged("quota", h.snapshot().Pools[name].QuotaMaxBytes, 0)
	h.refuse(mg, without(`mon:allow command "osd pool application enable"`), func() { mg.Spec.ForProvider.Application = ptr("rgw") }, false)
	h.unchanged("applications", h.snapshot().Pools[name].Applications(), []string{"cephfs"})
	h.use(mg, full)
	h.cephUntil("pool updated with the whole caps", func(s *cephclient.Snapshot) bool {
		p := s.Pools[name]
		return p.Option("compression_mode") == "aggressive" && p.QuotaMaxBytes == 1<<30 && slices.Equal(p.Applications(), []string{"rgw"})
	})
	h.waitInSync(mg)
	// a new application is enabled before the old one is disabled: refused at the second command,
	// the pool keeps both until the caps are whole
	h.refuse(mg, without(`mon:allow command "osd pool application disable"`), func() { mg.Spec.ForProvider.Application = ptr("cephfs") }, false)
	apps := h.snapshot().Pools[name].Applications()
	slices.Sort(apps)
	h.unchanged("applications after the enable", apps, []string{"cephfs", "rgw"})
	h.use(mg, full)
	h.cephUntil("old application disabled with the whole caps", func(s *cephclient.Snapshot) bool {
		return slices.Equal(s.Pools[name].Applications(), []string{"cephfs"})
	})

	// before deleting, the provider reads the pool's images, objects and stats (not an rbd
	// pool: the RBD grant would cover it)
	h.refuse(mg, without("mon:allow service pg r").saying("rados df "+name), nil, true)
	h.refuse(mg, without("osd:allow r class-read").saying("rbd ls "+name), nil, false)
	h.refuse(mg, without(`mon:allow command "osd pool rm"`), nil, false)
	if h.snapshot().Pools[name] == nil {
		h.t.Fatal("pool removed although refused")
	}
	h.use(mg, full)
	h.waitGone(mg)
	h.waitGone(np)
	if s := h.snapshot(); s.Pools[name] != nil || s.Pools[np.Name] != nil {
		h.t.Fatal("pools left in Ceph")
	}
}

func (h *harness) capsProfile(full *xpv2.ProviderConfigReference) {
	name := h.name("capsec")
	h.cleanup(func() { _ = h.ceph.RemoveErasureCodeProfile(name) })
	noProfile := func(n string) func() bool { return func() bool { _, ok := h.snapshot().Profiles[n]; return !ok } }
	c1 := h.ecProfile(h.name("capsec1"), cephv1alpha1.ErasureCodeProfileParameters{K: 2, M: 1})
	h.refusedCreate(c1, without(`mon:allow command "osd erasure-code-profile set"`), noProfile(c1.Name))

	mg := h.ecProfile(name, cephv1alpha1.ErasureCodeProfileParameters{K: 2, M: 1, FailureDomain: ptr("osd")})
	mg.Spec.ProviderConfigReference = full
	h.create(mg)
	h.waitReady(mg)
	h.refuse(mg, without(`mon:allow command "osd erasure-code-profile rm"`), nil, true)
	h.keptThenGone(mg, full, "profile", noProfile(name))
}

func (h *harness) capsRule(full *xpv2.ProviderConfigReference) {
	name, ec := h.name("capsrule"), h.name("capsrule-ec")
	h.cleanup(func() { _ = h.ceph.RemoveCrushRule(name); _ = h.ceph.RemoveCrushRule(ec) })
	noRule := func(n string) func() bool { return func() bool { return h.snapshot().Crush.Rule(n) == nil } }
	c1 := h.crushRule(h.name("capsrule1"), cephv1alpha1.CrushRuleParameters{Root: ptr("default"), FailureDomain: ptr("osd")})
	h.refusedCreate(c1, without(`mon:allow command "osd crush rule create-replicated"`), noRule(c1.Name))
	c2 := h.crushRule(h.name("capsrule2"), cephv1alpha1.CrushRuleParameters{Type: "erasure", ErasureCodeProfile: ptr("default")})
	h.refusedCreate(c2, without(`mon:allow command "osd crush rule create-erasure"`), noRule(c2.Name))

	mg := h.crushRule(name, cephv1alpha1.CrushRuleParameters{Root: ptr("default"), FailureDomain: ptr("osd")})
	mge := h.crushRule(ec, cephv1alpha1.CrushRuleParameters{Type: "erasure", ErasureCodeProfile: ptr("default")})
	for _, r := range []*cephv1alpha1.CrushRule{mg, mge} {
		r.Spec.ProviderConfigReference = full
		h.create(r)
	}
	h.waitReady(mg)
	h.waitReady(mge)
	h.refuse(mg, without(`mon:allow command "osd crush rule rm"`), nil, true)
	if noRule(name)() {
		h.t.Fatal("rule removed although refused")
	}
	h.use(mg, full)
	h.delete(mge)
	h.waitGone(mg)
	h.waitGone(mge)
	if !noRule(name)() || !noRule(ec)() {
		h.t.Fatal("rules left in Ceph")
	}
}

func (h *harness) capsBucket(full *xpv2.ProviderConfigReference) {
	root1, root2, rack := h.name("capsroot1"), h.name("capsroot2"), h.name("capsrack")
	h.cleanup(func() {
		for _, b := range []string{rack, root1, root2} {
			_ = h.ceph.RemoveCrushBucket(b)
		}
	})
	noBucket := func(n string) func() bool { return func() bool { return h.snapshot().Crush.Bucket(n) == nil } }
	c1 := h.bucket(h.name("capsroot3"), cephv1alpha1.CrushBucketParameters{Type: "root"})
	h.refusedCreate(c1, without(`mon:allow command "osd crush add-bucket"`), noBucket(c1.Name))

	mgs := []*cephv1alpha1.CrushBucket{
		h.bucket(root1, cephv1alpha1.CrushBucketParameters{Type: "root"}),
		h.bucket(root2, cephv1alpha1.CrushBucketParameters{Type: "root"}),
		h.bucket(rack, cephv1alpha1.CrushBucketParameters{Type: "rack", Parent: ptr(root1)}),
	}
	for _, b := range mgs {
		b.Spec.ProviderConfigReference = full
		h.create(b)
	}
	for _, b := range mgs {
		h.waitReady(b)
	}
	mg := mgs[2]
	h.refuse(mg, without(`mon:allow command "osd crush move"`), func() { mg.Spec.ForProvider.Parent = ptr(root2) }, false)
	h.unchanged("rack's parent", h.snapshot().Crush.Parents(rack), []string{root1})
	h.use(mg, full)
	h.cephUntil("rack moved with the whole caps", func(s *cephclient.Snapshot) bool { return slices.Equal(s.Crush.Parents(rack), []string{root2}) })
	h.waitInSync(mg)
	h.refuse(mg, without(`mon:allow command "osd crush rm"`), nil, true)
	if noBucket(rack)() {
		h.t.Fatal("bucket removed although refused")
	}
	h.use(mg, full)
	h.waitGone(mg)
	h.delete(mgs[0])
	h.delete(mgs[1])
	h.waitGone(mgs[0])
	h.waitGone(mgs[1])
	if !noBucket(rack)() || !noBucket(root1)() || !noBucket(root2)() {
		h.t.Fatal("buckets left in Ceph")
	}
}

// adminPool makes a pool tagged with app through the admin connection, removed at the end.
func (h *harness) adminPool(name, app string) {
	h.t.Helper()
	if err := h.ceph.CreatePool(cephclient.PoolSpec{Name: name, PGNum: 4}); err != nil {
		h.t.Fatal(err)
	}
	h.cleanup(func() { _ = h.ceph.DeletePool(name) })
	if err := h.ceph.EnablePoolApplication(name, app); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) capsImage(full *xpv2.ProviderConfigReference) {
	pool, name := h.name("capsrbd"), h.name("capsdisk")
	h.adminPool(pool, "rbd")
	noImage := func(n string) func() bool {
		return func() bool { _, err := h.ceph.GetImage(pool, n); return cephclient.IsNotFound(err) }
	}
	c1 := h.image(h.name("capsdisk1"), cephv1alpha1.RBDImageParameters{Pool: ptr(pool), SizeMiB: 16})
	h.refusedCreate(c1, without(`mon:allow command "osd pool op unmanaged-snap"`).saying("rbd create", "Operation not permitted"), noImage(c1.Name))
	c2 := h.image(h.name("capsdisk2"), cephv1alpha1.RBDImageParameters{Pool: ptr(pool), SizeMiB: 16})
	h.refusedCreate(c2, without("osd:allow rwx tag rbd *=*").saying("rbd create", "Operation not permitted"), noImage(c2.Name))

	mg := h.image(name, cephv1alpha1.RBDImageParameters{Pool: ptr(pool), SizeMiB: 16, Features: []string{"layering", "exclusive-lock"}})
	mg.Spec.ProviderConfigReference = full
	h.create(mg)
	h.waitReady(mg)
	h.update(mg, func() { mg.Spec.ForProvider.SizeMiB = 32 })
	h.eventually(60*time.Second, "image grown", func() bool {
		i, err := h.ceph.GetImage(pool, name)
		return err == nil && i.SizeBytes == 32<<20
	}, func() string { return conditions(mg) })
	h.delete(mg)
	h.waitGone(mg)
	if !noImage(name)() {
		h.t.Fatal("image left in Ceph")
	}
}

func (h *harness) capsFilesystem(full *xpv2.ProviderConfigReference) {
	name := h.name("capsfs")
	h.cleanup(func() {
		_, _ = runTool("ceph", "--conf", h.conf, "config", "set", "mon", "mon_allow_pool_delete", "true")
		_, _ = runTool("ceph", "--conf", h.conf, "fs", "volume", "rm", name, "--yes-i-really-mean-it")
		_, _ = runTool("ceph", "--conf", h.conf, "config", "rm", "mon", "mon_allow_pool_delete")
	})
	noFS := func(n string) func() bool { return func() bool { _, ok := h.fsLS()[n]; return !ok } }
	c1 := h.filesystem(h.name("capsfs1"), cephv1alpha1.FilesystemParameters{})
	h.refusedCreate(c1, without(`mgr:allow command "fs volume create"`), noFS(c1.Name))
	c2 := h.filesystem(h.name("capsfs2"), cephv1alpha1.FilesystemParameters{})
	h.refusedCreate(c2, without("mon:allow service fs r").saying(`"fs ls"`, "EACCES"), noFS(c2.Name))
	// the lab's filesystem, imported: reading its MDS map needs mds r
	imp := h.filesystem(labFS, cephv1alpha1.FilesystemParameters{})
	imp.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.refusedCreate(imp, without("mon:allow service mds r").saying(`"fs dump"`, "EACCES"), func() bool { return !noFS(labFS)() })

	mg := h.filesystem(name, cephv1alpha1.FilesystemParameters{})
	mg.Spec.ProviderConfigReference = full
	h.create(mg)
	h.waitReady(mg)
	h.refuse(mg, without(`mgr:allow command "fs subvolumegroup ls"`), nil, true)
	h.refuse(mg, without(`mgr:allow command "fs subvolume ls"`), nil, false)
	h.cli("ceph", "config", "set", "mon", "mon_allow_pool_delete", "true")
	h.refuse(mg, without(`mgr:allow command "fs volume rm"`), nil, false)
	h.keptThenGone(mg, full, "filesystem", noFS(name))
}

func (h *harness) capsGroup(full *xpv2.ProviderConfigReference) {
	name := h.name("capsgrp")
	h.cleanup(func() { _, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolumegroup", "rm", labFS, name, "--force") })
	noGroup := func(n string) func() bool { return func() bool { _, ok := h.fsCLI(n, ""); return !ok } }
	c1 := h.subvolumeGroup(h.name("capsgrp1"), cephv1alpha1.SubvolumeGroupParameters{})
	h.refusedCreate(c1, without(`mgr:allow command "fs subvolumegroup create"`), noGroup(c1.Name))
	c2 := h.subvolumeGroup(h.name("capsgrp2"), cephv1alpha1.SubvolumeGroupParameters{})
	h.refusedCreate(c2, without(`mgr:allow command "fs subvolumegroup info"`), noGroup(c2.Name))

	mg := h.subvolumeGroup(name, cephv1alpha1.SubvolumeGroupParameters{QuotaMiB: ptr(int64(100))})
	mg.Spec.ProviderConfigReference = full
	h.create(mg)
	h.waitReady(mg)
	// observing a group reads its path
	h.refuse(mg, without(`mgr:allow command "fs subvolumegroup getpath"`), nil, false)
	h.refuse(mg, without(`mgr:allow command "fs subvolumegroup resize"`), func() { mg.Spec.ForProvider.QuotaMiB = ptr(int64(200)) }, false)
	g, _ := h.fsCLI(name, "")
	h.unchanged("group quota", g.quota(), 100<<20)
	h.use(mg, full)
	h.eventually(60*time.Second, "group quota set with the whole caps", func() bool { g, _ := h.fsCLI(name, ""); return g.quota() == 200<<20 },
		func() string { return conditions(mg) })
	h.waitInSync(mg)
	h.refuse(mg, without(`mgr:allow command "fs subvolume ls"`), nil, true)
	h.refuse(mg, without(`mgr:allow command "fs subvolumegroup rm"`), nil, false)
	h.keptThenGone(mg, full, "group", noGroup(name))
}

func (h *harness) capsSubvolume(full *xpv2.ProviderConfigReference) {
	name := h.name("capssv")
	h.cleanup(func() { _, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolume", "rm", labFS, name, "--force") })
	noSub := func(n string) func() bool { return func() bool { _, ok := h.fsCLI("", n); return !ok } }
	c1 := h.subvolume(h.name("capssv1"), cephv1alpha1.SubvolumeParameters{})
	h.refusedCreate(c1, without(`mgr:allow command "fs subvolume create"`), noSub(c1.Name))
	c2 := h.subvolume(h.name("capssv2"), cephv1alpha1.SubvolumeParameters{})
	h.refusedCreate(c2, without(`mgr:allow command "fs subvolume info"`), noSub(c2.Name))

	mg := h.subvolume(name, cephv1alpha1.SubvolumeParameters{QuotaMiB: ptr(int64(64))})
	mg.Spec.ProviderConfigReference = full
	h.create(mg)
	h.waitReady(mg)
	h.refuse(mg, without(`mgr:allow command "fs subvolume resize"`), func() { mg.Spec.ForProvider.QuotaMiB = ptr(int64(128)) }, false)
	sv, _ := h.fsCLI("", name)
	h.unchanged("subvolume quota", sv.quota(), 64<<20)
	h.use(mg, full)
	h.eventually(60*time.Second, "subvolume quota set with the whole caps", func() bool { sv, _ := h.fsCLI("", name); return sv.quota() == 128<<20 },
		func() string { return conditions(mg) })
	h.waitInSync(mg)
	// before deleting, the provider lists the subvolume's files (a CephFS mount) and snapshots
	h.refuse(mg, without("mds:allow *", "mds:allow r").saying("mount labfs", "Operation not permitted"), nil, true)
	h.refuse(mg, without("mon:allow service mds r").saying("cannot mount CephFS", `"fs dump"`, "EACCES"), nil, false)
	h.refuse(mg, without(`mgr:allow command "fs subvolume snapshot ls"`), nil, false)
	h.refuse(mg, without(`mgr:allow command "fs subvolume rm"`), nil, false)
	h.keptThenGone(mg, full, "subvolume", noSub(name))
}

func (h *harness) capsClient(full *xpv2.ProviderConfigReference) {
	pool, name := h.name("capscc"), h.name("capsuser")
	h.adminPool(pool, "rbd")
	h.cleanup(func() { _ = h.ceph.RemoveAuth("client." + name) })
	grant := cephv1alpha1.CephClientGrant{Pool: ptr(pool), Profile: ptr("rbd")}
	noClient := func(n string) func() bool {
		return func() bool { _, err := h.ceph.GetAuth("client." + n); return cephclient.IsNotFound(err) }
	}
	c1 := h.cephClient(h.name("capsuser1"), grant)
	h.refusedCreate(c1, without(`mon:allow command "auth get"`), noClient(c1.Name))
	c2 := h.cephClient(h.name("capsuser2"), grant)
	h.refusedCreate(c2, without(`mon:allow command "auth get-or-create"`), noClient(c2.Name))

	mg := h.cephClient(name, grant)
	mg.Spec.ProviderConfigReference = full
	h.create(mg)
	h.waitReady(mg)

	// a grant on a subvolume reads the subvolume's path and pool
	sv := h.subvolume(h.name("capsccsv"), cephv1alpha1.SubvolumeParameters{})
	sv.Spec.ProviderConfigReference = full
	h.create(sv)
	h.cleanup(func() { _, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolume", "rm", labFS, sv.Name, "--force") })
	h.waitReady(sv)
	c3 := h.cephClient(h.name("capsuser3"), cephv1alpha1.CephClientGrant{SubvolumeRef: &cephv1alpha1.SubvolumeReference{Name: sv.Name}})
	h.refusedCreate(c3, without(`mgr:allow command "fs subvolume info"`), noClient(c3.Name))
	h.delete(sv)
	h.waitGone(sv)
	before, err := h.ceph.GetAuth("client." + name)
	if err != nil {
		h.t.Fatal(err)
	}
	h.refuse(mg, without(`mon:allow command "auth caps"`), func() { mg.Spec.ForProvider.Grants[0].ReadOnly = ptr(true) }, false)
	after, err := h.ceph.GetAuth("client." + name)
	if err != nil {
		h.t.Fatal(err)
	}
	h.unchanged("client caps", after.Caps, before.Caps)
	h.use(mg, full)
	h.eventually(60*time.Second, "caps set with the whole caps", func() bool {
		a, err := h.ceph.GetAuth("client." + name)
		return err == nil && fmt.Sprint(a.Caps) != fmt.Sprint(before.Caps)
	}, func() string { return conditions(mg) })
	h.waitInSync(mg)
	// before deleting, the provider asks the MDSs for the client's sessions
	h.refuse(mg, without("mon:allow service mds r").saying(`"fs dump"`, "EACCES"), nil, true)
	h.refuse(mg, without("mds:allow *").saying("session ls"), nil, false)
	h.refuse(mg, without(`mon:allow command "auth rm"`), nil, false)
	h.keptThenGone(mg, full, "cephx client", noClient(name))
}
