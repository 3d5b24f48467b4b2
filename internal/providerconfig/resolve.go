package providerconfig

import (
	"context"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
)

const (
	errNoRef        = "no providerConfigRef is set"
	errUnknownKind  = "providerConfigRef.kind must be ProviderConfig or ClusterProviderConfig, not %q"
	errGetPC        = "cannot get ProviderConfig %s/%s"
	errGetCPC       = "cannot get ClusterProviderConfig %s"
	errTrackUsage   = "cannot track ProviderConfig usage"
	errGetSecret    = "cannot read key %q of Secret %s/%s"
	errGetConfigMap = "cannot read key %q of ConfigMap %s/%s"
	errNoKey        = "key %q not found in %s %s/%s"
	errEmptyToken   = "the Proxmox API token in Secret %s/%s is empty"
	errNoSection    = "%s has no spec.%s section, which this resource needs"
	errEmptyRGWKey  = "the object store access key or secret key (spec.ceph.objectStore) is empty"
	errTokenFormat  = "the Proxmox API token in Secret %s/%s must look like user@realm!tokenid=secret"

	defaultTimeout = 30 * time.Second
)

// DefaultMaxParallelCreates is spec.proxmox.maxParallelCreates when unset.
const DefaultMaxParallelCreates = 10

// A Section is a part of a site a managed resource kind needs.
type Section int

// The sections of a site.
const (
	SectionProxmox Section = 1 << iota
	SectionCeph
	// SectionObjectStore is the ceph section's objectStore part (the RADOS Gateway).
	SectionObjectStore
)

// A Resolver resolves the site a managed resource is configured for and
// records the resource's usage of its config.
type Resolver struct {
	kube  client.Client
	usage *resource.ProviderConfigUsageTracker
}

// NewResolver returns a Resolver reading through kube.
func NewResolver(kube client.Client) *Resolver {
	return &Resolver{kube: kube, usage: resource.NewProviderConfigUsageTracker(kube, &v1alpha1.ProviderConfigUsage{})}
}

// RefOf is the Ref of the site mg resolves to (Site.Ref), read from its
// providerConfigRef alone: "ProviderConfig/<namespace>/<name>" or
// "ClusterProviderConfig/<name>"; "" when it names no config of a known kind.
func RefOf(mg resource.ModernManaged) string {
	ref := mg.GetProviderConfigReference()
	if ref == nil {
		return ""
	}
	switch ref.Kind {
	case v1alpha1.ProviderConfigKind:
		return v1alpha1.ProviderConfigKind + "/" + mg.GetNamespace() + "/" + ref.Name
	case v1alpha1.ClusterProviderConfigKind:
		return v1alpha1.ClusterProviderConfigKind + "/" + ref.Name
	}
	return ""
}

// Resolve tracks mg's usage of its config, then reads the sections of the
// config that need asks for and the Secrets and ConfigMaps they point at. A
// section that is not needed is not read, so a broken Ceph credential does not
// stop Proxmox resources and vice versa.
func (r *Resolver) Resolve(ctx context.Context, mg resource.ModernManaged, need Section) (*Site, error) {
	ref := mg.GetProviderConfigReference()
	if ref == nil {
		return nil, errors.New(errNoRef)
	}
	if err := r.usage.Track(ctx, mg); err != nil {
		return nil, errors.Wrap(err, errTrackUsage)
	}
	var spec v1alpha1.SiteSpec
	var site Site
	// Objects a namespaced ProviderConfig points at live in its namespace;
	// a ClusterProviderConfig names their namespace (required by its CEL rules).
	ns := ""
	switch ref.Kind {
	case v1alpha1.ProviderConfigKind:
		pc := &v1alpha1.ProviderConfig{}
		if err := r.kube.Get(ctx, types.NamespacedName{Namespace: mg.GetNamespace(), Name: ref.Name}, pc); err != nil {
			return nil, errors.Wrapf(err, errGetPC, mg.GetNamespace(), ref.Name)
		}
		spec, ns = pc.Spec.SiteSpec, pc.GetNamespace()
		site.Ref = RefOf(mg)
	case v1alpha1.ClusterProviderConfigKind:
		pc := &v1alpha1.ClusterProviderConfig{}
		if err := r.kube.Get(ctx, types.NamespacedName{Name: ref.Name}, pc); err != nil {
			return nil, errors.Wrapf(err, errGetCPC, ref.Name)
		}
		spec = pc.Spec.SiteSpec
		site.Ref = RefOf(mg)
	default:
		return nil, errors.Errorf(errUnknownKind, ref.Kind)
	}
	var err error
	if need&SectionProxmox != 0 && spec.Proxmox == nil {
		return nil, errors.Errorf(errNoSection, site.Ref, "proxmox")
	}
	if need&SectionCeph != 0 && spec.Ceph == nil {
		return nil, errors.Errorf(errNoSection, site.Ref, "ceph")
	}
	if need&SectionObjectStore != 0 && (spec.Ceph == nil || spec.Ceph.ObjectStore == nil) {
		return nil, errors.Errorf(errNoSection, site.Ref, "ceph.objectStore")
	}
	if need&SectionProxmox != 0 {
		if site.Proxmox, err = r.proxmox(ctx, ns, spec.Proxmox); err != nil {
			return nil, err
		}
	}
	if need&SectionCeph != 0 {
		if site.Ceph, err = r.ceph(ctx, ns, spec.Ceph); err != nil {
			return nil, err
		}
	}
	if need&SectionObjectStore != 0 {
		if site.ObjectStore, err = r.objectStore(ctx, ns, spec.Ceph.ObjectStore); err != nil {
			return nil, err
		}
	}
	site.Key = site.contentKey()
	return &site, nil
}

func (r *Resolver) proxmox(ctx context.Context, ns string, c *v1alpha1.ProxmoxConfig) (*ProxmoxSite, error) {
	tok, err := r.secretKey(ctx, ns, c.TokenSecretRef)
	if err != nil {
		return nil, err
	}
	tok = strings.TrimPrefix(strings.TrimSpace(tok), "PVEAPIToken=")
	refNS := orDefault(c.TokenSecretRef.Namespace, ns)
	if tok == "" {
		return nil, errors.Errorf(errEmptyToken, refNS, c.TokenSecretRef.Name)
	}
	if !validToken(tok) {
		return nil, errors.Errorf(errTokenFormat, refNS, c.TokenSecretRef.Name)
	}
	s := &ProxmoxSite{Endpoint: strings.TrimRight(c.Endpoint, "/"), Token: tok, InsecureSkipTLSVerify: c.InsecureSkipTLSVerify, RequestTimeout: defaultTimeout}
	if c.RequestTimeout != nil {
		s.RequestTimeout = c.RequestTimeout.Duration
	}
	s.MaxParallelCreates = DefaultMaxParallelCreates
	if c.MaxParallelCreates != nil && *c.MaxParallelCreates > 0 {
		s.MaxParallelCreates = int(*c.MaxParallelCreates)
	}
	if s.CABundle, err = r.caBundle(ctx, ns, c.CABundle); err != nil {
		return nil, err
	}
	return s, nil
}

// caBundle reads the PEM bundle b selects, or nothing when b is nil.
func (r *Resolver) caBundle(ctx context.Context, ns string, b *v1alpha1.CABundleSource) ([]byte, error) {
	var pem string
	var err error
	switch {
	case b == nil:
		return nil, nil
	case b.SecretKeyRef != nil:
		pem, err = r.secretKey(ctx, ns, *b.SecretKeyRef)
	case b.ConfigMapKeyRef != nil:
		pem, err = r.configMapKey(ctx, ns, *b.ConfigMapKeyRef)
	}
	return []byte(pem), err
}

func (r *Resolver) objectStore(ctx context.Context, ns string, c *v1alpha1.ObjectStoreConfig) (*ObjectStoreSite, error) {
	ak, err := r.secretKey(ctx, ns, c.AccessKeySecretRef)
	if err != nil {
		return nil, err
	}
	sk, err := r.secretKey(ctx, ns, c.SecretKeySecretRef)
	if err != nil {
		return nil, err
	}
	s := &ObjectStoreSite{Endpoint: strings.TrimRight(c.Endpoint, "/"), AccessKey: strings.TrimSpace(ak), SecretKey: strings.TrimSpace(sk),
		InsecureSkipTLSVerify: c.InsecureSkipTLSVerify}
	if s.AccessKey == "" || s.SecretKey == "" {
		return nil, errors.New(errEmptyRGWKey)
	}
	if s.CABundle, err = r.caBundle(ctx, ns, c.CABundle); err != nil {
		return nil, err
	}
	return s, nil
}

func (r *Resolver) ceph(ctx context.Context, ns string, c *v1alpha1.CephConfig) (*CephSite, error) {
	key, err := r.secretKey(ctx, ns, c.KeyringSecretRef)
	if err != nil {
		return nil, err
	}
	name := c.ClientName
	if name == "" {
		name = "admin"
	}
	return &CephSite{Monitors: append([]string(nil), c.Monitors...), ClientName: name, Key: strings.TrimSpace(key)}, nil
}

func (r *Resolver) secretKey(ctx context.Context, ns string, sel v1alpha1.SecretKeySelector) (string, error) {
	ns = orDefault(sel.Namespace, ns)
	s := &corev1.Secret{}
	if err := r.kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: sel.Name}, s); err != nil {
		return "", errors.Wrapf(err, errGetSecret, sel.Key, ns, sel.Name)
	}
	v, ok := s.Data[sel.Key]
	if !ok {
		return "", errors.Errorf(errNoKey, sel.Key, "Secret", ns, sel.Name)
	}
	return string(v), nil
}

func (r *Resolver) configMapKey(ctx context.Context, ns string, sel v1alpha1.ConfigMapKeySelector) (string, error) {
	ns = orDefault(sel.Namespace, ns)
	cm := &corev1.ConfigMap{}
	if err := r.kube.Get(ctx, types.NamespacedName{Namespace: ns, Name: sel.Name}, cm); err != nil {
		return "", errors.Wrapf(err, errGetConfigMap, sel.Key, ns, sel.Name)
	}
	v, ok := cm.Data[sel.Key]
	if !ok {
		return "", errors.Errorf(errNoKey, sel.Key, "ConfigMap", ns, sel.Name)
	}
	return v, nil
}

// validToken checks the user@realm!tokenid=secret shape PVE expects.
func validToken(t string) bool {
	at := strings.Index(t, "@")
	bang := strings.Index(t, "!")
	eq := strings.Index(t, "=")
	return at > 0 && bang > at+1 && eq > bang+1 && eq < len(t)-1
}

func orDefault(v, d string) string {
	if v != "" {
		return v
	}
	return d
}
