package port

import (
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/daemon/config"
)

// TestStuckAfter: N frame periods, never less than the floor; an unpaced
// port counts at the OTU2 rate.
func TestStuckAfter(t *testing.T) {
	for _, c := range []struct {
		rate float64
		want time.Duration
	}{
		{0, stuckFloor},
		{otu2FrameRate, stuckFloor},
		{2000, stuckFloor},
		{100, 10 * time.Second},
		{10, 100 * time.Second},
	} {
		if got := (&Port{cfg: config.Port{FrameRate: c.rate}}).StuckAfter(); got != c.want {
			t.Errorf("frame_rate %v: stuck after %v, want %v", c.rate, got, c.want)
		}
	}
}
