// Command function-microcloud serves the platform catalogue's composition function (ValidatorSet,
// Tenant, VPS) over gRPC: with mTLS for Crossplane core, or --insecure for `crossplane render`.
package main

import (
	"flag"
	"fmt"
	"os"

	fn "github.com/crossplane/function-sdk-go"

	"github.com/microcloud-dev/provider-microcloud/internal/function"
)

func main() {
	address := flag.String("address", "127.0.0.1:9443", "gRPC listen address")
	insecure := flag.Bool("insecure", false, "serve without TLS (for crossplane render's Development runtime)")
	certs := flag.String("tls-certs-dir", os.Getenv("TLS_SERVER_CERTS_DIR"), "directory with ca.crt, tls.crt and tls.key for mTLS")
	metrics := flag.String("metrics-address", "", "Prometheus metrics listen address; empty disables metrics")
	debug := flag.Bool("debug", false, "debug logging")
	flag.Parse()

	if err := run(*address, *insecure, *certs, *metrics, *debug); err != nil {
		fmt.Fprintln(os.Stderr, "function-microcloud:", err)
		os.Exit(1)
	}
}

func run(address string, insecure bool, certs, metrics string, debug bool) error {
	log, err := fn.NewLogger(debug)
	if err != nil {
		return err
	}
	opts := []fn.ServeOption{fn.Listen("tcp", address), fn.WithMetricsServer(metrics)}
	if insecure {
		opts = append(opts, fn.Insecure(true))
	} else {
		if certs == "" {
			return fmt.Errorf("give --tls-certs-dir (or TLS_SERVER_CERTS_DIR), or --insecure")
		}
		opts = append(opts, fn.MTLSCertificates(certs))
	}
	log.Info("serving", "address", address, "insecure", insecure)
	return fn.Serve(&function.Function{Log: log}, opts...)
}
