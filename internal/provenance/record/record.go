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
	// ID is DeriveID(UID, Generation, Operation, Outcome, SpecHash, Write).
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
	// Write names the one call to the external API this record reports, as the provider
	// stamped it when it made the call: the change-log entry's timestamp (RFC 3339,
	// nanoseconds, UTC), then "/" and the provider's write nonce when the entry carries
	// one (DetailWrite). A re-sent entry carries the same stamp, a second write (a drift
	// repaired again, a retry) a new one; see DeriveID. Empty for an entry with neither,
	// and in records written before it existed: their id is the old 4-tuple.
	Write string `json:"write,omitempty"`

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
	group := "core" // "v1": the core group has no name
	if i := lastSlash(apiVersion); i >= 0 {
		group = apiVersion[:i]
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

// DeriveID is the deterministic record id: the same write reported twice (a retried
// send, a crash between append and acknowledgement, a provider restart that re-sends its
// spool) carries the same write stamp and gets the same id, so it is stored once; two
// writes of the same generation (drift repaired twice, a failed call and its retry)
// carry different stamps and get two ids. A failed attempt's operation part is
// "<op>/failure". A record without a write stamp (an entry without timestamp, or a
// record from before stamps existed) keeps the 4-tuple id (UID, generation, operation,
// spec hash), so old chains still verify.
func DeriveID(uid string, generation int64, operation, outcome, specHash, write string) string {
	op := operation
	if outcome == OutcomeFailure {
		op += "/" + OutcomeFailure
	}
	parts := []string{uid, strconv.FormatInt(generation, 10), op, specHash}
	if write != "" {
		parts = append(parts, write)
	}
	h := sha256.New()
	for _, p := range parts {
		// length-prefixed, so no two different tuples hash the same bytes
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// IDOf is DeriveID of r's identity fields.
func IDOf(r Record) string {
	return DeriveID(r.UID, r.Generation, r.Operation, r.Outcome, r.SpecHash, r.Write)
}

// ComputeHash is the SHA-256 of the record's canonical JSON (CanonicalJSON's bytes) with
// Hash left empty. It cannot fail; the error stays for the callers written when it could.
func ComputeHash(r Record) (string, error) {
	r.Hash = ""
	var buf [1024]byte
	sum := sha256.Sum256(r.appendCanonical(buf[:0]))
	return hex.EncodeToString(sum[:]), nil
}

// Seal sets the record's id (from its identity fields), previous hash and hash.
func (r *Record) Seal(prevHash string) error {
	r.ID = IDOf(*r)
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
	if id := IDOf(r); id != r.ID {
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

// DetailWrite is the change-log entry's additional-details key carrying the provider's
// write nonce: random, chosen once per external call (and per intent) when the entry is
// made, and stored with the entry in the provider's queue or spool, so a re-sent entry
// carries it unchanged. It goes into Record.Write, not Record.Details.
const DetailWrite = "provenance.microcloud.dev/write"
