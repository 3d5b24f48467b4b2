// Package crashloop kills the provider process with SIGKILL at random moments
// while it creates, updates and deletes VirtualMachines, and checks against
// the PVE simulator's own state that nothing was created twice, lost or
// leaked: the exactly-once and clean-delete promises of ADR 0001 under the
// failure they are made for. The provider runs as its real binary against a
// real API server (envtest) and an in-process simulator.
package crashloop

import (
	"testing"

	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }
