package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Guest kinds, as PVE names them in paths and /cluster/resources.
const (
	kindQemu = "qemu"
	kindLXC  = "lxc"
)

// guest is one VM or container. Its config holds exactly the keys PVE's
// config file would, including "lock" and "template".
type guest struct {
	VMID          int               `json:"vmid"`
	Kind          string            `json:"kind"`
	Node          string            `json:"node"`
	Conf          map[string]string `json:"conf"`
	Pending       map[string]string `json:"pending,omitempty"`
	PendingDelete []string          `json:"pendingDelete,omitempty"`
	Running       bool              `json:"running,omitempty"`
	Paused        bool              `json:"paused,omitempty"` // QMP "paused" after status/suspend
	Started       int64             `json:"started,omitempty"`
	Pool          string            `json:"pool,omitempty"`
	Firewall      *firewallSet      `json:"firewall,omitempty"`

	bootedAt time.Time // when the guest OS came up, for the agent's delay
}

// typeName is the word PVE's messages use for the guest ("VM 100", "CT 100").
func (g *guest) typeName() string {
	if g.Kind == kindLXC {
		return "CT"
	}
	return "VM"
}

func (g *guest) status() string {
	if g.Running {
		return "running"
	}
	return "stopped"
}

func (g *guest) isTemplate() bool { return g.Conf["template"] == "1" }

// configPath is the pmxcfs path PVE names in "does not exist" errors.
func configPath(kind, node string, vmid int) string {
	dir := "qemu-server"
	if kind == kindLXC {
		dir = "lxc"
	}
	return fmt.Sprintf("nodes/%s/%s/%d.conf", node, dir, vmid)
}

// configText renders the config the way it sits in the file; its SHA1 is
// the digest PVE returns and checks.
func (g *guest) configText() string {
	var b strings.Builder
	if d := g.Conf["description"]; d != "" {
		for _, l := range strings.Split(strings.TrimRight(d, "\n"), "\n") { // as Perl's split(/\n/)
			b.WriteString("#" + l + "\n")
		}
	}
	for _, k := range sortedKeys(g.Conf) {
		if k != "description" {
			b.WriteString(k + ": " + g.Conf[k] + "\n")
		}
	}
	if len(g.Pending) > 0 || len(g.PendingDelete) > 0 {
		b.WriteString("\n[PENDING]\n")
		if len(g.PendingDelete) > 0 {
			b.WriteString("delete: " + strings.Join(g.PendingDelete, ",") + "\n")
		}
		for _, k := range sortedKeys(g.Pending) {
			b.WriteString(k + ": " + g.Pending[k] + "\n")
		}
	}
	return b.String()
}

func (g *guest) digest() string {
	sum := sha1.Sum([]byte(g.configText()))
	return hex.EncodeToString(sum[:])
}

// storage is one entry of storage.cfg with its volumes.
type storage struct {
	ID      string             `json:"id"`
	Type    string             `json:"type"`
	Content []string           `json:"content"`
	Shared  bool               `json:"shared"`
	Nodes   []string           `json:"nodes,omitempty"` // nil = all nodes
	Total   uint64             `json:"total"`
	Volumes map[string]*volume `json:"volumes"` // keyed by volid
}

type volume struct {
	VolID   string `json:"volid"`
	Content string `json:"content"`
	Format  string `json:"format"`
	Size    uint64 `json:"size"`
	VMID    int    `json:"vmid,omitempty"`
	Ctime   int64  `json:"ctime"`
	Parent  string `json:"parent,omitempty"`
}

// on reports whether a storage is available on a node; local storages
// exist on every node with separate content.
func (s *storage) on(node string) bool {
	if len(s.Nodes) == 0 {
		return true
	}
	for _, n := range s.Nodes {
		if n == node {
			return true
		}
	}
	return false
}

func (s *storage) holds(content string) bool {
	for _, c := range s.Content {
		if c == content {
			return true
		}
	}
	return false
}

func (s *storage) used() uint64 {
	var u uint64
	for _, v := range s.Volumes {
		u += v.Size
	}
	return u
}

// volKey keys local storages' volumes per node, as each node has its own disk.
func volKey(s *storage, node, volid string) string {
	if s.Shared {
		return volid
	}
	return node + "/" + volid
}

const (
	kib = uint64(1024)
	mib = kib * 1024
	gib = mib * 1024
)

// parseSize reads PVE size strings ("32G", "512M", "1T", bytes) into bytes.
func parseSize(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	mult := uint64(1)
	switch s[len(s)-1] {
	case 'K':
		mult = kib
	case 'M':
		mult = mib
	case 'G':
		mult = gib
	case 'T':
		mult = gib * 1024
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return uint64(f * float64(mult)), true
}

// formatSize renders bytes the way PVE writes "size=" in drive strings.
func formatSize(b uint64) string {
	switch {
	case b%(gib*1024) == 0 && b > 0:
		return fmt.Sprintf("%dT", b/(gib*1024))
	case b%gib == 0:
		return fmt.Sprintf("%dG", b/gib)
	case b%mib == 0:
		return fmt.Sprintf("%dM", b/mib)
	case b%kib == 0:
		return fmt.Sprintf("%dK", b/kib)
	}
	return strconv.FormatUint(b, 10)
}

// propGet returns key k of a property string, honouring a default key.
func propGet(s, k, defaultKey string) string {
	for i := 0; s != ""; i++ {
		part := s
		if j := strings.IndexByte(s, ','); j >= 0 {
			part, s = s[:j], s[j+1:]
		} else {
			s = ""
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok && i == 0 && k == defaultKey {
			return part
		}
		if ok && name == k {
			return val
		}
	}
	return ""
}

// propSet replaces or appends key k in a property string.
func propSet(s, k, v string) string {
	parts := strings.Split(s, ",")
	for i, part := range parts {
		if name, _, ok := strings.Cut(part, "="); ok && name == k {
			parts[i] = k + "=" + v
			return strings.Join(parts, ",")
		}
	}
	return s + "," + k + "=" + v
}

func nowUnix() int64 { return time.Now().Unix() }

func timeMul(n int) time.Duration { return time.Duration(n) }
