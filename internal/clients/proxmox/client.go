package proxmox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	goproxmox "github.com/luthermonson/go-proxmox"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

const (
	errCABundle = "the CA bundle holds no PEM certificate"
	errToken    = "the API token must look like user@realm!tokenid=secret"
)

// Options tune the shared clients.
type Options struct {
	// ViewTTL is how long one cluster view serves every Observe (default 10s).
	ViewTTL time.Duration
	// DriftInterval is how often a guest's full config is re-read even when
	// nothing else says it changed (default 10m).
	DriftInterval time.Duration
}

// A Registry hands out one Client per site, reused while the site's endpoint
// and credentials are unchanged.
type Registry struct {
	opts    Options
	mu      sync.Mutex
	clients map[string]*Client
}

// NewRegistry returns an empty registry.
func NewRegistry(o Options) *Registry {
	if o.ViewTTL == 0 {
		o.ViewTTL = 10 * time.Second
	}
	if o.DriftInterval == 0 {
		o.DriftInterval = 10 * time.Minute
	}
	return &Registry{opts: o, clients: map[string]*Client{}}
}

// Client returns the shared client of a site, building it on first use. A
// client built for an older version of the site's credentials is dropped.
func (r *Registry) Client(site *providerconfig.Site) (*Client, error) {
	key := site.ProxmoxKey()
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[key]; ok {
		return c, nil
	}
	c, err := newClient(site.Ref, site.Proxmox, r.opts)
	if err != nil {
		return nil, err
	}
	for k, old := range r.clients {
		if old.ref == site.Ref {
			delete(r.clients, k)
		}
	}
	r.clients[key] = c
	return c, nil
}

// Client talks to one Proxmox VE cluster.
type Client struct {
	ref   string
	api   *goproxmox.Client
	opts  Options
	view  viewCache
	memo  configMemo
	count *requestCounter

	reported sync.Map // UPIDs of failed tasks whose error was shown
}

func newClient(ref string, s *providerconfig.ProxmoxSite, o Options) (*Client, error) {
	at := strings.Index(s.Token, "=")
	if at < 0 {
		return nil, errors.New(errToken)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case s.InsecureSkipTLSVerify:
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // only when the config says so explicitly.
	case len(s.CABundle) > 0:
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(s.CABundle) {
			return nil, errors.New(errCABundle)
		}
		tlsCfg.RootCAs = pool
	}
	counter := &requestCounter{site: ref}
	hc := &http.Client{
		Timeout: s.RequestTimeout,
		Transport: counter.wrap(&http.Transport{
			TLSClientConfig:     tlsCfg,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}),
	}
	api := goproxmox.NewClient(s.Endpoint+"/api2/json",
		goproxmox.WithHTTPClient(hc),
		goproxmox.WithAPIToken(s.Token[:at], s.Token[at+1:]),
		goproxmox.WithUserAgent("provider-microcloud"),
	)
	return &Client{ref: ref, api: api, opts: o, count: counter}, nil
}

// Requests returns how many API requests this client has sent.
func (c *Client) Requests() uint64 { return c.count.total.Load() }

// Get reads path into v.
func (c *Client) Get(ctx context.Context, path string, v any) error {
	return errors.Wrapf(c.api.Get(ctx, path, v), "GET %s", path)
}

// Post sends params to path and decodes the answer into v (nil to ignore).
func (c *Client) Post(ctx context.Context, path string, params map[string]any, v any) error {
	return errors.Wrapf(c.api.Post(ctx, path, params, v), "POST %s", path)
}

// Put sends params to path and decodes the answer into v (nil to ignore).
func (c *Client) Put(ctx context.Context, path string, params map[string]any, v any) error {
	return errors.Wrapf(c.api.Put(ctx, path, params, v), "PUT %s", path)
}

// Delete calls DELETE on path with query params and decodes the answer into v.
func (c *Client) Delete(ctx context.Context, path string, params map[string]string, v any) error {
	if len(params) > 0 {
		q := url.Values{}
		for k, val := range params {
			q.Set(k, val)
		}
		path += "?" + q.Encode()
	}
	return errors.Wrapf(c.api.Delete(ctx, path, v), "DELETE %s", path)
}

// NextID asks the cluster for a free guest id. It is only a hint: another
// writer may take it before the create, which then fails with "already exists".
func (c *Client) NextID(ctx context.Context) (int, error) {
	var s flexInt
	if err := c.Get(ctx, "/cluster/nextid", &s); err != nil {
		return 0, err
	}
	return int(s), nil
}

// GuestPath is the API path of a guest on a node: /nodes/N/qemu/ID.
func GuestPath(node, kind string, vmid int) string {
	return fmt.Sprintf("/nodes/%s/%s/%d", url.PathEscape(node), kind, vmid)
}

var (
	sharedOnce sync.Once
	shared     *Registry
)

// Shared returns the process-wide registry, created with o on first use, so
// every Proxmox controller of the process shares clients and cluster views.
func Shared(o Options) *Registry {
	sharedOnce.Do(func() { shared = NewRegistry(o) })
	return shared
}
