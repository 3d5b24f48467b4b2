package pvesim

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
)

// TestTaskStatusOutlivesTaskIndex: after more tasks than the index keeps,
// the first tasks' status and log still read by UPID, as PVE reads them
// from the task's log file (pve-manager PVE/API2/Tasks.pm read_task_status
// and read_task_log; PVE::UPID::read_status takes the exit status from the
// log's last line). /cluster/tasks stays bounded like PVE's index.
func TestTaskStatusOutlivesTaskIndex(t *testing.T) {
	srv := startSim(t, Options{})
	n := maxFinishedTasks + 150
	upids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		i := i
		upids = append(upids, srv.spawn("pve1", "qmstart", fmt.Sprint(100+i), "", func(tk *task) error {
			tk.logf("starting %d", i)
			if i%2 == 0 {
				return errors.New("start failed: QEMU exited with code 1")
			}
			return nil
		}))
		if i%100 == 0 {
			srv.Wait() // let workers finish so older ones can leave the index
		}
	}
	srv.Wait()
	for _, i := range []int{0, 1, 2, n - 1} {
		id := upids[i]
		res := raw(t, srv, "GET", "/nodes/pve1/tasks/"+url.PathEscape(id)+"/status", "", "", "token")
		if res.Code != 200 {
			t.Fatalf("task %d (%s): %s", i, id, res.Status)
		}
		d := decode(t, res.Body)["data"].(map[string]any)
		want := "OK"
		if i%2 == 0 {
			want = "start failed: QEMU exited with code 1"
		}
		if d["status"] != "stopped" || d["exitstatus"] != want || d["upid"] != id || d["type"] != "qmstart" ||
			d["id"] != fmt.Sprint(100+i) || d["user"] != "root@pam" || d["tokenid"] != nil {
			t.Errorf("task %d status %v", i, d)
		}
		res = raw(t, srv, "GET", "/nodes/pve1/tasks/"+url.PathEscape(id)+"/log", "", "", "token")
		m := decode(t, res.Body)
		lines := m["data"].([]any)
		last := "TASK OK"
		if i%2 == 0 {
			last = "TASK ERROR: " + want
		}
		if m["total"] != float64(2) || len(lines) != 2 || lines[0].(map[string]any)["t"] != fmt.Sprintf("starting %d", i) ||
			lines[1].(map[string]any)["t"] != last {
			t.Errorf("task %d log %v", i, m)
		}
	}
	// The same UPID asked on another node is still unknown there.
	if res := raw(t, srv, "GET", "/nodes/pve2/tasks/"+url.PathEscape(upids[0])+"/status", "", "", "token"); res.Code != 400 {
		t.Errorf("archived task on the wrong node: %s", res.Status)
	}
	res := raw(t, srv, "GET", "/cluster/tasks", "", "", "token")
	if got := len(decode(t, res.Body)["data"].([]any)); got > maxFinishedTasks {
		t.Errorf("/cluster/tasks lists %d tasks, more than the index keeps", got)
	}
}
