// Package ceph tests the Ceph managed resources end to end: the provider's controllers run in a
// controller-runtime manager against a real API server (envtest, our CRDs) and a real Ceph 16
// cluster started by cluster/ceph-up.sh (CEPH_CONF names its ceph.conf).
package ceph

import (
	"testing"

	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }
