package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestEveryExampleIsInTheKustomization: examples/ is a GitOps tree applied with `kubectl apply -k
// examples/`, so an example file no kustomization lists would never be applied by `make run` or a
// GitOps tool. Needs no running part.
func TestEveryExampleIsInTheKustomization(t *testing.T) {
	root := filepath.Join(repoRoot, "examples")
	listed := map[string]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml")) //nolint:gosec // our own examples
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		var k struct {
			Resources []string `json:"resources"`
		}
		if err := yaml.Unmarshal(b, &k); err != nil {
			t.Fatalf("%s/kustomization.yaml: %v", dir, err)
		}
		for _, r := range k.Resources {
			p := filepath.Join(dir, r)
			st, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s/kustomization.yaml lists %s: %v", dir, r, err)
				continue
			}
			if st.IsDir() {
				walk(p)
				continue
			}
			listed[p] = true
		}
	}
	walk(root)
	var missing []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") || d.Name() == "kustomization.yaml" {
			return err
		}
		if !listed[p] {
			rel, _ := filepath.Rel(root, p)
			missing = append(missing, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("examples no kustomization lists (add them to examples/kustomization.yaml or a nested one): %v", missing)
	}
	if len(listed) < 30 {
		t.Errorf("only %d example files reached from examples/kustomization.yaml", len(listed))
	}
}
