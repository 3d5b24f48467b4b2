package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// percentile returns the p-th percentile (0-100) of ds by nearest rank; 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// procMem is what /proc/PID/status says of a process's memory, in KiB.
type procMem struct{ RSS, HWM int64 }

// parseProcStatus reads VmRSS and VmHWM from /proc/PID/status.
func parseProcStatus(r io.Reader) (procMem, error) {
	var m procMem
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.RSS = n
		case "VmHWM:":
			m.HWM = n
		default:
			continue
		}
		if err != nil {
			return m, fmt.Errorf("%s %q: %w", f[0], f[1], err)
		}
	}
	if m.RSS == 0 {
		return m, fmt.Errorf("no VmRSS in /proc/PID/status")
	}
	return m, sc.Err()
}

// parseProcStatTicks returns utime+stime (clock ticks) from /proc/PID/stat.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseProcStatTicks(s string) (int64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("no ')' in /proc/PID/stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/PID/stat has %d fields after the name, want at least 13", len(f))
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	st, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, err
	}
	return u + st, nil
}

// metrics is a Prometheus text exposition: series (name and labels as
// written) to value.
type metrics map[string]float64

// parseMetrics reads the Prometheus text format (comments skipped).
func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// The value follows the last space outside the labels (a timestamp
		// may follow it; this provider's metrics carry none).
		end := strings.LastIndexByte(line, '}')
		rest := line[max(end, 0):]
		sp := strings.IndexByte(rest, ' ')
		if sp < 0 {
			return nil, fmt.Errorf("metrics line without a value: %q", line)
		}
		series := line[:max(end, 0)+sp]
		if end >= 0 {
			series = line[:end+1]
		}
		vals := strings.Fields(rest[sp:])
		v, err := strconv.ParseFloat(vals[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		m[series] += v
	}
	return m, sc.Err()
}

// sum adds the series of metric name whose labels contain every one of
// want (each as `key="value"`).
func (m metrics) sum(name string, want ...string) float64 {
	var t float64
	for series, v := range m {
		n, labels, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		ok := true
		for _, w := range want {
			if !strings.Contains(labels, w) {
				ok = false
				break
			}
		}
		if ok {
			t += v
		}
	}
	return t
}
