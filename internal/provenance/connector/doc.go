// Package connector is the provenance connector: a gRPC server implementing
// crossplane-runtime's ChangeLogService that turns change-log entries into records and
// appends them to the write-ahead log (acknowledging only after the fsync), and a batcher
// that submits unsent records to the provenance chaincode until they are committed.
package connector
