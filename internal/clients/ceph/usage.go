package ceph

import (
	"sort"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
)

// rbdBookkeeping are the objects librbd keeps in a pool that holds no image (any more): a pool
// that once held images is not "holding data" because of them.
var rbdBookkeeping = map[string]bool{
	"rbd_directory": true, "rbd_info": true, "rbd_trash": true, "rbd_children": true,
	"rbd_mirroring": true, "rbd_namespace": true, "rbd_task": true, "rbd_mirror_leader": true,
}

// PoolContents is what a pool holds, read just before a deletion.
type PoolContents struct {
	// Images are the pool's RBD images (sorted), whoever made them.
	Images []string
	// Objects counts the RADOS objects in every namespace, librbd's bookkeeping objects excepted,
	// up to the listing limit.
	Objects int
	// Truncated is true when listing stopped at the limit (there are more objects).
	Truncated bool
	// Listed counts every object the listing saw, bookkeeping included (up to the limit).
	Listed int
	// StatsObjects is the pool's object count in its stats (the mgr's digest): it lags behind
	// writes and removals by seconds, but also counts what a listing does not show (snapshot
	// clones).
	StatsObjects uint64
}

// Empty tells whether the pool holds neither images nor objects.
func (p PoolContents) Empty() bool { return len(p.Images) == 0 && p.Objects == 0 }

// PoolContents lists a pool's images and objects, reading the OSDs themselves (pool stats come
// from the mgr's digest and lag behind fresh writes). It stops counting objects at limit.
func (c *Client) PoolContents(pool string, limit int) (PoolContents, error) {
	return rbdCall(c, "pool contents", pool, false, func() (PoolContents, error) {
		var pc PoolContents
		io, err := c.ioctx(pool)
		if err != nil {
			return pc, err
		}
		defer io.Destroy()
		names, err := rbd.GetImageNames(io)
		if err != nil && !IsNotFound(newError("", "", err)) { // ENOENT: no rbd_directory yet
			return pc, newError("rbd ls "+pool, "", err)
		}
		sort.Strings(names)
		pc.Images = names
		io.SetNamespace(rados.AllNamespaces)
		it, err := io.Iter()
		if err != nil {
			return pc, newError("rados ls "+pool, "", err)
		}
		defer it.Close()
		for it.Next() {
			if pc.Listed >= limit {
				pc.Truncated = true
				break
			}
			pc.Listed++
			if it.Namespace() == "" && rbdBookkeeping[it.Value()] {
				continue
			}
			pc.Objects++
		}
		if err := it.Err(); err != nil {
			return pc, newError("rados ls "+pool, "", err)
		}
		st, err := io.GetPoolStats()
		if err != nil {
			return pc, newError("rados df "+pool, "", err)
		}
		pc.StatsObjects = st.Num_objects
		return pc, nil
	})
}

// ImageUsage is who uses an image and what it holds besides its head.
type ImageUsage struct {
	// Watchers are the clients that have the image open or mapped (address of each).
	Watchers []string
	// Snapshots are the image's snapshot names.
	Snapshots []string
}

// ImageUsage reads an image's watchers and snapshots.
func (c *Client) ImageUsage(pool, name string) (ImageUsage, error) {
	return rbdCall(c, "rbd status", pool+"/"+name, false, func() (ImageUsage, error) {
		var u ImageUsage
		io, err := c.ioctx(pool)
		if err != nil {
			return u, err
		}
		defer io.Destroy()
		img, err := rbd.OpenImageReadOnly(io, name, rbd.NoSnapshot)
		if err != nil {
			return u, newError("rbd status "+pool+"/"+name, "", err)
		}
		defer img.Close() //nolint:errcheck // read-only handle
		ws, err := img.ListWatchers()
		if err != nil {
			return u, newError("rbd status "+pool+"/"+name, "", err)
		}
		for _, w := range ws {
			u.Watchers = append(u.Watchers, w.Addr)
		}
		snaps, err := img.GetSnapshotNames()
		if err != nil {
			return u, newError("rbd snap ls "+pool+"/"+name, "", err)
		}
		for _, s := range snaps {
			u.Snapshots = append(u.Snapshots, s.Name)
		}
		sort.Strings(u.Snapshots)
		return u, nil
	})
}

// PurgeImageSnapshots removes every snapshot of an image (unprotecting protected ones); librbd
// refuses to unprotect a snapshot that still has clones.
func (c *Client) PurgeImageSnapshots(pool, name string) error {
	_, err := rbdCall(c, "rbd snap purge", pool+"/"+name, true, func() (struct{}, error) {
		io, err := c.ioctx(pool)
		if err != nil {
			return struct{}{}, err
		}
		defer io.Destroy()
		img, err := rbd.OpenImage(io, name, rbd.NoSnapshot)
		if err != nil {
			return struct{}{}, newError("rbd snap purge "+pool+"/"+name, "", err)
		}
		defer img.Close() //nolint:errcheck // nothing to flush
		snaps, err := img.GetSnapshotNames()
		if err != nil {
			return struct{}{}, newError("rbd snap purge "+pool+"/"+name, "", err)
		}
		for _, s := range snaps {
			snap := img.GetSnapshot(s.Name)
			if p, err := snap.IsProtected(); err == nil && p {
				if err := snap.Unprotect(); err != nil {
					return struct{}{}, newError("rbd snap unprotect "+pool+"/"+name+"@"+s.Name, "", err)
				}
			}
			if err := snap.Remove(); err != nil {
				return struct{}{}, newError("rbd snap rm "+pool+"/"+name+"@"+s.Name, "", err)
			}
		}
		return struct{}{}, nil
	})
	return err
}
