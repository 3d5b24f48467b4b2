package subvolume

import (
	"fmt"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

const (
	// shown is how many entries or snapshots a refusal names before "and N more".
	shown = 5
	// counted is how many directory entries are read at most; a refusal says "at least" beyond.
	counted = 1000
)

// usage is what a subvolume holds, read afresh before a deletion.
type usage struct {
	entries   []string
	bytesUsed uint64
	snapshots []string
}

// usage lists the subvolume's directory through libcephfs (authoritative at call time; the
// bytes_used Ceph reports is propagated lazily by the MDS, so a fresh file may not count yet)
// and its snapshots.
func (e *external) usage(fs, group, name string, info *ceph.FSDirInfo) (usage, error) {
	entries, err := e.c.DirEntries(fs, info.Path, counted)
	if err != nil {
		return usage{}, err
	}
	snaps, err := e.c.SubvolumeSnapshots(fs, group, name)
	if err != nil {
		return usage{}, err
	}
	return usage{entries: entries, bytesUsed: info.BytesUsed, snapshots: snaps}, nil
}

// why says why a subvolume must not be deleted without allowDeleteWithData, or "".
func (u usage) why(fs, group, name string) string {
	var why []string
	if n := len(u.entries); n > 0 {
		count := fmt.Sprint(n)
		if n >= counted {
			count = "at least " + count
		}
		why = append(why, fmt.Sprintf("%s file(s) or directories (%s)", count, site.Names(u.entries, shown)))
	}
	if u.bytesUsed > 0 {
		why = append(why, fmt.Sprintf("%d bytes used", u.bytesUsed))
	}
	if len(u.snapshots) > 0 {
		why = append(why, fmt.Sprintf("%d snapshot(s): %s", len(u.snapshots), site.Names(u.snapshots, shown)))
	}
	if len(why) == 0 {
		return ""
	}
	if group == "" {
		group = defaultGroup
	}
	return fmt.Sprintf("CephFS subvolume %s/%s/%s is not deleted: it holds %s", fs, group, name, strings.Join(why, ", "))
}
