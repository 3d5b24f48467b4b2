package ceph

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

// Many pools, one observation per poll: the controllers' shared client sends about one
// `osd pool ls detail` and one `osd crush dump` per poll interval, however many MRs it observes.
func TestOneObservationPerPoll(t *testing.T) {
	h := newHarness(t)
	const n = 12
	pools := make([]*cephv1alpha1.Pool, n)
	for i := range pools {
		name := h.name(fmt.Sprintf("many%02d", i))
		h.cleanup(func() { _ = h.ceph.DeletePool(name) })
		pools[i] = h.pool(name, cephv1alpha1.PoolParameters{Size: ptr(int32(1)), PGNum: ptr(int32(1))})
		h.create(pools[i])
	}
	for _, p := range pools {
		h.waitReady(p)
	}
	// the client the controllers share for this site (same monitors, user and key text as the
	// ProviderConfig resolves to)
	shared, err := h.clients.Get(context.Background(), cephclient.Config{
		Monitors: h.cfg.Monitors, ClientName: "admin", Key: strings.TrimSpace(h.cfg.Key)})
	if err != nil {
		t.Fatal(err)
	}
	ls0, dump0 := shared.CommandCount("osd pool ls"), shared.CommandCount("osd crush dump")
	const window = 5 * pollInterval
	time.Sleep(window)
	ls, dump := shared.CommandCount("osd pool ls")-ls0, shared.CommandCount("osd crush dump")-dump0
	// every MR is observed about once per poll interval: n*5 Observes in the window
	maxFetches := int64(window/(pollInterval*9/10)) + 2
	t.Logf("%d pools over %s (~%d Observes): %d `osd pool ls detail`, %d `osd crush dump`", n, window, n*5, ls, dump)
	if ls == 0 || ls > maxFetches || dump > maxFetches {
		t.Fatalf("want 1..%d fetches of each in %s, got %d pool ls / %d crush dump", maxFetches, window, ls, dump)
	}
}
