package mpc

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

func testExport() *Export {
	return &Export{What: ExportKeyring, Created: time.Unix(1700000000, 5).UTC(), Node: "n1", Pool: "default", Window: 4 * time.Second,
		Seeds: []ExportSeed{
			{Source: SeedLink, ID: 7, At: time.Unix(1700000000, 0).UTC(), Seed: bytes.Repeat([]byte{0xa5}, 32)},
			{Source: SeedRing, ID: 9, Seed: bytes.Repeat([]byte{0x5a}, 32)},
		},
		Rings:    []ExportRing{{Ring: 0, Filled: true, Epoch: 42, SeedID: 9, Keys: 8}, {Ring: 1}},
		Bindings: []ExportBinding{{Consumer: 3, Ring: 0, Slot: 2, Epoch: 42, SeedID: 9, KeyID: 0xdead}},
	}
}

func TestExportRoundTrip(t *testing.T) {
	e := testExport()
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseExport(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("got %+v\nwant %+v", got, e)
	}
	if fp := got.Seeds[0].Fingerprint(); len(fp) != 16 {
		t.Fatalf("fingerprint %q", fp)
	}
	clear(b) // the parsed seeds are copies
	if got.Seeds[1].Seed[0] != 0x5a {
		t.Fatal("parsed seed aliases the input")
	}
	got.Wipe()
	if got.Seeds[0].Seed[0] != 0 {
		t.Fatal("Wipe left the seed")
	}
}

func TestExportRefuses(t *testing.T) {
	good, err := testExport().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	resum := func(body []byte) []byte {
		s := sm3.Sum(body)
		return append(body, s[:]...)
	}
	body := good[:len(good)-sm3.Size]
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "magic"},
		{"other file", []byte("-----BEGIN CERTIFICATE-----"), "magic"},
		{"altered", append(bytes.Clone(good[:20]), append([]byte{good[20] ^ 1}, good[21:]...)...), "checksum"},
		{"truncated", good[:len(good)-1], "checksum"},
		{"version", resum(append(append([]byte(exportMagic), 2), body[9:]...)), "version 2"},
		{"what", resum(append(append([]byte(exportMagic), 1, 9), body[10:]...)), "what 9"},
		{"record cut", resum(bytes.Clone(body[:len(body)-3])), "truncated"},
		{"trailing", resum(append(bytes.Clone(body), 0)), "do not fill"},
		{"record type", resum(append(bytes.Clone(body[:len(body)-bindRecLen-1]), append([]byte{4}, body[len(body)-bindRecLen:]...)...)), "unknown type 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseExport(tt.in)
			if !errors.Is(err, ErrExport) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	seedsWithRing := testExport()
	seedsWithRing.What = ExportSeeds
	if _, err := seedsWithRing.Marshal(); !errors.Is(err, ErrExport) {
		t.Fatalf("seeds export with rings: %v", err)
	}
	noNode := testExport()
	noNode.Node = ""
	if _, err := noNode.Marshal(); !errors.Is(err, ErrExport) {
		t.Fatalf("no node: %v", err)
	}
}

func FuzzParseExport(f *testing.F) {
	good, _ := testExport().Marshal()
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseExport(b)
		if err != nil {
			return
		}
		again, err := e.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}
