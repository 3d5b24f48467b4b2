package proxmox

import (
	"context"
	"sync"
	"time"
)

// guestWatch reconciles settled guests only when the site's cluster view
// shows them change. Without it every guest resource is reconciled every
// poll to look at its line of a view read once for all of them: at 10,000
// guests and a 1 min poll that is 167 reconciles/s of CPU for nothing. With
// it a site costs one view read per poll and a comparison of fingerprints;
// a guest whose line changed (power, node, lock, tags, pool, sizes, name) or
// that left the view is woken, and each resource keeps its own, much longer,
// poll for the drift re-read of what the view does not show.
type guestWatch struct {
	mu      sync.Mutex
	byID    map[int]map[string]*guestWaiter
	dones   map[<-chan struct{}]bool // controllers' stop signals already followed
	kick    chan struct{}
	dropped chan struct{} // closed when the client is replaced: its followers of dones end
	running bool
	failing bool // the last view read failed
}

type guestWaiter struct {
	fingerprint string // of the guest's line when last looked at; "" = not in the view
	wake        Wake
	done        <-chan struct{}
}

// WatchGuest has wake called once the site's view shows guest g's line
// differ from what it is now (or g leave the view), and once when the site
// stops answering. key names the waiter (a resource); watching again under
// the same key replaces the earlier watch. done, when it closes (the
// waiter's controller stopped), ends the watch. It says whether g is
// watched: never without Options.WatchEvery, or with per-guest observation.
func (c *Client) WatchGuest(g *Guest, key string, wake Wake, done <-chan struct{}) bool {
	if c.opts.WatchEvery <= 0 || c.opts.PerGuest || g == nil || wake == nil {
		return false
	}
	w := &c.guests
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byID == nil {
		w.byID = map[int]map[string]*guestWaiter{}
		w.dones = map[<-chan struct{}]bool{}
		w.kick = make(chan struct{}, 1)
		w.dropped = make(chan struct{})
	}
	id := int(g.VMID)
	if w.byID[id] == nil {
		w.byID[id] = map[string]*guestWaiter{}
	}
	w.byID[id][key] = &guestWaiter{fingerprint: g.fingerprint(), wake: wake, done: done}
	if done != nil && !w.dones[done] {
		w.dones[done] = true
		kick, dropped := w.kick, w.dropped
		go func() {
			select {
			case <-done:
			case <-dropped:
				return
			}
			select {
			case kick <- struct{}{}:
			default:
			}
		}()
	}
	if !w.running {
		w.running = true
		go c.watchGuests(w.kick)
	}
	return true
}

// UnwatchGuest ends key's watch of guest id (the resource is no longer
// settled: it polls on its own again, or is gone).
func (c *Client) UnwatchGuest(id int, key string) {
	w := &c.guests
	w.mu.Lock()
	defer w.mu.Unlock()
	if m := w.byID[id]; m != nil {
		delete(m, key)
		if len(m) == 0 {
			delete(w.byID, id)
		}
	}
}

// WatchedGuests is how many guests are watched (a gauge's source and a
// test's probe).
func (c *Client) WatchedGuests() int {
	w := &c.guests
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.byID)
}

// watchGuests reads the view every WatchEvery while guests are watched.
func (c *Client) watchGuests(kick <-chan struct{}) {
	t := time.NewTicker(c.opts.WatchEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-kick:
			if !c.pruneGuestWatch() {
				return
			}
			continue
		}
		if !c.pruneGuestWatch() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.watchTimeout())
		v, err := c.View(ctx)
		cancel()
		wakes := c.changedGuests(v, err)
		viewWakes.WithLabelValues(c.ref).Add(float64(len(wakes)))
		watchedGuests.WithLabelValues(c.ref).Set(float64(c.WatchedGuests()))
		run(wakes)
	}
}

// pruneGuestWatch drops the watches of stopped controllers and says whether
// any is left; with none it marks the watcher stopped.
func (c *Client) pruneGuestWatch() bool {
	w := &c.guests
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, m := range w.byID {
		for key, x := range m {
			if closed(x.done) {
				delete(m, key)
			}
		}
		if len(m) == 0 {
			delete(w.byID, id)
		}
	}
	for d := range w.dones {
		if closed(d) {
			delete(w.dones, d)
		}
	}
	if len(w.byID) == 0 {
		w.running = false
		watchedGuests.WithLabelValues(c.ref).Set(0)
		return false
	}
	return true
}

func closed(done <-chan struct{}) bool {
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// changedGuests compares the watched guests with view v and returns the wake
// calls due: those whose line changed or who left the view (their watch
// ends: the woken resource watches again if it settles), or, when the view
// could not be read (err), everyone's once per outage, so each resource
// reports the site as its own poll would, and everyone's again when the
// site answers after an outage.
func (c *Client) changedGuests(v *View, err error) []func() {
	w := &c.guests
	w.mu.Lock()
	defer w.mu.Unlock()
	var wakes []func()
	// The site stopped or resumed answering: everyone, urgently.
	all := func() {
		for _, m := range w.byID {
			for _, x := range m {
				wakes = append(wakes, x.wake.urgent())
			}
		}
	}
	if err != nil {
		if !w.failing {
			w.failing = true
			all()
		}
		return wakes
	}
	if w.failing {
		w.failing = false
		all()
		return wakes
	}
	for id, m := range w.byID {
		fp := ""
		if g, ok := v.Guest(id); ok {
			fp = g.fingerprint()
		}
		for key, x := range m {
			if x.fingerprint == fp {
				continue
			}
			wakes = append(wakes, x.wake.soon())
			if fp == "" {
				delete(m, key)
			} else {
				x.fingerprint = fp
			}
		}
		if len(m) == 0 {
			delete(w.byID, id)
		}
	}
	return wakes
}

// dropGuestWatch ends every watch of a client being replaced (the site's
// credentials or endpoint changed) and wakes the watchers, so each
// resource observes through the new client and watches there.
func (c *Client) dropGuestWatch() {
	w := &c.guests
	w.mu.Lock()
	var wakes []func()
	for id, m := range w.byID {
		for _, x := range m {
			wakes = append(wakes, x.wake.soon())
		}
		delete(w.byID, id)
	}
	if w.dropped != nil {
		close(w.dropped)
		w.byID, w.dones, w.dropped = nil, nil, nil // a late WatchGuest starts afresh
	}
	w.mu.Unlock()
	run(wakes)
}
