package fsdir

import (
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

func ptr[T any](v T) *T { return &v }

func TestCompare(t *testing.T) {
	have := &ceph.FSDirInfo{Mode: 0o755, UID: 0, GID: 0, QuotaBytes: ptr(uint64(64 * mib)), DataPool: "cephfs.labfs.data"}
	cases := map[string]struct {
		want             Want
		quotaOK, attrsOK bool
		diffHas          string
	}{
		"Unmanaged":       {want: Want{}, quotaOK: true, attrsOK: true},
		"Same":            {want: Want{QuotaMiB: ptr(int64(64)), Mode: ptr("755"), UID: ptr(int64(0)), PoolLayout: ptr("cephfs.labfs.data")}, quotaOK: true, attrsOK: true},
		"LeadingZeroMode": {want: Want{Mode: ptr("0755")}, quotaOK: true, attrsOK: true},
		"Grow":            {want: Want{QuotaMiB: ptr(int64(128))}, attrsOK: true, diffHas: "quotaMiB: want 128, Ceph has 64"},
		"Shrink":          {want: Want{QuotaMiB: ptr(int64(32))}, attrsOK: true, diffHas: "quotaMiB: want 32, Ceph has 64"},
		"Mode":            {want: Want{Mode: ptr("750")}, quotaOK: true, diffHas: `mode: want "750", Ceph has "755"`},
		"Owner":           {want: Want{UID: ptr(int64(1000)), GID: ptr(int64(100))}, quotaOK: true, diffHas: "uid: want 1000, Ceph has 0; gid: want 100, Ceph has 0"},
		"Pool":            {want: Want{PoolLayout: ptr("fast")}, quotaOK: true, diffHas: `poolLayout: want "fast", Ceph has "cephfs.labfs.data"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			q, a, diff := tc.want.Compare(have)
			if q != tc.quotaOK || a != tc.attrsOK || !strings.Contains(diff, tc.diffHas) || (q && a) != (diff == "") {
				t.Fatalf("Compare = %v, %v, %q; want %v, %v and a diff with %q", q, a, diff, tc.quotaOK, tc.attrsOK, tc.diffHas)
			}
		})
	}
	if _, _, diff := (Want{QuotaMiB: ptr(int64(1))}).Compare(&ceph.FSDirInfo{}); diff != "quotaMiB: want 1, Ceph has none" {
		t.Fatalf("no quota in Ceph: %q", diff)
	}
}

func TestUpdateAttrsKeepsWhatTheSpecLeavesAlone(t *testing.T) {
	have := &ceph.FSDirInfo{Mode: 0o700, UID: 1000, GID: 1000, DataPool: "p"}
	a, err := Want{Mode: ptr("750"), QuotaMiB: ptr(int64(8))}.UpdateAttrs(have)
	if err != nil {
		t.Fatal(err)
	}
	if *a.Mode != 0o750 || *a.UID != 1000 || *a.GID != 1000 || *a.DataPool != "p" || a.QuotaBytes != nil {
		t.Fatalf("UpdateAttrs = mode %o uid %d gid %d pool %s quota %v", *a.Mode, *a.UID, *a.GID, *a.DataPool, a.QuotaBytes)
	}
}

func TestMode(t *testing.T) {
	for in, want := range map[string]uint32{"755": 0o755, "2770": 0o2770, "0700": 0o700} {
		if got, err := Mode(in); err != nil || got != want {
			t.Errorf("Mode(%q) = %o, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "8", "abc", "77777"} {
		if _, err := Mode(bad); err == nil {
			t.Errorf("Mode(%q) accepted", bad)
		}
	}
}
