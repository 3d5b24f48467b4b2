package pvesim

import (
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

func TestClusterViews(t *testing.T) {
	srv := startSim(t, Options{Nodes: []string{"a1", "a2"}, SeedGuests: 5})
	c := pveClient(t, srv)
	cx := ctx(t)
	v, err := c.Version(cx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.Version, "9.") || v.Release != "9.1" {
		t.Errorf("version %+v", v)
	}
	nodes, err := c.Nodes(cx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Node != "a1" || nodes[0].Status != "online" || nodes[0].MaxCPU != nodeCPUs {
		t.Fatalf("nodes %+v", nodes[0])
	}
	cl, err := c.Cluster(cx)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Name != "pvesim" || len(cl.Nodes) != 2 {
		t.Errorf("cluster status: %+v", cl)
	}
	// Give one guest a pool, HA state, tags and a lock to see them listed.
	if err := c.NewPool(cx, "tenant-a", ""); err != nil {
		t.Fatal(err)
	}
	p, err := c.Pool(cx, "tenant-a")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Update(cx, &proxmox.PoolUpdateOption{VirtualMachines: "1000"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.NewHAResource(cx, &proxmox.HAResourceCreateOption{SID: "vm:1000"}); err != nil {
		t.Fatal(err)
	}
	all, err := cl.Resources(cx)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, r := range all {
		types[r.Type]++
	}
	// 5 seeded guests (one a container) + template 9000; 2 nodes; 3 storages per node (local, local-lvm, ceph-rbd); 1 pool.
	if types["qemu"] != 5 || types["lxc"] != 1 || types["node"] != 2 || types["storage"] != 6 || types["pool"] != 1 {
		t.Fatalf("resource types %v", types)
	}
	vms, err := cl.Resources(cx, "vm")
	if err != nil {
		t.Fatal(err)
	}
	var vm1000, tmpl *proxmox.ClusterResource
	for _, r := range vms {
		switch r.VMID {
		case 1000:
			vm1000 = r
		case DefaultTemplateID:
			tmpl = r
		}
		if r.Type != "qemu" && r.Type != "lxc" {
			t.Errorf("type=vm returned %s", r.Type)
		}
	}
	if vm1000 == nil || vm1000.ID != "qemu/1000" || vm1000.Pool != "tenant-a" || vm1000.HAstate != "started" ||
		vm1000.Status != "running" || vm1000.Tags != "seed" || vm1000.MaxMem != 2048*1024*1024 || vm1000.MaxCPU != 2 ||
		vm1000.MaxDisk != 16<<30 || vm1000.Node != "a1" {
		t.Fatalf("vm 1000: %+v", vm1000)
	}
	if tmpl == nil || tmpl.Template != 1 || tmpl.Name != "debian-12-cloudinit" {
		t.Fatalf("template: %+v", tmpl)
	}
	stor, _ := cl.Resources(cx, "storage")
	for _, r := range stor {
		if r.Storage == "ceph-rbd" && (r.PluginType != "rbd" || r.Shared != 1 || r.Content != "images,rootdir") {
			t.Errorf("rbd storage entry %+v", r)
		}
		if r.Storage == "local" && (r.PluginType != "dir" || !strings.Contains(r.Content, "vztmpl")) {
			t.Errorf("local storage entry %+v", r)
		}
	}
	// nextid skips used ids; vmid checks a given id.
	id, err := cl.NextID(cx)
	if err != nil || id != 100 {
		t.Fatalf("nextid %d %v", id, err)
	}
	free, err := cl.CheckID(cx, 1000)
	if err != nil || free {
		t.Errorf("CheckID(1000) = %v, %v", free, err)
	}
	free, err = cl.CheckID(cx, 777)
	if err != nil || !free {
		t.Errorf("CheckID(777) = %v, %v", free, err)
	}
}

func TestTasks(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve1")
	task, err := node.NewVirtualMachine(cx, 321, proxmox.VirtualMachineOption{Name: "scsi0", Value: "ceph-rbd:1"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(task.UPID), ":")
	// UPID:node:pid:pstart:starttime:type:id:user:
	if len(parts) != 9 || parts[0] != "UPID" || parts[1] != "pve1" || len(parts[2]) != 8 || len(parts[3]) != 8 ||
		len(parts[4]) != 8 || parts[5] != "qmcreate" || parts[6] != "321" || parts[7] != srv.TokenID || parts[8] != "" {
		t.Fatalf("UPID %q", task.UPID)
	}
	waitOK(t, task)
	// Task APIs report a token's tasks as user + tokenid.
	if !task.IsSuccessful || task.Type != "qmcreate" || task.User != "root@pam" {
		t.Errorf("task %+v", task)
	}
	log, err := task.Log(cx, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) == 0 || log[len(log)-1] != "TASK OK" {
		t.Errorf("log %v", log)
	}
	var list []map[string]any
	if err := c.Get(cx, "/cluster/tasks", &list); err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0]["upid"] != string(task.UPID) || list[0]["status"] != "OK" {
		t.Fatalf("cluster tasks %v", list)
	}
	// The node's task index: finished by default, running with source=active.
	running, err := node.NewVirtualMachine(cx, 322, proxmox.VirtualMachineOption{Name: "scsi0", Value: "ceph-rbd:1"})
	if err != nil {
		t.Fatal(err)
	}
	var active, archive []map[string]any
	if err := c.Get(cx, "/nodes/pve1/tasks?source=active&vmid=322", &active); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(cx, "/nodes/pve1/tasks?typefilter=qmcreate", &archive); err != nil {
		t.Fatal(err)
	}
	waitOK(t, running)
	if len(active) != 1 || active[0]["status"] != "RUNNING" || active[0]["upid"] != string(running.UPID) ||
		active[0]["tokenid"] != "pvesim" {
		t.Errorf("active tasks %v", active)
	}
	if len(archive) != 1 || archive[0]["upid"] != string(task.UPID) || archive[0]["status"] != "OK" {
		t.Errorf("archived tasks %v", archive)
	}
	// Unknown tasks and nodes fail the way PVE does.
	res := raw(t, srv, "GET", "/nodes/pve1/tasks/UPID:pve1:00000001:00000001:00000001:qmstart:1:root@pam:/status", "", "", "token")
	if res.Code != 400 || decode(t, res.Body)["errors"].(map[string]any)["upid"] != "no such task" {
		t.Errorf("unknown task: %s", res.Status)
	}
	res = raw(t, srv, "GET", "/nodes/pve9/qemu", "", "", "token")
	if !strings.HasPrefix(res.Status, "500 hostname lookup 'pve9' failed") {
		t.Errorf("unknown node: %s", res.Status)
	}
}

func TestPVE8Mode(t *testing.T) {
	srv := startSim(t, Options{PVEMajor: 8, NoDefaultSeed: true})
	c := pveClient(t, srv)
	cx := ctx(t)
	v, err := c.Version(cx)
	if err != nil || v.Release != "8.4" {
		t.Fatalf("version %+v %v", v, err)
	}
	res := raw(t, srv, "GET", "/cluster/ha/rules", "", "", "token")
	if res.Status != "501 Method 'GET /cluster/ha/rules' not implemented" {
		t.Fatalf("HA rules on PVE 8: %s", res.Status)
	}
	if _, err := New(Options{PVEMajor: 7}); err == nil {
		t.Fatal("PVEMajor 7 accepted")
	}
}

func TestStopTask(t *testing.T) {
	srv := startSim(t, Options{TaskDuration: 10 * time.Second, StorageLockHold: 10 * time.Second})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve1")
	task, err := node.NewVirtualMachine(cx, 333, proxmox.VirtualMachineOption{Name: "scsi0", Value: "ceph-rbd:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Stop(cx); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, task); st != "unable to create VM 333 - received interrupt" {
		t.Fatalf("stopped task status %q", st)
	}
	if _, ok := srv.Guest(333); ok {
		t.Fatal("interrupted create left VM 333 behind")
	}
}
