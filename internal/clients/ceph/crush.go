package ceph

import (
	"sort"
	"strconv"
	"strings"
)

// CrushMap is the part of `osd crush dump` the provider reads.
type CrushMap struct {
	Devices []struct {
		ID    int    `json:"id"`
		Name  string `json:"name"`
		Class string `json:"class"`
	} `json:"devices"`
	Types []struct {
		ID   int    `json:"type_id"`
		Name string `json:"name"`
	} `json:"types"`
	Buckets []*CrushBucket `json:"buckets"`
	Rules   []*CrushRule   `json:"rules"`

	byName   map[string]*CrushBucket
	byID     map[int]*CrushBucket
	parentOf map[int][]int
	rules    map[string]*CrushRule
}

// CrushBucket is one bucket of the hierarchy (root, datacenter, row, rack, host...).
type CrushBucket struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	TypeName string `json:"type_name"`
	Weight   int64  `json:"weight"` // 16.16 fixed point
	Items    []struct {
		ID     int   `json:"id"`
		Weight int64 `json:"weight"`
	} `json:"items"`
}

// CrushRule is one placement rule.
type CrushRule struct {
	ID    int    `json:"rule_id"`
	Name  string `json:"rule_name"`
	Type  int    `json:"type"` // 1 replicated, 3 erasure
	Steps []struct {
		Op       string `json:"op"`
		Item     int    `json:"item"`
		ItemName string `json:"item_name"`
		Num      int    `json:"num"`
		Type     string `json:"type"`
	} `json:"steps"`
}

func (m *CrushMap) index() {
	m.byName, m.byID, m.parentOf, m.rules = map[string]*CrushBucket{}, map[int]*CrushBucket{}, map[int][]int{}, map[string]*CrushRule{}
	for _, b := range m.Buckets {
		m.byName[b.Name] = b
		m.byID[b.ID] = b
		for _, it := range b.Items {
			m.parentOf[it.ID] = append(m.parentOf[it.ID], b.ID)
		}
	}
	for _, r := range m.Rules {
		m.rules[r.Name] = r
	}
}

// Bucket returns the named bucket, nil if it does not exist. Shadow buckets of device classes
// ("default~hdd") are Ceph's own and are never returned for a plain name.
func (m *CrushMap) Bucket(name string) *CrushBucket { return m.byName[name] }

// Parents returns the names of the buckets that hold the named bucket (normally one).
func (m *CrushMap) Parents(name string) []string {
	b := m.byName[name]
	if b == nil {
		return nil
	}
	var out []string
	for _, id := range m.parentOf[b.ID] {
		if p := m.byID[id]; p != nil && !strings.Contains(p.Name, "~") {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Children names what the named bucket holds: buckets by name, OSDs as osd.N.
func (m *CrushMap) Children(name string) []string {
	b := m.byName[name]
	if b == nil {
		return nil
	}
	var out []string
	for _, it := range b.Items {
		if c := m.byID[it.ID]; c != nil {
			out = append(out, c.Name)
		} else if it.ID >= 0 {
			out = append(out, "osd."+strconv.Itoa(it.ID))
		}
	}
	sort.Strings(out)
	return out
}

// RulesTaking names the rules whose placement starts at the named bucket (or at one of its
// device-class shadows, "name~hdd").
func (m *CrushMap) RulesTaking(name string) []string {
	var out []string
	for _, r := range m.Rules {
		for _, st := range r.Steps {
			if st.Op == "take" && (st.ItemName == name || strings.HasPrefix(st.ItemName, name+"~")) {
				out = append(out, r.Name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// HasType tells whether the CRUSH map knows a bucket type ("host", "rack", ...).
func (m *CrushMap) HasType(t string) bool {
	for _, x := range m.Types {
		if x.Name == t {
			return true
		}
	}
	return false
}

// Rule returns the named rule, nil if it does not exist.
func (m *CrushMap) Rule(name string) *CrushRule { return m.rules[name] }

// RuleByID returns the rule with that id, nil if none.
func (m *CrushMap) RuleByID(id int) *CrushRule {
	for _, r := range m.Rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// RuleShape is what a simple rule (take, choose[leaf], emit) places on.
type RuleShape struct {
	Root          string
	DeviceClass   string
	FailureDomain string
}

// Shape reads root, device class and failure domain from the rule's steps; ok is false for rules
// with more than one choose step, which the provider does not manage.
func (r *CrushRule) Shape() (RuleShape, bool) {
	var s RuleShape
	chooses := 0
	for _, st := range r.Steps {
		switch {
		case st.Op == "take":
			s.Root, s.DeviceClass, _ = strings.Cut(st.ItemName, "~")
		case strings.HasPrefix(st.Op, "choose"):
			chooses++
			s.FailureDomain = st.Type
		}
	}
	return s, chooses == 1 && s.Root != ""
}

// FailureDomains counts the distinct buckets of the rule's failure-domain type (OSDs when the type
// is "osd") under its root that hold at least one OSD with weight: the most copies the rule can
// place on distinct failure domains. ok is false when the rule's shape is not a simple one.
func (m *CrushMap) FailureDomains(r *CrushRule) (n int, ok bool) {
	var take *CrushBucket
	var domain string
	chooses := 0
	for _, st := range r.Steps {
		switch {
		case st.Op == "take":
			take = m.byID[st.Item]
		case strings.HasPrefix(st.Op, "choose"):
			chooses++
			domain = st.Type
		}
	}
	if take == nil || chooses != 1 {
		return 0, false
	}
	return m.countDomains(take, domain, false), true
}

// countDomains walks the tree below b; inside a bucket of the domain type it only asks whether the
// bucket holds a weighted OSD.
func (m *CrushMap) countDomains(b *CrushBucket, domain string, inDomain bool) int {
	n := 0
	for _, it := range b.Items {
		if it.ID >= 0 { // an OSD
			if it.Weight <= 0 {
				continue
			}
			if domain == "osd" || inDomain {
				n++
			}
			continue
		}
		child := m.byID[it.ID]
		if child == nil {
			continue
		}
		if !inDomain && child.TypeName == domain {
			if m.countDomains(child, domain, true) > 0 {
				n++
			}
			continue
		}
		n += m.countDomains(child, domain, inDomain)
	}
	if inDomain && n > 0 {
		return 1
	}
	return n
}
