package api_test

import (
	"encoding/hex"
	"math"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/ctrl/link"
	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/shm"
)

func TestLinkSetCounters(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := dataplane.Snapshot{TXFrames: 10, RXFrames: 9, RXLostFAS: 1, RXUnknownEpoch: 2, FECCorrected: 7,
		FECUncorrected: 3, BIPErrors: 4, RoundsDropped: 5, TXEpoch: 6, RXEpoch: 5}
	c := link.Stats{Handshake: "done", SeedsOwn: 2, SeedsPeer: 1, TXSwitches: 2, LastSeed: at, LastSwitch: at.Add(time.Second),
		Initiator: negotiation.Stats{Rounds: 9000, Blocks: 2, Kept: 500, Reconciled: 500, Errors: 2, SyndromeBits: 30, Steps: 5,
			DecodeFailures: 1, Seeds: 3, Verified: 1, CreditedBits: 1200, LeakedBits: 94, AmplifyBits: 128},
		Responder: negotiation.Stats{Rounds: 900, VerifyFailures: 1, Abandoned: 1}}
	l := api.Link{Name: "p0"}
	l.SetCounters(p, c)
	want := api.Link{Name: "p0", Handshake: "done", TXEpoch: 6, RXEpoch: 5, FramesTX: 10, FramesRX: 9, FramesRejected: 3,
		FECCorrected: 7, FECUncorrectable: 3, BIPErrors: 4, RoundsOwn: 1000, RoundsPeer: 900, RoundsDropped: 5,
		SeedsOwn: 2, SeedsPeer: 1, Failures: 3, KeySwitches: 2, DisagreementOwn: 0.004, LastSeed: at, LastSwitch: at.Add(time.Second)}
	want.RoundsOwn = 9000
	// f = 30 / (500 · h(0.004)); per seed: 400 = 10 + 64/3 + 128/3 + 256 + slack.
	h := -0.004*math.Log2(0.004) - 0.996*math.Log2(0.996)
	want.PostprocessingOwn = api.Postprocessing{Efficiency: 30 / (500 * h), RoundsPerSeed: 3000, StepsPerBlock: 2.5,
		PerSeed: api.BoundTerms{Credited: 400, Reconciliation: 10, Tag: 64.0 / 3, Amplification: 128.0 / 3, Seed: 256,
			Slack: 400 - 10 - 64.0/3 - 128.0/3 - 256}}
	if math.Abs(l.PostprocessingOwn.Efficiency-want.PostprocessingOwn.Efficiency) < 1e-12 {
		l.PostprocessingOwn.Efficiency = want.PostprocessingOwn.Efficiency
	}
	if math.Abs(l.PostprocessingOwn.PerSeed.Slack-want.PostprocessingOwn.PerSeed.Slack) < 1e-9 {
		l.PostprocessingOwn.PerSeed.Slack = want.PostprocessingOwn.PerSeed.Slack
	}
	if l != want {
		t.Fatalf("got  %+v\nwant %+v", l, want)
	}
}

func TestKeyInfoFromShm(t *testing.T) {
	k := shm.Key{ID: 5, Port: 3, Dir: shm.DirBtoA, Epoch: 9, State: shm.StatePending, Alg: shm.AlgSM4,
		ValidFrom: 1e18, Consumer: 4}
	if err := k.SetMaterial([]byte("0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	fp := k.Fingerprint()
	got := api.KeyInfoFromShm(&k, "east")
	want := api.KeyInfo{ID: 5, Port: "east", PortID: 3, Direction: "BA", Epoch: 9, State: "pending", Alg: "SM4", Len: 16,
		ValidFrom: time.Unix(0, 1e18).UTC(), Consumer: 4, Fingerprint: hex.EncodeToString(fp[:])}
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}
