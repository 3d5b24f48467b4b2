package function

import (
	"github.com/crossplane/function-sdk-go/resource/composite"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const errSpec = "cannot read the composite resource's spec"

// ProviderConfigRef is passed through to every composed managed resource.
type ProviderConfigRef struct {
	Kind string `json:"kind,omitempty"`
	Name string `json:"name"`
}

// Template is the Proxmox VM a guest is cloned from.
type Template struct {
	SourceVMID int64   `json:"sourceVMID"`
	Full       *bool   `json:"full,omitempty"`
	Storage    *string `json:"storage,omitempty"`
}

// Volume is an RBD image in a Ceph pool.
type Volume struct {
	Pool    string `json:"pool"`
	SizeGiB int64  `json:"sizeGiB,omitempty"`
}

// ChainDisk is each validator's chain-state disk: a disk of its VM on a
// Proxmox storage backed by Ceph RBD.
type ChainDisk struct {
	Storage string `json:"storage,omitempty"`
	SizeGiB int64  `json:"sizeGiB,omitempty"`
}

// ValidatorHA says whether the validators run under Proxmox HA, kept apart
// by one negative resource-affinity rule (PVE 9).
type ValidatorHA struct {
	Enabled *bool `json:"enabled,omitempty"`
}

// Node is a Proxmox VE node a validator may run on, with its failure domains.
type Node struct {
	Name       string `json:"name"`
	Rack       string `json:"rack,omitempty"`
	Datacenter string `json:"datacenter,omitempty"`
}

// ValidatorSetSpec is the spec of a ValidatorSet XR.
type ValidatorSetSpec struct {
	FaultsTolerated   int                `json:"faultsTolerated"`
	Nodes             []Node             `json:"nodes"`
	Template          Template           `json:"template"`
	Cores             int64              `json:"cores,omitempty"`
	MemoryMiB         int64              `json:"memoryMiB,omitempty"`
	Bridge            string             `json:"bridge,omitempty"`
	ChainStorage      ChainDisk          `json:"chainStorage"`
	HA                *ValidatorHA       `json:"ha,omitempty"`
	P2PPort           int64              `json:"p2pPort,omitempty"`
	RPCPort           int64              `json:"rpcPort,omitempty"`
	RPCAllowedCIDRs   []string           `json:"rpcAllowedCIDRs,omitempty"`
	ProviderConfigRef *ProviderConfigRef `json:"providerConfigRef,omitempty"`
}

// TenantSpec is the spec of a Tenant XR.
type TenantSpec struct {
	StorageQuotaGiB   int64              `json:"storageQuotaGiB"`
	Replicas          int32              `json:"replicas,omitempty"`
	AdminCIDRs        []string           `json:"adminCIDRs,omitempty"`
	Description       string             `json:"description,omitempty"`
	ProviderConfigRef *ProviderConfigRef `json:"providerConfigRef,omitempty"`
	// Files, Objects and CephClient are the optional storage bundle.
	Files      *TenantFiles   `json:"files,omitempty"`
	Objects    *TenantObjects `json:"objects,omitempty"`
	CephClient bool           `json:"cephClient,omitempty"`
}

// TenantFiles asks for a CephFS subvolume of the tenant's own.
type TenantFiles struct {
	Filesystem string `json:"filesystem"`
	QuotaGiB   int64  `json:"quotaGiB"`
}

// TenantObjects asks for an S3 user and a bucket of the tenant's own.
type TenantObjects struct {
	// QuotaGiB limits everything the user stores; no limit when 0.
	QuotaGiB int64 `json:"quotaGiB,omitempty"`
}

// Port is a port a VPS opens to the world (or to sourceCIDR).
type Port struct {
	Port       int64  `json:"port"`
	Protocol   string `json:"protocol,omitempty"`
	SourceCIDR string `json:"sourceCIDR,omitempty"`
}

// VPSSpec is the spec of a VPS XR (and of the legacy XVPS).
type VPSSpec struct {
	Size              string             `json:"size"`
	Node              string             `json:"node"`
	Template          Template           `json:"template"`
	Bridge            string             `json:"bridge,omitempty"`
	ProxmoxPool       string             `json:"proxmoxPool,omitempty"`
	OpenPorts         []Port             `json:"openPorts,omitempty"`
	DataVolume        Volume             `json:"dataVolume"`
	SSHKeys           []string           `json:"sshKeys,omitempty"`
	ProviderConfigRef *ProviderConfigRef `json:"providerConfigRef,omitempty"`
}

// readSpec decodes the XR's spec; the XRD's OpenAPI schema has validated it already, the
// defaults below only matter when it did not apply them (crossplane render without --xrd).
func readSpec(xr *composite.Unstructured, into any) error {
	return errors.Wrap(xr.GetValueInto("spec", into), errSpec)
}

func (s *ValidatorSetSpec) defaults() {
	if s.Cores == 0 {
		s.Cores = 4
	}
	if s.MemoryMiB == 0 {
		s.MemoryMiB = 8192
	}
	if s.Bridge == "" {
		s.Bridge = "vmbr0"
	}
	if s.ChainStorage.SizeGiB == 0 {
		s.ChainStorage.SizeGiB = 100
	}
	if s.ChainStorage.Storage == "" {
		s.ChainStorage.Storage = "ceph-rbd"
	}
	if s.P2PPort == 0 {
		s.P2PPort = 26656
	}
	if s.RPCPort == 0 {
		s.RPCPort = 26657
	}
}

func (s *TenantSpec) defaults() {
	if s.Replicas == 0 {
		s.Replicas = 3
	}
}

func (s *VPSSpec) defaults() {
	if s.Bridge == "" {
		s.Bridge = "vmbr0"
	}
	if s.DataVolume.SizeGiB == 0 {
		s.DataVolume.SizeGiB = 20
	}
	for i := range s.OpenPorts {
		if s.OpenPorts[i].Protocol == "" {
			s.OpenPorts[i].Protocol = "tcp"
		}
	}
}

// haEnabled says whether the validators go under HA (the default).
func (s *ValidatorSetSpec) haEnabled() bool {
	return s.HA == nil || s.HA.Enabled == nil || *s.HA.Enabled
}
