package ceph

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/ceph/go-ceph/cephfs"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// errDecodeAuth never quotes the answer: it holds the client's key.
const errDecodeAuth = "cannot decode Ceph's answer to \"auth get\" for %s"

const (
	errMDSNoAnswer = "no answer from the MDS to \"session ls\" in time"
	errMDSBusy     = "an earlier \"session ls\" to the MDS has not been answered yet"
)

// Caps are a cephx client's caps per service ("mon", "osd", "mds", "mgr").
type Caps map[string]string

// args renders caps the way the auth commands take them: service, caps, service, caps, ...
// in a fixed order.
func (c Caps) args() []string {
	services := make([]string, 0, len(c))
	for s := range c {
		services = append(services, s)
	}
	sort.Strings(services)
	out := make([]string, 0, 2*len(c))
	for _, s := range services {
		out = append(out, s, c[s])
	}
	return out
}

// AuthEntity is a cephx entity as `auth get` reports it. Key is the secret: callers put it into
// a connection Secret and nowhere else.
type AuthEntity struct {
	Entity string `json:"entity"`
	Key    string `json:"key"`
	Caps   Caps   `json:"caps"`
}

// GetAuth reads a cephx entity ("client.x"); a missing one satisfies IsNotFound.
func (c *Client) GetAuth(entity string) (*AuthEntity, error) {
	out, err := c.MonCommand(map[string]any{"prefix": "auth get", "entity": entity, "format": "json"})
	if err != nil {
		return nil, err
	}
	var got []AuthEntity
	if err := json.Unmarshal(out, &got); err != nil || len(got) != 1 {
		return nil, errors.Errorf(errDecodeAuth, entity)
	}
	if got[0].Caps == nil {
		got[0].Caps = Caps{}
	}
	return &got[0], nil
}

// CreateAuth creates a cephx entity with exactly these caps. Ceph refuses (EINVAL) when the
// entity exists with other caps; with the same caps it answers with the existing key.
func (c *Client) CreateAuth(entity string, caps Caps) error {
	_, err := c.MonCommand(map[string]any{"prefix": "auth get-or-create", "entity": entity, "caps": caps.args(), "format": "json"})
	return err
}

// SetAuthCaps replaces all caps of an entity; services not named lose their caps.
func (c *Client) SetAuthCaps(entity string, caps Caps) error {
	_, err := c.MonCommand(map[string]any{"prefix": "auth caps", "entity": entity, "caps": caps.args()})
	return err
}

// RemoveAuth deletes a cephx entity and its key.
func (c *Client) RemoveAuth(entity string) error {
	_, err := c.MonCommand(map[string]any{"prefix": "auth rm", "entity": entity})
	return err
}

// mdsSession is one entry of an MDS's `session ls`.
type mdsSession struct {
	State string `json:"state"`
	Meta  struct {
		EntityID string `json:"entity_id"`
	} `json:"client_metadata"`
}

// CephFSSessions counts, per MDS daemon ("mds.a"), the CephFS sessions of cephx client id (without
// "client."), asking every active MDS of every filesystem (`session ls`). A client that died
// without unmounting keeps its session until the MDS closes it (session_autoclose, 300 s).
//
// libcephfs's MDS command takes no deadline: a busy or hung MDS can hold the call for minutes.
// The call runs on its own goroutine, which owns the libcephfs handle and releases it when the
// call returns, and CephFSSessions returns an error when ctx ends first; while one call to the
// MDS has not returned, the next fails at once rather than pile up behind it.
func (c *Client) CephFSSessions(ctx context.Context, id string) (map[string]int, error) {
	var d fsDump
	if err := c.monJSON(map[string]any{"prefix": "fs dump"}, &d); err != nil {
		return nil, err
	}
	active := d.active("")
	if len(active) == 0 {
		return map[string]int{}, nil
	}
	return call(c, Call{Class: ClassFS, Op: "session ls", Target: id}, func() (map[string]int, error) {
		if !c.mdsBusy.CompareAndSwap(false, true) {
			return nil, errors.New(errMDSBusy)
		}
		type answer struct {
			n   map[string]int
			err error
		}
		got := make(chan answer, 1)
		go func() {
			defer c.mdsBusy.Store(false)
			n, err := c.sessions(active, id)
			got <- answer{n, err}
		}()
		select {
		case a := <-got:
			return a.n, a.err
		case <-ctx.Done():
			return nil, errors.Wrap(ctx.Err(), errMDSNoAnswer)
		}
	})
}

// sessions asks each named MDS for its sessions and counts those of cephx client id.
func (c *Client) sessions(active []string, id string) (map[string]int, error) {
	// an initialized, unmounted libcephfs handle is all ceph_mds_command needs
	m, err := cephfs.CreateFromRados(c.conn)
	if err != nil {
		return nil, newError("session ls", "", err)
	}
	defer func() { _ = m.Release() }()
	if err := m.Init(); err != nil {
		return nil, newError("session ls", "", err)
	}
	out := map[string]int{}
	for _, name := range active {
		b, status, err := m.MdsCommand(name, [][]byte{[]byte(`{"prefix":"session ls","format":"json"}`)})
		if err != nil {
			return nil, newError("session ls (mds."+name+")", status, err)
		}
		var ss []mdsSession
		if err := json.Unmarshal(b, &ss); err != nil {
			return nil, errors.Wrapf(err, "cannot decode the answer of mds.%s to \"session ls\"", name)
		}
		for _, s := range ss {
			if s.Meta.EntityID == id && s.State != "closed" && s.State != "killing" {
				out["mds."+name]++
			}
		}
	}
	return out, nil
}
