package pvesim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// cloneGuest implements qemu and lxc clone: checks before forking, a new
// config locked "clone", volumes copied under storage locks in the worker.
func cloneGuest(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.Lock()
		defer s.mu.Unlock()
		src, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		newid := r.int("newid", 0)
		target := r.str("target")
		if target == "" {
			target = src.Node
		} else if err := s.checkNode(target); err != nil {
			return nil, err
		}
		if err := checkLock(src, false); err != nil {
			return nil, err
		}
		full := r.bool("full", !src.isTemplate())
		storageID := r.str("storage")
		if storageID != "" && !full {
			return nil, fail("parameter 'storage' not allowed for linked clones")
		}
		if r.has("format") && !full {
			return nil, fail("parameter 'format' not allowed for linked clones")
		}
		if pool := r.str("pool"); pool != "" && s.st.Pools[pool] == nil {
			return nil, httpErr(http.StatusForbidden, "Permission check failed (pool '%s' does not exist)", pool) // check_pool_exist
		}
		if _, ok := s.st.Guests[newid]; ok {
			if kind == kindLXC {
				return nil, fail("CT %d already exists on node '%s'", newid, s.st.Guests[newid].Node)
			}
			return nil, fail("unable to create VM %d: config file already exists", newid)
		}
		content := "images"
		if kind == kindLXC {
			content = "rootdir"
		}
		if storageID != "" {
			if _, err := s.storageFor(storageID, target, content); err != nil {
				return nil, err
			}
		}
		// Plan the copies: every disk gets a new volume on the target storage.
		// A cloud-init drive is always copied fully into the clone's own
		// vm-<newid>-cloudinit (clone_vm in qemu-server API2/Qemu.pm,
		// clone_disk in QemuServer.pm); other CD-ROMs are copied as config.
		type copyPlan struct {
			key, srcVol, sid string
			ci               bool
		}
		var plan []copyPlan
		shared := true
		for _, k := range sortedKeys(src.Conf) {
			v := src.Conf[k]
			vol := propGet(v, "file", "file")
			ci := kind == kindQemu && isCloudinitVol(vol)
			if !isDiskKey(kind, k) || strings.HasPrefix(k, "unused") || (propGet(v, "media", "") == "cdrom" && !ci) {
				continue
			}
			sid, _, _ := cutVolID(vol)
			st := s.st.Storages[sid]
			if st == nil {
				continue
			}
			if !st.Shared {
				shared = false
			}
			if !full && !src.isTemplate() && !ci {
				if kind == kindLXC {
					return nil, fail("Linked clone feature for '%s' is not available", vol)
				}
				return nil, fail("Linked clone feature is not supported for '%s' (%s)", vol, k)
			}
			dst := sid
			if storageID != "" {
				dst = storageID
			}
			plan = append(plan, copyPlan{k, vol, dst, ci})
		}
		if target != src.Node && !shared && storageID == "" {
			return nil, fail("can't clone %s to node '%s' (%s uses local storage)", src.typeName(), target, src.typeName())
		}
		if target != src.Node && storageID != "" && !s.st.Storages[storageID].Shared {
			return nil, fail("can't clone to non-shared storage '%s'", storageID)
		}
		conf := map[string]string{}
		for k, v := range src.Conf {
			if k == "template" || strings.HasPrefix(k, "unused") || k == "lock" || k == "vmgenid" {
				continue
			}
			conf[k] = v
		}
		for k, v := range conf {
			if strings.HasPrefix(k, "net") {
				conf[k] = regenMAC(kind, newid, k, v)
			}
		}
		if kind == kindQemu {
			conf["smbios1"] = "uuid=" + uuidFor(newid)
			conf["vmgenid"] = uuidFor(newid + 7)
			conf["name"] = "Copy-of-VM-" + guestName(src)
			if n := r.str("name"); n != "" {
				conf["name"] = n
			}
		} else if h := r.str("hostname"); h != "" {
			conf["hostname"] = h
		}
		if d := r.str("description"); d != "" {
			conf["description"] = d
		}
		conf["lock"] = "clone"
		ng := &guest{VMID: newid, Kind: kind, Node: target, Conf: conf, Pool: r.str("pool")}
		s.adoptPoolMember(ng)
		s.st.Guests[newid] = ng
		s.changed()
		srcID := src.VMID
		return s.spawn(src.Node, taskPrefix(kind)+"clone", strconv.Itoa(srcID), r.user, func(t *task) error {
			var made []string
			copied := 0
			err := func() error {
				for _, p := range plan {
					s.mu.RLock()
					st := s.st.Storages[p.sid]
					s.mu.RUnlock()
					rel, err := s.lockStorage(st, target)
					if err != nil {
						return err
					}
					s.mu.Lock()
					name := s.st.nextDiskName(st, target, newid)
					srcVol := s.st.volume(src.Node, p.srcVol)
					size := uint64(gib)
					if srcVol != nil {
						size = srcVol.Size
					}
					volid := st.ID + ":" + name
					parent := ""
					var aerr error
					switch {
					case p.ci:
						volid, aerr = s.allocCloudinit(target, newid, st.ID, "")
						size = cloudinitSize
					case !full:
						_, base, _ := cutVolID(p.srcVol)
						volid, parent = st.ID+":"+base+"/"+name, p.srcVol
						fallthrough
					default:
						s.st.addVolume(st, target, &volume{VolID: volid, Content: content, Format: "raw", Size: size,
							VMID: newid, Parent: parent})
					}
					if aerr != nil {
						s.mu.Unlock()
						rel()
						return aerr
					}
					made = append(made, volid)
					if g := s.st.Guests[newid]; g != nil {
						// print_drive of the new drive, its size read back from the volume.
						sub := optSub(kind, p.key)
						vk := driveVolKey(kind)
						if res, perr := parsePropertyString(sub, g.Conf[p.key]); sub != nil && perr == "" {
							res[vk], res["size"] = volid, formatSize(size)
							var skip []string
							if kind == kindLXC {
								skip = []string{"type"}
								if p.key == "rootfs" {
									skip = append(skip, "mp")
								}
							}
							g.Conf[p.key] = printPropertyString(sub, res, skip...)
						}
					}
					s.mu.Unlock()
					mode := map[bool]string{true: "full", false: "linked"}[full || p.ci]
					t.logf("create %s clone of drive %s (%s)", mode, p.key, p.srcVol)
					err = s.taskSleep(t, s.opts.StorageLockHold)
					rel()
					if err != nil {
						return err
					}
					copied++
				}
				if rest := s.opts.TaskDuration - s.opts.StorageLockHold*timeMul(copied); rest > 0 {
					if err := s.taskSleep(t, rest); err != nil {
						return err
					}
				}
				return t.injected()
			}()
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil {
				for _, v := range made {
					s.st.removeVolume(target, v)
				}
				delete(s.st.Guests, newid)
				return fmt.Errorf("clone failed: %w", err)
			}
			if g := s.st.Guests[newid]; g != nil {
				delete(g.Conf, "lock")
			}
			return nil
		}), nil
	}
}

// regenMAC gives a cloned interface a new MAC, as clone always does
// (clone_vm: print_net with a random macaddr; pve-container's clone:
// print_lxc_network with a new hwaddr).
func regenMAC(kind string, vmid int, key, v string) string {
	sub := optSub(kind, key)
	res, perr := parsePropertyString(sub, v)
	if sub == nil || perr != "" {
		return v
	}
	delete(res, "macaddr")
	delete(res, "hwaddr")
	return normNet(kind, vmid, key, printPropertyString(sub, res))
}

// templateGuest converts a guest into a template: disks become base volumes.
// qemu forks a qmtemplate worker; lxc does it synchronously.
func templateGuest(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.Lock()
		defer s.mu.Unlock()
		g, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		if err := checkLock(g, false); err != nil {
			return nil, err
		}
		if g.isTemplate() {
			return nil, fail("you can't convert a template to a template")
		}
		if g.Running {
			if kind == kindLXC {
				return nil, fail("you can't convert a CT to template if the CT is running")
			}
			return nil, fail("you can't convert a VM to template if VM is running")
		}
		convert := func(g *guest) {
			for k, v := range g.Conf {
				if !isDiskKey(kind, k) || strings.HasPrefix(k, "unused") || strings.Contains(v, "media=cdrom") {
					continue
				}
				vol := propGet(v, "file", "file")
				sid, name, ok := cutVolID(vol)
				st := s.st.Storages[sid]
				if !ok || st == nil || !strings.HasPrefix(name, "vm-") {
					continue
				}
				nv := st.ID + ":base-" + strings.TrimPrefix(name, "vm-")
				if old := s.st.volume(g.Node, vol); old != nil {
					s.st.removeVolume(g.Node, vol)
					old.VolID = nv
					s.st.addVolume(st, g.Node, old)
				}
				_, rest, _ := strings.Cut(v, ",")
				g.Conf[k] = nv + "," + rest
			}
			g.Conf["template"] = "1"
			s.changed()
		}
		if kind == kindLXC {
			convert(g)
			return nil, nil
		}
		vmid := g.VMID
		return s.spawn(g.Node, "qmtemplate", strconv.Itoa(vmid), r.user, func(t *task) error {
			rel, err := s.lockGuest(kind, vmid)
			if err != nil {
				return err
			}
			defer rel()
			if err := s.taskSleep(t, s.opts.TaskDuration); err != nil {
				return err
			}
			if err := t.injected(); err != nil {
				return err
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if g := s.st.Guests[vmid]; g != nil {
				convert(g)
			}
			return nil
		}), nil
	}
}
