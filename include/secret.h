/*
 * secret: the per-process key made at start, and keyed tokens derived from it.
 *
 * Branches (RFC 3261 16.11), To tags and, later, digest nonces must be
 * unguessable by a remote party yet recomputable by sipnatd for a
 * retransmission, so they are HMACs of what identifies the message.
 */
#ifndef SIPNATD_SECRET_H
#define SIPNATD_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define SECRET_KEY_LEN 32

/* Make the key from the kernel's random source. Returns 0 or -1 (logged by
 * the caller). Called once at start; reload keeps it (nonces stay valid). */
int secret_init(void);

/* Test hook: a fixed key. */
void secret_set_key(const uint8_t key[SECRET_KEY_LEN]);

/* HMAC-SHA256 over the parts (each followed by a separator byte, so that
 * ("ab","c") and ("a","bc") differ), written as `out_chars` lowercase base-32
 * characters plus NUL. out_chars is at most 51 (255 bits). */
void secret_token(const char *const parts[], size_t count, char *out, size_t out_chars);

/* The raw HMAC-SHA256 of buf, for callers that need bytes (nonces). */
void secret_hmac(const void *buf, size_t len, uint8_t mac[32]);

/* Deterministic authenticated encryption (AES-SIV, RFC 5297, from
 * libcrypto) with a key derived from the process key: the same plaintext
 * always seals to the same bytes (a retransmitted message gets the same
 * token), and what is sealed can neither be read nor altered by anyone else.
 * Sealed output is SECRET_SEAL_OVERHEAD bytes longer than the input. */
#define SECRET_SEAL_OVERHEAD 16
int secret_seal(const uint8_t *plain, size_t len, uint8_t *out);
/* Open sealed bytes into out (len - SECRET_SEAL_OVERHEAD bytes); returns the
 * plaintext length, or -1 when they were not sealed by this process. */
long secret_open(const uint8_t *sealed, size_t len, uint8_t *out);

/* Changes whenever the key does (secret_init, secret_set_key): what was
 * cached from sealing with the old key is stale. */
uint32_t secret_epoch(void);

/* Release libcrypto state at exit (for leak checkers). */
void secret_free(void);

#endif
