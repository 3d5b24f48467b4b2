// Package config tests the provider's configuration API against a real API
// server: admission (OpenAPI + CEL) and resolution of configs into sites.
package config

import (
	"testing"

	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }
