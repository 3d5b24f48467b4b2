package pvesim

import (
	"strings"
	"testing"
)

// TestDeleteStorageContent removes a container template the way go-proxmox
// asks for it (the volid unescaped in the path), by a name relative to the
// storage, and checks the errors PVE gives.
func TestDeleteStorageContent(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, err := c.Node(cx, "pve1")
	if err != nil {
		t.Fatal(err)
	}
	local, err := node.Storage(cx, "local")
	if err != nil {
		t.Fatal(err)
	}
	const debian = "debian-12-standard_12.12-1_amd64.tar.zst"
	has := func(file string) bool {
		t.Helper()
		tmpls, err := node.VzTmpls(cx, "local")
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range tmpls {
			if tp.VolID == "local:vztmpl/"+file {
				return true
			}
		}
		return false
	}
	if !has(debian) {
		t.Fatal("seeded template missing")
	}
	task := must(t)(local.DeleteContent(cx, "local:vztmpl/"+debian))
	if !strings.Contains(string(task.UPID), ":imgdel:local:") {
		t.Errorf("task type/id: %s", task.UPID)
	}
	waitOK(t, task)
	if has(debian) {
		t.Fatal("template still listed after delete")
	}
	// Another node's local storage is its own disk: pve2 keeps its copy.
	pve2, err := c.Node(cx, "pve2")
	if err != nil {
		t.Fatal(err)
	}
	if tmpls, err := pve2.VzTmpls(cx, "local"); err != nil || len(tmpls) == 0 {
		t.Fatalf("pve2 lost its templates: %v %v", tmpls, err)
	}

	// A volume that is gone fails the worker, as PVE's unlink does.
	if st := wait(t, must(t)(local.DeleteContent(cx, "vztmpl/"+debian))); !strings.Contains(st, "No such file or directory") {
		t.Errorf("second delete: %q", st)
	}
	// A relative name is taken on the storage of the path.
	if err := srv.AddVZTemplate("pve1", "local", debian); err != nil {
		t.Fatal(err)
	}
	waitOK(t, must(t)(local.DeleteContent(cx, "vztmpl/"+debian)))
	if has(debian) {
		t.Fatal("relative delete left the template")
	}
	// A volid of another storage is a parameter error.
	if _, err := local.DeleteContent(cx, "ceph-rbd:vm-100-disk-0"); err == nil || !strings.Contains(err.Error(), "storage ID mismatch") {
		t.Errorf("mismatch: %v", err)
	}
}
