package ceph

import (
	"sort"
)

// SetErasureCodeProfile creates a profile from key=value pairs (k, m, plugin, technique,
// crush-failure-domain, crush-device-class, crush-root). Ceph refuses (EPERM) to change an
// existing profile and silently accepts an identical one.
func (c *Client) SetErasureCodeProfile(name string, kv map[string]string) error {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	profile := make([]string, 0, len(keys))
	for _, k := range keys {
		profile = append(profile, k+"="+kv[k])
	}
	return c.write(map[string]any{"prefix": "osd erasure-code-profile set", "name": name, "profile": profile})
}

// RemoveErasureCodeProfile removes a profile; Ceph refuses (EBUSY) while a pool uses it.
func (c *Client) RemoveErasureCodeProfile(name string) error {
	return c.write(map[string]any{"prefix": "osd erasure-code-profile rm", "name": name})
}

func (c *Client) getProfile(name string) (map[string]string, error) {
	p := map[string]string{}
	err := c.monJSON(map[string]any{"prefix": "osd erasure-code-profile get", "name": name}, &p)
	return p, err
}
