package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// ContainerParameters are the settings of an LXC container.
// +kubebuilder:validation:XValidation:rule="!(has(self.convertToTemplate) && self.convertToTemplate && (!has(self.powerState) || self.powerState == 'Running'))",message="spec.forProvider.powerState must be Stopped when spec.forProvider.convertToTemplate is true: a template cannot be started"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.convertToTemplate) || !oldSelf.convertToTemplate || (has(self.convertToTemplate) && self.convertToTemplate)",message="spec.forProvider.convertToTemplate cannot be undone: a template stays a template"
// +kubebuilder:validation:XValidation:rule="has(self.osTemplate) || has(self.osTemplateRef) || has(self.osTemplateSelector)",message="spec.forProvider.osTemplate, osTemplateRef or osTemplateSelector is required"
type ContainerParameters struct {
	// Node is the cluster node the container is created on. It cannot
	// change: a migrated container's node is in status.atProvider.node.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.node is immutable; a migrated container's node is in status.atProvider.node"
	Node string `json:"node"`

	// VMID is the container's id in the cluster. When unset the provider
	// asks the cluster for a free one. It cannot change.
	// +optional
	// +kubebuilder:validation:Minimum=100
	// +kubebuilder:validation:Maximum=999999999
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.vmid is immutable"
	VMID *int64 `json:"vmid,omitempty"`

	// OSTemplate is the volid of the template the container is created
	// from, e.g. local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst; it
	// must be on the container's node. Filled from osTemplateRef or
	// osTemplateSelector when those are set. It cannot change.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_.-]*:vztmpl/.+$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.osTemplate is immutable: delete and recreate the container to use another template"
	// +crossplane:generate:reference:type=ContainerTemplate
	// +crossplane:generate:reference:extractor=ContainerTemplateVolID()
	// +crossplane:generate:reference:refFieldName=OSTemplateRef
	// +crossplane:generate:reference:selectorFieldName=OSTemplateSelector
	OSTemplate *string `json:"osTemplate,omitempty"`

	// OSTemplateRef references a ContainerTemplate in the container's
	// namespace; its volid becomes osTemplate once it is downloaded.
	// +optional
	OSTemplateRef *xpv2.NamespacedReference `json:"osTemplateRef,omitempty"`

	// OSTemplateSelector selects a ContainerTemplate by label.
	// +optional
	OSTemplateSelector *xpv2.NamespacedSelector `json:"osTemplateSelector,omitempty"`

	// Hostname is the container's host name; metadata.name when unset.
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Hostname *string `json:"hostname,omitempty"`

	// Cores is the number of CPU cores the container may use.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=8192
	Cores int64 `json:"cores,omitempty"`

	// MemoryMiB is the container's memory limit in MiB.
	// +optional
	// +kubebuilder:default=512
	// +kubebuilder:validation:Minimum=16
	// +kubebuilder:validation:Maximum=8388608
	MemoryMiB int64 `json:"memoryMiB,omitempty"`

	// SwapMiB is the container's swap in MiB.
	// +optional
	// +kubebuilder:default=512
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=8388608
	SwapMiB *int64 `json:"swapMiB,omitempty"`

	// RootFS is the container's root volume.
	RootFS ContainerRootFS `json:"rootfs"`

	// Networks are the container's interfaces, net0 first: entry i is netI.
	// A netN the provider set that the list no longer reaches is deleted
	// from the container (removing an entry in the middle shifts the later
	// ones down).
	// +optional
	// +kubebuilder:validation:MaxItems=8
	Networks []ContainerNetwork `json:"networks,omitempty"`

	// Unprivileged runs the container with mapped user ids (the safe
	// default). It cannot change.
	// +optional
	// +kubebuilder:default=true
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.unprivileged is immutable"
	Unprivileged *bool `json:"unprivileged,omitempty"`

	// OnBoot starts the container when its node boots.
	// +optional
	OnBoot *bool `json:"onBoot,omitempty"`

	// Tags are Proxmox tags. The provider adds one tag of its own,
	// mc-<uid>, that marks the container as this resource's.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9_][a-z0-9_+.-]*$`
	// +kubebuilder:validation:items:MaxLength=64
	Tags []string `json:"tags,omitempty"`

	// Pool is the Proxmox resource pool the container is created in. It
	// cannot change.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.pool is immutable"
	Pool *string `json:"pool,omitempty"`

	// PowerState is Running (the default) or Stopped.
	// +optional
	// +kubebuilder:default=Running
	PowerState PowerState `json:"powerState,omitempty"`

	// ConvertToTemplate turns the (stopped) container into a template that
	// other containers are cloned from. It cannot be undone, and a
	// template cannot be started: powerState must be Stopped.
	// +optional
	ConvertToTemplate *bool `json:"convertToTemplate,omitempty"`

	// Firewall manages the container's own firewall: its options and its
	// links to security groups. Left as it is when unset. Interfaces
	// filter traffic only with networks[].firewall set.
	// +optional
	Firewall *GuestFirewall `json:"firewall,omitempty"`
}

// ContainerRootFS is a container's root volume.
type ContainerRootFS struct {
	// Storage holds the root volume; it must hold rootdir content, e.g.
	// ceph-rbd. It cannot change.
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_.-]*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.rootfs.storage is immutable"
	Storage string `json:"storage"`

	// SizeGiB is the root volume's size in GiB; it can only grow.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=131072
	// +kubebuilder:validation:XValidation:rule="self >= oldSelf",message="spec.forProvider.rootfs.sizeGiB can only grow: shrinking a volume destroys data"
	SizeGiB int64 `json:"sizeGiB"`
}

// A ContainerNetwork is one veth interface of a container.
// +kubebuilder:validation:XValidation:rule="!has(self.gw) || (has(self.ip) && self.ip != 'dhcp')",message="spec.forProvider.networks[].gw needs a static spec.forProvider.networks[].ip"
type ContainerNetwork struct {
	// Name is the interface's name inside the container, e.g. eth0.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z][a-zA-Z0-9_.-]*$`
	// +kubebuilder:validation:MaxLength=15
	Name string `json:"name"`

	// Bridge the interface is attached to.
	// +optional
	// +kubebuilder:default=vmbr0
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_.-]*$`
	Bridge string `json:"bridge,omitempty"`

	// IP is the IPv4 address: dhcp or a CIDR such as 10.0.0.5/24. The
	// interface is left unconfigured when unset.
	// +optional
	// +kubebuilder:validation:Pattern=`^(dhcp|([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2})$`
	IP *string `json:"ip,omitempty"`

	// Gateway is the IPv4 gateway of a static IP.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]{1,3}\.){3}[0-9]{1,3}$`
	Gateway *string `json:"gw,omitempty"`

	// Firewall filters the interface's traffic through the container's
	// firewall rules.
	// +optional
	Firewall *bool `json:"firewall,omitempty"`

	// VLAN tag of the interface's traffic.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4094
	VLAN *int64 `json:"vlan,omitempty"`
}

// ContainerObservation is the container as Proxmox reports it.
type ContainerObservation struct {
	// VMID is the container's id.
	VMID int64 `json:"vmid,omitempty"`
	// Node is where the container runs now.
	Node string `json:"node,omitempty"`
	// Status is running or stopped.
	Status string `json:"status,omitempty"`
	// Lock is set while Proxmox runs an operation on the container.
	Lock string `json:"lock,omitempty"`
	// Template is true once the container was converted to a template.
	Template bool `json:"template,omitempty"`
	// IPAddresses are the container's IPv4 addresses, from its interfaces.
	IPAddresses []string `json:"ipAddresses,omitempty"`
	// PendingTask is the UPID of the provider's last task on this
	// container that has not been seen to finish.
	PendingTask string `json:"pendingTask,omitempty"`
	// LastTaskError is the exit status of the last task that failed.
	LastTaskError string `json:"lastTaskError,omitempty"`
	// LastVerified is when the provider last read the guest's whole config
	// and firewall from PVE and compared them with the spec. Between such
	// reads it relies on the cluster view, which shows name, node, status,
	// tags, lock, pool, CPU, memory and disk totals; everything else (NICs,
	// cloud-init, firewall) is verified at least every --drift-interval
	// (an observe-only import's at least hourly).
	// While those reads find the guest as the spec says, this time is
	// moved only once it is an hour old: an idle guest's status is written
	// about once an hour, not at every read.
	LastVerified *metav1.Time `json:"lastVerified,omitempty"`
	// NICs are the netN keys the provider set from spec.forProvider.networks.
	// One the spec no longer lists is deleted from the container; interfaces
	// it never set (added by hand) are left alone.
	NICs []string `json:"nics,omitempty"`
}

// A ContainerSpec defines the desired state of a Container.
type ContainerSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              ContainerParameters `json:"forProvider"`
}

// A ContainerStatus represents the observed state of a Container.
type ContainerStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 ContainerObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A Container is an LXC container on a Proxmox VE cluster, created from a
// template file and kept in the power state its spec asks for; it can be
// turned into a template.
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="NODE",type="string",JSONPath=".status.atProvider.node"
// +kubebuilder:printcolumn:name="STATE",type="string",JSONPath=".status.atProvider.status"
// +kubebuilder:printcolumn:name="IP",type="string",JSONPath=".status.atProvider.ipAddresses[0]"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pvect
type Container struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ContainerSpec   `json:"spec"`
	Status ContainerStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ContainerList contains a list of Containers.
type ContainerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Container `json:"items"`
}
