package virtualmachine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

func TestDiffNormalisesWhatPVERewrites(t *testing.T) {
	spec := v1alpha1.VirtualMachineParameters{
		Cores: 2, MemoryMiB: 2048, Tags: []string{"Web", "prod"},
		Agent:     ptr.To(true),
		Networks:  []v1alpha1.NetworkInterface{{Model: "virtio", Bridge: "vmbr0", Firewall: ptr.To(true), VLAN: ptr.To[int64](20)}},
		CloudInit: &v1alpha1.CloudInit{User: ptr.To("debian"), SSHKeys: []string{"ssh-ed25519 AAAA user@host"}},
		Disks:     []v1alpha1.Disk{{Slot: "scsi0", Storage: "ceph-rbd", SizeGiB: 32}},
	}
	want := wantConfig(spec, "web-1", "mc-abc")
	cases := map[string]struct {
		cfg      map[string]any
		wantSet  map[string]any
		wantGrow []resize
	}{
		"AsPVEStoresIt": {
			cfg: map[string]any{
				"name": "web-1", "cores": float64(2), "sockets": float64(1), "memory": "2048",
				"tags":   "mc-abc;prod;web",
				"agent":  "enabled=1,fstrim_cloned_disks=1",
				"net0":   "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=20",
				"ciuser": "debian", "sshkeys": "ssh-ed25519%20AAAA%20user%40host%0A",
				"scsi0": "ceph-rbd:vm-101-disk-0,size=32G",
			},
			wantSet: map[string]any{},
		},
		"Drift": {
			cfg: map[string]any{
				"name": "web-1", "cores": float64(1), "sockets": float64(1), "memory": float64(512),
				"tags": "prod", "agent": "0",
				"net0":   "e1000=BC:24:11:00:00:01,bridge=vmbr1",
				"ciuser": "debian", "sshkeys": "ssh-ed25519%20AAAA%20user%40host",
				"scsi0": "ceph-rbd:vm-101-disk-0,size=8G",
			},
			wantSet: map[string]any{
				"cores": "2", "memory": "2048", "tags": "mc-abc;prod;web", "agent": "1",
				"net0": "virtio,bridge=vmbr0,firewall=1,tag=20",
			},
			wantGrow: []resize{{slot: "scsi0", sizeGiB: 32}},
		},
		"NewDiskAndMissingKeys": {
			cfg: map[string]any{"name": "web-1", "cores": "2", "sockets": "1", "memory": "2048", "tags": "mc-abc;prod;web", "agent": "1",
				"net0": "virtio=AA:BB:CC:DD:EE:FF,bridge=vmbr0,firewall=1,tag=20", "ciuser": "debian"},
			wantSet: map[string]any{"sshkeys": "ssh-ed25519%20AAAA%20user%40host", "scsi0": "ceph-rbd:32"},
		},
		"LargerDiskIsNotShrunk": {
			cfg: map[string]any{"name": "web-1", "cores": "2", "sockets": "1", "memory": "2048", "tags": "mc-abc;prod;web", "agent": "1",
				"net0": "virtio=AA:BB:CC:DD:EE:FF,bridge=vmbr0,firewall=1,tag=20", "ciuser": "debian",
				"sshkeys": "ssh-ed25519%20AAAA%20user%40host", "scsi0": "ceph-rbd:vm-101-disk-0,size=1T"},
			wantSet: map[string]any{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			set, grow := diff(want, tc.cfg)
			if d := cmp.Diff(tc.wantSet, set); d != "" {
				t.Errorf("set (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantGrow, grow, cmp.AllowUnexported(resize{})); d != "" {
				t.Errorf("grow (-want +got):\n%s", d)
			}
		})
	}
}
