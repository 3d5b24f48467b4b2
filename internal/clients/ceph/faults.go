package ceph

import (
	"fmt"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/fault"
)

// CallClass is the kind of backend call the provider makes to Ceph.
type CallClass string

// The classes of backend calls.
const (
	// ClassMon is a mon command (pools, profiles, CRUSH, the observation snapshot).
	ClassMon CallClass = "mon"
	// ClassMgr is a mgr command (PG states).
	ClassMgr CallClass = "mgr"
	// ClassRBD is a librbd or librados I/O call (images, pool contents).
	ClassRBD CallClass = "rbd"
	// ClassFS is a CephFS call: a command of the mgr's volumes module (subvolume groups and
	// subvolumes, whose Target is the group, the subvolume or group/subvolume) or a libcephfs call
	// (whose Target is the directory).
	ClassFS CallClass = "cephfs"
)

// Call describes one backend call about to be made, for a fault hook.
type Call struct {
	Class CallClass
	// Op is the mon/mgr prefix ("osd pool create") or the rbd operation ("rbd create").
	Op string
	// Target is the pool, image ("pool/image"), profile, rule or bucket the call is about; empty
	// for cluster-wide reads.
	Target string
	// Write is true for calls that change Ceph.
	Write bool
}

// Fault is what a fault hook makes of a call (the vocabulary every backend client shares).
type Fault = fault.Fault

// The faults a hook can inject.
const (
	// NoFault lets the call through untouched.
	NoFault = fault.None
	// FaultBefore fails the call without sending it.
	FaultBefore = fault.Before
	// FaultAfter sends the call, lets it complete in Ceph, and loses the answer.
	FaultAfter = fault.After
	// FaultTimeout sends the call and gives up after FaultTimeoutDelay; the call may still
	// complete in Ceph afterwards, as a real client-side timeout allows.
	FaultTimeout = fault.Timeout
)

// FaultTimeoutDelay is how long a FaultTimeout call waits before giving up.
const FaultTimeoutDelay = fault.TimeoutDelay

// FaultHook decides, per call, whether a fault is injected. It exists for tests only: the fault
// matrix puts a fake failure on top of the real call path against a real Ceph cluster.
type FaultHook func(Call) Fault

// SetFaultHook installs (or, with nil, removes) a test-only fault hook on this client.
func (c *Client) SetFaultHook(h FaultHook) {
	if h == nil {
		c.hook.Store(nil)
		return
	}
	c.hook.Store(&h)
}

// Errnos the injected faults carry.
const (
	errnoNotConn   = 107 // ENOTCONN: not sent
	errnoConnReset = 104 // ECONNRESET: answer lost
	errnoTimedOut  = 110 // ETIMEDOUT
)

// call runs one backend call through the fault hook (when a test installed one).
func call[T any](c *Client, cl Call, run func() (T, error)) (T, error) {
	var zero T
	hp := c.hook.Load()
	if hp == nil {
		return run()
	}
	injected := func(errno int, what string) error {
		return &Error{Command: cl.Op, Errno: errno, Status: fmt.Sprintf("injected fault (test hook): %s", what)}
	}
	switch (*hp)(cl) {
	case FaultBefore:
		return zero, injected(errnoNotConn, "call not sent")
	case FaultAfter:
		_, _ = run()
		if cl.Write { // reads run inside snapshot fetches, which hold c.mu
			c.Invalidate()
		}
		return zero, injected(errnoConnReset, "call ran, answer lost")
	case FaultTimeout:
		done := make(chan struct{})
		go func() {
			_, _ = run()
			if cl.Write {
				c.Invalidate() // a late completion changes Ceph behind the snapshot
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(FaultTimeoutDelay):
		}
		return zero, injected(errnoTimedOut, "no answer in time")
	}
	return run()
}
