// Command provenance-chaincode serves the provenance chaincode as chaincode-as-a-service:
// the peer dials CHAINCODE_SERVER_ADDRESS and identifies it by CHAINCODE_ID (the package id).
package main

import (
	"log"
	"os"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/chaincode"
)

func main() {
	id, addr := os.Getenv("CHAINCODE_ID"), os.Getenv("CHAINCODE_SERVER_ADDRESS")
	if id == "" || addr == "" {
		log.Fatal("CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS must be set")
	}
	srv := &shim.ChaincodeServer{
		CCID:    id,
		Address: addr,
		CC:      chaincode.Provenance{},
		// the peer reaches us over loopback only (see cluster/fabric-up.sh)
		TLSProps: shim.TLSProperties{Disabled: true},
	}
	if err := srv.Start(); err != nil {
		log.Fatalf("chaincode server stopped: %v", err)
	}
}
