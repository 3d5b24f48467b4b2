package ceph

import (
	"strconv"
)

// PoolSpec is what CreatePool needs; the rest is set with SetPool afterwards.
type PoolSpec struct {
	Name string
	// Erasure selects an erasure-coded pool built from Profile.
	Erasure bool
	Profile string
	// Rule is the CRUSH rule name; Ceph's default rule (or one named after the pool for EC) if empty.
	Rule          string
	PGNum         int
	AutoscaleMode string // on, off, warn
	Size          int    // replicated only; 0 keeps Ceph's default
}

// CreatePool creates a pool. Ceph answers success for a pool that already exists (even with other
// settings), so callers compare with the next snapshot rather than trusting the answer.
func (c *Client) CreatePool(s PoolSpec) error {
	args := map[string]any{"prefix": "osd pool create", "pool": s.Name}
	if s.PGNum > 0 {
		args["pg_num"] = s.PGNum
		args["pgp_num"] = s.PGNum
	}
	if s.AutoscaleMode != "" {
		args["autoscale_mode"] = s.AutoscaleMode
	}
	if s.Rule != "" {
		args["rule"] = s.Rule
	}
	if s.Erasure {
		args["pool_type"] = "erasure"
		args["erasure_code_profile"] = s.Profile
	} else {
		args["pool_type"] = "replicated"
		if s.Size > 0 {
			args["size"] = s.Size
		}
	}
	return c.write(args)
}

// SetPool sets one pool variable (size, min_size, pg_num, crush_rule, compression_mode, ...).
// Ceph wants the value as a string whatever its type.
func (c *Client) SetPool(pool, variable, value string) error {
	args := map[string]any{"prefix": "osd pool set", "pool": pool, "var": variable, "val": value}
	if variable == "size" && value == "1" {
		args["yes_i_really_mean_it"] = true
	}
	return c.write(args)
}

// SetPoolQuota sets max_bytes or max_objects; 0 removes the quota.
func (c *Client) SetPoolQuota(pool, field string, value int64) error {
	return c.write(map[string]any{"prefix": "osd pool set-quota", "pool": pool, "field": field, "val": strconv.FormatInt(value, 10)})
}

// EnablePoolApplication tags the pool for rbd, cephfs, rgw or a custom application.
func (c *Client) EnablePoolApplication(pool, app string) error {
	return c.write(map[string]any{"prefix": "osd pool application enable", "pool": pool, "app": app, "yes_i_really_mean_it": true})
}

// DisablePoolApplication removes an application tag.
func (c *Client) DisablePoolApplication(pool, app string) error {
	return c.write(map[string]any{"prefix": "osd pool application disable", "pool": pool, "app": app, "yes_i_really_mean_it": true})
}

// DeletePool removes a pool and all its data. It fails with EPERM when the cluster has
// `mon allow pool delete = false`.
func (c *Client) DeletePool(pool string) error {
	return c.write(map[string]any{"prefix": "osd pool rm", "pool": pool, "pool2": pool, "yes_i_really_really_mean_it": true})
}
