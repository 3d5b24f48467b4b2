package ceph

import (
	"sort"

	"github.com/ceph/go-ceph/rados"
	"github.com/ceph/go-ceph/rbd"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errOpenPool   = "cannot open pool"
	errInitPool   = "cannot initialise pool for RBD"
	errImgOpts    = "cannot set RBD image options"
	errShrink     = "refusing to shrink RBD image"
	errImgUnknown = "unknown RBD image feature"
)

// ImageInfo is what the provider observes of an RBD image.
type ImageInfo struct {
	SizeBytes uint64
	Features  []string // sorted names, e.g. deep-flatten, exclusive-lock, layering
	DataPool  string
}

// ImageSpec is what CreateImage needs.
type ImageSpec struct {
	Pool      string
	Name      string
	SizeBytes uint64
	// Features are RBD feature names; Ceph's defaults when empty.
	Features []string
	// DataPool is an (erasure-coded) pool holding the image's data, metadata staying in Pool.
	DataPool string
}

// ioctx opens a pool. librados looks the name up in its local osdmap, which can lag behind a pool
// created moments ago by someone else; a "no such pool" is therefore checked against the latest
// osdmap before it is believed, so an Observe does not call an existing image gone.
func (c *Client) ioctx(pool string) (*rados.IOContext, error) {
	io, err := c.conn.OpenIOContext(pool)
	if err != nil && IsNotFound(newError("", "", err)) {
		if werr := c.conn.WaitForLatestOSDMap(); werr != nil {
			return nil, newError("open pool "+pool, "cannot refresh the osdmap", werr)
		}
		io, err = c.conn.OpenIOContext(pool)
	}
	if err != nil {
		return nil, newError("open pool "+pool, "", err)
	}
	return io, nil
}

// rbdCall runs one librbd/librados operation on a pool through the fault hook.
func rbdCall[T any](c *Client, op, target string, write bool, run func() (T, error)) (T, error) {
	return call(c, Call{Class: ClassRBD, Op: op, Target: target, Write: write}, run)
}

// featureBits maps names to bits, refusing names librbd does not know.
func featureBits(names []string) (uint64, error) {
	var bits uint64
	for _, n := range names {
		b := uint64(rbd.FeatureSetFromNames([]string{n}))
		if b == 0 {
			return 0, errors.Errorf("%s %q", errImgUnknown, n)
		}
		bits |= b
	}
	return bits, nil
}

// CreateImage creates an RBD image. An existing image of that name fails with EEXIST.
func (c *Client) CreateImage(s ImageSpec) error {
	_, err := rbdCall(c, "rbd create", s.Pool+"/"+s.Name, true, func() (struct{}, error) { return struct{}{}, c.createImage(s) })
	return err
}

func (c *Client) createImage(s ImageSpec) error {
	io, err := c.ioctx(s.Pool)
	if err != nil {
		return errors.Wrap(err, errOpenPool)
	}
	defer io.Destroy()
	opts := rbd.NewRbdImageOptions()
	defer opts.Destroy()
	if len(s.Features) > 0 {
		bits, err := featureBits(s.Features)
		if err != nil {
			return err
		}
		if err := opts.SetUint64(rbd.ImageOptionFeatures, bits); err != nil {
			return errors.Wrap(err, errImgOpts)
		}
	}
	if s.DataPool != "" {
		if err := opts.SetString(rbd.ImageOptionDataPool, s.DataPool); err != nil {
			return errors.Wrap(err, errImgOpts)
		}
	}
	if err := rbd.CreateImage(io, s.Name, s.SizeBytes, opts); err != nil {
		return newError("rbd create "+s.Pool+"/"+s.Name, "", err)
	}
	return nil
}

// GetImage observes an image; the error satisfies IsNotFound when it (or its pool) does not
// exist, and only then.
func (c *Client) GetImage(pool, name string) (*ImageInfo, error) {
	return rbdCall(c, "rbd info", pool+"/"+name, false, func() (*ImageInfo, error) { return c.getImage(pool, name) })
}

func (c *Client) getImage(pool, name string) (*ImageInfo, error) {
	io, err := c.ioctx(pool)
	if err != nil {
		return nil, err
	}
	defer io.Destroy()
	img, err := rbd.OpenImageReadOnly(io, name, rbd.NoSnapshot)
	if err != nil {
		return nil, newError("rbd info "+pool+"/"+name, "", err)
	}
	defer img.Close() //nolint:errcheck // read-only handle
	size, err := img.GetSize()
	if err != nil {
		return nil, newError("rbd info "+pool+"/"+name, "", err)
	}
	bits, err := img.GetFeatures()
	if err != nil {
		return nil, newError("rbd info "+pool+"/"+name, "", err)
	}
	fs := rbd.FeatureSet(bits)
	names := fs.Names()
	sort.Strings(names)
	info := &ImageInfo{SizeBytes: size, Features: names}
	if id, err := img.GetDataPoolID(); err == nil && id >= 0 && id != io.GetPoolID() {
		if n, err := c.conn.GetPoolByID(id); err == nil {
			info.DataPool = n
		}
	}
	return info, nil
}

// ResizeImage grows an image; shrinking is refused because it destroys data.
func (c *Client) ResizeImage(pool, name string, size uint64) error {
	_, err := rbdCall(c, "rbd resize", pool+"/"+name, true, func() (struct{}, error) { return struct{}{}, c.resizeImage(pool, name, size) })
	return err
}

func (c *Client) resizeImage(pool, name string, size uint64) error {
	io, err := c.ioctx(pool)
	if err != nil {
		return err
	}
	defer io.Destroy()
	img, err := rbd.OpenImage(io, name, rbd.NoSnapshot)
	if err != nil {
		return newError("rbd resize "+pool+"/"+name, "", err)
	}
	defer img.Close() //nolint:errcheck // nothing to flush after a resize
	// Resize2 wants a progress callback; allowShrink=false makes librbd refuse to lose data
	noProgress := func(uint64, uint64, interface{}) int { return 0 }
	if err := img.Resize2(size, false, noProgress, nil); err != nil {
		return newError("rbd resize "+pool+"/"+name, errShrink, err)
	}
	return nil
}

// UpdateImageFeatures enables or disables features on an existing image.
func (c *Client) UpdateImageFeatures(pool, name string, features []string, enable bool) error {
	_, err := rbdCall(c, "rbd feature", pool+"/"+name, true, func() (struct{}, error) {
		return struct{}{}, c.updateImageFeatures(pool, name, features, enable)
	})
	return err
}

func (c *Client) updateImageFeatures(pool, name string, features []string, enable bool) error {
	bits, err := featureBits(features)
	if err != nil {
		return err
	}
	io, err := c.ioctx(pool)
	if err != nil {
		return err
	}
	defer io.Destroy()
	img, err := rbd.OpenImage(io, name, rbd.NoSnapshot)
	if err != nil {
		return newError("rbd feature "+pool+"/"+name, "", err)
	}
	defer img.Close() //nolint:errcheck // nothing to flush
	if err := img.UpdateFeatures(bits, enable); err != nil {
		return newError("rbd feature "+pool+"/"+name, "", err)
	}
	return nil
}

// RemoveImage deletes an image; a missing image satisfies IsNotFound. librbd refuses (EBUSY)
// while the image has watchers and (ENOTEMPTY) while it has snapshots.
func (c *Client) RemoveImage(pool, name string) error {
	_, err := rbdCall(c, "rbd rm", pool+"/"+name, true, func() (struct{}, error) { return struct{}{}, c.removeImage(pool, name) })
	return err
}

func (c *Client) removeImage(pool, name string) error {
	io, err := c.ioctx(pool)
	if err != nil {
		return err
	}
	defer io.Destroy()
	if err := rbd.RemoveImage(io, name); err != nil {
		return newError("rbd rm "+pool+"/"+name, "", err)
	}
	return nil
}

// InitRBDPool prepares a pool for RBD (like `rbd pool init`).
func (c *Client) InitRBDPool(pool string) error {
	io, err := c.ioctx(pool)
	if err != nil {
		return errors.Wrap(err, errOpenPool)
	}
	defer io.Destroy()
	if err := rbd.PoolInit(io, false); err != nil {
		return errors.Wrap(newError("rbd pool init "+pool, "", err), errInitPool)
	}
	return nil
}
