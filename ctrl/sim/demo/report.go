package demo

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/otkd/otkd/ctrl/link/negotiation"
	"github.com/otkd/otkd/ctrl/sim/pair"
	"github.com/otkd/otkd/ctrl/sim/report"
)

// writeReport writes the HTML report of the run (ctrl/sim/report).
func writeReport(path string, p *pair.Pair, rec *recorder, sum *Summary, o Options) error {
	d := &report.Data{
		Title:     "otkd demo",
		Generated: time.Now(),
		Duration:  time.Duration(sum.Seconds * float64(time.Second)),
		Profile:   profileTable(o),
	}
	eve := p.Eve.Score(0.5)
	fps := p.SeedFingerprints()
	rec.mu.Lock()
	d.Verdict, d.VerdictBad = sum.Verdict, !sum.OK
	d.Timeline = append([]report.Sample(nil), rec.samples...)
	d.Switches = append([]report.Switch(nil), rec.switches...)
	for dir := range 2 {
		s := sum.Directions[dir]
		rd := &d.Directions[dir]
		rd.Name = [2]string{"A→B", "B→A"}[dir]
		rd.Rounds, rd.Kept, rd.Disagreement, rd.LeakedBits = s.Rounds, s.KeptBits, s.Disagreement, s.LeakedBits
		rd.Efficiency, rd.StepsPerBlock = s.Efficiency, s.StepsPerBlock
		if s.Seeds > 0 {
			b := s.BoundPerSeed
			rd.RoundsPerSeed = s.RoundsPerSeed
			rd.Bound = report.BoundTerms{Credited: b.Credited, Reconciliation: b.Reconciliation, Tag: b.Tag,
				Amplification: b.Amplification, Seed: b.Output, Slack: b.Slack}
		}
		rd.Mismatches, rd.Failures, rd.KeySwitches = s.Mismatches, s.Failures, s.KeySwitches
		rd.FramesSent, rd.FramesReceived = s.FramesSent, s.FramesReceived
		rd.EveAgreement, rd.EveCorrelation, rd.Eve = eve[dir].Agreement, eve[dir].Correlation, eve[dir].Pairs
		ids := make([]uint32, 0, len(rec.counts[dir]))
		for id, v := range rec.counts[dir] {
			if v[0] != 0 && v[1] != 0 {
				ids = append(ids, id)
			}
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			v := rec.counts[dir][id]
			rd.Counts = append(rd.Counts, [2]float64{float64(v[0] - 1), float64(v[1] - 1)})
		}
		for i, sp := range rec.seeds[dir] {
			match := i < len(fps[dir]) && fps[dir][i][0] != "" && fps[dir][i][0] == fps[dir][i][1]
			rd.Seeds = append(rd.Seeds, report.Seed{
				At: sp.at, Fingerprint: sp.fp, Disagreement: sp.result.Result.Disagreement,
				KeptBits: sp.result.Result.KeptBits, LeakedBits: sp.result.Result.LeakedBits,
				Blocks: sp.result.Result.Blocks, Match: match,
			})
		}
	}
	rec.mu.Unlock()
	if c := sum.Client; c != nil {
		d.Client = &report.Client{Verdict: c.Line, Bad: c.Corrupted > 0 || !c.Explained}
		for i, x := range c.Directions {
			d.Client.Directions[i] = report.ClientDirection{
				Sent: x.Sent, Delivered: x.Delivered, Lost: x.Lost, Corrupted: x.Corrupted + x.OutOfOrder,
				DroppedAtSender: x.DroppedSender, OTNDamaged: x.OTNFramesLost + x.OTNFramesDamaged,
				Goodput: x.GoodputMbps * 1e6,
			}
		}
		d.Profile["client traffic"] = fmt.Sprintf("random Ethernet frames of 60–1514 octets at %.0f %% of the payload capacity, checked at the far end (sequence number, digest)", 100*c.Load)
	}
	var page bytes.Buffer
	if err := report.Write(&page, d); err != nil {
		return fmt.Errorf("demo: --report %s: %w", path, err)
	}
	if err := os.WriteFile(path, page.Bytes(), 0o644); err != nil {
		return reportErrorf("demo: --report %s: %v", path, err)
	}
	return nil
}

func profileTable(o Options) map[string]string {
	p := o.Profile
	np := negotiation.DefaultParams() // the demo's pair runs the defaults
	return map[string]string{
		"levels":           fmt.Sprintf("%g / %g", p.Level0, p.Level1),
		"fibre σ":          fmt.Sprint(p.FibreSigma),
		"local σ":          fmt.Sprintf("uniform in [%g, %g] per round", p.LocalSigmaMin, p.LocalSigmaMax),
		"arrays per round": "2 × 496 bits",
		"block n, α":       fmt.Sprintf("%d rounds, %g", np.N, np.Alpha),
		"reconciliation":   np.Reconciliation.String() + " BCH power sums",
		"privacy bound":    "leftover hash lemma, ε = 2^-64, 0.5 bit credited per kept bit",
		"fibre seed":       fmt.Sprint(o.Seed),
	}
}
