package ceph

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
	cephctl "github.com/microcloud-dev/provider-microcloud/internal/controller/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

// pollInterval is short so drift made with the ceph CLI is seen within seconds.
const pollInterval = 2 * time.Second

// harness is one test's world: an API server namespace with a ProviderConfig for the Ceph
// cluster, the provider's Ceph controllers running, and a direct client to check Ceph.
type harness struct {
	t    *testing.T
	kube client.Client
	ns   string
	conf string
	ceph *cephclient.Client
	// clients are the controllers' shared Ceph clients.
	clients *cephclient.Clients
	// rgwClients are the controllers' shared RADOS Gateway clients.
	rgwClients *rgw.Clients
	cfg        cephclient.Config
	// ref points MRs at the namespaced ProviderConfig of this test.
	ref *xpv2.ProviderConfigReference
	// cleanups remove Ceph objects after the manager stopped, so no controller recreates them.
	cleanups []func()
	// mrs are the managed resources this test created; they are deleted before the manager stops
	// so no later test's controllers pick them up again.
	mrs []client.Object
}

// cleanup registers fn to run at the end of the test, after the controllers stopped.
func (h *harness) cleanup(fn func()) { h.cleanups = append(h.cleanups, fn) }

func newHarness(t *testing.T) *harness {
	t.Helper()
	conf := envtest.RequireEnv(t, "CEPH_CONF")
	env := envtest.Start(t)
	if err := cephv1alpha1.SchemeBuilder.AddToScheme(env.Scheme); err != nil {
		t.Fatal(err)
	}
	cfg, err := cephclient.ConfigFromConfFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := cephclient.Connect(cfg, time.Millisecond) // always a fresh snapshot
	if err != nil {
		t.Fatalf("cannot connect to Ceph: %v", err)
	}
	t.Cleanup(direct.Close)
	h := &harness{t: t, kube: env.Client, ns: env.Namespace(t), conf: conf, ceph: direct, cfg: cfg,
		ref: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "ceph"}}
	h.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "ceph-keyring"}, Data: map[string][]byte{"keyring": []byte(cfg.Key)}})
	h.create(&v1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "ceph"},
		Spec: v1alpha1.ProviderConfigSpec{SiteSpec: v1alpha1.SiteSpec{Ceph: &v1alpha1.CephConfig{
			Monitors:         cfg.Monitors,
			ClientName:       "admin",
			KeyringSecretRef: v1alpha1.SecretKeySelector{Name: "ceph-keyring", Key: "keyring"},
			ObjectStore:      h.objectStoreConfig(""),
		}}},
	})
	// registered before the manager, so it runs after the manager stopped (cleanups are LIFO)
	t.Cleanup(func() {
		for i := len(h.cleanups) - 1; i >= 0; i-- {
			h.cleanups[i]()
		}
	})
	// the controllers' Ceph clients, which tests that count commands or inject faults look at
	h.clients = cephclient.NewClients(site.SnapshotAge(pollInterval))
	h.rgwClients = rgw.NewClients()
	env.StartManager(t, func(mgr ctrl.Manager) error {
		return cephctl.Setup(mgr, options.Options{Options: controller.Options{
			Logger:                  testLogger(),
			PollInterval:            pollInterval,
			MaxConcurrentReconciles: 4,
			GlobalRateLimiter:       ratelimiter.NewGlobal(100),
		}, Ceph: h.clients, RGW: h.rgwClients})
	})
	// runs before the manager stops (LIFO)
	t.Cleanup(h.deleteMRs)
	return h
}

// deleteMRs deletes every MR the test created and waits until the controllers have let go of
// them; whatever is still stuck after a while (e.g. a bucket Ceph refuses to remove) loses its
// finalizer so it cannot haunt later tests.
func (h *harness) deleteMRs() {
	ctx := context.Background()
	for _, o := range h.mrs {
		_ = h.kube.Delete(ctx, o)
	}
	start := time.Now()
	deadline := start.Add(45 * time.Second)
	for round := 0; ; round++ {
		left := 0
		for _, o := range h.mrs {
			if err := h.get(o); err == nil {
				left++
				// out of any error backoff now and then; poking every round would make the
				// controller's own writes conflict with ours
				if round%10 == 0 {
					h.poke(o)
				}
			}
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, o := range h.mrs {
		if err := h.get(o); err == nil {
			h.t.Logf("removing the finalizer of %s, which is still not deleted", o.GetName())
			o.SetFinalizers(nil)
			_ = h.kube.Update(ctx, o)
		}
	}
}

// name gives Ceph objects names unique per run, so reruns on one cluster never collide.
func (h *harness) name(prefix string) string {
	return fmt.Sprintf("%s-%s", prefix, h.ns[len(h.ns)-5:])
}

func (h *harness) create(o client.Object) {
	h.t.Helper()
	if o.GetNamespace() == "" {
		o.SetNamespace(h.ns)
	}
	if err := h.kube.Create(context.Background(), o); err != nil {
		h.t.Fatalf("cannot create %T %s: %v", o, o.GetName(), err)
	}
	if _, ok := o.(resource.Managed); ok { // not the ProviderConfig: the MRs need it to be deleted
		h.mrs = append(h.mrs, o)
	}
}

// update applies mutate to the latest version of o, retrying on conflicts.
func (h *harness) update(o client.Object, mutate func()) {
	h.t.Helper()
	for i := 0; i < 10; i++ {
		if err := h.kube.Get(context.Background(), client.ObjectKeyFromObject(o), o); err != nil {
			h.t.Fatalf("cannot get %s: %v", o.GetName(), err)
		}
		mutate()
		err := h.kube.Update(context.Background(), o)
		if err == nil {
			return
		}
		if !kerrors.IsConflict(err) {
			h.t.Fatalf("cannot update %s: %v", o.GetName(), err)
		}
	}
	h.t.Fatalf("cannot update %s: conflicts", o.GetName())
}

// poke changes an annotation so the controller reconciles o now rather than after its error
// backoff; an object already gone is fine.
func (h *harness) poke(o client.Object) {
	h.t.Helper()
	for i := 0; i < 10; i++ {
		if err := h.get(o); err != nil {
			return
		}
		a := o.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a["test.microcloud.dev/poke"] = time.Now().Format(time.RFC3339Nano)
		o.SetAnnotations(a)
		if err := h.kube.Update(context.Background(), o); err == nil || kerrors.IsNotFound(err) {
			return
		}
	}
}

func (h *harness) delete(o client.Object) {
	h.t.Helper()
	if err := h.kube.Delete(context.Background(), o); err != nil && !kerrors.IsNotFound(err) {
		h.t.Fatalf("cannot delete %s: %v", o.GetName(), err)
	}
}

// testLogger is silent unless MICROCLOUD_TEST_DEBUG=1, which logs every reconcile to stderr.
func testLogger() logging.Logger {
	if os.Getenv("MICROCLOUD_TEST_DEBUG") != "1" {
		return logging.NewNopLogger()
	}
	return logging.NewLogrLogger(zap.New(zap.UseDevMode(true)))
}

// conditioned is any MR: its conditions are what the tests wait on.
type conditioned interface {
	client.Object
	GetCondition(xpv2.ConditionType) xpv2.Condition
}

// eventually polls check until it holds, failing with describe's text after timeout.
func (h *harness) eventually(timeout time.Duration, what string, check func() bool, describe func() string) {
	h.t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		if check() {
			h.t.Logf("%.1fs for %s", time.Since(start).Seconds(), what)
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out after %s waiting for %s; %s", timeout, what, describe())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (h *harness) get(o client.Object) error {
	return h.kube.Get(context.Background(), client.ObjectKeyFromObject(o), o)
}

func conditions(o conditioned) string {
	var b strings.Builder
	for _, t := range []xpv2.ConditionType{xpv2.TypeReady, xpv2.TypeSynced} {
		c := o.GetCondition(t)
		fmt.Fprintf(&b, "%s=%s (%s: %s) ", t, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

// waitCondition waits until o's condition of type ct has status and (if given) a message
// containing msg.
func (h *harness) waitCondition(o conditioned, ct xpv2.ConditionType, status corev1.ConditionStatus, msg string, timeout time.Duration) {
	h.t.Helper()
	h.eventually(timeout, fmt.Sprintf("%s %s=%s %q", o.GetName(), ct, status, msg), func() bool {
		if err := h.get(o); err != nil {
			return false
		}
		c := o.GetCondition(ct)
		return c.Status == status && strings.Contains(c.Message, msg)
	}, func() string { return conditions(o) })
}

// waitReady waits for Ready=True and Synced=True.
func (h *harness) waitReady(o conditioned) {
	h.t.Helper()
	h.waitCondition(o, xpv2.TypeSynced, corev1.ConditionTrue, "", 60*time.Second)
	h.waitCondition(o, xpv2.TypeReady, corev1.ConditionTrue, "", 60*time.Second)
}

// waitGone waits until the MR has left the API server (its finalizer ran).
func (h *harness) waitGone(o client.Object) {
	h.t.Helper()
	h.eventually(60*time.Second, o.GetName()+" to be deleted", func() bool {
		return kerrors.IsNotFound(h.get(o))
	}, func() string {
		if c, ok := o.(conditioned); ok {
			return conditions(c)
		}
		return ""
	})
}

// snapshot reads Ceph afresh.
func (h *harness) snapshot() *cephclient.Snapshot {
	h.t.Helper()
	h.ceph.Invalidate()
	s, err := h.ceph.Snapshot(context.Background())
	if err != nil {
		h.t.Fatalf("cannot read Ceph: %v", err)
	}
	return s
}

// cephUntil polls Ceph until check holds.
func (h *harness) cephUntil(what string, check func(s *cephclient.Snapshot) bool) {
	h.t.Helper()
	var last *cephclient.Snapshot
	h.eventually(60*time.Second, what, func() bool {
		last = h.snapshot()
		return check(last)
	}, func() string { return "Ceph did not get there" })
}

// cli runs the ceph (or rbd) command line tool against the test cluster, the way an operator
// making drift would.
func (h *harness) cli(tool string, args ...string) string {
	h.t.Helper()
	out, err := exec.Command(tool, append([]string{"--conf", h.conf}, args...)...).CombinedOutput() //nolint:gosec // test input
	if err != nil {
		h.t.Fatalf("%s %s: %v: %s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func ptr[T any](v T) *T { return &v }
