package main

import (
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// The shared cluster view is the default; --shared-cluster-view=false must
// reach the Proxmox clients as per-guest observation (TestPerGuestObservation
// in internal/clients/proxmox shows what the simulator then sees).
func TestSharedClusterViewFlag(t *testing.T) {
	for _, c := range []struct {
		args     []string
		perGuest bool
	}{{nil, false}, {[]string{"--shared-cluster-view=false"}, true}, {[]string{"--shared-cluster-view=true"}, false}} {
		f, err := parseFlags(c.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := registryOptions(f, options.Options{}).PerGuest; got != c.perGuest {
			t.Errorf("%v: PerGuest = %v, want %v", c.args, got, c.perGuest)
		}
	}
}

// A bad --shard or a lease too short to renew is refused at start, naming the flag.
func TestShardFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--shard=microcloud.dev/shard=eu-1", "--leader-election-lease=6s"}, ""},
		{[]string{"--shard=microcloud.dev/shard!=eu-1"}, "--shard"},
		{[]string{"--shard=a=1,b=2"}, "exactly one label key"},
		{[]string{"--leader-election-lease=1s"}, "--leader-election-lease"},
	} {
		_, err := parseFlags(c.args)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%v: %v", c.args, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.err)
		}
	}
}
