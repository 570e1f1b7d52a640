package mpc

import (
	"fmt"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// TestBelowThresholdSharesDoNotDetermineKey: TestBelowThresholdRefused
// shows Combine counts partials; this checks the sharing itself. Shares of
// every (t−1)-subset, interpolated at zero as if they were enough, give a
// key other than the cluster key, while every t-subset gives the cluster
// key (so the comparison is meaningful).
func TestBelowThresholdSharesDoNotDetermineKey(t *testing.T) {
	for _, tc := range []struct{ t, n int }{{2, 3}, {3, 5}} {
		t.Run(fmt.Sprintf("%dof%d", tc.t, tc.n), func(t *testing.T) {
			c := newCluster(t, tc.t, tc.n)
			c.round(t, false, nil)
			c.round(t, true, nil) // and after a refresh
			pub := c.nodes[0].Public().PublicKey()
			matches := func(idx []int) bool {
				priv, err := sm2.NewPrivateKeyFromInt(reconstruct(t, c, idx))
				if err != nil {
					return false // zero or out of range: not the key either
				}
				return priv.X.Cmp(pub.X) == 0 && priv.Y.Cmp(pub.Y) == 0
			}
			for _, sub := range subsets(tc.n, tc.t) {
				if !matches(sub) {
					t.Fatalf("t-subset %v does not give the cluster key", sub)
				}
			}
			for _, sub := range subsets(tc.n, tc.t-1) {
				if matches(sub) {
					t.Fatalf("%d shares %v give the cluster key", tc.t-1, sub)
				}
			}
		})
	}
}
