package proxmox

import (
	"context"
	"strings"
)

// A PoolMember is one entry of a resource pool's member list: a guest
// (type qemu or lxc, with its vmid) or a storage.
type PoolMember struct {
	Type    string `json:"type"`
	VMID    any    `json:"vmid"`
	Storage string `json:"storage"`
}

// A ResourcePool is a PVE resource pool with its members.
type ResourcePool struct {
	PoolID  string       `json:"poolid"`
	Comment string       `json:"comment"`
	Members []PoolMember `json:"members"`
}

// Pool reads pool id with its members (GET /pools?poolid=ID); found is
// false only when PVE says it does not exist.
func (c *Client) Pool(ctx context.Context, id string) (ResourcePool, bool, error) {
	var list []ResourcePool
	if err := c.do(ctx, "GET", "/pools", map[string]any{"poolid": id}, &list); err != nil {
		if IsNotFound(err) {
			return ResourcePool{}, false, nil
		}
		return ResourcePool{}, false, err
	}
	for _, p := range list {
		if p.PoolID == id {
			return p, true, nil
		}
	}
	return ResourcePool{}, false, nil
}

// CreatePool creates an empty pool.
func (c *Client) CreatePool(ctx context.Context, id, comment string) error {
	p := map[string]any{"poolid": id}
	if comment != "" {
		p["comment"] = comment
	}
	return c.do(ctx, "POST", "/pools", p, nil)
}

// SetPoolComment sets a pool's comment.
func (c *Client) SetPoolComment(ctx context.Context, id, comment string) error {
	return c.do(ctx, "PUT", "/pools", map[string]any{"poolid": id, "comment": comment}, nil)
}

// DeletePool deletes an empty pool (PVE refuses one with members).
func (c *Client) DeletePool(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/pools", map[string]any{"poolid": id}, nil)
}

// A Volume is one entry of a storage's content list.
type Volume struct {
	VolID  string `json:"volid"`
	Format string `json:"format"`
	Size   int64  `json:"size"`
}

// StorageContent lists a node's storage content of one type (iso,
// vztmpl, images, ...).
func (c *Client) StorageContent(ctx context.Context, node, storage, content string) ([]Volume, error) {
	var out []Volume
	err := c.do(ctx, "GET", joinPath("nodes", node, "storage", storage, "content"), map[string]any{"content": content}, &out)
	return out, err
}

// DownloadAppliance starts the download of an appliance template from the
// node's aplinfo catalogue into storage and returns the task's UPID.
func (c *Client) DownloadAppliance(ctx context.Context, node, storage, template string) (string, error) {
	return c.task(ctx, "POST", joinPath("nodes", node, "aplinfo"), Params{"storage": storage, "template": template})
}

// DeleteVolume starts the deletion of a volume and returns the task's UPID.
// PVE takes the rest of the URI as the volume id, so its '/' stays as it is
// (the other characters a volid may hold need no escaping).
func (c *Client) DeleteVolume(ctx context.Context, node, storage, volid string) (string, error) {
	path := joinPath("nodes", node, "storage", storage, "content") + "/" + strings.ReplaceAll(volid, " ", "%20")
	return c.task(ctx, "DELETE", path, nil)
}
