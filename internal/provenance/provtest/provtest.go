// Package provtest holds test support for the provenance packages: a minimal managed
// resource (not tied to the provider's API types) and the Fabric test-environment helper.
package provtest

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/resource/fake"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Resource is a managed resource with a free-form spec.
type Resource struct {
	metav1.TypeMeta        `json:",inline"`
	metav1.ObjectMeta      `json:"metadata"`
	Spec                   map[string]any `json:"spec"`
	fake.Manageable        `json:"-"`
	xpv2.ConditionedStatus `json:"status"`
}

// NewResource returns a namespaced test VM-like resource.
func NewResource(namespace, name, uid string, generation int64, spec map[string]any) *Resource {
	return &Resource{
		TypeMeta:   metav1.TypeMeta{APIVersion: "test.provenance.microcloud.dev/v1alpha1", Kind: "Machine"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: types.UID(uid), Generation: generation},
		Spec:       spec,
	}
}

// GetObjectKind returns the TypeMeta (its GVK is what change-log entries carry).
func (r *Resource) GetObjectKind() schema.ObjectKind { return &r.TypeMeta }

// DeepCopyObject copies through JSON (test code: simplicity over speed).
func (r *Resource) DeepCopyObject() runtime.Object {
	out := &Resource{}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	out.Manageable = r.Manageable
	return out
}

// RequireEnv returns the value of an env var naming an external part of the test
// environment. Unset, the test is skipped, or fails when MICROCLOUD_REQUIRE_INTEGRATION=1
// (CI), so nothing skips silently there.
func RequireEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("MICROCLOUD_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("%s is not set and MICROCLOUD_REQUIRE_INTEGRATION=1 (start Fabric with cluster/fabric-up.sh and set %s=$FABRIC_LAB_DIR/fabric.env)", name, name)
	}
	t.Skipf("%s not set: start Fabric with cluster/fabric-up.sh and set %s=$FABRIC_LAB_DIR/fabric.env", name, name)
	return ""
}
