package ledger

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fabric.env")
	require.NoError(t, os.WriteFile(path, []byte(`# comment
FABRIC_PEER_ENDPOINT=127.0.0.1:7051
FABRIC_PEER_TLS_CA=/x/ca.crt
FABRIC_MSP_ID=Org1MSP
FABRIC_USER_CERT="/x/cert.pem"
FABRIC_USER_KEY='/x/priv_sk'
FABRIC_CHANNEL=provenance
FABRIC_CHAINCODE=provenance
FABRIC_UP=/repo/cluster/fabric-up.sh
`), 0o600))
	cfg, vars, err := LoadEnvFile(path)
	require.NoError(t, err)
	assert.Equal(t, Config{PeerEndpoint: "127.0.0.1:7051", PeerTLSCA: "/x/ca.crt", MSPID: "Org1MSP",
		CertPath: "/x/cert.pem", KeyPath: "/x/priv_sk", Channel: "provenance", Chaincode: "provenance"}, cfg)
	assert.Equal(t, "/repo/cluster/fabric-up.sh", vars["FABRIC_UP"])
	require.NoError(t, cfg.Validate())

	cfg.KeyPath, cfg.Channel = "", ""
	err = cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "private key")
	assert.Contains(t, err.Error(), "channel")

	_, _, err = LoadEnvFile(filepath.Join(t.TempDir(), "missing.env"))
	assert.ErrorContains(t, err, "cannot read fabric env file")
}
