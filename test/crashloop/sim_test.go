package crashloop

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	goproxmox "github.com/luthermonson/go-proxmox"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// res is one VirtualMachine of the test as the simulator should know it.
type res struct {
	name string
	uid  string
	tag  string // its owner tag, mc-…
}

// snapshot is the simulator's guests at one moment, read through its Go API
// (its own state, not what a client makes of it).
type snapshot struct {
	at     time.Time
	guests map[int]pvesim.GuestInfo
}

func takeSnapshot(sim *pvesim.Server) snapshot {
	s := snapshot{at: time.Now(), guests: map[int]pvesim.GuestInfo{}}
	for _, id := range sim.GuestIDs() {
		if g, ok := sim.Guest(id); ok {
			s.guests[id] = g
		}
	}
	return s
}

// effective is a guest's config with pending changes applied: what
// GET /config answers and what the guest runs after its next restart
// (PVE keeps cores and memory of a running VM pending).
func effective(g pvesim.GuestInfo) map[string]string {
	c := maps.Clone(g.Config)
	for k, v := range g.Pending {
		c[k] = v
	}
	return c
}

func tagsOf(g pvesim.GuestInfo) []string {
	return strings.FieldsFunc(effective(g)["tags"], func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
}

func hasOwnerTag(g pvesim.GuestInfo) bool {
	return slices.ContainsFunc(tagsOf(g), func(t string) bool { return strings.HasPrefix(t, "mc-") })
}

// owns tells whether g is r's by the ownership rule of ADR 0001: it carries
// r's owner tag, or no owner tag and r's name (a clone not tagged yet).
func owns(r res, g pvesim.GuestInfo) bool {
	if slices.Contains(tagsOf(g), r.tag) {
		return true
	}
	return !hasOwnerTag(g) && effective(g)["name"] == r.name
}

// owned lists the ids of r's guests.
func (s snapshot) owned(r res) []int {
	var ids []int
	for id, g := range s.guests {
		if owns(r, g) {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	return ids
}

// describe is one line per guest for failure messages.
func (s snapshot) describe(ids ...int) string {
	var b strings.Builder
	for _, id := range ids {
		g, ok := s.guests[id]
		if !ok {
			fmt.Fprintf(&b, "\n    guest %d: absent", id)
			continue
		}
		c := effective(g)
		fmt.Fprintf(&b, "\n    guest %d on %s: name=%q tags=%q lock=%q running=%t cores=%s memory=%s pending=%v",
			id, g.Node, c["name"], c["tags"], g.Config["lock"], g.Running, c["cores"], c["memory"], g.Pending)
	}
	return b.String()
}

// storageState is what the simulator's storages hold for guests (images and
// rootdir content), by volume key: the volid, prefixed with the node for
// node-local storages.
type storageState struct {
	volumes map[string]int // key -> owning vmid as the storage reports it
	shared  map[string]bool
}

type storageRow struct {
	Storage string `json:"storage"`
	Content string `json:"content"`
	Shared  int    `json:"shared"`
}

type contentRow struct {
	VolID   string `json:"volid"`
	Content string `json:"content"`
	VMID    int    `json:"vmid"`
}

// storages lists every guest volume of every storage on every node through
// the simulator's storage API.
func storages(ctx context.Context, pve *goproxmox.Client, nodes []string) (storageState, error) {
	st := storageState{volumes: map[string]int{}, shared: map[string]bool{}}
	for _, node := range nodes {
		var rows []storageRow
		if err := pve.Get(ctx, "/nodes/"+node+"/storage", &rows); err != nil {
			return st, fmt.Errorf("cannot list the storages of %s: %w", node, err)
		}
		for _, r := range rows {
			st.shared[r.Storage] = r.Shared == 1
			if !strings.Contains(r.Content, "images") && !strings.Contains(r.Content, "rootdir") {
				continue
			}
			var vols []contentRow
			if err := pve.Get(ctx, fmt.Sprintf("/nodes/%s/storage/%s/content", node, r.Storage), &vols); err != nil {
				return st, fmt.Errorf("cannot list the content of %s on %s: %w", r.Storage, node, err)
			}
			for _, v := range vols {
				if v.Content == "images" || v.Content == "rootdir" {
					st.volumes[st.key(node, v.VolID)] = v.VMID
				}
			}
		}
	}
	return st, nil
}

func (st storageState) key(node, volid string) string {
	sid, _, _ := strings.Cut(volid, ":")
	if st.shared[sid] {
		return volid
	}
	return node + "/" + volid
}

var diskKey = regexp.MustCompile(`^(scsi|virtio|sata|ide|efidisk|tpmstate|unused)\d+$|^(rootfs|mp\d+)$`)

// referenced are the volume keys the guests' configs (current and pending) use.
func (st storageState) referenced(s snapshot) map[string]int {
	refs := map[string]int{}
	for id, g := range s.guests {
		for _, conf := range []map[string]string{g.Config, g.Pending} {
			for k, v := range conf {
				if !diskKey.MatchString(k) {
					continue
				}
				volid, _, _ := strings.Cut(v, ",")
				if volid == "none" || !strings.Contains(volid, ":") {
					continue
				}
				refs[st.key(g.Node, volid)] = id
			}
		}
	}
	return refs
}

// leaks lists the guest volumes no guest's config references.
func (st storageState) leaks(s snapshot) []string {
	refs := st.referenced(s)
	var out []string
	for k, vmid := range st.volumes {
		if _, ok := refs[k]; !ok {
			out = append(out, fmt.Sprintf("%s (vmid %d)", k, vmid))
		}
	}
	sort.Strings(out)
	return out
}

// volumesOf lists the volume keys the storages report for vmid.
func (st storageState) volumesOf(vmid int) []string {
	var out []string
	for k, id := range st.volumes {
		if id == vmid {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
