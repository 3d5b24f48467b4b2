package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// Bad input through the real API server with the CRDs Crossplane made from the XRDs: refused at
// admission with messages that name the field; nothing is created.
func TestCatalogueRejectsBadInput(t *testing.T) {
	w := platform(t)
	ns := w.namespace(t, "bad-input")
	vps := func(size string, port int) string {
		return fmt.Sprintf(`
apiVersion: platform.microcloud.dev/v1alpha1
kind: VPS
metadata: {name: bad, namespace: %s}
spec:
  size: %s
  node: pve1
  template: {sourceVMID: 9000}
  openPorts: [{port: %d}]
  dataVolume: {pool: p}
`, ns, size, port)
	}
	vset := func(f int, nodes string) string {
		return fmt.Sprintf(`
apiVersion: platform.microcloud.dev/v1alpha1
kind: ValidatorSet
metadata: {name: bad, namespace: %s}
spec:
  faultsTolerated: %d
  nodes: %s
  template: {sourceVMID: 9000}
  chainStorage: {sizeGiB: 1}
`, ns, f, nodes)
	}
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown VPS size", vps("huge", 443), []string{"spec.size", `Unsupported value: "huge"`}},
		{"port above 65535", vps("small", 70000), []string{"spec.openPorts[0].port", "65535"}},
		{"port 0", vps("small", 0), []string{"spec.openPorts[0].port", "1"}},
		{"claim with an unknown size", strings.Replace(strings.Replace(vps("tiny", 22), "kind: VPS", "kind: VPSClaim", 1), "name: bad", "name: bad-claim", 1),
			[]string{"spec.size", `Unsupported value: "tiny"`}},
		{"validator node listed twice", vset(1, "[{name: pve1}, {name: pve2}, {name: pve3}, {name: pve3}, {name: pve4}]"),
			[]string{"spec.nodes must not list a node twice"}},
		{"f=0", vset(0, "[{name: pve1}]"), []string{"spec.faultsTolerated"}},
		{"too few nodes for f=1", vset(1, "[{name: pve1}, {name: pve2}, {name: pve3}]"),
			[]string{"spec.nodes must list at least 3*spec.faultsTolerated+1 nodes"}},
		{"negative tenant quota", tenantYAML(ns, "bad", -5), []string{"spec.storageQuotaGiB"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := w.apply(c.yaml)
			if err == nil {
				t.Fatalf("accepted: %s", out)
			}
			for _, want := range c.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
		})
	}
	if out, err := w.kubectl("-n", ns, "get", "vps,vpsclaim,validatorset,tenant", "-o", "name"); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("objects were created: %q %v", out, err)
	}
}
