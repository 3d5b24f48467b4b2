package rgw

import (
	"errors"
	"strings"
	"testing"
)

func TestScrubDropsAnswerBodies(t *testing.T) {
	secret := `[{"user":"u","access_key":"AK","secret_key":"SECRET"}]`
	err := scrub(errors.New("failed to unmarshal radosgw http response. " + secret + ". unexpected end"))
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("scrub = %v", err)
	}
	if got := scrub(errors.New("NoSuchUser tx1 default")); got.Error() != "NoSuchUser tx1 default" {
		t.Errorf("scrub changed a status error: %v", got)
	}
	if scrub(nil) != nil {
		t.Error("scrub(nil) != nil")
	}
}

func TestQuotaSpecSendsKiB(t *testing.T) {
	s := Quota{Enabled: true, MaxSizeBytes: 64 << 20, MaxObjects: 2}.spec()
	if *s.MaxSizeKb != 64<<10 || *s.MaxSize != 64<<20 || *s.MaxObjects != 2 || !*s.Enabled {
		t.Errorf("spec = %+v", s)
	}
	if s := (Quota{MaxSizeBytes: -1}).spec(); *s.MaxSizeKb != -1 {
		t.Errorf("no limit: max-size-kb %d, want -1", *s.MaxSizeKb)
	}
	if s := (Quota{MaxSizeBytes: 1000}).spec(); *s.MaxSizeKb != 1 {
		t.Errorf("1000 bytes: max-size-kb %d, want 1 (rounded up)", *s.MaxSizeKb)
	}
}
