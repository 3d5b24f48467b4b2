package pvesim

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxFinishedTasks bounds the task index (/cluster/tasks, /nodes/{node}/tasks)
// like PVE's rotated task list. A task that leaves it stays readable by its
// UPID: PVE's task status and log calls read the task's own log file
// (pve-manager PVE/API2/Tasks.pm read_task_status/read_task_log,
// PVE::Tools::upid_decode + PVE::UPID::read_status), which outlives the
// index.
const maxFinishedTasks = 1000

// task is one worker as PVE's task index and log show it.
type task struct {
	UPID       string   `json:"upid"`
	Node       string   `json:"node"`
	PID        int      `json:"pid"`
	PStart     int64    `json:"pstart"`
	StartTime  int64    `json:"starttime"`
	Type       string   `json:"type"`
	ID         string   `json:"id"`
	User       string   `json:"user"`
	Running    bool     `json:"running"`
	ExitStatus string   `json:"exitstatus,omitempty"`
	EndTime    int64    `json:"endtime,omitempty"`
	Log        []string `json:"log"`
	mu         sync.Mutex
	done       chan struct{}
	fault      error
	faultUsed  bool
	stop       chan struct{}
	stopOnce   sync.Once
}

// upid encodes PVE's task id: UPID:node:pid:pstart:starttime:type:id:user:
func upid(node string, pid int, pstart, start int64, typ, id, user string) string {
	return fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", node, pid, pstart, start, typ, id, user)
}

type taskTable struct {
	mu    sync.Mutex
	byID  map[string]*task
	order []*task
	// archive holds every finished task that left the index, compactly:
	// the UPID already carries node, pid, start, type, id and user.
	archive map[string]archivedTask
	pid     int
	boot    int64 // process start times count clock ticks (10ms) since this "boot"
}

// archivedTask is what stays of a finished task once it left the index:
// its end, exit status and log (the lines joined by newlines).
type archivedTask struct {
	end  int64
	exit string
	log  string
}

func newTaskTable() *taskTable {
	return &taskTable{byID: map[string]*task{}, archive: map[string]archivedTask{}, pid: os.Getpid() % 100000, boot: 4_000_000}
}

// get finds a task by UPID in the index or, rebuilt from its UPID and
// final record, in the archive.
func (tt *taskTable) get(id string) *task {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if t := tt.byID[id]; t != nil {
		return t
	}
	a, ok := tt.archive[id]
	if !ok {
		return nil
	}
	t := decodeUPID(id)
	if t == nil {
		return nil
	}
	t.EndTime, t.ExitStatus = a.end, a.exit
	if a.log != "" {
		t.Log = strings.Split(a.log, "\n")
	}
	t.done = make(chan struct{})
	close(t.done)
	t.stop = make(chan struct{})
	return t
}

// decodeUPID is upid_decode: the task fields a UPID carries.
func decodeUPID(id string) *task {
	f := strings.Split(id, ":")
	if len(f) != 9 || f[0] != "UPID" {
		return nil
	}
	pid, err1 := strconv.ParseInt(f[2], 16, 64)
	pstart, err2 := strconv.ParseInt(f[3], 16, 64)
	start, err3 := strconv.ParseInt(f[4], 16, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil
	}
	return &task{UPID: id, Node: f[1], PID: int(pid), PStart: pstart, StartTime: start, Type: f[5], ID: f[6], User: f[7]}
}

func (tt *taskTable) list() []*task {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return append([]*task(nil), tt.order...)
}

func (tt *taskTable) add(t *task) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.byID[t.UPID] = t
	tt.order = append(tt.order, t)
	if len(tt.order) > maxFinishedTasks {
		for i, old := range tt.order {
			if old.isRunning() {
				continue
			}
			old.mu.Lock()
			tt.archive[old.UPID] = archivedTask{end: old.EndTime, exit: old.ExitStatus, log: strings.Join(old.Log, "\n")}
			old.mu.Unlock()
			delete(tt.byID, old.UPID)
			tt.order = append(tt.order[:i], tt.order[i+1:]...)
			break
		}
	}
}

func (t *task) isRunning() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.Running
}

func (t *task) logf(format string, a ...any) {
	t.mu.Lock()
	t.Log = append(t.Log, fmt.Sprintf(format, a...))
	t.mu.Unlock()
}

// spawn starts a worker like fork_worker and returns its UPID. work runs
// in its own goroutine; its error becomes the task's exit status.
func (s *Simulator) spawn(node, typ, id, user string, work func(t *task) error) string {
	tt := s.tasks
	tt.mu.Lock()
	tt.pid++
	pid := tt.pid
	tt.mu.Unlock()
	now := time.Now().Unix()
	if user == "" {
		user = s.opts.User
	}
	t := &task{Node: node, PID: pid, PStart: tt.boot + int64(time.Since(startTime)/(10*time.Millisecond)), StartTime: now, Type: typ, ID: id,
		User: user, Running: true, done: make(chan struct{}), stop: make(chan struct{})}
	t.UPID = upid(node, pid, t.PStart, now, typ, id, user)
	t.fault = s.faults.taskFailure(typ)
	tt.add(t)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := work(t)
		if err == nil && !t.faultUsed && t.fault != nil {
			err = t.fault
		}
		t.mu.Lock()
		t.Running = false
		t.EndTime = time.Now().Unix()
		if err != nil {
			msg := strings.TrimSuffix(err.Error(), "\n")
			t.ExitStatus = msg
			t.Log = append(t.Log, "TASK ERROR: "+msg)
		} else {
			t.ExitStatus = "OK"
			t.Log = append(t.Log, "TASK OK")
		}
		t.mu.Unlock()
		close(t.done)
		s.changed()
	}()
	return t.UPID
}

// injected returns the fault configured for this task, at the point where
// the worker would do its work, so the worker's own cleanup runs.
func (t *task) injected() error {
	t.faultUsed = true
	return t.fault
}

// statusJSON is the task's /tasks/{upid}/status answer.
func (t *task) statusJSON() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := map[string]any{"upid": t.UPID, "node": t.Node, "pid": t.PID, "pstart": t.PStart,
		"starttime": t.StartTime, "type": t.Type, "id": t.ID, "status": "running"}
	splitTokenUser(m, t.User)
	if !t.Running {
		m["status"] = "stopped"
		m["exitstatus"] = t.ExitStatus
	}
	return m
}

// indexJSON is the task's /cluster/tasks entry.
func (t *task) indexJSON() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := map[string]any{"upid": t.UPID, "node": t.Node, "pid": t.PID, "pstart": t.PStart,
		"starttime": t.StartTime, "type": t.Type, "id": t.ID}
	splitTokenUser(m, t.User)
	if !t.Running {
		m["endtime"] = t.EndTime
		m["status"] = t.ExitStatus
	}
	return m
}

// splitTokenUser reports a token's tasks as user + tokenid, as the task
// APIs do (the UPID itself keeps "user@realm!token").
func splitTokenUser(m map[string]any, user string) {
	if u, tok, ok := strings.Cut(user, "!"); ok {
		m["user"], m["tokenid"] = u, tok
		return
	}
	m["user"] = user
}

// errInterrupted is what a worker dies with when its task is stopped
// (fork_worker's TERM handler).
var errInterrupted = errors.New("received interrupt")

// requestStop is stop_task: the worker is interrupted at its next wait.
func (t *task) requestStop() { t.stopOnce.Do(func() { close(t.stop) }) }

// taskSleep lets a worker's time pass; a stop request interrupts it.
func (s *Simulator) taskSleep(t *task, d time.Duration) error {
	if d <= 0 {
		d = 0
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-s.closing:
		return nil
	case <-t.stop:
		return errInterrupted
	}
}

// pause makes a worker take the configured task time, ending early on Close.
func (s *Simulator) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-s.closing:
	}
}
