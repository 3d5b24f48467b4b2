package connector

import (
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// Crossplane's composition labels on a composed resource.
const (
	labelComposite      = "crossplane.io/composite"
	labelClaimName      = "crossplane.io/claim-name"
	labelClaimNamespace = "crossplane.io/claim-namespace"
)

const (
	errNoEntry    = "change log request has no entry"
	errNoSnapshot = "change log entry has no snapshot of the resource"
	errNoUID      = "change log entry's snapshot has no metadata.uid"
	errOperation  = "change log entry has no known operation"
	errSpecHash   = "cannot hash the resource's spec"
)

// FromEntry translates a change-log entry into an unsealed record. What the entry does
// not carry itself (namespace, UID, generation, labels, ProviderConfig, spec) comes from
// its snapshot, the resource as it was before the change.
func FromEntry(e *v1alpha1.ChangeLogEntry) (record.Record, error) {
	if e == nil {
		return record.Record{}, errors.New(errNoEntry)
	}
	if e.GetSnapshot() == nil {
		return record.Record{}, errors.New(errNoSnapshot)
	}
	snap := e.GetSnapshot().AsMap()
	meta, _ := snap["metadata"].(map[string]any)
	spec := snap["spec"]
	uid, _ := meta["uid"].(string)
	if uid == "" {
		return record.Record{}, errors.New(errNoUID)
	}
	gen, _ := meta["generation"].(float64) // structpb numbers are float64
	ns, _ := meta["namespace"].(string)
	labels, _ := meta["labels"].(map[string]any)

	op, err := operation(e.GetOperation())
	if err != nil {
		return record.Record{}, err
	}
	r := record.Record{
		UID: uid, Generation: int64(gen),
		APIVersion: e.GetApiVersion(), Kind: e.GetKind(), Namespace: ns, Name: e.GetName(),
		ExternalName:    e.GetExternalName(),
		ProviderConfig:  providerConfig(spec),
		Composite:       str(labels[labelComposite]),
		ClaimName:       str(labels[labelClaimName]),
		ClaimNamespace:  str(labels[labelClaimNamespace]),
		Operation:       op,
		Outcome:         record.OutcomeSuccess,
		ProviderVersion: e.GetProvider(),
		Time:            time.Now().UTC().Format(time.RFC3339Nano),
	}
	r.ResourceKey = record.ResourceKey(r.APIVersion, r.Kind, r.Namespace, r.Name)
	if ts := e.GetTimestamp(); ts != nil {
		r.Time = ts.AsTime().UTC().Format(time.RFC3339Nano)
		r.Write = r.Time
	}
	if n := e.GetAdditionalDetails()[record.DetailWrite]; n != "" {
		r.Write += "/" + n
	}
	if r.SpecHash, err = record.SpecHash(spec); err != nil {
		return record.Record{}, errors.Wrap(err, errSpecHash)
	}
	for k, v := range e.GetAdditionalDetails() {
		if k == record.DetailPhase || k == record.DetailWrite {
			continue
		}
		if r.Details == nil {
			r.Details = map[string]string{}
		}
		r.Details[k] = v
	}
	switch {
	case e.GetAdditionalDetails()[record.DetailPhase] == record.PhaseIntent:
		r.Operation, r.Outcome = "intent-"+op, record.OutcomeIntent
	case e.ErrorMessage != nil:
		r.Outcome, r.Message = record.OutcomeFailure, e.GetErrorMessage()
	}
	return r, nil
}

func operation(o v1alpha1.OperationType) (string, error) {
	switch o {
	case v1alpha1.OperationType_OPERATION_TYPE_CREATE:
		return record.OpCreate, nil
	case v1alpha1.OperationType_OPERATION_TYPE_UPDATE:
		return record.OpUpdate, nil
	case v1alpha1.OperationType_OPERATION_TYPE_DELETE:
		return record.OpDelete, nil
	case v1alpha1.OperationType_OPERATION_TYPE_UNSPECIFIED:
	}
	return "", errors.Errorf("%s: %s", errOperation, o.String())
}

// providerConfig is "<kind>/<name>" (v2 typed reference) or "<name>" (legacy reference).
func providerConfig(spec any) string {
	s, _ := spec.(map[string]any)
	ref, _ := s["providerConfigRef"].(map[string]any)
	name, kind := str(ref["name"]), str(ref["kind"])
	if kind == "" {
		return name
	}
	return kind + "/" + name
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
