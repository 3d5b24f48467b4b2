package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	mcv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/tlsaudit"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim/pvesimtest"
)

// A site whose certificate the configured CA did not sign: the resource says
// which endpoint and why verification failed, and nothing is created. With
// insecureSkipTLSVerify the same site works, and every connection is counted
// in microcloud_insecure_tls_connections_total (and logged as a warning).
func TestSiteTLS(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	other := pvesimtest.Start(t, pvesim.Options{}) // its CA signed only its own certificate
	ctx := context.Background()
	mustCreate(t, s.env.Client,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "wrong-ca"}, Data: map[string][]byte{
			"token": []byte(s.sim.TokenID + "=" + s.sim.Secret), "ca.crt": other.CACertPEM}},
		&mcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "wrong-ca"}, Spec: mcv1alpha1.ProviderConfigSpec{SiteSpec: mcv1alpha1.SiteSpec{
			Proxmox: &mcv1alpha1.ProxmoxConfig{
				Endpoint:       "https://" + s.sim.Addr,
				TokenSecretRef: mcv1alpha1.SecretKeySelector{Name: "wrong-ca", Key: "token"},
				CABundle:       &mcv1alpha1.CABundleSource{SecretKeyRef: &mcv1alpha1.SecretKeySelector{Name: "wrong-ca", Key: "ca.crt"}},
			}}}},
		&mcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "insecure"}, Spec: mcv1alpha1.ProviderConfigSpec{SiteSpec: mcv1alpha1.SiteSpec{
			Proxmox: &mcv1alpha1.ProxmoxConfig{
				Endpoint:              "https://" + s.sim.Addr + "/",
				TokenSecretRef:        mcv1alpha1.SecretKeySelector{Name: "wrong-ca", Key: "token"},
				InsecureSkipTLSVerify: true,
			}}}},
	)
	s.startProxmox(t)
	before := len(s.guests(t))

	bad := s.vm("wrong-ca", cloneOf(pvesim.DefaultTemplateID))
	bad.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "wrong-ca"}
	mustCreate(t, s.env.Client, bad)
	s.waitObj(t, bad, 30*time.Second, "a TLS verification failure naming the endpoint", func(_, synced xpv2.Condition) string {
		if synced.Status != corev1.ConditionFalse || !strings.Contains(synced.Message, "https://"+s.sim.Addr+"/") ||
			!strings.Contains(synced.Message, "x509: certificate signed by unknown authority") {
			return "no such condition"
		}
		return ""
	})
	t.Logf("Synced=False: %s", bad.GetCondition(xpv2.TypeSynced).Message)
	// Events are written asynchronously, after the condition.
	eventually(t, 15*time.Second, "a warning event naming the x509 error", func() string {
		var events corev1.EventList
		if err := s.env.Client.List(ctx, &events, client.InNamespace(s.ns)); err != nil {
			return err.Error()
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Name == bad.Name && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "x509") {
				return ""
			}
		}
		return fmt.Sprintf("%d events in the namespace, none a warning on %s naming x509", len(events.Items), bad.Name)
	})
	if n := len(s.guests(t)); n != before {
		t.Fatalf("%d guests after a failed TLS verification, %d before", n, before)
	}

	if n := tlsaudit.Count("proxmox", "https://"+s.sim.Addr); n != 0 {
		t.Fatalf("%v insecure connections counted before any insecure config was used", n)
	}
	ok := s.vm("insecure", cloneOf(pvesim.DefaultTemplateID))
	ok.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "insecure"}
	mustCreate(t, s.env.Client, ok)
	s.waitReady(t, ok.Name)
	if n := tlsaudit.Count("proxmox", "https://"+s.sim.Addr); n < 1 {
		t.Fatalf("insecure connections counted: %v, want at least 1", n)
	}
	if n := len(s.guests(t)); n != before+1 {
		t.Fatalf("%d guests, want %d (only the insecure site's VM)", n, before+1)
	}
}
