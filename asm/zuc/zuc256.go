package zuc

// ZUC-256 (the ZUC design team's "ZUC-256 stream cipher", 2018) is ZUC
// with a 256-bit key and a 184-bit IV: only the key loading differs, the
// initialisation and working steps are those of ZUC-128. This file loads
// the keystream-generation form (constant d0); the MAC forms are not
// implemented.

// Key256Size and IV256Size are the ZUC-256 key and IV lengths in bytes.
// The IV is the packed 23-byte form that gmsm's zuc.NewCipher takes: IV0
// to IV16 are bytes 0..16, and the eight 6-bit values IV17..IV24 of the
// specification fill bytes 17..22 most significant bit first.
const (
	Key256Size = 32
	IV256Size  = 23
)

// d256 is the seven-bit constant d0 of ZUC-256's key loading for keystream
// generation, one value per LFSR cell.
var d256 = [16]uint32{
	0x22, 0x2F, 0x24, 0x2A, 0x6D, 0x40, 0x40, 0x40,
	0x40, 0x40, 0x40, 0x40, 0x40, 0x52, 0x10, 0x30,
}

// load256 returns the sixteen LFSR cells of ZUC-256's key loading:
// s_i = K ‖ d ‖ K ‖ K (8, 7, 8 and 8 bits) with the key, IV and d bytes
// the specification assigns to cell i.
func load256(key *[32]byte, iv *[23]byte) [16]uint32 {
	var v [8]uint32 // IV17..IV24, six bits each
	for i := range v {
		bit := 6 * i // offset in bytes 17..22, from the top
		w := uint32(iv[17+bit/8])<<8 | uint32(iv[min(17+bit/8+1, 22)])
		v[i] = w >> (10 - bit%8) & 0x3F
	}
	k := func(i int) uint32 { return uint32(key[i]) }
	c := func(i int) uint32 { return uint32(iv[i]) }
	cell := func(a, dd, b, e uint32) uint32 { return a<<23 | dd<<16 | b<<8 | e }
	return [16]uint32{
		cell(k(0), d256[0], k(21), k(16)),
		cell(k(1), d256[1], k(22), k(17)),
		cell(k(2), d256[2], k(23), k(18)),
		cell(k(3), d256[3], k(24), k(19)),
		cell(k(4), d256[4], k(25), k(20)),
		cell(c(0), d256[5]|v[0], k(5), k(26)),
		cell(c(1), d256[6]|v[1], k(6), k(27)),
		cell(c(10), d256[7]|v[2], k(7), c(2)),
		cell(k(8), d256[8]|v[3], c(3), c(11)),
		cell(k(9), d256[9]|v[4], c(12), c(4)),
		cell(c(5), d256[10]|v[5], k(10), k(28)),
		cell(k(11), d256[11]|v[6], c(6), c(13)),
		cell(k(12), d256[12]|v[7], c(7), c(14)),
		cell(k(13), d256[13], c(15), c(8)),
		cell(k(14), d256[14]|uint32(key[31]>>4), c(16), c(9)),
		cell(k(15), d256[15]|uint32(key[31]&0x0F), k(30), k(29)),
	}
}

// Init256 keys the generator for ZUC-256 keystream generation with a
// 32-byte key and a 23-byte IV (see IV256Size) and runs the 32
// initialisation rounds and the first (discarded) working round. Word and
// Keystream then give the ZUC-256 keystream. It does not allocate.
func (z *State) Init256(key *[32]byte, iv *[23]byte) {
	z.s = load256(key, iv)
	z.j, z.r1, z.r2 = 0, 0, 0
	for range 32 {
		z.step(true)
	}
	z.step(false)
}

// Init256 is Init for ZUC-256: lane l is keyed with keys[l] and ivs[l] as
// State.Init256 does, on the same kernels as ZUC-128.
func (l *Lanes16) Init256(keys *[16][32]byte, ivs *[16][23]byte) {
	for ln := range 16 {
		cells := load256(&keys[ln], &ivs[ln])
		for i, c := range cells {
			l.s[i][ln] = c
		}
	}
	l.r1, l.r2 = [16]uint32{}, [16]uint32{}
	l.init()
	announceState(l)
}
