package link

import (
	"github.com/otkd/otkd/dataplane"
	"github.com/otkd/otkd/dataplane/ichan"
	"github.com/otkd/otkd/dataplane/ring"
	"github.com/otkd/otkd/internal/keys"
)

// Port is what a Controller needs of its dataplane port: the boundary
// between the slow path and the frame path. *dataplane.Port is the real
// one (its doc states each method's contract); package linktest has an
// in-memory pair of ports that joins two controllers without frames, FEC
// or noise, so a controller can be tested alone.
//
// The controller is the only caller of these methods on its port, from its
// one goroutine; the port runs them against its TX and RX goroutines
// without locks.
type Port interface {
	// Role is the port's end of the link; the controller sends the
	// direction of that role (A: A→B).
	Role() dataplane.Role
	// Counts is the ring of round counts the RX produces; the controller
	// is its only consumer.
	Counts() *ring.SPSC[dataplane.Count]

	// The session channel and the handshake lane.
	Chan() *ichan.Chan
	NewChan() *ichan.Chan
	ArmChannel(ch *ichan.Chan, from uint64)
	SetLane(msg []byte) error
	LaneRecv(buf []byte) (int, bool)

	// The TX's keys.
	TXCount() uint32
	TXEpoch() keys.Epoch
	TXKeyState() (frames uint32, exhausted bool)
	Limits() (soft, hard uint32)
	ScheduleTX(epoch keys.Epoch, key *keys.Key, at uint32) error
	SwitchSession(epoch keys.Epoch, key *keys.Key, ch *ichan.Chan) error
	SwitchPending() bool

	// The RX's keys and what it proved.
	InstallRX(epoch keys.Epoch, key *keys.Key) error
	InstallRXGen(epoch keys.Epoch, key *keys.Key) (uint64, error)
	RXOpened(gen uint64) bool
	RXAuthenticated() uint64
}

var _ Port = (*dataplane.Port)(nil)

// Sink receives what a Controller reports, on the controller goroutine:
// it must not block (hand slow work to another goroutine). Key material
// in an event (SeedEvent.Seed, KeyEvent.Key, a keyring body) is valid
// during the call only: copy what is kept, and zeroise the copy.
type Sink interface {
	// Seed gets every seed this end makes, as initiator (its direction)
	// or responder (the peer's).
	Seed(SeedEvent)
	// Key gets every session key this end activates (TX) or installs
	// (RX).
	Key(KeyEvent)
	// Count gets every round count the controller takes from the port.
	Count(dataplane.Count)
	// Keyring gets the body of every keyring message (kind 0x08) from
	// the peer.
	Keyring(body []byte)
	// Session is called each time a handshake completes: a new session
	// with the peer, which may have lost the keyring messages of the
	// previous one (the keyring resends what the peer has not
	// acknowledged).
	Session()
}

// Funcs is a Sink made of functions; a nil one ignores its event.
type Funcs struct {
	OnSeed    func(SeedEvent)
	OnKey     func(KeyEvent)
	OnCount   func(dataplane.Count)
	OnKeyring func(body []byte)
	OnSession func()
}

func (f Funcs) Seed(ev SeedEvent) {
	if f.OnSeed != nil {
		f.OnSeed(ev)
	}
}

func (f Funcs) Key(ev KeyEvent) {
	if f.OnKey != nil {
		f.OnKey(ev)
	}
}

func (f Funcs) Count(c dataplane.Count) {
	if f.OnCount != nil {
		f.OnCount(c)
	}
}

func (f Funcs) Keyring(body []byte) {
	if f.OnKeyring != nil {
		f.OnKeyring(body)
	}
}

func (f Funcs) Session() {
	if f.OnSession != nil {
		f.OnSession()
	}
}

// Tee returns a Sink that hands every event to each of sinks in turn
// (nil ones skipped).
func Tee(sinks ...Sink) Sink {
	var t tee
	for _, s := range sinks {
		if s != nil {
			t = append(t, s)
		}
	}
	return t
}

type tee []Sink

func (t tee) Seed(ev SeedEvent) {
	for _, s := range t {
		s.Seed(ev)
	}
}

func (t tee) Key(ev KeyEvent) {
	for _, s := range t {
		s.Key(ev)
	}
}

func (t tee) Count(c dataplane.Count) {
	for _, s := range t {
		s.Count(c)
	}
}

func (t tee) Keyring(body []byte) {
	for _, s := range t {
		s.Keyring(body)
	}
}

func (t tee) Session() {
	for _, s := range t {
		s.Session()
	}
}
