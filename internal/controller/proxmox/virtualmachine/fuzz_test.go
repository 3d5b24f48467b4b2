package virtualmachine

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

// What admission lets through (the CRD's patterns for these fields).
var (
	tagPattern    = regexp.MustCompile(`^[a-z0-9_][a-z0-9_+.-]*$`)
	bridgePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)
)

// FuzzDiffConverges: for any spec admission accepts and any config PVE
// might answer, writing the planned changes and planning again plans
// nothing. A plan that never empties would rewrite the VM at every poll
// (and put a record on the ledger each time).
func FuzzDiffConverges(f *testing.F) {
	f.Add(int64(2), int64(2048), "web;prod", "vmbr0", int64(20), "ssh-ed25519 AAAA+/= a@b", "hello\n", `{"cores":1,"memory":"1024","tags":"Prod;web;mc-1","net0":"virtio=BC:24:11:00:00:01,bridge=vmbr1","sshkeys":"ssh-ed25519%20AAAA"}`)
	f.Add(int64(1), int64(512), "", "vmbr0", int64(0), "", "", `{}`)
	f.Add(int64(64), int64(65536), "a,b c", "br.1-x", int64(4094), "k1\nk2", "  spaced  ", `{"description":"spaced","agent":"1,fstrim_cloned_disks=1","onboot":1}`)
	f.Fuzz(func(t *testing.T, cores, memory int64, tags, bridge string, vlan int64, sshkey, description, cfgJSON string) {
		if cores < 1 || cores > 512 || memory < 16 || vlan < 0 || vlan > 4094 || !bridgePattern.MatchString(bridge) || strings.ContainsAny(sshkey, "\r") {
			return
		}
		var tagList []string
		for _, tg := range strings.Split(tags, ";") {
			if tg != "" && !tagPattern.MatchString(tg) {
				return
			}
			if tg != "" {
				tagList = append(tagList, tg)
			}
		}
		cfg := map[string]any{}
		if json.Unmarshal([]byte(cfgJSON), &cfg) != nil {
			return
		}
		on := true
		p := v1alpha1.VirtualMachineParameters{Cores: cores, MemoryMiB: memory, Tags: tagList, Description: &description, OnBoot: &on, Agent: &on,
			Networks: []v1alpha1.NetworkInterface{{Bridge: bridge}}}
		if vlan > 0 {
			p.Networks[0].VLAN = &vlan
		}
		if strings.TrimSpace(sshkey) != "" {
			p.CloudInit = &v1alpha1.CloudInit{SSHKeys: []string{sshkey}}
		}
		d := wantConfig(p, "vm-x", "mc-0123456789abcdef")
		set, _ := diff(d, cfg)
		for k, v := range set {
			cfg[k] = v // PVE stores what it was given (sshkeys as sent, URL-encoded)
		}
		if again, _ := diff(d, cfg); len(again) != 0 {
			t.Fatalf("after writing %v the plan is still %v", set, again)
		}
	})
}
