// Command scaleplot draws one PNG per scenario of cmd/scalebench's
// results.json: PVE requests per minute per site and provider RSS at steady
// state against N, one line per observation mode. It is a module of its own
// so gonum/plot stays out of the provider's go.mod.
//
// Usage: go run . RESULTS.json OUTDIR
package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

type result struct {
	Scenario     int     `json:"scenario"`
	Mode         string  `json:"mode"`
	N            int     `json:"n"`
	PVEReq       float64 `json:"pveRequestsPerMinPerSite"`
	SteadyRSSMiB float64 `json:"steadyRSSMiB"`
}

var titles = map[int]string{
	1: "1: N VMs created on one site",
	2: "2: N existing guests imported observe-only",
	3: "3: S sites × V VMs (N = S·V)",
	4: "4: as 3, 5 sites unreachable halfway",
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: scaleplot RESULTS.json OUTDIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "scaleplot:", err)
		os.Exit(1)
	}
}

func run(in, outDir string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var rs []result
	if err := json.Unmarshal(b, &rs); err != nil {
		return err
	}
	by := map[int][]result{}
	for _, r := range rs {
		by[r.Scenario] = append(by[r.Scenario], r)
	}
	for sc, rs := range by {
		req, err := panel(rs, titles[sc], "PVE requests/min per site", func(r result) float64 { return r.PVEReq })
		if err != nil {
			return err
		}
		rss, err := panel(rs, "", "provider RSS, steady (MiB)", func(r result) float64 { return r.SteadyRSSMiB })
		if err != nil {
			return err
		}
		img := vgimg.New(16*vg.Centimeter, 8*vg.Centimeter)
		dc := draw.New(img)
		tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4}
		for i, p := range []*plot.Plot{req, rss} {
			p.Draw(tiles.At(dc, i, 0))
		}
		path := filepath.Join(outDir, fmt.Sprintf("scale-scenario%d.png", sc))
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Println(path)
	}
	return nil
}

// panel plots y against N, one line with points per mode.
func panel(rs []result, title, ylabel string, y func(result) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "N (guests)"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	colors := map[string]color.Color{"shared": color.RGBA{B: 200, A: 255}, "polled": color.RGBA{G: 150, A: 255}, "per-guest": color.RGBA{R: 200, A: 255}}
	for _, mode := range []string{"shared", "polled", "per-guest"} {
		var pts plotter.XYs
		for _, r := range rs {
			if r.Mode == mode {
				pts = append(pts, plotter.XY{X: float64(r.N), Y: y(r)})
			}
		}
		if len(pts) == 0 {
			continue
		}
		sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		l.Color, s.Color = colors[mode], colors[mode]
		p.Add(l, s)
		p.Legend.Add(mode+" view", l, s)
	}
	p.Y.Min = 0 // from zero, so the two modes' ratio reads off the plot
	return p, nil
}
