package pkgruntime

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one package revision's runtime: the entrypoint of its image as a local process,
// restarted with a growing delay when it exits (as a kubelet restarts a crashing container).
type process struct {
	rev     string
	digest  string
	argsKey string
	path    string
	args    []string
	env     []string
	logFile string

	mu       sync.Mutex
	cmd      *exec.Cmd
	started  time.Time
	exited   chan struct{}
	lastErr  string
	restarts int
	stopped  bool
}

func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return nil
	}
	lf, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.path, p.args...) //nolint:gosec // the package's own entrypoint
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		_ = lf.Close()
		return err
	}
	p.cmd, p.started, p.exited = cmd, time.Now(), make(chan struct{})
	exited := p.exited
	go func() {
		err := cmd.Wait()
		_ = lf.Close()
		p.mu.Lock()
		p.lastErr = fmt.Sprintf("%v; last log line: %s", err, lastLine(p.logFile))
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// running reports whether the process is up; a process that exited is restarted once its back-off
// (1 s doubling to 30 s) has passed.
func (p *process) running() (bool, string) {
	p.mu.Lock()
	exited, started, restarts, last := p.exited, p.started, p.restarts, p.lastErr
	p.mu.Unlock()
	if exited == nil {
		return false, "not started"
	}
	select {
	case <-exited:
	default:
		return true, ""
	}
	delay := time.Second << min(restarts, 5)
	if time.Since(started) > delay {
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
		if err := p.start(); err != nil {
			return false, err.Error()
		}
	}
	return false, fmt.Sprintf("process exited (restart %d): %s", restarts+1, last)
}

// stop sends SIGTERM to the process group and SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
	p.mu.Lock()
	p.stopped = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func lastLine(path string) string {
	f, err := os.Open(path) //nolint:gosec // our own log file
	if err != nil {
		return ""
	}
	defer f.Close() //nolint:errcheck // read only
	var last string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		if t := strings.TrimSpace(s.Text()); t != "" {
			last = t
		}
	}
	if len(last) > 300 {
		last = last[:300]
	}
	return last
}
