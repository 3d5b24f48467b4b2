// Package shard splits one provider's work over several Deployments (or
// several replica sets of one): each runs with --shard, a label selector on
// ProviderConfigs and ClusterProviderConfigs, and caches and reconciles only
// the configs it selects and the managed resources that use them.
//
// A managed resource follows its config through a label: the labeler (see
// labeler.go) copies the value of the shard's label key from the config the
// resource references onto the resource, and every replica's caches select
// managed resources by that same label. So a replica's informers never hold
// the other shards' resources (memory and API-server watch traffic scale
// with the shard, not the whole installation), and moving a config to
// another shard (changing its label) moves its resources with it.
package shard

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
)

// DefaultKey is the label key the documentation and examples use
// (--shard=microcloud.dev/shard=eu-1); any one key works.
const DefaultKey = "microcloud.dev/shard"

// A Shard is what one replica set of the provider owns: the configs its
// selector matches and the managed resources labeled like them.
type Shard struct {
	// Selector selects the shard's configs and managed resources.
	Selector labels.Selector
	// Key is the one label key the selector is about.
	Key string
}

// Parse reads a --shard value: a label selector on exactly one key, by
// equality (key=value) or set membership (key in (a,b)). Other operators
// are refused: a negative one (key!=a, notin, !key) would also select the
// resources not labeled yet, which belong to no shard until the labeler has
// copied their config's value. An empty value is no shard (everything).
func Parse(s string) (*Shard, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, errors.Wrapf(err, "--shard %q is not a label selector", s)
	}
	reqs, _ := sel.Requirements()
	keys := map[string]bool{}
	for _, r := range reqs {
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
		default:
			return nil, errors.Errorf("--shard %q: only key=value or key in (values) is allowed, not %q", s, r.String())
		}
		keys[r.Key()] = true
	}
	if len(keys) != 1 {
		return nil, errors.Errorf("--shard %q must be about exactly one label key (e.g. %s=eu-1), it names %d", s, DefaultKey, len(keys))
	}
	sh := &Shard{Selector: sel}
	for k := range keys {
		sh.Key = k
	}
	return sh, nil
}

// String is the selector in its canonical form.
func (s *Shard) String() string { return s.Selector.String() }

// LeaderElectionID is base made unique per shard, so each shard elects its
// own leader and a standby of one shard never waits for another's lease.
// The selector's hash keeps the name a valid Lease name whatever the values.
func (s *Shard) LeaderElectionID(base string) string {
	if s == nil {
		return base
	}
	h := sha256.Sum256([]byte(s.canonical()))
	return base + "-shard-" + hex.EncodeToString(h[:5])
}

// canonical writes the selector so that equal selectors read the same:
// key=v and key==v are key in (v), values sorted.
func (s *Shard) canonical() string {
	reqs, _ := s.Selector.Requirements()
	parts := make([]string, 0, len(reqs))
	for _, r := range reqs {
		vals := r.Values().List() // sorted
		parts = append(parts, r.Key()+" in ("+strings.Join(vals, ",")+")")
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// ManagedKinds lists the managed resource kinds the scheme knows in the
// given API groups, sorted, lists excluded.
func ManagedKinds(sch *runtime.Scheme, groups ...string) ([]schema.GroupVersionKind, error) {
	var out []schema.GroupVersionKind
	for gvk := range sch.AllKnownTypes() {
		if !slices.Contains(groups, gvk.Group) || strings.HasSuffix(gvk.Kind, "List") {
			continue
		}
		obj, err := sch.New(gvk)
		if err != nil {
			return nil, err
		}
		if _, ok := obj.(resource.ModernManaged); ok {
			out = append(out, gvk)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// CacheOptions narrows co to the shard: both config kinds and every kind in
// managed are cached only when the selector matches them. Everything else
// (Secrets, ProviderConfigUsages, events) is cached as before.
func (s *Shard) CacheOptions(co *cache.Options, sch *runtime.Scheme, managed []schema.GroupVersionKind) error {
	if s == nil {
		return nil
	}
	if co.ByObject == nil {
		co.ByObject = map[client.Object]cache.ByObject{}
	}
	co.ByObject[&v1alpha1.ProviderConfig{}] = cache.ByObject{Label: s.Selector}
	co.ByObject[&v1alpha1.ClusterProviderConfig{}] = cache.ByObject{Label: s.Selector}
	for _, gvk := range managed {
		obj, err := sch.New(gvk)
		if err != nil {
			return err
		}
		co.ByObject[obj.(client.Object)] = cache.ByObject{Label: s.Selector}
	}
	return nil
}
