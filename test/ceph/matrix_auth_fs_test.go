package ceph

import (
	"strings"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

// fsFixtures makes the CRUSH rule the Filesystem cells move data pools to, and lets the volumes
// module delete pools (it reads mon_allow_pool_delete from the config database only).
func (h *harness) fsFixtures() string {
	rule := h.name("fm-fsrule")
	if err := h.ceph.CreateReplicatedRule(rule, "default", "osd", ""); err != nil {
		h.t.Fatal(err)
	}
	h.cli("ceph", "config", "set", "mon", "mon_allow_pool_delete", "true")
	h.cleanup(func() {
		_, _ = runTool("ceph", "--conf", h.conf, "config", "rm", "mon", "mon_allow_pool_delete")
		_ = h.ceph.RemoveCrushRule(rule)
	})
	return rule
}

// authOf reads a cephx entity with the harness's own client (no faults, no CLI start-up per
// poll); ok is false when Ceph says it does not exist.
func (h *harness) authOf(entity string) (cephclient.AuthEntity, bool) {
	h.t.Helper()
	a, err := h.ceph.GetAuth(entity)
	if cephclient.IsNotFound(err) {
		return cephclient.AuthEntity{}, false
	}
	if err != nil {
		h.t.Fatalf("cannot read %s: %v", entity, err)
	}
	return *a, true
}

// ruleOfPool names a pool's CRUSH rule ("" when the pool or its rule is unknown).
func (h *harness) ruleOfPool(pool string) string {
	h.t.Helper()
	s := h.snapshot()
	if p := s.Pools[pool]; p != nil {
		if r := s.Crush.RuleByID(p.CrushRule); r != nil {
			return r.Name
		}
	}
	return ""
}

// listedTimes counts how often name is listed (as "field":"name") by a JSON mon read.
func (h *harness) listedTimes(prefix, field, name string) int {
	h.t.Helper()
	out, err := h.ceph.MonCommand(map[string]any{"prefix": prefix, "format": "json"})
	if err != nil {
		h.t.Fatalf("%s: %v", prefix, err)
	}
	return strings.Count(string(out), `"`+field+`":"`+name+`"`)
}

// secretKey waits for a CephClient's connection Secret and returns the key in it.
func (h *harness) secretKey(name string) string {
	h.t.Helper()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name}}
	h.eventually(30*time.Second, "connection secret "+name, func() bool { return h.get(sec) == nil && len(sec.Data["key"]) > 0 },
		func() string { return "" })
	return string(sec.Data["key"])
}

// cellCephClient: a client with read access to pool, made read-write by the update. Its key
// must stay the one in the connection Secret (a lost answer must not make a second key), and
// authenticate.
func (h *harness) cellCephClient(op, n, pool string, arm, waitSpent func()) {
	entity := "client." + n
	h.cleanup(func() { _, _ = runTool("ceph", "--conf", h.conf, "auth", "rm", entity) })
	mg := h.cephClient(n, cephv1alpha1.CephClientGrant{Pool: ptr(pool), ReadOnly: ptr(true)})
	mg.Spec.WriteConnectionSecretToReference = &xpv2.LocalSecretReference{Name: n}
	h.createCell(op, mg, arm, waitSpent)
	want := cephclient.Caps{"mon": "allow r", "osd": "allow r pool=" + pool}
	key := h.secretKey(n)
	switch op {
	case "update":
		h.faultedUpdate(mg, arm, waitSpent, func() { mg.Spec.ForProvider.Grants[0].ReadOnly = ptr(false) })
		want["osd"] = "allow rw pool=" + pool
		h.eventually(60*time.Second, entity+" caps made read-write", func() bool {
			a, _ := h.authOf(entity)
			return toJSON(a.Caps) == toJSON(want)
		}, func() string { a, _ := h.authOf(entity); return toJSON(a.Caps) })
		h.waitReady(mg)
		if err := radosWrite(h.radosAs(n, key), pool, n, []byte("probe")); err != nil {
			h.t.Fatalf("%s cannot write to %s with the key from before the update: %v", entity, pool, err)
		}
	case "delete":
		h.faultedDelete(mg, arm, waitSpent)
		if _, ok := h.authOf(entity); ok {
			h.t.Fatalf("%s exists after its deletion", entity)
		}
		return
	}
	a, ok := h.authOf(entity)
	if !ok || toJSON(a.Caps) != toJSON(want) {
		h.t.Fatalf("%s caps in Ceph = %v (exists %v), want %v", entity, a.Caps, ok, want)
	}
	if a.Key != key || h.secretKey(n) != key {
		h.t.Fatalf("%s key changed: the connection Secret's key is not Ceph's", entity)
	}
	h.radosAs(n, key) // the Secret's key authenticates
	if c := h.listedTimes("auth ls", "entity", entity); c != 1 {
		h.t.Fatalf("%s listed %d times by auth ls", entity, c)
	}
}

// cellFilesystem: a CephFS volume whose data pool is on rule (the update moves it there from
// replicated_rule); it needs a standby MDS to become Ready.
func (h *harness) cellFilesystem(op, n, rule string, arm, waitSpent func()) {
	h.cleanup(func() { _, _ = runTool("ceph", "--conf", h.conf, "fs", "volume", "rm", n, "--yes-i-really-mean-it") })
	want, data := rule, "cephfs."+n+".data"
	if op == "update" {
		want = "replicated_rule"
	}
	mg := h.filesystem(n, cephv1alpha1.FilesystemParameters{DataCrushRule: ptr(want)})
	h.createCell(op, mg, arm, waitSpent)
	switch op {
	case "update":
		h.faultedUpdate(mg, arm, waitSpent, func() { mg.Spec.ForProvider.DataCrushRule = ptr(rule) })
		want = rule
		h.eventually(60*time.Second, data+" moved to "+rule, func() bool { return h.ruleOfPool(data) == rule },
			func() string { return h.ruleOfPool(data) })
		h.waitReady(mg)
	case "delete":
		h.faultedDelete(mg, arm, waitSpent)
		if _, err := h.ceph.GetFilesystem(n); !cephclient.IsNotFound(err) {
			h.t.Fatalf("filesystem %s after its deletion: %v", n, err)
		}
		h.cephUntil(n+"'s pools removed", func(s *cephclient.Snapshot) bool {
			return s.Pools["cephfs."+n+".meta"] == nil && s.Pools[data] == nil
		})
		return
	}
	f, err := h.ceph.GetFilesystem(n)
	if err != nil || f.MetadataPool != "cephfs."+n+".meta" || len(f.DataPools) != 1 || f.DataPools[0] != data {
		h.t.Fatalf("filesystem %s in Ceph = %+v, %v", n, f, err)
	}
	if r := h.ruleOfPool(data); r != want {
		h.t.Fatalf("%s on rule %q, want %q", data, r, want)
	}
	if c := h.listedTimes("fs ls", "name", n); c != 1 {
		h.t.Fatalf("filesystem %s listed %d times", n, c)
	}
}
