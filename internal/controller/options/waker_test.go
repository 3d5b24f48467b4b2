package options

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// An urgent wake is taken before the work already queued; a plain wake
// waits its turn.
func TestWakeUrgentlyGoesFirst(t *testing.T) {
	q := priorityqueue.New[reconcile.Request]("waker-test")
	defer q.ShutDown()
	var w Waker
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.Source().Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	key := func(n string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: n} }
	w.Wake(key("queued-1"))
	w.Wake(key("queued-2"))
	w.WakeUrgently(key("site-down"))
	w.Wake(key("queued-3"))
	var got []string
	for range 4 {
		item, _, shutdown := q.GetWithPriority()
		if shutdown {
			t.Fatal("queue shut down")
		}
		got = append(got, item.Name)
		q.Done(item)
	}
	want := []string{"site-down", "queued-1", "queued-2", "queued-3"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("taken in order %v, want %v", got, want)
		}
	}
}
