// Package ceph tests the Ceph managed resources end to end: the provider's controllers run in a
// controller-runtime manager against a real API server (envtest, our CRDs) and a real Ceph 16
// cluster started by cluster/ceph-up.sh (CEPH_CONF names its ceph.conf).
package ceph

import (
	"flag"
	"runtime"
	"strconv"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

func TestMain(m *testing.M) {
	// The fault matrix's parallel cells wait on Ceph and the API server, not on CPU: unless
	// -test.parallel was given, run more of them at once than there are cores.
	flag.Parse()
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == strconv.Itoa(runtime.GOMAXPROCS(0)) {
		_ = f.Value.Set("20")
	}
	envtest.Main(m)
}
