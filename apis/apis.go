// Package apis aggregates the provider's API groups into one scheme.
package apis

import (
	"k8s.io/apimachinery/pkg/runtime"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	proxmoxv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
)

// AddToSchemes lists the SchemeBuilders of every API group the provider serves.
var AddToSchemes = runtime.SchemeBuilder{
	v1alpha1.SchemeBuilder.AddToScheme,
	cephv1alpha1.SchemeBuilder.AddToScheme,
	proxmoxv1alpha1.SchemeBuilder.AddToScheme,
}

// AddToScheme adds all provider API groups to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	return AddToSchemes.AddToScheme(s)
}
