package pvesim

import (
	"fmt"
	"strconv"
	"strings"
)

// deleteStorageContent removes a volume in an "imgdel" worker, as PVE's
// Storage::Content delete does. The volume is a full volid or a name
// relative to the storage; a volume that does not exist fails the task
// (PVE's unlink or rbd rm fails in the worker, not in the request).
func deleteStorageContent(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.storageArg(r)
	if err != nil {
		return nil, err
	}
	volid := r.str("volume")
	if sid, _, ok := cutVolID(volid); ok {
		if sid != st.ID {
			return nil, paramErr("volume", "storage ID mismatch (%s != %s)", sid, st.ID)
		}
	} else {
		volid = st.ID + ":" + volid
	}
	node := r.str("node")
	id := st.ID
	if v := s.st.volume(node, volid); v != nil && v.VMID != 0 {
		id = strconv.Itoa(v.VMID) + "@" + st.ID
	}
	return s.spawn(node, "imgdel", id, r.user, func(t *task) error {
		if err := s.taskSleep(t, s.opts.TaskDuration); err != nil {
			return err
		}
		if err := t.injected(); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.st.volume(node, volid) == nil {
			return missingVolume(st, volid)
		}
		s.st.removeVolume(node, volid)
		t.logf("Removed volume '%s'", volid)
		s.changed()
		return nil
	}), nil
}

// missingVolume is the error a storage plugin's free_image gives for a
// volume that is not there.
func missingVolume(st *storage, volid string) error {
	_, name, _ := cutVolID(volid)
	if st.Type == "rbd" {
		return fmt.Errorf("rbd error: rbd: error opening image %s: (2) No such file or directory", name)
	}
	dir := "/var/lib/vz/"
	if strings.HasPrefix(name, "vztmpl/") {
		name = "template/cache/" + strings.TrimPrefix(name, "vztmpl/")
	}
	return fmt.Errorf("unlink '%s%s' - No such file or directory", dir, name)
}
