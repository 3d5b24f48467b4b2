package proxmox

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Guest is one VM or container as /cluster/resources lists it.
type Guest struct {
	ID       string  `json:"id"`
	Type     string  `json:"type"` // qemu or lxc
	VMID     flexInt `json:"vmid"`
	Name     string  `json:"name"`
	Node     string  `json:"node"`
	Status   string  `json:"status"`
	Template flexInt `json:"template"`
	Tags     string  `json:"tags"`
	Lock     string  `json:"lock"`
	Pool     string  `json:"pool"`
	MaxMem   int64   `json:"maxmem"`
	MaxCPU   float64 `json:"maxcpu"`
	MaxDisk  int64   `json:"maxdisk"`
	HAState  string  `json:"hastate"`
}

// TagList splits the guest's tags (PVE separates them with ';', ',' or spaces).
func (g *Guest) TagList() []string {
	return strings.FieldsFunc(g.Tags, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
}

// HasTag tells whether the guest carries tag.
func (g *Guest) HasTag(tag string) bool {
	for _, t := range g.TagList() {
		if t == tag {
			return true
		}
	}
	return false
}

// fingerprint changes whenever something the view shows about a guest changes,
// so a cached config is re-read only then.
func (g *Guest) fingerprint() string {
	return strings.Join([]string{g.Name, g.Node, g.Status, g.Tags, g.Lock, g.Pool,
		strconv.FormatInt(g.MaxMem, 10), strconv.FormatFloat(g.MaxCPU, 'f', -1, 64),
		strconv.FormatInt(g.MaxDisk, 10), strconv.Itoa(int(g.Template)), g.HAState}, "|")
}

// A View is a snapshot of the cluster's guests.
type View struct {
	Fetched time.Time
	byID    map[int]*Guest
}

// Guest returns the guest with vmid, if the view has it.
func (v *View) Guest(vmid int) (*Guest, bool) {
	g, ok := v.byID[vmid]
	return g, ok
}

// Tagged returns the guests carrying tag.
func (v *View) Tagged(tag string) []*Guest {
	var out []*Guest
	for _, g := range v.byID {
		if g.HasTag(tag) {
			out = append(out, g)
		}
	}
	return out
}

// Len is the number of guests in the view.
func (v *View) Len() int { return len(v.byID) }

// viewCache shares one view among all callers for ViewTTL; concurrent callers
// of an expired view wait for a single refresh.
type viewCache struct {
	mu       sync.Mutex
	cur      *View
	inflight chan struct{}
	err      error
}

// View returns the shared cluster view, refreshing it when older than the TTL.
func (c *Client) View(ctx context.Context) (*View, error) {
	for {
		c.view.mu.Lock()
		// Once a request could not connect, the cached view is not served:
		// each caller learns that the site does not answer.
		if v := c.view.cur; v != nil && time.Since(v.Fetched) < c.opts.ViewTTL && !c.count.down.Load() {
			c.view.mu.Unlock()
			return v, nil
		}
		if wait := c.view.inflight; wait != nil {
			c.view.mu.Unlock()
			select {
			case <-wait:
				c.view.mu.Lock()
				v, err := c.view.cur, c.view.err
				c.view.mu.Unlock()
				if err != nil {
					return nil, err
				}
				if v != nil {
					return v, nil
				}
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		done := make(chan struct{})
		c.view.inflight = done
		c.view.mu.Unlock()

		v, err := c.fetchView(ctx)
		c.view.mu.Lock()
		c.view.inflight = nil
		c.view.err = err
		if err == nil {
			c.view.cur = v
		}
		c.view.mu.Unlock()
		close(done)
		return v, err
	}
}

// InvalidateView drops the cached view after this provider changed the
// cluster, so the next Observe sees the change.
func (c *Client) InvalidateView() {
	c.view.mu.Lock()
	c.view.cur = nil
	c.view.mu.Unlock()
}

func (c *Client) fetchView(ctx context.Context) (*View, error) {
	var guests []*Guest
	if err := c.Get(ctx, "/cluster/resources?type=vm", &guests); err != nil {
		return nil, err
	}
	viewRefreshes.WithLabelValues(c.ref).Inc()
	v := &View{Fetched: time.Now(), byID: make(map[int]*Guest, len(guests))}
	for _, g := range guests {
		if g.Type == "qemu" || g.Type == "lxc" {
			v.byID[int(g.VMID)] = g
			if c.opts.PerGuest {
				c.direct.remember(g)
			}
		}
	}
	return v, nil
}

// flexInt decodes PVE integers that arrive as numbers or as strings.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

// MarshalJSON writes the integer as a number.
func (f flexInt) MarshalJSON() ([]byte, error) { return json.Marshal(int(f)) }

// Guests returns every guest of the view, by id.
func (v *View) Guests() []*Guest {
	out := make([]*Guest, 0, len(v.byID))
	for _, g := range v.byID {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID < out[j].VMID })
	return out
}
