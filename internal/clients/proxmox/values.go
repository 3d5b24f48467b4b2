package proxmox

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// PVE's value forms, in one place: how the API writes booleans, sizes, tag
// lists and property strings, and how decoded JSON values read as PVE's
// string form. Every kind compares and writes values through these.

// String renders a decoded JSON value in PVE's string form: numbers without
// exponent, booleans as 1/0 (PVE's own boolean form), null as "".
func String(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return Bool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// Bool writes a bool as PVE does, "1" or "0".
func Bool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Flag reads a boolean as PVE may give it ("1", "true", or the first key of
// a property string such as "enabled=1,fstrim_cloned_disks=1") as "1"/"0".
func Flag(s string) string {
	first, _, _ := strings.Cut(s, ",")
	if _, v, ok := strings.Cut(first, "="); ok {
		first = v
	}
	if first == "1" || first == "true" {
		return "1"
	}
	return "0"
}

// SplitTags splits PVE tags, which may be separated by ';', ',' or spaces.
func SplitTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
}

// JoinTags writes tags the way PVE stores them (pve-common get_unique_tags):
// lower-case, sorted, unique, ';'-separated.
func JoinTags(tags []string) string {
	seen := map[string]bool{}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}

var sizeRe = regexp.MustCompile(`(?:^|,)size=([0-9.]+)([KMGT]?)(?:,|$)`)

// DiskSizeGiB reads the size of a disk config value, e.g.
// "ceph-rbd:vm-101-disk-0,size=32G", rounded down to whole GiB.
func DiskSizeGiB(v string) (int64, bool) {
	m := sizeRe.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	switch m[2] {
	case "K":
		f /= 1024 * 1024
	case "M":
		f /= 1024
	case "T":
		f *= 1024
	case "":
		f /= 1024 * 1024 * 1024
	}
	return int64(f), true
}

// SizeGiB writes a size in GiB as the API takes it ("32G").
func SizeGiB(n int64) string { return strconv.FormatInt(n, 10) + "G" }

// NewVolume is the drive value that makes PVE allocate a new volume of
// sizeGiB on storage ("ceph-rbd:32").
func NewVolume(storage string, sizeGiB int64) string {
	return storage + ":" + strconv.FormatInt(sizeGiB, 10)
}

// VolumeOf is the volume id of a drive string ("ceph-rbd:vm-100-disk-0" of
// "ceph-rbd:vm-100-disk-0,iothread=1,size=8G", or of "file=...").
func VolumeOf(drive string) string {
	first, _, _ := strings.Cut(drive, ",")
	if k, v, ok := strings.Cut(first, "="); ok && k == "file" {
		return v
	}
	return first
}

// Props is a property string as PVE prints it: comma-separated key=value
// pairs (a default key may stand alone, e.g. a NIC model's "virtio=MAC").
type Props []Prop

// A Prop is one key=value pair of a property string; Value is "" for a
// bare word.
type Prop struct{ Key, Value string }

// ParseProps splits a property string into its pairs, in order.
func ParseProps(s string) Props {
	var out Props
	for _, part := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(part, "=")
		if k == "" && v == "" {
			// An empty part, or a lone "=": nothing String could write back.
			continue
		}
		out = append(out, Prop{Key: k, Value: v})
	}
	return out
}

// Get returns the value of key and whether it is present.
func (p Props) Get(key string) (string, bool) {
	for _, kv := range p {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// String writes the pairs back as a property string.
func (p Props) String() string {
	parts := make([]string, 0, len(p))
	for _, kv := range p {
		if kv.Value == "" {
			parts = append(parts, kv.Key)
			continue
		}
		parts = append(parts, kv.Key+"="+kv.Value)
	}
	return strings.Join(parts, ",")
}

// With appends key=value when value is set.
func (p Props) With(key string, value *string) Props {
	if value == nil {
		return p
	}
	return append(p, Prop{Key: key, Value: *value})
}

// WithFlag appends key=1 or key=0 when b is set.
func (p Props) WithFlag(key string, b *bool) Props {
	if b == nil {
		return p
	}
	return append(p, Prop{Key: key, Value: Bool(*b)})
}

// WithInt appends key=n when n is set.
func (p Props) WithInt(key string, n *int64) Props {
	if n == nil {
		return p
	}
	return append(p, Prop{Key: key, Value: strconv.FormatInt(*n, 10)})
}
