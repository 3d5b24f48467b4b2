package proxmox

import "testing"

func TestDiskSizeGiB(t *testing.T) {
	cases := map[string]int64{
		"local-lvm:vm-100-disk-0,size=32G":          32,
		"ceph-rbd:vm-100-disk-1,cache=none,size=2T": 2048,
		"ceph-rbd:vm-100-disk-2,size=512M":          0,
		"ceph-rbd:vm-100-disk-3,size=10737418240":   10,
	}
	for in, want := range cases {
		got, ok := DiskSizeGiB(in)
		if !ok || got != want {
			t.Errorf("DiskSizeGiB(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	if _, ok := DiskSizeGiB("none,media=cdrom"); ok {
		t.Error("a CD-ROM has no size")
	}
}
