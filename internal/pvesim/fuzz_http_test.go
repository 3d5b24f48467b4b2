package pvesim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzServeHTTP sends arbitrary requests through the whole handler stack
// (routing, auth, parsing, validation, every handler): no panic, no hang,
// and every answer is a well-formed PVE status.
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct{ method, path, ct, body string }{
		{"POST", "/nodes/pve1/qemu", "application/json", `{"vmid":150,"scsi0":"ceph-rbd:1","net0":"virtio,bridge=vmbr0","start":1}`},
		{"POST", "/nodes/pve1/qemu/9000/clone", "application/json", `{"newid":151,"full":0,"target":"pve2"}`},
		{"PUT", "/nodes/pve1/qemu/9000/resize", "application/x-www-form-urlencoded", "disk=scsi0&size=%2B1G"},
		{"PUT", "/nodes/pve1/qemu/9000/config", "application/json", `{"delete":"net0,ide2","tags":"A;b"}`},
		{"POST", "/nodes/pve1/lxc", "application/json", `{"vmid":152,"ostemplate":"local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst","rootfs":"ceph-rbd:1"}`},
		{"POST", "/cluster/firewall/groups/web", "application/json", `{"type":"in","action":"ACCEPT","pos":7}`},
		{"PUT", "/cluster/firewall/groups/web/0", "application/json", `{"moveto":99}`},
		{"POST", "/cluster/firewall/ipset/x/10.0.0.0/8", "", ""},
		{"PUT", "/pools", "application/json", `{"poolid":"p","vms":"9000,9000","delete":1}`},
		{"POST", "/cluster/ha/rules", "application/json", `{"rule":"r","type":"node-affinity","resources":"9000","nodes":"pve1:5,pve9"}`},
		{"POST", "/cluster/ha/resources/9000/migrate", "application/json", `{"node":"pve2"}`},
		{"GET", "/nodes/pve1/tasks/UPID:pve1:0:0:0:x:y:z:/log", "", ""},
		{"DELETE", "/nodes/pve1/qemu/9000?purge=1", "", ""},
		{"GET", "/cluster/resources?type=vm", "", ""},
		{"GET", "/../../etc/passwd", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.ct, s.body)
	}
	sim, err := New(Options{TaskDuration: time.Millisecond, StorageLockTimeout: 10 * time.Millisecond,
		ConfigLockTimeout: 10 * time.Millisecond, SeedGuests: 3})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = sim.Close() })
	auth := "PVEAPIToken=" + sim.TokenID + "=" + sim.Secret
	f.Fuzz(func(t *testing.T, method, path, ct, body string) {
		switch method {
		case "GET", "POST", "PUT", "DELETE":
		default:
			method = "GET"
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "https://pvesim"+apiBase+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", auth)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Code == 200 && !strings.HasPrefix(rec.Body.String(), `{"data":`) {
			t.Fatalf("200 without envelope: %q", rec.Body.String())
		}
	})
}
