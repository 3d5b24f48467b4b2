package proxmox

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// watchedClone is simClone with its clone task ended and a guest watch
// reading the view every 50ms; view reads the view afresh.
func watchedClone(t *testing.T, timeout time.Duration) (*Client, *pvesim.Server, func() *View) {
	t.Helper()
	c, srv, upid := simClone(t, 10*time.Millisecond, timeout, 201, "watched")
	c.opts.WatchEvery = 50 * time.Millisecond
	c.opts.ViewTTL = 20 * time.Millisecond
	ctx := context.Background()
	eventually(t, 5*time.Second, "the clone task ends", func() bool {
		st, err := c.Task(ctx, upid)
		return err == nil && !st.Running()
	})
	view := func() *View {
		c.InvalidateView()
		v, err := c.View(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return c, srv, view
}

func eventually(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(within); !ok(); {
		if time.Now().After(end) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGuestWatchWakesOnlyOnChange(t *testing.T) {
	c, _, view := watchedClone(t, 5*time.Second)
	ctx := context.Background()
	v := view()
	clone, _ := v.Guest(201)
	other, _ := v.Guest(9000)
	var cloneWakes, otherWakes, urgent atomic.Int32
	done := make(chan struct{})
	defer close(done)
	count := func(n *atomic.Int32) Wake {
		return func(u bool) {
			n.Add(1)
			if u {
				urgent.Add(1)
			}
		}
	}
	if !c.WatchGuest(clone, "a", count(&cloneWakes), done) ||
		!c.WatchGuest(other, "b", count(&otherWakes), done) {
		t.Fatal("WatchGuest refused with WatchEvery set")
	}

	// Ten reads of an unchanged view wake nobody.
	time.Sleep(500 * time.Millisecond)
	if n, m := cloneWakes.Load(), otherWakes.Load(); n != 0 || m != 0 {
		t.Fatalf("woken %d and %d times with nothing changed", n, m)
	}

	// A change the view shows wakes its guest's watcher once.
	var cfg map[string]any
	if err := c.Get(ctx, GuestPath(clone.Node, "qemu", 201)+"/config", &cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateGuestConfig(ctx, clone.Ref(), Params{"tags": "changed"}, String(cfg["digest"])); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "the changed guest's watcher is woken", func() bool { return cloneWakes.Load() == 1 })
	time.Sleep(300 * time.Millisecond)
	if n, m := cloneWakes.Load(), otherWakes.Load(); n != 1 || m != 0 {
		t.Fatalf("after one change: woken %d times (want 1), the other guest's watcher %d (want 0)", n, m)
	}

	// A guest leaving the view wakes its watcher, whose watch ends.
	upid, err := c.Destroy(ctx, clone.Ref())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the destroyed guest's watcher is woken", func() bool { return cloneWakes.Load() == 2 })
	if _, err := c.Task(ctx, upid); err != nil {
		t.Fatal(err)
	}
	if n := c.WatchedGuests(); n != 1 {
		t.Fatalf("%d guests watched after one left the view, want 1", n)
	}
	if m := otherWakes.Load(); m != 0 {
		t.Fatalf("the unchanged guest's watcher was woken %d times", m)
	}
	if u := urgent.Load(); u != 0 {
		t.Fatalf("%d of the wakes for changes were urgent, want none (in turn)", u)
	}
}

func TestGuestWatchEndsWithItsController(t *testing.T) {
	c, _, view := watchedClone(t, 5*time.Second)
	g, _ := view().Guest(201)
	done := make(chan struct{})
	c.WatchGuest(g, "a", func(bool) {}, done)
	close(done)
	eventually(t, time.Second, "the watch ends once its controller stopped", func() bool {
		c.guests.mu.Lock()
		defer c.guests.mu.Unlock()
		return !c.guests.running && len(c.guests.byID) == 0
	})
}

func TestGuestWatchWakesOncePerOutage(t *testing.T) {
	c, srv, view := watchedClone(t, time.Second)
	g, _ := view().Guest(201)
	var wakes, urgent atomic.Int32
	done := make(chan struct{})
	defer close(done)
	c.WatchGuest(g, "a", func(u bool) {
		wakes.Add(1)
		if u {
			urgent.Add(1)
		}
	}, done)
	_ = srv.Close()
	eventually(t, 3*time.Second, "the watcher is woken when the site stops answering", func() bool { return wakes.Load() == 1 })
	time.Sleep(400 * time.Millisecond)
	if n := wakes.Load(); n != 1 {
		t.Fatalf("woken %d times during one outage, want 1", n)
	}
	// Urgently: it must not wait behind the healthy sites' queued work to
	// say its site does not answer.
	if u := urgent.Load(); u != 1 {
		t.Fatalf("the outage's wake was not urgent")
	}
}

// A client replaced (credentials or endpoint changed) leaves no goroutine
// behind while its controllers run on: neither the watch nor the follower
// of each controller's stop signal.
func TestGuestWatchOfAReplacedClientLeavesNoGoroutine(t *testing.T) {
	c, _, view := watchedClone(t, 5*time.Second)
	g, _ := view().Guest(201)
	done := make(chan struct{}) // the controller keeps running
	defer close(done)
	woken := atomic.Int32{}
	for _, key := range []string{"a", "b"} {
		c.WatchGuest(g, key, func(bool) { woken.Add(1) }, done)
	}
	eventually(t, 2*time.Second, "2 guest watch goroutines while watched (the watch, one follower of the stop signal): else the count cannot tell", func() bool {
		return watchGoroutines() == 2
	})
	c.dropGuestWatch()
	if n := woken.Load(); n != 2 {
		t.Errorf("%d watchers woken when the client was replaced, want 2", n)
	}
	eventually(t, 2*time.Second, "the replaced client's goroutines end", func() bool {
		return watchGoroutines() == 0
	})
}

// watchGoroutines counts the goroutines of guest watches (the watch loop
// and the followers of controllers' stop signals).
func watchGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, st := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(st, "proxmox.(*Client).watchGuests(") || strings.Contains(st, "proxmox.(*Client).WatchGuest.func") {
			n++
		}
	}
	return n
}
