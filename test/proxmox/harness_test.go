package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	goproxmox "github.com/luthermonson/go-proxmox"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	mcv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	proxmoxclient "github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/config"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	proxmoxctl "github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox"
	proxmoxsite "github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/virtualmachine"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim/pvesimtest"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

const pollInterval = time.Second

// The backoff of failing resources in these tests: short, so a test that
// clears a fault sees convergence within seconds.
const (
	retryBase = 100 * time.Millisecond
	retryMax  = 2 * time.Second
)

// site is one test's world: an API server namespace with a ProviderConfig
// pointing at its own simulator, and a raw PVE client to check the backend.
type site struct {
	env *envtest.Env
	ns  string
	sim *pvesim.Server
	pve *goproxmox.Client
}

func newSite(t *testing.T, simOpts pvesim.Options) *site {
	t.Helper()
	env := envtest.Start(t)
	if simOpts.TaskDuration == 0 {
		simOpts.TaskDuration = 100 * time.Millisecond
	}
	srv := pvesimtest.Start(t, simOpts)
	sim := srv.Simulator
	s := &site{env: env, ns: env.Namespace(t), sim: srv}
	s.pve = goproxmox.NewClient(srv.URL, goproxmox.WithHTTPClient(srv.HTTPClient()), goproxmox.WithAPIToken(sim.TokenID, sim.Secret))

	ctx := context.Background()
	mustCreate(t, env.Client,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "pve"}, Data: map[string][]byte{
			"token": []byte(sim.TokenID + "=" + sim.Secret), "ca.crt": srv.CACertPEM}},
		&mcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "default"}, Spec: mcv1alpha1.ProviderConfigSpec{SiteSpec: mcv1alpha1.SiteSpec{
			Proxmox: &mcv1alpha1.ProxmoxConfig{
				Endpoint:       "https://" + srv.Addr,
				TokenSecretRef: mcv1alpha1.SecretKeySelector{Name: "pve", Key: "token"},
				CABundle:       &mcv1alpha1.CABundleSource{SecretKeyRef: &mcv1alpha1.SecretKeySelector{Name: "pve", Key: "ca.crt"}},
			}}}},
	)
	_ = ctx
	return s
}

// startProvider runs the VM and config controllers until the test ends.
func (s *site) startProvider(t *testing.T, intent options.IntentRecorder) {
	t.Helper()
	s.startStoppableProvider(t, intent)
}

// startStoppableProvider is startProvider with a function that stops it early.
func (s *site) startStoppableProvider(t *testing.T, intent options.IntentRecorder) func() {
	t.Helper()
	_, stop := s.env.StartStoppableManager(t, func(mgr ctrl.Manager) error {
		o := testOptions()
		o.Intent = intent
		o.Proxmox = proxmoxclient.NewRegistry(proxmoxsite.RegistryOptions(o))
		if err := config.Setup(mgr, o); err != nil {
			return err
		}
		return virtualmachine.Setup(mgr, o)
	})
	return stop
}

// testOptions are the controller options of these tests: a 1s poll and a
// short retry backoff.
func testOptions() options.Options {
	return options.Options{Options: controller.Options{
		Logger:                  logging.NewNopLogger(),
		GlobalRateLimiter:       ratelimiter.NewGlobal(100),
		PollInterval:            pollInterval,
		MaxConcurrentReconciles: 4,
		Features:                &feature.Flags{},
	}, RetryBase: retryBase, RetryMax: retryMax}
}

func mustCreate(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("cannot create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func (s *site) vm(name string, p v1alpha1.VirtualMachineParameters) *v1alpha1.VirtualMachine {
	vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: name}}
	vm.Spec.ForProvider = p
	vm.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	return vm
}

func cloneOf(template int64) v1alpha1.VirtualMachineParameters {
	return v1alpha1.VirtualMachineParameters{Node: "pve1", Clone: &v1alpha1.CloneSource{SourceVMID: template}}
}

// get re-reads a VM from the API server.
func (s *site) get(t *testing.T, name string) *v1alpha1.VirtualMachine {
	t.Helper()
	vm := &v1alpha1.VirtualMachine{}
	if err := s.env.Client.Get(context.Background(), types.NamespacedName{Namespace: s.ns, Name: name}, vm); err != nil {
		t.Fatalf("cannot get VM %s: %v", name, err)
	}
	return vm
}

// eventually polls cond until it returns "" or the timeout passes; cond
// returns what is still wrong.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within %s: %s", what, timeout, last)
}

// waitReady waits until the VM is Ready and Synced.
func (s *site) waitReady(t *testing.T, name string) *v1alpha1.VirtualMachine {
	t.Helper()
	return s.waitReadyWithin(t, name, 60*time.Second)
}

func (s *site) waitReadyWithin(t *testing.T, name string, timeout time.Duration) *v1alpha1.VirtualMachine {
	t.Helper()
	var vm *v1alpha1.VirtualMachine
	eventually(t, timeout, "VM "+name+" Ready", func() string {
		vm = s.get(t, name)
		r, sy := vm.GetCondition(xpv2.TypeReady), vm.GetCondition(xpv2.TypeSynced)
		if r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue {
			return fmt.Sprintf("ready=%s(%s: %s) synced=%s(%s: %s) atProvider=%+v annotations=%v guests=%+v", r.Status, r.Reason, r.Message, sy.Status, sy.Reason, sy.Message,
				vm.Status.AtProvider, vm.GetAnnotations(), s.guestsNamed(t, name))
		}
		return ""
	})
	return vm
}

// guestConfig reads a VM's config straight from the simulator.
func (s *site) guestConfig(t *testing.T, node string, vmid int) map[string]any {
	t.Helper()
	cfg := map[string]any{}
	if err := s.pve.Get(context.Background(), fmt.Sprintf("/nodes/%s/qemu/%d/config", node, vmid), &cfg); err != nil {
		t.Fatalf("cannot read VM %d config from the simulator: %v", vmid, err)
	}
	return cfg
}

type guestRow struct {
	VMID   int    `json:"vmid"`
	Name   string `json:"name"`
	Node   string `json:"node"`
	Status string `json:"status"`
	Tags   string `json:"tags"`
}

// guests lists the simulator's VMs.
func (s *site) guests(t *testing.T) []guestRow {
	t.Helper()
	var rs []guestRow
	if err := s.pve.Get(context.Background(), "/cluster/resources?type=vm", &rs); err != nil {
		t.Fatalf("cannot list guests: %v", err)
	}
	return rs
}

func (s *site) guestsNamed(t *testing.T, name string) []guestRow {
	var out []guestRow
	for _, g := range s.guests(t) {
		if g.Name == name {
			out = append(out, g)
		}
	}
	return out
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(int64(x))
	}
	return fmt.Sprint(v)
}

func hasTag(tags, tag string) bool {
	for _, t := range strings.FieldsFunc(tags, func(r rune) bool { return r == ';' || r == ',' }) {
		if t == tag {
			return true
		}
	}
	return false
}

// startProxmox runs the config controller and every Proxmox controller (VMs,
// security groups, pools) until the test ends.
func (s *site) startProxmox(t *testing.T) {
	t.Helper()
	s.startProxmoxWith(t, nil)
}

// startProxmoxWith is startProxmox with the options changed by tune.
func (s *site) startProxmoxWith(t *testing.T, tune func(*options.Options)) {
	t.Helper()
	s.env.StartManager(t, func(mgr ctrl.Manager) error {
		o := testOptions()
		if tune != nil {
			tune(&o)
		}
		if err := config.Setup(mgr, o); err != nil {
			return err
		}
		return proxmoxctl.Setup(mgr, o)
	})
}

// conditioned is a managed resource as the tests read it.
type conditioned interface {
	client.Object
	GetCondition(xpv2.ConditionType) xpv2.Condition
}

// waitObj re-reads obj until cond (given its Ready and Synced conditions)
// returns "", and fails the test with what is still wrong after timeout.
func (s *site) waitObj(t *testing.T, obj conditioned, timeout time.Duration, what string, cond func(ready, synced xpv2.Condition) string) {
	t.Helper()
	eventually(t, timeout, what, func() string {
		if err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err.Error()
		}
		r, sy := obj.GetCondition(xpv2.TypeReady), obj.GetCondition(xpv2.TypeSynced)
		if msg := cond(r, sy); msg != "" {
			return fmt.Sprintf("%s; ready=%s(%s) synced=%s(%s)", msg, r.Status, r.Message, sy.Status, sy.Message)
		}
		return ""
	})
}

// waitObjReady waits until obj is Ready and Synced.
func (s *site) waitObjReady(t *testing.T, obj conditioned) {
	t.Helper()
	s.waitObj(t, obj, 30*time.Second, obj.GetName()+" Ready", func(r, sy xpv2.Condition) string {
		if r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue {
			return "not ready"
		}
		return ""
	})
}

// waitGone waits until obj no longer exists in the API server.
func (s *site) waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	eventually(t, 30*time.Second, obj.GetName()+" deleted", func() string {
		err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if c, ok := obj.(conditioned); err == nil && ok {
			return fmt.Sprintf("still there: synced %q ready %q finalizers %v", c.GetCondition(xpv2.TypeSynced).Message, c.GetCondition(xpv2.TypeReady).Reason, obj.GetFinalizers())
		}
		if err == nil {
			return "still there"
		}
		if !kerrors.IsNotFound(err) {
			return err.Error()
		}
		return ""
	})
}

// update re-reads obj, applies change and writes it, retrying on conflicts
// with the controllers' own writes.
func (s *site) update(t *testing.T, obj client.Object, change func()) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change()
		return s.env.Client.Update(context.Background(), obj)
	}); err != nil {
		t.Fatalf("cannot update %s: %v", obj.GetName(), err)
	}
}
