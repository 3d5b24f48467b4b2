package pvesim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Options configure a simulated cluster. Zero values pick the defaults
// documented on each field.
type Options struct {
	// Nodes are the cluster's node names (default pve1, pve2, pve3).
	Nodes []string
	// ListenAddr is where Start listens (default 127.0.0.1:0, a random port).
	ListenAddr string
	// CADir receives pve-root-ca.pem (default a new temporary directory).
	CADir string
	// User and Password log in with POST /access/ticket (default root@pam
	// and a random password).
	User, Password string
	// TokenName and TokenSecret form the API token User!TokenName (default
	// "pvesim" and a random UUID).
	TokenName, TokenSecret string
	// ClusterName is reported by /cluster/status and tickets (default pvesim).
	ClusterName string
	// TaskDuration is how long each worker task runs (default 50ms).
	TaskDuration time.Duration
	// StorageLockTimeout is how long a worker waits for a storage
	// allocation lock before failing like PVE (default 1s; PVE uses 10s+).
	StorageLockTimeout time.Duration
	// StorageLockHold is how long a volume's allocation (vdisk_alloc) or
	// linked clone (vdisk_clone) holds its storage's lock in a clone or
	// create worker (default a tenth of TaskDuration). PVE holds the lock
	// only for that storage call: a full clone copies the data
	// (clone_disk_copy_data in qemu-server's clone_disk) after the lock is
	// released, so parallel full clones overlap; the rest of TaskDuration
	// passes outside the lock. Set it to TaskDuration to make clones
	// serialise on a storage, as a slow storage does.
	StorageLockHold time.Duration
	// ConfigLockTimeout is how long a worker waits for a guest's config
	// lock (default 1s; PVE uses 10s).
	ConfigLockTimeout time.Duration
	// AgentStartDelay is how long after a start the guest agent answers
	// "QEMU guest agent is not running" (default none).
	AgentStartDelay time.Duration
	// AuthFailureDelay delays 401 answers (PVE waits 3s; default none).
	AuthFailureDelay time.Duration
	// StateFile, when set, is loaded at start and saved after changes.
	StateFile string
	// SaveDebounce groups state saves (default 500ms).
	SaveDebounce time.Duration
	// NoDefaultSeed skips the default template 9000, container template and
	// appliance catalogue.
	NoDefaultSeed bool
	// SeedGuests adds that many stopped VMs and containers (ids from 1000).
	SeedGuests int
	// PVEMajor selects the release clients see: 9 (default) or 8, where
	// /version reports 8.4 and the HA rules API (new in 9) does not exist.
	PVEMajor int
	// Faults are applied from the start; change them later with Faults().
	Faults *FaultConfig
	// ControlAddr, when set, is a loopback host:port where Start serves
	// the control API (/_control/faults) over plain HTTP.
	ControlAddr string
}

func (o *Options) defaults() error {
	if len(o.Nodes) == 0 {
		o.Nodes = []string{"pve1", "pve2", "pve3"}
	}
	if o.ListenAddr == "" {
		o.ListenAddr = "127.0.0.1:0"
	}
	if o.User == "" {
		o.User = "root@pam"
	}
	if o.Password == "" {
		o.Password = randomHex(12)
	}
	if o.TokenName == "" {
		o.TokenName = "pvesim"
	}
	if o.TokenSecret == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		o.TokenSecret = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	}
	if o.ClusterName == "" {
		o.ClusterName = "pvesim"
	}
	if o.TaskDuration == 0 {
		o.TaskDuration = 50 * time.Millisecond
	}
	if o.StorageLockTimeout == 0 {
		o.StorageLockTimeout = time.Second
	}
	if o.StorageLockHold == 0 {
		o.StorageLockHold = o.TaskDuration / 10
	}
	if o.ConfigLockTimeout == 0 {
		o.ConfigLockTimeout = time.Second
	}
	if o.PVEMajor == 0 {
		o.PVEMajor = 9
	}
	if o.PVEMajor != 8 && o.PVEMajor != 9 {
		return fmt.Errorf("PVEMajor must be 8 or 9, not %d", o.PVEMajor)
	}
	if o.SaveDebounce == 0 {
		o.SaveDebounce = 500 * time.Millisecond
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Simulator is the simulated cluster: state, tasks, locks and faults. It
// serves HTTPS once started.
type Simulator struct {
	opts    Options
	TokenID string
	Secret  string

	mu    sync.RWMutex
	st    *state
	tasks *taskTable
	locks lockTable

	faults  *Faults
	metrics *metrics
	router  router
	authKey []byte

	wg      sync.WaitGroup
	closing chan struct{}
	saver   *saver
}

// New builds a simulator; it loads StateFile when it exists, otherwise it
// seeds the default cluster.
func New(opts Options) (*Simulator, error) {
	if err := opts.defaults(); err != nil {
		return nil, errors.Wrap(err, "cannot apply defaults")
	}
	s := &Simulator{
		opts:    opts,
		TokenID: opts.User + "!" + opts.TokenName,
		Secret:  opts.TokenSecret,
		tasks:   newTaskTable(),
		faults:  newFaults(),
		metrics: newMetrics(),
		authKey: []byte(randomHex(32)),
		closing: make(chan struct{}),
	}
	if opts.Faults != nil {
		s.faults.Set(*opts.Faults)
	}
	loaded, err := s.load()
	if err != nil {
		return nil, err
	}
	if !loaded {
		s.st = newState(opts.Nodes)
		if !opts.NoDefaultSeed {
			s.seedDefaults()
		}
		if opts.SeedGuests > 0 {
			s.SeedGuests(opts.SeedGuests)
		}
	}
	s.seedAccess()
	if err := s.routes(); err != nil {
		return nil, err
	}
	if opts.StateFile != "" {
		s.saver = newSaver(s)
	}
	return s, nil
}

// Faults returns the live fault settings.
func (s *Simulator) Faults() *Faults { return s.faults }

// Options returns the effective options (defaults filled in).
func (s *Simulator) Options() Options { return s.opts }

// changed notes a state change for persistence.
func (s *Simulator) changed() {
	if s.saver != nil {
		s.saver.poke()
	}
}

// Wait blocks until every running task has finished.
func (s *Simulator) Wait() { s.wg.Wait() }
