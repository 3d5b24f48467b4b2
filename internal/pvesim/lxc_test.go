package pvesim

import (
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

func TestLXCLifecycle(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve2")

	apls, err := node.Appliances(cx)
	if err != nil {
		t.Fatal(err)
	}
	var alpine string
	for _, a := range apls {
		if strings.HasPrefix(a.Template, "alpine-") {
			alpine = a.Template
		}
	}
	if alpine == "" || len(apls) < 5 {
		t.Fatalf("aplinfo: %d entries, alpine=%q", len(apls), alpine)
	}
	// The template is not on pve2's local storage until downloaded.
	_, err = node.NewContainer(cx, 500, proxmox.ContainerOption{Name: "ostemplate", Value: "local:vztmpl/" + alpine},
		proxmox.ContainerOption{Name: "rootfs", Value: "ceph-rbd:4"})
	if err == nil || !strings.Contains(err.Error(), "volume 'local:vztmpl/"+alpine+"' does not exist") {
		t.Fatalf("create before download: %v", err)
	}
	if _, err := node.DownloadAppliance(cx, alpine, "ceph-rbd"); err == nil ||
		!strings.Contains(err.Error(), "storage 'ceph-rbd' does not support templates") {
		t.Fatalf("download to rbd: %v", err)
	}
	upid, err := node.DownloadAppliance(cx, alpine, "local")
	waitOK(t, proxmox.NewTask(proxmox.UPID(upid), c), err)
	tmpls, err := node.VzTmpls(cx, "local")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tp := range tmpls {
		found = found || tp.VolID == "local:vztmpl/"+alpine
	}
	if !found {
		t.Fatalf("downloaded template not listed: %+v", tmpls)
	}

	// Without rootfs PVE puts it on "local", which holds no container directories.
	_, err = node.NewContainer(cx, 500, proxmox.ContainerOption{Name: "ostemplate", Value: "local:vztmpl/" + alpine})
	if err == nil || !strings.Contains(err.Error(), "storage 'local' does not support container directories") {
		t.Fatalf("create on local: %v", err)
	}
	task, err := node.NewContainer(cx, 500,
		proxmox.ContainerOption{Name: "ostemplate", Value: "local:vztmpl/" + alpine},
		proxmox.ContainerOption{Name: "hostname", Value: "ct-one"},
		proxmox.ContainerOption{Name: "rootfs", Value: "ceph-rbd:4"},
		proxmox.ContainerOption{Name: "net0", Value: "name=eth0,bridge=vmbr0,ip=dhcp"},
		proxmox.ContainerOption{Name: "memory", Value: 1024},
		proxmox.ContainerOption{Name: "password", Value: "notstored"},
		proxmox.ContainerOption{Name: "start", Value: 1},
	)
	waitOK(t, task, err)
	ct, err := node.Container(cx, 500)
	if err != nil {
		t.Fatal(err)
	}
	if ct.Status != "running" || ct.ContainerConfig.Hostname != "ct-one" || ct.ContainerConfig.OSType != "alpine" {
		t.Fatalf("container: status=%s hostname=%s ostype=%s", ct.Status, ct.ContainerConfig.Hostname, ct.ContainerConfig.OSType)
	}
	if strings.Contains(ct.ContainerConfig.RootFS, "password") || !strings.HasPrefix(ct.ContainerConfig.RootFS, "ceph-rbd:vm-500-disk-0,size=4G") {
		t.Errorf("rootfs %q", ct.ContainerConfig.RootFS)
	}
	ifaces, err := ct.Interfaces(cx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 2 || ifaces[1].Name != "eth0" || ifaces[1].Inet != guestIPv4(500, 0)+"/16" {
		t.Fatalf("interfaces: %+v %+v", ifaces[0], ifaces[len(ifaces)-1])
	}
	// PUT config is synchronous for containers; memory applies live.
	if _, err := ct.Config(cx, proxmox.ContainerOption{Name: "memory", Value: 2048}); err != nil {
		t.Fatal(err)
	}
	var conf map[string]any
	if err := c.Get(cx, "/nodes/pve2/lxc/500/config", &conf); err != nil {
		t.Fatal(err)
	}
	if conf["memory"] != float64(2048) {
		t.Errorf("memory %v", conf["memory"])
	}
	// Template conversion needs a stopped container.
	if err := ct.Template(cx); err == nil || !strings.Contains(err.Error(), "you can't convert a CT to template if the CT is running") {
		t.Fatalf("template while running: %v", err)
	}
	if _, err := ct.Start(cx); err == nil || !strings.Contains(err.Error(), "CT 500 already running") {
		t.Errorf("start running: %v", err)
	}
	waitOK(t, must(t)(ct.Stop(cx)))
	if err := ct.Template(cx); err != nil {
		t.Fatal(err)
	}
	newid, task, err := ct.Clone(cx, &proxmox.ContainerCloneOptions{NewID: 501, Hostname: "ct-two"})
	waitOK(t, task, err)
	clone, err := node.Container(cx, newid)
	if err != nil {
		t.Fatal(err)
	}
	if clone.ContainerConfig.Hostname != "ct-two" || !strings.HasPrefix(clone.ContainerConfig.RootFS, "ceph-rbd:base-500-disk-0/vm-501-disk-0") {
		t.Errorf("clone: %s %s", clone.ContainerConfig.Hostname, clone.ContainerConfig.RootFS)
	}
	waitOK(t, must(t)(clone.Delete(cx, &proxmox.ContainerDeleteOptions{Purge: true})))
	waitOK(t, must(t)(ct.Delete(cx, nil)))
	if _, err := node.Container(cx, 500); err == nil {
		t.Fatal("container 500 still exists")
	}
}
