package ceph

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

// readExamples decodes every object of every file in examples/ceph, in file-name order.
func readExamples(t *testing.T) map[string][]*unstructured.Unstructured {
	t.Helper()
	root, err := envtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "examples", "ceph", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in examples/ceph: %v", err)
	}
	out := map[string][]*unstructured.Unstructured{}
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // our own examples
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("# ")) {
			t.Errorf("%s does not start with a comment line saying what it demonstrates", filepath.Base(f))
		}
		objs, err := envtest.DecodeObjects(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = objs
	}
	return out
}

// The examples, applied as they are (into a fresh namespace, against the ClusterProviderConfig
// "default" they name), all become Ready, and are then deleted from Ceph with their MRs.
func TestExamples(t *testing.T) {
	h := newHarness(t)
	examples := readExamples(t)
	for _, kind := range []string{"erasurecodeprofile.yaml", "crushrule.yaml", "crushbucket.yaml", "pool.yaml", "rbdimage.yaml", "subvolumegroup.yaml", "subvolume.yaml",
		"objectstoreuser.yaml", "bucket.yaml", "cephclient.yaml", "filesystem.yaml"} {
		if len(examples[kind]) == 0 {
			t.Fatalf("examples/ceph/%s is missing", kind)
		}
	}
	h.cleanExampleLeftovers()
	h.cleanup(h.cleanExampleLeftovers)

	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "ceph-default"}, Data: map[string][]byte{"keyring": []byte(h.cfg.Key)}})
	cpc := &v1alpha1.ClusterProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: v1alpha1.ClusterProviderConfigSpec{SiteSpec: v1alpha1.SiteSpec{Ceph: &v1alpha1.CephConfig{
			Monitors: h.cfg.Monitors, ClientName: "admin",
			KeyringSecretRef: v1alpha1.SecretKeySelector{Name: "ceph-default", Namespace: h.ns, Key: "keyring"},
			ObjectStore:      h.objectStoreConfig(h.ns),
		}}},
	}
	if err := h.kube.Create(context.Background(), cpc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.kube.Delete(context.Background(), cpc) })

	files := make([]string, 0, len(examples))
	for f := range examples {
		files = append(files, f)
	}
	sort.Strings(files)
	var all []*unstructured.Unstructured
	for _, f := range files {
		for _, u := range examples[f] {
			u.SetNamespace(h.ns)
			if err := h.kube.Create(context.Background(), u); err != nil {
				t.Fatalf("%s: cannot apply %s: %v", f, u.GetName(), err)
			}
			all = append(all, u)
			h.mrs = append(h.mrs, u)
		}
	}
	for _, u := range all {
		h.waitUnstructuredReady(u)
	}
	s := h.snapshot()
	if p := s.Pools["mc-volumes"]; p == nil || p.Size != 3 || p.Option("compression_mode") != "passive" {
		t.Errorf("mc-volumes in Ceph = %+v", p)
	}
	if p := s.Pools["mc-volumes-ec-data"]; p == nil || !p.Erasure() || !p.HasFlag("ec_overwrites") {
		t.Errorf("mc-volumes-ec-data in Ceph = %+v", p)
	}
	if got := s.Crush.Parents("mc-node1"); len(got) != 1 || got[0] != "mc-dc1-rack1" {
		t.Errorf("mc-node1 parents = %v", got)
	}
	info, err := h.ceph.GetImage("mc-volumes", "vm-100-disk-0")
	if err != nil || info.SizeBytes != 1<<30 || info.DataPool != "mc-volumes-ec-data" {
		t.Errorf("image = %+v, %v", info, err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "vm-100-disk-0-rbd"}}
	h.eventually(30*time.Second, "connection secret", func() bool { return h.get(sec) == nil }, func() string { return "" })
	if string(sec.Data["imageSpec"]) != "mc-volumes/vm-100-disk-0" {
		t.Errorf("connection secret = %v", sec.Data)
	}

	sv, ok := h.fsCLI("tenant-a", "tenant-a-home")
	if !ok || sv.quota() != 1<<30 || sv.PoolNamespace != "fsvolumens_tenant-a-home" {
		t.Errorf("subvolume tenant-a/tenant-a-home in Ceph = %+v (exists %v)", sv, ok)
	}
	if g, ok := h.fsCLI("tenant-a", ""); !ok || g.quota() != 10<<30 || g.Mode&0o7777 != 0o2770 || g.UID != 1000 {
		t.Errorf("subvolume group tenant-a in Ceph = %+v (exists %v)", g, ok)
	}
	fsSec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "tenant-a-home-cephfs"}}
	h.eventually(30*time.Second, "subvolume connection secret", func() bool { return h.get(fsSec) == nil }, func() string { return "" })
	if string(fsSec.Data["path"]) != sv.Path {
		t.Errorf("subvolume connection secret = %v, Ceph's path %s", fsSec.Data, sv.Path)
	}

	if c, ok := h.authCLI("client.tenant-a"); !ok || c.Caps["mds"] != "allow rw fsname=labfs path="+sv.Path ||
		c.Caps["osd"] != "allow rw pool=cephfs.labfs.data namespace=fsvolumens_tenant-a-home, profile rbd pool=mc-volumes" {
		t.Errorf("client.tenant-a in Ceph has caps %v (exists %v)", c.Caps, ok)
	}
	cxSec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "tenant-a-cephx"}}
	h.eventually(30*time.Second, "CephClient connection secret", func() bool { return h.get(cxSec) == nil }, func() string { return "" })
	if string(cxSec.Data["clientName"]) != "tenant-a" || len(cxSec.Data["key"]) == 0 || len(cxSec.Data["keyring"]) == 0 {
		t.Errorf("CephClient connection secret has keys %v", mapKeys(cxSec.Data))
	}

	if f, ok := h.fsLS()["tenant-files"]; !ok || len(f.DataPools) != 1 || h.poolRule(f.DataPools[0]) != "replicated-host-hdd" {
		t.Errorf("filesystem tenant-files in Ceph = %+v (exists %v)", f, ok)
	}

	rgwAdmin := h.rgwAdmin()
	if b, err := rgwAdmin.GetBucketStats(context.Background(), "tenant-a-backups"); err != nil || b.Owner != "tenant-a" || b.Quota.MaxObjects != 500 {
		t.Errorf("bucket tenant-a-backups in RGW = %+v, %v", b, err)
	}
	owner, err := rgwAdmin.GetUser(context.Background(), "tenant-a")
	if err != nil || len(owner.Keys) == 0 {
		t.Fatalf("user tenant-a in RGW: %+v, %v", owner, err)
	}
	if b, err := rgwAdmin.GetBucket(context.Background(), "tenant-a-records", owner.Keys[0]); err != nil || !b.ObjectLock ||
		b.DefaultRetention == nil || *b.DefaultRetention != (rgw.Retention{Mode: "GOVERNANCE", Days: 30}) {
		t.Errorf("bucket tenant-a-records in RGW = %+v, %v", b, err)
	}
	s3Sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "tenant-a-s3"}}
	h.eventually(30*time.Second, "ObjectStoreUser connection secret", func() bool { return h.get(s3Sec) == nil }, func() string { return "" })
	if len(s3Sec.Data["accessKey"]) == 0 || len(s3Sec.Data["secretKey"]) == 0 {
		t.Errorf("ObjectStoreUser connection secret has keys %v", mapKeys(s3Sec.Data))
	}

	// delete in reverse order of dependency, each gone from Ceph with its MR; a subvolume goes
	// before its group and a bucket before its owner (the files sort the other way)
	first := map[string]bool{"Subvolume": true, "Bucket": true}
	var order []*unstructured.Unstructured
	for _, u := range all {
		if first[u.GetKind()] {
			order = append(order, u)
		}
	}
	for i := len(all) - 1; i >= 0; i-- {
		if !first[all[i].GetKind()] {
			order = append(order, all[i])
		}
	}
	// removing a CephFS volume removes its pools: the volumes module wants this in the config database
	h.cli("ceph", "config", "set", "mon", "mon_allow_pool_delete", "true")
	for _, u := range order {
		h.delete(u)
		h.poke(u)
		h.waitGone(u)
	}
	if _, ok := h.fsCLI("tenant-a", ""); ok {
		t.Error("subvolume group tenant-a left in Ceph after its MR was deleted")
	}
	if _, ok := h.fsLS()["tenant-files"]; ok {
		t.Error("filesystem tenant-files left in Ceph after its MR was deleted")
	}
	if _, ok := h.authCLI("client.tenant-a"); ok {
		t.Error("client.tenant-a left in Ceph after its MR was deleted")
	}
	s = h.snapshot()
	if _, err := rgwAdmin.GetUser(context.Background(), "tenant-a"); !rgw.IsNotFound(err) {
		t.Errorf("RGW user tenant-a after its MR was deleted: %v, want NoSuchUser", err)
	}
	if s.Pools["mc-volumes"] != nil || s.Crush.Bucket("mc-root") != nil || s.Crush.Rule("ec-2-1-rule") != nil || s.Profiles["ec-2-1"] != nil {
		t.Error("example objects left in Ceph after their MRs were deleted")
	}
}

// cleanExampleLeftovers removes what a failed earlier run may have left, so the examples' fixed
// names start from nothing.
func (h *harness) cleanExampleLeftovers() {
	c := h.ceph
	_, _ = runTool("ceph", "--conf", h.conf, "config", "set", "mon", "mon_allow_pool_delete", "true")
	_, _ = runTool("ceph", "--conf", h.conf, "fs", "volume", "rm", "tenant-files", "--yes-i-really-mean-it")
	_, _ = runTool("ceph", "--conf", h.conf, "config", "rm", "mon", "mon_allow_pool_delete")
	_ = c.DeletePool("mc-volumes")
	_ = c.DeletePool("mc-volumes-ec-data")
	_ = c.RemoveCrushRule("replicated-host-hdd")
	_ = c.RemoveCrushRule("ec-2-1-rule")
	_ = c.RemoveErasureCodeProfile("ec-2-1")
	for _, b := range []string{"mc-node1", "mc-dc1-rack1", "mc-dc1-row1", "mc-dc1", "mc-root"} {
		_ = c.RemoveCrushBucket(b)
	}
	_, _ = runTool("ceph", "--conf", h.conf, "auth", "rm", "client.tenant-a")
	_, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolume", "rm", labFS, "tenant-a-home", "--group_name", "tenant-a")
	_, _ = runTool("ceph", "--conf", h.conf, "fs", "subvolumegroup", "rm", labFS, "tenant-a")
	if env := rgwAdminEnv(h.conf); env["RGW_ENDPOINT"] != "" {
		_, _ = runTool("radosgw-admin", "--conf", h.conf, "bucket", "rm", "--bucket=tenant-a-backups", "--purge-objects")
		_, _ = runTool("radosgw-admin", "--conf", h.conf, "bucket", "rm", "--bucket=tenant-a-records", "--purge-objects")
		_, _ = runTool("radosgw-admin", "--conf", h.conf, "user", "rm", "--uid=tenant-a", "--purge-data")
	}
}

func mapKeys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (h *harness) waitUnstructuredReady(u *unstructured.Unstructured) {
	h.t.Helper()
	status := func(t string) (string, string) {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == t {
				s, _ := m["status"].(string)
				msg, _ := m["message"].(string)
				return s, msg
			}
		}
		return "", ""
	}
	h.eventually(90*time.Second, u.GetKind()+" "+u.GetName()+" Ready and Synced", func() bool {
		if err := h.get(u); err != nil {
			return false
		}
		r, _ := status(string(xpv2.TypeReady))
		s, _ := status(string(xpv2.TypeSynced))
		return r == "True" && s == "True"
	}, func() string {
		r, rm := status(string(xpv2.TypeReady))
		s, sm := status(string(xpv2.TypeSynced))
		return "Ready=" + r + " " + rm + "; Synced=" + s + " " + sm
	})
}
