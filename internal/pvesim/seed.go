package pvesim

import (
	"fmt"
	"strings"
)

// DefaultTemplateID is the VM template seeded by default: a cloud-init
// Debian 12 image on the RBD storage, as the examples reference it.
const DefaultTemplateID = 9000

// DefaultCTTemplate is the container template every node's "local" storage
// holds by default.
const DefaultCTTemplate = "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst"

// appliance is one entry of the aplinfo catalogue.
type appliance struct {
	Template     string `json:"template"`
	Package      string `json:"package"`
	Version      string `json:"version"`
	OS           string `json:"os"`
	Section      string `json:"section"`
	Type         string `json:"type"`
	Headline     string `json:"headline"`
	Description  string `json:"description"`
	Architecture string `json:"architecture"`
	Source       string `json:"source"`
	Location     string `json:"location"`
	InfoPage     string `json:"infopage"`
	Maintainer   string `json:"maintainer"`
	SHA512Sum    string `json:"sha512sum"`
}

// defaultAppliances is a small catalogue shaped like PVE's aplinfo index.
func defaultAppliances() []appliance {
	sys := func(os, pkg, ver, tmpl, headline string) appliance {
		return appliance{Template: tmpl, Package: pkg, Version: ver, OS: os, Section: "system", Type: "lxc",
			Headline: headline, Description: headline + ".", Architecture: "amd64",
			Source: "http://download.proxmox.com/images/system/" + tmpl, Location: "system/" + tmpl,
			InfoPage:   "https://pve.proxmox.com/wiki/Linux_Container#pct_supported_distributions",
			Maintainer: "Proxmox Support Team <support@proxmox.com>", SHA512Sum: fakeSum(tmpl)}
	}
	return []appliance{
		sys("debian-12", "debian-12-standard", "12.12-1", "debian-12-standard_12.12-1_amd64.tar.zst", "Debian 12 Bookworm (standard)"),
		sys("debian-13", "debian-13-standard", "13.1-2", "debian-13-standard_13.1-2_amd64.tar.zst", "Debian 13 Trixie (standard)"),
		sys("ubuntu-24.04", "ubuntu-24.04-standard", "24.04-2", "ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "Ubuntu 24.04 Noble (standard)"),
		sys("alpine-3.22", "alpine-3.22-default", "20250617", "alpine-3.22-default_20250617_amd64.tar.xz", "Alpine Linux 3.22 (default)"),
		sys("rockylinux-9", "rockylinux-9-default", "20240912", "rockylinux-9-default_20240912_amd64.tar.xz", "Rocky Linux 9 (default)"),
		{Template: "turnkey-wordpress_18.1-1_amd64.tar.gz", Package: "turnkey-wordpress", Version: "18.1-1",
			OS: "debian-12", Section: "turnkeylinux", Type: "lxc", Headline: "TurnKey WordPress",
			Description: "Blog platform with WordPress.", Architecture: "amd64",
			Source:   "https://releases.turnkeylinux.org/pve/turnkey-wordpress_18.1-1_amd64.tar.gz",
			Location: "turnkeylinux/turnkey-wordpress_18.1-1_amd64.tar.gz", InfoPage: "https://www.turnkeylinux.org/wordpress",
			Maintainer: "Turnkey Linux <support@turnkeylinux.org>", SHA512Sum: fakeSum("turnkey-wordpress")},
	}
}

func fakeSum(s string) string {
	return strings.Repeat(fmt.Sprintf("%016x", len(s)*0x9e3779b97f4a7c), 8)
}

func (s *Simulator) seedDefaults() {
	s.st.Appliances = defaultAppliances()
	for _, n := range s.st.Nodes {
		s.addVZTemplateLocked(n, "local", "debian-12-standard_12.12-1_amd64.tar.zst")
	}
	_ = s.seedTemplateLocked(TemplateSeed{VMID: DefaultTemplateID, Name: "debian-12-cloudinit", Node: s.st.Nodes[0]})
}

// TemplateSeed describes a VM template to create directly.
type TemplateSeed struct {
	VMID    int
	Name    string
	Node    string // default: first node
	Storage string // default: ceph-rbd
	DiskGiB int    // default: 2
	Cores   int    // default: 1
	Memory  int    // MiB, default 1024
}

// SeedTemplate adds a VM template with a base disk, a cloud-init drive and
// the guest agent enabled, like an imported cloud image turned template.
func (s *Simulator) SeedTemplate(t TemplateSeed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.changed()
	return s.seedTemplateLocked(t)
}

func (s *Simulator) seedTemplateLocked(t TemplateSeed) error {
	if t.Node == "" {
		t.Node = s.st.Nodes[0]
	}
	if t.Storage == "" {
		t.Storage = "ceph-rbd"
	}
	if t.DiskGiB == 0 {
		t.DiskGiB = 2
	}
	if t.Cores == 0 {
		t.Cores = 1
	}
	if t.Memory == 0 {
		t.Memory = 1024
	}
	if _, ok := s.st.Guests[t.VMID]; ok {
		return fmt.Errorf("VM %d already exists", t.VMID)
	}
	st := s.st.Storages[t.Storage]
	if st == nil {
		return fmt.Errorf("storage '%s' does not exist", t.Storage)
	}
	disk := fmt.Sprintf("%s:base-%d-disk-0", t.Storage, t.VMID)
	ci := fmt.Sprintf("%s:vm-%d-cloudinit", t.Storage, t.VMID)
	size := uint64(t.DiskGiB) * gib
	s.st.addVolume(st, t.Node, &volume{VolID: disk, Content: "images", Format: "raw", Size: size, VMID: t.VMID})
	s.st.addVolume(st, t.Node, &volume{VolID: ci, Content: "images", Format: "raw", Size: 4 * mib, VMID: t.VMID})
	s.st.Guests[t.VMID] = &guest{VMID: t.VMID, Kind: kindQemu, Node: t.Node, Conf: map[string]string{
		"name": t.Name, "template": "1", "agent": "1", "cores": fmt.Sprint(t.Cores), "sockets": "1",
		"memory": fmt.Sprint(t.Memory), "ostype": "l26", "scsihw": "virtio-scsi-pci", "boot": "order=scsi0",
		"scsi0": disk + ",size=" + formatSize(size), "ide2": ci + ",media=cdrom",
		"net0": "virtio=" + macFor(t.VMID, 0) + ",bridge=vmbr0", "serial0": "socket", "vga": "serial0",
		"smbios1": "uuid=" + uuidFor(t.VMID), "vmgenid": uuidFor(t.VMID + 1),
		"meta": fmt.Sprintf("creation-qemu=9.2.0,ctime=%d", nowUnix()),
	}}
	return nil
}

// AddVZTemplate places a container template into a storage's vztmpl
// content on a node (for shared storages, on all nodes).
func (s *Simulator) AddVZTemplate(node, storageID, file string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.changed()
	if s.st.Storages[storageID] == nil || !s.st.Storages[storageID].holds("vztmpl") {
		return fmt.Errorf("storage '%s' does not hold vztmpl content", storageID)
	}
	s.addVZTemplateLocked(node, storageID, file)
	return nil
}

func (s *Simulator) addVZTemplateLocked(node, storageID, file string) {
	st := s.st.Storages[storageID]
	s.st.addVolume(st, node, &volume{VolID: storageID + ":vztmpl/" + file, Content: "vztmpl",
		Format: templateFormat(file), Size: 120 * mib})
}

// AddAppliance adds an entry to the aplinfo catalogue.
func (s *Simulator) AddAppliance(template, os, headline string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := defaultAppliances()[0]
	a.Template, a.OS, a.Headline, a.Description = template, os, headline, headline+"."
	a.Package = strings.SplitN(template, "_", 2)[0]
	a.Source = "http://download.proxmox.com/images/system/" + template
	a.Location = "system/" + template
	s.st.Appliances = append(s.st.Appliances, a)
	s.changed()
}

func templateFormat(file string) string {
	for _, ext := range []string{"tar.zst", "tar.xz", "tar.gz"} {
		if strings.HasSuffix(file, "."+ext) {
			return "t" + strings.TrimPrefix(ext, "tar.") // tzst, txz, tgz like PVE
		}
	}
	return "raw"
}

// SeedGuests adds n stopped guests (every fifth a container), spread over
// the nodes, with ids from 1000 upwards that are still free.
func (s *Simulator) SeedGuests(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.changed()
	id := 1000
	rbd := s.st.Storages["ceph-rbd"]
	for made := 0; made < n; id++ {
		if _, ok := s.st.Guests[id]; ok {
			continue
		}
		node := s.st.Nodes[made%len(s.st.Nodes)]
		g := &guest{VMID: id, Node: node}
		if made%5 == 4 {
			vol := fmt.Sprintf("ceph-rbd:vm-%d-disk-0", id)
			s.st.addVolume(rbd, node, &volume{VolID: vol, Content: "rootdir", Format: "raw", Size: 8 * gib, VMID: id})
			g.Kind = kindLXC
			g.Conf = map[string]string{"hostname": fmt.Sprintf("ct%d", id), "arch": "amd64", "cores": "1",
				"memory": "512", "swap": "512", "ostype": "debian", "rootfs": vol + ",size=8G",
				"net0": fmt.Sprintf("name=eth0,bridge=vmbr0,hwaddr=%s,ip=dhcp,type=veth", macFor(id, 0)),
				"tags": "seed"}
		} else {
			vol := fmt.Sprintf("ceph-rbd:vm-%d-disk-0", id)
			s.st.addVolume(rbd, node, &volume{VolID: vol, Content: "images", Format: "raw", Size: 16 * gib, VMID: id})
			g.Kind = kindQemu
			g.Conf = map[string]string{"name": fmt.Sprintf("vm%d", id), "cores": "2", "sockets": "1",
				"memory": "2048", "ostype": "l26", "scsihw": "virtio-scsi-pci", "scsi0": vol + ",size=16G",
				"net0": "virtio=" + macFor(id, 0) + ",bridge=vmbr0", "agent": "1", "tags": "seed",
				"smbios1": "uuid=" + uuidFor(id), "boot": "order=scsi0;net0"}
		}
		s.st.Guests[id] = g
		made++
	}
}

// macFor derives a stable locally administered MAC from a vmid and slot.
func macFor(vmid, slot int) string {
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", (vmid>>16)&0xff, (vmid>>8)&0xff, (vmid+slot)&0xff)
}

func uuidFor(n int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", n*2654435761&0xffffffff, n&0xffff, n&0xfff, (n>>12)&0xfff, n*40503)
}
