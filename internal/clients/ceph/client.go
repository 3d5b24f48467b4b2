// Package ceph is provider-microcloud's client for one Ceph site: a shared RADOS connection,
// typed wrappers over the mon commands that manage pools, erasure-code profiles and the CRUSH map,
// RBD images, CephFS subvolume groups and subvolumes (the mgr volumes module, through go-ceph's
// cephfs/admin), and one cached observation of the cluster per poll interval that every Observe reads.
package ceph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ceph/go-ceph/cephfs"
	"github.com/ceph/go-ceph/rados"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errNoMonitors = "cannot connect to Ceph: no monitor addresses given"
	errNoKey      = "cannot connect to Ceph: no cephx key given"
	errNewConn    = "cannot create RADOS connection"
	errSetOption  = "cannot set RADOS option"
	errConnect    = "cannot connect to the Ceph monitors"
)

// Config says how to reach one Ceph site.
type Config struct {
	// Monitors are mon addresses ("127.0.0.1:6789", "[v2:...,v1:...]").
	Monitors []string
	// ClientName is the cephx user without the "client." prefix; "admin" when empty.
	ClientName string
	// Key is the cephx secret, or the text of a keyring file that holds it.
	Key string
	// MonOpTimeout bounds every mon command; 15 s when zero.
	MonOpTimeout time.Duration
}

func (c Config) clientName() string {
	n := strings.TrimPrefix(strings.TrimSpace(c.ClientName), "client.")
	if n == "" {
		return "admin"
	}
	return n
}

// cacheKey identifies a connection: a changed key or monitor list gets a new connection.
func (c Config) cacheKey() string {
	h := sha256.Sum256([]byte(c.Key))
	return strings.Join(c.Monitors, ",") + "|" + c.clientName() + "|" + hex.EncodeToString(h[:8])
}

// secret returns the cephx secret from a bare key or from a keyring's "key = ..." line. A keyring
// with several entities yields the key of [client.<name>], else the first key found.
func (c Config) secret() string {
	text := strings.TrimSpace(c.Key)
	if !strings.Contains(text, "\n") && !strings.Contains(text, "=") || !strings.Contains(text, "key") {
		return text
	}
	want := "[client." + c.clientName() + "]"
	section, first, mine := "", "", ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != "key" {
			continue
		}
		v = strings.TrimSpace(v)
		if first == "" {
			first = v
		}
		if section == want && mine == "" {
			mine = v
		}
	}
	if mine != "" {
		return mine
	}
	if first != "" {
		return first
	}
	return text
}

// Client talks to one Ceph site. It is safe for concurrent use and shared by all controllers.
type Client struct {
	conn   *rados.Conn
	maxAge time.Duration

	// commands counts mon/mgr commands by prefix, so tests and metrics can see how many
	// requests the provider makes.
	commands sync.Map // prefix -> *atomic.Int64

	// mu serialises snapshot refreshes so that concurrent Observes share one fetch.
	mu      sync.Mutex
	snap    *Snapshot
	expired bool

	// hook injects faults in tests (SetFaultHook); nil in production.
	hook atomic.Pointer[FaultHook]

	// mounts are libcephfs mounts by filesystem name, made on first use (cephfsmount.go).
	mountMu sync.Mutex
	mounts  map[string]*cephfs.MountInfo

	// mdsBusy is set while an MDS command (CephFSSessions) has not returned.
	mdsBusy atomic.Bool
}

// Connect opens a new RADOS connection to the site. Most callers want Clients.Get instead.
func Connect(cfg Config, snapshotMaxAge time.Duration) (*Client, error) {
	if len(cfg.Monitors) == 0 {
		return nil, errors.New(errNoMonitors)
	}
	if cfg.Key == "" {
		return nil, errors.New(errNoKey)
	}
	conn, err := rados.NewConnWithUser(cfg.clientName())
	if err != nil {
		return nil, errors.Wrap(err, errNewConn)
	}
	timeout := cfg.MonOpTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	secs := strconv.Itoa(int(timeout.Seconds()))
	opts := [][2]string{
		{"mon_host", strings.Join(cfg.Monitors, ",")},
		{"key", cfg.secret()},
		// no keyring file lookups in /etc/ceph: the key above is all we use
		{"keyring", "/dev/null"},
		{"rados_mon_op_timeout", secs},
		{"rados_osd_op_timeout", secs},
		{"client_mount_timeout", secs},
	}
	for _, o := range opts {
		if err := conn.SetConfigOption(o[0], o[1]); err != nil {
			conn.Shutdown()
			return nil, errors.Wrapf(err, "%s %s", errSetOption, o[0])
		}
	}
	if err := conn.Connect(); err != nil {
		conn.Shutdown()
		return nil, errors.Wrap(err, errConnect)
	}
	return &Client{conn: conn, maxAge: snapshotMaxAge}, nil
}

// CommandCount returns how many commands with that prefix (e.g. "osd pool ls") this client sent.
func (c *Client) CommandCount(prefix string) int64 {
	v, ok := c.commands.Load(prefix)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (c *Client) count(prefix string) {
	v, _ := c.commands.LoadOrStore(prefix, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// Close ends the connection and its CephFS mounts.
func (c *Client) Close() {
	c.closeMounts()
	c.conn.Shutdown()
}

// Clients hands out one shared Client per site (monitors, client name and key).
type Clients struct {
	maxAge     time.Duration
	mu         sync.Mutex
	m          map[string]*Client
	connecting map[string]*connectCall
}

// connectCall is one connection attempt that callers for the same key wait on,
// so a slow or unreachable site delays only its own resources.
type connectCall struct {
	done chan struct{}
	c    *Client
	err  error
}

// NewClients returns a registry whose clients refresh their observation snapshot at most once
// per snapshotMaxAge (normally the poll interval).
func NewClients(snapshotMaxAge time.Duration) *Clients {
	return &Clients{maxAge: snapshotMaxAge, m: map[string]*Client{}, connecting: map[string]*connectCall{}}
}

// Get returns the client for cfg, connecting on first use. Connections whose key changed are
// replaced (the old one is closed once nothing new is handed out on it).
func (r *Clients) Get(ctx context.Context, cfg Config) (*Client, error) {
	key := cfg.cacheKey()
	r.mu.Lock()
	if c, ok := r.m[key]; ok {
		r.mu.Unlock()
		return c, nil
	}
	if call, ok := r.connecting[key]; ok {
		r.mu.Unlock()
		select {
		case <-call.done:
			return call.c, call.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	call := &connectCall{done: make(chan struct{})}
	r.connecting[key] = call
	r.mu.Unlock()

	// Connecting can take up to the monitor timeout; no lock is held meanwhile.
	call.c, call.err = Connect(cfg, r.maxAge)

	r.mu.Lock()
	delete(r.connecting, key)
	if call.err == nil {
		// drop older connections of the same site and user (rotated key)
		prefix := strings.Join(cfg.Monitors, ",") + "|" + cfg.clientName() + "|"
		for k, old := range r.m {
			if strings.HasPrefix(k, prefix) {
				delete(r.m, k)
				go func(old *Client) {
					time.Sleep(time.Minute)
					old.Close()
				}(old)
			}
		}
		r.m[key] = call.c
	}
	r.mu.Unlock()
	close(call.done)
	return call.c, call.err
}
