package ceph

import (
	"github.com/ceph/go-ceph/cephfs"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const errMount = "cannot mount CephFS"

// mount returns the client's libcephfs mount of filesystem fs, mounting it on first use. Mounts
// live as long as the client; they share its RADOS connection (monitors, key, timeouts).
func (c *Client) mount(fs string) (*cephfs.MountInfo, error) {
	c.mountMu.Lock()
	defer c.mountMu.Unlock()
	if m, ok := c.mounts[fs]; ok {
		return m, nil
	}
	// Without mon "allow service mds r" a mount waits for an MDS map it never gets (no timeout
	// bounds that); `fs dump` needs the same cap, so asking it first turns the wait into Ceph's
	// refusal.
	var d fsDump
	if err := c.monJSON(map[string]any{"prefix": "fs dump"}, &d); err != nil {
		return nil, errors.Wrap(err, errMount)
	}
	m, err := cephfs.CreateFromRados(c.conn)
	if err != nil {
		return nil, errors.Wrap(newError("mount "+fs, "", err), errMount)
	}
	if err := m.SelectFilesystem(fs); err != nil {
		_ = m.Release()
		return nil, errors.Wrap(newError("mount "+fs, "", err), errMount)
	}
	if err := m.Mount(); err != nil {
		_ = m.Release()
		return nil, errors.Wrap(newError("mount "+fs, "", err), errMount)
	}
	if c.mounts == nil {
		c.mounts = map[string]*cephfs.MountInfo{}
	}
	c.mounts[fs] = m
	return m, nil
}

// closeMounts unmounts every filesystem the client mounted.
func (c *Client) closeMounts() {
	c.mountMu.Lock()
	defer c.mountMu.Unlock()
	for fs, m := range c.mounts {
		_ = m.Unmount()
		_ = m.Release()
		delete(c.mounts, fs)
	}
}

// DirEntries lists up to limit names in the directory path of filesystem fs (without "." and
// ".."), read from the MDS at call time: unlike a subvolume's bytes_used, which the MDS
// propagates lazily, a file created a moment ago is listed.
func (c *Client) DirEntries(fs, path string, limit int) ([]string, error) {
	return call(c, Call{Class: ClassFS, Op: "readdir", Target: path}, func() ([]string, error) {
		m, err := c.mount(fs)
		if err != nil {
			return nil, err
		}
		d, err := m.OpenDir(path)
		if err != nil {
			return nil, newError("readdir "+fs+":"+path, "", err)
		}
		defer d.Close() //nolint:errcheck // read-only handle
		var names []string
		for len(names) < limit {
			e, err := d.ReadDir()
			if err != nil {
				return nil, newError("readdir "+fs+":"+path, "", err)
			}
			if e == nil {
				break
			}
			if n := e.Name(); n != "." && n != ".." {
				names = append(names, n)
			}
		}
		return names, nil
	})
}
