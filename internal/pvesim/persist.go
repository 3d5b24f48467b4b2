package pvesim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errLoadState = "cannot load state file"
	errSaveState = "cannot save state file"
)

// load reads Options.StateFile; a missing file is not an error.
func (s *Simulator) load() (bool, error) {
	if s.opts.StateFile == "" {
		return false, nil
	}
	b, err := os.ReadFile(s.opts.StateFile)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, errors.Wrap(err, errLoadState)
	}
	st := newState(nil)
	if err := json.Unmarshal(b, st); err != nil {
		return false, errors.Wrap(err, errLoadState)
	}
	if len(st.Nodes) == 0 {
		return false, errors.New(errLoadState + ": no nodes")
	}
	// Guests caught mid-task when the process stopped keep no task lock.
	for _, g := range st.Guests {
		if g.Conf["lock"] == "clone" || g.Conf["lock"] == "create" {
			delete(g.Conf, "lock")
		}
	}
	s.st = st
	return true, nil
}

// Save writes the state to Options.StateFile atomically.
func (s *Simulator) Save() error {
	if s.opts.StateFile == "" {
		return nil
	}
	s.mu.RLock()
	b, err := json.Marshal(s.st)
	s.mu.RUnlock()
	if err != nil {
		return errors.Wrap(err, errSaveState)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.opts.StateFile), ".pvesim-state-*")
	if err != nil {
		return errors.Wrap(err, errSaveState)
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return errors.Wrap(err, errSaveState)
	}
	if err := tmp.Close(); err != nil {
		return errors.Wrap(err, errSaveState)
	}
	return errors.Wrap(os.Rename(tmp.Name(), s.opts.StateFile), errSaveState)
}

// saver writes the state at most once per debounce interval after changes.
type saver struct {
	s       *Simulator
	mu      sync.Mutex
	pending bool
	timer   *time.Timer
	lastErr error
}

func newSaver(s *Simulator) *saver { return &saver{s: s} }

func (sv *saver) poke() {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.pending {
		return
	}
	sv.pending = true
	sv.timer = time.AfterFunc(sv.s.opts.SaveDebounce, func() {
		sv.mu.Lock()
		sv.pending = false
		sv.mu.Unlock()
		if err := sv.s.Save(); err != nil {
			sv.mu.Lock()
			sv.lastErr = err
			sv.mu.Unlock()
		}
	})
}

func (sv *saver) stop() error {
	sv.mu.Lock()
	if sv.timer != nil {
		sv.timer.Stop()
	}
	sv.pending = false
	sv.mu.Unlock()
	return sv.s.Save()
}
