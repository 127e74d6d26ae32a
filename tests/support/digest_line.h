/*
 * digest_line: the Authorization / Proxy-Authorization header line a phone
 * sends for a user, password and nonce (RFC 3261 22.4, RFC 8760 for
 * SHA-256, qop=auth). Header only: the unit suites link sipnatd_core alone,
 * the integration tests the support library; both compute with the
 * daemon's own digest arithmetic (auth_digest.h), which test_auth_digest
 * checks against RFC vectors.
 */
#ifndef SIPNATD_TEST_DIGEST_LINE_H
#define SIPNATD_TEST_DIGEST_LINE_H

#include "auth_digest.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct digest_line {
	const char *method;   /* REGISTER: Authorization, else Proxy-Authorization */
	enum digest_alg alg;
	const char *user, *realm, *password, *nonce, *uri;
	const char *cnonce;   /* NULL: "0a4f113b" */
	const char *nc;       /* NULL: "00000001" */
};

/* The whole header line, without CRLF, into out. */
static inline void digest_line(char *out, size_t len, const struct digest_line *d)
{
	struct digest_credentials c;
	char ha1[DIGEST_HEX_MAX], response[DIGEST_HEX_MAX];
	const char *cnonce = d->cnonce ? d->cnonce : "0a4f113b";
	const char *nc = d->nc ? d->nc : "00000001";

	memset(&c, 0, sizeof(c));
	c.alg = d->alg;
	snprintf(c.username, sizeof(c.username), "%s", d->user);
	snprintf(c.realm, sizeof(c.realm), "%s", d->realm);
	snprintf(c.nonce, sizeof(c.nonce), "%s", d->nonce);
	snprintf(c.uri, sizeof(c.uri), "%s", d->uri);
	c.has_qop = true;
	snprintf(c.cnonce, sizeof(c.cnonce), "%s", cnonce);
	snprintf(c.nc, sizeof(c.nc), "%s", nc);
	auth_digest_ha1(d->alg, d->user, d->realm, d->password, ha1);
	auth_digest_expected(&c, d->method, ha1, response);
	int n = snprintf(out, len,
			 "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\", algorithm=%s, qop=auth, cnonce=\"%s\", nc=%s",
			 strcmp(d->method, "REGISTER") == 0 ? "Authorization" : "Proxy-Authorization",
			 d->user, d->realm, d->nonce, d->uri, response, auth_digest_alg_name(d->alg), cnonce,
			 nc);
	ck_assert(n > 0 && (size_t)n < len);
}

#endif
