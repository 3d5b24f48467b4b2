package ceph

// AddCrushBucket creates a bucket of a type (root, datacenter, row, rack, host, ...). It is created
// unattached; MoveCrushBucket puts it under its parent.
func (c *Client) AddCrushBucket(name, typ string) error {
	return c.write(map[string]any{"prefix": "osd crush add-bucket", "name": name, "type": typ})
}

// MoveCrushBucket re-parents a bucket under parent (of type parentType), with everything below it.
func (c *Client) MoveCrushBucket(name, parentType, parent string) error {
	return c.write(map[string]any{"prefix": "osd crush move", "name": name, "args": []string{parentType + "=" + parent}})
}

// RemoveCrushBucket removes an empty bucket; Ceph refuses (ENOTEMPTY) while it holds items.
func (c *Client) RemoveCrushBucket(name string) error {
	return c.write(map[string]any{"prefix": "osd crush rm", "name": name})
}

// CreateReplicatedRule creates a rule placing copies on distinct failureDomain buckets under root,
// on OSDs of deviceClass (any when empty).
func (c *Client) CreateReplicatedRule(name, root, failureDomain, deviceClass string) error {
	args := map[string]any{"prefix": "osd crush rule create-replicated", "name": name, "root": root, "type": failureDomain}
	if deviceClass != "" {
		args["class"] = deviceClass
	}
	return c.write(args)
}

// CreateErasureRule creates a rule from an erasure-code profile's CRUSH settings.
func (c *Client) CreateErasureRule(name, profile string) error {
	return c.write(map[string]any{"prefix": "osd crush rule create-erasure", "name": name, "profile": profile})
}

// RemoveCrushRule removes a rule; Ceph refuses (EBUSY) while a pool uses it.
func (c *Client) RemoveCrushRule(name string) error {
	return c.write(map[string]any{"prefix": "osd crush rule rm", "name": name})
}
