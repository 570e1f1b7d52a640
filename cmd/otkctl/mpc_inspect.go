package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/otkd/otkd/ctrl/keymgmt/mpc/mpcsvc"
)

// inspectOut is what mpc inspect prints of an export: everything but the
// seeds, which appear as fingerprints (as the daemon logs them) and ids.
type inspectOut struct {
	Version       int              `json:"version"`
	What          string           `json:"what"`
	Node          string           `json:"node"`
	Created       time.Time        `json:"created"`
	Pool          string           `json:"pool,omitempty"`
	WindowSeconds float64          `json:"window_seconds,omitempty"`
	Fingerprint   string           `json:"fingerprint"` // of the whole export, as mpc list and recover print it
	Seeds         []inspectSeed    `json:"seeds"`
	Rings         []inspectRing    `json:"rings,omitempty"`
	Bindings      []inspectBinding `json:"bindings,omitempty"`
}

type inspectSeed struct {
	Source      string    `json:"source"`         // link, kept, ring
	Pool        string    `json:"pool,omitempty"` // the keyring pool that held it
	ID          string    `json:"id"`             // the keyring's seed id, hex
	At          time.Time `json:"at,omitzero"`
	Bits        int       `json:"bits"`
	Fingerprint string    `json:"fingerprint"` // the key fingerprint (internal/keys), hex
}

type inspectRing struct {
	Ring   int    `json:"ring"`
	Filled bool   `json:"filled"`
	Epoch  uint64 `json:"epoch"`
	SeedID string `json:"seed_id,omitempty"`
	Keys   uint32 `json:"keys"`
}

type inspectBinding struct {
	Consumer uint64 `json:"consumer,string"` // a 64-bit id: a JSON string
	Ring     int    `json:"ring"`
	Slot     uint32 `json:"slot"`
	Epoch    uint64 `json:"epoch"`
	SeedID   string `json:"seed_id"`
	KeyID    string `json:"key_id"`
}

// mpcInspectCmd parses an export (a file mpc recover --out wrote) and prints
// its summary; it never prints a seed.
func mpcInspectCmd(fs *pflag.FlagSet, std stdio) func([]string) error {
	file := fs.String("file", "", "the recovered export; required")
	asJSON := fs.Bool("json", false, "print JSON")
	return func([]string) error {
		if *file == "" {
			return usagef("mpc inspect: --file is required")
		}
		raw, err := os.ReadFile(*file)
		if err != nil {
			return fmt.Errorf("mpc inspect: %w", err)
		}
		defer clear(raw)
		e, err := mpcsvc.ParseExport(raw)
		if err != nil {
			return dataf("mpc inspect: %s: %v", *file, err) // exit 65, as the package doc says
		}
		defer e.Wipe()
		out := summarise(e, mpcsvc.Fingerprint(raw))
		if *asJSON {
			return writeJSON(std.out, out)
		}
		return printInspect(std.out, &out)
	}
}

func summarise(e *mpcsvc.Export, fp string) inspectOut {
	out := inspectOut{Version: int(e.Version), What: e.What.String(), Node: e.Node, Created: e.Created, Pool: e.Pool,
		WindowSeconds: e.Window.Seconds(), Fingerprint: fp, Seeds: []inspectSeed{}}
	for i := range e.Seeds {
		s := &e.Seeds[i]
		out.Seeds = append(out.Seeds, inspectSeed{Source: s.Source.String(), Pool: s.Pool, ID: fmt.Sprintf("%016x", s.ID), At: s.At,
			Bits: 8 * len(s.Seed), Fingerprint: s.Fingerprint()})
	}
	for _, r := range e.Rings {
		ir := inspectRing{Ring: int(r.Ring), Filled: r.Filled, Epoch: r.Epoch, Keys: r.Keys}
		if r.Filled {
			ir.SeedID = fmt.Sprintf("%016x", r.SeedID)
		}
		out.Rings = append(out.Rings, ir)
	}
	for _, b := range e.Bindings {
		out.Bindings = append(out.Bindings, inspectBinding{Consumer: b.Consumer, Ring: int(b.Ring), Slot: b.Slot, Epoch: b.Epoch,
			SeedID: fmt.Sprintf("%016x", b.SeedID), KeyID: fmt.Sprintf("%016x", b.KeyID)})
	}
	return out
}

func printInspect(w io.Writer, o *inspectOut) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "export\t%s (format %d)\nnode\t%s\ncreated\t%s\nfingerprint\t%s\n", o.What, o.Version, o.Node, when(o.Created), o.Fingerprint)
	if o.Pool != "" {
		fmt.Fprintf(tw, "keyring pool\t%s (window %v)\n", o.Pool, time.Duration(o.WindowSeconds*float64(time.Second)))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d seeds (fingerprints only)\n", len(o.Seeds))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POOL\tSOURCE\tSEED ID\tAT\tBITS\tFINGERPRINT")
	for _, s := range o.Seeds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", orDash(s.Pool), s.Source, s.ID, when(s.At), s.Bits, s.Fingerprint)
	}
	tw.Flush()
	if o.What != "keyring" {
		return nil
	}
	fmt.Fprintf(w, "\n%d rings\n", len(o.Rings))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RING\tFILLED\tEPOCH\tSEED ID\tKEYS")
	for _, r := range o.Rings {
		fmt.Fprintf(tw, "%d\t%v\t%d\t%s\t%d\n", r.Ring, r.Filled, r.Epoch, orDash(r.SeedID), r.Keys)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d bindings\n", len(o.Bindings))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONSUMER\tRING\tSLOT\tEPOCH\tSEED ID\tKEY ID")
	for _, b := range o.Bindings {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%s\n", b.Consumer, b.Ring, b.Slot, b.Epoch, b.SeedID, b.KeyID)
	}
	return tw.Flush()
}
