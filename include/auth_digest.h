/*
 * auth_digest: HTTP Digest for SIP (RFC 3261 22.4, RFC 7616, RFC 8760) as
 * sipnatd's authenticate step needs it: the challenge it sends, and the check
 * of the credentials a phone answers with. MD5 and SHA-256 come from
 * OpenSSL's libcrypto; secrets are compared in constant time.
 *
 * Values arrive already parsed by libosip2 (osip_authorization_t); quoted
 * values still carry their quotes there, and this module strips them.
 */
#ifndef SIPNATD_AUTH_DIGEST_H
#define SIPNATD_AUTH_DIGEST_H

#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <stddef.h>

enum digest_alg {
	DIGEST_MD5,
	DIGEST_SHA256,
};

#define DIGEST_HEX_MAX 65 /* SHA-256 in hex + NUL */

/* The credentials of one Authorization/Proxy-Authorization header, unquoted
 * and checked for shape. */
struct digest_credentials {
	enum digest_alg alg;
	char username[128];
	char realm[128];
	char nonce[128];
	char uri[512];
	char response[DIGEST_HEX_MAX];
	bool has_qop;          /* qop=auth (auth-int is not offered, so refused) */
	char cnonce[128];
	char nc[9];            /* 8 hex digits */
};

/* Parse and validate the shape of a Digest header into *out. Returns false
 * for anything sipnatd does not accept: not Digest, an unknown algorithm, qop
 * other than auth, qop without cnonce/nc, an nc that is not 8 hex digits,
 * missing username/realm/nonce/uri/response, or over-long values. */
bool auth_digest_parse(const osip_authorization_t *hdr, struct digest_credentials *out);

/* HA1 = H(username:realm:secret) in lowercase hex (RFC 7616 3.4.2). */
void auth_digest_ha1(enum digest_alg alg, const char *username, const char *realm, const char *secret,
		char out[DIGEST_HEX_MAX]);

/* The expected response for cred and method with HA1 ha1 (RFC 7616 3.4.1,
 * with RFC 2069 compatibility when there is no qop). */
void auth_digest_expected(const struct digest_credentials *cred, const char *method,
		     const char ha1[DIGEST_HEX_MAX], char out[DIGEST_HEX_MAX]);

/* Does cred's response match, in constant time? */
bool auth_digest_response_ok(const struct digest_credentials *cred, const char *method,
			const char ha1[DIGEST_HEX_MAX]);

/* The value of a WWW-Authenticate/Proxy-Authenticate header for alg:
 *   Digest realm="R", nonce="N", algorithm=MD5, qop="auth"[, stale=true]
 * Written into out (NUL-terminated); returns false if it does not fit. */
bool auth_digest_challenge(enum digest_alg alg, const char *realm, const char *nonce, bool stale,
		      char *out, size_t out_len);

const char *auth_digest_alg_name(enum digest_alg alg);

#endif
