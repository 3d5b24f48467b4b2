package pvesim

import (
	"context"
	"sort"
	"strings"
	"testing"
)

// GET /nodes/{node}/storage/{storage}/status answers what pve-storage's
// API2/Storage/Status.pm read_status returns: the storage_info entry without
// the index's storage id and used_fraction.
func TestStorageStatusKeysLikeReadStatus(t *testing.T) {
	srv := startSim(t, Options{})
	var st map[string]any
	if err := pveClient(t, srv).Get(context.Background(), "/nodes/pve1/storage/ceph-rbd/status", &st); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range st {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if got := strings.Join(keys, ","); got != "active,avail,content,enabled,shared,total,type,used" {
		t.Fatalf("status keys %s", got)
	}
}
