package function

import (
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"k8s.io/apimachinery/pkg/runtime"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	pvev1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

const errCompose = "cannot convert a composed resource"

func init() {
	// composed.From finds the GVK of typed objects in this scheme.
	if err := pvev1alpha1.SchemeBuilder.AddToScheme(composed.Scheme); err != nil {
		panic(err)
	}
	if err := cephv1alpha1.SchemeBuilder.AddToScheme(composed.Scheme); err != nil {
		panic(err)
	}
}

// desired is the set of composed resources one XR asks for, by pipeline resource name.
type desired map[resource.Name]*resource.DesiredComposed

func (d desired) add(name resource.Name, o runtime.Object) error {
	u, err := composed.From(o)
	if err != nil {
		return errors.Wrap(err, errCompose)
	}
	d[name] = &resource.DesiredComposed{Resource: u, Ready: resource.ReadyFalse}
	return nil
}

// managedSpec is the ManagedResourceSpec every composed MR gets: the XR's provider config, or
// the CRD default (ClusterProviderConfig "default") when the XR names none.
func managedSpec(ref *ProviderConfigRef) xpv2.ManagedResourceSpec {
	s := xpv2.ManagedResourceSpec{}
	if ref != nil {
		kind := ref.Kind
		if kind == "" {
			kind = "ClusterProviderConfig"
		}
		s.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: kind, Name: ref.Name}
	}
	return s
}

func ptr[T any](v T) *T { return &v }

const giB = int64(1) << 30
