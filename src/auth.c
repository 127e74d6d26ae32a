/*
 * auth: digest authentication of Internet requests. Step 4 of the SIP path
 * (receive -> parse -> classify -> authenticate -> route -> rewrite -> send).
 * Nonces are stateless (nonce.c); what is remembered is bounded: the highest
 * nonce-count per nonce, and the last accepted and refused requests, so that a
 * retransmission of an accepted request is accepted again while a replay of
 * its credentials in a new request is not.
 *
 * Guessing (issue 11). Every request whose digest was computed against a
 * password tells its sender whether the password was right, so every such
 * request with a wrong digest is a failure that counts toward the ban
 * (auth_result.failed), whatever the nonce's age and whether or not the user
 * exists. The paths that do not count compute nothing that depends on the
 * password: no credentials, a nonce that is not ours or another address's,
 * a byte-identical retransmission (the same guess again, answered the same).
 *
 * Replay. A retransmission is the very datagram again from the same address
 * and port within the transaction window (Timer B/F, 64 * T1 = 32 s): RFC 3261
 * 17.1.1.2 retransmits the same request, and every stack resends its buffer.
 * Anything else that carries credentials already accepted is a new request
 * and gets a fresh challenge (also a phone's own retransmission after its
 * NAT mapping moved to another port: it answers the challenge, a new
 * transaction); that is not counted, because a phone that
 * resends cached credentials on its next request (RFC 2617 3.3) does just
 * that and must not be banned for it. The digest uri= must name the
 * Request-URI (RFC 7616 3.4.6), compared by value (sip_uri.h); when it does
 * not, the credentials were not made for this request: 400, counted (a
 * conforming phone never sends it; no digest is computed for it).
 */
#include "auth.h"

#include "auth_digest.h"
#include "nonce.h"
#include "sip_reply.h"
#include "sip_uri.h"

#include <openssl/evp.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ACCEPTED_RING 512
#define REFUSED_RING 256
/* Timer B/F: how long a client transaction retransmits (RFC 3261 17.1.1.2). */
#define RETRANSMIT_WINDOW_S 32
#define NONCE_TABLE 4096
#define DATAGRAM_KEY_LEN 32
/* Unknown users are checked against this, so that they cost the same hashing
 * as known ones and can never match (the HA1 of a secret nobody knows). */
#define DUMMY_SECRET "\x01sipnatd-no-such-peer\x01"

/* A request judged moments ago, by its datagram and source. */
struct judged {
	uint8_t key[DATAGRAM_KEY_LEN];
	time_t at;
	enum auth_verdict verdict;
	char peer[64];
};

/* Accepted and refused requests are kept apart, so that a guesser's refused
 * requests never push a phone's accepted ones out. */
struct judged_ring {
	struct judged *entries;
	size_t size, next;
};

struct auth {
	struct nonce_counts *counts;
	struct judged accepted_entries[ACCEPTED_RING];
	struct judged refused_entries[REFUSED_RING];
	struct judged_ring accepted, refused;
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
	a->accepted = (struct judged_ring){ .entries = a->accepted_entries, .size = ACCEPTED_RING };
	a->refused = (struct judged_ring){ .entries = a->refused_entries, .size = REFUSED_RING };
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
	case AUTH_BAD_URI: return "digest uri is not the request-uri";
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
			if (auth_digest_parse(h, cred) && strcmp(cred->realm, realm) == 0)
				return h;
		}
	}
	return NULL;
}

/* SHA-256 over the source address, port and every byte of the datagram: two
 * requests share a key only when they are the same datagram from the same
 * place. A collision-resistant hash, because the sender chooses the bytes. */
static bool datagram_key(const struct netaddr *src, const void *datagram, size_t len,
			 uint8_t key[DATAGRAM_KEY_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned key_len = 0;
	uint16_t port = htons(src->port);
	bool v6 = src->family == AF_INET6;
	const void *ip = v6 ? (const void *)src->ip.v6.s6_addr : (const void *)&src->ip.v4.s_addr;
	size_t ip_len = v6 ? sizeof(src->ip.v6.s6_addr) : sizeof(src->ip.v4.s_addr);
	bool ok = ctx && datagram && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		  EVP_DigestUpdate(ctx, ip, ip_len) && EVP_DigestUpdate(ctx, &port, sizeof(port)) &&
		  EVP_DigestUpdate(ctx, datagram, len) && EVP_DigestFinal_ex(ctx, key, &key_len) &&
		  key_len == DATAGRAM_KEY_LEN;

	EVP_MD_CTX_free(ctx);
	return ok;
}

/* The same datagram judged within the retransmission window? */
static const struct judged *judged_find(const struct judged_ring *r, const uint8_t *key, time_t now)
{
	for (size_t i = 0; i < r->size; i++) {
		const struct judged *e = &r->entries[i];
		if (e->at && now - e->at <= RETRANSMIT_WINDOW_S && now >= e->at &&
		    memcmp(e->key, key, DATAGRAM_KEY_LEN) == 0)
			return e;
	}
	return NULL;
}

static void judged_remember(struct judged_ring *r, const uint8_t *key, enum auth_verdict verdict,
			    const char *peer, time_t now)
{
	struct judged *e = &r->entries[r->next++ % r->size];

	memcpy(e->key, key, DATAGRAM_KEY_LEN);
	e->at = now;
	e->verdict = verdict;
	snprintf(e->peer, sizeof(e->peer), "%s", peer ? peer : "");
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

/* A refusal that counts toward the ban; its retransmissions get the same
 * verdict without counting again. */
static void refuse(struct auth *a, const uint8_t *key, bool have_key, enum auth_verdict verdict,
		   time_t now, struct auth_result *out)
{
	out->verdict = verdict;
	out->failed = true;
	if (have_key)
		judged_remember(&a->refused, key, verdict, NULL, now);
}

void auth_check(struct auth *a, const struct conf *conf, const osip_message_t *req,
		const struct netaddr *src, const void *datagram, size_t len, time_t now,
		struct auth_result *out)
{
	struct digest_credentials cred;
	uint8_t key[DATAGRAM_KEY_LEN];
	char ha1[DIGEST_HEX_MAX];

	out->peer = NULL;
	out->verdict = AUTH_CHALLENGE;
	out->failed = false;
	if (!credentials_for(req, conf->realm, &cred))
		return;

	/* Without a key every request is judged anew: safe, only stricter. */
	bool have_key = datagram_key(src, datagram, len, key);
	const struct judged *again = have_key ? judged_find(&a->accepted, key, now) : NULL;
	if (again) {
		out->peer = conf_peer_find(conf, again->peer);
		out->verdict = out->peer ? AUTH_OK : AUTH_CHALLENGE;
		return;
	}
	again = have_key ? judged_find(&a->refused, key, now) : NULL;
	if (again) {
		out->verdict = again->verdict; /* the same guess: already counted */
		return;
	}

	enum nonce_state ns = nonce_check(cred.nonce, src, conf->realm, now);
	if (ns == NONCE_INVALID)
		return; /* not a nonce of ours: a fresh challenge, as for no credentials */
	if (!sip_uri_text_same(cred.uri, req->req_uri)) {
		refuse(a, key, have_key, AUTH_BAD_URI, now, out);
		return;
	}

	/* The same work whether or not the user exists (R30). */
	const struct conf_peer *peer = peer_for(conf, req, cred.username);
	auth_digest_ha1(cred.alg, cred.username, conf->realm, peer ? peer->secret : DUMMY_SECRET, ha1);
	bool good = auth_digest_response_ok(&cred, req->sip_method, ha1);
	good = good && peer != NULL && alg_allowed(conf, peer, cred.alg);
	a->computations++;

	if (!good) {
		/* A wrong digest on an expired nonce gets the plain challenge an
		 * unknown user gets (R32), and counts like any other (issue 11:
		 * it told the sender the password was wrong). */
		if (ns == NONCE_STALE)
			refuse(a, key, have_key, AUTH_CHALLENGE, now, out);
		else
			refuse(a, key, have_key,
			       (!peer && !conf->alwaysauthreject) ? AUTH_NOT_FOUND : AUTH_FORBIDDEN, now, out);
		return;
	}
	if (ns == NONCE_STALE) {
		/* stale=true only for a right digest (R32) */
		out->verdict = AUTH_STALE;
		return;
	}
	if (!nonce_counts_fresh(a->counts, cred.nonce, cred.has_qop ? cred.nc : NULL)) {
		/* credentials already used, in another request */
		return;
	}
	nonce_counts_accept(a->counts, cred.nonce, cred.has_qop ? cred.nc : NULL, now);
	if (have_key)
		judged_remember(&a->accepted, key, AUTH_OK, peer->name, now);
	out->peer = peer;
	out->verdict = AUTH_OK;
}

osip_message_t *auth_answer(const struct conf *conf, const osip_message_t *req,
			    enum auth_verdict verdict, const struct netaddr *src, time_t now)
{
	char nonce[NONCE_LEN + 1], value[512];
	bool reg = is_register(req);
	osip_message_t *resp;

	switch (verdict) {
	case AUTH_FORBIDDEN:
		return sip_reply_build(req, 403, NULL);
	case AUTH_NOT_FOUND:
		return sip_reply_build(req, 404, NULL);
	case AUTH_BAD_URI:
		return sip_reply_build(req, 400, NULL);
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
		if (!auth_digest_challenge(alg_of(conf->digestalgs.alg[i]), conf->realm, nonce,
				      verdict == AUTH_STALE, value, sizeof(value)) ||
		    sip_reply_add_header(resp, reg ? "WWW-Authenticate" : "Proxy-Authenticate", value) != 0) {
			osip_message_free(resp);
			return NULL;
		}
	}
	return resp;
}

/* Remove every header named one of names (case-insensitive, as
 * osip_message_header_get_byname compares), in one walk. */
static void drop_headers(osip_message_t *req, const char *const names[], size_t count)
{
	osip_header_t *h;

	for (int pos = 0; (h = osip_list_get(&req->headers, pos)) != NULL;) {
		bool drop = false;
		for (size_t i = 0; h->hname && !drop && i < count; i++)
			drop = osip_strcasecmp(h->hname, names[i]) == 0;
		if (drop) {
			osip_list_remove(&req->headers, pos);
			osip_header_free(h);
		} else {
			pos++;
		}
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

int auth_assert_identity(osip_message_t *req, const struct conf_peer *peer,
			 const struct netaddr *host)
{
	char ip[NETADDR_HOST_MAX], value[256];

	drop_authorizations(&req->authorizations);
	drop_authorizations(&req->proxy_authorizations);
	/* Identity is sipnatd's to assert, never the sender's (RFC 3325 trust
	 * domain: the PBX trusts sipnatd, not the Internet). */
	static const char *const identity[] = { "p-asserted-identity", "p-preferred-identity",
						"remote-party-id" };
	drop_headers(req, identity, sizeof(identity) / sizeof(identity[0]));
	/* "<sip:name@host:port>", cut to fit as snprintf would (no stdio: this
	 * runs for every request from a peer) */
	char port[6];
	netaddr_port_str(host->port, port);
	const char *piece[] = { "<sip:", peer->name, "@", netaddr_sip_host(host, ip), ":", port, ">" };
	size_t n = 0;
	for (size_t i = 0; i < sizeof(piece) / sizeof(piece[0]); i++)
		for (const char *c = piece[i]; *c && n + 1 < sizeof(value); c++)
			value[n++] = *c;
	value[n] = '\0';
	return sip_reply_add_header(req, "P-Asserted-Identity", value);
}
