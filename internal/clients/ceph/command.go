package ceph

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Error is a Ceph command that failed. Status holds Ceph's own words (the text the ceph CLI prints
// after "Error EINVAL:"), so conditions show them verbatim.
type Error struct {
	Command string
	// Errno is the positive errno (2 = ENOENT, 16 = EBUSY, 22 = EINVAL, ...), 0 when unknown.
	Errno  int
	Status string
	cause  error
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Status)
	if msg == "" && e.cause != nil {
		msg = e.cause.Error()
	}
	if name, ok := errnoNames[e.Errno]; ok {
		return fmt.Sprintf("ceph %q failed: %s: %s", e.Command, name, msg)
	}
	return fmt.Sprintf("ceph %q failed: %s (errno %d)", e.Command, msg, e.Errno)
}

// errnoNames spell errnos the way the ceph CLI does ("Error EINVAL: ...").
var errnoNames = map[int]string{
	EPERM: "EPERM", ENOENT: "ENOENT", EACCES: "EACCES", EBUSY: "EBUSY", EEXIST: "EEXIST", EINVAL: "EINVAL",
	ENOTEMPTY: "ENOTEMPTY", 5: "EIO", 34: "ERANGE", 95: "EOPNOTSUPP", 104: "ECONNRESET", 107: "ENOTCONN",
	110: "ETIMEDOUT",
}

// Unwrap gives the go-ceph error.
func (e *Error) Unwrap() error { return e.cause }

// Errno numbers the provider reacts to.
const (
	ENOENT    = 2
	EPERM     = 1
	EACCES    = 13
	EEXIST    = 17
	EBUSY     = 16
	EINVAL    = 22
	ENOTEMPTY = 39
)

// IsErrno tells whether err is a Ceph error with that errno.
func IsErrno(err error, errno int) bool {
	var e *Error
	return errors.As(err, &e) && e.Errno == errno
}

// IsNotFound tells whether err says the thing does not exist.
func IsNotFound(err error) bool { return IsErrno(err, ENOENT) }

type errorCoder interface{ ErrorCode() int }

func newError(command, status string, err error) *Error {
	e := &Error{Command: command, Status: status, cause: err}
	var c errorCoder
	if errors.As(err, &c) {
		e.Errno = c.ErrorCode()
		if e.Errno < 0 { // librados returns -errno; some go-ceph checks return +errno
			e.Errno = -e.Errno
		}
	}
	return e
}

// MonCommand sends one mon command. args must hold "prefix"; the answer body is returned, and a
// failure comes back as *Error with Ceph's status text.
func (c *Client) MonCommand(args map[string]any) ([]byte, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return nil, errors.Wrap(err, "cannot encode Ceph command")
	}
	prefix, _ := args["prefix"].(string)
	return call(c, Call{Class: ClassMon, Op: prefix, Target: target(args), Write: isWrite(prefix)}, func() ([]byte, error) {
		c.count(prefix)
		out, status, err := c.conn.MonCommand(b)
		observeCommand(prefix, err)
		if err != nil {
			return nil, newError(prefix, status, err)
		}
		return out, nil
	})
}

// target names what a command is about, for fault hooks: its pool, else its name.
func target(args map[string]any) string {
	for _, k := range []string{"pool", "name"} {
		if v, ok := args[k].(string); ok {
			return v
		}
	}
	return ""
}

// isWrite tells a state-changing command from a read by its prefix.
func isWrite(prefix string) bool {
	for _, read := range []string{" ls", " dump", " get", "df", "status", "health"} {
		if strings.HasSuffix(prefix, read) || strings.HasPrefix(prefix, strings.TrimSpace(read)) {
			return false
		}
	}
	return true
}

// monJSON runs a read command with format json and decodes its answer into v.
func (c *Client) monJSON(args map[string]any, v any) error {
	args["format"] = "json"
	out, err := c.MonCommand(args)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return errors.Wrapf(err, "cannot decode the answer to %q", args["prefix"])
	}
	return nil
}

// mgrJSON runs a mgr command with format json and decodes its answer into v.
func (c *Client) mgrJSON(args map[string]any, v any) error {
	args["format"] = "json"
	b, err := json.Marshal(args)
	if err != nil {
		return errors.Wrap(err, "cannot encode Ceph command")
	}
	prefix, _ := args["prefix"].(string)
	out, err := call(c, Call{Class: ClassMgr, Op: prefix, Write: false}, func() ([]byte, error) {
		c.count(prefix)
		out, status, err := c.conn.MgrCommand([][]byte{b})
		observeCommand(prefix, err)
		if err != nil {
			return nil, newError(prefix, status, err)
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return errors.Wrapf(err, "cannot decode the answer to %q", prefix)
	}
	return nil
}

// write runs a state-changing mon command and drops the cached snapshot so the next Observe sees
// the result; it also refreshes librados' osdmap, which native by-name calls read (a pool created
// by a mon command is otherwise invisible to them for a while).
func (c *Client) write(args map[string]any) error {
	_, err := c.MonCommand(args)
	c.Invalidate()
	if err == nil {
		_ = c.conn.WaitForLatestOSDMap()
	}
	return err
}
