package proxmox

import (
	"context"
	"net/url"
)

// Lacks returns which of privs the caller does not hold on path, as PVE's
// GET /access/permissions?path= reports the caller's own privileges.
func (c *Client) Lacks(ctx context.Context, path string, privs ...string) ([]string, error) {
	var out map[string]map[string]flexInt
	if err := c.Get(ctx, "/access/permissions?path="+url.QueryEscape(path), &out); err != nil {
		return nil, err
	}
	var lacks []string
	for _, p := range privs {
		if _, ok := out[path][p]; !ok {
			lacks = append(lacks, p)
		}
	}
	return lacks, nil
}
