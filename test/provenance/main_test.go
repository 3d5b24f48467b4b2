// Package provenance proves the provenance ledger end to end inside the provider: the
// VirtualMachine controller (PVE simulator over HTTPS) and the Ceph Pool controller (a
// real Ceph cluster) run in a controller-runtime manager against a real API server
// (envtest), with changelog.Logger as their change logger and intent recorder, sending
// to the provenance connector, which commits to a real Hyperledger Fabric network.
//
// Needs KUBEBUILDER_ASSETS, FABRIC_ENV (cluster/fabric-up.sh) and CEPH_CONF
// (cluster/ceph-up.sh); without them the tests skip, or fail when
// MICROCLOUD_REQUIRE_INTEGRATION=1.
package provenance

import (
	"testing"

	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }
