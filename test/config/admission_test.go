package config

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

func proxmox() *v1alpha1.ProxmoxConfig {
	return &v1alpha1.ProxmoxConfig{
		Endpoint:       "https://pve1.example.net:8006",
		TokenSecretRef: v1alpha1.SecretKeySelector{Name: "pve", Key: "token"},
	}
}

func ceph() *v1alpha1.CephConfig {
	return &v1alpha1.CephConfig{
		Monitors:         []string{"127.0.0.1:6789", "mon-b.example.net", "v2:10.0.0.3:3300/0", "[::1]:6789"},
		KeyringSecretRef: v1alpha1.SecretKeySelector{Name: "ceph", Key: "keyring"},
	}
}

// cephWithRGW is a ceph section with an object store part; ns names the Secrets' namespace.
func cephWithRGW(ns string) *v1alpha1.CephConfig {
	c := ceph()
	c.KeyringSecretRef.Namespace = ns
	c.ObjectStore = &v1alpha1.ObjectStoreConfig{Endpoint: "http://127.0.0.1:7480",
		AccessKeySecretRef: v1alpha1.SecretKeySelector{Name: "rgw", Namespace: ns, Key: "accessKey"},
		SecretKeySecretRef: v1alpha1.SecretKeySelector{Name: "rgw", Namespace: ns, Key: "secretKey"}}
	return c
}

func TestProviderConfigAdmission(t *testing.T) {
	env := envtest.Start(t)
	ns := env.Namespace(t)
	ctx := context.Background()

	cases := map[string]struct {
		site    func() v1alpha1.SiteSpec
		wantErr string // empty: must be accepted
	}{
		"ProxmoxOnly": {site: func() v1alpha1.SiteSpec { return v1alpha1.SiteSpec{Proxmox: proxmox()} }},
		"CephOnly":    {site: func() v1alpha1.SiteSpec { return v1alpha1.SiteSpec{Ceph: ceph()} }},
		"BothWithCABundleAndTimeout": {site: func() v1alpha1.SiteSpec {
			p := proxmox()
			p.CABundle = &v1alpha1.CABundleSource{ConfigMapKeyRef: &v1alpha1.ConfigMapKeySelector{Name: "pve-ca", Key: "ca.crt"}}
			p.RequestTimeout = &metav1.Duration{Duration: 2 * time.Minute}
			return v1alpha1.SiteSpec{Proxmox: p, Ceph: ceph()}
		}},
		"Neither": {
			site:    func() v1alpha1.SiteSpec { return v1alpha1.SiteSpec{} },
			wantErr: "spec must set spec.proxmox, spec.ceph or both",
		},
		"PlainHTTPEndpoint": {
			site: func() v1alpha1.SiteSpec {
				p := proxmox()
				p.Endpoint = "http://pve1.example.net:8006"
				return v1alpha1.SiteSpec{Proxmox: p}
			},
			wantErr: "spec.proxmox.endpoint must be an https:// URL",
		},
		"NotAURL": {
			site: func() v1alpha1.SiteSpec {
				p := proxmox()
				p.Endpoint = "https://pve 1:8006"
				return v1alpha1.SiteSpec{Proxmox: p}
			},
			wantErr: "spec.proxmox.endpoint must be an https:// URL",
		},
		"MalformedMonitor": {
			site: func() v1alpha1.SiteSpec {
				c := ceph()
				c.Monitors = append(c.Monitors, "mon a:6789")
				return v1alpha1.SiteSpec{Ceph: c}
			},
			wantErr: "spec.ceph.monitors: each entry must be host, host:port",
		},
		"MonitorWithScheme": {
			site: func() v1alpha1.SiteSpec {
				c := ceph()
				c.Monitors = []string{"https://mon1:6789"}
				return v1alpha1.SiteSpec{Ceph: c}
			},
			wantErr: "spec.ceph.monitors: each entry must be host, host:port",
		},
		"NoMonitors": {
			site: func() v1alpha1.SiteSpec {
				c := ceph()
				c.Monitors = []string{}
				return v1alpha1.SiteSpec{Ceph: c}
			},
			wantErr: "spec.ceph.monitors",
		},
		"CABundleFromBoth": {
			site: func() v1alpha1.SiteSpec {
				p := proxmox()
				p.CABundle = &v1alpha1.CABundleSource{
					SecretKeyRef:    &v1alpha1.SecretKeySelector{Name: "a", Key: "ca"},
					ConfigMapKeyRef: &v1alpha1.ConfigMapKeySelector{Name: "b", Key: "ca"},
				}
				return v1alpha1.SiteSpec{Proxmox: p}
			},
			wantErr: "spec.proxmox.caBundle must set exactly one of secretKeyRef or configMapKeyRef",
		},
		"InsecureWithCABundle": {
			site: func() v1alpha1.SiteSpec {
				p := proxmox()
				p.InsecureSkipTLSVerify = true
				p.CABundle = &v1alpha1.CABundleSource{SecretKeyRef: &v1alpha1.SecretKeySelector{Name: "a", Key: "ca"}}
				return v1alpha1.SiteSpec{Proxmox: p}
			},
			wantErr: "spec.proxmox.caBundle and spec.proxmox.insecureSkipTLSVerify are mutually exclusive",
		},
		"TimeoutTooShort": {
			site: func() v1alpha1.SiteSpec {
				p := proxmox()
				p.RequestTimeout = &metav1.Duration{Duration: 10 * time.Millisecond}
				return v1alpha1.SiteSpec{Proxmox: p}
			},
			wantErr: "spec.proxmox.requestTimeout must be between 1s and 10m",
		},
		"NoParallelCreates": {
			site: func() v1alpha1.SiteSpec {
				p := proxmox()
				p.MaxParallelCreates = ptr.To(int32(0))
				return v1alpha1.SiteSpec{Proxmox: p}
			},
			wantErr: "spec.proxmox.maxParallelCreates: Invalid value: 0: spec.proxmox.maxParallelCreates in body should be greater than or equal to 1",
		},
		"TooManyParallelCreates": {
			site: func() v1alpha1.SiteSpec {
				p := proxmox()
				p.MaxParallelCreates = ptr.To(int32(1001))
				return v1alpha1.SiteSpec{Proxmox: p}
			},
			wantErr: "spec.proxmox.maxParallelCreates in body should be less than or equal to 1000",
		},
		"SecretNamespaceInNamespacedConfig": {
			site: func() v1alpha1.SiteSpec {
				p := proxmox()
				p.TokenSecretRef.Namespace = "elsewhere"
				return v1alpha1.SiteSpec{Proxmox: p}
			},
			wantErr: "spec.proxmox.tokenSecretRef.namespace must not be set in a namespaced ProviderConfig",
		},
		"KeyringNamespaceInNamespacedConfig": {
			site: func() v1alpha1.SiteSpec {
				c := ceph()
				c.KeyringSecretRef.Namespace = "elsewhere"
				return v1alpha1.SiteSpec{Ceph: c}
			},
			wantErr: "spec.ceph.keyringSecretRef.namespace must not be set in a namespaced ProviderConfig",
		},
		"BadClientName": {
			site: func() v1alpha1.SiteSpec {
				c := ceph()
				c.ClientName = "client admin"
				return v1alpha1.SiteSpec{Ceph: c}
			},
			wantErr: "spec.ceph.clientName",
		},
		"ObjectStore": {site: func() v1alpha1.SiteSpec { return v1alpha1.SiteSpec{Ceph: cephWithRGW("")} }},
		"ObjectStoreNotAURL": {
			site: func() v1alpha1.SiteSpec {
				c := cephWithRGW("")
				c.ObjectStore.Endpoint = "ftp://rgw.example.net"
				return v1alpha1.SiteSpec{Ceph: c}
			},
			wantErr: "spec.ceph.objectStore.endpoint must be an http:// or https:// URL",
		},
		"ObjectStoreCABundleAndInsecure": {
			site: func() v1alpha1.SiteSpec {
				c := cephWithRGW("")
				c.ObjectStore.InsecureSkipTLSVerify = true
				c.ObjectStore.CABundle = &v1alpha1.CABundleSource{ConfigMapKeyRef: &v1alpha1.ConfigMapKeySelector{Name: "ca", Key: "ca.crt"}}
				return v1alpha1.SiteSpec{Ceph: c}
			},
			wantErr: "spec.ceph.objectStore.caBundle and spec.ceph.objectStore.insecureSkipTLSVerify are mutually exclusive",
		},
		"ObjectStoreKeyNamespaceInNamespacedConfig": {
			site: func() v1alpha1.SiteSpec {
				c := cephWithRGW("")
				c.ObjectStore.SecretKeySecretRef.Namespace = "elsewhere"
				return v1alpha1.SiteSpec{Ceph: c}
			},
			wantErr: "spec.ceph.objectStore.accessKeySecretRef.namespace and spec.ceph.objectStore.secretKeySecretRef.namespace must not be set in a namespaced ProviderConfig",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pc := &v1alpha1.ProviderConfig{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: strings.ToLower(name)},
				Spec:       v1alpha1.ProviderConfigSpec{SiteSpec: tc.site()},
			}
			assertAdmission(ctx, t, env.Client, pc, tc.wantErr)
		})
	}
}

func TestClusterProviderConfigAdmission(t *testing.T) {
	env := envtest.Start(t)
	ctx := context.Background()
	cases := map[string]struct {
		site    func() v1alpha1.SiteSpec
		wantErr string
	}{
		"NamespacedRefs": {site: func() v1alpha1.SiteSpec {
			p, c := proxmox(), ceph()
			p.TokenSecretRef.Namespace = "crossplane-system"
			c.KeyringSecretRef.Namespace = "crossplane-system"
			return v1alpha1.SiteSpec{Proxmox: p, Ceph: c}
		}},
		"TokenRefWithoutNamespace": {
			site:    func() v1alpha1.SiteSpec { return v1alpha1.SiteSpec{Proxmox: proxmox()} },
			wantErr: "spec.proxmox.tokenSecretRef.namespace is required in a ClusterProviderConfig",
		},
		"CABundleRefWithoutNamespace": {
			site: func() v1alpha1.SiteSpec {
				p := proxmox()
				p.TokenSecretRef.Namespace = "crossplane-system"
				p.CABundle = &v1alpha1.CABundleSource{ConfigMapKeyRef: &v1alpha1.ConfigMapKeySelector{Name: "ca", Key: "ca.crt"}}
				return v1alpha1.SiteSpec{Proxmox: p}
			},
			wantErr: "spec.proxmox.caBundle.configMapKeyRef.namespace is required in a ClusterProviderConfig",
		},
		"Neither": {
			site:    func() v1alpha1.SiteSpec { return v1alpha1.SiteSpec{} },
			wantErr: "spec must set spec.proxmox, spec.ceph or both",
		},
		"ObjectStore": {site: func() v1alpha1.SiteSpec { return v1alpha1.SiteSpec{Ceph: cephWithRGW("crossplane-system")} }},
		"ObjectStoreKeyWithoutNamespace": {
			site: func() v1alpha1.SiteSpec {
				c := cephWithRGW("crossplane-system")
				c.ObjectStore.AccessKeySecretRef.Namespace = ""
				return v1alpha1.SiteSpec{Ceph: c}
			},
			wantErr: "spec.ceph.objectStore.accessKeySecretRef.namespace and spec.ceph.objectStore.secretKeySecretRef.namespace are required in a ClusterProviderConfig",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pc := &v1alpha1.ClusterProviderConfig{
				ObjectMeta: metav1.ObjectMeta{Name: "cpc-" + strings.ToLower(name)},
				Spec:       v1alpha1.ClusterProviderConfigSpec{SiteSpec: tc.site()},
			}
			assertAdmission(ctx, t, env.Client, pc, tc.wantErr)
		})
	}
}

func assertAdmission(ctx context.Context, t *testing.T, c client.Client, obj client.Object, wantErr string) {
	t.Helper()
	err := c.Create(ctx, obj)
	if wantErr == "" {
		if err != nil {
			t.Fatalf("valid config rejected: %v", err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), obj) })
		return
	}
	if err == nil {
		t.Fatalf("invalid config accepted; want an error containing %q", wantErr)
	}
	if !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("error %q does not contain %q", err.Error(), wantErr)
	}
}
