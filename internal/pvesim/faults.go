package pvesim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path"
	"slices"
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
	// Phase is when the fault strikes: "after" (default) the handler ran
	// and its change is applied, then the fault answers; "before" the fault
	// answers and the handler never runs (a proxy or network failure).
	Phase string `json:"phase,omitempty"`
	// ErrorRate (0..1) answers with Code/Message. When Code is set and
	// ErrorRate is 0, every matching request gets the error.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// Code is the error's status (default 500); any code is taken, e.g.
	// 502, 503, 504 or PVE's 595/596.
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	// Body is the error answer's body: "json" (default, PVE's envelope
	// {"data":null,"message":...}), "html" (a reverse proxy's error page,
	// text/html) or "empty" (no body).
	Body string `json:"body,omitempty"`
	// DropRate (0..1) closes the connection without an answer.
	DropRate float64 `json:"dropRate,omitempty"`
	// Hang holds the request without an answer until the client gives up
	// or Hang has passed, then closes the connection (a timeout).
	Hang Duration `json:"hang,omitempty"`
	// Count > 0 applies the fault to the next Count requests it strikes,
	// then it is spent and removed; 0 means no limit.
	Count int `json:"count,omitempty"`
}

// Fault phases and error body kinds.
const (
	PhaseAfter  = "after"
	PhaseBefore = "before"
	BodyJSON    = "json"
	BodyHTML    = "html"
	BodyEmpty   = "empty"
)

func (rf *RouteFault) phase() string {
	if rf.Phase == "" {
		return PhaseAfter
	}
	return rf.Phase
}

func (rf *RouteFault) validate() error {
	switch {
	case rf.Route == "":
		return errors.New("route is required")
	case rf.Phase != "" && rf.Phase != PhaseAfter && rf.Phase != PhaseBefore:
		return fmt.Errorf("route %q: phase must be %q or %q", rf.Route, PhaseBefore, PhaseAfter)
	case rf.Body != "" && rf.Body != BodyJSON && rf.Body != BodyHTML && rf.Body != BodyEmpty:
		return fmt.Errorf("route %q: body must be %q, %q or %q", rf.Route, BodyJSON, BodyHTML, BodyEmpty)
	case rf.ErrorRate < 0 || rf.ErrorRate > 1 || rf.DropRate < 0 || rf.DropRate > 1:
		return fmt.Errorf("route %q: rates must be between 0 and 1", rf.Route)
	case rf.Code != 0 && (rf.Code < 100 || rf.Code > 999):
		return fmt.Errorf("route %q: code %d is not an HTTP status", rf.Route, rf.Code)
	case rf.Count < 0 || rf.Hang < 0 || rf.Latency < 0:
		return fmt.Errorf("route %q: count, hang and latency must not be negative", rf.Route)
	}
	if _, err := path.Match(rf.Route[strings.Index(rf.Route, " ")+1:], ""); err != nil {
		return fmt.Errorf("route %q: %v", rf.Route, err)
	}
	return nil
}

// Validate checks every entry's fields.
func (c *FaultConfig) Validate() error {
	for i := range c.Routes {
		if err := c.Routes[i].validate(); err != nil {
			return err
		}
	}
	for _, tf := range c.Tasks {
		if tf.Type == "" || tf.Rate < 0 || tf.Rate > 1 || tf.Count < 0 {
			return fmt.Errorf("task fault %q: type is required, rate must be between 0 and 1, count not negative", tf.Type)
		}
	}
	if c.Latency < 0 {
		return errors.New("latency must not be negative")
	}
	return nil
}

// TaskFault fails workers of a type with Message at Rate (default 1).
type TaskFault struct {
	Type    string  `json:"type"`
	Rate    float64 `json:"rate,omitempty"`
	Message string  `json:"message,omitempty"`
	// Count > 0 fails only the next Count workers it strikes, then the
	// fault is spent and removed; 0 means no limit.
	Count int `json:"count,omitempty"`
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
	return DecodeFaultConfig(b)
}

// DecodeFaultConfig reads a FaultConfig from JSON, refusing unknown fields
// and invalid values.
func DecodeFaultConfig(b []byte) (*FaultConfig, error) {
	var fc FaultConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return nil, err
	}
	if err := fc.Validate(); err != nil {
		return nil, err
	}
	return &fc, nil
}

// Faults holds the live fault configuration; safe for concurrent use.
type Faults struct {
	mu  sync.Mutex
	cfg FaultConfig
	// release ends every hanging request (server shutdown).
	release     chan struct{}
	releaseOnce sync.Once
}

func newFaults() *Faults { return &Faults{release: make(chan struct{})} }

// releaseHangs lets every held request go (their connections close).
func (f *Faults) releaseHangs() { f.releaseOnce.Do(func() { close(f.release) }) }

// Set replaces the fault configuration.
func (f *Faults) Set(c FaultConfig) {
	c = c.clone()
	f.mu.Lock()
	f.cfg = c
	f.mu.Unlock()
}

// Add appends c's route and task faults after the current ones; a
// non-zero c.Latency replaces the global latency.
func (f *Faults) Add(c FaultConfig) {
	c = c.clone()
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.Latency != 0 {
		f.cfg.Latency = c.Latency
	}
	f.cfg.Routes = append(f.cfg.Routes, c.Routes...)
	f.cfg.Tasks = append(f.cfg.Tasks, c.Tasks...)
}

// Get returns the current fault configuration; counted faults show the
// requests they have left, spent ones are gone.
func (f *Faults) Get() FaultConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg.clone()
}

// Clear removes every fault.
func (f *Faults) Clear() { f.Set(FaultConfig{}) }

func (c FaultConfig) clone() FaultConfig {
	c.Routes = slices.Clone(c.Routes)
	c.Tasks = slices.Clone(c.Tasks)
	return c
}

func (rf *RouteFault) matches(method, template string) bool {
	pat := rf.Route
	m, p, hasMethod := strings.Cut(pat, " ")
	if hasMethod {
		if m != method && m != "*" {
			return false
		}
		pat = p
	}
	ok, _ := path.Match(pat, template)
	return ok || pat == template
}

func (f *Faults) latency(method, template string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := time.Duration(f.cfg.Latency)
	for i := range f.cfg.Routes {
		if rf := &f.cfg.Routes[i]; rf.matches(method, template) {
			d += time.Duration(rf.Latency)
			break
		}
	}
	return d
}

// strike is what a fault does to one request.
type strike struct {
	hang time.Duration
	drop bool
	err  *apiError
	body string
}

// strike picks the first entry of the phase matching the request, rolls
// its rates and, when it fires, uses up one of its Count.
func (f *Faults) strike(phase, method, template string) *strike {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.cfg.Routes {
		rf := &f.cfg.Routes[i]
		if rf.phase() != phase || !rf.matches(method, template) {
			continue
		}
		var st strike
		switch {
		case rf.Hang > 0:
			st.hang = time.Duration(rf.Hang)
		case rf.DropRate > 0:
			if rand.Float64() >= rf.DropRate {
				return nil
			}
			st.drop = true
		case rf.ErrorRate > 0 || rf.Code != 0:
			if rf.ErrorRate > 0 && rand.Float64() >= rf.ErrorRate {
				return nil
			}
			code, msg := rf.Code, rf.Message
			if code == 0 {
				code = 500
			}
			if msg == "" && rf.Body != "" && rf.Body != BodyJSON {
				msg = http.StatusText(code) // what a proxy in front says
			}
			if msg == "" {
				msg = "injected fault"
			}
			st.err = httpErr(code, "%s", msg)
			st.body = rf.Body
		default:
			return nil // latency only
		}
		if rf.Count > 0 {
			rf.Count--
			if rf.Count == 0 {
				f.cfg.Routes = slices.Delete(f.cfg.Routes, i, i+1)
			}
		}
		return &st
	}
	return nil
}

func (f *Faults) taskFailure(typ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.cfg.Tasks {
		tf := &f.cfg.Tasks[i]
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
			if tf.Count > 0 {
				tf.Count--
				if tf.Count == 0 {
					f.cfg.Tasks = slices.Delete(f.cfg.Tasks, i, i+1)
				}
			}
			return errors.New(msg)
		}
	}
	return nil
}

// applyStrike answers a request the way the fault says: an error answer
// in the chosen body kind, a dropped connection, or a request held
// without an answer until the client gives up or the hang time passed.
func (s *Simulator) applyStrike(w http.ResponseWriter, r *http.Request, st *strike, done func(int)) {
	switch {
	case st.hang > 0:
		// Read the body so the server notices a client that goes away.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxPost))
		timer := time.NewTimer(st.hang)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
		case <-s.faults.release:
		}
		done(0)
		dropConnection(w)
	case st.drop:
		done(0)
		dropConnection(w)
	default:
		done(st.err.Code)
		switch st.body {
		case BodyHTML:
			writeStatusType(w, r, st.err.Code, st.err.Msg, "text/html", proxyErrorPage(st.err.Code, st.err.Msg))
		case BodyEmpty:
			writeStatusType(w, r, st.err.Code, st.err.Msg, "", nil)
		default:
			writeError(w, st.err)
		}
	}
}

// proxyErrorPage is the kind of page nginx or HAProxy answer in front of
// pveproxy when the backend fails.
func proxyErrorPage(code int, msg string) []byte {
	title := html.EscapeString(fmt.Sprintf("%d %s", code, firstLine(msg)))
	return []byte("<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
}
