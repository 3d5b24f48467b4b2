package ceph

import (
	"fmt"
	"sort"
	"strings"
)

// FilesystemInfo is a CephFS filesystem as `fs ls` and `fs dump` report it.
type FilesystemInfo struct {
	Name         string
	ID           int64
	MetadataPool string
	// DataPools are the data pools, the default one first.
	DataPools []string
	// ActiveMDS names the MDS daemons up:active for the filesystem.
	ActiveMDS []string
	// Standbys is how many standby MDS daemons the cluster has.
	Standbys int
}

type fsListEntry struct {
	Name         string   `json:"name"`
	MetadataPool string   `json:"metadata_pool"`
	DataPools    []string `json:"data_pools"`
}

type mdsInfo struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

type fsDump struct {
	Standbys    []mdsInfo `json:"standbys"`
	Filesystems []struct {
		ID     int64 `json:"id"`
		MDSMap struct {
			Name string             `json:"fs_name"`
			Info map[string]mdsInfo `json:"info"`
		} `json:"mdsmap"`
	} `json:"filesystems"`
}

// active names the MDS daemons up:active for filesystem fs, or for every filesystem when fs is
// "", sorted.
func (d *fsDump) active(fs string) []string {
	var out []string
	for _, f := range d.Filesystems {
		if fs != "" && f.MDSMap.Name != fs {
			continue
		}
		for _, m := range f.MDSMap.Info {
			if m.State == "up:active" {
				out = append(out, m.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// GetFilesystem observes a CephFS filesystem; a missing one satisfies IsNotFound.
func (c *Client) GetFilesystem(name string) (*FilesystemInfo, error) {
	var ls []fsListEntry
	if err := c.monJSON(map[string]any{"prefix": "fs ls"}, &ls); err != nil {
		return nil, err
	}
	var info *FilesystemInfo
	for _, f := range ls {
		if f.Name == name {
			info = &FilesystemInfo{Name: name, MetadataPool: f.MetadataPool, DataPools: f.DataPools}
		}
	}
	if info == nil {
		return nil, &Error{Command: "fs ls", Errno: ENOENT, Status: fmt.Sprintf("filesystem %q does not exist", name)}
	}
	var d fsDump
	if err := c.monJSON(map[string]any{"prefix": "fs dump"}, &d); err != nil {
		return nil, err
	}
	info.Standbys = len(d.Standbys)
	for _, f := range d.Filesystems {
		if f.MDSMap.Name == name {
			info.ID = f.ID
		}
	}
	info.ActiveMDS = d.active(name)
	return info, nil
}

// CreateFilesystem creates a CephFS volume the way `ceph fs volume create` does (the mgr's
// volumes module makes the pools cephfs.<name>.meta and cephfs.<name>.data, then the filesystem).
// An MDS daemon must be free to serve it.
func (c *Client) CreateFilesystem(name string) error {
	err := c.mgrWrite(map[string]any{"prefix": "fs volume create", "name": name})
	c.Invalidate()
	return err
}

// RemoveFilesystem removes a CephFS volume and its pools (`ceph fs volume rm`); Ceph refuses with
// EPERM while mon_allow_pool_delete is false. Everything in the filesystem is lost.
func (c *Client) RemoveFilesystem(name string) error {
	err := c.mgrWrite(map[string]any{"prefix": "fs volume rm", "vol_name": name, "yes-i-really-mean-it": "--yes-i-really-mean-it"})
	c.Invalidate()
	return err
}

// ListSubvolumeGroups names a filesystem's subvolume groups, without the volumes module's own
// directories (_nogroup, _deleting, ...).
func (c *Client) ListSubvolumeGroups(fs string) ([]string, error) {
	names, err := c.fsAdmin().ListSubVolumeGroups(fs)
	if err != nil {
		return nil, fsError("fs subvolumegroup ls", err)
	}
	out := names[:0]
	for _, n := range names {
		if !strings.HasPrefix(n, "_") {
			out = append(out, n)
		}
	}
	return out, nil
}
