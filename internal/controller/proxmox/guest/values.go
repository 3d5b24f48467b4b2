package guest

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Config values as PVE writes them, shared by the guest kinds' comparisons.

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

// SplitTags splits PVE tags, which may be separated by ';', ',' or spaces.
func SplitTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
}

// JoinTags writes tags the way PVE stores them: lower-case, sorted, unique, ';'-separated.
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

// Flag reads "1", "enabled=1,fstrim_cloned_disks=1" or "0" as "1"/"0".
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

// BoolString writes a bool as PVE does, "1" or "0".
func BoolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// OrDefault is v, or d when v is zero (an unset spec field).
func OrDefault(v, d int64) int64 {
	if v == 0 {
		return d
	}
	return v
}

// String renders a decoded JSON config value as PVE's string form.
func String(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return BoolString(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
