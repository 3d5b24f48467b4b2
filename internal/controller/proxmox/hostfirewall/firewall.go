// Package hostfirewall reconciles the firewalls of a Proxmox VE cluster
// that are not a guest's: the datacenter firewall (ClusterFirewall,
// cluster.fw) and each node's host firewall (NodeFirewall, host.fw). Both
// are a set of options and an ordered rule list that always exist in PVE,
// so a resource never creates one: it sets the options its spec names and,
// when its spec has rules, owns the rule list.
package hostfirewall

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/fwrules"
)

const (
	errReadOptions = "cannot read the options of %s"
	errReadRules   = "cannot read the rules of %s"
	errSetOptions  = "cannot set the options of %s"
	errRewrite     = "cannot rewrite the rules of %s"
)

// A scope is one firewall file: where its options and rules are, and how
// messages name it.
type scope struct {
	options proxmox.FirewallOptions
	rules   proxmox.RuleList
	name    string
	// enableDefault is enable's value when the file does not set it:
	// the datacenter firewall is off by default, a node's on.
	enableDefault string
}

func clusterScope() scope {
	return scope{options: proxmox.ClusterFirewallOptions(), rules: proxmox.ClusterRules(), name: "the datacenter firewall", enableDefault: "0"}
}

func nodeScope(node string) scope {
	return scope{options: proxmox.NodeFirewallOptions(node), rules: proxmox.NodeRules(node),
		name: fmt.Sprintf("the firewall of node %s", node), enableDefault: "1"}
}

// A want is what a spec asks of a firewall: option values in PVE's forms
// (log_ratelimit as its parts) and, when the spec owns them, the rules.
type want struct {
	options   map[string]string
	rateLimit map[string]string
	rules     *[]v1alpha1.FirewallRule
}

// state is a firewall as read from PVE.
type state struct {
	options       proxmox.Params
	optionsDigest string
	rules         []fwrules.Rule
	rulesDigest   string
}

func read(ctx context.Context, c *proxmox.Client, sc scope) (*state, error) {
	st := &state{}
	var err error
	if st.options, st.optionsDigest, err = c.Options(ctx, sc.options); err != nil {
		return nil, errors.Wrapf(err, errReadOptions, sc.name)
	}
	if st.rules, st.rulesDigest, err = fwrules.Read(ctx, c, sc.rules); err != nil {
		return nil, errors.Wrapf(err, errReadRules, sc.name)
	}
	return st, nil
}

func flag(b *bool) string {
	if *b {
		return "1"
	}
	return "0"
}

// optionValue is an option as the provider compares it: enable as on or off
// (the datacenter's enable may be the time of an anti-lockout call), other
// flags as 0 or 1.
func optionValue(sc scope, k, v string) string {
	if k == "enable" {
		if v == "" {
			return sc.enableDefault
		}
		if v != "0" {
			return "1"
		}
	}
	return v
}

// parseRateLimit splits log_ratelimit (enable=1,rate=1/second,burst=5).
func parseRateLimit(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			out[k] = v
		} else if part != "" {
			out["enable"] = part // the default key
		}
	}
	return out
}

// formatRateLimit writes log_ratelimit with enable first: PVE's format
// requires it (it is the default key), so it is 1 (PVE's default) when
// neither the spec nor PVE has it.
func formatRateLimit(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "enable" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	enable := m["enable"]
	if enable == "" {
		enable = "1"
	}
	parts := []string{"enable=" + enable}
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func rateLimitWant(l *v1alpha1.FirewallLogRateLimit) map[string]string {
	if l == nil {
		return nil
	}
	m := map[string]string{}
	if l.Enabled != nil {
		m["enable"] = flag(l.Enabled)
	}
	if l.Rate != nil {
		m["rate"] = *l.Rate
	}
	if l.Burst != nil {
		m["burst"] = strconv.Itoa(int(*l.Burst))
	}
	return m
}

// changes are the options to set for w, in PVE's forms, sorted by name.
func changes(sc scope, w want, have proxmox.Params) proxmox.Params {
	set := proxmox.Params{}
	for k, v := range w.options {
		if optionValue(sc, k, have[k]) != v {
			set[k] = v
		}
	}
	if len(w.rateLimit) > 0 {
		got := parseRateLimit(have["log_ratelimit"])
		merged := map[string]string{}
		for k, v := range got {
			merged[k] = v
		}
		differs := false
		for k, v := range w.rateLimit {
			if got[k] != v {
				differs = true
			}
			merged[k] = v
		}
		if differs {
			set["log_ratelimit"] = formatRateLimit(merged)
		}
	}
	return set
}

// diff describes how st differs from w ("" when it does not).
func diff(sc scope, w want, st *state) string {
	var out []string
	if set := changes(sc, w, st.options); len(set) > 0 {
		keys := make([]string, 0, len(set))
		for k := range set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out = append(out, "options differ: "+strings.Join(keys, ", "))
	}
	if w.rules != nil {
		if d := fwrules.Describe(fwrules.WantAll(*w.rules), st.rules); d != "" {
			out = append(out, d)
		}
	}
	return strings.Join(out, "; ")
}

func observation(sc scope, st *state) v1alpha1.HostFirewallObservation {
	opts := make(map[string]string, len(st.options))
	for k, v := range st.options {
		opts[k] = v
	}
	return v1alpha1.HostFirewallObservation{Enabled: optionValue(sc, "enable", st.options["enable"]) == "1", Options: opts,
		OptionsDigest: st.optionsDigest, RuleCount: len(st.rules), Rules: fwrules.Observed(st.rules), RulesDigest: st.rulesDigest}
}

// apply writes the options that differ (guarded by the options' digest
// read now, so PVE refuses it if someone changed them since), then rewrites
// the rules when the spec owns them: options first, as a rule may rely on
// the firewall being on or on a policy.
func apply(ctx context.Context, c *proxmox.Client, sc scope, w want) error {
	st, err := read(ctx, c, sc)
	if err != nil {
		return err
	}
	if set := changes(sc, w, st.options); len(set) > 0 {
		if err := c.SetOptions(ctx, sc.options, set, nil, st.optionsDigest); err != nil {
			return errors.Wrapf(err, errSetOptions, sc.name)
		}
	}
	if w.rules == nil {
		return nil
	}
	return errors.Wrapf(fwrules.Rewrite(ctx, c, sc.rules, fwrules.WantAll(*w.rules), st.rules, st.rulesDigest), errRewrite, sc.name)
}

// removeRules deletes the rules of a firewall whose rules the resource
// owns, last first; the options stay as they are.
func removeRules(ctx context.Context, c *proxmox.Client, sc scope, w want) error {
	if w.rules == nil {
		return nil
	}
	got, digest, err := fwrules.Read(ctx, c, sc.rules)
	if err != nil {
		return errors.Wrapf(err, errReadRules, sc.name)
	}
	// Emptying the list is the rule plan towards no rules.
	return errors.Wrapf(fwrules.Rewrite(ctx, c, sc.rules, nil, got, digest), errRewrite, sc.name)
}

// leftAfterDelete says whether a deleted resource still has something to
// remove: its rules, when it owns them.
func leftAfterDelete(w want, st *state) bool {
	return w.rules != nil && len(st.rules) > 0
}
