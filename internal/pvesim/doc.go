// Package pvesim simulates the Proxmox VE 9 HTTP API (/api2/json) closely
// enough that go-proxmox and the provider cannot tell it from a real cluster
// for the calls they make: PVE's envelopes, status lines, error bodies,
// parameter checks, auth, tasks, locks and config digests.
package pvesim

//go:generate go run ./internal/schemagen -schema ../../../shared/pve-api/pve-api-schema.json -routes routes.txt -out specs.json
