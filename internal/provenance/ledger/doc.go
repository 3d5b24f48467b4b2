// Package ledger is the fabric-gateway client of the provenance chaincode: it connects
// with the settings cluster/fabric-up.sh writes to fabric.env (or flags), submits record
// batches and reads records, heads, histories and verification reports.
package ledger
