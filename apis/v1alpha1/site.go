package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A SiteSpec describes one micro cloud site: its Proxmox VE cluster, its Ceph
// cluster, or both. Credentials are read from Secrets, never inlined.
type SiteSpec struct {
	// Proxmox configures access to a Proxmox VE cluster's API.
	// +optional
	Proxmox *ProxmoxConfig `json:"proxmox,omitempty"`

	// Ceph configures access to a Ceph cluster's monitors.
	// +optional
	Ceph *CephConfig `json:"ceph,omitempty"`
}

// ProxmoxConfig is how the provider reaches a Proxmox VE API.
// +kubebuilder:validation:XValidation:rule="!(has(self.insecureSkipTLSVerify) && self.insecureSkipTLSVerify && has(self.caBundle))",message="spec.proxmox.caBundle and spec.proxmox.insecureSkipTLSVerify are mutually exclusive"
type ProxmoxConfig struct {
	// Endpoint is the HTTPS URL of one API endpoint of the cluster, for
	// example https://pve1.example.net:8006. Any node of a PVE cluster serves
	// the whole cluster's API.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('https://') && isURL(self)",message="spec.proxmox.endpoint must be an https:// URL, e.g. https://pve1.example.net:8006"
	Endpoint string `json:"endpoint"`

	// TokenSecretRef selects the Secret key that holds the API token, in the
	// form user@realm!tokenid=secret (the value after "PVEAPIToken=").
	TokenSecretRef SecretKeySelector `json:"tokenSecretRef"`

	// CABundle selects a PEM bundle of the CAs that sign the endpoint's
	// certificate. When unset, the system trust store is used.
	// +kubebuilder:validation:XValidation:rule="has(self.secretKeyRef) != has(self.configMapKeyRef)",message="spec.proxmox.caBundle must set exactly one of secretKeyRef or configMapKeyRef"
	// +optional
	CABundle *CABundleSource `json:"caBundle,omitempty"`

	// InsecureSkipTLSVerify turns off verification of the endpoint's
	// certificate. Only for labs: it must be set explicitly and cannot be
	// combined with caBundle.
	// +optional
	// +kubebuilder:default=false
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`

	// RequestTimeout bounds each API request, e.g. "30s". Long-running
	// operations are tasks and are not bound by it.
	// +optional
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('10m')",message="spec.proxmox.requestTimeout must be between 1s and 10m"
	RequestTimeout *metav1.Duration `json:"requestTimeout,omitempty"`

	// MaxParallelCreates is how many guest creates and clones the provider
	// runs at once on this cluster. PVE allocates every new disk under a
	// cluster-wide storage lock that a waiting task gives up after 10s
	// ("cfs-lock 'storage-...' error: got lock request timeout"), so
	// starting them all at once makes the late ones fail. Guests beyond the
	// limit wait their turn in order (Ready=False, reason Creating, with
	// their place in the queue) and start as earlier creates end. The
	// default, 10, is Terraform's default parallelism.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxParallelCreates *int32 `json:"maxParallelCreates,omitempty"`
}

// CephConfig is how the provider reaches a Ceph cluster.
type CephConfig struct {
	// Monitors lists monitor addresses: host, host:port, [ipv6]:port, or
	// messenger-prefixed v1:host:port / v2:host:port.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self.all(m, m.matches('^(v[12]:)?([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\\\\[[0-9A-Fa-f:.]+\\\\])(:[0-9]{1,5})?(/[0-9]+)?$'))",message="spec.ceph.monitors: each entry must be host, host:port, [ipv6]:port or v1:/v2:-prefixed address"
	Monitors []string `json:"monitors"`

	// ObjectStore configures access to the cluster's RADOS Gateway (radosgw), which the
	// ObjectStoreUser and Bucket kinds need. The other Ceph kinds do not read it.
	// +optional
	ObjectStore *ObjectStoreConfig `json:"objectStore,omitempty"`

	// ClientName is the cephx user without the "client." prefix.
	// +optional
	// +kubebuilder:default=admin
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.-]+$`
	// +kubebuilder:validation:MaxLength=64
	ClientName string `json:"clientName,omitempty"`

	// KeyringSecretRef selects the Secret key holding the client's cephx key,
	// either a bare base64 key or a keyring file with a "key = ..." line.
	KeyringSecretRef SecretKeySelector `json:"keyringSecretRef"`
}

// ObjectStoreConfig is how the provider reaches a radosgw: one endpoint serving both the S3 API
// and the admin API (`rgw enable apis = s3, admin`), and the S3 keys of an RGW user with the admin
// caps users=*;buckets=* (e.g. `radosgw-admin user create --uid=crossplane --caps=...`).
// +kubebuilder:validation:XValidation:rule="!(has(self.insecureSkipTLSVerify) && self.insecureSkipTLSVerify && has(self.caBundle))",message="spec.ceph.objectStore.caBundle and spec.ceph.objectStore.insecureSkipTLSVerify are mutually exclusive"
type ObjectStoreConfig struct {
	// Endpoint is the http:// or https:// URL of the gateway, for example
	// https://rgw.example.net or http://127.0.0.1:7480. Buckets are addressed path-style.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="(self.startsWith('https://') || self.startsWith('http://')) && isURL(self)",message="spec.ceph.objectStore.endpoint must be an http:// or https:// URL, e.g. https://rgw.example.net"
	Endpoint string `json:"endpoint"`

	// AccessKeySecretRef selects the Secret key holding the admin user's S3 access key.
	AccessKeySecretRef SecretKeySelector `json:"accessKeySecretRef"`

	// SecretKeySecretRef selects the Secret key holding the admin user's S3 secret key.
	SecretKeySecretRef SecretKeySelector `json:"secretKeySecretRef"`

	// CABundle selects a PEM bundle of the CAs that sign an https endpoint's certificate. When
	// unset, the system trust store is used.
	// +kubebuilder:validation:XValidation:rule="has(self.secretKeyRef) != has(self.configMapKeyRef)",message="spec.ceph.objectStore.caBundle must set exactly one of secretKeyRef or configMapKeyRef"
	// +optional
	CABundle *CABundleSource `json:"caBundle,omitempty"`

	// InsecureSkipTLSVerify turns off verification of an https endpoint's certificate. Only for
	// labs: it must be set explicitly and cannot be combined with caBundle.
	// +optional
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
}

// CABundleSource selects a PEM CA bundle from a Secret or a ConfigMap (exactly one).
type CABundleSource struct {
	// SecretKeyRef selects a Secret key holding the PEM bundle.
	// +optional
	SecretKeyRef *SecretKeySelector `json:"secretKeyRef,omitempty"`

	// ConfigMapKeyRef selects a ConfigMap key holding the PEM bundle.
	// +optional
	ConfigMapKeyRef *ConfigMapKeySelector `json:"configMapKeyRef,omitempty"`
}

// A SecretKeySelector selects one key of a Secret. In a namespaced
// ProviderConfig the Secret is always in the ProviderConfig's namespace.
type SecretKeySelector struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace of the Secret. Required in a ClusterProviderConfig, not
	// allowed in a ProviderConfig.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`

	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// A ConfigMapKeySelector selects one key of a ConfigMap, with the same
// namespace rules as SecretKeySelector.
type ConfigMapKeySelector struct {
	// Name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace of the ConfigMap. Required in a ClusterProviderConfig, not
	// allowed in a ProviderConfig.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`

	// Key within the ConfigMap's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}
