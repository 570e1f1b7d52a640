/* Test program for otkd_shm.h, driven by the shm package tests.
 *   creader dump PATH PORTS           print every slot, lookup, status, config
 *   creader stress PATH READS PORTS   read active keys, check every one; every
 *                                     4th read also the victim key of port PORTS
 *   creader open PATH                 open PATH, print the result and why
 *   creader fp PATH                   print every key's id and fingerprint
 *   creader sm3 HEX                   print SM3 of the bytes HEX
 */
#include "otkd_shm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_key(const char *what, int rc, const otkd_shm *s, const otkd_shm_key *k)
{
	if (rc != OTKD_SHM_OK) {
		printf("%s err %s\n", what, otkd_shm_strerror(rc));
		return;
	}
	printf("%s id=%llu port=%u dir=%u epoch=%u state=%u alg=%u len=%u from=%lld to=%lld consumer=%llu serial=%llu sum=%016llx verify=%d key=",
	       what, (unsigned long long)k->id, k->port, k->dir, k->epoch, k->state, k->alg, k->len,
	       (long long)k->valid_from, (long long)k->valid_to, (unsigned long long)k->consumer,
	       (unsigned long long)k->serial, (unsigned long long)k->sum, otkd_shm_key_verify(s, k) == OTKD_SHM_OK);
	for (int i = 0; i < k->len; i++)
		printf("%02x", k->key[i]);
	printf("\n");
}

#define VICTIM_ID (1ULL << 40) /* the stress test's scribbled key (victimID) */

/* The stress tests' keys: version v = valid_from; valid_to = v << 20,
 * epoch = (uint8)v, byte i = id*131 + v*29 + i*7. */
static int pattern_ok(const otkd_shm_key *k)
{
	uint64_t v = (uint64_t)k->valid_from;
	if (k->len != 32 || k->valid_to != (int64_t)(v << 20) || k->epoch != (uint8_t)v)
		return 0;
	for (int i = 0; i < k->len; i++)
		if (k->key[i] != (uint8_t)(k->id * 131 + v * 29 + (uint64_t)i * 7))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	otkd_shm s;
	otkd_shm_key k;
	char why[256];
	if (argc < 3) {
		fprintf(stderr, "usage: creader dump|stress|open|fp PATH ... | sm3 HEX\n");
		return 2;
	}
	if (strcmp(argv[1], "sm3") == 0) {
		size_t n = strlen(argv[2]) / 2;
		uint8_t *m = malloc(n + 1), d[32];
		for (size_t i = 0; i < n; i++) {
			unsigned x;
			if (sscanf(argv[2] + 2 * i, "%2x", &x) != 1)
				return 2;
			m[i] = (uint8_t)x;
		}
		otkd_shm_sm3(m, n, d);
		for (int i = 0; i < 32; i++)
			printf("%02x", d[i]);
		printf("\n");
		free(m);
		return 0;
	}
	int rc = otkd_shm_open(&s, argv[2], why, sizeof why);
	if (strcmp(argv[1], "open") == 0) {
		printf("open %s %s\n", otkd_shm_strerror(rc), why);
		return 0;
	}
	if (rc != OTKD_SHM_OK) {
		fprintf(stderr, "open: %s: %s\n", otkd_shm_strerror(rc), why);
		return 1;
	}
	if (strcmp(argv[1], "dump") == 0 && argc == 4) {
		int ports = atoi(argv[3]);
		char what[64];
		for (uint64_t i = 0; i < s.slots; i++) {
			rc = otkd_shm_slot(&s, i, &k);
			if (rc == OTKD_SHM_ENOTFOUND)
				continue;
			snprintf(what, sizeof what, "slot %llu", (unsigned long long)i);
			print_key(what, rc, &s, &k);
		}
		for (int p = 0; p < ports; p++)
			for (int d = 0; d < 2; d++) {
				snprintf(what, sizeof what, "active %d/%d", p, d);
				print_key(what, otkd_shm_active_key(&s, (uint16_t)p, (uint8_t)d, &k), &s, &k);
			}
		for (uint64_t id = 0; id < 8; id++) {
			snprintf(what, sizeof what, "id %llu", (unsigned long long)id);
			print_key(what, otkd_shm_key_by_id(&s, id, &k), &s, &k);
			snprintf(what, sizeof what, "bound %llu", (unsigned long long)id);
			print_key(what, otkd_shm_bound(&s, id, &k), &s, &k);
		}
		otkd_shm_status st;
		otkd_shm_config c;
		if (otkd_shm_read_status(&s, &st) == OTKD_SHM_OK)
			printf("status gen=%llu pid=%llu serial=%llu keys=%u active=%u health=%u code=%u\n",
			       (unsigned long long)st.generation, (unsigned long long)st.writer_pid,
			       (unsigned long long)st.serial, st.keys, st.active, st.health, st.code);
		if (otkd_shm_read_config(&s, &c) == OTKD_SHM_OK)
			printf("config serial=%llu node=%llu rekey=%lld lifetime=%lld grace=%lld alg=%u flags=%u\n",
			       (unsigned long long)c.serial, (unsigned long long)c.node_id, (long long)c.rekey_interval_ns,
			       (long long)c.key_lifetime_ns, (long long)c.grace_ns, c.default_alg, c.flags);
		printf("alive=%d generation=%llu\n", otkd_shm_writer_alive(&s), (unsigned long long)otkd_shm_generation(&s));
	} else if (strcmp(argv[1], "fp") == 0 && argc == 3) {
		char fp[17];
		for (uint64_t i = 0; i < s.slots; i++) {
			if (otkd_shm_slot(&s, i, &k) != OTKD_SHM_OK)
				continue;
			printf("%llu %s\n", (unsigned long long)k.id, otkd_shm_key_fingerprint(&k, fp));
		}
		otkd_shm_key_zero(&k);
	} else if (strcmp(argv[1], "stress") == 0 && argc == 5) {
		long long reads = atoll(argv[3]), torn = 0, busy = 0, notfound = 0, gone = 0, victim = 0, damaged = 0;
		int ports = atoi(argv[4]);
		for (long long i = 0; i < reads; i++) {
			/* Every 4th read: the victim key (port PORTS, A->B), which the
			 * test's scribbler keeps damaging; it must never come back damaged. */
			if (i % 4 == 0) {
				rc = otkd_shm_active_key(&s, (uint16_t)ports, 0, &k);
				if (rc == OTKD_SHM_OK) {
					if (k.id == VICTIM_ID && otkd_shm_key_verify(&s, &k) == OTKD_SHM_OK && pattern_ok(&k))
						victim++;
					else
						torn++;
				} else if (rc == OTKD_SHM_ECHECKSUM) {
					damaged++;
				} else if (rc == OTKD_SHM_EBUSY) {
					busy++;
				} else if (rc == OTKD_SHM_ENOTFOUND) {
					notfound++;
				} else if (rc == OTKD_SHM_EWRITERGONE) {
					gone++;
				}
			}
			uint16_t port = (uint16_t)((i / 2) % ports);
			uint8_t dir = (uint8_t)(i & 1);
			rc = otkd_shm_active_key(&s, port, dir, &k);
			switch (rc) {
			case OTKD_SHM_OK:
				if (otkd_shm_key_verify(&s, &k) != OTKD_SHM_OK || !pattern_ok(&k) ||
				    k.port != port || k.dir != dir || k.state != OTKD_SHM_STATE_ACTIVE)
					torn++;
				break;
			case OTKD_SHM_EBUSY: busy++; break;
			case OTKD_SHM_ENOTFOUND: notfound++; break;
			case OTKD_SHM_EWRITERGONE: gone++; break;
			}
		}
		otkd_shm_key_zero(&k);
		printf("reads=%lld torn=%lld busy=%lld notfound=%lld gone=%lld victim=%lld damaged=%lld\n", reads, torn, busy,
		       notfound, gone, victim, damaged);
	} else {
		fprintf(stderr, "bad arguments\n");
		return 2;
	}
	otkd_shm_close(&s);
	return 0;
}
