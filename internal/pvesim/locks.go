package pvesim

import (
	"fmt"
	"sync"
	"time"
)

// lockTable models PVE's flock-style locks (storage allocation locks and
// per-guest config locks): one holder at a time, waiters give up after a
// timeout with PVE's message.
type lockTable struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
}

func (lt *lockTable) sem(key string) chan struct{} {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.locks == nil {
		lt.locks = map[string]chan struct{}{}
	}
	c, ok := lt.locks[key]
	if !ok {
		c = make(chan struct{}, 1)
		lt.locks[key] = c
	}
	return c
}

// acquire waits up to timeout for key (or until abort closes); it returns
// the release function.
func (lt *lockTable) acquire(key string, timeout time.Duration, abort <-chan struct{}) (func(), bool) {
	c := lt.sem(key)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case c <- struct{}{}:
		return func() { <-c }, true
	case <-t.C:
		return nil, false
	case <-abort:
		return nil, false
	}
}

// storageLockError is cluster_lock_storage's timeout: a local flock for
// node-local storages, a pmxcfs lock for shared ones.
func storageLockError(st *storage) error {
	if st.Shared {
		return fmt.Errorf("cfs-lock 'storage-%s' error: got lock request timeout", st.ID)
	}
	return fmt.Errorf("can't lock file '/var/lock/pve-manager/pve-storage-%s' - got timeout", st.ID)
}

// lockStorage takes a storage's allocation lock, as vdisk_alloc/clone do.
func (s *Simulator) lockStorage(st *storage, node string) (func(), error) {
	key := "storage/" + st.ID
	if !st.Shared {
		key = "storage/" + node + "/" + st.ID
	}
	rel, ok := s.locks.acquire(key, s.opts.StorageLockTimeout, s.closing)
	if !ok {
		return nil, storageLockError(st)
	}
	return rel, nil
}

// lockGuest takes a guest's config flock (lock_config) for a worker.
func (s *Simulator) lockGuest(kind string, vmid int) (func(), error) {
	rel, ok := s.locks.acquire(fmt.Sprintf("guest/%d", vmid), s.opts.ConfigLockTimeout, s.closing)
	if !ok {
		if kind == kindLXC {
			return nil, fmt.Errorf("can't lock file '/run/lock/lxc/pve-config-%d.lock' - got timeout", vmid)
		}
		return nil, fmt.Errorf("can't lock file '/var/lock/qemu-server/lock-%d.conf' - got timeout", vmid)
	}
	return rel, nil
}
