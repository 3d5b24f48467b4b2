package guest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNICs(t *testing.T) {
	cfg := func(keys ...string) map[string]any {
		m := map[string]any{"digest": "d", "name": "x"}
		for _, k := range keys {
			m[k] = "virtio=BC:24:11:00:00:01,bridge=vmbr0"
		}
		return m
	}
	cases := map[string]struct {
		want          map[string]string
		known         []string
		cfg           map[string]any
		managed, drop []string
	}{
		"first observe records the spec's NICs only": {
			want: map[string]string{"net0": "virtio,bridge=vmbr0", "cores": "1"}, cfg: cfg("net0", "net1"),
			managed: []string{"net0"},
		},
		"a NIC the spec no longer lists is removed": {
			want: map[string]string{"net0": "virtio,bridge=vmbr0"}, known: []string{"net0", "net1"}, cfg: cfg("net0", "net1"),
			managed: []string{"net0", "net1"}, drop: []string{"net1"},
		},
		"an emptied list removes every NIC set before": {
			want: map[string]string{"name": "x"}, known: []string{"net0", "net1", "net10", "net2"}, cfg: cfg("net0", "net1", "net2", "net10", "net3"),
			managed: []string{"net0", "net1", "net2", "net10"}, drop: []string{"net0", "net1", "net2", "net10"},
		},
		"a removed NIC already gone is forgotten": {
			want: map[string]string{"net0": "virtio"}, known: []string{"net0", "net1"}, cfg: cfg("net0"),
			managed: []string{"net0"},
		},
		"a NIC never set (template's, by hand) is left alone": {
			want: map[string]string{"net0": "virtio"}, known: []string{"net0"}, cfg: cfg("net0", "net1", "net7"),
			managed: []string{"net0"},
		},
		"keys that are not NICs are never managed": {
			want: map[string]string{"netmask": "x"}, known: []string{"network", "ipconfig1"}, cfg: map[string]any{"network": "x", "ipconfig1": "ip=dhcp"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			managed, drop := NICs(tc.want, tc.known, tc.cfg)
			if d := cmp.Diff(tc.managed, managed); d != "" {
				t.Errorf("managed (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.drop, drop); d != "" {
				t.Errorf("remove (-want +got):\n%s", d)
			}
		})
	}
}
