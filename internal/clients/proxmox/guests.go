package proxmox

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Params are request parameters in PVE's string forms (see values.go):
// config keys and their values, rule options, and the like.
type Params map[string]string

// A GuestRef names a guest: its node, its type (qemu or lxc) and its id.
type GuestRef struct {
	Node string
	Type string
	VMID int
}

// Ref names the guest g.
func (g *Guest) Ref() GuestRef { return GuestRef{Node: g.Node, Type: g.Type, VMID: int(g.VMID)} }

// path is the guest's API path plus suffix, every element escaped.
func (r GuestRef) path(suffix ...string) string {
	return joinPath(append([]string{"nodes", r.Node, r.Type, strconv.Itoa(r.VMID)}, suffix...)...)
}

// joinPath builds an API path from its elements, escaping each: the one
// place paths are made.
func joinPath(elems ...string) string {
	var b strings.Builder
	for _, e := range elems {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(e))
	}
	return b.String()
}

// GuestPath is the API path of a guest on a node: /nodes/N/qemu/ID.
func GuestPath(node, kind string, vmid int) string {
	return GuestRef{Node: node, Type: kind, VMID: vmid}.path()
}

func anyParams(p Params) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// A CloneRequest clones a VM (a template, usually) into a new id.
type CloneRequest struct {
	Source  GuestRef
	NewID   int
	Name    string
	Target  string // node of the clone
	Full    bool
	Storage string // optional, full clones only
	Pool    string // optional
}

// CloneVM starts a clone task (POST .../clone) and returns its UPID.
func (c *Client) CloneVM(ctx context.Context, r CloneRequest) (string, error) {
	p := Params{"newid": strconv.Itoa(r.NewID), "name": r.Name, "target": r.Target, "full": Bool(r.Full)}
	if r.Storage != "" {
		p["storage"] = r.Storage
	}
	if r.Pool != "" {
		p["pool"] = r.Pool
	}
	return c.task(ctx, "POST", r.Source.path("clone"), p)
}

// CreateGuest starts the create task of a VM (typ qemu) or a container (lxc)
// with id on node, with its whole config, and returns the task's UPID.
func (c *Client) CreateGuest(ctx context.Context, node, typ string, id int, config Params) (string, error) {
	p := Params{"vmid": strconv.Itoa(id)}
	for k, v := range config {
		p[k] = v
	}
	return c.task(ctx, "POST", joinPath("nodes", node, typ), p)
}

// UpdateGuestConfig sets config keys of a guest (PUT .../config). digest is
// the config digest the change was computed from: PVE refuses the write when
// the config changed since. A change without a digest is never sent.
func (c *Client) UpdateGuestConfig(ctx context.Context, g GuestRef, set Params, digest string) error {
	if digest == "" {
		return fmt.Errorf("PUT %s: refusing to write a config change without the digest it was computed from", g.path("config"))
	}
	p := anyParams(set)
	p["digest"] = digest
	return c.do(ctx, "PUT", g.path("config"), p, nil)
}

// Resize grows a guest's disk (qemu: scsi0, ...; lxc: rootfs, mpN) to
// sizeGiB. It returns the task's UPID when PVE runs it as a task ("" when it
// answered at once).
func (c *Client) Resize(ctx context.Context, g GuestRef, disk string, sizeGiB int64) (string, error) {
	var out any
	if err := c.do(ctx, "PUT", g.path("resize"), map[string]any{"disk": disk, "size": SizeGiB(sizeGiB)}, &out); err != nil {
		return "", err
	}
	if upid, ok := out.(string); ok && strings.HasPrefix(upid, "UPID:") {
		return upid, nil
	}
	return "", nil
}

// Power actions.
const (
	PowerStart    = "start"
	PowerStop     = "stop"
	PowerShutdown = "shutdown"
)

// SetPower starts a power task (start, stop, shutdown) and returns its UPID.
// A shutdown with forceStopAfter > 0 stops the guest when it has not shut
// down within that many seconds.
func (c *Client) SetPower(ctx context.Context, g GuestRef, action string, forceStopAfter int) (string, error) {
	p := Params{}
	if action == PowerShutdown && forceStopAfter > 0 {
		p["forceStop"] = "1"
		p["timeout"] = strconv.Itoa(forceStopAfter)
	}
	return c.task(ctx, "POST", g.path("status", action), p)
}

// Destroy starts the destroy task of a stopped guest, with its disks and
// every reference to it (HA, replication, backup jobs, pools) purged.
func (c *Client) Destroy(ctx context.Context, g GuestRef) (string, error) {
	return c.task(ctx, "DELETE", g.path(), Params{"purge": "1", "destroy-unreferenced-disks": "1"})
}

// ConvertToTemplate turns a stopped guest into a template (POST
// .../template): a task for VMs; containers answer at once ("" then).
func (c *Client) ConvertToTemplate(ctx context.Context, g GuestRef) (string, error) {
	var out any
	if err := c.do(ctx, "POST", g.path("template"), nil, &out); err != nil {
		return "", err
	}
	if upid, ok := out.(string); ok && strings.HasPrefix(upid, "UPID:") {
		return upid, nil
	}
	return "", nil
}

// An Interface is a container's network interface as PVE reports it.
type Interface struct {
	Name        string `json:"name"`
	HWAddr      string `json:"hwaddr"`
	Inet        string `json:"inet"`
	Inet6       string `json:"inet6"`
	IPAddresses []struct {
		Address string `json:"ip-address"`
		Type    string `json:"ip-address-type"`
		Prefix  any    `json:"prefix"`
	} `json:"ip-addresses"`
}

// ContainerInterfaces lists a running container's interfaces.
func (c *Client) ContainerInterfaces(ctx context.Context, g GuestRef) ([]Interface, error) {
	var out []Interface
	err := c.do(ctx, "GET", g.path("interfaces"), nil, &out)
	return out, err
}

// task sends a request that starts a worker and returns the task's UPID.
func (c *Client) task(ctx context.Context, method, path string, p Params) (string, error) {
	var upid string
	if err := c.do(ctx, method, path, anyParams(p), &upid); err != nil {
		return "", err
	}
	if !strings.HasPrefix(upid, "UPID:") {
		return "", &APIError{Method: method, Path: path, Status: 200, NotEnvelope: true, Message: fmt.Sprintf("answered %q, not a task id", upid)}
	}
	return upid, nil
}

// WithDigest returns a copy of p that carries digest (the digest of what a
// change was computed from; PVE refuses the change when it no longer matches).
func (p Params) WithDigest(digest string) Params {
	out := Params{"digest": digest}
	for k, v := range p {
		out[k] = v
	}
	return out
}

// SplitDigest returns p without its digest, and the digest ("" when none).
func (p Params) SplitDigest() (Params, string) {
	out := make(Params, len(p))
	for k, v := range p {
		out[k] = v
	}
	d := out["digest"]
	delete(out, "digest")
	return out, d
}
