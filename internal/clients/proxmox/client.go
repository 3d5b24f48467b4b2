package proxmox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/tlsaudit"
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
	// nothing else says it changed (default 5m).
	DriftInterval time.Duration
	// PerGuest turns the shared cluster view off for guests already seen:
	// each guest's poll reads its own status/current and config (and
	// firewall), as a per-resource poller does. Only for the scale
	// benchmark's side-by-side comparison (--shared-cluster-view=false).
	PerGuest bool
	// WatchEvery, when set, is how often the site's guest watch reads the
	// cluster view to wake the settled guests whose line changed
	// (Client.WatchGuest); their resources then need no poll of their own
	// but the drift re-read. Zero: every guest resource polls.
	WatchEvery time.Duration
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
		o.DriftInterval = 5 * time.Minute
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
			// The site's creates in flight and its queue carry over.
			c.creates = old.creates
			c.creates.setLimit(site.Proxmox.MaxParallelCreates)
			old.dropGuestWatch()
			delete(r.clients, k)
		}
	}
	r.clients[key] = c
	return c, nil
}

// Client talks to one Proxmox VE cluster.
type Client struct {
	ref    string
	base   string // https://host:port/api2/json
	token  string // user@realm!tokenid=secret
	http   *http.Client
	opts   Options
	view   viewCache
	memo   configMemo
	fwMemo guestFirewallMemo
	direct direct
	ids    struct {
		mu sync.Mutex
		m  map[int]time.Time // ids handed out by AllocateID, when
	}
	count *requestCounter

	reported sync.Map // UPIDs of failed tasks whose error was shown
	watch    taskWatch
	guests   guestWatch
	creates  *createGate // shared by every client of the site
}

func newClient(ref string, s *providerconfig.ProxmoxSite, o Options) (*Client, error) {
	at := strings.Index(s.Token, "=")
	if at < 0 {
		return nil, errors.New(errToken)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case s.InsecureSkipTLSVerify:
		tlsaudit.Insecure(tlsCfg, "proxmox", s.Endpoint) // only when the config says so explicitly.
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
	limit := s.MaxParallelCreates
	if limit < 1 {
		limit = providerconfig.DefaultMaxParallelCreates
	}
	c := &Client{ref: ref, base: strings.TrimSuffix(s.Endpoint, "/") + "/api2/json", token: s.Token, http: hc, opts: o, count: counter,
		creates: newCreateGate(ref, limit)}
	// Creates queued behind the site's slots are not reconciled until a
	// slot frees, and none frees while the site does not answer: wake them
	// when it stops answering, so each says so (and its controller parks it).
	counter.onDown = func() { run(c.creates.waiting()) }
	return c, nil
}

// AdmitCreate tells whether the guest resource key (its UID) may start its
// create now (see createGate); when not, wake is called once it may, and
// ahead is how many wait before it.
func (c *Client) AdmitCreate(key string, wake Wake) (ok bool, ahead int) {
	return c.creates.Admit(key, wake)
}

// CreateStarted ties key's create slot to its create task upid.
func (c *Client) CreateStarted(key, upid string) { c.creates.Started(key, upid) }

// ReleaseCreate gives key's create slot back when no create task holds it,
// and takes key out of the queue.
func (c *Client) ReleaseCreate(key string) { c.creates.Release(key) }

// Requests returns how many API requests this client has sent.
func (c *Client) Requests() uint64 { return c.count.total.Load() }

// LastAnswer is when the site last answered a request of this client (any
// HTTP status; zero if never): what tells a site that answers again from a
// call served from memory (the cached view, the create queue).
func (c *Client) LastAnswer() time.Time {
	if n := c.count.answered.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Get reads path into v. Every answer that is not a 2xx with PVE's
// envelope is an *APIError (see IsNotFound and the other predicates).
func (c *Client) Get(ctx context.Context, path string, v any) error {
	return c.do(ctx, http.MethodGet, path, nil, v)
}

// Post sends params to path and decodes the answer into v (nil to ignore).
func (c *Client) Post(ctx context.Context, path string, params map[string]any, v any) error {
	return c.do(ctx, http.MethodPost, path, params, v)
}

// Put sends params to path and decodes the answer into v (nil to ignore).
func (c *Client) Put(ctx context.Context, path string, params map[string]any, v any) error {
	return c.do(ctx, http.MethodPut, path, params, v)
}

// Delete calls DELETE on path with query params and decodes the answer into v.
func (c *Client) Delete(ctx context.Context, path string, params map[string]string, v any) error {
	q := make(map[string]any, len(params))
	for k, val := range params {
		q[k] = val
	}
	return c.do(ctx, http.MethodDelete, path, q, v)
}

// minVMID is the lowest guest id PVE hands out or accepts.
const minVMID = 100

// NextID asks the cluster for a free guest id. It is only a hint: another
// writer may take it before the create, which then fails with "already
// exists". An answer that is not a valid id is an error, never id 0.
func (c *Client) NextID(ctx context.Context) (int, error) {
	var s flexInt
	if err := c.Get(ctx, "/cluster/nextid", &s); err != nil {
		return 0, err
	}
	if int(s) < minVMID {
		return 0, errors.Errorf("GET /cluster/nextid: %d is not a guest id", int(s))
	}
	return int(s), nil
}

// IDFree asks PVE whether no guest has id (GET /cluster/nextid?vmid=ID:
// PVE answers the id when it is free and "VM ID already exists" when a guest
// config with it exists anywhere in the cluster). It is how absence is
// confirmed before a guest is declared gone: a failed answer is an error.
func (c *Client) IDFree(ctx context.Context, id int) (bool, error) {
	var s flexInt
	err := c.Get(ctx, fmt.Sprintf("/cluster/nextid?vmid=%d", id), &s)
	switch {
	case IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, err
	case int(s) != id:
		return false, errors.Errorf("GET /cluster/nextid?vmid=%d answered %d", id, int(s))
	}
	return true, nil
}

// idReservation is how long an id handed out by AllocateID stays reserved
// in this process: long enough for the create that uses it to show in the
// cluster view.
const idReservation = 2 * time.Minute

// AllocateID returns a free guest id that no other create of this process
// was handed in the last idReservation: PVE's nextid answers the same id to
// concurrent callers, so creates started together would race for it (the
// losers retry after a backoff). Ids taken by other writers are still
// possible; the create then fails with "already exists" and tries again.
func (c *Client) AllocateID(ctx context.Context) (int, error) {
	id, err := c.NextID(ctx)
	if err != nil {
		return 0, err
	}
	for tries := 0; ; tries++ {
		c.ids.mu.Lock()
		now := time.Now()
		for k, at := range c.ids.m {
			if now.Sub(at) > idReservation {
				delete(c.ids.m, k)
			}
		}
		_, taken := c.ids.m[id]
		if !taken {
			if c.ids.m == nil {
				c.ids.m = map[int]time.Time{}
			}
			c.ids.m[id] = now
		}
		c.ids.mu.Unlock()
		if !taken {
			return id, nil
		}
		if tries >= 1000 {
			return 0, errors.Errorf("no free guest id after %d", id)
		}
		// The next id not reserved here, confirmed free by PVE.
		for id++; ; id++ {
			c.ids.mu.Lock()
			_, reserved := c.ids.m[id]
			c.ids.mu.Unlock()
			if reserved {
				continue
			}
			free, err := c.IDFree(ctx, id)
			if err != nil {
				return 0, err
			}
			if free {
				break
			}
		}
	}
}
