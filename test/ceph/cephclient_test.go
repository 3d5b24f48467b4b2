package ceph

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ceph/go-ceph/cephfs"
	"github.com/ceph/go-ceph/rados"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

func (h *harness) cephClient(name string, grants ...cephv1alpha1.CephClientGrant) *cephv1alpha1.CephClient {
	return &cephv1alpha1.CephClient{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.CephClientSpec{ManagedResourceSpec: h.mrSpec(), ForProvider: cephv1alpha1.CephClientParameters{Grants: grants}}}
}

// authCLI reads a cephx client with the ceph CLI; ok is false when Ceph says it does not exist.
func (h *harness) authCLI(entity string) (cephclient.AuthEntity, bool) {
	h.t.Helper()
	out, err := runTool("ceph", "--conf", h.conf, "auth", "get", entity, "--format", "json")
	if err != nil {
		if strings.Contains(out, "ENOENT") {
			return cephclient.AuthEntity{}, false
		}
		h.t.Fatalf("ceph auth get %s: %v: %s", entity, err, out)
	}
	// the CLI prints "exported keyring for ..." on stderr, which runTool combines
	var got []cephclient.AuthEntity
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):strings.LastIndex(out, "]")+1]), &got); err != nil || len(got) != 1 {
		h.t.Fatalf("cannot decode the answer to ceph auth get %s: %v", entity, err)
	}
	return got[0], true
}

// mountAs mounts root of the lab filesystem through libcephfs as the cephx client id with key,
// the way a workload given the connection Secret would; no keyring file is read. unmount ends
// the session (once; the test's cleanup calls it too).
func (h *harness) mountAs(id, key, root string) (m *cephfs.MountInfo, unmount func(), err error) {
	m, err = cephfs.CreateMountWithId(id)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range map[string]string{"mon_host": strings.Join(h.cfg.Monitors, ","), "key": key, "keyring": "/dev/null", "client_mount_timeout": "10"} {
		if err := m.SetConfigOption(k, v); err != nil {
			_ = m.Release()
			return nil, nil, err
		}
	}
	if err := m.SelectFilesystem(labFS); err != nil {
		_ = m.Release()
		return nil, nil, err
	}
	if err := m.MountWithRoot(root); err != nil {
		_ = m.Release()
		return nil, nil, err
	}
	var once sync.Once
	unmount = func() { once.Do(func() { _ = m.Unmount(); _ = m.Release() }) }
	h.t.Cleanup(unmount)
	return m, unmount, nil
}

// radosAs connects to the cluster as the cephx client id with key.
func (h *harness) radosAs(id, key string) *rados.Conn {
	h.t.Helper()
	conn, err := rados.NewConnWithUser(id)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range map[string]string{"mon_host": strings.Join(h.cfg.Monitors, ","), "key": key, "keyring": "/dev/null", "rados_osd_op_timeout": "10"} {
		if err := conn.SetConfigOption(k, v); err != nil {
			h.t.Fatal(err)
		}
	}
	if err := conn.Connect(); err != nil {
		h.t.Fatalf("cannot connect as client.%s: %v", id, err)
	}
	h.t.Cleanup(conn.Shutdown)
	return conn
}

func radosWrite(conn *rados.Conn, pool, obj string, data []byte) error {
	io, err := conn.OpenIOContext(pool)
	if err != nil {
		return err
	}
	defer io.Destroy()
	return io.WriteFull(obj, data)
}

func readFile(m *cephfs.MountInfo, name string) (int, error) {
	f, err := m.Open(name, 0, 0)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	buf := make([]byte, 1<<20)
	total := 0
	for {
		n, err := f.Read(buf)
		total += n
		if n == 0 || err != nil {
			return total, nil
		}
	}
}

// A CephClient for one subvolume and one RBD pool: its key mounts and writes the subvolume
// (within the quota only) and nothing else of the filesystem, and writes the pool and no other;
// caps changed by hand are set back; a grant on a missing pool names it; the key never shows
// outside the Secret; deletion waits while the key has the subvolume mounted, then removes the
// client; a policy without Delete keeps it.
func TestCephClient(t *testing.T) {
	h := newHarness(t)
	subA, subB, rbdPool, other := h.name("cl-a"), h.name("cl-b"), h.name("clrbd"), h.name("clother")
	id, orphan, bad := h.name("tenant"), h.name("kept"), h.name("badpool")
	h.cleanup(func() {
		for _, s := range []string{subA, subB} {
			_, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolume", "rm", labFS, s)
		}
		for _, e := range []string{id, orphan, bad} {
			_, _ = runTool("ceph", "--conf", h.conf, "auth", "rm", "client."+e)
		}
		_ = h.ceph.DeletePool(rbdPool)
		_ = h.ceph.DeletePool(other)
	})
	if err := h.ceph.CreatePool(cephclient.PoolSpec{Name: other, PGNum: 8, AutoscaleMode: "off"}); err != nil {
		t.Fatal(err)
	}
	a := h.subvolume(subA, cephv1alpha1.SubvolumeParameters{QuotaMiB: ptr(int64(8)), NamespaceIsolated: ptr(true), AllowDeleteWithData: ptr(true)})
	b := h.subvolume(subB, cephv1alpha1.SubvolumeParameters{AllowDeleteWithData: ptr(true)})
	p := h.pool(rbdPool, cephv1alpha1.PoolParameters{Size: ptr(int32(2)), MinSize: ptr(int32(1)), PGNum: ptr(int32(8)), Application: ptr("rbd"), AllowDeleteWithData: ptr(true)})
	mg := h.cephClient(id,
		cephv1alpha1.CephClientGrant{SubvolumeRef: &cephv1alpha1.SubvolumeReference{Name: subA}},
		cephv1alpha1.CephClientGrant{PoolRef: &xpv2.NamespacedReference{Name: rbdPool}, Profile: ptr("rbd")})
	mg.Spec.WriteConnectionSecretToReference = &xpv2.LocalSecretReference{Name: id + "-cephx"}
	// the client first, so it waits for its subvolume and pool
	h.create(mg)
	h.create(a)
	h.create(b)
	h.create(p)
	for _, o := range []conditioned{a, b, p, mg} {
		h.waitReady(o)
	}
	ia, _ := h.fsCLI("", subA)
	ib, _ := h.fsCLI("", subB)
	got, ok := h.authCLI("client." + id)
	want := map[string]string{
		"mon": "allow r fsname=labfs, profile rbd",
		"mds": "allow rw fsname=labfs path=" + ia.Path,
		"osd": "allow rw pool=cephfs.labfs.data namespace=fsvolumens_" + subA + ", profile rbd pool=" + rbdPool,
	}
	if !ok || toJSON(got.Caps) != toJSON(want) {
		t.Fatalf("client.%s caps in Ceph = %v (exists %v), want %v", id, got.Caps, ok, want)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: id + "-cephx"}}
	h.eventually(30*time.Second, "connection secret", func() bool { return h.get(sec) == nil }, func() string { return "" })
	key := string(sec.Data["key"])
	if key != got.Key || string(sec.Data["clientName"]) != id || string(sec.Data["entity"]) != "client."+id ||
		!strings.Contains(string(sec.Data["keyring"]), "[client."+id+"]\n\tkey = "+got.Key) || !strings.Contains(string(sec.Data["monitors"]), "127.0.0.1:") {
		t.Fatalf("connection secret has %v; the key matches Ceph's: %v", mapKeys(sec.Data), key == got.Key)
	}

	// the subvolume: written and read within its quota, refused beyond it
	m, unmount, err := h.mountAs(id, key, ia.Path)
	if err != nil {
		t.Fatalf("client.%s cannot mount its subvolume %s: %v", id, ia.Path, err)
	}
	if err := writeFile(m, "mine.bin", 64<<10); err != nil {
		t.Fatalf("client.%s cannot write in its subvolume: %v", id, err)
	}
	if n, err := readFile(m, "mine.bin"); err != nil || n != 64<<10 {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
	if err := writeFile(m, "big.bin", 12<<20); err == nil {
		t.Fatal("a 12 MiB write into the 8 MiB subvolume succeeded")
	} else {
		t.Logf("write beyond the quota: %v", err)
	}
	// nothing else of the filesystem: not its root, not the other subvolume
	for _, root := range []string{"/", ib.Path} {
		if m2, _, err := h.mountAs(id, key, root); err == nil {
			if werr := writeFile(m2, "intruder.bin", 1024); werr == nil {
				t.Fatalf("client.%s mounted %s and wrote in it", id, root)
			} else {
				t.Logf("mount %s allowed but write refused: %v", root, werr)
			}
		} else {
			t.Logf("mount %s refused: %v", root, err)
		}
	}
	// the RBD pool and no other
	conn := h.radosAs(id, key)
	if err := radosWrite(conn, rbdPool, "probe", []byte("hello")); err != nil {
		t.Fatalf("client.%s cannot write to its pool %s: %v", id, rbdPool, err)
	}
	if err := radosWrite(conn, other, "probe", []byte("hello")); err == nil {
		t.Fatalf("client.%s wrote to pool %s it has no grant for", id, other)
	} else {
		t.Logf("write to another pool: %v", err)
	}

	// drift: caps changed by hand are set back and reported
	h.waitInSync(mg)
	h.cli("ceph", "auth", "caps", "client."+id, "mon", "allow *", "osd", "allow *")
	h.eventually(60*time.Second, "caps set back", func() bool {
		g, _ := h.authCLI("client." + id)
		return toJSON(g.Caps) == toJSON(want)
	}, func() string { g, _ := h.authCLI("client." + id); return toJSON(g.Caps) })
	t.Logf("event: %s", h.waitEvent(mg, "DriftRepaired", `caps mds: want "allow rw fsname=labfs path=`, `Ceph has ""`))

	// a grant on a pool that does not exist: named, nothing created
	nb := h.cephClient(bad, cephv1alpha1.CephClientGrant{Pool: ptr(h.name("nosuchpool"))})
	h.create(nb)
	h.waitCondition(nb, xpv2.TypeSynced, corev1.ConditionFalse, `spec.forProvider.grants[0]: pool "`+h.name("nosuchpool")+`" does not exist in Ceph`, 60*time.Second)
	if _, ok := h.authCLI("client." + bad); ok {
		t.Error("a client with a grant on a missing pool was created")
	}

	// a client whose policies lack Delete stays in Ceph when its MR goes
	kept := h.cephClient(orphan, cephv1alpha1.CephClientGrant{Pool: ptr(rbdPool), ReadOnly: ptr(true)})
	kept.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve, xpv2.ManagementActionCreate, xpv2.ManagementActionUpdate, xpv2.ManagementActionLateInitialize}
	h.create(kept)
	h.waitReady(kept)
	if g, ok := h.authCLI("client." + orphan); !ok || g.Caps["osd"] != "allow r pool="+rbdPool || g.Caps["mon"] != "allow r" {
		t.Fatalf("client.%s in Ceph = %v (exists %v)", orphan, g.Caps, ok)
	}

	// the key is in the Secret only: not in status, conditions or events
	for _, o := range []client.Object{mg, kept} {
		if err := h.get(o); err != nil {
			t.Fatal(err)
		}
		if s := toJSON(o); strings.Contains(s, key) || strings.Contains(s, got.Key[:20]) {
			t.Errorf("%s shows the key: %s", o.GetName(), s)
		}
	}
	var events corev1.EventList
	if err := h.kube.List(context.Background(), &events, client.InNamespace(h.ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if strings.Contains(e.Message, got.Key[:20]) {
			t.Errorf("event %s shows the key", e.Reason)
		}
	}

	h.delete(kept)
	h.waitGone(kept)
	if _, ok := h.authCLI("client." + orphan); !ok {
		t.Error("a client whose policies lack Delete was removed from Ceph")
	}
	// in use: the subvolume is still mounted with the key, so the client stays until it is not
	h.delete(mg)
	h.waitBlocked(mg, "cephx client client."+id+" is not deleted: it is in use, with open CephFS sessions (1 on mds.")
	if _, ok := h.authCLI("client." + id); !ok {
		t.Fatal("a client in use was removed")
	}
	unmount()
	h.poke(mg)
	h.waitGone(mg)
	if _, ok := h.authCLI("client." + id); ok {
		t.Error("client still in Ceph after its MR was deleted")
	}
}
