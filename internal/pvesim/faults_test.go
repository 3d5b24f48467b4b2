package pvesim

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

func TestFaultInjection(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve1")
	cl, _ := c.Cluster(cx)

	// Error rate 1 on one route: every call fails with the configured answer,
	// other routes are untouched.
	srv.Faults().Set(FaultConfig{Routes: []RouteFault{{Route: "GET /cluster/resources", ErrorRate: 1, Code: 500, Message: "proxy loop detected"}}})
	if _, err := cl.Resources(cx); err == nil || err.Error() != "500 proxy loop detected" {
		t.Fatalf("injected error: %v", err)
	}
	if _, err := c.Nodes(cx); err != nil {
		t.Fatalf("other route affected: %v", err)
	}

	// Dropped response: the VM is created although the client saw no answer.
	srv.Faults().Set(FaultConfig{Routes: []RouteFault{{Route: "POST /nodes/*/qemu", DropRate: 1}}})
	_, err := node.NewVirtualMachine(cx, 600, proxmox.VirtualMachineOption{Name: "name", Value: "lost-answer"})
	if err == nil {
		t.Fatal("dropped response returned no error")
	}
	srv.Faults().Clear()
	srv.Wait()
	vm, err := node.VirtualMachine(cx, 600)
	if err != nil || vm.VirtualMachineConfig.Name != "lost-answer" {
		t.Fatalf("change not applied behind the dropped response: %v", err)
	}

	// Failing tasks: the clone worker fails and cleans up like PVE.
	srv.Faults().Set(FaultConfig{Tasks: []TaskFault{{Type: "qmclone", Message: "rbd error: rbd: sysfs write failed"}}})
	tmpl, _ := node.VirtualMachine(cx, DefaultTemplateID)
	_, task, err := tmpl.Clone(cx, &proxmox.VirtualMachineCloneOptions{NewID: 601})
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, task); st != "clone failed: rbd error: rbd: sysfs write failed" {
		t.Fatalf("task status %q", st)
	}
	if _, err := node.VirtualMachine(cx, 601); err == nil {
		t.Fatal("failed clone left VM 601 behind")
	}
	log, _ := task.Log(cx, 0, 50)
	if last := log[len(log)-1]; last != "TASK ERROR: clone failed: rbd error: rbd: sysfs write failed" {
		t.Errorf("last log line %q", last)
	}

	// Latency: a client with a short timeout gives up.
	srv.Faults().Set(FaultConfig{Latency: Duration(time.Second)})
	slow := proxmox.NewClient(srv.URL, proxmox.WithAPIToken(srv.TokenID, srv.Secret),
		proxmox.WithRootCAFile(srv.CAPath), proxmox.WithTimeout(100*time.Millisecond))
	if _, err := slow.Version(cx); err == nil {
		t.Fatal("latency not applied")
	}
	srv.Faults().Clear()
}

func TestFaultConfigFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "faults.json")
	data := `{"latency":"5ms","routes":[{"route":"POST /nodes/{node}/qemu/{vmid}/clone","errorRate":0.5,"message":"x"}],
	"tasks":[{"type":"vz*","rate":0.1}]}`
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	fc, err := LoadFaultConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(fc.Latency) != 5*time.Millisecond || fc.Routes[0].ErrorRate != 0.5 || fc.Tasks[0].Type != "vz*" {
		t.Fatalf("parsed %+v", fc)
	}
	if err := os.WriteFile(p, []byte(`{"latncy":"5ms"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFaultConfig(p); err == nil {
		t.Fatal("unknown field accepted")
	}
}

func TestMetrics(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	cx := ctx(t)
	cl, _ := c.Cluster(cx)
	for i := 0; i < 3; i++ {
		if _, err := cl.Resources(cx); err != nil {
			t.Fatal(err)
		}
	}
	raw(t, srv, "GET", "/nodes/pve1/qemu/4242/config", "", "", "token")
	res, err := srv.HTTPClient().Get("https://" + srv.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, want := range []string{
		`pvesim_requests_total{code="200",method="GET",route="/cluster/resources"} 3`,
		`pvesim_requests_total{code="500",method="GET",route="/nodes/{node}/qemu/{vmid}/config"} 1`,
		`pvesim_request_duration_seconds_count{method="GET",route="/cluster/resources"} 3`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
