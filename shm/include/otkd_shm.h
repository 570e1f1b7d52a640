/*
 * otkd_shm.h — single-header C reader of the otkd shared-memory key store,
 * layout v2. See docs/shm.md for the byte map; Go package
 * github.com/otkd/otkd/shm is the writer and the reference reader, and its
 * tests compile this header and compare what it reads.
 *
 * Contract (the same as the Go reader):
 *  - the file is mapped read-only; the reader never writes to it;
 *  - every shared word is read with a 64-bit __atomic_load_n(..., ACQUIRE)
 *    (plain loads may tear or be reordered by the compiler);
 *  - every read is bounded (OTKD_SHM_TRIES tries) and returns either a
 *    consistent copy or an error, never a half-written key, never a hang;
 *  - every record is checked before it is returned (length 1..64, crc64):
 *    a record that fails is treated like a torn copy (tried again) and, if it
 *    keeps failing, the read ends in OTKD_SHM_ECHECKSUM with the caller's key
 *    zeroed: a damaged record is never returned;
 *  - a failed lookup tests the writer's liveness lock with F_OFD_GETLK, which
 *    never takes a lock (so a reader can never keep the writer from
 *    starting): OTKD_SHM_EWRITERGONE when no writer holds it.
 * Functions are thread-safe on a shared otkd_shm handle except open/close.
 * An otkd_shm handle holds the CRC tables (about 33 KiB): give it static or
 * heap storage in threads with small stacks.
 * Key bytes land in the caller's otkd_shm_key: zero it (otkd_shm_key_zero)
 * when done and never log it; log its fingerprint (otkd_shm_key_fingerprint:
 * the same 16 hex digits `otkctl keys` prints, defined in docs/shm.md,
 * "Key fingerprint") or its id instead.
 *
 * Errors: OTKD_SHM_ENOTFOUND (no such key, the writer alive) and
 * OTKD_SHM_EWRITERGONE (a lookup failed and no writer holds the map: otkd
 * stopped or replaced the file; reopen once it runs again) are distinct
 * results; a key found is returned even when the writer is gone.
 *
 * Linux, little-endian, GCC or Clang (uses __atomic builtins).
 */
#ifndef OTKD_SHM_H
#define OTKD_SHM_H

/* Needs POSIX/BSD declarations (pread, fcntl, O_CLOEXEC, MADV_DONTDUMP):
 * include this header first, or build with -std=gnu11 / -D_GNU_SOURCE. */
#if !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define OTKD_SHM_MAGIC 0x004d4853444b544fULL /* "OTKDSHM\0" little-endian */
#define OTKD_SHM_VERSION 2
#define OTKD_SHM_HEADER_SIZE 4096
#define OTKD_SHM_REGION_COPY 64
#define OTKD_SHM_COPY_SIZE 128
#define OTKD_SHM_SLOT_SIZE 256
#define OTKD_SHM_INDEX_HEAD 64
#define OTKD_SHM_ENTRY_SIZE 16
#define OTKD_SHM_MAX_SLOTS 65536
#define OTKD_SHM_MAX_KEY 64
#define OTKD_SHM_TRIES 64
/* The writer's liveness lock: an OFD write lock on these bytes of the map. */
#define OTKD_SHM_LIVE_OFF 0
#define OTKD_SHM_LIVE_LEN 8
#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36 /* Linux >= 3.15; glibc declares it only with _GNU_SOURCE */
#endif

/* Header word offsets (bytes). */
enum {
	OTKD_SHM_H_MAGIC = 0, OTKD_SHM_H_VERSION = 8, OTKD_SHM_H_FILE_SIZE = 16,
	OTKD_SHM_H_HEADER_SIZE = 24, OTKD_SHM_H_STATUS_OFF = 32, OTKD_SHM_H_CONFIG_OFF = 40,
	OTKD_SHM_H_INDEX_OFF = 48, OTKD_SHM_H_INDEX_SLOTS = 56, OTKD_SHM_H_INDEX_COPY = 64,
	OTKD_SHM_H_ACTIVE_OFF = 72, OTKD_SHM_H_SLOTS_OFF = 80, OTKD_SHM_H_SLOT_COUNT = 88,
	OTKD_SHM_H_SLOT_SIZE = 96, OTKD_SHM_H_COPY_SIZE = 104, OTKD_SHM_H_CREATED = 112, OTKD_SHM_H_SUM = 120,
	OTKD_SHM_H_WRITER_PID = 128, OTKD_SHM_H_HEARTBEAT = 136, OTKD_SHM_H_GENERATION = 144
};

/* Index tables (hash, latched); the active map is separate (direct). */
enum { OTKD_SHM_TBL_ID = 0, OTKD_SHM_TBL_BINDING = 1, OTKD_SHM_TBL_ACTIVE = 2 };
#define OTKD_SHM_ACTIVE_ENTRIES (1u << 17)

/* Results. */
enum {
	OTKD_SHM_OK = 0,
	OTKD_SHM_ENOTFOUND = -1,
	OTKD_SHM_EWRITERGONE = -2,
	OTKD_SHM_EBUSY = -3,
	OTKD_SHM_EINCOMPATIBLE = -4,
	OTKD_SHM_ESYS = -5,
	OTKD_SHM_ECHECKSUM = -6
};

enum { OTKD_SHM_DIR_A_TO_B = 0, OTKD_SHM_DIR_B_TO_A = 1 };
enum {
	OTKD_SHM_STATE_EMPTY = 0, OTKD_SHM_STATE_PENDING = 1, OTKD_SHM_STATE_ACTIVE = 2,
	OTKD_SHM_STATE_SUPERSEDED = 3
};
enum { OTKD_SHM_ALG_ZUC128 = 1, OTKD_SHM_ALG_ZUC256 = 2, OTKD_SHM_ALG_SM4 = 3 };

typedef struct {
	uint64_t id;
	uint16_t port;
	uint8_t dir, epoch, state, alg, len;
	int64_t valid_from, valid_to; /* unix ns, 0 = unbounded */
	uint64_t consumer, serial, sum;
	uint8_t key[OTKD_SHM_MAX_KEY];
} otkd_shm_key;

typedef struct {
	uint64_t generation, writer_pid, serial;
	uint32_t keys, active;
	int64_t updated_at;
	uint32_t health, code;
} otkd_shm_status;

typedef struct {
	uint64_t serial, node_id;
	int64_t rekey_interval_ns, key_lifetime_ns, grace_ns;
	uint32_t default_alg, flags;
} otkd_shm_config;

typedef struct {
	int fd;
	const uint8_t *base;
	size_t size;
	uint64_t slots, table_size, table_bits;
	uint64_t status_off, config_off, index_off, index_copy, active_off, slots_off;
	uint64_t crc_table[8][256];  /* slicing-by-8: [0] is the byte-wise table */
	uint64_t crc_adv56[8][256];  /* [k][b]: state b << 8k advanced over 56 zero bytes */
} otkd_shm;

static inline uint64_t otkd_shm__load(const otkd_shm *s, uint64_t off)
{
	return __atomic_load_n((const uint64_t *)(const void *)(s->base + off), __ATOMIC_ACQUIRE);
}

static inline uint64_t otkd_shm__le64(const uint8_t *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

static inline void otkd_shm__crc_init(uint64_t t[8][256], uint64_t adv[8][256])
{
	for (int i = 0; i < 256; i++) {
		uint64_t c = (uint64_t)i;
		for (int j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ 0xC96C5795D7870F42ULL : c >> 1;
		t[0][i] = c;
	}
	for (int k = 1; k < 8; k++)
		for (int i = 0; i < 256; i++)
			t[k][i] = t[0][(uint8_t)t[k - 1][i]] ^ (t[k - 1][i] >> 8);
	for (int k = 0; k < 8; k++)
		for (int b = 0; b < 256; b++) {
			uint64_t c = (uint64_t)b << (8 * k);
			for (int n = 0; n < 56; n++)
				c = t[0][(uint8_t)c] ^ (c >> 8);
			adv[k][b] = c;
		}
}

/* crc64 with the ECMA polynomial, reflected, init and final xor all ones —
 * Go's crc64.Checksum(b, crc64.MakeTable(crc64.ECMA)). */
static inline uint64_t otkd_shm__crc64(const uint64_t t[8][256], const uint8_t *p, size_t n)
{
	uint64_t c = ~0ULL;
	for (size_t i = 0; i < n; i++)
		c = t[0][(uint8_t)c ^ p[i]] ^ (c >> 8);
	return ~c;
}

/* Advances crc state c over the 8 little-endian bytes of w (slicing-by-8). */
static inline uint64_t otkd_shm__crc_word(const uint64_t t[8][256], uint64_t c, uint64_t w)
{
	c ^= w;
	return t[7][(uint8_t)c] ^ t[6][(uint8_t)(c >> 8)] ^ t[5][(uint8_t)(c >> 16)] ^ t[4][(uint8_t)(c >> 24)] ^
	       t[3][(uint8_t)(c >> 32)] ^ t[2][(uint8_t)(c >> 40)] ^ t[1][(uint8_t)(c >> 48)] ^ t[0][(uint8_t)(c >> 56)];
}

/* The same crc over record words 0..13, in two independent chains (words
 * 0..6 and 7..13) joined by advancing the first over 56 zero bytes: the crc
 * is linear, and two chains halve the dependent table loads. */
static inline uint64_t otkd_shm__crc64_record(const otkd_shm *s, const uint64_t w[14])
{
	uint64_t a = ~0ULL, b = 0;
	for (int i = 0; i < 7; i++) {
		a = otkd_shm__crc_word(s->crc_table, a, w[i]);
		b = otkd_shm__crc_word(s->crc_table, b, w[7 + i]);
	}
	const uint64_t(*t)[256] = s->crc_adv56;
	a = t[0][(uint8_t)a] ^ t[1][(uint8_t)(a >> 8)] ^ t[2][(uint8_t)(a >> 16)] ^ t[3][(uint8_t)(a >> 24)] ^
	    t[4][(uint8_t)(a >> 32)] ^ t[5][(uint8_t)(a >> 40)] ^ t[6][(uint8_t)(a >> 48)] ^ t[7][(uint8_t)(a >> 56)];
	return ~(a ^ b);
}

/* A record a reader may return: all zero (an empty slot), or a key id, a
 * length of 1..64 and a checksum over words 0..13 that matches word 14. */
static inline int otkd_shm__record_ok(const otkd_shm *s, const uint64_t r[15])
{
	if (r[0] == 0) {
		for (int i = 1; i < 15; i++)
			if (r[i])
				return 0;
		return 1;
	}
	uint8_t len = (uint8_t)(r[1] >> 48);
	if (len == 0 || len > OTKD_SHM_MAX_KEY)
		return 0;
	return otkd_shm__crc64_record(s, r) == r[14];
}

static inline const char *otkd_shm_strerror(int rc)
{
	switch (rc) {
	case OTKD_SHM_OK: return "ok";
	case OTKD_SHM_ENOTFOUND: return "key not found";
	case OTKD_SHM_EWRITERGONE: return "writer gone";
	case OTKD_SHM_EBUSY: return "busy, no consistent copy after bounded retries";
	case OTKD_SHM_EINCOMPATIBLE: return "incompatible file";
	case OTKD_SHM_ESYS: return "system call failed (why and errno say which)";
	case OTKD_SHM_ECHECKSUM: return "key record damaged (bad length or checksum)";
	}
	return "unknown error";
}

/* Fills why with the failed step, the path and the system error (errno
 * err), with a hint for the usual causes; keeps errno. */
static inline void otkd_shm__sys_why(char *why, size_t whylen, const char *step, const char *path, int err)
{
	if (!why || !whylen)
		return;
	int n = snprintf(why, whylen, "%s %s: %s", step, path, strerror(err));
	if (n < 0 || (size_t)n >= whylen)
		return;
	struct stat st;
	if (err == ENOENT) {
		snprintf(why + n, whylen - (size_t)n, " (otkd creates the map when it starts: is it running, "
			 "and is this its [shm] path?)");
	} else if ((err == EACCES || err == EPERM) && stat(path, &st) == 0) {
		/* Name the group that may read it: plugins join it ([shm] group). */
		struct group gr, *res = NULL;
		char buf[1024];
		const char *name = getgrgid_r(st.st_gid, &gr, buf, sizeof buf, &res) == 0 && res ? res->gr_name : NULL;
		if (name)
			snprintf(why + n, whylen - (size_t)n, " (owner uid %u, group %s, mode %04o: run the plugin in group %s)",
				 (unsigned)st.st_uid, name, (unsigned)(st.st_mode & 07777), name);
		else
			snprintf(why + n, whylen - (size_t)n, " (owner uid %u, gid %u, mode %04o: run the plugin in gid %u)",
				 (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid);
	}
	errno = err;
}

/* otkd_shm_open maps path read-only and validates the header. On
 * OTKD_SHM_EINCOMPATIBLE, why (if not NULL) names the field; on
 * OTKD_SHM_ESYS it names the step, the path and the system error
 * (strerror of errno, which is kept), with a hint: for a missing file
 * whether otkd runs, for a permission problem the file's group to join. */
static inline int otkd_shm_open(otkd_shm *s, const char *path, char *why, size_t whylen)
{
	uint8_t h[OTKD_SHM_HEADER_SIZE];
	struct stat st;
	memset(s, 0, sizeof *s);
	s->fd = -1;
	if (why && whylen)
		why[0] = 0;
#define OTKD_SHM__BAD(...) do { if (why) snprintf(why, whylen, __VA_ARGS__); close(fd); return OTKD_SHM_EINCOMPATIBLE; } while (0)
#define OTKD_SHM__SYS(step) do { int e_ = errno; if (fd >= 0) close(fd); otkd_shm__sys_why(why, whylen, step, path, e_); \
	return OTKD_SHM_ESYS; } while (0)
	/* O_NONBLOCK: a FIFO at the path is refused below, never waited on. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		OTKD_SHM__SYS("open");
	if (fstat(fd, &st) < 0)
		OTKD_SHM__SYS("fstat");
	if (!S_ISREG(st.st_mode))
		OTKD_SHM__BAD("file type is mode %#o, want a regular file", (unsigned)st.st_mode);
	if (st.st_size < OTKD_SHM_HEADER_SIZE)
		OTKD_SHM__BAD("file size is %lld bytes, want at least the %d-byte header", (long long)st.st_size, OTKD_SHM_HEADER_SIZE);
	ssize_t got = pread(fd, h, sizeof h, 0);
	if (got < 0)
		OTKD_SHM__SYS("read");
	if (got != (ssize_t)sizeof h) { /* shrunk since fstat */
		errno = EIO;
		if (why)
			snprintf(why, whylen, "read %s: %zd of the %d header bytes (the file shrank)", path, got, OTKD_SHM_HEADER_SIZE);
		close(fd);
		return OTKD_SHM_ESYS;
	}
	if (otkd_shm__le64(h + OTKD_SHM_H_MAGIC) != OTKD_SHM_MAGIC)
		OTKD_SHM__BAD("magic is %#llx, want %#llx", (unsigned long long)otkd_shm__le64(h), OTKD_SHM_MAGIC);
	if (otkd_shm__le64(h + OTKD_SHM_H_VERSION) != OTKD_SHM_VERSION)
		OTKD_SHM__BAD("layout version is %llu, want %d", (unsigned long long)otkd_shm__le64(h + OTKD_SHM_H_VERSION), OTKD_SHM_VERSION);
	otkd_shm__crc_init(s->crc_table, s->crc_adv56);
	if (otkd_shm__crc64(s->crc_table, h, OTKD_SHM_H_SUM) != otkd_shm__le64(h + OTKD_SHM_H_SUM))
		OTKD_SHM__BAD("header checksum mismatch (header corrupt)");
	uint64_t n = otkd_shm__le64(h + OTKD_SHM_H_SLOT_COUNT);
	if (n == 0 || n > OTKD_SHM_MAX_SLOTS)
		OTKD_SHM__BAD("slot count is %llu, want 1..%d", (unsigned long long)n, OTKD_SHM_MAX_SLOTS);
	/* Recompute the geometry of layout v1 and require the header to agree. */
	uint64_t ts = 16, bits = 4;
	while (ts < 2 * n) {
		ts *= 2;
		bits++;
	}
	uint64_t status_off = OTKD_SHM_HEADER_SIZE, config_off = status_off + 2 * OTKD_SHM_REGION_COPY;
	uint64_t index_off = config_off + 2 * OTKD_SHM_REGION_COPY;
	uint64_t index_copy = OTKD_SHM_INDEX_HEAD + 2 * ts * OTKD_SHM_ENTRY_SIZE;
	uint64_t active_off = (index_off + 2 * index_copy + 4095) / 4096 * 4096;
	uint64_t slots_off = active_off + 8 * (uint64_t)OTKD_SHM_ACTIVE_ENTRIES;
	uint64_t file_size = (slots_off + n * OTKD_SHM_SLOT_SIZE + 4095) / 4096 * 4096;
	const struct { const char *name; int off; uint64_t want; } chk[] = {
		{"header size", OTKD_SHM_H_HEADER_SIZE, OTKD_SHM_HEADER_SIZE},
		{"status offset", OTKD_SHM_H_STATUS_OFF, status_off},
		{"config offset", OTKD_SHM_H_CONFIG_OFF, config_off},
		{"index offset", OTKD_SHM_H_INDEX_OFF, index_off},
		{"index table size", OTKD_SHM_H_INDEX_SLOTS, ts},
		{"index copy size", OTKD_SHM_H_INDEX_COPY, index_copy},
		{"active map offset", OTKD_SHM_H_ACTIVE_OFF, active_off},
		{"slots offset", OTKD_SHM_H_SLOTS_OFF, slots_off},
		{"slot size", OTKD_SHM_H_SLOT_SIZE, OTKD_SHM_SLOT_SIZE},
		{"slot copy size", OTKD_SHM_H_COPY_SIZE, OTKD_SHM_COPY_SIZE},
		{"declared file size", OTKD_SHM_H_FILE_SIZE, file_size},
	};
	for (size_t i = 0; i < sizeof chk / sizeof chk[0]; i++)
		if (otkd_shm__le64(h + chk[i].off) != chk[i].want)
			OTKD_SHM__BAD("%s is %llu, want %llu", chk[i].name,
				(unsigned long long)otkd_shm__le64(h + chk[i].off), (unsigned long long)chk[i].want);
	if ((uint64_t)st.st_size < file_size)
		OTKD_SHM__BAD("file size is %lld bytes (truncated), want %llu", (long long)st.st_size, (unsigned long long)file_size);
#undef OTKD_SHM__BAD
	void *p = mmap(NULL, file_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		OTKD_SHM__SYS("mmap");
#undef OTKD_SHM__SYS
#ifdef MADV_DONTDUMP
	madvise(p, file_size, MADV_DONTDUMP);
#endif
	s->fd = fd;
	s->base = (const uint8_t *)p;
	s->size = file_size;
	s->slots = n;
	s->table_size = ts;
	s->table_bits = bits;
	s->status_off = status_off;
	s->config_off = config_off;
	s->index_off = index_off;
	s->index_copy = index_copy;
	s->active_off = active_off;
	s->slots_off = slots_off;
	return OTKD_SHM_OK;
}

static inline void otkd_shm_close(otkd_shm *s)
{
	if (s->base)
		munmap((void *)s->base, s->size);
	if (s->fd >= 0)
		close(s->fd);
	s->base = NULL;
	s->fd = -1;
}

/* otkd_shm_writer_alive: 1 if a writer holds the liveness lock (an OFD write
 * lock on bytes 0..7). F_OFD_GETLK only asks; it never takes a lock. If the
 * kernel cannot answer, the writer is assumed alive. */
static inline int otkd_shm_writer_alive(const otkd_shm *s)
{
	struct flock lk;
	memset(&lk, 0, sizeof lk);
	lk.l_type = F_RDLCK;
	lk.l_whence = SEEK_SET;
	lk.l_start = OTKD_SHM_LIVE_OFF;
	lk.l_len = OTKD_SHM_LIVE_LEN;
	if (fcntl(s->fd, F_OFD_GETLK, &lk) < 0)
		return 1;
	return lk.l_type == F_WRLCK;
}

static inline void otkd_shm_key_zero(otkd_shm_key *k)
{
	volatile uint8_t *p = (volatile uint8_t *)k;
	for (size_t i = 0; i < sizeof *k; i++)
		p[i] = 0;
}

/* Seqcount latch: two copies, each with its own sequence. The writer always
 * finishes copy 0 before it starts copy 1, so copy 0, when stable, is the
 * newer: read copy 0, accept it if its sequence was even and unchanged,
 * else copy 1 the same way. */
/* Copies nw words after the sequence at off into w; 1 if consistent. */
static inline int otkd_shm__read_copy(const otkd_shm *s, uint64_t off, uint64_t *w, int nw)
{
	uint64_t q = otkd_shm__load(s, off);
	if (q & 1)
		return 0;
	for (int i = 0; i < nw; i++)
		w[i] = otkd_shm__load(s, off + 8 + 8 * (uint64_t)i);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n((const uint64_t *)(const void *)(s->base + off), __ATOMIC_RELAXED) == q;
}

static inline int otkd_shm__read_latch(const otkd_shm *s, uint64_t off, uint64_t size, uint64_t *w, int nw)
{
	return otkd_shm__read_copy(s, off, w, nw) || otkd_shm__read_copy(s, off + size, w, nw);
}

static inline void otkd_shm__decode(const uint64_t r[15], otkd_shm_key *k)
{
	k->id = r[0];
	k->port = (uint16_t)r[1];
	k->dir = (uint8_t)(r[1] >> 16);
	k->epoch = (uint8_t)(r[1] >> 24);
	k->state = (uint8_t)(r[1] >> 32);
	k->alg = (uint8_t)(r[1] >> 40);
	k->len = (uint8_t)(r[1] >> 48);
	k->valid_from = (int64_t)r[2];
	k->valid_to = (int64_t)r[3];
	k->consumer = r[4];
	k->serial = r[5];
	memcpy(k->key, &r[6], 64);
	k->sum = r[14];
}

/* otkd_shm_key_verify recomputes the record checksum (crc64 ECMA over
 * record words 1..14, little-endian) and checks the length: OTKD_SHM_OK or
 * OTKD_SHM_ECHECKSUM. The read functions run the same check on every record
 * before they return it; this is for a key obtained some other way. */
static inline int otkd_shm_key_verify(const otkd_shm *s, const otkd_shm_key *k)
{
	uint64_t r[14];
	r[0] = k->id;
	r[1] = (uint64_t)k->port | (uint64_t)k->dir << 16 | (uint64_t)k->epoch << 24 |
	       (uint64_t)k->state << 32 | (uint64_t)k->alg << 40 | (uint64_t)k->len << 48;
	r[2] = (uint64_t)k->valid_from;
	r[3] = (uint64_t)k->valid_to;
	r[4] = k->consumer;
	r[5] = k->serial;
	memcpy(&r[6], k->key, 64);
	uint64_t c = otkd_shm__crc64_record(s, r);
	memset(r, 0, sizeof r);
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* keep the wipe */
	return c == k->sum && k->id != 0 && k->len >= 1 && k->len <= OTKD_SHM_MAX_KEY ? OTKD_SHM_OK : OTKD_SHM_ECHECKSUM;
}

/* Results of otkd_shm__read_slot. */
enum { OTKD_SHM__TORN = 0, OTKD_SHM__GOOD = 1, OTKD_SHM__DAMAGED = 2 };

/* Copies a consistent copy of slot i that passes the record check into k
 * (copy 0, else copy 1): OTKD_SHM__GOOD; OTKD_SHM__DAMAGED if a copy was stable
 * but failed the check (damage); OTKD_SHM__TORN if neither copy was stable. */
static inline int otkd_shm__read_slot(const otkd_shm *s, uint64_t i, otkd_shm_key *k)
{
	uint64_t r[15];
	int res = OTKD_SHM__TORN;
	for (int c = 0; c < 2; c++) {
		if (!otkd_shm__read_copy(s, s->slots_off + i * OTKD_SHM_SLOT_SIZE + (uint64_t)c * OTKD_SHM_COPY_SIZE, r, 15))
			continue;
		if (otkd_shm__record_ok(s, r)) {
			otkd_shm__decode(r, k);
			res = OTKD_SHM__GOOD;
			break;
		}
		res = OTKD_SHM__DAMAGED;
	}
	memset(r, 0, sizeof r);
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* keep the wipe */
	return res;
}

/* Ends a lookup whose tries found no good copy: damage (a stable copy that
 * failed its check) is OTKD_SHM_ECHECKSUM, else busy or writer gone. */
static inline int otkd_shm__fail_tries(const otkd_shm *s, otkd_shm_key *k, int bad);

/* One index lookup on a stable copy: 1 found, 0 absent, -1 unstable. */
static inline int otkd_shm__lookup(const otkd_shm *s, int tbl, uint64_t key, uint64_t *slot)
{
	uint64_t c[2] = {s->index_off, s->index_off + s->index_copy};
	for (int n = 0; n < 2; n++) {
		uint64_t q = otkd_shm__load(s, c[n]);
		if (q & 1)
			continue;
		uint64_t base = c[n] + OTKD_SHM_INDEX_HEAD + (uint64_t)tbl * s->table_size * OTKD_SHM_ENTRY_SIZE;
		uint64_t mask = s->table_size - 1, i = (key * 0x9E3779B97F4A7C15ULL) >> (64 - s->table_bits);
		int found = 0;
		for (uint64_t p = 0; p < s->table_size; p++) {
			uint64_t e = base + i * OTKD_SHM_ENTRY_SIZE, k = otkd_shm__load(s, e);
			if (k == key) {
				*slot = otkd_shm__load(s, e + 8);
				found = 1;
				break;
			}
			if (k == 0)
				break;
			i = (i + 1) & mask;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n((const uint64_t *)(const void *)(s->base + c[n]), __ATOMIC_RELAXED) == q)
			return found;
	}
	return -1;
}

static inline int otkd_shm__fail(const otkd_shm *s, otkd_shm_key *k, int rc)
{
	if (k)
		otkd_shm_key_zero(k);
	return otkd_shm_writer_alive(s) ? rc : OTKD_SHM_EWRITERGONE;
}

static inline int otkd_shm__fail_tries(const otkd_shm *s, otkd_shm_key *k, int bad)
{
	if (bad) {
		if (k)
			otkd_shm_key_zero(k);
		return OTKD_SHM_ECHECKSUM;
	}
	return otkd_shm__fail(s, k, OTKD_SHM_EBUSY);
}

/* tbl: OTKD_SHM_TBL_ACTIVE (key = map entry), _ID or _BINDING. */
static inline int otkd_shm__find(const otkd_shm *s, int tbl, uint64_t key, uint16_t port, uint8_t dir, otkd_shm_key *k)
{
	int bad = 0;
	for (int t = 0; t < OTKD_SHM_TRIES; t++) {
		uint64_t slot = 0;
		int f, rs;
		if (tbl == OTKD_SHM_TBL_ACTIVE) {
			/* One atomic word, slot+1 or 0; the slot is checked below. */
			uint64_t e = otkd_shm__load(s, s->active_off + 8 * key);
			f = e != 0;
			slot = e - 1;
		} else {
			f = otkd_shm__lookup(s, tbl, key, &slot);
		}
		if (f == 0)
			return otkd_shm__fail(s, k, OTKD_SHM_ENOTFOUND);
		if (f < 0 || slot >= s->slots)
			continue;
		rs = otkd_shm__read_slot(s, slot, k);
		if (rs == OTKD_SHM__DAMAGED)
			bad = 1;
		if (rs != OTKD_SHM__GOOD)
			continue;
		switch (tbl) {
		case OTKD_SHM_TBL_ACTIVE:
			if (k->state == OTKD_SHM_STATE_ACTIVE && k->port == port && k->dir == dir)
				return OTKD_SHM_OK;
			break;
		case OTKD_SHM_TBL_ID:
			if (k->id == key && k->state != OTKD_SHM_STATE_EMPTY)
				return OTKD_SHM_OK;
			break;
		default:
			if (k->consumer == key && k->state != OTKD_SHM_STATE_EMPTY)
				return OTKD_SHM_OK;
		}
	}
	return otkd_shm__fail_tries(s, k, bad);
}

static inline int otkd_shm_active_key(const otkd_shm *s, uint16_t port, uint8_t dir, otkd_shm_key *k)
{
	if (dir > 1)
		return otkd_shm__fail(s, k, OTKD_SHM_ENOTFOUND);
	return otkd_shm__find(s, OTKD_SHM_TBL_ACTIVE, (uint64_t)port << 1 | dir, port, dir, k);
}

static inline int otkd_shm_key_by_id(const otkd_shm *s, uint64_t id, otkd_shm_key *k)
{
	if (id == 0)
		return otkd_shm__fail(s, k, OTKD_SHM_ENOTFOUND);
	return otkd_shm__find(s, OTKD_SHM_TBL_ID, id, 0, 0, k);
}

static inline int otkd_shm_bound(const otkd_shm *s, uint64_t consumer, otkd_shm_key *k)
{
	if (consumer == 0)
		return otkd_shm__fail(s, k, OTKD_SHM_ENOTFOUND);
	return otkd_shm__find(s, OTKD_SHM_TBL_BINDING, consumer, 0, 0, k);
}

/* otkd_shm_slot reads slot i as it is; an empty slot is OTKD_SHM_ENOTFOUND. */
static inline int otkd_shm_slot(const otkd_shm *s, uint64_t i, otkd_shm_key *k)
{
	if (i >= s->slots)
		return otkd_shm__fail(s, k, OTKD_SHM_ENOTFOUND);
	int bad = 0;
	for (int t = 0; t < OTKD_SHM_TRIES; t++) {
		int rs = otkd_shm__read_slot(s, i, k);
		if (rs == OTKD_SHM__GOOD)
			return k->state == OTKD_SHM_STATE_EMPTY ? otkd_shm__fail(s, k, OTKD_SHM_ENOTFOUND) : OTKD_SHM_OK;
		if (rs == OTKD_SHM__DAMAGED)
			bad = 1;
	}
	return otkd_shm__fail_tries(s, k, bad);
}

static inline int otkd_shm_read_status(const otkd_shm *s, otkd_shm_status *st)
{
	uint64_t w[7];
	for (int t = 0; t < OTKD_SHM_TRIES; t++) {
		if (otkd_shm__read_latch(s, s->status_off, OTKD_SHM_REGION_COPY, w, 7)) {
			st->generation = w[0];
			st->writer_pid = w[1];
			st->serial = w[2];
			st->keys = (uint32_t)w[3];
			st->active = (uint32_t)(w[3] >> 32);
			st->updated_at = (int64_t)w[4];
			st->health = (uint32_t)w[5];
			st->code = (uint32_t)(w[5] >> 32);
			return OTKD_SHM_OK;
		}
	}
	return otkd_shm__fail(s, NULL, OTKD_SHM_EBUSY);
}

static inline int otkd_shm_read_config(const otkd_shm *s, otkd_shm_config *c)
{
	uint64_t w[7];
	for (int t = 0; t < OTKD_SHM_TRIES; t++) {
		if (otkd_shm__read_latch(s, s->config_off, OTKD_SHM_REGION_COPY, w, 7)) {
			c->serial = w[0];
			c->node_id = w[1];
			c->rekey_interval_ns = (int64_t)w[2];
			c->key_lifetime_ns = (int64_t)w[3];
			c->grace_ns = (int64_t)w[4];
			c->default_alg = (uint32_t)w[5];
			c->flags = (uint32_t)(w[5] >> 32);
			return OTKD_SHM_OK;
		}
	}
	return otkd_shm__fail(s, NULL, OTKD_SHM_EBUSY);
}

/* Header words the writer refreshes. */
static inline uint64_t otkd_shm_generation(const otkd_shm *s) { return otkd_shm__load(s, OTKD_SHM_H_GENERATION); }
static inline uint64_t otkd_shm_writer_pid(const otkd_shm *s) { return otkd_shm__load(s, OTKD_SHM_H_WRITER_PID); }
static inline int64_t otkd_shm_heartbeat(const otkd_shm *s) { return (int64_t)otkd_shm__load(s, OTKD_SHM_H_HEARTBEAT); }

/* SM3 (GB/T 32905-2016), one shot, for the key fingerprint. Written here
 * because the header must stay self-contained (no crypto library to link);
 * tested against the standard's examples and Go's SM3 (shm package tests). */
static inline uint32_t otkd_shm__rotl(uint32_t x, unsigned n)
{
	n &= 31;
	return n ? (x << n) | (x >> (32 - n)) : x;
}

static inline void otkd_shm__sm3_block(uint32_t v[8], const uint8_t b[64])
{
	uint32_t w[68], a = v[0], bb = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
	for (int j = 0; j < 16; j++)
		w[j] = (uint32_t)b[4 * j] << 24 | (uint32_t)b[4 * j + 1] << 16 | (uint32_t)b[4 * j + 2] << 8 | b[4 * j + 3];
	for (int j = 16; j < 68; j++) {
		uint32_t x = w[j - 16] ^ w[j - 9] ^ otkd_shm__rotl(w[j - 3], 15);
		w[j] = (x ^ otkd_shm__rotl(x, 15) ^ otkd_shm__rotl(x, 23)) ^ otkd_shm__rotl(w[j - 13], 7) ^ w[j - 6];
	}
	for (int j = 0; j < 64; j++) {
		uint32_t t = j < 16 ? 0x79cc4519u : 0x7a879d8au;
		uint32_t ss1 = otkd_shm__rotl(otkd_shm__rotl(a, 12) + e + otkd_shm__rotl(t, (unsigned)j), 7);
		uint32_t ss2 = ss1 ^ otkd_shm__rotl(a, 12);
		uint32_t ff = j < 16 ? a ^ bb ^ c : (a & bb) | (a & c) | (bb & c);
		uint32_t gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
		uint32_t tt1 = ff + d + ss2 + (w[j] ^ w[j + 4]);
		uint32_t tt2 = gg + h + ss1 + w[j];
		d = c;
		c = otkd_shm__rotl(bb, 9);
		bb = a;
		a = tt1;
		h = g;
		g = otkd_shm__rotl(f, 19);
		f = e;
		e = tt2 ^ otkd_shm__rotl(tt2, 9) ^ otkd_shm__rotl(tt2, 17);
	}
	v[0] ^= a; v[1] ^= bb; v[2] ^= c; v[3] ^= d;
	v[4] ^= e; v[5] ^= f; v[6] ^= g; v[7] ^= h;
	memset(w, 0, sizeof w);
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* keep the wipe */
}

/* otkd_shm_sm3 writes SM3(p[0..n)) to out. Its working state is wiped. */
static inline void otkd_shm_sm3(const void *p, size_t n, uint8_t out[32])
{
	static const uint32_t iv[8] = {0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
				       0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e};
	const uint8_t *m = (const uint8_t *)p;
	uint32_t v[8];
	uint8_t blk[64];
	size_t i = 0;
	memcpy(v, iv, sizeof v);
	for (; n - i >= 64; i += 64)
		otkd_shm__sm3_block(v, m + i);
	size_t r = n - i;
	memset(blk, 0, sizeof blk);
	memcpy(blk, m + i, r);
	blk[r] = 0x80;
	if (r >= 56) {
		otkd_shm__sm3_block(v, blk);
		memset(blk, 0, sizeof blk);
	}
	uint64_t bits = (uint64_t)n * 8;
	for (int k = 0; k < 8; k++)
		blk[56 + k] = (uint8_t)(bits >> (56 - 8 * k));
	otkd_shm__sm3_block(v, blk);
	for (int k = 0; k < 8; k++) {
		out[4 * k] = (uint8_t)(v[k] >> 24);
		out[4 * k + 1] = (uint8_t)(v[k] >> 16);
		out[4 * k + 2] = (uint8_t)(v[k] >> 8);
		out[4 * k + 3] = (uint8_t)v[k];
	}
	memset(blk, 0, sizeof blk);
	memset(v, 0, sizeof v);
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* keep the wipe */
}

/* OTKD_SHM_FP_LABEL prefixes the key bytes in the fingerprint hash: the label
 * of otkd's one key fingerprint (the one the link's ACTIVATE carries). */
#define OTKD_SHM_FP_LABEL "otkd v1 session key"

/* otkd_shm_key_fingerprint writes the key's fingerprint to out as 16
 * lowercase hex digits and a NUL, and returns out: the first 8 bytes of
 * SM3(OTKD_SHM_FP_LABEL || the key's len bytes) (docs/shm.md, "Key
 * fingerprint"; Go: shm.Key.Fingerprint). It is the one name otkd gives
 * the key everywhere: what `otkctl keys` and otkd's logs print, and, as a
 * number, the id otkd publishes the key under (printed as %016llx, a key's
 * id is its fingerprint). Safe to log. */
static inline char *otkd_shm_key_fingerprint(const otkd_shm_key *k, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t m[sizeof OTKD_SHM_FP_LABEL - 1 + OTKD_SHM_MAX_KEY], d[32];
	size_t lab = sizeof OTKD_SHM_FP_LABEL - 1;
	size_t len = k->len <= OTKD_SHM_MAX_KEY ? k->len : OTKD_SHM_MAX_KEY;
	memcpy(m, OTKD_SHM_FP_LABEL, lab);
	memcpy(m + lab, k->key, len);
	otkd_shm_sm3(m, lab + len, d);
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[16] = 0;
	memset(m, 0, sizeof m);
	memset(d, 0, sizeof d);
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* keep the wipe */
	return out;
}

#endif /* OTKD_SHM_H */
