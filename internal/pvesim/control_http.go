package pvesim

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// The control API lets a test outside the process change the simulator's
// faults at run time. It listens on its own plain-HTTP loopback address
// (Options.ControlAddr, pvesim -control) and is no part of PVE's API:
//
//	GET    /_control/faults  the current FaultConfig (counted faults show what is left)
//	PUT    /_control/faults  replace it with the FaultConfig in the body
//	POST   /_control/faults  append the body's route and task faults
//	DELETE /_control/faults  remove every fault
const controlFaultsPath = "/_control/faults"

// maxControlBody bounds a control request's FaultConfig.
const maxControlBody = 1 << 20

func (s *Simulator) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(controlFaultsPath, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodDelete:
			s.faults.Clear()
		case http.MethodPut, http.MethodPost:
			b, err := io.ReadAll(io.LimitReader(r.Body, maxControlBody))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fc, err := DecodeFaultConfig(b)
			if err != nil {
				http.Error(w, "invalid fault config: "+err.Error(), http.StatusBadRequest)
				return
			}
			if r.Method == http.MethodPut {
				s.faults.Set(*fc)
			} else {
				s.faults.Add(*fc)
			}
		default:
			w.Header().Set("Allow", "GET, PUT, POST, DELETE")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.faults.Get())
	})
	return mux
}

// listenControl opens the control listener; it must be a loopback address
// since it has no authentication.
func listenControl(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, errors.Wrap(err, "invalid control address")
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, errors.Errorf("control address %s is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	return ln, errors.Wrap(err, "cannot listen for control")
}

func newControlServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
}
