package ledger

import (
	"bufio"
	"os"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errReadEnv    = "cannot read fabric env file"
	errMissingCfg = "incomplete Fabric client settings, missing"
)

// Config is what a fabric-gateway client needs. The field comments name the fabric.env
// variables that set them.
type Config struct {
	PeerEndpoint string // FABRIC_PEER_ENDPOINT, host:port of the peer's gateway service
	PeerTLSCA    string // FABRIC_PEER_TLS_CA, PEM file of the CA that signed the peer's TLS cert
	// PeerHostOverride is the TLS server name to expect, when it is not the endpoint's host.
	PeerHostOverride string // FABRIC_PEER_HOST_OVERRIDE
	MSPID            string // FABRIC_MSP_ID
	CertPath         string // FABRIC_USER_CERT, PEM of the client identity's certificate
	KeyPath          string // FABRIC_USER_KEY, PEM of its private key
	Channel          string // FABRIC_CHANNEL
	Chaincode        string // FABRIC_CHAINCODE
}

// LoadEnvFile reads KEY=VALUE lines (as fabric-up.sh writes them) into a Config.
func LoadEnvFile(path string) (Config, map[string]string, error) {
	f, err := os.Open(path) //nolint:gosec // the path is the operator's choice
	if err != nil {
		return Config{}, nil, errors.Wrap(err, errReadEnv)
	}
	defer f.Close() //nolint:errcheck // read only
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		vars[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `'"`)
	}
	if err := sc.Err(); err != nil {
		return Config{}, nil, errors.Wrap(err, errReadEnv)
	}
	return ConfigFor(vars, ""), vars, nil
}

// Parties of the test network's fabric.env (cluster/fabric-up.sh): the operator's
// identity (the connector's; FABRIC_* variables) and the auditor's (FABRIC_AUDITOR_*).
const (
	PartyOperator = "operator"
	PartyAuditor  = "auditor"
)

// ConfigFor is the Config of a party from fabric.env variables: the operator's ("" or
// PartyOperator) from FABRIC_PEER_ENDPOINT, FABRIC_MSP_ID, ..., another party's from
// FABRIC_<PARTY>_PEER_ENDPOINT, FABRIC_<PARTY>_MSP_ID, ... Channel and chaincode are
// shared.
func ConfigFor(vars map[string]string, party string) Config {
	p := "FABRIC_"
	if party != "" && party != PartyOperator {
		p += strings.ToUpper(party) + "_"
	}
	return Config{
		PeerEndpoint:     vars[p+"PEER_ENDPOINT"],
		PeerTLSCA:        vars[p+"PEER_TLS_CA"],
		PeerHostOverride: vars[p+"PEER_HOST_OVERRIDE"],
		MSPID:            vars[p+"MSP_ID"],
		CertPath:         vars[p+"USER_CERT"],
		KeyPath:          vars[p+"USER_KEY"],
		Channel:          vars["FABRIC_CHANNEL"],
		Chaincode:        vars["FABRIC_CHAINCODE"],
	}
}

// Validate names the settings that are missing.
func (c Config) Validate() error {
	var missing []string
	for _, s := range []struct{ name, v string }{
		{"peer endpoint", c.PeerEndpoint}, {"peer TLS CA", c.PeerTLSCA}, {"MSP ID", c.MSPID},
		{"certificate", c.CertPath}, {"private key", c.KeyPath}, {"channel", c.Channel}, {"chaincode", c.Chaincode},
	} {
		if s.v == "" {
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		return errors.Errorf("%s: %s", errMissingCfg, strings.Join(missing, ", "))
	}
	return nil
}
