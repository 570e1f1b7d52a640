package mpcsvc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

func testExport() *Export {
	return &Export{Version: ExportVersion, What: ExportKeyring, Created: time.Unix(1700000000, 5).UTC(), Node: "n1", Pool: "default", Window: 4 * time.Second,
		Seeds: []ExportSeed{
			{Source: SeedLink, Pool: "default", ID: 7, At: time.Unix(1700000000, 0).UTC(), Seed: bytes.Repeat([]byte{0xa5}, 32)},
			{Source: SeedRing, Pool: "default", ID: 9, Seed: bytes.Repeat([]byte{0x5a}, 32)},
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

// testSeedsExport is a seeds export of two pools.
func testSeedsExport() *Export {
	return &Export{Version: ExportVersion, What: ExportSeeds, Created: time.Unix(1700000000, 5).UTC(), Node: "n1",
		Seeds: []ExportSeed{
			{Source: SeedLink, Pool: "default", ID: 7, At: time.Unix(1700000000, 0).UTC(), Seed: bytes.Repeat([]byte{0xa5}, 32)},
			{Source: SeedRing, Pool: "video", ID: 11, Seed: bytes.Repeat([]byte{0x3c}, 16)},
		},
	}
}

func TestExportSeedsOfPools(t *testing.T) {
	e := testSeedsExport()
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
}

// marshalV1 encodes e in format version 1 (no pool in seed records), as
// daemons before several pools wrote it.
func marshalV1(e *Export) []byte {
	b := append([]byte(exportMagic), 1, byte(e.What))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Created.UnixNano()))
	b = append(append(b, byte(len(e.Node))), e.Node...)
	b = append(append(b, byte(len(e.Pool))), e.Pool...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Window))
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Seeds)+len(e.Rings)+len(e.Bindings)))
	for _, s := range e.Seeds {
		b = binary.BigEndian.AppendUint64(append(b, 1, byte(s.Source)), s.ID)
		b = binary.BigEndian.AppendUint64(b, unixNano(s.At))
		b = append(append(b, byte(len(s.Seed))), s.Seed...)
	}
	for _, r := range e.Rings {
		b = binary.BigEndian.AppendUint64(append(b, 2, r.Ring, boolByte(r.Filled)), r.Epoch)
		b = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(b, r.SeedID), r.Keys)
	}
	for _, x := range e.Bindings {
		b = binary.BigEndian.AppendUint32(append(binary.BigEndian.AppendUint64(append(b, 3), x.Consumer), x.Ring), x.Slot)
		b = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(b, x.Epoch), x.SeedID), x.KeyID)
	}
	sum := sm3.Sum(b)
	return append(b, sum[:]...)
}

func TestExportReadsVersion1(t *testing.T) {
	keyringV1 := testExport()
	keyringV1.Version = 1
	seedsV1 := testExport() // a version 1 seeds export carried the only pool in its header
	seedsV1.Version, seedsV1.What, seedsV1.Rings, seedsV1.Bindings = 1, ExportSeeds, nil, nil
	for _, want := range []*Export{keyringV1, seedsV1} {
		got, err := ParseExport(marshalV1(want))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s v1: got %+v\nwant %+v", want.What, got, want)
		}
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
		{"version", resum(append(append([]byte(exportMagic), 3), body[9:]...)), "version 3"},
		{"version 0", resum(append(append([]byte(exportMagic), 0), body[9:]...)), "version 0"},
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
	// Pools: a seeds export's header names none, each seed names its own,
	// and a keyring export holds its own pool's seeds only. Marshal and
	// ParseExport (on a hand-made body) both refuse the others.
	seedsHeaderPool := testSeedsExport()
	seedsHeaderPool.Pool = "default"
	noSeedPool := testSeedsExport()
	noSeedPool.Seeds[1].Pool = ""
	otherPool := testExport()
	otherPool.Seeds[1].Pool = "video"
	noPool := testExport()
	noPool.Pool = ""
	for _, tt := range []struct {
		name string
		e    *Export
		want string
	}{
		{"seeds export with a header pool", seedsHeaderPool, "names no pool"},
		{"seed without a pool", noSeedPool, "seed 000000000000000b: pool of 1 to 255"},
		{"keyring export with another pool's seed", otherPool, `pool "video" in a keyring export of pool "default"`},
		{"keyring export without a pool", noPool, "names its pool"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.e.Marshal(); !errors.Is(err, ErrExport) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Marshal: %v, want %q", err, tt.want)
			}
			if _, err := ParseExport(marshalV2Unchecked(tt.e)); !errors.Is(err, ErrExport) {
				t.Fatalf("ParseExport: %v", err)
			}
		})
	}
}

// marshalV2Unchecked encodes e in format version 2 without Marshal's
// checks, to feed ParseExport what Marshal refuses to write.
func marshalV2Unchecked(e *Export) []byte {
	v1 := marshalV1(e)
	body := append([]byte(nil), v1[:len(exportMagic)]...)
	body = append(body, 2)
	r := v1[len(exportMagic)+1 : len(v1)-sm3.Size]
	head := 1 + 8 + 1 + len(e.Node) + 1 + len(e.Pool) + 8 + 2
	body = append(body, r[:head]...)
	r = r[head:]
	for _, s := range e.Seeds {
		body = append(body, r[:1+1+8+8]...)
		body = append(append(body, byte(len(s.Pool))), s.Pool...)
		n := 1 + 1 + 8 + 8 + 1 + len(s.Seed)
		body = append(body, r[1+1+8+8:n]...)
		r = r[n:]
	}
	body = append(body, r...)
	sum := sm3.Sum(body)
	return append(body, sum[:]...)
}

func FuzzParseExport(f *testing.F) {
	good, _ := testExport().Marshal()
	f.Add(good)
	seeds, _ := testSeedsExport().Marshal()
	f.Add(seeds)
	f.Add(marshalV1(testExport()))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseExport(b)
		if err != nil {
			return
		}
		if e.Version != ExportVersion {
			return // Marshal writes the current version only
		}
		again, err := e.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}
