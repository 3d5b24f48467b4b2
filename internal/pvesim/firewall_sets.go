package pvesim

import (
	"net/http"
	"net/netip"
	"strings"
)

// fwIPSet is a named set of addresses and networks.
type fwIPSet struct {
	Name    string    `json:"name"`
	Comment string    `json:"comment,omitempty"`
	Entries []fwEntry `json:"entries"`
}

type fwEntry struct {
	CIDR    string `json:"cidr"`
	Comment string `json:"comment,omitempty"`
	NoMatch bool   `json:"nomatch,omitempty"`
}

// fwAlias names an address or network.
type fwAlias struct {
	Name    string `json:"name"`
	CIDR    string `json:"cidr"`
	Comment string `json:"comment,omitempty"`
}

type ipsetHandler func(r *request, sets *map[string]*fwIPSet) (any, error)

func clusterIPSets(fn ipsetHandler) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		if r.method == http.MethodGet {
			s.mu.RLock()
			defer s.mu.RUnlock()
		} else {
			s.mu.Lock()
			defer s.mu.Unlock()
		}
		return fn(r, &s.st.IPSets)
	}
}

func guestIPSets(kind string, fn ipsetHandler) handlerFunc {
	return guestFW(kind, func(r *request, fw *firewallSet, _ fwEnv) (any, error) {
		if fw.IPSets == nil {
			fw.IPSets = map[string]*fwIPSet{}
		}
		return fn(r, &fw.IPSets)
	})
}

func listIPSets(r *request, sets *map[string]*fwIPSet) (any, error) {
	d := fwDigest(*sets)
	out := []map[string]any{}
	for _, name := range sortedKeys(*sets) {
		e := map[string]any{"name": name, "digest": d}
		if c := (*sets)[name].Comment; c != "" {
			e["comment"] = c
		}
		out = append(out, e)
	}
	return out, nil
}

func createIPSet(r *request, sets *map[string]*fwIPSet) (any, error) {
	if err := checkDigest(r, fwDigest(*sets)); err != nil {
		return nil, err
	}
	name := r.str("name")
	if old := r.str("rename"); old != "" {
		set := (*sets)[old]
		if set == nil {
			return nil, paramErr("name", "IPSet '%s' does not exist", old)
		}
		// IPSet.pm create_ipset: renaming to the same name changes the
		// comment in place.
		if (*sets)[name] != nil && name != old {
			return nil, paramErr("name", "IPSet '%s' does already exist", name)
		}
		delete(*sets, old)
		set.Name = name
		if r.has("comment") {
			set.Comment = r.str("comment")
		}
		(*sets)[name] = set
	} else {
		if (*sets)[name] != nil {
			return nil, paramErr("name", "IPSet '%s' already exists", name)
		}
		(*sets)[name] = &fwIPSet{Name: name, Comment: r.str("comment"), Entries: []fwEntry{}}
	}
	r.s.changed()
	return nil, nil
}

func ipsetOf(r *request, sets map[string]*fwIPSet) (*fwIPSet, error) {
	set := sets[r.str("name")]
	if set == nil {
		return nil, fail("no such IPSet '%s'", r.str("name"))
	}
	return set, nil
}

func ipsetEntries(r *request, sets *map[string]*fwIPSet) (any, error) {
	set, err := ipsetOf(r, *sets)
	if err != nil {
		return nil, err
	}
	d := fwDigest(set)
	out := []map[string]any{}
	for _, e := range set.Entries {
		out = append(out, entryOut(e, d))
	}
	return out, nil
}

func entryOut(e fwEntry, digest string) map[string]any {
	m := map[string]any{"cidr": e.CIDR, "digest": digest}
	if e.Comment != "" {
		m["comment"] = e.Comment
	}
	if e.NoMatch {
		m["nomatch"] = 1
	}
	return m
}

// normalizeCIDR accepts an address, a network or an alias name as PVE's
// IPorCIDRorAlias format does.
func (s *Simulator) normalizeCIDR(v string) (string, error) {
	if _, err := netip.ParseAddr(v); err == nil {
		return v, nil
	}
	if validCIDR(v) {
		return v, nil
	}
	name := strings.TrimPrefix(v, "dc/")
	if s.st.Aliases[name] != nil {
		return v, nil
	}
	return "", paramErr("cidr", "invalid format - value does not look like a valid IP address or CIDR network")
}

func ipsetAdd(r *request, sets *map[string]*fwIPSet) (any, error) {
	set, err := ipsetOf(r, *sets)
	if err != nil {
		return nil, err
	}
	cidr, err := r.s.normalizeCIDR(r.str("cidr"))
	if err != nil {
		return nil, err
	}
	for _, e := range set.Entries {
		if e.CIDR == cidr {
			return nil, paramErr("cidr", "address '%s' already exists", cidr)
		}
	}
	if strings.HasSuffix(cidr, "/0") {
		return nil, paramErr("cidr", "a zero prefix is not allowed in ipset entries")
	}
	set.Entries = append(set.Entries, fwEntry{CIDR: cidr, Comment: r.str("comment"), NoMatch: r.bool("nomatch", false)})
	r.s.changed()
	return nil, nil
}

func deleteIPSet(r *request, sets *map[string]*fwIPSet) (any, error) {
	set, err := ipsetOf(r, *sets)
	if err != nil {
		return nil, err
	}
	if len(set.Entries) > 0 && !r.bool("force", false) {
		return nil, fail("IPSet '%s' is not empty", set.Name)
	}
	delete(*sets, set.Name)
	r.s.changed()
	return nil, nil
}

func entryIndex(r *request, set *fwIPSet) (int, error) {
	for i, e := range set.Entries {
		if e.CIDR == r.str("cidr") {
			return i, nil
		}
	}
	return 0, paramErr("cidr", "no such IP/Network")
}

func ipsetGetEntry(r *request, sets *map[string]*fwIPSet) (any, error) {
	set, err := ipsetOf(r, *sets)
	if err != nil {
		return nil, err
	}
	i, err := entryIndex(r, set)
	if err != nil {
		return nil, err
	}
	return entryOut(set.Entries[i], fwDigest(set)), nil
}

func ipsetUpdateEntry(r *request, sets *map[string]*fwIPSet) (any, error) {
	set, err := ipsetOf(r, *sets)
	if err != nil {
		return nil, err
	}
	i, err := entryIndex(r, set)
	if err != nil {
		return nil, err
	}
	if err := checkDigest(r, fwDigest(set)); err != nil {
		return nil, err
	}
	if r.has("comment") {
		set.Entries[i].Comment = r.str("comment")
	}
	if r.has("nomatch") {
		set.Entries[i].NoMatch = r.bool("nomatch", false)
	}
	r.s.changed()
	return nil, nil
}

func ipsetDeleteEntry(r *request, sets *map[string]*fwIPSet) (any, error) {
	set, err := ipsetOf(r, *sets)
	if err != nil {
		return nil, err
	}
	i, err := entryIndex(r, set)
	if err != nil {
		return nil, err
	}
	if err := checkDigest(r, fwDigest(set)); err != nil {
		return nil, err
	}
	set.Entries = append(set.Entries[:i], set.Entries[i+1:]...)
	r.s.changed()
	return nil, nil
}

// Cluster aliases.

func aliasOut(a *fwAlias, digest string) map[string]any {
	ipv := 4
	if strings.Contains(a.CIDR, ":") {
		ipv = 6
	}
	m := map[string]any{"name": a.Name, "cidr": a.CIDR, "ipversion": ipv, "digest": digest}
	if a.Comment != "" {
		m["comment"] = a.Comment
	}
	return m
}

func listAliases(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := fwDigest(s.st.Aliases)
	out := []map[string]any{}
	for _, n := range sortedKeys(s.st.Aliases) {
		out = append(out, aliasOut(s.st.Aliases[n], d))
	}
	return out, nil
}

func (s *Simulator) checkAliasCIDR(v string) error {
	if _, err := netip.ParseAddr(v); err == nil {
		return nil
	}
	if validCIDR(v) {
		return nil
	}
	return paramErr("cidr", "invalid format - value does not look like a valid IP address or CIDR network")
}

func createAlias(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.str("name")
	if err := s.checkAliasCIDR(r.str("cidr")); err != nil {
		return nil, err
	}
	if s.st.Aliases[strings.ToLower(name)] != nil || s.st.Aliases[name] != nil {
		return nil, paramErr("name", "alias '%s' already exists", name)
	}
	s.st.Aliases[name] = &fwAlias{Name: name, CIDR: r.str("cidr"), Comment: r.str("comment")}
	s.changed()
	return nil, nil
}

func getAlias(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.Aliases[r.str("name")]
	if a == nil {
		return nil, paramErr("name", "no such alias")
	}
	return aliasOut(a, fwDigest(s.st.Aliases)), nil
}

func updateAlias(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Aliases[r.str("name")]
	if a == nil {
		return nil, paramErr("name", "no such alias")
	}
	if err := checkDigest(r, fwDigest(s.st.Aliases)); err != nil {
		return nil, err
	}
	if err := s.checkAliasCIDR(r.str("cidr")); err != nil {
		return nil, err
	}
	if nn := r.str("rename"); nn != "" && nn != a.Name {
		if s.st.Aliases[nn] != nil {
			return nil, paramErr("name", "alias '%s' already exists", nn)
		}
		delete(s.st.Aliases, a.Name)
		a.Name = nn
		s.st.Aliases[nn] = a
	}
	a.CIDR = r.str("cidr")
	if r.has("comment") {
		a.Comment = r.str("comment")
	}
	s.changed()
	return nil, nil
}

func deleteAlias(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkDigest(r, fwDigest(s.st.Aliases)); err != nil {
		return nil, err
	}
	delete(s.st.Aliases, r.str("name"))
	s.changed()
	return nil, nil
}
