package proxmox

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary answers (status, status line, body) to the
// decoder every API call goes through, into the types the provider reads:
// no panic; a non-2xx is always an *APIError with that status and a
// message; a 2xx either decodes or is an *APIError marked NotEnvelope.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct {
		code   int
		reason string
		body   string
	}{
		{200, "OK", `{"data":[{"id":"qemu/100","type":"qemu","vmid":100,"name":"a","node":"pve1","status":"running","template":0,"tags":"mc-1;x","maxmem":1073741824,"maxcpu":2}]}`},
		{200, "OK", `{"data":[{"vmid":"101","template":"1","type":"lxc"}]}`},
		{200, "OK", `{"data":{"status":"stopped","exitstatus":"clone failed: cfs-lock 'storage-ceph-rbd' error: got timeout","type":"qmclone","id":"100"}}`},
		{200, "OK", `{"data":"UPID:pve1:000A1B2C:0012D687:6740A0B1:qmclone:9000:root@pam!mc:"}`},
		{200, "OK", `{"data":null}`},
		{200, "OK", `<html>proxy</html>`},
		{200, "OK", ``},
		{400, "Parameter verification failed.", `{"data":null,"errors":{"cores":"value must be at least 1"},"message":"Parameter verification failed.\n"}`},
		{403, "Permission check failed (/vms/100, VM.Config.CPU)", `{"data":null}`},
		{500, "unable to create VM 100 - VM 100 already exists", `{"data":null,"message":""}`},
		{596, "Connection timed out", ``},
		{302, "Found", `{"data":1}`},
	} {
		f.Add(s.code, s.reason, s.body)
	}
	f.Fuzz(func(t *testing.T, code int, reason, body string) {
		if code < 100 || code > 999 {
			return
		}
		res := &http.Response{StatusCode: code, Status: strconv.Itoa(code) + " " + reason}
		outs := []any{new([]*Guest), new(TaskStatus), new(map[string]any), new(string), new(any), nil}
		for _, out := range outs {
			err := decode("GET", "/x", res, []byte(body), out)
			var apiErr *APIError
			if err != nil && !errors.As(err, &apiErr) {
				t.Fatalf("decode returned %T %v, want an *APIError", err, err)
			}
			if code < 200 || code > 299 {
				if apiErr == nil || apiErr.Status != code {
					t.Fatalf("status %d decoded as %v", code, err)
				}
				if strings.TrimSpace(apiErr.Error()) == "" {
					t.Fatalf("status %d gave an empty error", code)
				}
				continue
			}
			if err != nil && !apiErr.NotEnvelope {
				t.Fatalf("a 2xx refused without NotEnvelope: %v", err)
			}
		}
	})
}

// FuzzParseProps: a property string parsed, written back and parsed again
// gives the same pairs (what the provider writes back is what it read).
func FuzzParseProps(f *testing.F) {
	for _, s := range []string{"virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=20", "ceph-rbd:vm-100-disk-0,iothread=1,size=8G", "file=local:iso/x.iso,media=cdrom", ",,=,a=b=c,", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := ParseProps(s)
		q := ParseProps(p.String())
		if len(p) != len(q) {
			t.Fatalf("%q -> %q: %d pairs, then %d", s, p.String(), len(p), len(q))
		}
		for i := range p {
			if p[i] != q[i] {
				t.Fatalf("%q -> %q: pair %d %v, then %v", s, p.String(), i, p[i], q[i])
			}
		}
		if v, ok := p.Get("size"); ok {
			_, _ = DiskSizeGiB("x:y,size=" + v)
		}
		_ = VolumeOf(s)
	})
}

// FuzzNodeOfUPID: any task id either names a node (never empty, never
// with a colon) or is refused with the id in the message.
func FuzzNodeOfUPID(f *testing.F) {
	for _, s := range []string{"UPID:pve1:000A1B2C:0012D687:6740A0B1:qmclone:9000:root@pam!mc:", "UPID::x", "UPID:a", "upid:pve1:1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, upid string) {
		node, err := NodeOfUPID(upid)
		if err != nil {
			if !strings.Contains(err.Error(), "malformed task id") {
				t.Fatalf("%q: %v", upid, err)
			}
			return
		}
		if node == "" || strings.Contains(node, ":") || !strings.HasPrefix(upid, "UPID:"+node+":") {
			t.Fatalf("%q: node %q", upid, node)
		}
	})
}
