package config

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestSpacedRunsAConfigAtMostOncePerInterval(t *testing.T) {
	now := time.Unix(1000, 0)
	runs := map[string]int{}
	s := &spaced{
		inner: reconcile.Func(func(_ context.Context, r reconcile.Request) (reconcile.Result, error) {
			runs[r.Name]++
			return reconcile.Result{}, nil
		}),
		every: 5 * time.Second, last: map[reconcile.Request]time.Time{}, now: func() time.Time { return now },
	}
	a, b := reconcile.Request{NamespacedName: types.NamespacedName{Name: "a"}}, reconcile.Request{NamespacedName: types.NamespacedName{Name: "b"}}
	ctx := context.Background()
	if res, _ := s.Reconcile(ctx, a); res.RequeueAfter != 0 || runs["a"] != 1 {
		t.Fatalf("first request: %+v, runs %d; want a run", res, runs["a"])
	}
	now = now.Add(2 * time.Second)
	if res, _ := s.Reconcile(ctx, a); res.RequeueAfter != 3*time.Second || runs["a"] != 1 {
		t.Fatalf("request 2 s later: %+v, runs %d; want it put off 3 s", res, runs["a"])
	}
	// Another config is not held back by the first.
	if res, _ := s.Reconcile(ctx, b); res.RequeueAfter != 0 || runs["b"] != 1 {
		t.Fatalf("other config: %+v, runs %d; want a run", res, runs["b"])
	}
	now = now.Add(3 * time.Second)
	if res, _ := s.Reconcile(ctx, a); res.RequeueAfter != 0 || runs["a"] != 2 {
		t.Fatalf("request 5 s after the run: %+v, runs %d; want a second run", res, runs["a"])
	}
}
