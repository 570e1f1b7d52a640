package shm

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// spaced formats n with a space every three digits, as docs/shm.md does.
func spaced(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// TestDocInStep checks that docs/shm.md states the offsets this package uses.
func TestDocInStep(t *testing.T) {
	b, err := os.ReadFile("../docs/shm.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for off, field := range map[int]string{
		hdrMagic: "magic", hdrVersion: "layout version", hdrFileSize: "file size", hdrHeaderSize: "header size",
		hdrStatusOff: "status offset", hdrConfigOff: "config offset", hdrIndexOff: "index offset",
		hdrIndexSlots: "index table size", hdrIndexCopy: "index copy size", hdrActiveOff: "active map offset",
		hdrSlotsOff: "slots offset", hdrSlotCount: "slot count", hdrSlotSize: "slot size", hdrCopySize: "slot copy size",
		hdrCreated: "created", hdrSum: "header checksum", hdrWriterPID: "writer pid", hdrHeartbeat: "heartbeat",
		hdrGeneration: "generation",
	} {
		if row := fmt.Sprintf("| %d | %s |", off, field); !strings.Contains(doc, row) {
			t.Errorf("docs/shm.md lacks %q", row)
		}
	}
	for _, n := range []int{1024, 64} {
		g := newGeometry(n)
		for _, v := range []int{g.tableSize, g.indexCopy, g.activeOff, g.slotsOff, g.fileSize} {
			if !strings.Contains(doc, spaced(v)) {
				t.Errorf("docs/shm.md lacks %s (geometry of %d slots)", spaced(v), n)
			}
		}
	}
	for _, s := range []string{fmt.Sprintf("%#016x", Magic), spaced(activeSize), spaced(activeEntries)} {
		if !strings.Contains(doc, s) {
			t.Errorf("docs/shm.md lacks %s", s)
		}
	}
}
