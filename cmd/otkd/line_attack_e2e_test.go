package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otkd/otkd/ctrl/api"
	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/dataplane/lane"
	"github.com/otkd/otkd/dataplane/line/udp/udpproxy"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/internal/keys"
)

func (n *node) metric(t *testing.T, sample string) float64 {
	t.Helper()
	v, _ := metricValue(metrics(t, n), sample)
	return v
}

// waitMetric polls a metric of n until cond holds (bounded against a hang).
func (n *node) waitMetric(t *testing.T, what, sample string, cond func(float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		v, ok := metricValue(metrics(t, n), sample)
		if ok && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s never came (%s = %v)\n%s", n.name, what, sample, v, n.logString())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var peerLine = regexp.MustCompile(`(?m)^peer = "([^"]+)"$`)
var localLine = regexp.MustCompile(`(?m)^local = "([^"]+)"$`)

// viaProxy puts an on-path attacker between the two ends of a link made by
// newLink: each end's peer becomes the proxy's address facing it.
func viaProxy(t *testing.T, a, b *node) *udpproxy.Proxy {
	t.Helper()
	local := func(n *node) netip.AddrPort {
		data, err := os.ReadFile(n.cfg)
		if err != nil {
			t.Fatal(err)
		}
		return netip.MustParseAddrPort(localLine.FindStringSubmatch(string(data))[1])
	}
	p, err := udpproxy.New(local(a), local(b), 11)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	for i, n := range []*node{a, b} {
		data, _ := os.ReadFile(n.cfg)
		cfg := peerLine.ReplaceAllString(string(data), fmt.Sprintf(`peer = "%s"`, p.AddrFor(i)))
		cfg = strings.Replace(cfg, "frame_rate = 2000", "frame_rate = 5000", 1)
		if err := os.WriteFile(n.cfg, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// forgedNull is a null-epoch wire frame holding the given TLVs: what anyone
// on the path can send.
func forgedNull(t *testing.T, dir uint8, tlvs ...[]byte) []byte {
	t.Helper()
	b := make([]byte, framer.FrameLen)
	f, _ := framer.View(b)
	var w ichan.AreaWriter
	w.Begin(f.Interaction())
	for _, v := range tlvs {
		w.Put(v[0], v[1:])
	}
	w.Finish()
	s, _ := framer.NewSealer(dir, framer.Options{})
	if err := s.Seal(&f, nil, 1, keys.NullEpoch); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLineAttacksUDP runs issue 11's line attacks against two real `otkd
// run` processes on loopback with an on-path UDP proxy: a forged RESTART
// (v1's channel message and v2's lane beacon), through the proxy and from a
// raw socket spoofing the address A takes for B's; an empty channel segment
// of an unknown incarnation; 300 recorded frames replayed; a cut of both
// directions that the attacker then lifts. Nothing the attacker sent
// changes a session or a key; the link recovers by itself after the cut.
func TestLineAttacksUDP(t *testing.T) {
	if testing.Short() {
		t.Skip("two daemons making seeds through a proxy: not under -short")
	}
	a, b := newLink(t)
	proxy := viaProxy(t, a, b)
	a.start(t)
	b.start(t)
	sA, sB := `otkd_seeds_total{port="east",side="own"}`, `otkd_seeds_total{port="east",side="peer"}`
	sessions := `otkd_sessions_total{port="east"}`
	moreSeeds := func(n float64) {
		t.Helper()
		for _, nd := range []*node{a, b} {
			own, peer := nd.metric(t, sA), nd.metric(t, sB)
			nd.waitMetric(t, "seeds (own)", sA, func(v float64) bool { return v >= own+n })
			nd.waitMetric(t, "seeds (peer)", sB, func(v float64) bool { return v >= peer+n })
		}
	}
	moreSeeds(1)
	sessA, sessB := a.metric(t, sessions), b.metric(t, sessions)

	// A forged RESTART and beacon to A, through the proxy and spoofed; an
	// empty DATA segment of a new incarnation to B.
	beacon := []byte{lane.Type, 0, 0, 0, 0, 0, 1, 0, 0, lane.KindBeacon} // digest, length 1, offset 0, the message
	binary.BigEndian.PutUint32(beacon[1:], lane.Digest([]byte{lane.KindBeacon}))
	restart := forgedNull(t, 1, append([]byte{ichan.TypeData, 0xBA, 0xD0, 0, 1, 0, 0, 0, 0, 0, 0, 3}, 0x07), beacon)
	if err := proxy.Inject(1, restart); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(a.cfg)
	aLocal := netip.MustParseAddrPort(localLine.FindStringSubmatch(string(data))[1])
	switch err := udpproxy.SendSpoofed(proxy.AddrFor(0), aLocal, restart); {
	case errors.Is(err, udpproxy.ErrNoRaw):
		t.Log("no CAP_NET_RAW: the spoofed RESTART is not sent (the proxy's is)")
	case err != nil:
		t.Fatal(err)
	}
	if err := proxy.Inject(0, forgedNull(t, 0, []byte{ichan.TypeData, 0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 0, 0, 0, 3})); err != nil {
		t.Fatal(err)
	}
	moreSeeds(2)
	if a.metric(t, sessions) != sessA || b.metric(t, sessions) != sessB {
		t.Fatalf("a forged message changed the session: A %v → %v, B %v → %v", sessA, a.metric(t, sessions), sessB, b.metric(t, sessions))
	}
	if v := a.metric(t, `otkd_handshake_lane_total{port="east",event="ignored"}`); v < 1 {
		t.Errorf("A counted %v ignored lane messages, want the forged beacon", v)
	}

	// 300 frames A→B recorded, then replayed while A's own are held back.
	// The cut comes first and the recording is read after it: the proxy
	// keeps the last 300 frames it forwarded, so they are the last B
	// received. B holds two keys, and it installs the next one before A
	// switches to it (make before break), so a recording that spans a key
	// switch, or made just before B installs the next key, lies partly under
	// an epoch B no longer holds: those frames are refused for their epoch,
	// not by the window. Such a recording is made again; whatever happens,
	// B opens none of the replayed frames.
	rx := `otkd_frames_total{port="east",dir="rx"}`
	reason := func(r string) float64 { return b.metric(t, `otkd_frames_rejected_total{port="east",reason="`+r+`"}`) }
	for try := 1; ; try++ {
		proxy.Record(0, 300)
		time.Sleep(2 * time.Second) // 300 frames at 5000 frames/s, with room
		proxy.Cut(0, true)
		rec := proxy.Recorded(0)
		proxy.Record(0, 0)
		if len(rec) != 300 {
			t.Fatalf("recorded %d frames", len(rec))
		}
		opened := b.metric(t, rx)
		for { // until the frames in flight have arrived
			time.Sleep(300 * time.Millisecond)
			v := b.metric(t, rx)
			if v == opened {
				break
			}
			opened = v
		}
		replays, epochs := reason("replayed")+reason("too_old"), reason("unknown_epoch")
		for _, f := range rec {
			proxy.Inject(0, f)
		}
		b.waitMetric(t, "300 replayed frames refused", rx, func(float64) bool {
			return reason("replayed")+reason("too_old")+reason("unknown_epoch") >= replays+epochs+300
		})
		if got := b.metric(t, rx); got != opened {
			t.Fatalf("B opened %v replayed frames", got-opened)
		}
		byWindow, byEpoch := reason("replayed")+reason("too_old")-replays, reason("unknown_epoch")-epochs
		proxy.Cut(0, false)
		if byWindow == 300 {
			break
		}
		t.Logf("try %d: %v replayed frames refused by the window, %v for an epoch B no longer holds", try, byWindow, byEpoch)
		if try == 5 {
			t.Fatalf("5 recordings lay partly under an epoch B no longer held")
		}
		moreSeeds(1)
	}

	// The attacker cuts the link for a while, then leaves.
	attempts := a.metric(t, `otkd_handshake_attempts_total{port="east"}`)
	proxy.Cut(0, true)
	proxy.Cut(1, true)
	a.waitMetric(t, "handshake retries during the cut", `otkd_handshake_attempts_total{port="east"}`, func(v float64) bool { return v >= attempts+2 })
	a.waitMetric(t, "the peer reported dead", `otkd_peer_alive{port="east"}`, func(v float64) bool { return v == 0 })
	proxy.Cut(0, false)
	proxy.Cut(1, false)
	moreSeeds(2)
	for _, nd := range []*node{a, b} {
		nd.waitMetric(t, "health ok", `otkd_link_healthy{port="east"}`, func(v float64) bool { return v == 1 })
		var st api.Status
		if code, stderr := nd.otkctlJSON(t, &st, "status"); code != 0 || st.Health != "ok" || st.Ports[0].Health != "ok" {
			t.Errorf("%s status: exit %d %s %+v", nd.name, code, stderr, st)
		}
	}
	waitAgree(t, a, b, 2)
	t.Logf("proxy A→B %+v, B→A %+v", proxy.Stats(0), proxy.Stats(1))
	a.stop(t)
	b.stop(t)
}
