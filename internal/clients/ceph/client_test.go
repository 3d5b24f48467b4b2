package ceph

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireEnv returns an env var naming an external part, skipping the test when it is unset
// (failing instead when MICROCLOUD_REQUIRE_INTEGRATION=1, as in CI).
func requireEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("MICROCLOUD_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("%s is not set (start Ceph with CEPH_CONF=$(cluster/ceph-up.sh))", name)
		}
		t.Skipf("%s not set; start Ceph with CEPH_CONF=$(cluster/ceph-up.sh)", name)
	}
	return v
}

func testConfig(t *testing.T) Config {
	t.Helper()
	cfg, err := ConfigFromConfFile(requireEnv(t, "CEPH_CONF"))
	require.NoError(t, err)
	return cfg
}

func testClient(t *testing.T) *Client {
	t.Helper()
	c, err := Connect(testConfig(t), time.Minute)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// uniq gives each test run its own names so reruns against one cluster do not collide.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000_000)
}

func TestSecret(t *testing.T) {
	keyring := "[client.other]\n\tkey = OTHER==\n[client.admin]\n\tkey = ADMIN==\n\tcaps mon = \"allow *\"\n"
	cases := map[string]struct {
		cfg  Config
		want string
	}{
		"BareKey":        {Config{Key: " AQBx==\n"}, "AQBx=="},
		"KeyringOwnUser": {Config{Key: keyring, ClientName: "admin"}, "ADMIN=="},
		"KeyringPrefix":  {Config{Key: keyring, ClientName: "client.admin"}, "ADMIN=="},
		"KeyringFirst":   {Config{Key: keyring, ClientName: "nobody"}, "OTHER=="},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { assert.Equal(t, tc.want, tc.cfg.secret()) })
	}
}

func TestConnect(t *testing.T) {
	cfg := testConfig(t)
	t.Run("Keyring", func(t *testing.T) {
		c, err := Connect(cfg, time.Minute)
		require.NoError(t, err)
		c.Close()
	})
	t.Run("BareKey", func(t *testing.T) {
		bare := cfg
		bare.Key = cfg.secret()
		require.NotContains(t, bare.Key, "\n")
		c, err := Connect(bare, time.Minute)
		require.NoError(t, err)
		c.Close()
	})
	t.Run("WrongKey", func(t *testing.T) {
		bad := cfg
		bad.Key = "AQBp1ERnAAAAABAAeq7Q3Rn3Gm4cFZ9bIaEQJw=="
		bad.MonOpTimeout = 3 * time.Second
		_, err := Connect(bad, time.Minute)
		require.Error(t, err)
	})
	t.Run("SharedPerSite", func(t *testing.T) {
		r := NewClients(time.Minute)
		a, err := r.Get(context.Background(), cfg)
		require.NoError(t, err)
		b, err := r.Get(context.Background(), cfg)
		require.NoError(t, err)
		assert.Same(t, a, b, "same site and key must share one connection")
		bare := cfg
		bare.Key = cfg.secret() // same secret, different text: new cache key, old one dropped
		c, err := r.Get(context.Background(), bare)
		require.NoError(t, err)
		assert.NotSame(t, a, c)
		assert.Len(t, r.m, 1)
	})
}

func TestPool(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	name := uniq("tp")
	t.Cleanup(func() { _ = c.DeletePool(name) })

	require.NoError(t, c.CreatePool(PoolSpec{Name: name, PGNum: 8, AutoscaleMode: "off", Size: 2}))
	s, err := c.Snapshot(ctx)
	require.NoError(t, err)
	p := s.Pools[name]
	require.NotNil(t, p, "new pool must be in the snapshot after the write invalidated it")
	assert.Equal(t, 2, p.Size)
	assert.Equal(t, 8, p.PGNumTarget)
	assert.Equal(t, "off", p.AutoscaleMode)
	assert.False(t, p.Erasure())

	again, err := c.Snapshot(ctx)
	require.NoError(t, err)
	assert.Same(t, s, again, "snapshot must be reused until it expires or a write happens")

	require.NoError(t, c.SetPool(name, "min_size", "2"))
	require.NoError(t, c.SetPool(name, "compression_mode", "aggressive"))
	require.NoError(t, c.SetPool(name, "target_size_ratio", "0.2"))
	require.NoError(t, c.SetPoolQuota(name, "max_bytes", 1<<30))
	require.NoError(t, c.SetPoolQuota(name, "max_objects", 1000))
	require.NoError(t, c.EnablePoolApplication(name, "rbd"))
	s, err = c.Snapshot(ctx)
	require.NoError(t, err)
	p = s.Pools[name]
	assert.Equal(t, 2, p.MinSize)
	assert.Equal(t, "aggressive", p.Option("compression_mode"))
	assert.Equal(t, "0.2", p.Option("target_size_ratio"))
	assert.Equal(t, int64(1<<30), p.QuotaMaxBytes)
	assert.Equal(t, int64(1000), p.QuotaMaxObjects)
	assert.Equal(t, []string{"rbd"}, p.Applications())

	err = c.SetPool(name, "size", "11")
	require.Error(t, err)
	assert.True(t, IsErrno(err, EINVAL), "%v", err)
	assert.Contains(t, err.Error(), "pool size must be between 1 and 10", "Ceph's own words must survive")

	err = c.SetPool("nosuch-"+name, "size", "2")
	assert.True(t, IsNotFound(err), "%v", err)

	// test/ceph may briefly forbid pool deletion (mon_allow_pool_delete) while running in parallel
	require.Eventually(t, func() bool { err = c.DeletePool(name); return !IsErrno(err, EPERM) }, 30*time.Second, 200*time.Millisecond)
	require.NoError(t, err)
	s, err = c.Snapshot(ctx)
	require.NoError(t, err)
	assert.Nil(t, s.Pools[name])
}

func TestErasureCoding(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	prof, pool, rule := uniq("tec"), uniq("tecpool"), uniq("tecrule")
	t.Cleanup(func() {
		_ = c.DeletePool(pool)
		_ = c.RemoveCrushRule(rule)
		_ = c.RemoveErasureCodeProfile(prof)
	})
	kv := map[string]string{"k": "2", "m": "1", "plugin": "jerasure", "technique": "reed_sol_van", "crush-failure-domain": "host"}
	require.NoError(t, c.SetErasureCodeProfile(prof, kv))
	require.NoError(t, c.SetErasureCodeProfile(prof, kv), "an identical profile is accepted again")

	changed := map[string]string{"k": "2", "m": "2", "plugin": "jerasure", "technique": "reed_sol_van", "crush-failure-domain": "host"}
	err := c.SetErasureCodeProfile(prof, changed)
	require.Error(t, err)
	assert.True(t, IsErrno(err, EPERM), "%v", err)
	assert.Contains(t, err.Error(), "will not override erasure code profile")

	err = c.SetErasureCodeProfile(uniq("tecbad"), map[string]string{"k": "1", "m": "1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "k=1 must be >= 2")

	s, err := c.Snapshot(ctx)
	require.NoError(t, err)
	got := s.Profiles[prof]
	require.NotNil(t, got)
	assert.Equal(t, "2", got["k"])
	assert.Equal(t, "1", got["m"])
	assert.Equal(t, "host", got["crush-failure-domain"])

	require.NoError(t, c.CreateErasureRule(rule, prof))
	require.NoError(t, c.CreatePool(PoolSpec{Name: pool, Erasure: true, Profile: prof, Rule: rule, PGNum: 4, AutoscaleMode: "off"}))
	s, err = c.Snapshot(ctx)
	require.NoError(t, err)
	p := s.Pools[pool]
	require.NotNil(t, p)
	assert.True(t, p.Erasure())
	assert.Equal(t, prof, p.ErasureCodeProfile)
	assert.Equal(t, 3, p.Size, "k+m")
	r := s.Crush.Rule(rule)
	require.NotNil(t, r)
	assert.Equal(t, r.ID, p.CrushRule)
	shape, ok := r.Shape()
	require.True(t, ok)
	assert.Equal(t, RuleShape{Root: "default", FailureDomain: "host"}, shape)

	err = c.RemoveErasureCodeProfile(prof)
	assert.True(t, IsErrno(err, EBUSY), "a profile in use must be refused: %v", err)
}

func TestCrush(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	root, rack, rule := uniq("troot"), uniq("track"), uniq("trule")
	t.Cleanup(func() {
		_ = c.RemoveCrushRule(rule)
		_ = c.RemoveCrushBucket(rack)
		_ = c.RemoveCrushBucket(root)
	})
	require.NoError(t, c.AddCrushBucket(root, "root"))
	require.NoError(t, c.AddCrushBucket(rack, "rack"))
	require.NoError(t, c.MoveCrushBucket(rack, "root", root))
	s, err := c.Snapshot(ctx)
	require.NoError(t, err)
	require.NotNil(t, s.Crush.Bucket(rack))
	assert.Equal(t, "rack", s.Crush.Bucket(rack).TypeName)
	assert.Equal(t, []string{root}, s.Crush.Parents(rack))
	assert.Empty(t, s.Crush.Parents(root))

	err = c.RemoveCrushBucket(root)
	require.Error(t, err, "a bucket with children must not be removable")
	assert.True(t, IsErrno(err, ENOTEMPTY), "%v", err)

	err = c.AddCrushBucket(uniq("tbad"), "rack2")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rack2")

	// the lab cluster has one OSD per host and three hosts under root default
	require.NoError(t, c.CreateReplicatedRule(rule, "default", "host", "hdd"))
	s, err = c.Snapshot(ctx)
	require.NoError(t, err)
	r := s.Crush.Rule(rule)
	require.NotNil(t, r)
	shape, ok := r.Shape()
	require.True(t, ok)
	assert.Equal(t, RuleShape{Root: "default", DeviceClass: "hdd", FailureDomain: "host"}, shape)
	n, ok := s.Crush.FailureDomains(r)
	require.True(t, ok)
	assert.Equal(t, 3, n)

	// a rule on the empty new root can place nothing
	empty := uniq("trule-empty")
	require.NoError(t, c.CreateReplicatedRule(empty, root, "host", ""))
	t.Cleanup(func() { _ = c.RemoveCrushRule(empty) })
	s, err = c.Snapshot(ctx)
	require.NoError(t, err)
	n, ok = s.Crush.FailureDomains(s.Crush.Rule(empty))
	require.True(t, ok)
	assert.Equal(t, 0, n)

	err = c.CreateReplicatedRule(uniq("trule-bad"), "nosuchroot", "host", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "root item nosuchroot does not exist")
}

func TestRBDImage(t *testing.T) {
	c := testClient(t)
	pool, img := uniq("trbd"), "disk-1"
	t.Cleanup(func() { _ = c.DeletePool(pool) })
	require.NoError(t, c.CreatePool(PoolSpec{Name: pool, PGNum: 4, AutoscaleMode: "off"}))
	require.NoError(t, c.EnablePoolApplication(pool, "rbd"))
	require.NoError(t, c.InitRBDPool(pool))

	_, err := c.GetImage(pool, img)
	assert.True(t, IsNotFound(err), "%v", err)

	require.NoError(t, c.CreateImage(ImageSpec{Pool: pool, Name: img, SizeBytes: 1 << 30, Features: []string{"layering", "exclusive-lock"}}))
	info, err := c.GetImage(pool, img)
	require.NoError(t, err)
	assert.Equal(t, uint64(1<<30), info.SizeBytes)
	assert.Equal(t, []string{"exclusive-lock", "layering"}, info.Features)

	require.NoError(t, c.ResizeImage(pool, img, 2<<30))
	err = c.ResizeImage(pool, img, 1<<30)
	require.Error(t, err, "shrinking must be refused")
	info, err = c.GetImage(pool, img)
	require.NoError(t, err)
	assert.Equal(t, uint64(2<<30), info.SizeBytes)

	require.NoError(t, c.UpdateImageFeatures(pool, img, []string{"object-map", "fast-diff"}, true))
	info, err = c.GetImage(pool, img)
	require.NoError(t, err)
	assert.Equal(t, []string{"exclusive-lock", "fast-diff", "layering", "object-map"}, info.Features)

	err = c.UpdateImageFeatures(pool, img, []string{"warp-drive"}, true)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "warp-drive"))

	require.NoError(t, c.RemoveImage(pool, img))
	assert.True(t, IsNotFound(c.RemoveImage(pool, img)))
}

func TestPGSummary(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	pool := uniq("tpg")
	t.Cleanup(func() { _ = c.DeletePool(pool) })
	require.NoError(t, c.CreatePool(PoolSpec{Name: pool, PGNum: 4, AutoscaleMode: "off", Size: 2}))
	var p *PoolInfo
	require.Eventually(t, func() bool {
		c.Invalidate()
		s, err := c.Snapshot(ctx)
		if err != nil || s.PGs == nil {
			return false
		}
		p = s.Pools[pool]
		sum := s.PGs[p.ID]
		return sum != nil && sum.Total == 4 && sum.States["active"] == 4 && sum.MinActing == 2
	}, 60*time.Second, 500*time.Millisecond, "4 active PGs with 2 copies each")
}

// Concurrent Observes share one fetch; a write by the provider forces exactly one more.
func TestSnapshotShared(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	before := c.CommandCount("osd pool ls")
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Snapshot(ctx)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, before+1, c.CommandCount("osd pool ls"), "50 concurrent snapshots, one `osd pool ls detail`")
	assert.Equal(t, int64(1), c.CommandCount("osd crush dump"))

	name := uniq("tsnap")
	require.NoError(t, c.CreatePool(PoolSpec{Name: name, PGNum: 1, AutoscaleMode: "off"}))
	t.Cleanup(func() { _ = c.DeletePool(name) })
	for i := 0; i < 10; i++ {
		s, err := c.Snapshot(ctx)
		require.NoError(t, err)
		require.NotNil(t, s.Pools[name])
	}
	assert.Equal(t, before+2, c.CommandCount("osd pool ls"), "one refetch after the write")
	m := &dto.Metric{}
	require.NoError(t, commandsTotal.WithLabelValues("osd pool ls", "ok").Write(m))
	assert.GreaterOrEqual(t, m.GetCounter().GetValue(), float64(2), "the Prometheus counter follows")
}

// A site whose monitors do not answer must not hold up other sites' clients.
func TestSlowSiteDoesNotBlockOthers(t *testing.T) {
	good := testConfig(t)
	r := NewClients(time.Second)
	dead := Config{Monitors: []string{"127.0.0.1:1"}, ClientName: good.ClientName, Key: good.Key}
	deadDone := make(chan error, 1)
	go func() {
		_, err := r.Get(context.Background(), dead)
		deadDone <- err
	}()
	// Wait until the dead site's connect is under way.
	for {
		r.mu.Lock()
		_, connecting := r.connecting[dead.cacheKey()]
		r.mu.Unlock()
		if connecting {
			break
		}
		select {
		case err := <-deadDone:
			t.Fatalf("connect to a dead monitor returned at once: %v", err)
		default:
			time.Sleep(10 * time.Millisecond)
		}
	}
	c, err := r.Get(context.Background(), good)
	if err != nil || c == nil {
		t.Fatalf("Get(good site) = %v, %v", c, err)
	}
	select {
	case err := <-deadDone:
		t.Fatalf("the dead site's connect ended (%v) before the good site was served; cannot tell they ran side by side", err)
	default:
	}
	if err := <-deadDone; err == nil {
		t.Fatal("connect to a dead monitor succeeded")
	}
}
