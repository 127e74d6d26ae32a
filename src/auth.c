/*
 * auth: digest authentication of Internet requests. Step 4 of the SIP path
 * (receive -> parse -> classify -> authenticate -> route -> rewrite -> send).
 * Nonces are stateless (nonce.c); what is remembered is bounded: the highest
 * nonce-count per nonce, and the last accepted requests, so that a
 * retransmission of an accepted request is accepted again while a replay of
 * its credentials in a new request is not.
 */
#include "auth.h"

#include "auth_digest.h"
#include "nonce.h"
#include "sip_reply.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ACCEPTED_RING 512
#define ACCEPTED_KEEP_S 32
#define NONCE_TABLE 4096
/* Unknown users are checked against this, so that they cost the same hashing
 * as known ones and can never match (the HA1 of a secret nobody knows). */
#define DUMMY_SECRET "\x01sipnatd-no-such-peer\x01"

struct accepted {
	uint32_t hash;
	time_t at;
	char peer[64];
};

struct auth {
	struct nonce_counts *counts;
	struct accepted ring[ACCEPTED_RING];
	size_t ring_next;
	unsigned long computations;
};

struct auth *auth_new(void)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->counts = nonce_counts_new(NONCE_TABLE);
	if (!a->counts) {
		free(a);
		return NULL;
	}
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	nonce_counts_free(a->counts);
	free(a);
}

unsigned long auth_digest_computations(const struct auth *a)
{
	return a->computations;
}

const char *auth_verdict_name(enum auth_verdict verdict)
{
	switch (verdict) {
	case AUTH_OK: return "ok";
	case AUTH_CHALLENGE: return "challenge";
	case AUTH_STALE: return "stale";
	case AUTH_FORBIDDEN: return "forbidden";
	case AUTH_NOT_FOUND: return "not found";
	}
	return "?";
}

static enum digest_alg alg_of(enum conf_digest_alg alg)
{
	switch (alg) {
	case CONF_DIGEST_MD5:
		return DIGEST_MD5;
	case CONF_DIGEST_SHA256:
		return DIGEST_SHA256;
	}
	abort(); /* an enum value nobody defined */
}

/* May peer log in with a response in alg? Its own digestalgs, else general's.
 * Asked only after the digest has been computed, and folded into the same
 * verdict as a wrong password, so it changes neither the work nor the answer. */
static bool alg_allowed(const struct conf *conf, const struct conf_peer *peer, enum digest_alg alg)
{
	const struct conf_digestalgs *algs = conf_peer_digestalgs(conf, peer);

	for (size_t i = 0; i < algs->count; i++)
		if (alg_of(algs->alg[i]) == alg)
			return true;
	return false;
}

static bool is_register(const osip_message_t *req)
{
	return MSG_IS_REGISTER(req);
}

/* The credentials for our realm: Authorization for REGISTER,
 * Proxy-Authorization otherwise, but either is taken (phones differ). */
static const osip_authorization_t *credentials_for(const osip_message_t *req, const char *realm,
						   struct digest_credentials *cred)
{
	const osip_list_t *lists[2] = { &req->authorizations, &req->proxy_authorizations };
	if (!is_register(req)) {
		lists[0] = &req->proxy_authorizations;
		lists[1] = &req->authorizations;
	}
	for (int l = 0; l < 2; l++) {
		osip_authorization_t *h;
		for (int i = 0; (h = osip_list_get(lists[l], i)) != NULL; i++) {
			if (digest_parse(h, cred) && strcmp(cred->realm, realm) == 0)
				return h;
		}
	}
	return NULL;
}

static uint32_t request_hash(const struct digest_credentials *cred, const osip_message_t *req)
{
	const char *parts[] = { cred->nonce, cred->nc, cred->cnonce, cred->response,
				req->call_id ? req->call_id->number : "",
				req->cseq ? req->cseq->number : "", req->sip_method };
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		h = (h ^ 0xff) * 16777619u;
	}
	return h;
}

/* A retransmission of a request accepted moments ago? */
static const struct accepted *recently_accepted(const struct auth *a, uint32_t h, time_t now)
{
	for (size_t i = 0; i < ACCEPTED_RING; i++)
		if (a->ring[i].hash == h && a->ring[i].at && now - a->ring[i].at <= ACCEPTED_KEEP_S)
			return &a->ring[i];
	return NULL;
}

static void remember_accepted(struct auth *a, uint32_t h, const char *peer, time_t now)
{
	struct accepted *e = &a->ring[a->ring_next++ % ACCEPTED_RING];

	e->hash = h;
	e->at = now;
	snprintf(e->peer, sizeof(e->peer), "%s", peer);
}

/* The peer this username may authenticate as, for this request; NULL when
 * none (unknown, no secret, or a REGISTER for another AOR or a trunk). */
static const struct conf_peer *peer_for(const struct conf *conf, const osip_message_t *req,
					const char *username)
{
	const struct conf_peer *peer = conf_peer_find(conf, username);

	if (!peer || !peer->secret)
		return NULL;
	if (is_register(req)) {
		/* a peer registers its own AOR, and only a dynamic peer registers */
		const char *aor = req->to && req->to->url ? req->to->url->username : NULL;
		if (peer->host || !aor || strcmp(aor, username) != 0)
			return NULL;
	}
	return peer;
}

void auth_check(struct auth *a, const struct conf *conf, const osip_message_t *req,
		struct in_addr src, time_t now, struct auth_result *out)
{
	struct digest_credentials cred;
	char ha1[DIGEST_HEX_MAX];

	out->peer = NULL;
	out->verdict = AUTH_CHALLENGE;
	if (!credentials_for(req, conf->realm, &cred))
		return;

	uint32_t h = request_hash(&cred, req);
	const struct accepted *again = recently_accepted(a, h, now);
	if (again) {
		out->peer = conf_peer_find(conf, again->peer);
		out->verdict = out->peer ? AUTH_OK : AUTH_CHALLENGE;
		return;
	}

	enum nonce_state ns = nonce_check(cred.nonce, src, conf->realm, now);
	if (ns == NONCE_INVALID)
		return; /* not a nonce of ours: a fresh challenge, as for no credentials */

	/* The same work whether or not the user exists (R30). */
	const struct conf_peer *peer = peer_for(conf, req, cred.username);
	digest_ha1(cred.alg, cred.username, conf->realm, peer ? peer->secret : DUMMY_SECRET, ha1);
	bool good = digest_response_ok(&cred, req->sip_method, ha1);
	good = good && peer != NULL && alg_allowed(conf, peer, cred.alg);
	a->computations++;

	if (ns == NONCE_STALE) {
		/* stale=true only for a right digest (R32): a wrong one on an old
		 * nonce gets the plain challenge an unknown user gets */
		out->verdict = good ? AUTH_STALE : AUTH_CHALLENGE;
		return;
	}
	if (!good) {
		out->verdict = (!peer && !conf->alwaysauthreject) ? AUTH_NOT_FOUND : AUTH_FORBIDDEN;
		return;
	}
	if (!nonce_counts_fresh(a->counts, cred.nonce, cred.has_qop ? cred.nc : NULL)) {
		/* credentials replayed in a new request */
		return;
	}
	nonce_counts_accept(a->counts, cred.nonce, cred.has_qop ? cred.nc : NULL, now);
	remember_accepted(a, h, peer->name, now);
	out->peer = peer;
	out->verdict = AUTH_OK;
}

osip_message_t *auth_answer(const struct conf *conf, const osip_message_t *req,
			    enum auth_verdict verdict, struct in_addr src, time_t now)
{
	char nonce[NONCE_LEN + 1], value[512];
	bool reg = is_register(req);
	osip_message_t *resp;

	switch (verdict) {
	case AUTH_FORBIDDEN:
		return sip_reply_build(req, 403, NULL);
	case AUTH_NOT_FOUND:
		return sip_reply_build(req, 404, NULL);
	case AUTH_OK:
		return NULL;
	case AUTH_CHALLENGE:
	case AUTH_STALE:
		break;
	}
	resp = sip_reply_build(req, reg ? 401 : 407, NULL);
	if (!resp)
		return NULL;
	nonce_make(src, conf->realm, now, nonce);
	/* RFC 8760 section 2.4 / RFC 7616 3.7: one challenge per algorithm,
	 * the most preferred first. Only general.digestalgs shapes them: they
	 * go out before anyone is known, so a per-peer choice here would tell
	 * a scanner which users exist (R28-R30). */
	for (size_t i = 0; i < conf->digestalgs.count; i++) {
		if (!digest_challenge(alg_of(conf->digestalgs.alg[i]), conf->realm, nonce,
				      verdict == AUTH_STALE, value, sizeof(value)) ||
		    sip_reply_add_header(resp, reg ? "WWW-Authenticate" : "Proxy-Authenticate", value) != 0) {
			osip_message_free(resp);
			return NULL;
		}
	}
	return resp;
}

static void drop_headers(osip_message_t *req, const char *name)
{
	osip_header_t *h;
	int pos;

	while ((pos = osip_message_header_get_byname(req, name, 0, &h)) >= 0) {
		osip_list_remove(&req->headers, pos);
		osip_header_free(h);
	}
}

static void drop_authorizations(osip_list_t *list)
{
	osip_authorization_t *h;

	while ((h = osip_list_get(list, 0)) != NULL) {
		osip_list_remove(list, 0);
		osip_authorization_free(h);
	}
}

int auth_assert_identity(osip_message_t *req, const struct conf_peer *peer, struct in_addr host,
			 uint16_t port)
{
	char ip[INET_ADDRSTRLEN], value[256];

	drop_authorizations(&req->authorizations);
	drop_authorizations(&req->proxy_authorizations);
	/* Identity is sipnatd's to assert, never the sender's (RFC 3325 trust
	 * domain: the PBX trusts sipnatd, not the Internet). */
	drop_headers(req, "p-asserted-identity");
	drop_headers(req, "p-preferred-identity");
	drop_headers(req, "remote-party-id");
	inet_ntop(AF_INET, &host, ip, sizeof(ip));
	snprintf(value, sizeof(value), "<sip:%s@%s:%u>", peer->name, ip, port);
	return sip_reply_add_header(req, "P-Asserted-Identity", value);
}
