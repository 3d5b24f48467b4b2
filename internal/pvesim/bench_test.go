package pvesim

import (
	"io"
	"net/http"
	"runtime"
	"testing"
)

const benchGuests = 10000

// heapInUse returns live heap bytes after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkClusterResources measures GET /cluster/resources over HTTPS
// with 10,000 guests, and the simulator's heap per guest after seeding.
func BenchmarkClusterResources(b *testing.B) {
	before := heapInUse()
	sim, err := New(Options{NoDefaultSeed: true})
	if err != nil {
		b.Fatal(err)
	}
	sim.SeedGuests(benchGuests)
	after := heapInUse()
	srv, err := sim.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	client := srv.HTTPClient()
	get := func() int {
		req, _ := http.NewRequest("GET", srv.URL+"/cluster/resources", nil)
		req.Header.Set("Authorization", "PVEAPIToken="+srv.TokenID+"="+srv.Secret)
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %s", res.Status)
		}
		return int(n)
	}
	size := get()
	b.ResetTimer()
	for b.Loop() {
		get()
	}
	b.StopTimer()
	b.ReportMetric(float64(after-before)/benchGuests, "heap-B/guest")
	b.ReportMetric(float64(size), "resp-B")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/request")
}

// BenchmarkClusterResourcesParallel is the same call from concurrent clients.
func BenchmarkClusterResourcesParallel(b *testing.B) {
	sim, err := New(Options{NoDefaultSeed: true})
	if err != nil {
		b.Fatal(err)
	}
	sim.SeedGuests(benchGuests)
	srv, err := sim.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	client := srv.HTTPClient()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", srv.URL+"/cluster/resources?type=vm", nil)
			req.Header.Set("Authorization", "PVEAPIToken="+srv.TokenID+"="+srv.Secret)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
}
