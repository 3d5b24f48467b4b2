package pool

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

// observe turns Ceph's view of the pool into the MR's status.
func observe(p *ceph.PoolInfo, snap *ceph.Snapshot) v1alpha1.PoolObservation {
	o := v1alpha1.PoolObservation{
		ID:                 p.ID,
		Type:               "replicated",
		Size:               int32(p.Size),
		MinSize:            int32(p.MinSize),
		PGNum:              int32(p.PGNum),
		PGNumTarget:        int32(p.PGNumTarget),
		AutoscaleMode:      p.AutoscaleMode,
		ErasureCodeProfile: p.ErasureCodeProfile,
		QuotaMaxBytes:      p.QuotaMaxBytes,
		QuotaMaxObjects:    p.QuotaMaxObjects,
		CompressionMode:    p.Option("compression_mode"),
		TargetSizeRatio:    p.Option("target_size_ratio"),
		Flags:              p.FlagsNames,
	}
	if p.Erasure() {
		o.Type = "erasure"
	}
	o.Applications = p.Applications()
	sort.Strings(o.Applications)
	if r := snap.Crush.RuleByID(p.CrushRule); r != nil {
		o.CrushRule = r.Name
		if n, ok := snap.Crush.FailureDomains(r); ok {
			o.PlaceableCopies = int32(n)
		}
	}
	if sum := snap.PGs[p.ID]; sum != nil {
		o.PGStates = pgStates(sum)
	}
	return o
}

// pgStates writes Ceph's PG state words with counts, e.g. "8 active, 8 undersized".
func pgStates(s *ceph.PGSummary) string {
	names := make([]string, 0, len(s.States))
	for n := range s.States {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%d %s", s.States[n], n))
	}
	return fmt.Sprintf("%d PGs: %s", s.Total, strings.Join(parts, ", "))
}

// autoscaleMode is the mode the provider enforces: the spec's, else "off" when a pgNum is asked
// for (so the autoscaler does not undo it), else none.
func autoscaleMode(p v1alpha1.PoolParameters) string {
	if p.AutoscaleMode != nil {
		return *p.AutoscaleMode
	}
	if p.PGNum != nil {
		return "off"
	}
	return ""
}

// upToDate compares the settings the spec manages with Ceph's; unset fields are not managed.
// It returns a readable list of differences.
func upToDate(p v1alpha1.PoolParameters, o v1alpha1.PoolObservation) (bool, string) {
	var diff []string
	add := func(field string, want, got any) {
		diff = append(diff, fmt.Sprintf("%s: want %v, Ceph has %v", field, want, got))
	}

	if p.Type != "" && p.Type != o.Type {
		add("type", p.Type, o.Type)
	}
	if p.Size != nil && o.Type == "replicated" && *p.Size != o.Size {
		add("size", *p.Size, o.Size)
	}
	if p.MinSize != nil && *p.MinSize != o.MinSize {
		add("minSize", *p.MinSize, o.MinSize)
	}
	mode := autoscaleMode(p)
	if mode != "" && mode != o.AutoscaleMode {
		add("autoscaleMode", mode, o.AutoscaleMode)
	}
	// pg_num moves towards its target asynchronously, and with the autoscaler on the mgr owns it
	if p.PGNum != nil && mode != "on" && *p.PGNum != o.PGNumTarget {
		add("pgNum", *p.PGNum, o.PGNumTarget)
	}
	if p.TargetSizeRatio != nil && !sameRatio(*p.TargetSizeRatio, o.TargetSizeRatio) {
		add("targetSizeRatio", *p.TargetSizeRatio, o.TargetSizeRatio)
	}
	if p.CrushRule != nil && *p.CrushRule != o.CrushRule {
		add("crushRule", *p.CrushRule, o.CrushRule)
	}
	if p.ErasureCodeProfile != nil && *p.ErasureCodeProfile != o.ErasureCodeProfile {
		add("erasureCodeProfile", *p.ErasureCodeProfile, o.ErasureCodeProfile)
	}
	if p.Application != nil && !contains(o.Applications, *p.Application) {
		add("application", *p.Application, o.Applications)
	}
	if extra := extraApplications(p, o); len(extra) > 0 {
		diff = append(diff, fmt.Sprintf("applications: %s enabled in Ceph but not in the spec (want only %s)", strings.Join(extra, ", "), *p.Application))
	}
	if p.QuotaMaxBytes != nil && *p.QuotaMaxBytes != o.QuotaMaxBytes {
		add("quotaMaxBytes", *p.QuotaMaxBytes, o.QuotaMaxBytes)
	}
	if p.QuotaMaxObjects != nil && *p.QuotaMaxObjects != o.QuotaMaxObjects {
		add("quotaMaxObjects", *p.QuotaMaxObjects, o.QuotaMaxObjects)
	}
	if p.CompressionMode != nil && *p.CompressionMode != o.CompressionMode {
		add("compressionMode", *p.CompressionMode, o.CompressionMode)
	}
	if p.AllowECOverwrites != nil && *p.AllowECOverwrites != hasFlag(o.Flags, "ec_overwrites") {
		add("allowECOverwrites", *p.AllowECOverwrites, hasFlag(o.Flags, "ec_overwrites"))
	}
	return len(diff) == 0, strings.Join(diff, "; ")
}

// extraApplications are the applications enabled on the pool besides the spec's one; with no
// application in the spec the pool's applications are Ceph's business.
func extraApplications(p v1alpha1.PoolParameters, o v1alpha1.PoolObservation) []string {
	if p.Application == nil {
		return nil
	}
	var extra []string
	for _, a := range o.Applications {
		if a != *p.Application {
			extra = append(extra, a)
		}
	}
	sort.Strings(extra)
	return extra
}

// sameRatio compares decimal texts by value ("0.20" equals "0.2"); an unset ratio is 0.
func sameRatio(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	if b == "" {
		b = "0"
	}
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && x == y
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func hasFlag(flags, f string) bool { return contains(strings.Split(flags, ","), f) }

// placementProblem explains why Ceph cannot keep the pool's copies apart, or returns "".
// Ceph accepts a size its CRUSH rule cannot satisfy and leaves the PGs undersized, so the
// provider checks both the rule's failure domains and the PG states Ceph reports.
func placementProblem(o v1alpha1.PoolObservation, undersized int) string {
	var why []string
	if o.CrushRule != "" && o.PlaceableCopies < o.Size {
		why = append(why, fmt.Sprintf("CRUSH rule %q finds only %d failure domain(s) for %d copies", o.CrushRule, o.PlaceableCopies, o.Size))
	}
	if undersized > 0 {
		why = append(why, fmt.Sprintf("Ceph reports %d PG(s) undersized (%s)", undersized, o.PGStates))
	}
	if len(why) == 0 {
		return ""
	}
	return fmt.Sprintf("pool cannot place %d copies: %s; lower size or use a rule with more failure domains", o.Size, strings.Join(why, "; "))
}
