package ceph

import (
	"bufio"
	"os"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// ConfigFromConfFile builds a Config for client.admin from a ceph.conf whose [global] section holds
// "mon host" and whose [client] section names the keyring file (as cluster/ceph-up.sh writes it).
// Tests and `make run` use it; the provider itself reads a ProviderConfig.
func ConfigFromConfFile(path string) (Config, error) {
	f, err := os.Open(path) //nolint:gosec // path chosen by the operator
	if err != nil {
		return Config{}, errors.Wrap(err, "cannot read ceph.conf")
	}
	defer f.Close() //nolint:errcheck // read-only
	cfg := Config{ClientName: "admin"}
	section, keyring := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.ReplaceAll(strings.TrimSpace(k), "_", " ")
		v = strings.TrimSpace(v)
		switch {
		case section == "global" && k == "mon host":
			// "[v2:127.0.0.1:3300,v1:127.0.0.1:6789]" -> one entry per address, the form a
			// ProviderConfig's spec.ceph.monitors takes
			for _, m := range strings.Split(strings.Trim(v, "[]"), ",") {
				if m = strings.TrimSpace(m); m != "" {
					cfg.Monitors = append(cfg.Monitors, m)
				}
			}
		case (section == "client" || section == "client.admin") && k == "keyring":
			keyring = v
		}
	}
	if err := sc.Err(); err != nil {
		return Config{}, errors.Wrap(err, "cannot read ceph.conf")
	}
	if keyring == "" {
		return Config{}, errors.New("ceph.conf names no keyring in its [client] section")
	}
	b, err := os.ReadFile(keyring) //nolint:gosec // named by the conf
	if err != nil {
		return Config{}, errors.Wrap(err, "cannot read the client keyring")
	}
	cfg.Key = string(b)
	return cfg, nil
}
