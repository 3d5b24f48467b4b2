// Package changelog is the provider side of provenance: a managed.ChangeLogger that sends
// crossplane-runtime change-log entries to the provenance connector, and RecordIntent,
// which external clients call before each external create/update/delete so that, in
// required mode, no external change is made unless its intent is durably recorded.
// It depends on no provider API type: it works on any resource.Managed.
package changelog
