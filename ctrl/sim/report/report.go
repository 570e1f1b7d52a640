// Package report writes the record of one `otkd demo` run as a single
// self-contained HTML page: a summary table per direction, four plots per
// direction drawn as inline SVG, and the seed fingerprints. The page loads
// nothing (no scripts, no fonts, no images, no network), reads offline and
// prints.
//
// The plots, per direction:
//
//  1. the initiator's count against the responder's count of the same
//     rounds, which should hug the diagonal, with the two means;
//  2. the initiator's count against an eavesdropper's estimate of it, which
//     should be a shapeless cloud, with Pearson's r in the caption;
//  3. cumulative seeds against seconds since the start, as a step line;
//  4. the disagreement of each seed before reconciliation, per seed index.
//
// With client traffic (Data.Client), the summary also shows the frames sent,
// delivered, lost and corrupted per direction, the goodput and a verdict.
//
// What a network engineer reads first: a one-line verdict at the top
// (Data.Verdict), and, from the once-a-second samples of Data.Timeline,
// frames per second and the FEC's corrected symbols and uncorrectable
// codewords per second over the run, per direction, with the key switches
// of Data.Switches marked on the time axis and listed (time, direction,
// switch number, 8-bit epoch, fingerprint).
//
// The page shows fingerprints only: Data has no field for key or seed bytes.
// Every string from Data goes through html/template's escaping.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrNoData reports a nil *Data passed to Write.
var ErrNoData = errors.New("report: nil data")

// MaxPoints is the most points one plot draws. Longer slices are thinned
// evenly (every k-th point) and the caption says so; it bounds the page at
// about 1 MB of circles for the two directions.
const MaxPoints = 5000

// Data is everything the page shows about one demo run. The zero value
// renders a page of "no data" notes.
type Data struct {
	Title     string        // page title; "otkd demo" if empty
	Generated time.Time     // when the run ended; left out if zero
	Duration  time.Duration // length of the run; seeds/s is computed from it

	// Profile holds the run's parameters (noise profile, n, α, ...), shown
	// as a table sorted by key.
	Profile map[string]string

	// Directions are 0 = A→B (A initiates) and 1 = B→A.
	Directions [2]Direction

	// Client is the client traffic the run carried; nil when none (the
	// summary then has no client rows).
	Client *Client

	// Verdict is one line on the whole run, shown at the top; Bad marks
	// it red. Empty: no verdict line.
	Verdict    string
	VerdictBad bool

	// Timeline holds samples taken during the run, in time order (at
	// most MaxPoints are drawn); Switches the key switches, in any order.
	Timeline []Sample
	Switches []Switch
}

// Sample is what the link did in one interval of the run, per direction
// (0 = A→B, 1 = B→A): rates over the interval that ends at At.
type Sample struct {
	At               time.Duration // end of the interval, since the start
	FramesPerSecond  [2]float64    // frames the sender sent
	FECCorrected     [2]float64    // RS(255,239) symbols the receiver corrected, per second
	FECUncorrectable [2]float64    // codewords it could not correct, per second
}

// Switch is one switch of a direction's sender to a new session key.
type Switch struct {
	At          time.Duration // since the start
	Direction   int           // 0 = A→B, 1 = B→A
	Number      int           // 1 for the direction's first switch of the run: the full count
	Epoch       uint8         // the frame's 8-bit epoch, which wraps at 256
	Fingerprint string        // the key's fingerprint, never its bytes
}

// Client describes the client traffic of a run: Ethernet frames from a
// generator at each end, checked at the far end.
type Client struct {
	// Verdict is one line on the whole run, e.g. "0 frames lost or
	// corrupted across 14 key switches"; shown under the summary.
	Verdict string
	// Bad marks the verdict red (frames corrupted, or lost without cause).
	Bad bool
	// Directions are 0 = A→B and 1 = B→A.
	Directions [2]ClientDirection
}

// ClientDirection is one direction's client traffic.
type ClientDirection struct {
	Sent, Delivered, Lost, Corrupted uint64  // frames
	DroppedAtSender                  uint64  // tail-dropped, over capacity
	OTNDamaged                       uint64  // OTN frames lost or damaged beyond the FEC at the receiver
	Goodput                          float64 // bit/s delivered
}

// Direction holds the figures of one direction of the link.
type Direction struct {
	// Name is shown as the section title, e.g. "A→B". A name of the form
	// "X→Y" also names the axes (X's count, Y's count); otherwise they
	// read "initiator" and "responder". Empty means "A→B" or "B→A" by
	// position.
	Name string

	Seeds []Seed // every seed of the run, in order

	// Counts are (initiator's count, responder's count) pairs of the same
	// rounds, at most MaxPoints of them (more are thinned).
	Counts [][2]float64
	// Eve are (initiator's count, eavesdropper's estimate) pairs, at most
	// MaxPoints of them (more are thinned).
	Eve [][2]float64

	EveAgreement   float64 // fraction of kept bits Eve's quantised estimate agrees with (0.5 = a coin)
	EveCorrelation float64 // Pearson's r between Eve's estimates and the initiator's counts

	Rounds         int     // counts the initiator collected
	Kept           int     // bits kept after sifting
	Disagreement   float64 // fraction of kept bits that differ before reconciliation
	LeakedBits     int     // bits disclosed by reconciliation
	Mismatches     int     // seeds whose fingerprints differ between the ends
	Failures       int     // failed or abandoned negotiations
	KeySwitches    int     // session keys switched to
	FramesSent     uint64  // frames the initiator sent
	FramesReceived uint64  // frames the responder received

	// Post-processing figures (docs/postprocessing.md): the reconciliation
	// efficiency f, syndrome round trips per block, rounds per seed and the
	// leftover-hash bound's terms per seed (bits). Zero means no figure.
	Efficiency    float64
	StepsPerBlock float64
	RoundsPerSeed float64
	Bound         BoundTerms
}

// BoundTerms are the leftover-hash bound's terms per seed, in bits:
// Credited = Reconciliation + Tag + Amplification + Seed + Slack.
type BoundTerms struct {
	Credited, Reconciliation, Tag, Amplification, Seed, Slack float64
}

// Seed describes one negotiated seed, without its bytes.
type Seed struct {
	At           time.Duration // when it was made, since the start of the run
	Fingerprint  string        // fingerprint both ends compare (e.g. SM3, hex)
	Disagreement float64       // fraction of kept bits that differed before reconciliation
	KeptBits     int           // bits that entered reconciliation
	LeakedBits   int           // bits reconciliation disclosed
	Blocks       int           // reconciliation blocks
	Match        bool          // both ends derived the same fingerprint
}

// Write renders d as one HTML page to w. Nothing is written if rendering
// fails. NaN and infinite numbers are shown as "n/a" in tables and left out
// of plots (the caption counts them); so are fractions of kept bits when
// Kept is 0, Eve's r when Rounds is 0, and seeds/s when Duration is not
// positive. The plots hold at most MaxPoints points each; the fingerprint
// table lists every seed (about 200 bytes each). Write does not modify d
// and is safe for concurrent use.
func Write(w io.Writer, d *Data) error {
	if d == nil {
		return ErrNoData
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, buildPage(d)); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	return nil
}
