package proxmox

import (
	"context"
	"sync"
	"time"
)

// TaskWatchInterval is how often a site's watched tasks are read.
const TaskWatchInterval = 500 * time.Millisecond

const (
	// endedKept is how long an ended task's status is kept to answer Task
	// without asking PVE again (an ended task's status never changes).
	endedKept = 10 * time.Minute
	// watchGiveUp is how long a task is watched at most: past it (a task
	// that never ends, a node that stopped answering) the resource's own
	// poll is left to find out.
	watchGiveUp = time.Hour
	// watchMaxFailures is how many reads in a row may fail (a site gone,
	// a node not answering) before the watch leaves the task to the
	// resource's own poll, and its goroutine ends with nothing left.
	watchMaxFailures = 20
)

// taskWatch reads the status of the tasks resources wait for, one site at a
// time, and wakes each waiter as soon as its task ends: a resource then
// needs one reconcile when its task is done instead of a poll every few
// seconds while it runs, which at hundreds of creates is most of the
// reconcile budget. What it learns is a hint: the woken resource's Observe
// still reads the task (from the ended cache, which holds only statuses
// PVE reported as stopped) and decides.
type taskWatch struct {
	mu      sync.Mutex
	waiting map[string]*watched
	ended   map[string]ended
	running bool
}

type watched struct {
	since    time.Time
	wakes    []func()
	failures int // reads in a row that failed
}

type ended struct {
	at     time.Time
	status TaskStatus
}

// WatchTask calls wake once the task upid has ended (or PVE no longer
// knows it). Watching the same task twice adds another wake call.
func (c *Client) WatchTask(upid string, wake func()) {
	if upid == "" || wake == nil {
		return
	}
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, done := w.ended[upid]; done {
		go wake()
		return
	}
	if w.waiting == nil {
		w.waiting = map[string]*watched{}
	}
	x, ok := w.waiting[upid]
	if !ok {
		x = &watched{since: time.Now()}
		w.waiting[upid] = x
	}
	x.wakes = append(x.wakes, wake)
	if !w.running {
		w.running = true
		go c.watchTasks()
	}
}

// watchTasks runs while tasks are watched.
func (c *Client) watchTasks() {
	t := time.NewTicker(TaskWatchInterval)
	defer t.Stop()
	for range t.C {
		upids := c.watchedTasks()
		if len(upids) == 0 {
			return
		}
		for _, upid := range upids {
			ctx, cancel := context.WithTimeout(context.Background(), c.watchTimeout())
			st, err := c.readTask(ctx, upid)
			cancel()
			switch {
			case IsTaskGone(err):
				c.taskEnded(upid, nil, true)
			case err != nil:
				// Asked again next round, up to watchMaxFailures in a row;
				// the resource's own poll is the fallback.
				c.taskRead(upid, false)
			case st.Running():
				c.taskRead(upid, true)
			default:
				c.taskEnded(upid, st, true)
			}
		}
	}
}

func (c *Client) watchTimeout() time.Duration {
	if d := c.http.Timeout; d > 0 && d < 10*time.Second {
		return d
	}
	return 10 * time.Second
}

// taskRead counts the reads of a watched task that failed in a row (ok
// resets the count) and stops watching it after watchMaxFailures.
func (c *Client) taskRead(upid string, ok bool) {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	x, watched := w.waiting[upid]
	switch {
	case !watched:
	case ok:
		x.failures = 0
	default:
		if x.failures++; x.failures >= watchMaxFailures {
			delete(w.waiting, upid)
		}
	}
}

// watchedTasks lists the tasks still watched, dropping those watched too
// long; with none left it marks the watcher stopped.
func (c *Client) watchedTasks() []string {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.waiting))
	for upid, x := range w.waiting {
		if time.Since(x.since) > watchGiveUp {
			delete(w.waiting, upid)
			continue
		}
		out = append(out, upid)
	}
	if len(out) == 0 {
		w.running = false
	}
	return out
}

// taskEnded records an ended task (st nil: PVE no longer knows it), frees
// its create slot and, with wake, wakes whoever waited for it (without: the
// caller is the waiter's own Observe, which has just seen the end).
func (c *Client) taskEnded(upid string, st *TaskStatus, wake bool) {
	w := &c.watch
	w.mu.Lock()
	var wakes []func()
	if x, ok := w.waiting[upid]; ok {
		if wake {
			wakes = x.wakes
		}
		delete(w.waiting, upid)
	}
	if st != nil {
		if w.ended == nil {
			w.ended = map[string]ended{}
		}
		now := time.Now()
		for k, e := range w.ended {
			if now.Sub(e.at) > endedKept {
				delete(w.ended, k)
			}
		}
		w.ended[upid] = ended{at: now, status: *st}
	}
	w.mu.Unlock()
	c.creates.TaskEnded(upid)
	run(wakes)
}

// endedTask is the status of a task already seen to end.
func (c *Client) endedTask(upid string) (*TaskStatus, bool) {
	w := &c.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.ended[upid]
	if !ok {
		return nil, false
	}
	st := e.status
	return &st, true
}
