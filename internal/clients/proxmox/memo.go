package proxmox

import (
	"context"
	"sync"
	"time"
)

// configMemo keeps each guest's last read config with what the view showed
// then, so a config is re-read only when the view shows a change, the
// resource's spec changed, or the drift interval has passed.
type configMemo struct {
	mu sync.Mutex
	m  map[int]memoEntry
}

type memoEntry struct {
	fingerprint string
	generation  int64
	read        time.Time
	config      map[string]any
}

// GuestConfig returns g's config (GET .../config, pending values applied, as
// PVE answers by default), from the memo when the view shows no change since
// it was read and generation (the MR's) is the same. fresh says it was read now.
func (c *Client) GuestConfig(ctx context.Context, g *Guest, generation int64) (cfg map[string]any, fresh bool, err error) {
	fp := g.fingerprint()
	id := int(g.VMID)
	c.memo.mu.Lock()
	if e, ok := c.memo.m[id]; ok && e.fingerprint == fp && e.generation == generation && time.Since(e.read) < c.opts.DriftInterval {
		c.memo.mu.Unlock()
		return e.config, false, nil
	}
	c.memo.mu.Unlock()

	if err := c.Get(ctx, GuestPath(g.Node, g.Type, id)+"/config", &cfg); err != nil {
		return nil, false, err
	}
	c.memo.mu.Lock()
	if c.memo.m == nil {
		c.memo.m = map[int]memoEntry{}
	}
	c.memo.m[id] = memoEntry{fingerprint: fp, generation: generation, read: time.Now(), config: cfg}
	c.memo.mu.Unlock()
	return cfg, true, nil
}

// Forget drops a guest's memo after this provider changed it.
func (c *Client) Forget(vmid int) {
	c.memo.mu.Lock()
	delete(c.memo.m, vmid)
	c.memo.mu.Unlock()
}
