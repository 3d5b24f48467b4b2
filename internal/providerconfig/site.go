// Package providerconfig turns a managed resource's providerConfigRef into a
// resolved Site: the endpoints and credentials of one micro cloud site.
package providerconfig

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// A Site is a resolved ProviderConfig or ClusterProviderConfig.
type Site struct {
	// Key identifies the site's resolved content (endpoints and credentials),
	// so backend clients can be shared while it is unchanged and rebuilt when
	// a credential rotates.
	Key string

	// Ref names the config the site was resolved from, e.g.
	// "ProviderConfig/ns/name" or "ClusterProviderConfig/name".
	Ref string

	Proxmox     *ProxmoxSite
	Ceph        *CephSite
	ObjectStore *ObjectStoreSite
}

// ProxmoxSite is how to reach a Proxmox VE API.
type ProxmoxSite struct {
	Endpoint              string
	Token                 string // user@realm!tokenid=secret
	CABundle              []byte // PEM; empty means the system trust store
	InsecureSkipTLSVerify bool
	RequestTimeout        time.Duration
	MaxParallelCreates    int // guest creates and clones in flight at once
}

// CephSite is how to reach a Ceph cluster.
type CephSite struct {
	Monitors   []string
	ClientName string // without the "client." prefix
	Key        string // cephx secret, or keyring text holding it
}

// ObjectStoreSite is how to reach a Ceph cluster's RADOS Gateway.
type ObjectStoreSite struct {
	Endpoint              string
	AccessKey             string
	SecretKey             string
	CABundle              []byte // PEM; empty means the system trust store
	InsecureSkipTLSVerify bool
}

// contentKey returns a stable hash of the site's content.
func (s *Site) contentKey() string {
	b, _ := json.Marshal(struct {
		P *ProxmoxSite
		C *CephSite
		O *ObjectStoreSite `json:",omitempty"`
	}{s.Proxmox, s.Ceph, s.ObjectStore})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// ProxmoxKey is the cache key of the site's Proxmox part alone.
func (s *Site) ProxmoxKey() string { return s.Key + "/proxmox" }

// CephKey is the cache key of the site's Ceph part alone.
func (s *Site) CephKey() string { return s.Key + "/ceph" }
