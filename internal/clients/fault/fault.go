// Package fault names the faults a test-only hook can inject into the provider's backend calls
// (Ceph's mon, mgr, rbd and CephFS calls; radosgw's admin and S3 requests), so the fault matrix
// drives every backend client with the same vocabulary.
package fault

import (
	"errors"
	"net"
	"time"
)

// Fault is what a fault hook makes of a call.
type Fault int

// The faults a hook can inject.
const (
	// None lets the call through untouched.
	None Fault = iota
	// Before fails the call without sending it.
	Before
	// After sends the call, lets it complete in the backend, and loses the answer.
	After
	// Timeout sends the call and gives up after TimeoutDelay; the call may still complete in
	// the backend afterwards, as a real client-side timeout allows.
	Timeout
)

func (f Fault) String() string {
	switch f {
	case Before:
		return "before"
	case After:
		return "after"
	case Timeout:
		return "timeout"
	}
	return "none"
}

// TimeoutDelay is how long a Timeout call waits before giving up.
const TimeoutDelay = 5 * time.Millisecond

// Unreachable tells whether err is a failure to connect at all (refused, no
// route, connect timeout): the one failure that says the backend's whole
// site does not answer, rather than this one call failing.
func Unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
