// Package pkgruntime is the package runtime Crossplane core expects when it runs with
// --package-runtime=External (there is no kubelet here): for every Active ProviderRevision and
// FunctionRevision it writes the TLS Secrets the revision names (signed by the root CA core init
// made), pulls the revision's package image from the registry, runs the image's entrypoint as a
// local process with the args and env of the revision's DeploymentRuntimeConfig, and reports what
// a Deployment runtime reports: the observed TLS Secret names, a function's endpoint, and the
// RuntimeHealthy and RuntimeActive conditions. Inactive revisions' processes are stopped.
// It also serves the loopback OCI registry the packages are pulled from (registry.go).
package pkgruntime

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"
)

const (
	// RootCASecret is the Secret core init fills with the CA it trusts for functions.
	RootCASecret = "crossplane-root-ca"
	// containerName is the runtime container a DeploymentRuntimeConfig's template configures.
	containerName = "package-runtime"
	// stopGrace is how long a process gets between SIGTERM and SIGKILL (a pod's default grace).
	stopGrace = 30 * time.Second
)

var drcGVK = schema.GroupVersionKind{Group: "pkg.crossplane.io", Version: "v1beta1", Kind: "DeploymentRuntimeConfig"}

// Options configure a Runtime.
type Options struct {
	// Namespace where Crossplane keeps its Secrets (crossplane-system).
	Namespace string
	// Dir holds unpacked images, TLS files and process logs.
	Dir string
	// Kubeconfig is given to providers as KUBECONFIG (the in-cluster credentials of a pod).
	Kubeconfig string
	// Env is the environment every process starts from (e.g. proxies); nil: none but PATH.
	Env []string
	// Interval between two passes over the revisions.
	Interval time.Duration
	Log      *log.Logger
}

// Runtime runs package revisions as local processes.
type Runtime struct {
	o     Options
	kube  client.Client
	mu    sync.Mutex
	procs map[string]*process
	ports map[string]int
	// images are the unpacked images of live revisions by revision name and image reference: a
	// revision's image never changes (another image is another revision), so it is pulled once,
	// not on every pass.
	images map[string]*unpacked
}

// New returns a Runtime talking to the API server of cfg.
func New(cfg *rest.Config, o Options) (*Runtime, error) {
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := pkgv1.AddToScheme(s); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, err
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Log == nil {
		o.Log = log.New(os.Stderr, "package-runtime: ", log.LstdFlags)
	}
	for _, d := range []string{"images", "tls", "logs"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	return &Runtime{o: o, kube: c, procs: map[string]*process{}, ports: map[string]int{}, images: map[string]*unpacked{}}, nil
}

// Run passes over the revisions every Interval until ctx ends, then stops every process.
func (r *Runtime) Run(ctx context.Context) error {
	defer r.stopAll()
	t := time.NewTicker(r.o.Interval)
	defer t.Stop()
	var lastErr string
	for {
		if err := r.Sync(ctx); err != nil && ctx.Err() == nil && err.Error() != lastErr {
			r.o.Log.Printf("sync: %v", err)
			lastErr = err.Error()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sync makes one pass: stop inactive or deleted revisions' processes, then run the active ones.
func (r *Runtime) Sync(ctx context.Context) error {
	var revs []pkgv1.PackageRevisionWithRuntime
	prs := &pkgv1.ProviderRevisionList{}
	if err := r.kube.List(ctx, prs); err != nil {
		return err
	}
	for i := range prs.Items {
		revs = append(revs, &prs.Items[i])
	}
	frs := &pkgv1.FunctionRevisionList{}
	if err := r.kube.List(ctx, frs); err != nil {
		return err
	}
	for i := range frs.Items {
		revs = append(revs, &frs.Items[i])
	}
	// Stop first: an upgraded provider's new revision may take the ports of the old one.
	live := map[string]bool{}
	for _, rev := range revs {
		if rev.GetDesiredState() == pkgv1.PackageRevisionActive && rev.GetDeletionTimestamp() == nil {
			live[rev.GetName()] = true
		}
	}
	r.mu.Lock()
	for name, p := range r.procs {
		if !live[name] {
			r.o.Log.Printf("stopping %s (pid %d): revision no longer active", name, p.pid())
			p.stop(stopGrace)
			delete(r.procs, name)
		}
	}
	for key := range r.images {
		if rev, _, _ := strings.Cut(key, "\x00"); !live[rev] {
			delete(r.images, key)
		}
	}
	r.mu.Unlock()
	var errs []string
	for _, rev := range revs {
		if !live[rev.GetName()] {
			continue
		}
		if err := r.ensure(ctx, rev); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", rev.GetName(), err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func (r *Runtime) stopAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	var wg sync.WaitGroup
	for name, p := range r.procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop(stopGrace) }()
		delete(r.procs, name)
	}
	wg.Wait()
}

// ensure runs one active revision and writes its runtime status. Under the External runtime core
// does not copy the package's runtime fields to its revisions, so they are read from the package:
// its runtimeConfigRef and its TLS Secret names (<package>-tls-server, <package>-tls-client).
func (r *Runtime) ensure(ctx context.Context, rev pkgv1.PackageRevisionWithRuntime) error {
	_, isFn := rev.(*pkgv1.FunctionRevision)
	pkgName := rev.GetLabels()[pkgv1.LabelParentPackage]
	var pkg pkgv1.PackageWithRuntime = &pkgv1.Provider{}
	if isFn {
		pkg = &pkgv1.Function{}
	}
	if err := r.kube.Get(ctx, types.NamespacedName{Name: pkgName}, pkg); err != nil {
		return fmt.Errorf("cannot get the revision's package %q: %w", pkgName, err)
	}
	server := pkg.GetTLSServerSecretName()
	serverData, err := r.ensureSecret(ctx, rev, *server, pkgName)
	if err != nil {
		return err
	}
	var client *string
	if !isFn {
		client = pkg.GetTLSClientSecretName()
		if _, err := r.ensureSecret(ctx, rev, *client, rev.GetName()); err != nil {
			return err
		}
	}
	healthy, msg, endpoint := false, "", ""
	p, err := r.process(ctx, rev, pkg.GetRuntimeConfigRef(), isFn, serverData)
	if err != nil {
		msg = err.Error()
	} else {
		healthy, msg = p.running()
		if isFn {
			endpoint = fmt.Sprintf("127.0.0.1:%d", r.ports[rev.GetName()])
		}
	}
	return r.writeStatus(ctx, rev, *server, client, endpoint, healthy, msg)
}

// ensureSecret makes sure the Secret name holds a certificate from the root CA for commonName.
func (r *Runtime) ensureSecret(ctx context.Context, rev pkgv1.PackageRevisionWithRuntime, name, commonName string) (map[string][]byte, error) {
	ca := &corev1.Secret{}
	if err := r.kube.Get(ctx, types.NamespacedName{Namespace: r.o.Namespace, Name: RootCASecret}, ca); err != nil {
		if kerrors.IsNotFound(err) {
			return nil, errNoCA
		}
		return nil, err
	}
	s := &corev1.Secret{}
	err := r.kube.Get(ctx, types.NamespacedName{Namespace: r.o.Namespace, Name: name}, s)
	if err != nil && !kerrors.IsNotFound(err) {
		return nil, err
	}
	if err == nil && validFor(s.Data, ca.Data[keyCert], time.Now()) {
		return s.Data, nil
	}
	data, ierr := issue(ca.Data[keyCert], ca.Data[keyKey], commonName, []string{commonName, commonName + "." + r.o.Namespace}, time.Now())
	if ierr != nil {
		return nil, fmt.Errorf("cannot issue a certificate for %s: %w", name, ierr)
	}
	if kerrors.IsNotFound(err) {
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: r.o.Namespace, Name: name,
			OwnerReferences: []metav1.OwnerReference{ownerRef(rev)}}, Type: corev1.SecretTypeTLS, Data: data}
		return data, r.kube.Create(ctx, s)
	}
	s.Data = data
	return data, r.kube.Update(ctx, s)
}

func ownerRef(rev pkgv1.PackageRevisionWithRuntime) metav1.OwnerReference {
	kind := pkgv1.ProviderRevisionKind
	if _, ok := rev.(*pkgv1.FunctionRevision); ok {
		kind = pkgv1.FunctionRevisionKind
	}
	return metav1.OwnerReference{APIVersion: pkgv1.SchemeGroupVersion.String(), Kind: kind, Name: rev.GetName(), UID: rev.GetUID()}
}

// process returns the revision's process, started from its image with its runtime config; a
// changed image or config restarts it.
func (r *Runtime) process(ctx context.Context, rev pkgv1.PackageRevisionWithRuntime, rc *pkgv1.RuntimeConfigReference, isFn bool, tlsData map[string][]byte) (*process, error) {
	ref := rev.GetResolvedSource()
	if ref == "" {
		ref = rev.GetSource()
	}
	img, err := r.image(rev.GetName(), ref)
	if err != nil {
		return nil, err
	}
	args, env, err := r.runtimeConfig(ctx, rc)
	if err != nil {
		return nil, err
	}
	name := rev.GetName()
	env = append(append(slices.Clone(r.baseEnv()), env...), "POD_NAMESPACE="+r.o.Namespace, "POD_NAME="+name)
	if isFn {
		dir := filepath.Join(r.o.Dir, "tls", name)
		if err := writeTLS(dir, tlsData); err != nil {
			return nil, err
		}
		port, err := r.port(name)
		if err != nil {
			return nil, err
		}
		env = append(env, "TLS_SERVER_CERTS_DIR="+dir)
		args = append(args, fmt.Sprintf("--address=127.0.0.1:%d", port))
	} else {
		env = append(env, "KUBECONFIG="+r.o.Kubeconfig)
	}
	path, pre := img.command()
	args = append(pre, args...)
	key := strings.Join(append(slices.Clone(args), env...), "\x00")
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.procs[name]; ok {
		if p.digest == img.Digest && p.argsKey == key {
			return p, nil
		}
		r.o.Log.Printf("restarting %s: its image or runtime config changed", name)
		p.stop(stopGrace)
		delete(r.procs, name)
	}
	p := &process{rev: name, digest: img.Digest, argsKey: key, path: path, args: args, env: env,
		logFile: filepath.Join(r.o.Dir, "logs", name+".log")}
	if err := p.start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", path, err)
	}
	r.o.Log.Printf("started %s (pid %d) from %s %s, log %s", name, p.pid(), ref, img.Digest, p.logFile)
	r.procs[name] = p
	return p, nil
}

// image returns revision rev's unpacked image, pulled from ref the first time only.
func (r *Runtime) image(rev, ref string) (*unpacked, error) {
	key := rev + "\x00" + ref
	r.mu.Lock()
	img, ok := r.images[key]
	r.mu.Unlock()
	if ok {
		return img, nil
	}
	img, err := unpackImage(r.o.Dir, ref)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.images[key] = img
	r.mu.Unlock()
	return img, nil
}

func (r *Runtime) baseEnv() []string {
	if r.o.Env != nil {
		return r.o.Env
	}
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
}

// port returns the loopback port a function revision serves on, picked once per revision.
func (r *Runtime) port(rev string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.ports[rev]; ok {
		return p, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	p := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	r.ports[rev] = p
	return p, nil
}

func writeTLS(dir string, data map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, k := range []string{keyCert, keyKey, keyCA} {
		if err := os.WriteFile(filepath.Join(dir, k), data[k], 0o600); err != nil {
			return err
		}
	}
	return nil
}

// runtimeConfig returns the args and env of the package-runtime container in the revision's
// DeploymentRuntimeConfig the package names (default: "default", which core init creates).
func (r *Runtime) runtimeConfig(ctx context.Context, ref *pkgv1.RuntimeConfigReference) ([]string, []string, error) {
	name := "default"
	if ref != nil && ref.Name != "" {
		name = ref.Name
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(drcGVK)
	if err := r.kube.Get(ctx, types.NamespacedName{Name: name}, u); err != nil {
		return nil, nil, fmt.Errorf("cannot get DeploymentRuntimeConfig %q: %w", name, err)
	}
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "deploymentTemplate", "spec", "template", "spec", "containers")
	for _, c := range containers {
		m, ok := c.(map[string]any)
		if !ok || m["name"] != containerName {
			continue
		}
		args, _, _ := unstructured.NestedStringSlice(m, "args")
		var env []string
		envs, _, _ := unstructured.NestedSlice(m, "env")
		for _, e := range envs {
			em, ok := e.(map[string]any)
			if !ok {
				continue
			}
			n, _ := em["name"].(string)
			v, ok := em["value"].(string)
			if n == "" || !ok {
				return nil, nil, fmt.Errorf("DeploymentRuntimeConfig %q: env %q: only literal values are supported by this runtime", name, n)
			}
			env = append(env, n+"="+v)
		}
		return args, env, nil
	}
	return nil, nil, nil
}

// writeStatus reports what a Deployment runtime reports, writing only when something changed.
func (r *Runtime) writeStatus(ctx context.Context, rev pkgv1.PackageRevisionWithRuntime, server string, client *string, endpoint string, healthy bool, msg string) error {
	want := pkgv1.RuntimeHealthy()
	if !healthy {
		want = pkgv1.RuntimeUnhealthy().WithMessage(msg)
	}
	cur := rev.GetCondition(want.Type)
	obs := rev.GetObservedTLSServerSecretName()
	fr, isFn := rev.(*pkgv1.FunctionRevision)
	same := cur.Status == want.Status && cur.Message == want.Message && obs != nil && *obs == server &&
		rev.GetCondition(pkgv1.TypeRuntimeActive).Status == corev1.ConditionTrue
	if isFn {
		same = same && fr.Status.Endpoint == endpoint
	}
	if client != nil {
		o := rev.GetObservedTLSClientSecretName()
		same = same && o != nil && *o == *client
		rev.SetObservedTLSClientSecretName(client)
	}
	if same {
		return nil
	}
	rev.SetObservedTLSServerSecretName(&server)
	if isFn {
		fr.Status.Endpoint = endpoint
	}
	rev.SetConditions(want, pkgv1.RuntimeActive())
	if err := r.kube.Status().Update(ctx, rev); err != nil && !kerrors.IsConflict(err) {
		return err
	}
	return nil
}
