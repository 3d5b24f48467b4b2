package pvesim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

func TestAuthFailures(t *testing.T) {
	srv := startSim(t, Options{NoDefaultSeed: true})
	cases := []struct {
		name, auth, status string
	}{
		{"no credentials", "", "401 No ticket"},
		{"wrong secret", "PVEAPIToken=" + srv.TokenID + "=00000000-0000-0000-0000-000000000000", "401 Authentication failed!"},
		{"unknown token", "PVEAPIToken=root@pam!other=" + srv.Secret, "401 Authentication failed!"},
		{"bad ticket", "PVEAuthCookie=PVE:root@pam:00000000::forged", "401 Authentication failed!"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := raw(t, srv, "GET", "/version", "", "", tc.auth)
			if res.Status != tc.status {
				t.Fatalf("status %q, want %q", res.Status, tc.status)
			}
			if len(res.Body) != 0 {
				t.Errorf("401 body %q, PVE sends none", res.Body)
			}
		})
	}
	res := raw(t, srv, "GET", "/version", "", "", "token")
	if res.Code != 200 || !strings.Contains(string(res.Body), `"release":"9.1"`) {
		t.Fatalf("token auth: %s %s", res.Status, res.Body)
	}
}

func TestTicketAndCSRF(t *testing.T) {
	srv := startSim(t, Options{NoDefaultSeed: true, Password: "s3cret"})
	bad := raw(t, srv, "POST", "/access/ticket", "application/x-www-form-urlencoded", "username=root@pam&password=nope", "")
	if bad.Status != "401 authentication failure" {
		t.Fatalf("bad login: %s", bad.Status)
	}
	res := raw(t, srv, "POST", "/access/ticket", "application/x-www-form-urlencoded",
		url.Values{"username": {"root"}, "realm": {"pam"}, "password": {"s3cret"}}.Encode(), "")
	if res.Code != 200 {
		t.Fatalf("login: %s %s", res.Status, res.Body)
	}
	data := decode(t, res.Body)["data"].(map[string]any)
	ticket, csrf := data["ticket"].(string), data["CSRFPreventionToken"].(string)
	if !strings.HasPrefix(ticket, "PVE:root@pam:") || data["username"] != "root@pam" {
		t.Fatalf("ticket data: %v", data)
	}
	do := func(method, path, body string, withCSRF bool) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Cookie", "PVEAuthCookie="+url.QueryEscape(ticket))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withCSRF {
			req.Header.Set("CSRFPreventionToken", csrf)
		}
		r, err := srv.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	if r := do("GET", "/nodes", "", false); r.StatusCode != 200 {
		t.Fatalf("GET with ticket: %s", r.Status)
	}
	if r := do("POST", "/pools", "poolid=p1", false); r.Status != "401 Permission denied - invalid csrf token" {
		t.Fatalf("POST without CSRF: %s", r.Status)
	}
	if r := do("POST", "/pools", "poolid=p1", true); r.StatusCode != 200 {
		t.Fatalf("POST with CSRF: %s", r.Status)
	}

	// go-proxmox logs in with the same flow.
	c := proxmox.NewClient(srv.URL, proxmox.WithCredentials(&proxmox.Credentials{Username: "root@pam", Password: "s3cret"}),
		proxmox.WithRootCAFile(srv.CAPath))
	if err := c.NewPool(ctx(t), "p2", "via ticket"); err != nil {
		t.Fatal(err)
	}
	if c.Session() == nil || c.Session().CSRFPreventionToken == "" {
		t.Fatal("go-proxmox holds no session")
	}
}

func TestErrorBodies(t *testing.T) {
	srv := startSim(t, Options{})
	// Parameter verification: 400, errors map, PVE's messages.
	res := raw(t, srv, "POST", "/nodes/pve1/qemu", "application/json",
		`{"vmid":"abc","cores":0,"ostype":"dos","bogus":1,"name":"bad_name!"}`, "token")
	if res.Status != "400 Parameter verification failed." {
		t.Fatalf("status %q", res.Status)
	}
	body := decode(t, res.Body)
	if _, ok := body["data"]; !ok || body["data"] != nil {
		t.Errorf("data should be null: %s", res.Body)
	}
	if body["message"] != "Parameter verification failed.\n" {
		t.Errorf("message %q", body["message"])
	}
	want := map[string]string{
		"vmid":   "type check ('integer') failed - got 'abc'",
		"cores":  "value must have a minimum value of 1",
		"ostype": "value 'dos' does not have a value in the enumeration 'other, wxp, w2k, w2k3, w2k8, wvista, win7, win8, win10, win11, l24, l26, solaris'",
		"bogus":  "property is not defined in schema and the schema does not allow additional properties",
		"name":   "invalid format - value does not look like a valid DNS name\n",
	}
	errs := body["errors"].(map[string]any)
	for k, v := range want {
		if errs[k] != v {
			t.Errorf("errors[%s] = %q, want %q", k, errs[k], v)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("errors: %v", errs)
	}

	// Form encoding is accepted as well as JSON; missing required params are named.
	res = raw(t, srv, "POST", "/nodes/pve1/qemu/9000/clone", "application/x-www-form-urlencoded", "full=yes", "token")
	errs = decode(t, res.Body)["errors"].(map[string]any)
	if errs["newid"] != "property is missing and it is not optional" || errs["full"] != "type check ('boolean') failed - got 'yes'" {
		t.Errorf("form errors: %v", errs)
	}

	// A failing call: 500 with the message in status line and body.
	res = raw(t, srv, "GET", "/nodes/pve1/qemu/4242/config", "", "", "token")
	if res.Status != "500 Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist" {
		t.Fatalf("status %q", res.Status)
	}
	if m := decode(t, res.Body)["message"]; m != "Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist\n" {
		t.Errorf("message %q", m)
	}

	// Unknown method/path: 501.
	res = raw(t, srv, "GET", "/nodes/pve1/nothing", "", "", "token")
	if res.Status != "501 Method 'GET /nodes/pve1/nothing' not implemented" {
		t.Errorf("status %q", res.Status)
	}
	// Property strings are checked key by key.
	res = raw(t, srv, "POST", "/nodes/pve1/qemu", "application/json", `{"vmid":300,"net0":"virtio,bridge=vmbr0,firewall=maybe"}`, "token")
	errs = decode(t, res.Body)["errors"].(map[string]any)
	if !strings.HasPrefix(errs["net0"].(string), "invalid format - format error\nnet0.firewall: type check ('boolean') failed - got 'maybe'") {
		t.Errorf("net0 error %q", errs["net0"])
	}
}

func TestLockedGuestAnswers500(t *testing.T) {
	srv := startSim(t, Options{TaskDuration: 300 * time.Millisecond})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve1")
	tmpl, err := node.VirtualMachine(cx, DefaultTemplateID)
	if err != nil {
		t.Fatal(err)
	}
	_, task, err := tmpl.Clone(cx, &proxmox.VirtualMachineCloneOptions{NewID: 301, Name: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	// While the clone runs, the new VM carries "lock: clone".
	res := raw(t, srv, "PUT", "/nodes/pve1/qemu/301/config", "application/json", `{"memory":"2048"}`, "token")
	if res.Status != "500 VM 301 is locked (clone)" {
		t.Fatalf("status %q", res.Status)
	}
	if m := decode(t, res.Body)["message"]; m != "VM 301 is locked (clone)\n" {
		t.Errorf("message %q", m)
	}
	if !res.Close {
		t.Errorf("PVE closes the connection after errors")
	}
	// go-proxmox surfaces the status line as the error.
	vm := &proxmox.VirtualMachine{}
	if err := c.Get(cx, "/nodes/pve1/qemu/301/status/current", vm); err != nil {
		t.Fatal(err)
	}
	if vm.Lock != "clone" {
		t.Errorf("status lock %q", vm.Lock)
	}
	err = c.Put(cx, "/nodes/pve1/qemu/301/config", map[string]string{"memory": "2048"}, nil)
	if err == nil || err.Error() != "500 VM 301 is locked (clone)" {
		t.Errorf("go-proxmox error %v", err)
	}
	waitOK(t, task)
	if err := c.Put(cx, "/nodes/pve1/qemu/301/config", map[string]string{"memory": "2048"}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestEnvelopeShape(t *testing.T) {
	srv := startSim(t, Options{})
	res := raw(t, srv, "GET", "/cluster/nextid", "", "", "token")
	var env map[string]json.RawMessage
	if err := json.Unmarshal(res.Body, &env); err != nil {
		t.Fatal(err)
	}
	if string(env["data"]) != `"100"` || len(env) != 1 {
		t.Fatalf("envelope %s", res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
		t.Errorf("content type %q", ct)
	}
	res = raw(t, srv, "GET", "/cluster/nextid?vmid=9000", "", "", "token")
	if res.Code != 400 || decode(t, res.Body)["errors"].(map[string]any)["vmid"] != "VM 9000 already exists" {
		t.Fatalf("nextid taken: %s %s", res.Status, res.Body)
	}
}

// TestRequestBodyLimit follows pve-http-server AnyEvent.pm: a body of up
// to $limit_max_post (512 KiB) reaches the handler; a larger one is refused
// from its Content-Length with "501 for data too large" (plain text body)
// before it is read. Even an 8 MB body gets that answer rather than a reset
// connection.
func TestRequestBodyLimit(t *testing.T) {
	srv := startSim(t, Options{})
	form := "application/x-www-form-urlencoded"
	prefix := "vmid=650&description="
	atLimit := prefix + strings.Repeat("a", maxPost-len(prefix))
	res := raw(t, srv, "POST", "/nodes/pve1/qemu", form, atLimit, "token")
	// The handler ran: the description is longer than the schema's 8 KiB.
	if res.Code != 400 || errorsOf(t, res)["description"] == nil {
		t.Fatalf("body at the limit: %s %s", res.Status, firstLine(string(res.Body)))
	}
	for _, size := range []int{maxPost + 1, 8 << 20} {
		res = raw(t, srv, "POST", "/nodes/pve1/qemu", form, prefix+strings.Repeat("a", size-len(prefix)), "token")
		if res.Status != "501 for data too large" || string(res.Body) != "for data too large" || res.Header.Get("Content-Type") != "" {
			t.Fatalf("%d bytes: %s %q", size, res.Status, res.Body)
		}
	}
	// The same checks' other answers, in PVE's order.
	if res = raw(t, srv, "GET", "/version", form, "x=1", "token"); res.Status != "501 Unexpected content for method 'GET'" {
		t.Errorf("GET with a body: %s", res.Status)
	}
	if res = raw(t, srv, "POST", "/nodes/pve1/qemu", "text/plain", "vmid=651", "token"); res.Status != "506 upload 'Content-Type 'text/plain' not implemented" {
		t.Errorf("text/plain body: %s", res.Status)
	}
	srv.Wait()
	if _, ok := srv.Guest(650); ok {
		t.Error("a refused request created a guest")
	}
}
