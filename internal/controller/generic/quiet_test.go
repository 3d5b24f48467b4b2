package generic

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

func TestStatusWritesThatChangeNothingAreSkipped(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1alpha1.SchemeBuilder.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	pool := &v1alpha1.Pool{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}}
	kube := fake.NewClientBuilder().WithScheme(s).WithObjects(pool).WithStatusSubresource(pool).Build()
	var lost []types.UID
	c := quietClient{Client: kube, controller: "test", lost: func(uid types.UID) { lost = append(lost, uid) }}
	ctx := context.Background()
	skipped := func() float64 { return testutil.ToFloat64(statusWritesSkipped.WithLabelValues("test")) }

	if err := kube.Get(ctx, client.ObjectKeyFromObject(pool), pool); err != nil {
		t.Fatal(err)
	}
	pool.SetConditions(xpv2.Available())
	if err := c.Status().Update(ctx, pool); err != nil {
		t.Fatal(err)
	}
	rv := pool.GetResourceVersion()
	before := skipped()
	// The same status again, as the reconciler writes it after every poll.
	pool.SetConditions(xpv2.Available())
	if err := c.Status().Update(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if skipped() != before+1 || pool.GetResourceVersion() != rv {
		t.Fatalf("unchanged status: skipped %v -> %v, resource version %s -> %s; want one skip and no write", before, skipped(), rv, pool.GetResourceVersion())
	}
	// A change is written.
	pool.SetConditions(xpv2.Unavailable().WithMessage("gone"))
	if err := c.Status().Update(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if pool.GetResourceVersion() == rv {
		t.Fatal("a changed status was not written")
	}
	stored := &v1alpha1.Pool{}
	if err := kube.Get(ctx, client.ObjectKeyFromObject(pool), stored); err != nil {
		t.Fatal(err)
	}
	if got := stored.GetCondition(xpv2.TypeReady).Message; got != "gone" {
		t.Fatalf("stored Ready message %q, want gone", got)
	}
	// An object older than the stored one is sent (and refused as a conflict), never skipped.
	stale := pool.DeepCopy()
	stale.SetResourceVersion(rv)
	if err := c.Status().Update(ctx, stale); err == nil {
		t.Fatal("a stale status write succeeded")
	}
	// The refused write is reported, so the guard knows the status it
	// carried (a failure's message) does not show; the writes stored were not.
	if len(lost) != 1 || lost[0] != stale.GetUID() {
		t.Fatalf("lost writes reported: %v, want the stale one only", lost)
	}
}
