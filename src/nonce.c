/*
 * nonce: the nonces of the authenticate step's challenges, and the memory of
 * which nonce-counts were already used (design section 6, R32).
 *
 * A nonce is 25 bytes in base-32 (40 characters): an 8-byte big-endian
 * timestamp and the first 17 bytes (136 bits) of
 *   HMAC-SHA256(key, "nonce" SEP timestamp SEP client-IPv4 SEP realm SEP)
 * with the process key (secret.h). The timestamp and the address are fixed
 * width, the realm comes last, so the input is never ambiguous. Issuing one
 * stores nothing, so a flood of unauthenticated requests costs no memory.
 *
 * The count table is filled only after a digest verified, so only a peer
 * that knows its password can make it grow; it is bounded anyway, a ring in
 * first-accept order (oldest forgotten first) indexed by an open-addressing
 * hash.
 */
#include "nonce.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "base32.h"
#include "secret.h"

#define NONCE_TS_LEN 8
#define NONCE_SALT_LEN 4
#define NONCE_MAC_LEN 16
#define NONCE_RAW_LEN (NONCE_TS_LEN + NONCE_SALT_LEN + NONCE_MAC_LEN)
/* Clock steps between issuing and checking are tolerated this far. */
#define NONCE_FUTURE_SLACK_S 2
/* A recorded nonce this old has been stale for a while: its slot is free. */
#define NONCE_RECORD_KEEP_S (NONCE_LIFETIME_S * 2)

_Static_assert(BASE32_LEN(NONCE_RAW_LEN) == NONCE_LEN, "nonce text length");

static const char nonce_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* The client's address as the MAC covers it: 4 bytes for IPv4 (network
 * order), 16 for IPv6; the port is not part of it (a phone behind NAT may
 * answer from another one). */
static size_t client_bytes(const struct netaddr *client, const uint8_t **out)
{
	if (client->family == AF_INET6) {
		*out = client->ip.v6.s6_addr;
		return sizeof(client->ip.v6.s6_addr);
	}
	*out = (const uint8_t *)&client->ip.v4.s_addr;
	return sizeof(client->ip.v4.s_addr);
}

static void nonce_mac(uint64_t ts, const uint8_t salt[NONCE_SALT_LEN], const struct netaddr *client,
		      const char *realm, uint8_t mac[32])
{
	static const char tag[] = "nonce";
	const uint8_t sep = 0x1f;
	const uint8_t *ip;
	size_t ip_len = client_bytes(client, &ip);
	size_t realm_len = realm ? strlen(realm) : 0;
	size_t len = sizeof(tag) - 1 + 1 + NONCE_TS_LEN + NONCE_SALT_LEN + 1 + ip_len + 1 + realm_len + 1;
	uint8_t stack_buf[256];
	uint8_t *buf = len <= sizeof(stack_buf) ? stack_buf : malloc(len);
	size_t o = 0;

	if (!buf)
		abort();
	memcpy(buf + o, tag, sizeof(tag) - 1);
	o += sizeof(tag) - 1;
	buf[o++] = sep;
	for (int i = NONCE_TS_LEN - 1; i >= 0; i--)
		buf[o++] = (uint8_t)(ts >> (8 * i));
	memcpy(buf + o, salt, NONCE_SALT_LEN);
	o += NONCE_SALT_LEN;
	buf[o++] = sep;
	memcpy(buf + o, ip, ip_len);
	o += ip_len;
	buf[o++] = sep;
	if (realm_len)
		memcpy(buf + o, realm, realm_len);
	o += realm_len;
	buf[o++] = sep;
	secret_hmac(buf, o, mac);
	if (buf != stack_buf)
		free(buf);
}

void nonce_make(const struct netaddr *client, const char *realm, time_t now, char out[NONCE_LEN + 1])
{
	/* Every challenge gets a nonce of its own, even two in the same second
	 * for the same address: a phone starts each new nonce at nc=1, and a
	 * repeated nonce would make that look like a replay. */
	static uint32_t counter;
	uint8_t raw[NONCE_RAW_LEN], mac[32];
	uint64_t ts = now < 0 ? 0 : (uint64_t)now;
	uint8_t *salt = raw + NONCE_TS_LEN;

	counter++;
	for (int i = 0; i < NONCE_TS_LEN; i++)
		raw[i] = (uint8_t)(ts >> (8 * (NONCE_TS_LEN - 1 - i)));
	for (int i = 0; i < NONCE_SALT_LEN; i++)
		salt[i] = (uint8_t)(counter >> (8 * (NONCE_SALT_LEN - 1 - i)));
	nonce_mac(ts, salt, client, realm, mac);
	memcpy(raw + NONCE_TS_LEN + NONCE_SALT_LEN, mac, NONCE_MAC_LEN);
	base32_encode(raw, sizeof(raw), out);
}

enum nonce_state nonce_check(const char *nonce, const struct netaddr *client, const char *realm,
			     time_t now)
{
	uint8_t raw[NONCE_RAW_LEN], mac[32];
	uint64_t ts = 0;

	/* Only the exact text nonce_make writes: lowercase, NONCE_LEN characters. */
	if (!nonce || strnlen(nonce, NONCE_LEN + 1) != NONCE_LEN ||
	    strspn(nonce, nonce_alphabet) != NONCE_LEN)
		return NONCE_INVALID;
	if (base32_decode(nonce, NONCE_LEN, raw, sizeof(raw)) != NONCE_RAW_LEN)
		return NONCE_INVALID;
	for (int i = 0; i < NONCE_TS_LEN; i++)
		ts = ts << 8 | raw[i];
	if (ts > INT64_MAX)
		return NONCE_INVALID; /* never a time nonce_make wrote */
	nonce_mac(ts, raw + NONCE_TS_LEN, client, realm, mac);
	if (CRYPTO_memcmp(mac, raw + NONCE_TS_LEN + NONCE_SALT_LEN, NONCE_MAC_LEN) != 0)
		return NONCE_INVALID;

	/* Ours from here on. */
	int64_t issued = (int64_t)ts, at = now;
	if (issued > at + NONCE_FUTURE_SLACK_S)
		return NONCE_INVALID;
	if (at - issued > NONCE_LIFETIME_S)
		return NONCE_STALE;
	return NONCE_VALID;
}

/* ---- nonce-count table ---- */

#define SLOT_EMPTY UINT32_MAX
/* The count recorded for a nonce used without qop: no nc is above it. */
#define COUNT_USED_UP UINT32_MAX

struct nonce_record {
	char nonce[NONCE_LEN + 1];
	uint32_t hash;
	uint32_t count; /* highest nc accepted */
	time_t first_accept;
};

struct nonce_counts {
	struct nonce_record *ring; /* capacity records, oldest at head */
	size_t capacity, head, used;
	uint32_t *slots;           /* record index or SLOT_EMPTY; at most half full */
	size_t slot_mask;
};

static uint32_t nonce_hash(const char *nonce)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *nonce; nonce++)
		h = (h ^ (uint8_t)*nonce) * 16777619u;
	return h;
}

/* 8 hex digits into *count; false for anything else. */
static bool parse_nc(const char *nc, uint32_t *count)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		char c = nc[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	if (nc[8] != '\0')
		return false;
	*count = v;
	return true;
}

static bool key_ok(const char *nonce)
{
	return nonce && strnlen(nonce, NONCE_LEN + 1) == NONCE_LEN;
}

struct nonce_counts *nonce_counts_new(size_t capacity)
{
	struct nonce_counts *t;
	size_t slots = 2;

	if (capacity == 0 || capacity > (SLOT_EMPTY >> 2))
		return NULL;
	while (slots < capacity * 2)
		slots <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ring = calloc(capacity, sizeof(*t->ring));
	t->slots = malloc(slots * sizeof(*t->slots));
	if (!t->ring || !t->slots) {
		nonce_counts_free(t);
		return NULL;
	}
	for (size_t i = 0; i < slots; i++)
		t->slots[i] = SLOT_EMPTY;
	t->capacity = capacity;
	t->slot_mask = slots - 1;
	return t;
}

void nonce_counts_free(struct nonce_counts *t)
{
	if (!t)
		return;
	free(t->ring);
	free(t->slots);
	free(t);
}

/* The slot holding nonce, or the empty slot where it would go. */
static size_t slot_of(const struct nonce_counts *t, const char *nonce, uint32_t hash, bool *found)
{
	size_t s = hash & t->slot_mask;

	while (t->slots[s] != SLOT_EMPTY) {
		const struct nonce_record *r = &t->ring[t->slots[s]];
		if (r->hash == hash && strcmp(r->nonce, nonce) == 0) {
			*found = true;
			return s;
		}
		s = (s + 1) & t->slot_mask;
	}
	*found = false;
	return s;
}

/* Empty slot s, moving later entries of its probe run back so that every
 * entry stays reachable from its home slot (linear probing deletion). */
static void slot_clear(struct nonce_counts *t, size_t s)
{
	size_t hole = s, next = s;

	t->slots[hole] = SLOT_EMPTY;
	for (;;) {
		next = (next + 1) & t->slot_mask;
		if (t->slots[next] == SLOT_EMPTY)
			return;
		size_t home = t->ring[t->slots[next]].hash & t->slot_mask;
		/* Stays if its home lies cyclically within (hole, next]. */
		bool stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
		if (!stays) {
			t->slots[hole] = t->slots[next];
			t->slots[next] = SLOT_EMPTY;
			hole = next;
		}
	}
}

static void forget_oldest(struct nonce_counts *t)
{
	struct nonce_record *r = &t->ring[t->head];
	bool found;
	size_t s = slot_of(t, r->nonce, r->hash, &found);

	if (!found)
		abort(); /* ring and index disagree */
	slot_clear(t, s);
	t->head = (t->head + 1) % t->capacity;
	t->used--;
}

bool nonce_counts_fresh(const struct nonce_counts *t, const char *nonce, const char *nc)
{
	uint32_t count = 0;
	bool found;
	size_t s;

	if (!t || !key_ok(nonce))
		return false;
	if (nc && (!parse_nc(nc, &count) || count == 0))
		return false; /* RFC 7616 3.4: nc counts from 00000001 */
	s = slot_of(t, nonce, nonce_hash(nonce), &found);
	if (!found)
		return true;
	/* Without qop the nonce is single-use: any record means used. */
	return nc && count > t->ring[t->slots[s]].count;
}

void nonce_counts_accept(struct nonce_counts *t, const char *nonce, const char *nc, time_t now)
{
	uint32_t count = COUNT_USED_UP, hash;
	struct nonce_record *r;
	bool found;
	size_t s;

	if (!t || !key_ok(nonce) || (nc && !parse_nc(nc, &count)))
		return;
	while (t->used > 0 && now - t->ring[t->head].first_accept > NONCE_RECORD_KEEP_S)
		forget_oldest(t);

	hash = nonce_hash(nonce);
	s = slot_of(t, nonce, hash, &found);
	if (found) {
		r = &t->ring[t->slots[s]];
		if (count > r->count)
			r->count = count;
		return;
	}
	if (t->used == t->capacity) {
		forget_oldest(t);
		s = slot_of(t, nonce, hash, &found); /* the deletion may have moved it */
	}
	size_t idx = (t->head + t->used) % t->capacity;
	r = &t->ring[idx];
	memcpy(r->nonce, nonce, NONCE_LEN + 1);
	r->hash = hash;
	r->count = count;
	r->first_accept = now;
	t->slots[s] = (uint32_t)idx;
	t->used++;
}
