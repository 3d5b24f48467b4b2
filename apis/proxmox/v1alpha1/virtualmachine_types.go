package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// PowerState is the state a VM is kept in.
// +kubebuilder:validation:Enum=Running;Stopped
type PowerState string

// Power states.
const (
	PowerStateRunning PowerState = "Running"
	PowerStateStopped PowerState = "Stopped"
)

// VirtualMachineParameters are the settings of a QEMU virtual machine.
type VirtualMachineParameters struct {
	// Node is the cluster node the VM is created on. It cannot change: a VM
	// that HA or an admin migrated reports its node in status.atProvider.node.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.node is immutable; a migrated VM's node is in status.atProvider.node"
	Node string `json:"node"`

	// VMID is the VM's id in the cluster. When unset the provider asks the
	// cluster for a free one. It cannot change.
	// +optional
	// +kubebuilder:validation:Minimum=100
	// +kubebuilder:validation:Maximum=999999999
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.vmid is immutable"
	VMID *int64 `json:"vmid,omitempty"`

	// Name is the VM's DNS-style name in Proxmox; metadata.name when unset.
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name *string `json:"name,omitempty"`

	// Clone makes the VM a clone of a template. It cannot change.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.clone is immutable: delete and recreate the VM to clone another template"
	Clone *CloneSource `json:"clone,omitempty"`

	// Cores per socket.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=512
	Cores int64 `json:"cores,omitempty"`

	// Sockets is the number of CPU sockets.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16
	Sockets int64 `json:"sockets,omitempty"`

	// MemoryMiB is the VM's memory in MiB.
	// +optional
	// +kubebuilder:default=1024
	// +kubebuilder:validation:Minimum=16
	// +kubebuilder:validation:Maximum=8388608
	MemoryMiB int64 `json:"memoryMiB,omitempty"`

	// Description is the VM's notes in Proxmox.
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	Description *string `json:"description,omitempty"`

	// Tags are Proxmox tags. The provider adds one tag of its own,
	// mc-<uid>, that marks the VM as this resource's.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9_][a-z0-9_+.-]*$`
	// +kubebuilder:validation:items:MaxLength=64
	Tags []string `json:"tags,omitempty"`

	// Pool is the Proxmox resource pool the VM is created in. It cannot change.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.forProvider.pool is immutable"
	Pool *string `json:"pool,omitempty"`

	// OnBoot starts the VM when its node boots.
	// +optional
	OnBoot *bool `json:"onBoot,omitempty"`

	// Agent enables the QEMU guest agent, through which the VM's IP
	// addresses are read.
	// +optional
	// +kubebuilder:default=true
	Agent *bool `json:"agent,omitempty"`

	// PowerState is Running (the default) or Stopped.
	// +optional
	// +kubebuilder:default=Running
	PowerState PowerState `json:"powerState,omitempty"`

	// Disks the VM has beyond those its template brings, or resized ones.
	// Sizes can only grow.
	// +optional
	// +listType=map
	// +listMapKey=slot
	// +kubebuilder:validation:MaxItems=16
	Disks []Disk `json:"disks,omitempty"`

	// Networks are the VM's NICs, net0 first: entry i is netI. A netN the
	// provider set that the list no longer reaches is deleted from the VM
	// (removing an entry in the middle shifts the later ones down).
	// +optional
	// +kubebuilder:validation:MaxItems=8
	Networks []NetworkInterface `json:"networks,omitempty"`

	// CloudInit configures the guest on first boot.
	// +optional
	CloudInit *CloudInit `json:"cloudInit,omitempty"`

	// Firewall manages the VM's own firewall: its options and its links to
	// security groups. Left as it is when unset. NICs filter traffic only
	// with networks[].firewall set.
	// +optional
	Firewall *GuestFirewall `json:"firewall,omitempty"`
}

// CloneSource is the template a VM is cloned from.
type CloneSource struct {
	// SourceVMID is the id of the template to clone.
	// +kubebuilder:validation:Minimum=100
	// +kubebuilder:validation:Maximum=999999999
	SourceVMID int64 `json:"sourceVMID"`

	// Full makes an independent full copy; false makes a linked clone,
	// which needs a template on storage that supports it.
	// +optional
	// +kubebuilder:default=true
	Full *bool `json:"full,omitempty"`

	// Storage is where a full clone's disks go, e.g. an RBD storage on Ceph.
	// The template's storage when unset.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_.-]*$`
	Storage *string `json:"storage,omitempty"`
}

// A Disk is a virtual disk in one bus slot.
type Disk struct {
	// Slot is the bus and index, e.g. scsi0, virtio1.
	// +kubebuilder:validation:Pattern=`^(scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5]|ide[0-3])$`
	Slot string `json:"slot"`

	// Storage holds a new disk, e.g. ceph-rbd. Ignored for a disk the
	// template already has in this slot.
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_.-]*$`
	Storage string `json:"storage"`

	// SizeGiB is the disk size in GiB; it can only grow.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=131072
	// +kubebuilder:validation:XValidation:rule="self >= oldSelf",message="spec.forProvider.disks[].sizeGiB can only grow: shrinking a disk destroys data"
	SizeGiB int64 `json:"sizeGiB"`
}

// A NetworkInterface is one virtual NIC.
type NetworkInterface struct {
	// Model of the NIC.
	// +optional
	// +kubebuilder:default=virtio
	// +kubebuilder:validation:Enum=virtio;e1000;e1000e;vmxnet3;rtl8139
	Model string `json:"model,omitempty"`

	// Bridge the NIC is attached to.
	// +optional
	// +kubebuilder:default=vmbr0
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_.-]*$`
	Bridge string `json:"bridge,omitempty"`

	// VLAN tag of the NIC's traffic.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4094
	VLAN *int64 `json:"vlan,omitempty"`

	// Firewall filters the NIC's traffic through the VM's firewall rules.
	// +optional
	Firewall *bool `json:"firewall,omitempty"`
}

// CloudInit configures the guest on first boot.
type CloudInit struct {
	// User is the default user.
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z_][a-z0-9_-]*$`
	User *string `json:"user,omitempty"`

	// SSHKeys are public keys for the default user.
	// +optional
	SSHKeys []string `json:"sshKeys,omitempty"`

	// IPConfigs are per-NIC settings in Proxmox's ipconfigN form, net0
	// first: a comma-separated list of ip=<IPv4 CIDR|dhcp>, gw=<IPv4>,
	// ip6=<IPv6 CIDR|dhcp|auto> and gw6=<IPv6>, e.g. "ip=dhcp",
	// "ip=192.0.2.10/24,gw=192.0.2.1" or "ip6=auto". A gateway needs a static
	// address of its family in the same entry (PVE ignores the entry otherwise).
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=160
	// +kubebuilder:validation:items:XValidation:rule="self.split(',').all(p, p.matches('^(ip|gw|ip6|gw6)=[^=]+$'))",message="must be a comma-separated list of ip=, gw=, ip6= and gw6= settings, e.g. ip=192.0.2.10/24,gw=192.0.2.1 or ip=dhcp"
	// +kubebuilder:validation:items:XValidation:rule="['ip','gw','ip6','gw6'].all(k, self.split(',').filter(p, p.startsWith(k + '=')).size() <= 1)",message="sets a key twice (PVE: duplicate key in comma-separated list property)"
	// +kubebuilder:validation:items:XValidation:rule="self.split(',').all(p, !p.startsWith('ip=') || p == 'ip=dhcp' || (isCIDR(p.substring(3)) && cidr(p.substring(3)).ip().family() == 4 && cidr(p.substring(3)).prefixLength() >= 8))",message="ip= must be an IPv4 CIDR like 192.0.2.10/24 (prefix 8-32), or dhcp"
	// +kubebuilder:validation:items:XValidation:rule="self.split(',').all(p, !p.startsWith('gw=') || (isIP(p.substring(3)) && ip(p.substring(3)).family() == 4))",message="gw= must be an IPv4 address like 192.0.2.1"
	// +kubebuilder:validation:items:XValidation:rule="self.split(',').all(p, !p.startsWith('ip6=') || p == 'ip6=dhcp' || p == 'ip6=auto' || (isCIDR(p.substring(4)) && cidr(p.substring(4)).ip().family() == 6 && cidr(p.substring(4)).prefixLength() >= 8))",message="ip6= must be an IPv6 CIDR like 2001:db8::10/64 (prefix 8-128), or dhcp or auto"
	// +kubebuilder:validation:items:XValidation:rule="self.split(',').all(p, !p.startsWith('gw6=') || (isIP(p.substring(4)) && ip(p.substring(4)).family() == 6))",message="gw6= must be an IPv6 address like 2001:db8::1"
	// +kubebuilder:validation:items:XValidation:rule="!self.split(',').exists(p, p.startsWith('gw=')) || self.split(',').exists(p, p.startsWith('ip=') && p != 'ip=dhcp')",message="gw= needs a static ip= address in the same entry (PVE ignores the entry when the gateway comes without ip= or with ip=dhcp)"
	// +kubebuilder:validation:items:XValidation:rule="!self.split(',').exists(p, p.startsWith('gw6=')) || self.split(',').exists(p, p.startsWith('ip6=') && p != 'ip6=dhcp' && p != 'ip6=auto')",message="gw6= needs a static ip6= address in the same entry (PVE ignores the entry when the gateway comes without ip6= or with ip6=dhcp/auto)"
	IPConfigs []string `json:"ipConfigs,omitempty"`

	// Nameserver for the guest.
	// +optional
	Nameserver *string `json:"nameserver,omitempty"`

	// SearchDomain for the guest.
	// +optional
	SearchDomain *string `json:"searchDomain,omitempty"`
}

// VirtualMachineObservation is the VM as Proxmox reports it.
type VirtualMachineObservation struct {
	// VMID is the VM's id.
	VMID int64 `json:"vmid,omitempty"`
	// Node is where the VM runs now (it may differ from spec after a migration).
	Node string `json:"node,omitempty"`
	// Status is running or stopped.
	Status string `json:"status,omitempty"`
	// Lock is set while Proxmox runs an operation on the VM (clone, migrate, ...).
	Lock string `json:"lock,omitempty"`
	// IPAddresses are the guest's addresses, from the guest agent.
	IPAddresses []string `json:"ipAddresses,omitempty"`
	// HAState is the VM's HA state when it is an HA resource.
	HAState string `json:"haState,omitempty"`
	// PendingTask is the UPID of the provider's last task on this VM that
	// has not been seen to finish; it is checked on the next reconcile
	// instead of blocking a worker.
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
	// Disks are the volumes last seen in the spec's disk slots, by slot. A
	// slot found empty later is never refilled with a new blank disk: the
	// volume is re-attached when it sits in an unusedN entry, else the
	// resource reports the loss.
	Disks map[string]string `json:"disks,omitempty"`
	// NICs are the netN keys the provider set from spec.forProvider.networks.
	// One the spec no longer lists is deleted from the VM; NICs it never set
	// (the template's beyond the spec, added by hand) are left alone.
	NICs []string `json:"nics,omitempty"`
}

// A VirtualMachineSpec defines the desired state of a VirtualMachine.
type VirtualMachineSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              VirtualMachineParameters `json:"forProvider"`
}

// A VirtualMachineStatus represents the observed state of a VirtualMachine.
type VirtualMachineStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 VirtualMachineObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true

// A VirtualMachine is a QEMU virtual machine on a Proxmox VE cluster, cloned
// from a template or created empty, kept in the power state its spec asks for.
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="NODE",type="string",JSONPath=".status.atProvider.node"
// +kubebuilder:printcolumn:name="STATE",type="string",JSONPath=".status.atProvider.status"
// +kubebuilder:printcolumn:name="IP",type="string",JSONPath=".status.atProvider.ipAddresses[0]"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,microcloud,proxmox},shortName=pvevm
type VirtualMachine struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VirtualMachineSpec   `json:"spec"`
	Status VirtualMachineStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// VirtualMachineList contains a list of VirtualMachines.
type VirtualMachineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualMachine `json:"items"`
}
