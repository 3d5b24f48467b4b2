package ceph

import (
	"os"
	"testing"

	"github.com/ceph/go-ceph/cephfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// labFS is the CephFS volume cluster/ceph-up.sh creates.
const labFS = "labfs"

// The CephFS calls against the lab filesystem: what exists, what does not (IsNotFound only for
// that), quotas set and cleared, attributes set on an existing subvolume, Ceph's words kept, and a
// directory listing that sees a file the moment it exists.
func TestSubvolumeCalls(t *testing.T) {
	c := testClient(t)
	conf := requireEnv(t, "CEPH_CONF")
	group, sub := uniq("grp"), uniq("sv")
	t.Cleanup(func() {
		_ = c.RemoveSubvolume(labFS, group, sub)
		_ = c.RemoveSubvolumeGroup(labFS, group)
	})

	_, err := c.GetSubvolumeGroup(labFS, group)
	assert.True(t, IsNotFound(err), "missing group: %v", err)
	_, err = c.GetSubvolume(labFS, "", sub)
	assert.True(t, IsNotFound(err), "missing subvolume: %v", err)
	_, err = c.GetSubvolume("nosuchfs", "", sub)
	assert.True(t, IsNotFound(err), "missing filesystem: %v", err)

	mode, uid, quota := uint32(0o750), int64(1000), uint64(32<<20)
	require.NoError(t, c.CreateSubvolumeGroup(labFS, group, FSAttrs{Mode: &mode, UID: &uid, QuotaBytes: &quota}))
	g, err := c.GetSubvolumeGroup(labFS, group)
	require.NoError(t, err)
	assert.Equal(t, "/volumes/"+group, g.Path)
	assert.Equal(t, uint32(0o750), g.Mode)
	assert.Equal(t, int64(1000), g.UID)
	require.NotNil(t, g.QuotaBytes)
	assert.Equal(t, quota, *g.QuotaBytes)
	require.NoError(t, c.ResizeSubvolumeGroup(labFS, group, nil))
	g, err = c.GetSubvolumeGroup(labFS, group)
	require.NoError(t, err)
	assert.Nil(t, g.QuotaBytes, "quota cleared")

	q := uint64(8 << 20)
	require.NoError(t, c.CreateSubvolume(labFS, group, sub, FSAttrs{QuotaBytes: &q, NamespaceIsolated: true}))
	s, err := c.GetSubvolume(labFS, group, sub)
	require.NoError(t, err)
	require.NotNil(t, s.QuotaBytes)
	assert.Equal(t, q, *s.QuotaBytes)
	assert.Equal(t, "fsvolumens_"+sub, s.PoolNamespace)
	assert.Equal(t, "complete", s.State)
	names, err := c.ListSubvolumes(labFS, group)
	require.NoError(t, err)
	assert.Equal(t, []string{sub}, names)

	// attributes of an existing subvolume: Ceph's create sets them
	mode = 0o700
	require.NoError(t, c.CreateSubvolume(labFS, group, sub, FSAttrs{Mode: &mode, NamespaceIsolated: true}))
	s, err = c.GetSubvolume(labFS, group, sub)
	require.NoError(t, err)
	assert.Equal(t, uint32(0o700), s.Mode)

	// Ceph's own words for what it refuses
	pool := "nosuchpool"
	err = c.CreateSubvolume(labFS, group, uniq("bad"), FSAttrs{DataPool: &pool})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `ceph "fs subvolume create" failed: EINVAL: invalid pool layout 'nosuchpool'`)
	err = c.RemoveSubvolumeGroup(labFS, group)
	assert.True(t, IsErrno(err, ENOTEMPTY), "group with a subvolume: %v", err)

	entries, err := c.DirEntries(labFS, s.Path, 10)
	require.NoError(t, err)
	assert.Empty(t, entries)
	// a file made by another client is listed at once
	require.NoError(t, mkfile(conf, s.Path, "f1"))
	entries, err = c.DirEntries(labFS, s.Path, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"f1"}, entries)

	require.NoError(t, c.ResizeSubvolume(labFS, group, sub, nil))
	s, err = c.GetSubvolume(labFS, group, sub)
	require.NoError(t, err)
	assert.Nil(t, s.QuotaBytes, "quota cleared")
	require.NoError(t, c.RemoveSubvolume(labFS, group, sub))
	_, err = c.GetSubvolume(labFS, group, sub)
	assert.True(t, IsNotFound(err), "removed subvolume: %v", err)
	require.NoError(t, c.RemoveSubvolumeGroup(labFS, group))
	assert.True(t, IsNotFound(c.RemoveSubvolumeGroup(labFS, group)), "removing a missing group")
	assert.Positive(t, c.CommandCount("fs subvolume info"))
}

// mkfile creates an empty file in dir of the lab filesystem through a libcephfs mount of its own,
// like a workload would.
func mkfile(conf, dir, name string) error {
	m, err := cephfs.CreateMount()
	if err != nil {
		return err
	}
	defer m.Release() //nolint:errcheck // test mount
	if err := m.ReadConfigFile(conf); err != nil {
		return err
	}
	if err := m.SelectFilesystem(labFS); err != nil {
		return err
	}
	if err := m.MountWithRoot(dir); err != nil {
		return err
	}
	defer m.Unmount() //nolint:errcheck // test mount
	f, err := m.Open(name, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}
