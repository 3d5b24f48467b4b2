// Command provenance-chaincode serves the provenance chaincode as chaincode-as-a-service:
// the peer dials CHAINCODE_SERVER_ADDRESS and identifies it by CHAINCODE_ID (the package id).
// PROVENANCE_WRITERS is the comma-separated list of MSP IDs that may call PutBatch (the
// operator's); every organisation that endorses runs its own server with the same list.
// PROVENANCE_PPROF_ADDR, if set (host:port), serves net/http/pprof there for profiling
// (cluster/fabric-up.sh sets it with FABRIC_CHAINCODE_PPROF=1).
package main

import (
	"log"
	"net/http"
	_ "net/http/pprof" //nolint:gosec // served only when PROVENANCE_PPROF_ADDR asks for it, on loopback in the lab
	"os"
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/chaincode"
)

func main() {
	id, addr := os.Getenv("CHAINCODE_ID"), os.Getenv("CHAINCODE_SERVER_ADDRESS")
	if id == "" || addr == "" {
		log.Fatal("CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS must be set")
	}
	if a := os.Getenv("PROVENANCE_PPROF_ADDR"); a != "" {
		go func() {
			ps := &http.Server{Addr: a, ReadHeaderTimeout: 10 * time.Second}
			log.Printf("pprof server stopped: %v", ps.ListenAndServe())
		}()
	}
	srv := &shim.ChaincodeServer{
		CCID:    id,
		Address: addr,
		CC:      chaincode.Provenance{Writers: writers(os.Getenv("PROVENANCE_WRITERS"))},
		// the peer reaches us over loopback only (see cluster/fabric-up.sh)
		TLSProps: shim.TLSProperties{Disabled: true},
	}
	if err := srv.Start(); err != nil {
		log.Fatalf("chaincode server stopped: %v", err)
	}
}

func writers(s string) []string {
	var out []string
	for _, w := range strings.Split(s, ",") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}
