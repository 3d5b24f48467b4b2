package pvesim

import (
	"strings"
	"testing"
)

// TestNestedPoolIDs follows verify_poolname (pve-access-control
// src/PVE/AccessControl.pm) and create_pool/delete_pool (pve-manager
// PVE/API2/Pool.pm): up to three levels, the parent must exist, every level
// starts with a letter, a pool with sub-pools is not empty; errors carry
// lock_user_config's "create pool failed: " / "delete pool failed: ".
func TestNestedPoolIDs(t *testing.T) {
	s := newSimT(t)
	cx := ctx(t)
	create := func(id string) error { return s.c.Post(cx, "/pools", map[string]any{"poolid": id}, nil) }
	for _, id := range []string{"org", "org/team", "org/team/app"} {
		if err := create(id); err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
	}
	for _, tc := range []struct{ id, want string }{
		{"org/team/app/x", "400 Parameter verification failed"},
		{"nope/team", "500 create pool failed: parent 'nope' of pool 'nope/team' does not exist"},
		{"org/1team", "500 create pool failed: pool name must start with a letter"},
		{"org/team", "500 create pool failed: pool 'org/team' already exists"},
	} {
		if err := create(tc.id); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("create %s: %v, want %q", tc.id, err, tc.want)
		}
	}
	r := raw(t, s.srv, "POST", "/pools", "application/x-www-form-urlencoded", "poolid=a/b/c/d", "token")
	if !strings.Contains(string(r.Body), "pool name 'a/b/c/d' nested too deeply (max levels = 3)") {
		t.Errorf("too deep: %s", r.Body)
	}
	var one []map[string]any
	if err := s.c.Get(cx, "/pools?poolid=org/team/app", &one); err != nil || len(one) != 1 || one[0]["poolid"] != "org/team/app" {
		t.Errorf("GET /pools?poolid=org/team/app: %v %v", one, err)
	}
	err := s.c.Delete(cx, "/pools?poolid=org/team", nil)
	if err == nil || !strings.Contains(err.Error(), "delete pool failed: pool 'org/team' is not empty (contains pool 'org/team/app')") {
		t.Errorf("delete parent: %v", err)
	}
}

// TestPoolMembersLikePoolIndex follows the pool index (pve-manager
// PVE/API2/Pool.pm) with extract_vm_stats / extract_storage_stats
// (PVE/API2Tools.pm): a storage member once, seen from the answering node,
// with its content; guest members only with the RRD figures (no tags, pool,
// lock or hastate); GET /pools/{poolid} answers the same entry, poolid
// included; type needs poolid.
func TestPoolMembersLikePoolIndex(t *testing.T) {
	s := newSimT(t)
	cx := ctx(t)
	if st := s.post("/nodes/pve2/qemu", map[string]any{"vmid": 540, "tags": "web", "scsi0": "ceph-rbd:1"}); st != "OK" {
		t.Fatal(st)
	}
	if err := s.c.Post(cx, "/pools", map[string]any{"poolid": "tenant", "comment": "c"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Put(cx, "/pools", map[string]any{"poolid": "tenant", "vms": "540", "storage": "ceph-rbd,local,gone"}, nil); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := s.c.Get(cx, "/pools?poolid=tenant", &list); err != nil {
		t.Fatal(err)
	}
	members, _ := list[0]["members"].([]any)
	storages := map[string]map[string]any{}
	var vm map[string]any
	for _, m := range members {
		e := m.(map[string]any)
		if e["type"] == "storage" {
			storages[e["storage"].(string)] = e
		} else {
			vm = e
		}
	}
	if len(members) != 3 || len(storages) != 2 {
		t.Fatalf("members (a storage once, unknown storages skipped): %v", members)
	}
	if e := storages["ceph-rbd"]; e["id"] != "storage/pve1/ceph-rbd" || e["content"] != "images,rootdir" || e["plugintype"] != "rbd" {
		t.Errorf("storage member: %v", e)
	}
	hasKeys(t, "vm member", vm, "id", "vmid", "node", "type", "status", "uptime", "name", "template", "maxcpu", "cpu",
		"maxmem", "mem", "maxdisk", "disk", "netin", "netout", "diskread", "diskwrite", "memhost")
	lacksKeys(t, "vm member", vm, "tags", "pool", "lock", "hastate")
	var one map[string]any
	if err := s.c.Get(cx, "/pools/tenant", &one); err != nil {
		t.Fatal(err)
	}
	if one["poolid"] != "tenant" || one["comment"] != "c" || len(one["members"].([]any)) != 3 {
		t.Errorf("GET /pools/tenant: %v", one)
	}
	err := s.c.Get(cx, "/pools?type=qemu", &list)
	if err == nil || !strings.Contains(err.Error(), "400 Parameter verification failed") {
		t.Errorf("type without poolid: %v", err)
	}
}

// TestGuestInMissingPool: create and clone check the pool with
// check_pool_exist (pve-access-control src/PVE/RPCEnvironment.pm), a
// raise_perm_exc: 403 "Permission check failed (pool 'x' does not exist)".
func TestGuestInMissingPool(t *testing.T) {
	s := newSimT(t)
	for _, tc := range []struct{ path, body string }{
		{"/nodes/pve1/qemu", "vmid=560&pool=nope"},
		{"/nodes/pve1/lxc", "vmid=561&pool=nope&ostemplate=local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst&rootfs=ceph-rbd:1"},
		{"/nodes/pve1/qemu/9000/clone", "newid=562&pool=nope"},
	} {
		r := raw(t, s.srv, "POST", tc.path, "application/x-www-form-urlencoded", tc.body, "token")
		if r.Code != 403 || !strings.Contains(r.Status, "Permission check failed (pool 'nope' does not exist)") {
			t.Errorf("POST %s: %d %s %s", tc.path, r.Code, r.Status, r.Body)
		}
	}
}

// TestPoolVMIDWithoutGuest follows update_pool (pve-manager PVE/API2/Pool.pm):
// any vmid may be added (user.cfg does not check for a guest), the index
// skips vmids without a guest, a guest created later with that vmid is a
// member, and a failing item leaves the pool unchanged (the handler dies
// before cfs_write_file).
func TestPoolVMIDWithoutGuest(t *testing.T) {
	s := newSimT(t)
	cx := ctx(t)
	if err := s.c.Post(cx, "/pools", map[string]any{"poolid": "later"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Put(cx, "/pools", map[string]any{"poolid": "later", "vms": "570"}, nil); err != nil {
		t.Fatalf("vmid without a guest: %v", err)
	}
	var list []map[string]any
	if err := s.c.Get(cx, "/pools?poolid=later", &list); err != nil || len(list[0]["members"].([]any)) != 0 {
		t.Fatalf("members before the guest exists: %v %v", list, err)
	}
	err := s.c.Put(cx, "/pools", map[string]any{"poolid": "later", "vms": "9000,570"}, nil)
	if err == nil || !strings.Contains(err.Error(), "update pools failed: VM 570 is already a pool member") {
		t.Errorf("re-adding: %v", err)
	}
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 570}); st != "OK" {
		t.Fatal(st)
	}
	list = nil
	if err := s.c.Get(cx, "/pools?poolid=later", &list); err != nil {
		t.Fatal(err)
	}
	members := list[0]["members"].([]any)
	if len(members) != 1 || members[0].(map[string]any)["vmid"] != float64(570) {
		t.Errorf("members after the guest was created (9000 must not have been added by the failed call): %v", members)
	}
}
