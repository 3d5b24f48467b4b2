// Package chaincode is the provenance chaincode's logic: it stores records, keeps one
// hash chain per resource, refuses records that do not extend their chain, and walks a
// chain on request. cmd/provenance-chaincode serves it as chaincode-as-a-service.
package chaincode
