package ceph

import (
	"encoding/json"
	"strconv"
	"strings"

	fsadmin "github.com/ceph/go-ceph/cephfs/admin"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// fsCommander hands go-ceph's cephfs/admin package the client's connection, so its mgr and mon
// commands are counted and pass the fault hook (as ClassFS calls) like every other command.
type fsCommander struct{ c *Client }

func (f fsCommander) MonCommand(b []byte) ([]byte, string, error) {
	return f.run([][]byte{b}, f.c.conn.MonCommand)
}

func (f fsCommander) MgrCommand(b [][]byte) ([]byte, string, error) {
	return f.run(b, func(_ []byte) ([]byte, string, error) { return f.c.conn.MgrCommand(b) })
}

type answer struct {
	out    []byte
	status string
}

func (f fsCommander) run(b [][]byte, send func([]byte) ([]byte, string, error)) ([]byte, string, error) {
	var args struct {
		Prefix  string `json:"prefix"`
		SubName string `json:"sub_name"`
		Group   string `json:"group_name"`
	}
	if len(b) > 0 {
		_ = json.Unmarshal(b[0], &args)
	}
	// the group, the subvolume, or group/subvolume: what a fault hook matches
	target := args.Group
	if args.SubName != "" && args.Group != "" {
		target = args.Group + "/" + args.SubName
	} else if args.SubName != "" {
		target = args.SubName
	}
	a, err := call(f.c, Call{Class: ClassFS, Op: args.Prefix, Target: target, Write: fsIsWrite(args.Prefix)}, func() (answer, error) {
		f.c.count(args.Prefix)
		var first []byte
		if len(b) > 0 {
			first = b[0]
		}
		out, status, err := send(first)
		observeCommand(args.Prefix, err)
		if err != nil {
			// keep Ceph's words; fsError unpacks them again
			return answer{out, status}, &Error{Command: args.Prefix, Status: status, cause: err, Errno: errnoOf(err)}
		}
		return answer{out, status}, nil
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return a.out, e.Status, e
		}
		return a.out, a.status, err
	}
	return a.out, a.status, nil
}

// fsIsWrite tells the volumes module's state-changing commands from its reads.
func fsIsWrite(prefix string) bool {
	switch {
	case strings.HasSuffix(prefix, " info"), strings.HasSuffix(prefix, " getpath"), strings.HasSuffix(prefix, " exist"):
		return false
	}
	return isWrite(prefix)
}

func errnoOf(err error) int {
	var c errorCoder
	if errors.As(err, &c) {
		n := c.ErrorCode()
		if n < 0 {
			n = -n
		}
		return n
	}
	return 0
}

// fsError turns what cephfs/admin returns into an *Error carrying Ceph's status text and errno.
func fsError(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		out := *e
		out.Command = op
		return &out
	}
	var s interface{ Status() string }
	status := ""
	if errors.As(err, &s) {
		status = s.Status()
	}
	return newError(op, status, err)
}

func (c *Client) fsAdmin() *fsadmin.FSAdmin { return fsadmin.NewFromConn(fsCommander{c}) }

// FSAttrs are the settable attributes of a subvolume group or subvolume. Nil fields are left to
// Ceph (on create) or kept as they are (on update).
type FSAttrs struct {
	// Mode is the directory's permission bits (e.g. 0o755).
	Mode *uint32
	UID  *int64
	GID  *int64
	// DataPool is the pool layout: the data pool new files are written to.
	DataPool *string
	// QuotaBytes is the size quota; only used when creating.
	QuotaBytes *uint64
	// NamespaceIsolated puts a subvolume's files in a RADOS namespace of their own (subvolumes
	// only, creation only).
	NamespaceIsolated bool
}

// FSDirInfo is what Ceph reports of a subvolume group or subvolume.
type FSDirInfo struct {
	Path string
	Mode uint32
	UID  int64
	GID  int64
	// QuotaBytes is nil when there is no quota ("infinite").
	QuotaBytes *uint64
	BytesUsed  uint64
	DataPool   string
	// PoolNamespace is a subvolume's RADOS namespace, empty when not isolated.
	PoolNamespace string
	// State is a subvolume's state ("complete", "snapshot-retained", ...).
	State string
}

// groupInfo is the answer of `fs subvolumegroup info` (go-ceph's own type is preview-only).
type groupInfo struct {
	UID        int64           `json:"uid"`
	GID        int64           `json:"gid"`
	Mode       uint32          `json:"mode"`
	BytesUsed  uint64          `json:"bytes_used"`
	BytesQuota json.RawMessage `json:"bytes_quota"`
	DataPool   string          `json:"data_pool"`
}

func quota(raw json.RawMessage) *uint64 {
	n, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil || n == 0 { // "infinite"
		return nil
	}
	return &n
}

// GetSubvolumeGroup observes a subvolume group; a missing group (or filesystem) satisfies
// IsNotFound.
func (c *Client) GetSubvolumeGroup(fs, group string) (*FSDirInfo, error) {
	var gi groupInfo
	out, err := c.fsCommand(map[string]any{"prefix": "fs subvolumegroup info", "vol_name": fs, "group_name": group, "format": "json"})
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(out, &gi); err != nil {
		return nil, errors.Wrap(err, `cannot decode the answer to "fs subvolumegroup info"`)
	}
	path, err := c.fsAdmin().SubVolumeGroupPath(fs, group)
	if err != nil {
		return nil, fsError("fs subvolumegroup getpath", err)
	}
	return &FSDirInfo{Path: path, Mode: gi.Mode & 0o7777, UID: gi.UID, GID: gi.GID, QuotaBytes: quota(gi.BytesQuota), BytesUsed: gi.BytesUsed, DataPool: gi.DataPool}, nil
}

// CreateSubvolumeGroup creates a group, or (Ceph's create is idempotent) sets the attributes of an
// existing one. Ceph resets unset uid, gid and mode of an existing group to 0, 0 and 755, so an
// update passes every attribute.
func (c *Client) CreateSubvolumeGroup(fs, group string, a FSAttrs) error {
	args := map[string]any{"prefix": "fs subvolumegroup create", "vol_name": fs, "group_name": group}
	if a.Mode != nil {
		args["mode"] = strconv.FormatUint(uint64(*a.Mode), 8)
	}
	if a.UID != nil {
		args["uid"] = *a.UID
	}
	if a.GID != nil {
		args["gid"] = *a.GID
	}
	if a.DataPool != nil && *a.DataPool != "" {
		args["pool_layout"] = *a.DataPool
	}
	if a.QuotaBytes != nil {
		args["size"] = *a.QuotaBytes
	}
	return c.mgrWrite(args)
}

// ResizeSubvolumeGroup sets a group's quota (nil: none). Ceph refuses to go below the bytes the
// group already holds.
func (c *Client) ResizeSubvolumeGroup(fs, group string, bytes *uint64) error {
	size := "infinite"
	if bytes != nil {
		size = strconv.FormatUint(*bytes, 10)
	}
	return c.mgrWrite(map[string]any{"prefix": "fs subvolumegroup resize", "vol_name": fs, "group_name": group, "new_size": size, "no_shrink": true})
}

// RemoveSubvolumeGroup deletes an empty group; Ceph refuses (ENOTEMPTY) while it holds subvolumes.
// A missing group satisfies IsNotFound.
func (c *Client) RemoveSubvolumeGroup(fs, group string) error {
	return fsError("fs subvolumegroup rm", c.fsAdmin().RemoveSubVolumeGroup(fs, group))
}

// ListSubvolumes names the subvolumes of a group ("" or "_nogroup": the default group).
func (c *Client) ListSubvolumes(fs, group string) ([]string, error) {
	names, err := c.fsAdmin().ListSubVolumes(fs, group)
	return names, fsError("fs subvolume ls", err)
}

// mgrWrite runs a state-changing volumes command (no answer expected).
func (c *Client) mgrWrite(args map[string]any) error {
	_, err := c.fsCommand(args)
	return err
}

// fsCommand sends one volumes-module command that go-ceph has no call for.
func (c *Client) fsCommand(args map[string]any) ([]byte, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return nil, errors.Wrap(err, "cannot encode Ceph command")
	}
	out, _, err := fsCommander{c}.MgrCommand([][]byte{b})
	return out, fsError(args["prefix"].(string), err)
}

// GetSubvolume observes a subvolume; a missing subvolume, group or filesystem satisfies IsNotFound.
func (c *Client) GetSubvolume(fs, group, name string) (*FSDirInfo, error) {
	i, err := c.fsAdmin().SubVolumeInfo(fs, group, name)
	if err != nil {
		return nil, fsError("fs subvolume info", err)
	}
	info := &FSDirInfo{Path: i.Path, Mode: uint32(i.Mode) & 0o7777, UID: int64(i.Uid), GID: int64(i.Gid), BytesUsed: uint64(i.BytesUsed),
		DataPool: i.DataPool, PoolNamespace: i.PoolNamespace, State: string(i.State)}
	if q, ok := i.BytesQuota.(fsadmin.ByteCount); ok && q > 0 {
		n := uint64(q)
		info.QuotaBytes = &n
	}
	return info, nil
}

// CreateSubvolume creates a subvolume, or sets the attributes of an existing one (Ceph's create
// is idempotent; an unset mode becomes 755 again, so an update passes every attribute).
func (c *Client) CreateSubvolume(fs, group, name string, a FSAttrs) error {
	o := &fsadmin.SubVolumeOptions{NamespaceIsolated: a.NamespaceIsolated}
	if a.Mode != nil {
		o.Mode = int(*a.Mode)
	}
	if a.UID != nil {
		o.Uid = int(*a.UID)
	}
	if a.GID != nil {
		o.Gid = int(*a.GID)
	}
	if a.DataPool != nil {
		o.PoolLayout = *a.DataPool
	}
	if a.QuotaBytes != nil {
		o.Size = fsadmin.ByteCount(*a.QuotaBytes)
	}
	return fsError("fs subvolume create", c.fsAdmin().CreateSubVolume(fs, group, name, o))
}

// ResizeSubvolume sets a subvolume's quota (nil: none). Shrinking below the bytes it holds is
// refused by Ceph.
func (c *Client) ResizeSubvolume(fs, group, name string, bytes *uint64) error {
	var size fsadmin.QuotaSize = fsadmin.Infinite
	if bytes != nil {
		size = fsadmin.ByteCount(*bytes)
	}
	_, err := c.fsAdmin().ResizeSubVolume(fs, group, name, size, true)
	return fsError("fs subvolume resize", err)
}

// SubvolumeSnapshots names a subvolume's snapshots.
func (c *Client) SubvolumeSnapshots(fs, group, name string) ([]string, error) {
	s, err := c.fsAdmin().ListSubVolumeSnapshots(fs, group, name)
	return s, fsError("fs subvolume snapshot ls", err)
}

// RemoveSubvolumeSnapshot deletes one snapshot of a subvolume.
func (c *Client) RemoveSubvolumeSnapshot(fs, group, name, snap string) error {
	return fsError("fs subvolume snapshot rm", c.fsAdmin().RemoveSubVolumeSnapshot(fs, group, name, snap))
}

// RemoveSubvolume deletes a subvolume and everything in it (Ceph moves it to the trash and purges
// it in the background); Ceph refuses while it has snapshots. A missing one satisfies IsNotFound.
func (c *Client) RemoveSubvolume(fs, group, name string) error {
	return fsError("fs subvolume rm", c.fsAdmin().RemoveSubVolume(fs, group, name))
}
