package ceph

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Snapshot is one observation of a site: pools, the CRUSH map, erasure-code profiles and PG
// states, fetched with a handful of commands and shared by every Observe until it expires or the
// provider writes.
type Snapshot struct {
	Pools    map[string]*PoolInfo
	Crush    *CrushMap
	Profiles map[string]map[string]string
	// PGs counts placement groups per pool id and state flag ("undersized", "active", ...); nil
	// when the mgr did not answer.
	PGs   map[int64]*PGSummary
	Taken time.Time
}

// PoolInfo is one entry of `osd pool ls detail`.
type PoolInfo struct {
	ID                  int64                        `json:"pool_id"`
	Name                string                       `json:"pool_name"`
	Type                int                          `json:"type"` // 1 replicated, 3 erasure
	Size                int                          `json:"size"`
	MinSize             int                          `json:"min_size"`
	CrushRule           int                          `json:"crush_rule"`
	PGNum               int                          `json:"pg_num"`
	PGNumTarget         int                          `json:"pg_num_target"`
	PGPlacementNum      int                          `json:"pg_placement_num"`
	AutoscaleMode       string                       `json:"pg_autoscale_mode"`
	ErasureCodeProfile  string                       `json:"erasure_code_profile"`
	QuotaMaxBytes       int64                        `json:"quota_max_bytes"`
	QuotaMaxObjects     int64                        `json:"quota_max_objects"`
	FlagsNames          string                       `json:"flags_names"`
	ApplicationMetadata map[string]map[string]string `json:"application_metadata"`
	Options             map[string]any               `json:"options"`
}

// Erasure tells whether the pool is erasure-coded.
func (p *PoolInfo) Erasure() bool { return p.Type == 3 }

// Applications lists the pool's enabled applications.
func (p *PoolInfo) Applications() []string {
	out := make([]string, 0, len(p.ApplicationMetadata))
	for a := range p.ApplicationMetadata {
		out = append(out, a)
	}
	return out
}

// Option returns a per-pool option (compression_mode, target_size_ratio, ...) as text, "" if unset.
func (p *PoolInfo) Option(name string) string {
	v, ok := p.Options[name]
	if !ok {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	default:
		return ""
	}
}

// HasFlag tells whether the pool carries a flag such as "full_quota".
func (p *PoolInfo) HasFlag(f string) bool {
	for _, x := range strings.Split(p.FlagsNames, ",") {
		if x == f {
			return true
		}
	}
	return false
}

// PGSummary counts a pool's PGs.
type PGSummary struct {
	Total int
	// States counts PGs carrying each state flag, e.g. States["undersized"].
	States map[string]int
	// Acting is the smallest acting set seen, i.e. how many copies Ceph could place.
	MinActing int
}

const (
	errPools    = "cannot list pools"
	errCrush    = "cannot read the CRUSH map"
	errProfiles = "cannot read erasure-code profiles"
)

// Invalidate drops the cached snapshot; the next Snapshot call fetches a new one.
func (c *Client) Invalidate() {
	c.mu.Lock()
	c.expired = true
	c.mu.Unlock()
}

// Fresh returns a new observation, for decisions (deletions) that must not rest on a cached one.
func (c *Client) Fresh(ctx context.Context) (*Snapshot, error) {
	c.Invalidate()
	return c.Snapshot(ctx)
}

// PoolsUsingRule lists (sorted) the pools whose CRUSH rule is the named rule.
func (s *Snapshot) PoolsUsingRule(rule string) []string {
	r := s.Crush.Rule(rule)
	if r == nil {
		return nil
	}
	var out []string
	for _, p := range s.Pools {
		if p.CrushRule == r.ID {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

// PoolsUsingProfile lists (sorted) the erasure-coded pools made from the named profile.
func (s *Snapshot) PoolsUsingProfile(profile string) []string {
	var out []string
	for _, p := range s.Pools {
		if p.ErasureCodeProfile == profile {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Snapshot returns the cached observation, fetching a new one when it is older than the
// client's maximum age or was invalidated by a write.
func (c *Client) Snapshot(_ context.Context) (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap != nil && !c.expired && time.Since(c.snap.Taken) < c.maxAge {
		return c.snap, nil
	}
	s, err := c.fetch()
	if err != nil {
		return nil, err
	}
	c.snap, c.expired = s, false
	return s, nil
}

func (c *Client) fetch() (*Snapshot, error) {
	s := &Snapshot{Taken: time.Now(), Pools: map[string]*PoolInfo{}, Profiles: map[string]map[string]string{}}
	var pools []*PoolInfo
	if err := c.monJSON(map[string]any{"prefix": "osd pool ls", "detail": "detail"}, &pools); err != nil {
		return nil, errors.Wrap(err, errPools)
	}
	for _, p := range pools {
		s.Pools[p.Name] = p
	}
	cm := &CrushMap{}
	if err := c.monJSON(map[string]any{"prefix": "osd crush dump"}, cm); err != nil {
		return nil, errors.Wrap(err, errCrush)
	}
	cm.index()
	s.Crush = cm
	var names []string
	if err := c.monJSON(map[string]any{"prefix": "osd erasure-code-profile ls"}, &names); err != nil {
		return nil, errors.Wrap(err, errProfiles)
	}
	for _, n := range names {
		p, err := c.getProfile(n)
		if err != nil {
			if IsNotFound(err) { // removed between ls and get
				continue
			}
			return nil, errors.Wrap(err, errProfiles)
		}
		s.Profiles[n] = p
	}
	// PG states come from the mgr; without it the snapshot still serves everything else.
	s.PGs = c.pgSummaries()
	return s, nil
}

type pgBrief struct {
	PGStats []struct {
		PGID   string `json:"pgid"`
		State  string `json:"state"`
		Acting []int  `json:"acting"`
	} `json:"pg_stats"`
}

func (c *Client) pgSummaries() map[int64]*PGSummary {
	var b pgBrief
	if err := c.mgrJSON(map[string]any{"prefix": "pg dump", "dumpcontents": []string{"pgs_brief"}}, &b); err != nil {
		return nil
	}
	out := map[int64]*PGSummary{}
	for _, pg := range b.PGStats {
		poolStr, _, _ := strings.Cut(pg.PGID, ".")
		id, err := strconv.ParseInt(poolStr, 10, 64)
		if err != nil {
			continue
		}
		sum := out[id]
		if sum == nil {
			sum = &PGSummary{States: map[string]int{}, MinActing: -1}
			out[id] = sum
		}
		sum.Total++
		for _, st := range strings.Split(pg.State, "+") {
			sum.States[st]++
		}
		acting := 0
		for _, o := range pg.Acting {
			if o >= 0 && o != 2147483647 { // CRUSH_ITEM_NONE marks an EC shard with no OSD
				acting++
			}
		}
		if sum.MinActing < 0 || acting < sum.MinActing {
			sum.MinActing = acting
		}
	}
	return out
}
