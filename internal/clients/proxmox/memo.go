package proxmox

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// configMemo keeps each guest's last read config with what the view showed
// then, so a config is re-read only when the view shows a change, the
// resource's spec changed, or the drift interval has passed. Re-reads due to
// the drift interval alone draw on a budget (reread) that spreads them evenly
// over the interval whatever the number of guests, instead of letting guests
// created together come due together.
type configMemo struct {
	mu     sync.Mutex
	m      map[int]memoEntry
	reread *rate.Limiter
}

type memoEntry struct {
	fingerprint string
	generation  int64
	read        time.Time
	config      map[string]any
}

// rereadBudget returns the limiter of drift re-reads: the number of guests
// whose config is memoised, per drift interval, with a burst of one tenth of
// that so a few late re-reads catch up.
func (c *Client) rereadBudget() *rate.Limiter {
	n := max(len(c.memo.m), 1)
	per := rate.Limit(float64(n) / c.opts.DriftInterval.Seconds())
	burst := max(n/10, 1)
	if c.memo.reread == nil {
		c.memo.reread = rate.NewLimiter(per, burst)
	} else if c.memo.reread.Limit() != per {
		c.memo.reread.SetLimit(per)
		c.memo.reread.SetBurst(burst)
	}
	return c.memo.reread
}

// GuestConfig returns g's config (GET .../config, pending values applied, as
// PVE answers by default), from the memo when the view shows no change since
// it was read and generation (the MR's) is the same, and its drift re-read is
// not due (or due but not yet within the re-read budget). fresh says it was
// read now; read says when the returned config was read from PVE. A config
// without PVE's digest is an error: every write of it must carry the digest.
func (c *Client) GuestConfig(ctx context.Context, g *Guest, generation int64) (cfg map[string]any, fresh bool, read time.Time, err error) {
	return c.GuestConfigEvery(ctx, g, generation, c.opts.DriftInterval)
}

// GuestConfigEvery is GuestConfig with its own re-read interval: every
// instead of the drift interval.
func (c *Client) GuestConfigEvery(ctx context.Context, g *Guest, generation int64, every time.Duration) (cfg map[string]any, fresh bool, read time.Time, err error) {
	fp := g.fingerprint()
	id := int(g.VMID)
	c.memo.mu.Lock()
	if e, ok := c.memo.m[id]; ok && !c.opts.PerGuest && e.fingerprint == fp && e.generation == generation &&
		(time.Since(e.read) < every || !c.rereadBudget().Allow()) {
		c.memo.mu.Unlock()
		return e.config, false, e.read, nil
	}
	c.memo.mu.Unlock()

	path := GuestPath(g.Node, g.Type, id) + "/config"
	if err := c.Get(ctx, path, &cfg); err != nil {
		return nil, false, time.Time{}, err
	}
	if d, _ := cfg["digest"].(string); d == "" {
		return nil, false, time.Time{}, fmt.Errorf("GET %s: the config carries no digest", path)
	}
	now := time.Now()
	c.memo.mu.Lock()
	if c.memo.m == nil {
		c.memo.m = map[int]memoEntry{}
	}
	c.memo.m[id] = memoEntry{fingerprint: fp, generation: generation, read: now, config: cfg}
	c.memo.mu.Unlock()
	return cfg, true, now, nil
}

// Forget drops a guest's memo after this provider changed it.
func (c *Client) Forget(vmid int) {
	c.memo.mu.Lock()
	delete(c.memo.m, vmid)
	c.memo.mu.Unlock()
}

// DriftInterval is how often a guest's whole config is re-read when nothing
// else says it changed.
func (c *Client) DriftInterval() time.Duration { return c.opts.DriftInterval }
