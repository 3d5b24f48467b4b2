package proxmox

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// An HAResource is a guest under HA as PVE reports it
// (GET /cluster/ha/resources/{sid}), in PVE's string forms.
type HAResource struct {
	SID     string
	Type    string
	State   string
	Comment string
	// MaxRestart and MaxRelocate are "" when PVE reports none (its default 1).
	MaxRestart  string
	MaxRelocate string
	Digest      string
}

// HAResource reads the HA resource sid (vm:100, ct:101); found is false
// only when PVE says it does not exist.
func (c *Client) HAResource(ctx context.Context, sid string) (HAResource, bool, error) {
	var raw map[string]any
	if err := c.do(ctx, "GET", joinPath("cluster", "ha", "resources", sid), nil, &raw); err != nil {
		if IsNotFound(err) {
			return HAResource{}, false, nil
		}
		return HAResource{}, false, err
	}
	return HAResource{
		SID: String(raw["sid"]), Type: String(raw["type"]), State: String(raw["state"]),
		Comment: String(raw["comment"]), MaxRestart: String(raw["max_restart"]),
		MaxRelocate: String(raw["max_relocate"]), Digest: String(raw["digest"]),
	}, true, nil
}

// CreateHAResource puts the guest sid under HA with settings (state,
// max_restart, max_relocate, comment).
func (c *Client) CreateHAResource(ctx context.Context, sid string, settings Params) error {
	p := anyParams(settings)
	p["sid"] = sid
	return c.do(ctx, "POST", "/cluster/ha/resources", p, nil)
}

// UpdateHAResource changes an HA resource; digest is the resources
// config's digest the change was computed from.
func (c *Client) UpdateHAResource(ctx context.Context, sid string, change Params, digest string) error {
	p := anyParams(change)
	if digest != "" {
		p["digest"] = digest
	}
	return c.do(ctx, "PUT", joinPath("cluster", "ha", "resources", sid), p, nil)
}

// DeleteHAResource takes the guest sid out of HA (and, as PVE's default
// purge does, out of the HA rules naming it). The guest is not touched.
func (c *Client) DeleteHAResource(ctx context.Context, sid string) error {
	return c.do(ctx, "DELETE", joinPath("cluster", "ha", "resources", sid), nil, nil)
}

// An HARule is a PVE 9 HA rule as PVE reports it, in PVE's string forms
// (resources sorted).
type HARule struct {
	Rule      string
	Type      string
	Resources []string
	Nodes     string
	Strict    bool
	Affinity  string
	Disable   bool
	Comment   string
	Order     int64
	Digest    string
}

// HARule reads HA rule id; found is false only when PVE says it does not
// exist. A cluster before PVE 9 answers 501 (IsNotImplemented).
func (c *Client) HARule(ctx context.Context, id string) (HARule, bool, error) {
	var raw map[string]any
	if err := c.do(ctx, "GET", joinPath("cluster", "ha", "rules", id), nil, &raw); err != nil {
		if IsNotFound(err) {
			return HARule{}, false, nil
		}
		return HARule{}, false, err
	}
	res := splitList(String(raw["resources"]))
	sort.Strings(res)
	order, _ := strconv.ParseInt(String(raw["order"]), 10, 64)
	return HARule{
		Rule: String(raw["rule"]), Type: String(raw["type"]), Resources: res,
		Nodes: String(raw["nodes"]), Strict: String(raw["strict"]) == "1",
		Affinity: String(raw["affinity"]), Disable: String(raw["disable"]) == "1",
		Comment: String(raw["comment"]), Order: order, Digest: String(raw["digest"]),
	}, true, nil
}

// CreateHARule creates HA rule id of type typ with settings.
func (c *Client) CreateHARule(ctx context.Context, id, typ string, settings Params) error {
	p := anyParams(settings)
	p["rule"], p["type"] = id, typ
	return c.do(ctx, "POST", "/cluster/ha/rules", p, nil)
}

// UpdateHARule changes HA rule id (PVE wants its type with every update);
// digest is the rules config's digest the change was computed from.
func (c *Client) UpdateHARule(ctx context.Context, id, typ string, change Params, digest string) error {
	p := anyParams(change)
	p["type"] = typ
	if digest != "" {
		p["digest"] = digest
	}
	return c.do(ctx, "PUT", joinPath("cluster", "ha", "rules", id), p, nil)
}

// DeleteHARule deletes HA rule id (PVE answers success for a missing rule).
func (c *Client) DeleteHARule(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", joinPath("cluster", "ha", "rules", id), nil, nil)
}

// IsNotImplemented tells whether PVE itself answered that it has no such
// API method (501): a route of a later release, such as /cluster/ha/rules
// before PVE 9.
func IsNotImplemented(err error) bool {
	e, ok := AsAPIError(err)
	return ok && e.Status == http.StatusNotImplemented && e.fromPVE()
}

// IsAlreadyDefined tells whether PVE refused to create an HA resource or
// rule because its id is taken.
func IsAlreadyDefined(err error) bool { return pveSays(err, "already defined") }

// IsNotHAManaged tells whether PVE refused to take a guest out of HA
// because it is not under HA.
func IsNotHAManaged(err error) bool { return pveSays(err, "not ha managed") }

// splitList splits PVE's list formats (comma, semicolon or space separated).
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' })
}
