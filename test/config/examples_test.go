package config

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

// The site configs of examples/providerconfig, which `make run` applies as they are, pass
// admission (a namespaced one in a test namespace instead of its own): a CEL rule they break would
// otherwise first show in the make run smoke test.
func TestExampleProviderConfigsAdmitted(t *testing.T) {
	env := envtest.Start(t)
	ns := env.Namespace(t)
	root, err := envtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "examples", "providerconfig", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in examples/providerconfig: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // our own examples
		if err != nil {
			t.Fatal(err)
		}
		objs, err := envtest.DecodeObjects(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, u := range objs {
			if u.GetNamespace() != "" {
				u.SetNamespace(ns)
			}
			if err := env.Client.Create(context.Background(), u, client.DryRunAll); err != nil {
				t.Errorf("%s: %s %s refused: %v", filepath.Base(f), u.GetKind(), u.GetName(), err)
			}
		}
	}
}
