/*
 * auth: the authenticate step of the SIP path (design section 6). Decides,
 * for an out-of-dialog request from the Internet, whether it carries valid
 * digest credentials of a configured peer, and builds the answers when not,
 * the same way for an unknown user and a wrong password (alwaysauthreject):
 * the same challenge first, the same 403 after, the same hashing work.
 */
#ifndef SIPNATD_AUTH_H
#define SIPNATD_AUTH_H

#include "conf.h"
#include "netaddr.h"

#include <netinet/in.h>
#include <osipparser2/osip_parser.h>
#include <stdbool.h>
#include <time.h>

enum auth_verdict {
	AUTH_OK,          /* good credentials; result.peer is the peer */
	AUTH_CHALLENGE,   /* 401 (REGISTER) / 407 (others) with a fresh nonce */
	AUTH_STALE,       /* the same with stale=true: right digest, expired nonce */
	AUTH_FORBIDDEN,   /* 403 Forbidden: bad credentials on a nonce of ours */
	AUTH_NOT_FOUND,   /* 404: unknown user, only when alwaysauthreject = false */
	AUTH_BAD_URI,     /* 400: the digest uri= does not name the Request-URI */
};

struct auth_result {
	enum auth_verdict verdict;
	const struct conf_peer *peer;
	bool failed;      /* an authentication failure: counts toward the ban */
};

struct auth;

struct auth *auth_new(void);
void auth_free(struct auth *a);

/* Judge the credentials of req, an out-of-dialog request from src that
 * arrived as the len bytes at datagram (before any rewriting: only the very
 * same datagram from the same src is taken as a retransmission). Every
 * verdict that came from comparing a digest with a password and found it
 * wrong sets out->failed, known user or not, fresh nonce or expired. */
void auth_check(struct auth *a, const struct conf *conf, const osip_message_t *req,
		const struct netaddr *src, const void *datagram, size_t len, time_t now,
		struct auth_result *out);

/* The answer for a verdict other than AUTH_OK (caller frees it). The header
 * set and order depend only on the verdict and the method. */
osip_message_t *auth_answer(const struct conf *conf, const osip_message_t *req,
			    enum auth_verdict verdict, const struct netaddr *src, time_t now);

/* Before forwarding an authenticated request to the PBX: remove the
 * credentials and any identity the sender asserted itself, and assert the
 * authenticated peer instead (P-Asserted-Identity: <sip:peer@host:port>,
 * host being sipnatd's address toward the PBX, bracketed if IPv6).
 * Returns 0 or -1. */
int auth_assert_identity(osip_message_t *req, const struct conf_peer *peer,
			 const struct netaddr *host);

/* Digest computations so far (for the uniformity test: an unknown user costs
 * the same as a known one). */
unsigned long auth_digest_computations(const struct auth *a);

const char *auth_verdict_name(enum auth_verdict verdict);

#endif
