package pvesim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func control(t *testing.T, srv *Server, method, body string) (int, FaultConfig) {
	t.Helper()
	req, err := http.NewRequest(method, srv.ControlURL+"/_control/faults", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var fc FaultConfig
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &fc); err != nil {
			t.Fatalf("control answer %q: %v", b, err)
		}
	}
	return res.StatusCode, fc
}

// TestControlAPIFaultsOverHTTP sets, adds, reads and clears faults through
// the control listener and checks the API obeys each change.
func TestControlAPIFaultsOverHTTP(t *testing.T) {
	srv := startSim(t, Options{ControlAddr: "127.0.0.1:0"})
	if !strings.HasPrefix(srv.ControlURL, "http://127.0.0.1:") {
		t.Fatalf("control URL %q", srv.ControlURL)
	}
	code, fc := control(t, srv, http.MethodPut, `{"routes":[{"route":"GET /version","phase":"before","code":502,"body":"html","count":3}]}`)
	if code != 200 || len(fc.Routes) != 1 || fc.Routes[0].Body != BodyHTML {
		t.Fatalf("PUT: %d %+v", code, fc)
	}
	if res := raw(t, srv, "GET", "/version", "", "", "token"); res.Code != 502 || res.Header.Get("Content-Type") != "text/html" {
		t.Fatalf("fault set over HTTP not applied: %s", res.Status)
	}
	code, fc = control(t, srv, http.MethodPost, `{"routes":[{"route":"GET /nodes","phase":"before","code":595,"message":"No route to host","body":"empty"}]}`)
	if code != 200 || len(fc.Routes) != 2 || fc.Routes[0].Count != 2 {
		t.Fatalf("POST: %d %+v", code, fc)
	}
	if res := raw(t, srv, "GET", "/nodes", "", "", "token"); res.Status != "595 No route to host" {
		t.Fatalf("added fault: %s", res.Status)
	}
	if code, fc = control(t, srv, http.MethodGet, ""); code != 200 || len(fc.Routes) != 2 {
		t.Fatalf("GET: %d %+v", code, fc)
	}
	if code, _ = control(t, srv, http.MethodPut, `{"routes":[{"route":"GET /nodes","phase":"sometimes"}]}`); code != http.StatusBadRequest {
		t.Fatalf("invalid config: %d", code)
	}
	if code, fc = control(t, srv, http.MethodDelete, ""); code != 200 || len(fc.Routes) != 0 {
		t.Fatalf("DELETE: %d %+v", code, fc)
	}
	if res := raw(t, srv, "GET", "/version", "", "", "token"); res.Code != 200 {
		t.Fatalf("after clear: %s", res.Status)
	}
}

func TestControlAddrMustBeLoopback(t *testing.T) {
	sim, err := New(Options{ControlAddr: "0.0.0.0:0", CADir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	if srv, err := sim.Start(); err == nil {
		_ = srv.Close()
		t.Fatal("control listener on a non-loopback address accepted")
	}
}
