package cephclient

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

func TestBuildCaps(t *testing.T) {
	cases := map[string]struct {
		grants []target
		want   ceph.Caps
	}{
		"subvolume as fs authorize makes it": {
			grants: []target{{FS: "labfs", Path: "/volumes/_nogroup/a/uuid"}},
			want: ceph.Caps{"mon": "allow r fsname=labfs", "mds": "allow rw fsname=labfs path=/volumes/_nogroup/a/uuid",
				"osd": "allow rw tag cephfs data=labfs"},
		},
		"isolated subvolume read-only: its namespace only": {
			grants: []target{{FS: "labfs", Path: "/volumes/g/a/u", DataPool: "cephfs.labfs.data", PoolNamespace: "fsvolumens_a", ReadOnly: true}},
			want: ceph.Caps{"mon": "allow r fsname=labfs", "mds": "allow r fsname=labfs path=/volumes/g/a/u",
				"osd": "allow r pool=cephfs.labfs.data namespace=fsvolumens_a"},
		},
		"rbd, rbd read-only in a namespace, plain rados, two subvolumes": {
			grants: []target{{Pool: "vms", RBD: true}, {Pool: "golden", RBD: true, ReadOnly: true, Namespace: "t1"}, {Pool: "logs"},
				{Pool: "ro", ReadOnly: true}, {FS: "fs", Path: "/a"}, {FS: "fs", Path: "/b", ReadOnly: true}},
			want: ceph.Caps{
				"mon": "profile rbd, allow r, allow r fsname=fs",
				"osd": "profile rbd pool=vms, profile rbd-read-only pool=golden namespace=t1, allow rw pool=logs, allow r pool=ro, " +
					"allow rw tag cephfs data=fs, allow r tag cephfs data=fs",
				"mds": "allow rw fsname=fs path=/a, allow r fsname=fs path=/b",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, buildCaps(tc.grants)); d != "" {
				t.Errorf("caps (-want +got):\n%s", d)
			}
		})
	}
}

func TestCompareCaps(t *testing.T) {
	want := ceph.Caps{"mon": "allow r", "osd": "allow rw pool=a"}
	if ok, d := compareCaps(want, ceph.Caps{"mon": "allow r", "osd": "allow rw pool=a"}); !ok || d != "" {
		t.Errorf("equal caps: %v %q", ok, d)
	}
	ok, d := compareCaps(want, ceph.Caps{"mon": "allow *", "osd": "allow rw pool=a", "mgr": "allow r"})
	if ok || d != `caps mgr: want "", Ceph has "allow r"; caps mon: want "allow r", Ceph has "allow *"` {
		t.Errorf("drifted caps: %v %q", ok, d)
	}
}
