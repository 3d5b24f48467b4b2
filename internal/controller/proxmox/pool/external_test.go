package pool

import (
	"encoding/json"
	"fmt"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

func TestObserveMembers(t *testing.T) {
	cases := map[string]struct {
		body     string // GET /pools?poolid= data, as PVE answers it
		vmids    string
		storages string
		count    int
	}{
		"empty": {`[{"poolid":"p","members":[]}]`, "[]", "[]", 0},
		"guests sorted, ids as numbers or strings": {`[{"poolid":"p","comment":"c","members":[
			{"id":"qemu/120","type":"qemu","vmid":120,"node":"pve2"},
			{"id":"lxc/101","type":"lxc","vmid":"101","node":"pve1"}]}]`, "[101 120]", "[]", 2},
		"a shared storage listed once per node counts once": {`[{"poolid":"p","members":[
			{"id":"storage/pve1/ceph-rbd","type":"storage","storage":"ceph-rbd","node":"pve1"},
			{"id":"storage/pve2/ceph-rbd","type":"storage","storage":"ceph-rbd","node":"pve2"},
			{"id":"storage/pve1/local","type":"storage","storage":"local","node":"pve1"},
			{"id":"qemu/100","type":"qemu","vmid":100,"node":"pve1"}]}]`, "[100]", "[ceph-rbd local]", 3},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var list []poolInfo
			if err := json.Unmarshal([]byte(c.body), &list); err != nil {
				t.Fatal(err)
			}
			var obs v1alpha1.PoolObservation
			observe(list[0], &obs)
			if fmt.Sprint(obs.VMIDs) != c.vmids && !(len(obs.VMIDs) == 0 && c.vmids == "[]") {
				t.Errorf("vmids %v, want %s", obs.VMIDs, c.vmids)
			}
			if fmt.Sprint(obs.Storages) != c.storages && !(len(obs.Storages) == 0 && c.storages == "[]") {
				t.Errorf("storages %v, want %s", obs.Storages, c.storages)
			}
			if obs.MemberCount != c.count {
				t.Errorf("memberCount %d, want %d", obs.MemberCount, c.count)
			}
		})
	}
}

func TestCommentDiffers(t *testing.T) {
	for _, c := range []struct {
		want *string
		have string
		diff bool
	}{
		{nil, "anything", false},
		{ptr.To("team A"), "team A", false},
		{ptr.To("team A"), "team A\n", false},
		{ptr.To("team A"), "team B", true},
		{ptr.To(""), "team B", true},
	} {
		if got := commentDiffers(c.want, c.have); got != c.diff {
			t.Errorf("commentDiffers(%v, %q) = %v, want %v", c.want, c.have, got, c.diff)
		}
	}
}
