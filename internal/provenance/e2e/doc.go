// Package e2e holds the provenance tests and benchmarks that run against a real Fabric
// network: set FABRIC_ENV to the fabric.env that cluster/fabric-up.sh writes.
package e2e
