/*
 * otkd-plugin-c: a minimal security plugin in C. It reads keys from otkd's
 * shared-memory key store with the single-header reader shm/include/otkd_shm.h
 * and prints what it found, by fingerprint (never key bytes). A real plugin
 * would hand k.key (k.len bytes) to its cipher instead of printing, and zero
 * the key when done.
 *
 *   otkd-plugin-c /dev/shm/otkd port 1 AB     the active key of port 1, A->B
 *   otkd-plugin-c /dev/shm/otkd consumer 7    the key bound to consumer 7
 *
 * Build: gcc -O2 -std=c11 -Wall -I OTKD/shm/include -o otkd-plugin-c plugin.c
 * Exit status: 0 a key was found; 1 none (the message says whether the key
 * does not exist or otkd is not running); 2 bad usage or the store cannot be
 * opened.
 */
#include "otkd_shm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static otkd_shm store; /* about 33 KiB of CRC tables: not on a small stack */

int main(int argc, char **argv)
{
	char why[256], fp[17], what[64];
	otkd_shm_key k;
	int rc;

	if (argc < 4 || (strcmp(argv[2], "port") == 0 && argc != 5) || (strcmp(argv[2], "consumer") == 0 && argc != 4)) {
		fprintf(stderr, "usage: %s SHM port ID AB|BA | %s SHM consumer ID\n", argv[0], argv[0]);
		return 2;
	}
	rc = otkd_shm_open(&store, argv[1], why, sizeof why);
	if (rc != OTKD_SHM_OK) {
		/* why names the field of an incompatible file, or the system error
		 * and what to do (is otkd running? which group to join?). */
		fprintf(stderr, "otkd-plugin-c: %s: %s\n", otkd_shm_strerror(rc), why);
		return 2;
	}
	if (strcmp(argv[2], "port") == 0) {
		unsigned long port = strtoul(argv[3], NULL, 10);
		uint8_t dir = strcmp(argv[4], "BA") == 0 ? OTKD_SHM_DIR_B_TO_A : OTKD_SHM_DIR_A_TO_B;
		snprintf(what, sizeof what, "port %lu %s", port, dir ? "BA" : "AB");
		rc = port > 0xffff ? OTKD_SHM_ENOTFOUND : otkd_shm_active_key(&store, (uint16_t)port, dir, &k);
	} else {
		unsigned long long c = strtoull(argv[3], NULL, 10);
		snprintf(what, sizeof what, "consumer %llu", c);
		rc = otkd_shm_bound(&store, c, &k);
	}
	switch (rc) {
	case OTKD_SHM_OK:
		printf("%s: key %016llx epoch %u, %u bytes, fingerprint %s\n", what, (unsigned long long)k.id, k.epoch, k.len,
		       otkd_shm_key_fingerprint(&k, fp));
		/* use(k.key, k.len) here */
		otkd_shm_key_zero(&k);
		break;
	case OTKD_SHM_ENOTFOUND: /* otkd runs and has no such key (yet) */
		fprintf(stderr, "otkd-plugin-c: %s: no such key (otkd is running)\n", what);
		break;
	case OTKD_SHM_EWRITERGONE: /* otkd is not running: close, open again later */
		fprintf(stderr, "otkd-plugin-c: %s: writer gone: otkd is not running; open the store again when it is\n", what);
		break;
	default: /* OTKD_SHM_EBUSY: try again; OTKD_SHM_ECHECKSUM: a damaged record */
		fprintf(stderr, "otkd-plugin-c: %s: %s\n", what, otkd_shm_strerror(rc));
	}
	otkd_shm_close(&store);
	return rc == OTKD_SHM_OK ? 0 : 1;
}
