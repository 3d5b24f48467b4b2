package function

import (
	"fmt"
)

// A Placement is where one validator runs.
type Placement struct {
	Validator  int    `json:"validator"`
	Node       string `json:"node"`
	Rack       string `json:"rack,omitempty"`
	Datacenter string `json:"datacenter,omitempty"`
}

// ValidatorCount is n = 3f+1: the smallest BFT set that stays safe and live with f faulty members.
func ValidatorCount(f int) int { return 3*f + 1 }

// Place puts n validators on n distinct nodes. Nodes are spread round-robin over datacenters
// first and, inside a datacenter, over its racks, so each failure domain gets as even a share
// as its capacity allows; unlabelled nodes form one domain (their failure domain is unknown).
// Order is deterministic: domains and nodes in the order spec.nodes lists them. It refuses
// when fewer than n distinct nodes are given, because two validators on one host turn one
// host failure into two faults.
func Place(nodes []Node, n int) ([]Placement, error) {
	distinct := dedupe(nodes)
	if len(distinct) < n {
		return nil, fmt.Errorf("spec.nodes lists %d distinct node(s) but spec.faultsTolerated=%d needs n=3f+1=%d validators, each on its own node: add %d node(s) to spec.nodes or lower spec.faultsTolerated",
			len(distinct), (n-1)/3, n, n-len(distinct))
	}
	dcs := group(distinct)
	out := make([]Placement, 0, n)
	for len(out) < n {
		for _, dc := range dcs {
			if len(out) == n {
				break
			}
			nd, ok := dc.next()
			if !ok {
				continue
			}
			out = append(out, Placement{Validator: len(out), Node: nd.Name, Rack: nd.Rack, Datacenter: nd.Datacenter})
		}
	}
	return out, nil
}

// MaxPerDomain is the largest number of validators sharing one failure domain (rack, keyed by
// datacenter and rack; unlabelled nodes count as one domain). When it exceeds f, losing that
// one domain halts the set.
func MaxPerDomain(p []Placement) int {
	count := map[[2]string]int{}
	most := 0
	for _, v := range p {
		k := [2]string{v.Datacenter, v.Rack}
		count[k]++
		most = max(most, count[k])
	}
	return most
}

func dedupe(nodes []Node) []Node {
	seen := map[string]bool{}
	out := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		if n.Name == "" || seen[n.Name] {
			continue
		}
		seen[n.Name] = true
		out = append(out, n)
	}
	return out
}

// datacenter holds its racks in first-seen order and a cursor for round-robin.
type datacenter struct {
	racks  []*rack
	cursor int
}

type rack struct {
	nodes  []Node
	cursor int
}

// next takes the next node of the next rack that still has one.
func (d *datacenter) next() (Node, bool) {
	for range d.racks {
		r := d.racks[d.cursor%len(d.racks)]
		d.cursor++
		if r.cursor < len(r.nodes) {
			r.cursor++
			return r.nodes[r.cursor-1], true
		}
	}
	return Node{}, false
}

func group(nodes []Node) []*datacenter {
	var dcs []*datacenter
	dcIdx := map[string]*datacenter{}
	rackIdx := map[[2]string]*rack{}
	for _, n := range nodes {
		dc, ok := dcIdx[n.Datacenter]
		if !ok {
			dc = &datacenter{}
			dcIdx[n.Datacenter] = dc
			dcs = append(dcs, dc)
		}
		k := [2]string{n.Datacenter, n.Rack}
		r, ok := rackIdx[k]
		if !ok {
			r = &rack{}
			rackIdx[k] = r
			dc.racks = append(dc.racks, r)
		}
		r.nodes = append(r.nodes, n)
	}
	return dcs
}
