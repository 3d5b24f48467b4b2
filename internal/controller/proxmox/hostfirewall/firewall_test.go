package hostfirewall

import (
	"reflect"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/fwrules"
)

func TestChanges(t *testing.T) {
	dc, node := clusterScope(), nodeScope("pve1")
	cases := map[string]struct {
		sc   scope
		w    want
		have proxmox.Params
		set  proxmox.Params
	}{
		"enable by anti-lockout time is on": {dc, want{options: map[string]string{"enable": "1"}},
			proxmox.Params{"enable": "1764633600"}, proxmox.Params{}},
		"datacenter off by default": {dc, want{options: map[string]string{"enable": "0"}}, proxmox.Params{}, proxmox.Params{}},
		"node on by default":        {node, want{options: map[string]string{"enable": "1"}}, proxmox.Params{}, proxmox.Params{}},
		"node switched off":         {node, want{options: map[string]string{"enable": "0"}}, proxmox.Params{}, proxmox.Params{"enable": "0"}},
		"policy differs": {dc, want{options: map[string]string{"policy_in": "DROP"}}, proxmox.Params{"policy_in": "ACCEPT"},
			proxmox.Params{"policy_in": "DROP"}},
		"rate limit: only the parts the spec names, merged, enable first": {dc,
			want{rateLimit: rateLimitWant(&v1alpha1.FirewallLogRateLimit{Burst: ptr.To[int32](9)})},
			proxmox.Params{"log_ratelimit": "rate=2/second,enable=0,burst=5"},
			proxmox.Params{"log_ratelimit": "enable=0,burst=9,rate=2/second"}},
		"rate limit equal in another order": {dc,
			want{rateLimit: rateLimitWant(&v1alpha1.FirewallLogRateLimit{Enabled: ptr.To(true), Rate: ptr.To("1/second")})},
			proxmox.Params{"log_ratelimit": "rate=1/second,enable=1"}, proxmox.Params{}},
		"rate limit unset in PVE": {dc, want{rateLimit: rateLimitWant(&v1alpha1.FirewallLogRateLimit{Rate: ptr.To("3/minute")})},
			proxmox.Params{}, proxmox.Params{"log_ratelimit": "enable=1,rate=3/minute"}},
	}
	for name, c := range cases {
		if got := changes(c.sc, c.w, c.have); !reflect.DeepEqual(got, c.set) {
			t.Errorf("%s: changes = %v, want %v", name, got, c.set)
		}
	}
}

func TestDiffAndDelete(t *testing.T) {
	rules := []v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Macro: ptr.To("SSH")}}
	st := &state{options: proxmox.Params{"enable": "1"}}
	w := want{options: map[string]string{"enable": "1", "policy_in": "DROP"}, rules: &rules}
	if d := diff(clusterScope(), w, st); d != "options differ: policy_in; rules differ from position 0 (spec has 1 rules, Proxmox 0)" {
		t.Errorf("diff = %q", d)
	}
	// Rules left alone when the spec has none: no diff, nothing to delete.
	if d := diff(clusterScope(), want{}, &state{rules: nil, options: proxmox.Params{}}); d != "" {
		t.Errorf("diff without a spec = %q", d)
	}
	if leftAfterDelete(want{}, &state{rules: make([]fwrules.Rule, 1)}) {
		t.Error("a resource without rules has something left to delete")
	}
	if !leftAfterDelete(w, &state{rules: make([]fwrules.Rule, 1)}) || leftAfterDelete(w, &state{}) {
		t.Error("owned rules decide what is left to delete")
	}
}
