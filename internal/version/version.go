// Package version holds the provider's version, stamped at build time with
// -ldflags "-X github.com/microcloud-dev/provider-microcloud/internal/version.Version=...".
package version

// Version of the provider.
var Version = "v0.0.0-dev"
