// Package record defines the provenance record: its fields, its deterministic id, its
// canonical JSON form and its hash. It depends on the standard library only, so the
// chaincode and the connector share exactly the same hashing code.
package record
