// Package fsdir is the spec ↔ Ceph mapping the two CephFS kinds share: quota, mode, ownership and
// pool layout of a subvolume group's or a subvolume's directory, compared over normalised values.
package fsdir

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

const mib = 1 << 20

// Want is what a spec asks of a directory; nil fields are Ceph's business.
type Want struct {
	QuotaMiB   *int64
	Mode       *string
	UID, GID   *int64
	PoolLayout *string
}

// Mode parses octal permission bits ("755", "2770").
func Mode(s string) (uint32, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("invalid mode %q: want octal permission bits such as 755", s)
	}
	return uint32(m), nil
}

// ModeString renders permission bits the way the spec spells them.
func ModeString(m uint32) string { return fmt.Sprintf("%o", m&0o7777) }

// QuotaBytes is the wanted quota in bytes, nil when the spec leaves the quota alone.
func (w Want) QuotaBytes() *uint64 {
	if w.QuotaMiB == nil {
		return nil
	}
	b := uint64(*w.QuotaMiB) * mib
	return &b
}

// CreateAttrs are the attributes a new directory is created with.
func (w Want) CreateAttrs() (ceph.FSAttrs, error) {
	a := ceph.FSAttrs{UID: w.UID, GID: w.GID, DataPool: w.PoolLayout, QuotaBytes: w.QuotaBytes()}
	if w.Mode != nil {
		m, err := Mode(*w.Mode)
		if err != nil {
			return a, err
		}
		a.Mode = &m
	}
	return a, nil
}

// UpdateAttrs are the wanted attributes with Ceph's current values for the ones the spec leaves
// alone: Ceph's idempotent create, which sets them, resets every attribute it is not given.
// The quota is not among them; it is resized on its own (Ceph then refuses to shrink below use).
func (w Want) UpdateAttrs(h *ceph.FSDirInfo) (ceph.FSAttrs, error) {
	a, err := w.CreateAttrs()
	if err != nil {
		return a, err
	}
	a.QuotaBytes = nil
	if a.Mode == nil {
		m := h.Mode
		a.Mode = &m
	}
	if a.UID == nil {
		a.UID = &h.UID
	}
	if a.GID == nil {
		a.GID = &h.GID
	}
	if a.DataPool == nil && h.DataPool != "" {
		a.DataPool = &h.DataPool
	}
	return a, nil
}

func quotaText(b *uint64) string {
	switch {
	case b == nil:
		return "none"
	case *b%mib == 0:
		return strconv.FormatUint(*b/mib, 10)
	default:
		return fmt.Sprintf("%s (%d bytes)", strconv.FormatFloat(float64(*b)/mib, 'f', 2, 64), *b)
	}
}

// Compare tells whether the quota and the other attributes are as wanted, and describes every
// difference.
func (w Want) Compare(h *ceph.FSDirInfo) (quotaOK, attrsOK bool, diff string) {
	var d []string
	quotaOK, attrsOK = true, true
	if q := w.QuotaBytes(); q != nil && (h.QuotaBytes == nil || *h.QuotaBytes != *q) {
		quotaOK = false
		d = append(d, fmt.Sprintf("quotaMiB: want %d, Ceph has %s", *w.QuotaMiB, quotaText(h.QuotaBytes)))
	}
	if w.Mode != nil {
		if m, err := Mode(*w.Mode); err != nil || m != h.Mode&0o7777 {
			attrsOK = false
			d = append(d, fmt.Sprintf("mode: want %q, Ceph has %q", *w.Mode, ModeString(h.Mode)))
		}
	}
	if w.UID != nil && *w.UID != h.UID {
		attrsOK = false
		d = append(d, fmt.Sprintf("uid: want %d, Ceph has %d", *w.UID, h.UID))
	}
	if w.GID != nil && *w.GID != h.GID {
		attrsOK = false
		d = append(d, fmt.Sprintf("gid: want %d, Ceph has %d", *w.GID, h.GID))
	}
	if w.PoolLayout != nil && *w.PoolLayout != h.DataPool {
		attrsOK = false
		d = append(d, fmt.Sprintf("poolLayout: want %q, Ceph has %q", *w.PoolLayout, h.DataPool))
	}
	return quotaOK, attrsOK, strings.Join(d, "; ")
}

// QuotaField is the status value of a quota: bytes, 0 for none.
func QuotaField(b *uint64) int64 {
	if b == nil {
		return 0
	}
	return int64(*b)
}
