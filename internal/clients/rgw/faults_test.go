package rgw

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/fault"
)

// The fault matrix arms its faults by a request's op and target; a request described wrongly
// would let it fault the wrong calls.
func TestCallOf(t *testing.T) {
	cases := map[string]struct {
		method, url string
		want        Call
	}{
		"UserInfo":     {"GET", "/admin/user?format=json&uid=u1", Call{APIAdmin, "GET /admin/user", "u1", false}},
		"UserCreate":   {"PUT", "/admin/user?uid=u1&display-name=x", Call{APIAdmin, "PUT /admin/user", "u1", true}},
		"UserModify":   {"POST", "/admin/user?uid=u1&max-buckets=3", Call{APIAdmin, "POST /admin/user", "u1", true}},
		"KeyCreate":    {"PUT", "/admin/user?key&uid=u1&key-type=s3", Call{APIAdmin, "PUT /admin/user?key", "u1", true}},
		"KeyRm":        {"DELETE", "/admin/user?key&uid=u1&access-key=A", Call{APIAdmin, "DELETE /admin/user?key", "u1", true}},
		"UserQuota":    {"PUT", "/admin/user?quota&uid=u1&quota-type=user", Call{APIAdmin, "PUT /admin/user?quota", "u1", true}},
		"BucketQuota":  {"PUT", "/admin/bucket?quota&uid=u1&bucket=b1", Call{APIAdmin, "PUT /admin/bucket?quota", "b1", true}},
		"UserBuckets":  {"GET", "/admin/bucket?uid=u1", Call{APIAdmin, "GET /admin/bucket", "u1", false}},
		"BucketRm":     {"DELETE", "/admin/bucket?bucket=b1&purge-objects=true", Call{APIAdmin, "DELETE /admin/bucket", "b1", true}},
		"CreateBucket": {"PUT", "/b1?x-id=CreateBucket", Call{APIS3, "PUT bucket", "b1", true}},
		"Versioning":   {"PUT", "/b1?versioning", Call{APIS3, "PUT bucket?versioning", "b1", true}},
		"Lifecycle":    {"DELETE", "/b1?lifecycle", Call{APIS3, "DELETE bucket?lifecycle", "b1", true}},
		"Versions":     {"GET", "/b1?versions&max-keys=100", Call{APIS3, "GET bucket?versions", "b1", false}},
		"PutObject":    {"PUT", "/b1/dir/a.txt?x-id=PutObject", Call{APIS3, "PUT object", "b1/dir/a.txt", true}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://rgw"+tc.url, nil)
			if got := callOf(req); got != tc.want {
				t.Errorf("callOf(%s %s) = %+v, want %+v", tc.method, tc.url, got, tc.want)
			}
		})
	}
}

// A fault before the request sends nothing; after and timeout send it once and lose the answer.
func TestFaulted(t *testing.T) {
	for _, f := range []fault.Fault{fault.None, fault.Before, fault.After, fault.Timeout} {
		t.Run(f.String(), func(t *testing.T) {
			var got atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if f == fault.Timeout {
					time.Sleep(5 * fault.TimeoutDelay)
				}
				got.Add(1)
			}))
			defer srv.Close()
			c, err := New(Config{Endpoint: srv.URL, AccessKey: "a", SecretKey: "s"})
			if err != nil {
				t.Fatal(err)
			}
			c.SetFaultHook(func(Call) fault.Fault { return f })
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPut, srv.URL+"/b1?versioning", strings.NewReader("<x/>"))
			resp, err := c.http.Do(req)
			if resp != nil {
				_ = resp.Body.Close()
			}
			if (err == nil) != (f == fault.None) {
				t.Errorf("error %v with fault %s", err, f)
			}
			want := int32(1)
			if f == fault.Before {
				want = 0
			}
			deadline := time.Now().Add(2 * time.Second)
			for got.Load() < want && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if got.Load() != want {
				t.Errorf("%d request(s) reached the gateway with fault %s, want %d", got.Load(), f, want)
			}
		})
	}
}
