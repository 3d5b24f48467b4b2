package pvesim

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path"
	"strings"
	"sync"
	"time"
)

// FaultConfig describes injected failures. Route patterns are "METHOD
// template" or just "template" (any method), matched with path.Match
// against route templates, e.g. "POST /nodes/{node}/qemu/{vmid}/clone" or
// "GET /cluster/*".
type FaultConfig struct {
	// Latency adds a delay to every request.
	Latency Duration `json:"latency,omitempty"`
	// Routes hold per-route faults; the first matching entry applies.
	Routes []RouteFault `json:"routes,omitempty"`
	// Tasks make workers of a type ("qmclone", "vzcreate", "*") fail.
	Tasks []TaskFault `json:"tasks,omitempty"`
}

// RouteFault is the fault set for requests matching Route.
type RouteFault struct {
	Route string `json:"route"`
	// Latency is added on top of the global latency.
	Latency Duration `json:"latency,omitempty"`
	// ErrorRate (0..1) answers with Code/Message after the handler ran.
	ErrorRate float64 `json:"errorRate,omitempty"`
	Code      int     `json:"code,omitempty"`
	Message   string  `json:"message,omitempty"`
	// DropRate (0..1) applies the change, then closes the connection
	// without an answer.
	DropRate float64 `json:"dropRate,omitempty"`
}

// TaskFault fails workers of a type with Message at Rate (default 1).
type TaskFault struct {
	Type    string  `json:"type"`
	Rate    float64 `json:"rate,omitempty"`
	Message string  `json:"message,omitempty"`
}

// Duration reads "150ms" style durations from JSON.
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string or nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		*d = Duration(v)
		return err
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("duration must be a string like \"150ms\" or nanoseconds")
	}
	*d = Duration(n)
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// LoadFaultConfig reads a FaultConfig from a JSON file.
func LoadFaultConfig(file string) (*FaultConfig, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var fc FaultConfig
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return nil, err
	}
	return &fc, nil
}

// Faults holds the live fault configuration; safe for concurrent use.
type Faults struct {
	mu  sync.RWMutex
	cfg FaultConfig
}

func newFaults() *Faults { return &Faults{} }

// Set replaces the fault configuration.
func (f *Faults) Set(c FaultConfig) {
	f.mu.Lock()
	f.cfg = c
	f.mu.Unlock()
}

// Get returns the current fault configuration.
func (f *Faults) Get() FaultConfig {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.cfg
}

// Clear removes every fault.
func (f *Faults) Clear() { f.Set(FaultConfig{}) }

func (f *Faults) route(method, template string) *RouteFault {
	for i := range f.cfg.Routes {
		rf := &f.cfg.Routes[i]
		pat := rf.Route
		m, p, hasMethod := strings.Cut(pat, " ")
		if hasMethod {
			if m != method && m != "*" {
				continue
			}
			pat = p
		}
		if ok, _ := path.Match(pat, template); ok || pat == template {
			return rf
		}
	}
	return nil
}

func (f *Faults) latency(method, template string) time.Duration {
	f.mu.RLock()
	defer f.mu.RUnlock()
	d := time.Duration(f.cfg.Latency)
	if rf := f.route(method, template); rf != nil {
		d += time.Duration(rf.Latency)
	}
	return d
}

func (f *Faults) injectedError(method, template string) *apiError {
	f.mu.RLock()
	defer f.mu.RUnlock()
	rf := f.route(method, template)
	if rf == nil || rf.ErrorRate <= 0 || rand.Float64() >= rf.ErrorRate {
		return nil
	}
	code, msg := rf.Code, rf.Message
	if code == 0 {
		code = 500
	}
	if msg == "" {
		msg = "injected fault"
	}
	return httpErr(code, "%s", msg)
}

func (f *Faults) dropResponse(method, template string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	rf := f.route(method, template)
	return rf != nil && rf.DropRate > 0 && rand.Float64() < rf.DropRate
}

func (f *Faults) taskFailure(typ string) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, tf := range f.cfg.Tasks {
		if ok, _ := path.Match(tf.Type, typ); !ok {
			continue
		}
		rate := tf.Rate
		if rate == 0 {
			rate = 1
		}
		if rand.Float64() < rate {
			msg := tf.Message
			if msg == "" {
				msg = "injected task failure"
			}
			return errors.New(msg)
		}
	}
	return nil
}
