package pvesim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var reResize = regexp.MustCompile(`^(\+)?(\d+(?:\.\d+)?)([KMGT])?$`)

// resizeGuest grows a disk; PVE refuses to shrink. Both kinds fork a
// "resize" worker.
func resizeGuest(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.Lock()
		defer s.mu.Unlock()
		g, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		if d := r.str("digest"); d != "" && d != g.digest() {
			// qemu-server's resize_vm has its own text; pve-container's
			// resize_vm calls PVE::Tools::assert_if_modified.
			if kind == kindQemu {
				return nil, fail("checksum mismatch (file change by other user?)")
			}
			return nil, fail("detected modified configuration - file changed by other user? Try again.")
		}
		if err := checkLock(g, r.bool("skiplock", false)); err != nil {
			return nil, err
		}
		disk := r.str("disk")
		v, ok := g.Conf[disk]
		if !ok {
			return nil, fail("disk '%s' does not exist", disk)
		}
		if strings.Contains(v, "media=cdrom") {
			return nil, fail("you can't resize a cdrom")
		}
		vol := propGet(v, "file", "file")
		cur, _ := parseSize(propGet(v, "size", ""))
		if vv := s.st.volume(g.Node, vol); vv != nil {
			cur = vv.Size
		}
		m := reResize.FindStringSubmatch(r.str("size"))
		if m == nil {
			return nil, paramErr("size", "value does not match the regex pattern")
		}
		f, _ := strconv.ParseFloat(m[2], 64)
		mult := map[string]float64{"": 1, "K": float64(kib), "M": float64(mib), "G": float64(gib), "T": float64(gib * 1024)}[m[3]]
		newSize := uint64(f * mult)
		if m[1] == "+" {
			newSize += cur
		}
		if newSize < cur {
			if kind == kindLXC {
				return nil, fail("unable to shrink disk size")
			}
			return nil, fail("shrinking disks is not supported")
		}
		if newSize == cur && kind == kindLXC {
			return nil, fail("disk is already at specified size")
		}
		vmid := g.VMID
		return s.spawn(g.Node, "resize", strconv.Itoa(vmid), r.user, func(t *task) error {
			if err := s.taskSleep(t, s.opts.TaskDuration/2); err != nil {
				return err
			}
			if err := t.injected(); err != nil {
				return err
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			g := s.st.Guests[vmid]
			if g == nil || g.Conf[disk] == "" {
				return fmt.Errorf("disk '%s' does not exist", disk)
			}
			if vv := s.st.volume(g.Node, vol); vv != nil {
				vv.Size = newSize
			}
			g.Conf[disk] = propSet(g.Conf[disk], "size", formatSize(newSize))
			s.changed()
			t.logf("Image resized.")
			return nil
		}), nil
	}
}

// deleteGuest destroys a guest and its volumes; purge also removes it from
// pools, HA resources and rules, and firewall references.
func deleteGuest(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.Lock()
		defer s.mu.Unlock()
		g, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		if err := checkLock(g, r.bool("skiplock", false)); err != nil {
			return nil, err
		}
		if g.Conf["protection"] == "1" {
			return nil, fail("can't remove %s %d - protection mode enabled", g.typeName(), g.VMID)
		}
		purge := r.bool("purge", false)
		if _, ha := s.st.HAResources[haSID(g)]; ha && !purge {
			return nil, fail("unable to remove %s %d - used in HA resources and purge parameter not set.",
				g.typeName(), g.VMID)
		}
		if g.Running {
			if kind == kindLXC && !r.bool("force", false) {
				return nil, fail("unable to destroy CT %d - container is running", g.VMID)
			}
			if kind == kindQemu {
				return nil, fail("VM %d is running - destroy failed", g.VMID)
			}
		}
		for _, vol := range s.guestVolumes(g) {
			if child := s.childOf(vol); child != "" {
				return nil, fail("base volume '%s' is still in use by linked cloned", strings.SplitN(vol, ":", 2)[1])
			}
		}
		unref := r.bool("destroy-unreferenced-disks", true)
		vmid, node := g.VMID, g.Node
		typ := "qmdestroy"
		if kind == kindLXC {
			typ = "vzdestroy"
		}
		g.Conf["lock"] = "destroyed"
		return s.spawn(node, typ, strconv.Itoa(vmid), r.user, func(t *task) error {
			rel, err := s.lockGuest(kind, vmid)
			if err != nil {
				return err
			}
			defer rel()
			ierr := s.taskSleep(t, s.opts.TaskDuration)
			if ierr == nil {
				ierr = t.injected()
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			g := s.st.Guests[vmid]
			if g == nil {
				return nil
			}
			if ierr != nil {
				delete(g.Conf, "lock")
				return ierr
			}
			for _, vol := range s.guestVolumes(g) {
				s.st.removeVolume(node, vol)
				t.logf("Removing image: 100%% complete...done.")
			}
			if unref {
				for _, st := range s.st.Storages {
					for k, v := range st.Volumes {
						if v.VMID == vmid && (st.Shared || strings.HasPrefix(k, node+"/")) && v.Content != "vztmpl" {
							delete(st.Volumes, k)
						}
					}
				}
			}
			delete(s.st.Guests, vmid)
			if purge {
				delete(s.st.HAResources, haSID(g))
				for _, rule := range s.st.HARules {
					rule.Resources = removeItem(rule.Resources, haSID(g))
				}
			}
			s.changed()
			return nil
		}), nil
	}
}

// guestVolumes lists the volumes a guest's config references (disks and unused).
func (s *Simulator) guestVolumes(g *guest) []string {
	var out []string
	for k, v := range g.Conf {
		if !isDiskKey(g.Kind, k) || strings.Contains(v, "media=cdrom") && !strings.Contains(v, "cloudinit") {
			continue
		}
		vol := propGet(v, "file", "file")
		if _, _, ok := cutVolID(vol); ok {
			out = append(out, vol)
		}
	}
	return out
}

// childOf returns a linked clone volume whose parent is vol, if any.
func (s *Simulator) childOf(vol string) string {
	sid, _, _ := cutVolID(vol)
	st := s.st.Storages[sid]
	if st == nil {
		return ""
	}
	for _, v := range st.Volumes {
		if v.Parent == vol {
			return v.VolID
		}
	}
	return ""
}

func removeItem(list []string, item string) []string {
	out := list[:0]
	for _, x := range list {
		if x != item {
			out = append(out, x)
		}
	}
	return out
}
