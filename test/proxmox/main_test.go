// Package proxmox tests the Proxmox VE managed resources end to end: a real
// API server (envtest), the provider's controllers, and the PVE simulator over
// HTTPS as the backend.
package proxmox

import (
	"testing"

	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }
