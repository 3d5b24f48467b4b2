package proxmox

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// TaskStatus is a worker task's state.
type TaskStatus struct {
	Status     string `json:"status"`     // running or stopped
	ExitStatus string `json:"exitstatus"` // OK, or the error when stopped
	Type       string `json:"type"`
	ID         string `json:"id"`
}

// Running tells whether the task is still running.
func (t *TaskStatus) Running() bool { return t.Status == "running" }

// Failed tells whether the task ended with an error.
func (t *TaskStatus) Failed() bool {
	return t.Status == "stopped" && t.ExitStatus != "OK" && !strings.HasPrefix(t.ExitStatus, "WARNINGS")
}

// NodeOfUPID returns the node a task runs on (UPID:node:...).
func NodeOfUPID(upid string) (string, error) {
	parts := strings.Split(upid, ":")
	if len(parts) < 3 || parts[0] != "UPID" || parts[1] == "" {
		return "", fmt.Errorf("malformed task id %q", upid)
	}
	return parts[1], nil
}

// Task reads a task's status. A task already seen to end is answered from
// memory; a task seen to end now frees its create slot.
func (c *Client) Task(ctx context.Context, upid string) (*TaskStatus, error) {
	if t, ok := c.endedTask(upid); ok {
		return t, nil
	}
	t, err := c.readTask(ctx, upid)
	switch {
	case IsTaskGone(err):
		c.taskEnded(upid, nil, false)
	case err == nil && !t.Running():
		c.taskEnded(upid, t, false)
	}
	return t, err
}

// readTask asks PVE for a task's status.
func (c *Client) readTask(ctx context.Context, upid string) (*TaskStatus, error) {
	node, err := NodeOfUPID(upid)
	if err != nil {
		return nil, err
	}
	t := &TaskStatus{}
	err = c.Get(ctx, fmt.Sprintf("/nodes/%s/tasks/%s/status", url.PathEscape(node), url.PathEscape(upid)), t)
	return t, err
}

// ReportOnce tells whether a failed task's error is being reported for the
// first time: the first Observe after the failure shows PVE's error in the
// resource's conditions, the next one moves on (e.g. retries the create).
func (c *Client) ReportOnce(upid string) bool {
	_, seen := c.reported.LoadOrStore(upid, struct{}{})
	return !seen
}
