package pvesim

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errListen = "cannot listen"
	errCADir  = "cannot create CA directory"
)

// Server is a started simulator: an HTTPS endpoint speaking /api2/json.
type Server struct {
	*Simulator
	// URL is the API base, https://127.0.0.1:port/api2/json.
	URL string
	// Addr is host:port.
	Addr string
	// CACertPEM is the CA that signed the server certificate.
	CACertPEM []byte
	// CAPath is where CACertPEM was written.
	CAPath string
	// ControlURL is the control API's base (http://host:port) when
	// Options.ControlAddr is set.
	ControlURL string

	httpSrv *http.Server
	ctlSrv  *http.Server
	ln      net.Listener
}

// Start listens on Options.ListenAddr and serves HTTPS with a server
// certificate signed by the CA in Options.CADir (created there when absent,
// reused when it holds pve-root-ca.pem and its key).
func (s *Simulator) Start() (*Server, error) {
	ln, err := net.Listen("tcp", s.opts.ListenAddr)
	if err != nil {
		return nil, errors.Wrap(err, errListen)
	}
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	dir := s.opts.CADir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "pvesim-ca-"); err != nil {
			_ = ln.Close()
			return nil, errors.Wrap(err, errCADir)
		}
	}
	p, caPath, err := loadOrCreatePKI(dir, []string{host, "localhost", "127.0.0.1"})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	srv := &Server{Simulator: s, Addr: ln.Addr().String(), CACertPEM: p.caPEM, CAPath: caPath}
	if s.opts.ControlAddr != "" {
		cln, err := listenControl(s.opts.ControlAddr)
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		srv.ControlURL = "http://" + cln.Addr().String()
		srv.ctlSrv = newControlServer(s.controlHandler())
		go func() { _ = srv.ctlSrv.Serve(cln) }()
	}
	srv.URL = "https://" + srv.Addr + "/api2/json"
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.metrics.handler())
	mux.Handle("/", s)
	srv.httpSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// pveproxy speaks HTTP/1.1 only; an empty map keeps Go from
		// negotiating HTTP/2, whose frames carry no reason phrase.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		TLSConfig:    &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12},
	}
	srv.ln = ln
	go func() { _ = srv.httpSrv.ServeTLS(ln, "", "") }()
	return srv, nil
}

// Close stops serving, ends running tasks early and saves state.
func (srv *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.faults.releaseHangs()
	if srv.ctlSrv != nil {
		_ = srv.ctlSrv.Shutdown(ctx)
	}
	err := srv.httpSrv.Shutdown(ctx)
	if cerr := srv.Simulator.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close ends running tasks early and saves state (for a Simulator used
// without its HTTP server).
func (s *Simulator) Close() error {
	select {
	case <-s.closing:
		return nil
	default:
	}
	close(s.closing)
	s.wg.Wait()
	if s.saver != nil {
		return s.saver.stop()
	}
	return nil
}

// TLSConfig returns a client TLS config that trusts the simulator's CA.
func (srv *Server) TLSConfig() *tls.Config {
	pool := newCertPool(srv.CACertPEM)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// HTTPClient returns an HTTP client trusting the simulator's CA.
func (srv *Server) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: srv.TLSConfig()}, Timeout: 30 * time.Second}
}
