// Package boltcheck validates the structure of a bbolt file from its bytes,
// before bbolt maps it. otkd keeps two bbolt files (the key store,
// shm/store, and the controller store, ctrl/keymgmt/kstore), and bbolt
// trusts what it finds in them: a page id beyond a truncated file faults the
// process, a scribbled length panics, and bbolt's own Tx.Check reads through
// the same mapping on a goroutine of its own, where neither can be caught.
// No library checks a bbolt file without mapping it, hence this one.
//
// Check reads nothing but its argument and allocates in proportion to the
// file's page count. A nil error means every page reachable from the meta
// page bbolt will use lies inside the file and parses; it says nothing of
// the records' contents (their own checks, such as a seal or a digest, do).
package boltcheck

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
)

// Check validates the structure of a bbolt file (its whole contents,
// read with pread, not mapped) before bbolt opens it.
//
// bbolt maps the file and trusts what it finds: a page number beyond the end
// of a truncated file is a SIGBUS when bbolt touches it, and a length or
// offset scribbled over in a page is a slice-bounds panic (both crashed the
// daemon). bbolt has no checksums on data pages and its own Tx.Check reads
// through the same mapping, so the store checks the format itself, in
// memory, where a bad offset is an error: the meta page bbolt will use
// (magic, version, FNV-64a checksum, page size), the file size against its
// high-water mark, and every page reachable from the root bucket and the
// freelist: page id, type, overflow and element count inside the file, every
// element's key and value inside its page, nested and inline buckets, no
// page reached twice (no cycles), a bounded depth, freelist ids in range and
// not in use. The layout checked is bbolt 1.x's (go.etcd.io/bbolt,
// internal/common: page.go, meta.go, bucket.go). What it cannot see (keys
// out of order, a record dropped with a consistent page) the store's
// digest catches (see digest in store.go).
func Check(b []byte) error {
	if len(b) == 0 {
		return nil // a new file: bbolt initialises it
	}
	c := &boltChecker{b: b, seen: map[uint64]bool{}}
	return c.check()
}

const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	boltPageHeader   = 16
	boltElemSize     = 16
	boltBucketHeader = 16
	boltMetaSize     = 64 // through the checksum
	boltMetaSumOff   = 56
	boltNoFreelist   = ^uint64(0)
	boltMaxDepth     = 32

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10
	flagBucket   = 0x01 // leaf element: the value is a bucket
)

// bbolt writes in the host's byte order.
var ne = binary.NativeEndian

type boltMeta struct {
	magic, version, pageSize uint32
	root, freelist, pgid     uint64
	txid, sum                uint64
	ok                       bool
}

func readMeta(b []byte) boltMeta {
	if len(b) < boltMetaSize {
		return boltMeta{}
	}
	m := boltMeta{
		magic: ne.Uint32(b[0:]), version: ne.Uint32(b[4:]), pageSize: ne.Uint32(b[8:]),
		root: ne.Uint64(b[16:]), freelist: ne.Uint64(b[32:]), pgid: ne.Uint64(b[40:]),
		txid: ne.Uint64(b[48:]), sum: ne.Uint64(b[boltMetaSumOff:]),
	}
	h := fnv.New64a()
	h.Write(b[:boltMetaSumOff])
	m.ok = m.magic == boltMagic && m.version == boltVersion && m.sum == h.Sum64()
	return m
}

type boltChecker struct {
	b    []byte
	ps   uint64 // page size
	hwm  uint64 // high-water mark: pages in use are below it
	seen map[uint64]bool
}

func (c *boltChecker) check() error {
	// The page size, as bbolt finds it: from the first meta page if it is
	// valid, else from the second one, searched at 1 KiB << i.
	m0 := readMeta(c.b[min(len(c.b), boltPageHeader):])
	ps := uint64(m0.pageSize)
	if !m0.ok {
		ps = 0
		for i := 0; i <= 14 && ps == 0; i++ {
			pos := 1024 << i
			if pos+boltPageHeader+boltMetaSize > len(c.b) {
				break
			}
			if m := readMeta(c.b[pos+boltPageHeader:]); m.ok && uint64(m.pageSize) == uint64(pos) {
				ps = uint64(pos)
			}
		}
	}
	if ps == 0 {
		return fmt.Errorf("no valid meta page (magic, version or checksum wrong in both)")
	}
	if ps < 1024 || ps > 1<<24 || ps&(ps-1) != 0 {
		return fmt.Errorf("page size %d", ps)
	}
	c.ps = ps
	if uint64(len(c.b)) < 2*ps {
		return fmt.Errorf("%d bytes, shorter than its two %d-byte meta pages (truncated)", len(c.b), ps)
	}
	m1 := readMeta(c.b[ps+boltPageHeader:])
	// bbolt's choice: the meta with the higher txid if it is valid, else
	// the other (DB.meta).
	a, o := m0, m1
	if m1.txid > m0.txid {
		a, o = m1, m0
	}
	m := a
	if !a.ok {
		m = o
	}
	if !m.ok {
		return fmt.Errorf("no valid meta page")
	}
	if uint64(m.pageSize) != ps {
		return fmt.Errorf("meta page size %d, the file's is %d", m.pageSize, ps)
	}
	for _, id := range []uint64{0, 1} {
		if f := ne.Uint16(c.b[id*ps+8:]); f != flagMeta {
			return fmt.Errorf("page %d: flags %#x, want a meta page", id, f)
		}
	}
	c.hwm = m.pgid
	if c.hwm < 3 || c.hwm > uint64(len(c.b))/ps {
		return fmt.Errorf("%d bytes: its meta page says %d pages of %d bytes (truncated)", len(c.b), c.hwm, ps)
	}
	c.seen[0], c.seen[1] = true, true
	if err := c.tree(m.root, 0); err != nil {
		return fmt.Errorf("root bucket: %w", err)
	}
	if m.freelist != boltNoFreelist {
		if err := c.freelist(m.freelist); err != nil {
			return fmt.Errorf("freelist: %w", err)
		}
	}
	return nil
}

// page returns the bytes of page id and its overflow pages, checked to lie
// below the high-water mark, to be of one of the wanted types and not to be
// reached before.
func (c *boltChecker) page(id uint64, want ...uint16) ([]byte, error) {
	if id < 2 || id >= c.hwm {
		return nil, fmt.Errorf("page %d outside 2..%d", id, c.hwm-1)
	}
	p := c.b[id*c.ps:]
	if got := ne.Uint64(p); got != id {
		return nil, fmt.Errorf("page %d says it is page %d", id, got)
	}
	flags, ovf := ne.Uint16(p[8:]), uint64(ne.Uint32(p[12:]))
	if ovf >= c.hwm-id {
		return nil, fmt.Errorf("page %d: %d overflow pages beyond the high-water mark %d", id, ovf, c.hwm)
	}
	okType := false
	for _, w := range want {
		okType = okType || flags == w
	}
	if !okType {
		return nil, fmt.Errorf("page %d: flags %#x, want %#x", id, flags, want)
	}
	for i := id; i <= id+ovf; i++ {
		if c.seen[i] {
			return nil, fmt.Errorf("page %d reached twice", i)
		}
		c.seen[i] = true
	}
	return p[:(1+ovf)*c.ps], nil
}

// tree checks the page tree of a bucket rooted at page id.
func (c *boltChecker) tree(id uint64, depth int) error {
	if depth > boltMaxDepth {
		return fmt.Errorf("page %d: tree deeper than %d", id, boltMaxDepth)
	}
	p, err := c.page(id, flagBranch, flagLeaf)
	if err != nil {
		return err
	}
	if ne.Uint16(p[8:]) == flagLeaf {
		return c.leaf(p, fmt.Sprintf("page %d", id), depth)
	}
	n := uint64(ne.Uint16(p[10:]))
	if n == 0 || boltPageHeader+n*boltElemSize > uint64(len(p)) {
		return fmt.Errorf("page %d: %d branch elements", id, n)
	}
	for i := uint64(0); i < n; i++ {
		e := boltPageHeader + i*boltElemSize
		pos, ksize := uint64(ne.Uint32(p[e:])), uint64(ne.Uint32(p[e+4:]))
		if e+pos+ksize > uint64(len(p)) {
			return fmt.Errorf("page %d: branch element %d: key at %d+%d beyond the page", id, i, e+pos, ksize)
		}
		if err := c.tree(ne.Uint64(p[e+8:]), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// leaf checks a leaf page (p starts with its page header): its elements
// lie inside it and its buckets are sound.
func (c *boltChecker) leaf(p []byte, where string, depth int) error {
	if len(p) < boltPageHeader {
		return fmt.Errorf("%s: %d bytes, no page header", where, len(p))
	}
	n := uint64(ne.Uint16(p[10:]))
	if boltPageHeader+n*boltElemSize > uint64(len(p)) {
		return fmt.Errorf("%s: %d leaf elements do not fit", where, n)
	}
	for i := uint64(0); i < n; i++ {
		e := boltPageHeader + i*boltElemSize
		flags := ne.Uint32(p[e:])
		pos, ksize, vsize := uint64(ne.Uint32(p[e+4:])), uint64(ne.Uint32(p[e+8:])), uint64(ne.Uint32(p[e+12:]))
		end := e + pos + ksize + vsize
		if end > uint64(len(p)) {
			return fmt.Errorf("%s: leaf element %d: key and value at %d+%d+%d beyond the page", where, i, e+pos, ksize, vsize)
		}
		if flags&flagBucket == 0 {
			continue
		}
		v := p[e+pos+ksize : end]
		if len(v) < boltBucketHeader {
			return fmt.Errorf("%s: leaf element %d: bucket value of %d bytes", where, i, len(v))
		}
		if depth >= boltMaxDepth {
			return fmt.Errorf("%s: buckets nested deeper than %d", where, boltMaxDepth)
		}
		var err error
		if root := ne.Uint64(v); root == 0 {
			inline := v[boltBucketHeader:]
			if len(inline) < boltPageHeader || ne.Uint16(inline[8:]) != flagLeaf {
				return fmt.Errorf("%s: leaf element %d: inline bucket is not a leaf page", where, i)
			}
			err = c.leaf(inline, fmt.Sprintf("%s: inline bucket %d", where, i), depth+1)
		} else {
			err = c.tree(root, depth+1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// freelist checks the freelist page and its ids: in range, once each, and
// not a page in use.
func (c *boltChecker) freelist(id uint64) error {
	p, err := c.page(id, flagFreelist)
	if err != nil {
		return err
	}
	n, first := uint64(ne.Uint16(p[10:])), uint64(boltPageHeader)
	if n == 0xFFFF {
		n, first = ne.Uint64(p[boltPageHeader:]), boltPageHeader+8
	}
	if n > (uint64(len(p))-first)/8 {
		return fmt.Errorf("page %d: %d free ids do not fit", id, n)
	}
	free := map[uint64]bool{}
	for i := uint64(0); i < n; i++ {
		f := ne.Uint64(p[first+8*i:])
		switch {
		case f < 2 || f >= c.hwm:
			return fmt.Errorf("page %d: free page %d outside 2..%d", id, f, c.hwm-1)
		case free[f]:
			return fmt.Errorf("page %d: page %d free twice", id, f)
		case c.seen[f]:
			return fmt.Errorf("page %d: page %d is free and in use", id, f)
		}
		free[f] = true
	}
	return nil
}
