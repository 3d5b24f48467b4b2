package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// watchCloses counts the watches of a run's namespace that the API server
// closed as too slow to read ("Forcing <resource> watcher close due to
// unresponsiveness": the watcher's buffer stayed full past the cacher's
// budget), by when: before the provider started (only this process
// watched the namespace then: the closes are its own watch's), during the
// ramp (from the provider's start to all Ready: the provider's watch and
// this process's both read the namespace; the provider's GETs in the
// window, one per re-watch, tell whose) and after.
type watchCloses struct {
	BeforeProvider int `json:"beforeProvider"`
	Ramp           int `json:"ramp"`
	After          int `json:"after"`
	// RampByResource splits Ramp by resource (virtualmachines, ...).
	RampByResource map[string]int `json:"rampByResource,omitempty"`
}

// forcedClose matches klog's header (severity, MMDD, time) and the cacher's
// line, capturing the time, the resource and the watch key's namespace.
var forcedClose = regexp.MustCompile(`^[IWE](\d{4} \d{2}:\d{2}:\d{2}\.\d+)\s.*\] Forcing ([a-z0-9-]+)(?:\.[a-z0-9.-]+)? watcher close due to unresponsiveness: key: "/[^/]+/[^/]+/([^/"]+)/"`)

// countCloses reads an API server log (klog's format, stamped in loc) and
// counts the forced closes of watches of namespace ns around the provider's
// start and the time all resources were Ready.
func countCloses(r io.Reader, loc *time.Location, ns string, start, ready time.Time) (watchCloses, error) {
	c := watchCloses{RampByResource: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		m := forcedClose.FindStringSubmatch(sc.Text())
		if m == nil || m[3] != ns {
			continue
		}
		at, err := klogTime(m[1], start, loc)
		if err != nil {
			continue
		}
		switch {
		case at.Before(start):
			c.BeforeProvider++
		case at.After(ready):
			c.After++
		default:
			c.Ramp++
			c.RampByResource[m[2]]++
		}
	}
	return c, sc.Err()
}

// klogTime reads klog's "MMDD hh:mm:ss.uuuuuu" in the year of near (the
// year before or after when that puts it closer: a run over New Year).
func klogTime(s string, near time.Time, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("0102 15:04:05.000000", s, loc)
	if err != nil {
		return t, err
	}
	t = t.AddDate(near.In(loc).Year(), 0, 0)
	if d := t.Sub(near); d > 180*24*time.Hour {
		t = t.AddDate(-1, 0, 0)
	} else if d < -180*24*time.Hour {
		t = t.AddDate(1, 0, 0)
	}
	return t, nil
}

// closesIn counts the forced closes of ns in the API server log at path
// (nil without a path).
func closesIn(path, ns string, start, ready time.Time) (*watchCloses, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path) //nolint:gosec // the operator's API server log
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	c, err := countCloses(f, time.Local, ns, start, ready)
	return &c, err
}

// byResource prints counts by resource in name order after a space:
// " (containers 1, virtualmachines 3)", empty for none.
func byResource(n map[string]int) string {
	if len(n) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, n[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
