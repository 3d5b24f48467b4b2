package pvesim

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
)

var (
	hitsMu sync.Mutex
	hits   = map[string]bool{}
)

// TestMain records which routes the tests answered successfully; a full run
// (no -run filter) fails if any implemented route was never exercised.
func TestMain(m *testing.M) {
	routeHook = func(route string, code int) {
		if code == 200 {
			hitsMu.Lock()
			hits[route] = true
			hitsMu.Unlock()
		}
	}
	code := m.Run()
	if f := flag.Lookup("test.run"); code == 0 && f != nil && f.Value.String() == "" &&
		flag.Lookup("test.bench").Value.String() == "" {
		var missing []string
		for _, r := range RouteList() {
			if !hits[r] {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "routes never answered with 200 by the tests (%d):\n", len(missing))
			for _, r := range missing {
				fmt.Fprintln(os.Stderr, "  "+r)
			}
			code = 1
		}
	}
	os.Exit(code)
}
