package pool

import (
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
)

func ptr[T any](v T) *T { return &v }

func TestUpToDate(t *testing.T) {
	base := v1alpha1.PoolObservation{Type: "replicated", Size: 3, MinSize: 2, PGNum: 8, PGNumTarget: 32, AutoscaleMode: "off",
		CrushRule: "replicated_rule", Applications: []string{"rbd"}, QuotaMaxBytes: 1 << 30, CompressionMode: "aggressive",
		TargetSizeRatio: "0.2", Flags: "hashpspool"}
	cases := map[string]struct {
		spec    v1alpha1.PoolParameters
		obs     v1alpha1.PoolObservation
		want    bool
		diffHas string
	}{
		"NothingManaged": {spec: v1alpha1.PoolParameters{}, obs: base, want: true},
		"AllMatch": {spec: v1alpha1.PoolParameters{Type: "replicated", Size: ptr(int32(3)), MinSize: ptr(int32(2)), PGNum: ptr(int32(32)),
			CrushRule: ptr("replicated_rule"), Application: ptr("rbd"), QuotaMaxBytes: ptr(int64(1 << 30)),
			CompressionMode: ptr("aggressive"), TargetSizeRatio: ptr("0.20")}, obs: base, want: true},
		"SizeDrift":           {spec: v1alpha1.PoolParameters{Size: ptr(int32(2))}, obs: base, diffHas: "size: want 2, Ceph has 3"},
		"MinSizeDrift":        {spec: v1alpha1.PoolParameters{MinSize: ptr(int32(1))}, obs: base, diffHas: "minSize"},
		"PGNumComparesTarget": {spec: v1alpha1.PoolParameters{PGNum: ptr(int32(8))}, obs: base, diffHas: "pgNum: want 8, Ceph has 32"},
		"PGNumIgnoredWithAutoscaler": {spec: v1alpha1.PoolParameters{PGNum: ptr(int32(8)), AutoscaleMode: ptr("on")},
			obs: func() v1alpha1.PoolObservation { o := base; o.AutoscaleMode = "on"; return o }(), want: true},
		"PGNumImpliesAutoscaleOff": {spec: v1alpha1.PoolParameters{PGNum: ptr(int32(32))},
			obs: func() v1alpha1.PoolObservation { o := base; o.AutoscaleMode = "on"; return o }(), diffHas: "autoscaleMode: want off"},
		"RuleDrift":  {spec: v1alpha1.PoolParameters{CrushRule: ptr("fast")}, obs: base, diffHas: "crushRule"},
		"AppMissing": {spec: v1alpha1.PoolParameters{Application: ptr("rgw")}, obs: base, diffHas: "application"},
		"AppExtra": {spec: v1alpha1.PoolParameters{Application: ptr("rbd")}, obs: func() v1alpha1.PoolObservation { o := base; o.Applications = []string{"rbd", "rgw"}; return o }(),
			diffHas: "applications: rgw enabled in Ceph but not in the spec (want only rbd)"},
		"AppExtraUnmanaged":  {spec: v1alpha1.PoolParameters{}, obs: func() v1alpha1.PoolObservation { o := base; o.Applications = []string{"rbd", "rgw"}; return o }(), want: true},
		"QuotaRemoved":       {spec: v1alpha1.PoolParameters{QuotaMaxBytes: ptr(int64(0))}, obs: base, diffHas: "quotaMaxBytes"},
		"CompressionDrift":   {spec: v1alpha1.PoolParameters{CompressionMode: ptr("none")}, obs: base, diffHas: "compressionMode"},
		"RatioByValue":       {spec: v1alpha1.PoolParameters{TargetSizeRatio: ptr("0.5")}, obs: base, diffHas: "targetSizeRatio"},
		"RatioUnsetIsZero":   {spec: v1alpha1.PoolParameters{TargetSizeRatio: ptr("0")}, obs: func() v1alpha1.PoolObservation { o := base; o.TargetSizeRatio = ""; return o }(), want: true},
		"ECOverwritesOff":    {spec: v1alpha1.PoolParameters{AllowECOverwrites: ptr(true)}, obs: base, diffHas: "allowECOverwrites"},
		"ECOverwritesOn":     {spec: v1alpha1.PoolParameters{AllowECOverwrites: ptr(true)}, obs: func() v1alpha1.PoolObservation { o := base; o.Flags = "hashpspool,ec_overwrites"; return o }(), want: true},
		"TypeMismatch":       {spec: v1alpha1.PoolParameters{Type: "erasure"}, obs: base, diffHas: "type: want erasure"},
		"ErasureSizeIgnored": {spec: v1alpha1.PoolParameters{Size: ptr(int32(2))}, obs: func() v1alpha1.PoolObservation { o := base; o.Type = "erasure"; return o }(), want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, diff := upToDate(tc.spec, tc.obs)
			if got != tc.want {
				t.Fatalf("upToDate = %v (diff %q), want %v", got, diff, tc.want)
			}
			if !strings.Contains(diff, tc.diffHas) {
				t.Errorf("diff %q does not mention %q", diff, tc.diffHas)
			}
		})
	}
}

func TestPlacementProblem(t *testing.T) {
	cases := map[string]struct {
		obs        v1alpha1.PoolObservation
		undersized int
		wantHas    string
	}{
		"Fine":          {obs: v1alpha1.PoolObservation{CrushRule: "r", Size: 3, PlaceableCopies: 3}},
		"RuleTooNarrow": {obs: v1alpha1.PoolObservation{CrushRule: "r", Size: 3, PlaceableCopies: 1}, wantHas: `CRUSH rule "r" finds only 1 failure domain(s) for 3 copies`},
		"PGsUndersized": {obs: v1alpha1.PoolObservation{CrushRule: "r", Size: 2, PlaceableCopies: 3, PGStates: "8 PGs: 8 active, 8 undersized"}, undersized: 8, wantHas: "Ceph reports 8 PG(s) undersized"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := placementProblem(tc.obs, tc.undersized)
			if tc.wantHas == "" && got != "" || !strings.Contains(got, tc.wantHas) {
				t.Fatalf("placementProblem = %q, want it to contain %q", got, tc.wantHas)
			}
		})
	}
}
