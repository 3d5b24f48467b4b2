package record

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
)

// Operations. The change itself is create/update/delete; an intent is recorded before
// the external call is made, so a change that crashes half-way still leaves a trace.
const (
	OpCreate       = "create"
	OpUpdate       = "update"
	OpDelete       = "delete"
	OpIntentCreate = "intent-create"
	OpIntentUpdate = "intent-update"
	OpIntentDelete = "intent-delete"
)

// Outcomes of an operation. Intents are recorded with OutcomeIntent.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeIntent  = "intended"
)

// A Record is one entry of a resource's provenance chain.
type Record struct {
	// ID is DeriveID(UID, Generation, Operation, Outcome, SpecHash).
	ID string `json:"id"`
	// ResourceKey names the chain the record belongs to; see ResourceKey.
	ResourceKey string `json:"resourceKey"`

	UID        string `json:"uid"`
	Generation int64  `json:"generation"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// ExternalName is the crossplane.io/external-name annotation, if any.
	ExternalName string `json:"externalName,omitempty"`
	// ProviderConfig is "<kind>/<name>" of the referenced ProviderConfig.
	ProviderConfig string `json:"providerConfig,omitempty"`
	// Composite, ClaimName and ClaimNamespace come from Crossplane's composition labels.
	Composite      string `json:"composite,omitempty"`
	ClaimName      string `json:"claimName,omitempty"`
	ClaimNamespace string `json:"claimNamespace,omitempty"`

	Operation string `json:"operation"`
	Outcome   string `json:"outcome"`
	// Message is the error message of a failed operation.
	Message string `json:"message,omitempty"`
	// SpecHash is SpecHash(spec) of the resource as it was before the operation.
	SpecHash        string            `json:"specHash"`
	ProviderVersion string            `json:"providerVersion,omitempty"`
	Details         map[string]string `json:"details,omitempty"`
	// Time is when the provider made the change, RFC 3339 in UTC.
	Time string `json:"time"`

	// PrevHash is the Hash of the previous record of the same resource ("" for the first).
	PrevHash string `json:"prevHash"`
	// Hash is ComputeHash of this record; it covers every other field, PrevHash included.
	Hash string `json:"hash"`
}

// ResourceKey names a resource's chain: "<Kind>.<group>/<namespace>/<name>" for a
// namespaced resource and "<Kind>.<group>/<name>" for a cluster-scoped one. The API
// version is left out so a chain survives a version bump; the UID is left out so the
// history of a name survives deletion and re-creation.
func ResourceKey(apiVersion, kind, namespace, name string) string {
	group := apiVersion
	if i := lastSlash(apiVersion); i >= 0 {
		group = apiVersion[:i]
	} else {
		group = "core" // "v1": the core group has no name
	}
	if namespace == "" {
		return kind + "." + group + "/" + name
	}
	return kind + "." + group + "/" + namespace + "/" + name
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// DeriveID is the deterministic record id: the same change reported twice (a retried
// send, a crash between append and acknowledgement) gets the same id and is stored once.
// A failed attempt gets an id of its own, so the later successful attempt of the same
// generation is not mistaken for a duplicate of the failure.
func DeriveID(uid string, generation int64, operation, outcome, specHash string) string {
	op := operation
	if outcome == OutcomeFailure {
		op += "/" + OutcomeFailure
	}
	h := sha256.New()
	for _, p := range []string{uid, strconv.FormatInt(generation, 10), op, specHash} {
		// length-prefixed, so no two different tuples hash the same bytes
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ComputeHash is the SHA-256 of the record's canonical JSON with Hash left empty.
func ComputeHash(r Record) (string, error) {
	r.Hash = ""
	b, err := CanonicalJSON(r)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Seal sets the record's id (from its identity fields), previous hash and hash.
func (r *Record) Seal(prevHash string) error {
	r.ID = DeriveID(r.UID, r.Generation, r.Operation, r.Outcome, r.SpecHash)
	r.PrevHash = prevHash
	h, err := ComputeHash(*r)
	if err != nil {
		return err
	}
	r.Hash = h
	return nil
}

// Check verifies that the record is complete and that its id and hash match its content.
func (r Record) Check() error {
	switch {
	case r.ID == "":
		return fmt.Errorf("record has no id")
	case r.ResourceKey == "" || r.UID == "" || r.Operation == "" || r.Outcome == "" || r.SpecHash == "" || r.Time == "":
		return fmt.Errorf("record %s: resourceKey, uid, operation, outcome, specHash and time are required", r.ID)
	}
	if id := DeriveID(r.UID, r.Generation, r.Operation, r.Outcome, r.SpecHash); id != r.ID {
		return fmt.Errorf("record %s of %s: id does not match its content (computed %s)", r.ID, r.ResourceKey, id)
	}
	h, err := ComputeHash(r)
	if err != nil {
		return fmt.Errorf("record %s: cannot hash: %w", r.ID, err)
	}
	if h != r.Hash {
		return fmt.Errorf("record %s of %s: hash does not match its content (computed %s, got %s)", r.ID, r.ResourceKey, h, r.Hash)
	}
	return nil
}

// DetailPhase is the change-log entry's additional-details key that marks an intent:
// crossplane-runtime's ChangeLogService has no intent operation, so the provider sends
// an ordinary entry with DetailPhase set to PhaseIntent before it calls the external API.
const (
	DetailPhase = "provenance.microcloud.dev/phase"
	PhaseIntent = "intent"
)
