package main

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 10; i++ {
		ds = append(ds, time.Duration(11-i)*time.Second)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 5 * time.Second}, {90, 9 * time.Second}, {100, 10 * time.Second}, {0, time.Second}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
	if ds[0] != 10*time.Second {
		t.Error("percentile sorted its input in place")
	}
}

func TestParseProc(t *testing.T) {
	st := "Name:\tprovider\nVmPeak:\t 2000 kB\nVmHWM:\t  81234 kB\nVmRSS:\t   70000 kB\nThreads: 12\n"
	m, err := parseProcStatus(strings.NewReader(st))
	if err != nil || m.RSS != 70000 || m.HWM != 81234 {
		t.Errorf("parseProcStatus = %+v, %v", m, err)
	}
	if _, err := parseProcStatus(strings.NewReader("Name: x\n")); err == nil {
		t.Error("a status without VmRSS parsed")
	}
	stat := "4242 (pro vi) der)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 12 0 100 0 0"
	if n, err := parseProcStatTicks(stat); err != nil || n != 325 {
		t.Errorf("parseProcStatTicks = %d, %v; want 325", n, err)
	}
	if _, err := parseProcStatTicks("4242 (x) S 1"); err == nil {
		t.Error("a short stat parsed")
	}
}

func TestParseCPULine(t *testing.T) {
	busy, steal, err := parseCPULine("cpu  100 2 30 5000 40 6 7 8 0 0\ncpu0 50 1 15 2500 20 3 3 4 0 0\n")
	if err != nil || busy != 100+2+30+6+7 || steal != 8 {
		t.Errorf("parseCPULine = %d, %d, %v; want 145, 8", busy, steal, err)
	}
	if _, _, err := parseCPULine("intr 1 2 3\n"); err == nil {
		t.Error("a stat without a cpu line parsed")
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP workqueue_depth Current depth of workqueue
# TYPE workqueue_depth gauge
workqueue_depth{controller="a",name="a"} 3
workqueue_depth{controller="b",name="b"} 4
controller_runtime_reconcile_total{controller="a",result="success"} 100
controller_runtime_reconcile_total{controller="a",result="error"} 5
rest_client_requests_total{code="201",host="127.0.0.1:1",method="POST"} 7
rest_client_requests_total{code="200",host="127.0.0.1:1",method="PATCH"} 2.5e+01
go_goroutines 42
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want []string
		v    float64
	}{
		{"workqueue_depth", nil, 7},
		{"controller_runtime_reconcile_total", nil, 105},
		{"controller_runtime_reconcile_total", []string{`result="error"`}, 5},
		{"rest_client_requests_total", []string{`method="PATCH"`}, 25},
		{"go_goroutines", nil, 42},
		{"missing", nil, 0},
	} {
		if got := m.sum(c.name, c.want...); got != c.v {
			t.Errorf("sum(%s, %v) = %v, want %v", c.name, c.want, got, c.v)
		}
	}
	if _, err := parseMetrics(strings.NewReader("novalue\n")); err == nil {
		t.Error("a line without a value parsed")
	}
}

func TestRatio(t *testing.T) {
	for _, c := range []struct {
		a, b float64
		want string
	}{{1197, 4, "299x"}, {5.12, 5.02, "1.02x"}, {0, 0, "1x"}, {3, 0, "-"}} {
		if got := ratio(c.a, c.b); got != c.want {
			t.Errorf("ratio(%v, %v) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func TestInterleave(t *testing.T) {
	got := interleave([][]int{{1, 2, 3}, {4}, {}, {5, 6}})
	want := []int{1, 4, 5, 2, 6, 3}
	if len(got) != len(want) {
		t.Fatalf("interleave = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("interleave = %v, want %v", got, want)
		}
	}
}
