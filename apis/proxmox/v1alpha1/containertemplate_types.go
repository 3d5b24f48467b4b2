package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reference"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// ContainerTemplateParameters name an appliance of the node's catalogue
// (pveam available) and the storage it is downloaded into.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider is immutable: a downloaded template file does not change; create another ContainerTemplate"
type ContainerTemplateParameters struct {
	// Node is the cluster node that downloads the template. A local storage
	// (such as local) holds it on this node only.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Node string `json:"node"`

	// Storage receives the template; it must hold vztmpl content.
	// +optional
	// +kubebuilder:default=local
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_.-]*$`
	Storage string `json:"storage,omitempty"`

	// Template is the appliance's file name as the catalogue (GET
	// /nodes/{node}/aplinfo) lists it, e.g.
	// debian-12-standard_12.12-1_amd64.tar.zst.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9_.+-]*\.tar\.(gz|xz|zst)$`
	// +kubebuilder:validation:MaxLength=255
	Template string `json:"template"`
}

// ContainerTemplateObservation is the template file as the storage lists it.
type ContainerTemplateObservation struct {
	// VolID is the volume id containers use as their ostemplate, e.g.
	// local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst. Empty until
	// the download finished.
	VolID string `json:"volid,omitempty"`
	// Size is the file's size in bytes.
	Size int64 `json:"size,omitempty"`
	// Format is the archive format (tzst, txz, tgz).
	Format string `json:"format,omitempty"`
	// PendingTask is the UPID of the provider's download or delete task
	// that has not been seen to finish.
	PendingTask string `json:"pendingTask,omitempty"`
	// LastTaskError is the exit status of the last task that failed.
	LastTaskError string `json:"lastTaskError,omitempty"`
}

// A ContainerTemplateSpec defines the desired state of a ContainerTemplate.
type ContainerTemplateSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              ContainerTemplateParameters `json:"forProvider"`
}

// A ContainerTemplateStatus represents the observed state of a ContainerTemplate.
type ContainerTemplateStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 ContainerTemplateObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A ContainerTemplate is an LXC template file (an appliance from the
// catalogue) in a storage's vztmpl content. Its external name is the volid.
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="NODE",type="string",JSONPath=".spec.forProvider.node"
// +kubebuilder:printcolumn:name="VOLID",type="string",JSONPath=".status.atProvider.volid"
// +kubebuilder:printcolumn:name="SIZE",type="integer",JSONPath=".status.atProvider.size",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pvecttmpl
type ContainerTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ContainerTemplateSpec   `json:"spec"`
	Status ContainerTemplateStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ContainerTemplateList contains a list of ContainerTemplates.
type ContainerTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ContainerTemplate `json:"items"`
}

// GetVolID returns the template's volid ("" until downloaded).
func (t *ContainerTemplate) GetVolID() string { return t.Status.AtProvider.VolID }

// ContainerTemplateVolID extracts a ContainerTemplate's volid for a
// reference; it is empty until the download finished, so a Container waits
// for its template rather than resolving a name that is no volume yet.
func ContainerTemplateVolID() reference.ExtractValueFn {
	return func(mg resource.Managed) string {
		t, ok := mg.(interface{ GetVolID() string })
		if !ok {
			return ""
		}
		return t.GetVolID()
	}
}
