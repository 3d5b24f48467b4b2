package ceph

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ceph/go-ceph/cephfs"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
)

// labFS is the CephFS volume cluster/ceph-up.sh creates.
const labFS = "labfs"

func (h *harness) subvolumeGroup(name string, p cephv1alpha1.SubvolumeGroupParameters) *cephv1alpha1.SubvolumeGroup {
	if p.Filesystem == "" {
		p.Filesystem = labFS
	}
	return &cephv1alpha1.SubvolumeGroup{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.SubvolumeGroupSpec{ManagedResourceSpec: h.mrSpec(), ForProvider: p}}
}

func (h *harness) subvolume(name string, p cephv1alpha1.SubvolumeParameters) *cephv1alpha1.Subvolume {
	if p.Filesystem == "" {
		p.Filesystem = labFS
	}
	return &cephv1alpha1.Subvolume{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.SubvolumeSpec{ManagedResourceSpec: h.mrSpec(), ForProvider: p}}
}

// fsInfo is `ceph fs subvolume info` / `ceph fs subvolumegroup info` as the CLI prints it.
type fsInfo struct {
	Path          string `json:"path"`
	Mode          uint32 `json:"mode"`
	UID           int64  `json:"uid"`
	GID           int64  `json:"gid"`
	BytesQuota    any    `json:"bytes_quota"`
	DataPool      string `json:"data_pool"`
	PoolNamespace string `json:"pool_namespace"`
}

func (i fsInfo) quota() int64 {
	if f, ok := i.BytesQuota.(float64); ok {
		return int64(f)
	}
	return 0 // "infinite"
}

// fsCLI reads a group (sub == "") or subvolume with the ceph CLI; ok is false when Ceph says it
// does not exist.
func (h *harness) fsCLI(group, sub string) (fsInfo, bool) {
	h.t.Helper()
	args := []string{"--conf", h.conf, "fs", "subvolumegroup", "info", labFS, group, "--format", "json"}
	if sub != "" {
		args = []string{"--conf", h.conf, "fs", "subvolume", "info", labFS, sub, "--format", "json"}
		if group != "" {
			args = append(args, "--group_name", group)
		}
	}
	out, err := runTool("ceph", args...)
	if err != nil {
		if strings.Contains(out, "ENOENT") {
			return fsInfo{}, false
		}
		h.t.Fatalf("ceph %s: %v: %s", strings.Join(args, " "), err, out)
	}
	var i fsInfo
	if err := json.Unmarshal([]byte(out), &i); err != nil {
		h.t.Fatalf("cannot decode %q: %v", out, err)
	}
	return i, true
}

// mountFS mounts dir of the lab filesystem through libcephfs with the admin key, as a workload
// would mount its subvolume.
func (h *harness) mountFS(dir string) *cephfs.MountInfo {
	h.t.Helper()
	m, err := cephfs.CreateMount()
	if err != nil {
		h.t.Fatal(err)
	}
	if err := m.ReadConfigFile(h.conf); err != nil {
		h.t.Fatal(err)
	}
	if err := m.SelectFilesystem(labFS); err != nil {
		h.t.Fatal(err)
	}
	if err := m.MountWithRoot(dir); err != nil {
		h.t.Fatalf("cannot mount %s:%s: %v", labFS, dir, err)
	}
	h.t.Cleanup(func() { _ = m.Unmount(); _ = m.Release() })
	return m
}

// writeFile writes n bytes to name through the mount; it returns the first error.
func writeFile(m *cephfs.MountInfo, name string, n int) error {
	f, err := m.Open(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = byte(i)
	}
	if _, err := f.Write(buf); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Fsync(cephfs.SyncAll); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// A subvolume group: created with quota, mode and owner; changed; drift made with the CLI
// repaired; deletion refused while it holds a subvolume; observe-only import kept.
func TestSubvolumeGroup(t *testing.T) {
	h := newHarness(t)
	group, sub, imported := h.name("tenant"), h.name("insub"), h.name("grpimport")
	h.cleanup(func() {
		_, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolume", "rm", labFS, sub, "--group_name", group)
		_, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolumegroup", "rm", labFS, group)
		_, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolumegroup", "rm", labFS, imported)
	})
	mg := h.subvolumeGroup(group, cephv1alpha1.SubvolumeGroupParameters{QuotaMiB: ptr(int64(256)), Mode: ptr("750"), UID: ptr(int64(1000)), GID: ptr(int64(1000))})
	mg.Spec.WriteConnectionSecretToReference = &xpv2.LocalSecretReference{Name: group + "-conn"}
	h.create(mg)
	h.waitReady(mg)
	i, ok := h.fsCLI(group, "")
	if !ok || i.quota() != 256<<20 || i.Mode&0o7777 != 0o750 || i.UID != 1000 || i.GID != 1000 {
		t.Fatalf("group in Ceph = %+v (exists %v)", i, ok)
	}
	if a := mg.Status.AtProvider; a.Path != "/volumes/"+group || a.Mode != "750" || a.QuotaBytes != 256<<20 {
		t.Fatalf("group status = %+v", a)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: group + "-conn"}}
	h.eventually(30*time.Second, "connection secret", func() bool { return h.get(sec) == nil }, func() string { return "" })
	if string(sec.Data["path"]) != "/volumes/"+group || len(sec.Data["monitors"]) == 0 {
		t.Errorf("connection details = %v", sec.Data)
	}

	// update: quota shrinks, mode and group change; the owner the spec names stays
	h.update(mg, func() {
		mg.Spec.ForProvider.QuotaMiB = ptr(int64(128))
		mg.Spec.ForProvider.Mode = ptr("770")
		mg.Spec.ForProvider.GID = ptr(int64(2000))
	})
	h.eventually(60*time.Second, "group updated in Ceph", func() bool {
		i, _ := h.fsCLI(group, "")
		return i.quota() == 128<<20 && i.Mode&0o7777 == 0o770 && i.GID == 2000 && i.UID == 1000
	}, func() string {
		i, _ := h.fsCLI(group, "")
		return strings.ReplaceAll(strings.TrimSpace(toJSON(i)), "\n", " ")
	})

	// drift: quota and mode changed by hand, both set back and reported
	h.waitInSync(mg)
	h.cli("ceph", "fs", "subvolumegroup", "resize", labFS, group, "67108864")
	h.eventually(60*time.Second, "group quota restored", func() bool {
		i, _ := h.fsCLI(group, "")
		return i.quota() == 128<<20
	}, func() string { i, _ := h.fsCLI(group, ""); return toJSON(i) })
	t.Logf("event: %s", h.waitEvent(mg, "DriftRepaired", "quotaMiB: want 128, Ceph has 64"))

	// a subvolume in the group, by reference; the group is not deleted while it is there
	sv := h.subvolume(sub, cephv1alpha1.SubvolumeParameters{GroupRef: &xpv2.NamespacedReference{Name: group}, QuotaMiB: ptr(int64(16))})
	h.create(sv)
	h.waitReady(sv)
	if i, ok := h.fsCLI(group, sub); !ok || !strings.HasPrefix(i.Path, "/volumes/"+group+"/"+sub+"/") || i.quota() != 16<<20 {
		t.Fatalf("subvolume in group = %+v (exists %v)", i, ok)
	}
	h.delete(mg)
	h.waitBlocked(mg, "it holds 1 subvolume(s): "+sub)
	if _, ok := h.fsCLI(group, ""); !ok {
		t.Fatal("group removed while it held a subvolume")
	}
	h.delete(sv)
	h.waitGone(sv)
	h.poke(mg)
	h.waitGone(mg)
	if _, ok := h.fsCLI(group, ""); ok {
		t.Fatal("group still exists")
	}

	// observe-only import of a group made by hand
	h.cli("ceph", "fs", "subvolumegroup", "create", labFS, imported, "--mode", "700")
	im := h.subvolumeGroup(imported, cephv1alpha1.SubvolumeGroupParameters{})
	im.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.create(im)
	h.waitReady(im)
	if im.Status.AtProvider.Mode != "700" {
		t.Fatalf("imported group = %+v", im.Status.AtProvider)
	}
	h.delete(im)
	h.waitGone(im)
	if _, ok := h.fsCLI(imported, ""); !ok {
		t.Fatal("observe-only group was removed")
	}
}

// A subvolume: quota grown and shrunk, mode and namespace isolation, drift repaired, connection
// details; bad input only Ceph can judge surfaces in Synced.
func TestSubvolume(t *testing.T) {
	h := newHarness(t)
	sub, bad := h.name("vol"), h.name("badlayout")
	h.cleanup(func() { _, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolume", "rm", labFS, sub) })
	mg := h.subvolume(sub, cephv1alpha1.SubvolumeParameters{QuotaMiB: ptr(int64(8)), Mode: ptr("700"), NamespaceIsolated: ptr(true)})
	mg.Spec.WriteConnectionSecretToReference = &xpv2.LocalSecretReference{Name: sub + "-conn"}
	h.create(mg)
	h.waitReady(mg)
	i, ok := h.fsCLI("", sub)
	if !ok || i.quota() != 8<<20 || i.Mode&0o7777 != 0o700 || i.PoolNamespace != "fsvolumens_"+sub || i.DataPool != "cephfs.labfs.data" {
		t.Fatalf("subvolume in Ceph = %+v (exists %v)", i, ok)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: sub + "-conn"}}
	h.eventually(30*time.Second, "connection secret", func() bool { return h.get(sec) == nil }, func() string { return "" })
	if string(sec.Data["path"]) != i.Path || string(sec.Data["filesystem"]) != labFS || !strings.Contains(string(sec.Data["monitors"]), "127.0.0.1:") {
		t.Errorf("connection details = %v, Ceph's path %s", sec.Data, i.Path)
	}

	// the quota is real: a workload mounting the path writes within it and is refused beyond it
	m := h.mountFS(i.Path)
	if err := writeFile(m, "small.bin", 64<<10); err != nil {
		t.Fatalf("write within the quota: %v", err)
	}
	if err := writeFile(m, "big.bin", 12<<20); err == nil {
		t.Fatal("a 12 MiB write into an 8 MiB subvolume succeeded")
	} else {
		t.Logf("write beyond the quota: %v", err)
	}
	if err := m.Unlink("big.bin"); err != nil {
		t.Logf("unlink big.bin: %v", err)
	}

	// grow, then shrink below the first size
	h.update(mg, func() { mg.Spec.ForProvider.QuotaMiB = ptr(int64(32)) })
	h.eventually(60*time.Second, "quota grown to 32 MiB", func() bool { i, _ := h.fsCLI("", sub); return i.quota() == 32<<20 },
		func() string { i, _ := h.fsCLI("", sub); return toJSON(i) })
	h.update(mg, func() { mg.Spec.ForProvider.QuotaMiB = ptr(int64(4)); mg.Spec.ForProvider.Mode = ptr("750") })
	h.eventually(60*time.Second, "quota shrunk to 4 MiB, mode 750", func() bool {
		i, _ := h.fsCLI("", sub)
		return i.quota() == 4<<20 && i.Mode&0o7777 == 0o750
	}, func() string { i, _ := h.fsCLI("", sub); return toJSON(i) })

	// drift: resized and chmod'ed by hand (through the volumes module), repaired and reported
	h.waitInSync(mg)
	h.cli("ceph", "fs", "subvolume", "resize", labFS, sub, "1048576")
	h.eventually(60*time.Second, "quota restored to 4 MiB", func() bool { i, _ := h.fsCLI("", sub); return i.quota() == 4<<20 },
		func() string { i, _ := h.fsCLI("", sub); return toJSON(i) })
	t.Logf("event: %s", h.waitEvent(mg, "DriftRepaired", "quotaMiB: want 4, Ceph has 1"))
	h.waitInSync(mg)
	if err := m.Chmod("/", 0o777); err != nil {
		t.Fatal(err)
	}
	h.eventually(60*time.Second, "mode restored to 750", func() bool { i, _ := h.fsCLI("", sub); return i.Mode&0o7777 == 0o750 },
		func() string { i, _ := h.fsCLI("", sub); return toJSON(i) })
	t.Logf("event: %s", h.waitEvent(mg, "DriftRepaired", `mode: want "750", Ceph has "777"`))

	// a pool layout Ceph refuses: its words in Synced
	b := h.subvolume(bad, cephv1alpha1.SubvolumeParameters{PoolLayout: ptr(h.name("nosuchpool"))})
	h.create(b)
	h.waitCondition(b, xpv2.TypeSynced, corev1.ConditionFalse, "invalid pool layout", 60*time.Second)
	h.delete(b)
	h.waitGone(b)
	if _, ok := h.fsCLI("", bad); ok {
		t.Fatal("the refused subvolume exists")
	}

	// small.bin keeps it until deleting with data is allowed
	h.update(mg, func() { mg.Spec.ForProvider.AllowDeleteWithData = ptr(true) })
	h.delete(mg)
	h.waitGone(mg)
	if _, ok := h.fsCLI("", sub); ok {
		t.Fatal("subvolume still exists")
	}
}

// A subvolume with a file in it is kept and reported until allowDeleteWithData says otherwise;
// one whose management policies lack Delete is left in place, data and all.
func TestSubvolumeDeletionRefusedWhileItHoldsData(t *testing.T) {
	h := newHarness(t)
	sub, kept := h.name("data"), h.name("orphan")
	h.cleanup(func() {
		_, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolume", "rm", labFS, sub)
		_, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolume", "rm", labFS, kept)
	})
	mg := h.subvolume(sub, cephv1alpha1.SubvolumeParameters{QuotaMiB: ptr(int64(16))})
	h.create(mg)
	h.waitReady(mg)
	i, _ := h.fsCLI("", sub)
	// an empty file is data too: bytes_used stays 0, the directory listing shows it
	m := h.mountFS(i.Path)
	if err := writeFile(m, "report.txt", 0); err != nil {
		t.Fatal(err)
	}
	h.delete(mg)
	h.waitBlocked(mg, "CephFS subvolume labfs/_nogroup/"+sub+" is not deleted: it holds 1 file(s) or directories (report.txt)")
	t.Logf("condition: %s", mg.GetCondition(deletable).Message)
	if _, ok := h.fsCLI("", sub); !ok {
		t.Fatal("subvolume with data was removed")
	}
	h.update(mg, func() { mg.Spec.ForProvider.AllowDeleteWithData = ptr(true) })
	h.waitGone(mg)
	if _, ok := h.fsCLI("", sub); ok {
		t.Fatal("subvolume still exists after allowDeleteWithData")
	}

	// no Delete in the management policies (v2's deletionPolicy: Orphan): everything stays
	o := h.subvolume(kept, cephv1alpha1.SubvolumeParameters{QuotaMiB: ptr(int64(8))})
	o.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve, xpv2.ManagementActionCreate,
		xpv2.ManagementActionUpdate, xpv2.ManagementActionLateInitialize}
	h.create(o)
	h.waitReady(o)
	oi, _ := h.fsCLI("", kept)
	if err := writeFile(h.mountFS(oi.Path), "keep.txt", 4096); err != nil {
		t.Fatal(err)
	}
	h.delete(o)
	h.waitGone(o)
	if i, ok := h.fsCLI("", kept); !ok || i.quota() != 8<<20 {
		t.Fatalf("orphaned subvolume = %+v (exists %v)", i, ok)
	}
	if _, err := h.mountFS(oi.Path).Statx("keep.txt", cephfs.StatxBasicStats, 0); err != nil {
		t.Fatalf("orphaned subvolume lost its file: %v", err)
	}

	// observe-only import of the orphan: seen, Ready, and left alone on delete
	im := h.subvolume(kept, cephv1alpha1.SubvolumeParameters{})
	im.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.create(im)
	h.waitReady(im)
	if im.Status.AtProvider.QuotaBytes != 8<<20 || im.Status.AtProvider.Path != oi.Path {
		t.Fatalf("imported subvolume = %+v", im.Status.AtProvider)
	}
	h.delete(im)
	h.waitGone(im)
	if _, ok := h.fsCLI("", kept); !ok {
		t.Fatal("observe-only subvolume was removed")
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// runTool runs a command line tool and returns its combined output, for calls whose failure the
// caller judges (h.cli fails the test on any error).
func runTool(tool string, args ...string) (string, error) {
	out, err := exec.Command(tool, args...).CombinedOutput() //nolint:gosec // test input
	return string(out), err
}

// A subvolume laid out on a second data pool (a Pool by reference, added to the filesystem by
// hand): its files' objects land in that pool, in the subvolume's own RADOS namespace, and a layout
// changed back by hand is set again.
func TestSubvolumePoolLayout(t *testing.T) {
	h := newHarness(t)
	pool, sub := h.name("fsdata"), h.name("laidout")
	h.cleanup(func() {
		_, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolume", "rm", labFS, sub)
		_, _ = runTool("ceph", "--conf", h.conf, "fs", "rm_data_pool", labFS, pool)
		_ = h.ceph.DeletePool(pool)
	})
	mgPool := h.pool(pool, cephv1alpha1.PoolParameters{Size: ptr(int32(1)), PGNum: ptr(int32(4)), Application: ptr("cephfs"), AllowDeleteWithData: ptr(true)})
	h.create(mgPool)
	h.waitReady(mgPool)
	h.cli("ceph", "fs", "add_data_pool", labFS, pool)

	mg := h.subvolume(sub, cephv1alpha1.SubvolumeParameters{PoolLayoutRef: &xpv2.NamespacedReference{Name: pool}, NamespaceIsolated: ptr(true),
		AllowDeleteWithData: ptr(true)})
	h.create(mg)
	h.waitReady(mg)
	i, ok := h.fsCLI("", sub)
	if !ok || i.DataPool != pool || i.PoolNamespace != "fsvolumens_"+sub {
		t.Fatalf("subvolume in Ceph = %+v (exists %v)", i, ok)
	}
	m := h.mountFS(i.Path)
	if err := writeFile(m, "obj.bin", 1<<20); err != nil {
		t.Fatal(err)
	}
	objs := h.cli("rados", "-p", pool, "-N", "fsvolumens_"+sub, "ls")
	if strings.TrimSpace(objs) == "" {
		t.Fatalf("no objects of the subvolume's file in pool %s namespace fsvolumens_%s", pool, sub)
	}
	t.Logf("objects in %s/fsvolumens_%s: %s", pool, sub, strings.Fields(objs))

	// drift: the layout set back to the filesystem's first data pool by hand
	h.waitInSync(mg)
	if err := m.SetXattr("/", "ceph.dir.layout.pool", []byte("cephfs.labfs.data"), 0); err != nil {
		t.Fatal(err)
	}
	h.eventually(60*time.Second, "pool layout restored", func() bool { i, _ := h.fsCLI("", sub); return i.DataPool == pool },
		func() string { i, _ := h.fsCLI("", sub); return toJSON(i) })
	t.Logf("event: %s", h.waitEvent(mg, "DriftRepaired", `poolLayout: want "`+pool+`", Ceph has "cephfs.labfs.data"`))

	h.delete(mg)
	h.waitGone(mg)
	h.cli("ceph", "fs", "rm_data_pool", labFS, pool)
	h.delete(mgPool)
	h.waitGone(mgPool)
}
