package proxmox

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim/pvesimtest"
)

// waked counts the wake calls of one resource, and the urgent ones.
type waked struct{ n, urgent atomic.Int32 }

func (w *waked) wake(urgent bool) {
	w.n.Add(1)
	if urgent {
		w.urgent.Add(1)
	}
}

func TestCreateGateQueuesInOrderAndHandsSlotsOn(t *testing.T) {
	g := newCreateGate("test", 2)
	var c, d waked
	for _, k := range []string{"a", "b"} {
		if ok, _ := g.Admit(k, nil); !ok {
			t.Fatalf("%s not admitted with a free slot", k)
		}
	}
	if ok, ahead := g.Admit("c", c.wake); ok || ahead != 0 {
		t.Fatalf("c: admitted %v, %d ahead; want queued first", ok, ahead)
	}
	if ok, ahead := g.Admit("d", d.wake); ok || ahead != 1 {
		t.Fatalf("d: admitted %v, %d ahead; want queued second", ok, ahead)
	}
	// Asking again keeps the place, it does not queue twice.
	if ok, ahead := g.Admit("d", d.wake); ok || ahead != 1 || len(g.queue) != 2 {
		t.Fatalf("d again: admitted %v, %d ahead, queue %d", ok, ahead, len(g.queue))
	}
	// a's create task ends: its slot goes to c, first in line, not to a newcomer.
	g.Started("a", "UPID:a")
	g.Release("a") // a started: releasing does not free a running create's slot
	if len(g.held) != 2 {
		t.Fatalf("Release freed a started create's slot: %d held", len(g.held))
	}
	g.TaskEnded("UPID:a")
	if c.n.Load() != 1 || d.n.Load() != 0 || c.urgent.Load() != 0 {
		t.Fatalf("wakes after a's end: c %d (%d urgent), d %d; want c once, in turn", c.n.Load(), c.urgent.Load(), d.n.Load())
	}
	// The site stops answering: everyone waiting is woken urgently, to say so.
	run(g.waiting())
	if d.n.Load() != 1 || d.urgent.Load() != 1 {
		t.Fatalf("d woken %d times (%d urgent) when the site went down; want once, urgently", d.n.Load(), d.urgent.Load())
	}
	d.n.Store(0)
	if ok, _ := g.Admit("e", nil); ok {
		t.Fatal("newcomer e took the slot set aside for c")
	}
	if ok, _ := g.Admit("c", c.wake); !ok {
		t.Fatal("c not admitted after being woken")
	}
	// b never starts its create (its call failed): its slot goes to d.
	g.Release("b")
	if d.n.Load() != 1 {
		t.Fatalf("d woken %d times after b released, want 1", d.n.Load())
	}
	// A second end of the same task changes nothing.
	g.TaskEnded("UPID:a")
	if len(g.held) != 2 || len(g.queue) != 1 {
		t.Fatalf("held %d, queue %d; want 2 (c, d) and 1 (e)", len(g.held), len(g.queue))
	}
}

func TestCreateGateExpiresLostHoldersAndFollowsTheLimit(t *testing.T) {
	g := newCreateGate("test", 1)
	now := time.Now()
	g.now = func() time.Time { return now }
	var b, c waked
	g.Admit("a", nil) // admitted, but its reconcile never creates
	g.Admit("b", b.wake)
	g.Admit("c", c.wake)
	now = now.Add(admittedHold + time.Second)
	if ok, _ := g.Admit("c", c.wake); ok {
		t.Fatal("c admitted ahead of b")
	}
	if b.n.Load() != 1 {
		t.Fatalf("b woken %d times after a's slot expired, want 1", b.n.Load())
	}
	g.Started("b", "UPID:b")
	now = now.Add(admittedHold + time.Second)
	if ok, _ := g.Admit("c", c.wake); ok {
		t.Fatal("a running create's slot expired after the admission hold")
	}
	// A raised limit serves the queue at once.
	g.setLimit(2)
	if c.n.Load() != 1 {
		t.Fatalf("c woken %d times after the limit was raised, want 1", c.n.Load())
	}
	// A lower limit lets the running creates end and admits nobody meanwhile.
	g.setLimit(1)
	if ok, _ := g.Admit("d", nil); ok {
		t.Fatal("d admitted over the lowered limit")
	}
	now = now.Add(startedHold)
	if ok, _ := g.Admit("x", nil); ok {
		t.Fatal("x admitted ahead of d")
	}
	if _, held := g.held["b"]; held {
		t.Fatal("a create task never seen to end kept its slot past the started hold")
	}
}

// The watch wakes a waiter once its task ends and keeps the end, so the
// waiter's Observe reads it without asking PVE again; a create's slot is
// freed by the end.
func TestWatchTaskWakesOnEnd(t *testing.T) {
	c, _, upid := simClone(t, 700*time.Millisecond, 2*time.Second, 150, "w")
	ctx := context.Background()
	if ok, _ := c.AdmitCreate("vm-a", nil); !ok {
		t.Fatal("not admitted")
	}
	c.CreateStarted("vm-a", upid)
	woken := make(chan time.Time, 2)
	c.WatchTask(upid, func() { woken <- time.Now() })
	if st, err := c.Task(ctx, upid); err != nil || !st.Running() {
		t.Fatalf("task %v, %v; want running", st, err)
	}
	var at time.Time
	select {
	case at = <-woken:
	case <-time.After(10 * time.Second):
		t.Fatal("not woken 10s after a 0.7s task started")
	}
	before := c.Requests()
	st, err := c.Task(ctx, upid)
	if err != nil || st.Running() || st.Failed() {
		t.Fatalf("task after the wake: %+v, %v; want ended OK", st, err)
	}
	if n := c.Requests() - before; n != 0 {
		t.Fatalf("reading an ended task sent %d requests, want 0", n)
	}
	if len(c.creates.held) != 0 {
		t.Fatalf("the clone's create slot is still held after its end")
	}
	select {
	case again := <-woken:
		t.Fatalf("woken twice (%s and %s)", at, again)
	case <-time.After(2 * TaskWatchInterval):
	}
}

// A site that stops answering does not keep the watch going: after
// watchMaxFailures failed reads the task is left to the resource's own
// poll, unwoken, and the watch's goroutine ends.
func TestWatchTaskGivesUpOnASiteGone(t *testing.T) {
	c, srv, upid := simClone(t, time.Minute, time.Second, 151, "gone")
	var woken waked
	c.WatchTask(upid, func() { woken.wake(false) })
	_ = srv.Close()
	deadline := time.Now().Add(watchMaxFailures*TaskWatchInterval + 15*time.Second)
	for {
		c.watch.mu.Lock()
		running := c.watch.running
		c.watch.mu.Unlock()
		if !running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the task watch still runs against a site that stopped answering")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if woken.n.Load() != 0 {
		t.Fatal("a task whose end was never seen woke its resource")
	}
}

// simClone starts a simulator whose tasks take task, a client of it with
// request timeout, and a full clone of the template as guest id; it
// returns the client, the simulator and the clone's task.
func simClone(t *testing.T, task, timeout time.Duration, id int, name string) (*Client, *pvesim.Server, string) {
	t.Helper()
	srv := pvesimtest.Start(t, pvesim.Options{TaskDuration: task})
	c, err := newClient("test", pvesimtest.Site(srv, "test", timeout).Proxmox, Options{ViewTTL: time.Minute, DriftInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	view, err := c.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, ok := view.Guest(pvesim.DefaultTemplateID)
	if !ok {
		t.Fatal("no template in the simulator")
	}
	upid, err := c.CloneVM(ctx, CloneRequest{Source: src.Ref(), NewID: id, Name: name, Target: src.Node, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv, upid
}
