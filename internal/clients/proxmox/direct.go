package proxmox

import (
	"context"
	"sync"
)

// direct is what per-guest observation (Options.PerGuest) remembers of each
// guest: where it lives and what only the cluster view shows (pool, HA
// state), so a poll can read the guest's own status/current instead.
type direct struct {
	mu   sync.Mutex
	last map[int]Guest
}

func (d *direct) remember(g *Guest) {
	d.mu.Lock()
	if d.last == nil {
		d.last = map[int]Guest{}
	}
	d.last[int(g.VMID)] = *g
	d.mu.Unlock()
}

// statusCurrent is GET /nodes/{node}/{type}/{vmid}/status/current.
type statusCurrent struct {
	Name     string  `json:"name"`
	Status   string  `json:"status"`
	Tags     string  `json:"tags"`
	Lock     string  `json:"lock"`
	MaxMem   int64   `json:"maxmem"`
	CPUs     float64 `json:"cpus"`
	MaxDisk  int64   `json:"maxdisk"`
	Template flexInt `json:"template"`
}

// Guest returns the guest with vmid. With the shared cluster view (the
// default) it is the view's entry; with per-guest observation it is read
// from the guest's own status/current on the node it was last seen on (the
// view is read only for a guest not seen yet, or one no longer where it
// was: moved or gone, which the view and IDFree decide).
func (c *Client) Guest(ctx context.Context, vmid int) (*Guest, bool, error) {
	if c.opts.PerGuest {
		c.direct.mu.Lock()
		last, known := c.direct.last[vmid]
		c.direct.mu.Unlock()
		if known {
			var st statusCurrent
			err := c.Get(ctx, GuestPath(last.Node, last.Type, vmid)+"/status/current", &st)
			if err == nil {
				g := last
				g.Name, g.Status, g.Tags, g.Lock = st.Name, st.Status, st.Tags, st.Lock
				g.MaxMem, g.MaxCPU, g.MaxDisk, g.Template = st.MaxMem, st.CPUs, st.MaxDisk, st.Template
				c.direct.remember(&g)
				return &g, true, nil
			}
			if !IsNotFound(err) {
				return nil, false, err
			}
		}
	}
	v, err := c.View(ctx)
	if err != nil {
		return nil, false, err
	}
	g, ok := v.Guest(vmid)
	return g, ok, nil
}
