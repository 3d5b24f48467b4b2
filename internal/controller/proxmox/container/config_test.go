package container

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

func TestDiffNormalisesWhatPVERewrites(t *testing.T) {
	spec := v1alpha1.ContainerParameters{
		Cores: 2, MemoryMiB: 1024, SwapMiB: ptr.To[int64](0), Tags: []string{"Web", "prod"}, OnBoot: ptr.To(true),
		RootFS: v1alpha1.ContainerRootFS{Storage: "ceph-rbd", SizeGiB: 8},
		Networks: []v1alpha1.ContainerNetwork{
			{Name: "eth0", Bridge: "vmbr0", IP: ptr.To("dhcp"), Firewall: ptr.To(true)},
			{Name: "eth1", Bridge: "vmbr1", IP: ptr.To("10.0.0.5/24"), Gateway: ptr.To("10.0.0.1"), VLAN: ptr.To[int64](20)},
		},
	}
	want := wantConfig(spec, "ct-1", "mc-abc")
	cases := map[string]struct {
		cfg      map[string]any
		wantSet  map[string]any
		wantGrow int64
	}{
		"AsPVEStoresIt": {
			cfg: map[string]any{
				"hostname": "ct-1", "cores": float64(2), "memory": "1024", "swap": float64(0),
				"tags": "mc-abc;prod;web", "onboot": float64(1),
				"net0":   "name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth",
				"net1":   "name=eth1,bridge=vmbr1,gw=10.0.0.1,hwaddr=BC:24:11:00:00:02,ip=10.0.0.5/24,tag=20,type=veth",
				"rootfs": "ceph-rbd:vm-101-disk-0,size=8G",
			},
			wantSet: map[string]any{},
		},
		"BiggerRootIsNotDrift": {
			cfg: map[string]any{
				"hostname": "ct-1", "cores": "2", "memory": "1024", "swap": "0", "tags": "web;prod;mc-abc", "onboot": "1",
				"net0":   "name=eth0,bridge=vmbr0,ip=dhcp,firewall=1",
				"net1":   "name=eth1,bridge=vmbr1,ip=10.0.0.5/24,gw=10.0.0.1,tag=20",
				"rootfs": "ceph-rbd:vm-101-disk-0,size=16G",
			},
			wantSet: map[string]any{},
		},
		"Drift": {
			cfg: map[string]any{
				"hostname": "other", "cores": float64(1), "memory": float64(512), "swap": float64(512),
				"tags": "prod", "onboot": float64(0),
				"net0":   "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth",
				"net1":   "name=eth1,bridge=vmbr1,ip=10.0.0.6/24,gw=10.0.0.1,tag=20",
				"rootfs": "ceph-rbd:vm-101-disk-0,size=4G",
			},
			wantSet: map[string]any{
				"hostname": "ct-1", "cores": "2", "memory": "1024", "swap": "0", "tags": "mc-abc;prod;web", "onboot": "1",
				"net0": "name=eth0,bridge=vmbr0,ip=dhcp,firewall=1",
				"net1": "name=eth1,bridge=vmbr1,ip=10.0.0.5/24,gw=10.0.0.1,tag=20",
			},
			wantGrow: 8,
		},
		"Missing": {
			cfg: map[string]any{"rootfs": "ceph-rbd:vm-101-disk-0,size=512M"},
			wantSet: map[string]any{
				"hostname": "ct-1", "cores": "2", "memory": "1024", "swap": "0", "tags": "mc-abc;prod;web", "onboot": "1",
				"net0": "name=eth0,bridge=vmbr0,ip=dhcp,firewall=1",
				"net1": "name=eth1,bridge=vmbr1,ip=10.0.0.5/24,gw=10.0.0.1,tag=20",
			},
			wantGrow: 8,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			set, grow := diff(want, tc.cfg)
			if d := cmp.Diff(tc.wantSet, set); d != "" {
				t.Errorf("set (-want +got):\n%s", d)
			}
			if grow != tc.wantGrow {
				t.Errorf("grow = %d, want %d", grow, tc.wantGrow)
			}
		})
	}
}

func TestWantConfigDefaults(t *testing.T) {
	got := wantConfig(v1alpha1.ContainerParameters{RootFS: v1alpha1.ContainerRootFS{Storage: "ceph-rbd", SizeGiB: 4},
		Networks: []v1alpha1.ContainerNetwork{{Name: "eth0"}}}, "ct", "mc-x")
	want := map[string]string{"hostname": "ct", "cores": "1", "memory": "512", "swap": "512", "tags": "mc-x",
		"net0": "name=eth0,bridge=vmbr0"}
	if d := cmp.Diff(want, got.config); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
}

func TestNormNet(t *testing.T) {
	cases := map[string]struct {
		a, b  string
		equal bool
	}{
		"MACAndTypeIgnored":    {"name=eth0,bridge=vmbr0,ip=dhcp", "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,type=veth", true},
		"FirewallZeroIsAbsent": {"name=eth0,bridge=vmbr0", "name=eth0,bridge=vmbr0,firewall=0", true},
		"OrderIgnored":         {"bridge=vmbr0,name=eth0,tag=5", "name=eth0,tag=5,bridge=vmbr0", true},
		"OtherBridge":          {"name=eth0,bridge=vmbr0", "name=eth0,bridge=vmbr1", false},
		"OtherIP":              {"name=eth0,bridge=vmbr0,ip=dhcp", "name=eth0,bridge=vmbr0,ip=10.0.0.2/24", false},
		"OtherName":            {"name=eth0,bridge=vmbr0", "name=eth1,bridge=vmbr0", false},
		"FirewallOn":           {"name=eth0,bridge=vmbr0,firewall=1", "name=eth0,bridge=vmbr0", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := normNet(tc.a) == normNet(tc.b); got != tc.equal {
				t.Errorf("normNet(%q) == normNet(%q) is %v, want %v", tc.a, tc.b, got, tc.equal)
			}
		})
	}
}
