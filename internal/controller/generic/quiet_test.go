package generic

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
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

func TestConfigUpdatesThatChangeNothingAreSkipped(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1alpha1.SchemeBuilder.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	pool := &v1alpha1.Pool{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", Finalizers: []string{"in-use"}}}
	kube := fake.NewClientBuilder().WithScheme(s).WithObjects(pool).WithStatusSubresource(pool).Build()
	c := quietClient{Client: kube, controller: "config-test", skipSame: true}
	ctx := context.Background()
	skipped := func() float64 { return testutil.ToFloat64(updatesSkipped.WithLabelValues("config-test")) }
	if err := kube.Get(ctx, client.ObjectKeyFromObject(pool), pool); err != nil {
		t.Fatal(err)
	}
	rv := pool.GetResourceVersion()
	// The finalizer it ensures is there already: nothing is sent.
	pool.SetConditions(xpv2.Available()) // status is not the Update's
	if err := c.Update(ctx, pool); err != nil || skipped() != 1 || pool.GetResourceVersion() != rv {
		t.Fatalf("unchanged update: err %v, skipped %v, resource version %s -> %s; want one skip", err, skipped(), rv, pool.GetResourceVersion())
	}
	// A change is sent.
	pool.SetFinalizers(append(pool.GetFinalizers(), "another"))
	if err := c.Update(ctx, pool); err != nil || skipped() != 1 || pool.GetResourceVersion() == rv {
		t.Fatalf("changed update: err %v, skipped %v, resource version %s -> %s; want it written", err, skipped(), rv, pool.GetResourceVersion())
	}
	// So is one from a copy the cache has moved past (the API server refuses it).
	pool.SetResourceVersion(rv)
	pool.SetFinalizers([]string{"in-use"})
	if err := c.Update(ctx, pool); err == nil || skipped() != 1 {
		t.Fatalf("stale update: err %v, skipped %v; want a conflict from the API server", err, skipped())
	}
}

// bareManager is a manager with only a client.
type bareManager struct {
	ctrl.Manager
	c client.Client
}

func (m bareManager) GetClient() client.Client { return m.c }

// The reconcilers are built from the wrapped manager's GetClient: a wrapper
// that lost its own would hand them the manager's unwrapped client.
func TestQuietManagersHandOutTheirClient(t *testing.T) {
	kube := fake.NewClientBuilder().Build()
	for name, m := range map[string]ctrl.Manager{
		"managed": quiet(bareManager{c: kube}, "test", nil, nil),
		"configs": QuietConfigs(bareManager{c: kube}, "test"),
	} {
		if _, ok := m.GetClient().(quietClient); !ok {
			t.Errorf("%s: GetClient() is %T, want the quiet client", name, m.GetClient())
		}
	}
}
