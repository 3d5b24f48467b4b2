package ceph

import (
	"encoding/json"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

func (h *harness) filesystem(name string, p cephv1alpha1.FilesystemParameters) *cephv1alpha1.Filesystem {
	return &cephv1alpha1.Filesystem{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name},
		Spec: cephv1alpha1.FilesystemSpec{ManagedResourceSpec: h.mrSpec(), ForProvider: p}}
}

// fsLS is `ceph fs ls` by name.
func (h *harness) fsLS() map[string]fsListed {
	h.t.Helper()
	var ls []fsListed
	if err := json.Unmarshal([]byte(h.cli("ceph", "fs", "ls", "--format", "json")), &ls); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]fsListed{}
	for _, f := range ls {
		out[f.Name] = f
	}
	return out
}

type fsListed struct {
	Name         string   `json:"name"`
	MetadataPool string   `json:"metadata_pool"`
	DataPools    []string `json:"data_pools"`
}

// poolRule is a pool's CRUSH rule as the ceph CLI reports it.
func (h *harness) poolRule(pool string) string {
	h.t.Helper()
	var r struct {
		Rule string `json:"crush_rule"`
	}
	if err := json.Unmarshal([]byte(h.cli("ceph", "osd", "pool", "get", pool, "crush_rule", "--format", "json")), &r); err != nil {
		h.t.Fatal(err)
	}
	return r.Rule
}

// A CephFS volume: created with a data pool on a CRUSH rule of its own and served by the lab's
// standby MDS; a rule set back by hand is repaired; deleting it is refused while it holds a
// subvolume group and a subvolume, then goes through and removes its pools; the lab's own
// filesystem imported observe-only is left as it was.
func TestFilesystem(t *testing.T) {
	h := newHarness(t)
	name, rule, group, sub := h.name("fs"), h.name("osdrule"), h.name("grp"), h.name("sv")
	h.cleanup(func() {
		_, _ = runTool("ceph", "--conf", h.conf, "config", "set", "mon", "mon_allow_pool_delete", "true")
		_, _ = runTool("ceph", "--conf", h.conf, "fs", "volume", "rm", name, "--yes-i-really-mean-it")
		_, _ = runTool("ceph", "--conf", h.conf, "config", "rm", "mon", "mon_allow_pool_delete")
		_ = h.ceph.RemoveCrushRule(rule)
	})
	if err := h.ceph.CreateReplicatedRule(rule, "default", "osd", ""); err != nil {
		t.Fatal(err)
	}
	mg := h.filesystem(name, cephv1alpha1.FilesystemParameters{DataCrushRule: ptr(rule), MetadataCrushRule: ptr("replicated_rule")})
	h.create(mg)
	h.waitReady(mg)
	f, ok := h.fsLS()[name]
	if !ok || f.MetadataPool != "cephfs."+name+".meta" || len(f.DataPools) != 1 || f.DataPools[0] != "cephfs."+name+".data" {
		t.Fatalf("filesystem in Ceph = %+v (exists %v)", f, ok)
	}
	if r := h.poolRule(f.DataPools[0]); r != rule {
		t.Errorf("data pool rule = %q, want %q", r, rule)
	}
	if mg.Status.AtProvider.DataCrushRule != rule || len(mg.Status.AtProvider.ActiveMDS) != 1 {
		t.Errorf("status = %+v", mg.Status.AtProvider)
	}
	t.Logf("served by mds.%v", mg.Status.AtProvider.ActiveMDS)

	// drift: the data pool moved back to the default rule by hand
	h.waitInSync(mg)
	h.cli("ceph", "osd", "pool", "set", f.DataPools[0], "crush_rule", "replicated_rule")
	h.eventually(60*time.Second, "data pool rule set back", func() bool { return h.poolRule(f.DataPools[0]) == rule },
		func() string { return h.poolRule(f.DataPools[0]) })
	t.Logf("event: %s", h.waitEvent(mg, "DriftRepaired", `dataCrushRule: want "`+rule+`", Ceph has "replicated_rule"`))

	// a subvolume group (made by hand) and a subvolume (an MR) keep it
	h.cli("ceph", "fs", "subvolumegroup", "create", name, group)
	sv := h.subvolume(sub, cephv1alpha1.SubvolumeParameters{Filesystem: name})
	h.create(sv)
	h.waitReady(sv)
	h.delete(mg)
	h.waitBlocked(mg, "1 subvolume group(s): "+group+"; 1 subvolume(s) in the default group: "+sub)
	if _, ok := h.fsLS()[name]; !ok {
		t.Fatal("filesystem removed although it holds a subvolume")
	}
	h.delete(sv)
	h.waitGone(sv)
	h.cli("ceph", "fs", "subvolumegroup", "rm", name, group)
	// the volumes module reads mon_allow_pool_delete from the config database, where the lab
	// cluster leaves it unset (false): refused in Ceph's words until it is set
	h.poke(mg)
	h.waitCondition(mg, xpv2.TypeSynced, corev1.ConditionFalse, "pool deletion is disabled; you must first set the mon_allow_pool_delete config option to true", 60*time.Second)
	if _, ok := h.fsLS()[name]; !ok {
		t.Fatal("filesystem removed although Ceph forbids it")
	}
	h.cli("ceph", "config", "set", "mon", "mon_allow_pool_delete", "true")
	h.poke(mg)
	h.waitGone(mg)
	if _, ok := h.fsLS()[name]; ok {
		t.Fatal("filesystem still in Ceph after its MR was deleted")
	}
	h.cephUntil("the volume's pools removed", func(s *cephclient.Snapshot) bool {
		return s.Pools[f.MetadataPool] == nil && s.Pools[f.DataPools[0]] == nil
	})

	// the lab's filesystem, imported observe-only: Ready with Ceph's values, untouched when the MR goes
	before := h.fsLS()[labFS]
	imp := h.filesystem(labFS, cephv1alpha1.FilesystemParameters{DataCrushRule: ptr(rule)})
	imp.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	h.create(imp)
	h.waitReady(imp)
	if imp.Status.AtProvider.MetadataPool != "cephfs.labfs.meta" || imp.Status.AtProvider.DataCrushRule != "replicated_rule" {
		t.Errorf("imported status = %+v", imp.Status.AtProvider)
	}
	h.delete(imp)
	h.waitGone(imp)
	after, ok := h.fsLS()[labFS]
	if !ok || toJSON(after) != toJSON(before) || h.poolRule("cephfs.labfs.data") != "replicated_rule" {
		t.Fatalf("labfs after an observe-only import = %+v (exists %v), before %+v", after, ok, before)
	}
}
