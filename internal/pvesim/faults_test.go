package pvesim

import (
	"io"
	"net/http"
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

// createVM posts a minimal VM create and returns the raw answer.
func createVM(t *testing.T, srv *Server, vmid string) rawResp {
	t.Helper()
	return raw(t, srv, "POST", "/nodes/pve1/qemu", "application/x-www-form-urlencoded", "vmid="+vmid+"&name=f"+vmid, "token")
}

// TestRouteFaultPhaseBeforeSkipsHandler: a "before" fault answers in place
// of pveproxy, so the create never happens; an "after" fault answers once
// the create ran. The JSON answer is PVE's error envelope with the message
// as reason phrase (pve-http-server AnyEvent.pm error/response,
// Formatter/Standard.pm).
func TestRouteFaultPhaseBeforeSkipsHandler(t *testing.T) {
	srv := startSim(t, Options{})
	srv.Faults().Set(FaultConfig{Routes: []RouteFault{{Route: "POST /nodes/{node}/qemu", Phase: PhaseBefore, Code: 503, Message: "service unavailable"}}})
	res := createVM(t, srv, "610")
	if res.Status != "503 service unavailable" || !strings.Contains(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("before fault: %s %q", res.Status, res.Header.Get("Content-Type"))
	}
	if m := decode(t, res.Body); m["data"] != nil || m["message"] != "service unavailable\n" {
		t.Fatalf("before fault body %s", res.Body)
	}
	srv.Wait()
	if _, ok := srv.Guest(610); ok {
		t.Fatal("handler ran behind a before-phase fault")
	}

	srv.Faults().Set(FaultConfig{Routes: []RouteFault{{Route: "POST /nodes/{node}/qemu", Phase: PhaseAfter, Code: 502, Message: "bad gateway"}}})
	if res := createVM(t, srv, "611"); res.Code != 502 {
		t.Fatalf("after fault: %s", res.Status)
	}
	srv.Wait()
	if _, ok := srv.Guest(611); !ok {
		t.Fatal("handler did not run before an after-phase fault")
	}
}

// TestRouteFaultBodyKinds: a proxy in front of pveproxy answers with an
// HTML page, or with nothing at all; codes PVE never sends itself (595,
// 596) are taken as given.
func TestRouteFaultBodyKinds(t *testing.T) {
	srv := startSim(t, Options{})
	for _, tc := range []struct {
		body, ctype, contains string
		code                  int
	}{
		{BodyHTML, "text/html", "<title>502 Bad Gateway</title>", 502},
		{BodyEmpty, "", "", 504},
		{BodyJSON, "application/json;charset=UTF-8", `"message":"Gateway Timeout\n"`, 596},
	} {
		msg := http.StatusText(tc.code)
		if tc.code == 596 {
			msg = "Gateway Timeout"
		}
		srv.Faults().Set(FaultConfig{Routes: []RouteFault{{Route: "GET /version", Phase: PhaseBefore, Code: tc.code, Message: msg, Body: tc.body}}})
		res := raw(t, srv, "GET", "/version", "", "", "token")
		if res.Code != tc.code || res.Header.Get("Content-Type") != tc.ctype || !strings.Contains(string(res.Body), tc.contains) {
			t.Errorf("%s: %s %q %q", tc.body, res.Status, res.Header.Get("Content-Type"), res.Body)
		}
		if tc.body == BodyEmpty && len(res.Body) != 0 {
			t.Errorf("empty body kind sent %q", res.Body)
		}
	}
	// Without a message a proxy's page says the standard reason.
	srv.Faults().Set(FaultConfig{Routes: []RouteFault{{Route: "GET /version", Phase: PhaseBefore, Code: 503, Body: BodyHTML}}})
	if res := raw(t, srv, "GET", "/version", "", "", "token"); res.Status != "503 Service Unavailable" ||
		!strings.Contains(string(res.Body), "<h1>503 Service Unavailable</h1>") {
		t.Errorf("html without message: %s %q", res.Status, res.Body)
	}
}

// TestRouteFaultCountIsSpent: a counted fault strikes exactly Count
// requests, shows what is left in Get, then is gone and the next matching
// entry (here none) applies.
func TestRouteFaultCountIsSpent(t *testing.T) {
	srv := startSim(t, Options{})
	srv.Faults().Set(FaultConfig{Routes: []RouteFault{{Route: "GET /version", Phase: PhaseBefore, Code: 503, Count: 2}}})
	if res := raw(t, srv, "GET", "/version", "", "", "token"); res.Code != 503 {
		t.Fatalf("1st: %s", res.Status)
	}
	if left := srv.Faults().Get().Routes; len(left) != 1 || left[0].Count != 1 {
		t.Fatalf("after one strike: %+v", left)
	}
	if res := raw(t, srv, "GET", "/version", "", "", "token"); res.Code != 503 {
		t.Fatalf("2nd: %s", res.Status)
	}
	if res := raw(t, srv, "GET", "/version", "", "", "token"); res.Code != 200 {
		t.Fatalf("3rd (fault spent): %s", res.Status)
	}
	if left := srv.Faults().Get().Routes; len(left) != 0 {
		t.Fatalf("spent fault still listed: %+v", left)
	}
}

// TestRouteFaultHangTimesOut: a hanging request gets no answer; the
// client's timeout ends it. With phase after the change is applied.
func TestRouteFaultHangTimesOut(t *testing.T) {
	srv := startSim(t, Options{})
	srv.Faults().Set(FaultConfig{Routes: []RouteFault{{Route: "POST /nodes/{node}/qemu", Hang: Duration(time.Minute), Count: 1}}})
	cl := srv.HTTPClient()
	cl.Timeout = 300 * time.Millisecond
	req, _ := http.NewRequest("POST", srv.URL+"/nodes/pve1/qemu", strings.NewReader("vmid=612"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "PVEAPIToken="+srv.TokenID+"="+srv.Secret)
	start := time.Now()
	res, err := cl.Do(req)
	if err == nil {
		res.Body.Close()
		t.Fatalf("hung request answered: %s", res.Status)
	}
	if !strings.Contains(err.Error(), "Client.Timeout") || time.Since(start) > 5*time.Second {
		t.Fatalf("want a client timeout, got %v after %s", err, time.Since(start))
	}
	srv.Wait()
	if _, ok := srv.Guest(612); !ok {
		t.Fatal("after-phase hang: the create did not happen")
	}
	// A short hang ends by itself with a closed connection, no answer.
	srv.Faults().Set(FaultConfig{Routes: []RouteFault{{Route: "GET /version", Phase: PhaseBefore, Hang: Duration(50 * time.Millisecond)}}})
	req, _ = http.NewRequest("GET", srv.URL+"/version", nil)
	if res, err := srv.HTTPClient().Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("short hang answered: %s", res.Status)
	}
}

// TestFaultsAddAppendsAndValidate: Add puts faults after the current
// ones (the first matching entry wins); invalid fields are refused.
func TestFaultsAddAppendsAndValidate(t *testing.T) {
	srv := startSim(t, Options{})
	srv.Faults().Set(FaultConfig{Routes: []RouteFault{{Route: "GET /version", Phase: PhaseBefore, Code: 500, Message: "first", Count: 1}}})
	srv.Faults().Add(FaultConfig{Routes: []RouteFault{{Route: "GET /version", Phase: PhaseBefore, Code: 500, Message: "second", Count: 1}}})
	for _, want := range []string{"500 first", "500 second", "200 OK"} {
		if res := raw(t, srv, "GET", "/version", "", "", "token"); res.Status != want {
			t.Fatalf("got %s, want %s", res.Status, want)
		}
	}
	for _, bad := range []string{
		`{"routes":[{"route":"GET /version","phase":"during"}]}`,
		`{"routes":[{"route":"GET /version","body":"xml"}]}`,
		`{"routes":[{"route":"GET /version","errorRate":2}]}`,
		`{"routes":[{"route":"GET /version","count":-1}]}`,
		`{"routes":[{"phase":"before"}]}`,
	} {
		if _, err := DecodeFaultConfig([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// TestTaskFaultCountIsSpent: a counted task fault fails exactly the next
// Count workers of its type; the worker after them succeeds.
func TestTaskFaultCountIsSpent(t *testing.T) {
	srv := startSim(t, Options{})
	srv.Faults().Set(FaultConfig{Tasks: []TaskFault{{Type: "qmstart", Message: "start failed: injected", Count: 2}}})
	var got []string
	for i := 0; i < 3; i++ {
		id := srv.spawn("pve1", "qmstart", "100", "", func(tk *task) error { return tk.injected() })
		srv.Wait()
		got = append(got, srv.tasks.get(id).statusJSON()["exitstatus"].(string))
	}
	if strings.Join(got, "|") != "start failed: injected|start failed: injected|OK" {
		t.Fatalf("exit statuses %q", got)
	}
	if left := srv.Faults().Get().Tasks; len(left) != 0 {
		t.Fatalf("spent task fault still listed: %+v", left)
	}
}
