// Package proxmox is the provider's Proxmox VE client: one go-proxmox client per
// site, shared by every controller, with a shared cluster view (one
// GET /cluster/resources per poll feeds every guest's Observe), a per-guest
// config memo, task helpers and request metrics.
package proxmox
