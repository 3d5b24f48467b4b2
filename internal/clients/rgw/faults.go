package rgw

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/fault"
)

// The two APIs of a gateway, as a Call names them.
const (
	APIAdmin = "admin"
	APIS3    = "s3"
)

// Call describes one request about to be sent to the gateway, for a fault hook.
type Call struct {
	// API is APIAdmin or APIS3.
	API string
	// Op is the method, the resource and the subresource the request is about: "PUT /admin/user",
	// "DELETE /admin/user?key", "PUT bucket?versioning", "DELETE bucket", "GET object".
	Op string
	// Target is the bucket (or bucket/key) the request is about, else the user ID; empty when
	// the request names neither.
	Target string
	// Write is true for requests that change RGW.
	Write bool
}

// FaultHook decides, per request, whether a fault is injected. It exists for tests only: the
// fault matrix puts a fake failure on top of the real requests to a real radosgw.
type FaultHook func(Call) fault.Fault

// SetFaultHook installs (or, with nil, removes) a test-only fault hook on this client.
func (c *Client) SetFaultHook(h FaultHook) {
	if h == nil {
		c.hook.Store(nil)
		return
	}
	c.hook.Store(&h)
}

// subresources are the query parameters that say which part of a user, bucket or object a
// request is about.
var subresources = []string{"key", "quota", "caps", "versioning", "lifecycle", "object-lock", "versions", "retention", "uploads", "uploadId", "acl", "policy", "tagging", "location"}

// callOf describes req for a fault hook.
func callOf(req *http.Request) Call {
	q := req.URL.Query()
	c := Call{API: APIS3, Write: req.Method != http.MethodGet && req.Method != http.MethodHead}
	resource := strings.TrimPrefix(req.URL.Path, "/")
	if strings.HasPrefix(req.URL.Path, "/admin/") {
		c.API, c.Target = APIAdmin, q.Get("uid")
		if b := q.Get("bucket"); b != "" {
			c.Target = b
		}
		resource = req.URL.Path
	} else {
		c.Target = resource
		resource = "bucket"
		if strings.Contains(c.Target, "/") {
			resource = "object"
		}
	}
	c.Op = req.Method + " " + resource
	for _, s := range subresources {
		if q.Has(s) {
			c.Op += "?" + s
			break
		}
	}
	return c
}

// errInjected is the error of a request a fault hook failed.
type errInjected string

func (e errInjected) Error() string { return "injected fault (test hook): " + string(e) }

// faulted sends req through send unless hook injects a fault into it.
func faulted(hook FaultHook, req *http.Request, send func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	lose := func(resp *http.Response, err error) {
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	}
	switch hook(callOf(req)) {
	case fault.Before:
		return nil, errInjected("request not sent")
	case fault.After:
		lose(send(req))
		return nil, errInjected("request done, answer lost")
	case fault.Timeout:
		// the request goes on without the caller's cancellation, as one already on the wire does
		late, err := detached(req)
		if err != nil {
			return nil, err
		}
		done := make(chan struct{})
		go func() {
			lose(send(late))
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(fault.TimeoutDelay):
		}
		return nil, errInjected("no answer in time")
	}
	return send(req)
}

// detached is a copy of req that neither the caller's cancellation nor its closing of the
// body reaches, for a request that outlives the caller's wait.
func detached(req *http.Request) (*http.Request, error) {
	late := req.Clone(context.WithoutCancel(req.Context()))
	if req.Body == nil || req.Body == http.NoBody {
		return late, nil
	}
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	late.Body = io.NopCloser(bytes.NewReader(b))
	return late, nil
}
