/*
 * nonce: stateless, unforgeable digest nonces (design section 6, R32). A nonce
 * is a timestamp, a per-challenge counter and an HMAC over them, the client's
 * IP address and the realm,
 * keyed with the process key (secret.h): nothing is stored to issue one, and
 * one made for another address or forged does not verify. A small bounded
 * table remembers the highest nonce-count seen per nonce so that a replayed
 * Authorization is refused; it only advances after a successful check.
 */
#ifndef SIPNATD_NONCE_H
#define SIPNATD_NONCE_H

#include "netaddr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NONCE_LEN 45          /* characters, without NUL */
#define NONCE_LIFETIME_S 32   /* as pjsip's nonce_lifetime */

enum nonce_state {
	NONCE_VALID,    /* ours, for this address, within its lifetime */
	NONCE_STALE,    /* ours, for this address, but expired: stale=true if the digest is right */
	NONCE_INVALID,  /* not ours, another address's, or malformed */
};

/* Make a nonce for client (its address of either family; the port does not
 * count) at time now; out holds NONCE_LEN + 1. */
void nonce_make(const struct netaddr *client, const char *realm, time_t now, char out[NONCE_LEN + 1]);

/* Judge a nonce a client returned. */
enum nonce_state nonce_check(const char *nonce, const struct netaddr *client, const char *realm,
			     time_t now);

struct nonce_counts;

/* A table of at most capacity nonces (oldest forgotten first). */
struct nonce_counts *nonce_counts_new(size_t capacity);
void nonce_counts_free(struct nonce_counts *t);

/* Would nc (the 8-hex-digit count) be fresh for nonce, i.e. higher than any
 * count accepted before? Does not record anything. Without qop (no nc) pass
 * nc = NULL: then the nonce itself may be used once. */
bool nonce_counts_fresh(const struct nonce_counts *t, const char *nonce, const char *nc);

/* Record that nc was accepted for nonce (call only after the digest verified). */
void nonce_counts_accept(struct nonce_counts *t, const char *nonce, const char *nc, time_t now);

#endif
