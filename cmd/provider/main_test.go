package main

import (
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
