package config

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/resource/fake"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

// testMR is a stand-in managed resource with a kind, as the usage's owner
// reference needs one.
type testMR struct {
	fake.ModernManaged
}

func (m *testMR) GetObjectKind() schema.ObjectKind {
	return &metav1.TypeMeta{APIVersion: "test.microcloud.dev/v1", Kind: "TestResource"}
}

func managedIn(ns, name string, ref *xpv2.ProviderConfigReference) *testMR {
	mg := &testMR{fake.ModernManaged{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "-" + name)}}}
	mg.SetProviderConfigReference(ref)
	return mg
}

const both = providerconfig.SectionProxmox | providerconfig.SectionCeph

func mustCreate(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("cannot create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func TestResolveNamespacedProviderConfig(t *testing.T) {
	env := envtest.Start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	p := proxmox()
	p.CABundle = &v1alpha1.CABundleSource{ConfigMapKeyRef: &v1alpha1.ConfigMapKeySelector{Name: "pve-ca", Key: "ca.crt"}}
	mustCreate(t, env.Client,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pve"}, Data: map[string][]byte{"token": []byte("PVEAPIToken=root@pam!crossplane=0b1c\n")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ceph"}, Data: map[string][]byte{"keyring": []byte("[client.admin]\n\tkey = AQB==\n")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pve-ca"}, Data: map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----"}},
		&v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "site-a"}, Spec: v1alpha1.ProviderConfigSpec{SiteSpec: v1alpha1.SiteSpec{Proxmox: p, Ceph: ceph()}}},
	)

	r := providerconfig.NewResolver(env.Client)
	mg := managedIn(ns, "vm1", &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "site-a"})
	site, err := r.Resolve(ctx, mg, both)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if site.Proxmox.Token != "root@pam!crossplane=0b1c" {
		t.Errorf("token = %q, want the prefix and whitespace stripped", site.Proxmox.Token)
	}
	if string(site.Proxmox.CABundle) != "-----BEGIN CERTIFICATE-----" || site.Proxmox.RequestTimeout.String() != "30s" {
		t.Errorf("proxmox site = %+v", site.Proxmox)
	}
	if site.Ceph.ClientName != "admin" || !strings.Contains(site.Ceph.Key, "key = AQB==") || len(site.Ceph.Monitors) != 4 {
		t.Errorf("ceph site = %+v", site.Ceph)
	}
	if site.Ref != "ProviderConfig/"+ns+"/site-a" || site.Key == "" {
		t.Errorf("ref/key = %q/%q", site.Ref, site.Key)
	}

	// The usage is recorded, labelled so the config's reconciler can count it.
	pcu := &v1alpha1.ProviderConfigUsage{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: string(mg.GetUID())}, pcu); err != nil {
		t.Fatalf("no ProviderConfigUsage for the resource: %v", err)
	}
	if pcu.GetLabels()[xpv2.LabelKeyProviderName] != "site-a" || pcu.ProviderConfigReference.Kind != "ProviderConfig" {
		t.Errorf("usage = %+v labels %v", pcu.TypedProviderConfigUsage, pcu.GetLabels())
	}

	// A rotated credential changes the key, so clients are rebuilt.
	s := &corev1.Secret{}
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "pve"}, s); err != nil {
		t.Fatal(err)
	}
	s.Data["token"] = []byte("root@pam!crossplane=rotated")
	if err := env.Client.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	site2, err := r.Resolve(ctx, mg, both)
	if err != nil {
		t.Fatal(err)
	}
	if site2.Key == site.Key {
		t.Errorf("site key unchanged after the token rotated")
	}
}

func TestResolveErrorsNameWhatIsWrong(t *testing.T) {
	env := envtest.Start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	mustCreate(t, env.Client,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "badtoken"}, Data: map[string][]byte{"token": []byte("just-a-secret")}},
		&v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nosecret"}, Spec: v1alpha1.ProviderConfigSpec{SiteSpec: v1alpha1.SiteSpec{Proxmox: proxmox()}}},
		&v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "badtoken"}, Spec: v1alpha1.ProviderConfigSpec{SiteSpec: v1alpha1.SiteSpec{Proxmox: &v1alpha1.ProxmoxConfig{
			Endpoint: "https://pve:8006", TokenSecretRef: v1alpha1.SecretKeySelector{Name: "badtoken", Key: "token"}}}}},
		&v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wrongkey"}, Spec: v1alpha1.ProviderConfigSpec{SiteSpec: v1alpha1.SiteSpec{Proxmox: &v1alpha1.ProxmoxConfig{
			Endpoint: "https://pve:8006", TokenSecretRef: v1alpha1.SecretKeySelector{Name: "badtoken", Key: "nope"}}}}},
	)
	r := providerconfig.NewResolver(env.Client)
	cases := map[string]struct {
		ref  xpv2.ProviderConfigReference
		need providerconfig.Section
		want string
	}{
		"NoCephSection":  {xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "badtoken"}, providerconfig.SectionCeph, "ProviderConfig/" + ns + "/badtoken has no spec.ceph section"},
		"MissingConfig":  {xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "absent"}, providerconfig.SectionProxmox, "cannot get ProviderConfig " + ns + "/absent"},
		"MissingCluster": {xpv2.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: "absent"}, providerconfig.SectionProxmox, "cannot get ClusterProviderConfig absent"},
		"MissingSecret":  {xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "nosecret"}, providerconfig.SectionProxmox, `cannot read key "token" of Secret ` + ns + "/pve"},
		"MissingKey":     {xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "wrongkey"}, providerconfig.SectionProxmox, `key "nope" not found in Secret ` + ns + "/badtoken"},
		"MalformedToken": {xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "badtoken"}, providerconfig.SectionProxmox, "must look like user@realm!tokenid=secret"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ref := tc.ref
			_, err := r.Resolve(ctx, managedIn(ns, strings.ToLower(name), &ref), tc.need)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Resolve error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestResolveReadsOnlyTheNeededSection(t *testing.T) {
	env := envtest.Start(t)
	ns := env.Namespace(t)
	// The Ceph keyring Secret does not exist: Proxmox resources must still resolve.
	mustCreate(t, env.Client,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pve"}, Data: map[string][]byte{"token": []byte("root@pam!x=y")}},
		&v1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "site"}, Spec: v1alpha1.ProviderConfigSpec{SiteSpec: v1alpha1.SiteSpec{Proxmox: proxmox(), Ceph: ceph()}}},
	)
	r := providerconfig.NewResolver(env.Client)
	ref := &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "site"}
	site, err := r.Resolve(context.Background(), managedIn(ns, "vm", ref), providerconfig.SectionProxmox)
	if err != nil || site.Proxmox == nil || site.Ceph != nil {
		t.Fatalf("Resolve(proxmox) = %+v, %v; want the Proxmox section only", site, err)
	}
	if _, err := r.Resolve(context.Background(), managedIn(ns, "pool", ref), providerconfig.SectionCeph); err == nil || !strings.Contains(err.Error(), `Secret `+ns+"/ceph") {
		t.Fatalf("Resolve(ceph) error = %v, want the missing keyring Secret named", err)
	}
}

func TestResolveClusterProviderConfig(t *testing.T) {
	env := envtest.Start(t)
	secretNS := env.Namespace(t)
	mrNS := env.Namespace(t)
	ctx := context.Background()
	c := ceph()
	c.KeyringSecretRef.Namespace = secretNS
	c.ClientName = "provider"
	mustCreate(t, env.Client,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: secretNS, Name: "ceph"}, Data: map[string][]byte{"keyring": []byte("AQBbare==")}},
		&v1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "shared-" + mrNS}, Spec: v1alpha1.ClusterProviderConfigSpec{SiteSpec: v1alpha1.SiteSpec{Ceph: c}}},
	)
	site, err := providerconfig.NewResolver(env.Client).Resolve(ctx, managedIn(mrNS, "pool1", &xpv2.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: "shared-" + mrNS}), providerconfig.SectionCeph)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if site.Proxmox != nil || site.Ceph.Key != "AQBbare==" || site.Ceph.ClientName != "provider" {
		t.Errorf("site = %+v / %+v", site.Proxmox, site.Ceph)
	}
}
