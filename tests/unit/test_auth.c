/*
 * Unit tests for auth.c: the authenticate step's verdicts and answers (design
 * section 6; R30 uniformity, R32 nonces). Credentials are computed here with
 * auth_digest.h on the nonce of a real challenge, the way a phone does.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "auth_digest.h"
#include "conf.h"
#include "nonce.h"
#include "secret.h"
#include "sip_samples.h"
#include "sipmsg.h"
#include "../support/digest_line.h"

#define T0 ((time_t)1700000000)
#define REALM "sipnatd"
#define CNONCE "0a4f113b"

#define CONF_TEXT(reject)                                                                     \
	"general: {\n"                                                                        \
	"  localnet = [ \"192.168.0.0/24\" ]; pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n" \
	"  realm = \"" REALM "\"; alwaysauthreject = " reject "; digestalgs = \"md5,sha256\";\n" \
	"};\n"                                                                                \
	"peers: (\n"                                                                          \
	"  { name = \"alice\"; secret = \"alice-secret\"; },\n"                               \
	"  { name = \"bob\"; secret = \"bob-secret\"; },\n"                                   \
	"  { name = \"trunk\"; secret = \"trunk-secret\"; host = \"198.51.100.20\"; }\n"      \
	");\n"

static struct conf *conf_reject, *conf_plain;
static struct auth *a;
/* The phone and another host: IPv4 in the "auth" case, IPv6 in "auth IPv6"
 * (the same checks, so that every rule holds for both families). */
static struct netaddr src, elsewhere;
static const char *src_text = "203.0.113.5", *elsewhere_text = "198.51.100.77";

static void setup(void)
{
	char err[CONF_ERR_MAX];

	conf_reject = conf_load_string(CONF_TEXT("true"), "reject.conf", err);
	ck_assert_msg(conf_reject != NULL, "%s", err);
	conf_plain = conf_load_string(CONF_TEXT("false"), "plain.conf", err);
	ck_assert_msg(conf_plain != NULL, "%s", err);
	ck_assert_str_eq(conf_reject->realm, REALM);
	a = auth_new();
	ck_assert_ptr_nonnull(a);
	ck_assert(netaddr_parse_ip(src_text, &src));
	ck_assert(netaddr_parse_ip(elsewhere_text, &elsewhere));
}

static void setup6(void)
{
	/* elsewhere is in the phone's own /64: a nonce is bound to the address */
	src_text = "2001:db8:5::5";
	elsewhere_text = "2001:db8:5::77";
	setup();
}

static void teardown(void)
{
	auth_free(a);
	conf_free(conf_reject);
	conf_free(conf_plain);
}

/* A request to ruri (NULL: sip:[to_user@]sipnatd.example.com); auth_line is
 * a whole header line ("Authorization: ...") or NULL. */
static osip_message_t *request_to(const char *method, const char *ruri, const char *to_user,
				  const char *call_id, unsigned cseq, const char *auth_line,
				  const char *extra)
{
	char text[4096], default_ruri[256];
	osip_message_t *msg = NULL;
	const char *why = NULL;
	bool reg = strcmp(method, "REGISTER") == 0;

	snprintf(default_ruri, sizeof(default_ruri), "sip:%s%ssipnatd.example.com", reg ? "" : to_user,
		 reg ? "" : "@");
	snprintf(text, sizeof(text),
		 "%s %s SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bK-%s-%u;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@sipnatd.example.com>;tag=fromtag1\r\n"
		 "To: <sip:%s@sipnatd.example.com>\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u %s\r\n"
		 "Contact: <sip:alice@192.168.1.5:5062>\r\n"
		 "%s%s%s"
		 "Content-Length: 0\r\n\r\n",
		 method, ruri ? ruri : default_ruri, call_id, cseq, to_user, call_id, cseq,
		 method, auth_line ? auth_line : "", auth_line ? "\r\n" : "", extra ? extra : "");
	enum sipmsg_status st = text_parse(text, &msg, &why);
	ck_assert_msg(st == SIPMSG_OK, "%s: %s", sipmsg_status_name(st), why);
	return msg;
}

static osip_message_t *request(const char *method, const char *to_user, const char *call_id,
			       unsigned cseq, const char *auth_line, const char *extra)
{
	return request_to(method, NULL, to_user, call_id, cseq, auth_line, extra);
}

/* The header line a phone would send for user/secret on nonce, for the
 * digest uri (NULL: the Request-URI request() writes). */
static void credentials_for_uri(char *out, size_t len, const char *method, enum digest_alg alg,
				const char *user, const char *secret, const char *nonce,
				const char *nc, const char *uri)
{
	bool reg = strcmp(method, "REGISTER") == 0;

	digest_line(out, len,
		    &(struct digest_line){ .method = method, .alg = alg, .user = user, .realm = REALM,
					   .password = secret, .nonce = nonce,
					   .uri = uri ? uri : reg ? "sip:sipnatd.example.com"
								  : "sip:100@sipnatd.example.com",
					   .cnonce = CNONCE, .nc = nc });
}

static void credentials(char *out, size_t len, const char *method, enum digest_alg alg,
			const char *user, const char *secret, const char *nonce, const char *nc)
{
	credentials_for_uri(out, len, method, alg, user, secret, nonce, nc, NULL);
}

static char *serialize(osip_message_t *msg)
{
	char *buf = NULL;
	size_t len = 0;

	ck_assert_int_eq(sipmsg_serialize(msg, &buf, &len), 0);
	char *copy = strdup(buf);
	osip_free(buf);
	ck_assert_ptr_nonnull(copy);
	return copy;
}

/* auth_check on req as the datagram it serialises to, sent from ip:port. */
static void judge_from(const struct conf *conf, osip_message_t *req, struct netaddr ip, uint16_t port,
		       time_t now, struct auth_result *r)
{
	struct netaddr from = ip;
	char *text = serialize(req);

	from.port = port;
	auth_check(a, conf, req, &from, text, strlen(text), now, r);
	free(text);
}

static void judge(const struct conf *conf, osip_message_t *req, struct netaddr ip, time_t now,
		  struct auth_result *r)
{
	judge_from(conf, req, ip, 5062, now, r);
}

/* The nonce of the first challenge in text (out holds NONCE_LEN + 1). */
static void nonce_of(const char *text, char *out, size_t len)
{
	const char *p = strstr(text, "nonce=\"");
	ck_assert_ptr_nonnull(p);
	p += strlen("nonce=\"");
	const char *q = strchr(p, '"');
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_lt((size_t)(q - p), len);
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
}

/* Challenge req (no credentials) and return the nonce it was given. */
static void challenge(const struct conf *conf, const char *method, char *nonce, size_t len)
{
	osip_message_t *req = request(method, strcmp(method, "REGISTER") == 0 ? "alice" : "100",
				      "challenge-call", 1, NULL, NULL);
	struct auth_result r;

	judge(conf, req, src, T0, &r);
	ck_assert_int_eq(r.verdict, AUTH_CHALLENGE);
	osip_message_t *resp = auth_answer(conf, req, r.verdict, &src, T0);
	ck_assert_ptr_nonnull(resp);
	char *text = serialize(resp);
	nonce_of(text, nonce, len);
	free(text);
	osip_message_free(resp);
	osip_message_free(req);
}

/* Did the last check() count as an authentication failure? */
static bool last_failed;

static enum auth_verdict check(const struct conf *conf, osip_message_t *req, time_t now,
			       const struct conf_peer **peer)
{
	struct auth_result r;

	judge(conf, req, src, now, &r);
	if (peer)
		*peer = r.peer;
	if (r.verdict != AUTH_OK)
		ck_assert_ptr_null(r.peer);
	last_failed = r.failed;
	return r.verdict;
}

/* How many header lines of text start with prefix. */
static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p; p = strstr(p, "\r\n")) {
		if (p != text)
			p += 2;
		if (strncasecmp(p, prefix, strlen(prefix)) == 0)
			n++;
	}
	return n;
}

/* Remove what follows each occurrence of key up to a delimiter. */
static void blank(char *s, const char *key)
{
	char *p = s;

	while ((p = strstr(p, key)) != NULL) {
		p += strlen(key);
		char *e = p + strcspn(p, ";,\"\r\n> ");
		memmove(p, e, strlen(e) + 1);
	}
}

START_TEST(no_credentials_register)
{
	osip_message_t *req = request("REGISTER", "alice", "c1", 1, NULL, NULL);
	struct auth_result r;
	char n1[NONCE_LEN + 8], n2[NONCE_LEN + 8];

	judge(conf_reject, req, src, T0, &r);
	ck_assert_int_eq(r.verdict, AUTH_CHALLENGE);
	ck_assert_ptr_null(r.peer);
	osip_message_t *resp = auth_answer(conf_reject, req, r.verdict, &src, T0);
	ck_assert_ptr_nonnull(resp);
	ck_assert_int_eq(osip_message_get_status_code(resp), 401);
	char *text = serialize(resp);
	ck_assert_int_eq(count_lines(text, "WWW-Authenticate: Digest "), 2);
	ck_assert_int_eq(count_lines(text, "Proxy-Authenticate: "), 0);
	assert_prefix(text, "SIP/2.0 401 ");
	const char *md5 = strstr(text, "algorithm=MD5");
	const char *sha = strstr(text, "algorithm=SHA-256");
	ck_assert_ptr_nonnull(md5);
	ck_assert_ptr_nonnull(sha);
	ck_assert(md5 < sha);
	ck_assert_ptr_null(strstr(text, "stale"));
	ck_assert_ptr_null(strstr(text, "Proxy-Authenticate"));
	/* both carry the same nonce, valid for src only */
	nonce_of(text, n1, sizeof(n1));
	nonce_of(strstr(text, "nonce=\"") + 1, n2, sizeof(n2));
	ck_assert_str_eq(n1, n2);
	ck_assert_uint_eq(strlen(n1), NONCE_LEN);
	ck_assert_int_eq(nonce_check(n1, &src, REALM, T0), NONCE_VALID);
	ck_assert_int_eq(nonce_check(n1, &elsewhere, REALM, T0), NONCE_INVALID);
	free(text);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

START_TEST(no_credentials_invite)
{
	osip_message_t *req = request("INVITE", "100", "c1", 1, NULL, NULL);
	struct auth_result r;

	judge(conf_reject, req, src, T0, &r);
	ck_assert_int_eq(r.verdict, AUTH_CHALLENGE);
	osip_message_t *resp = auth_answer(conf_reject, req, r.verdict, &src, T0);
	ck_assert_ptr_nonnull(resp);
	ck_assert_int_eq(osip_message_get_status_code(resp), 407);
	char *text = serialize(resp);
	ck_assert_int_eq(count_lines(text, "Proxy-Authenticate: Digest "), 2);
	ck_assert_int_eq(count_lines(text, "WWW-Authenticate: "), 0);
	assert_prefix(text, "SIP/2.0 407 ");
	ck_assert_ptr_nonnull(strstr(text, "algorithm=SHA-256"));
	ck_assert(strstr(text, "algorithm=MD5") && strstr(text, "algorithm=MD5") < strstr(text, "algorithm=SHA-256"));
	ck_assert_ptr_nonnull(strstr(text, "realm=\"" REALM "\""));
	free(text);
	osip_message_free(resp);
	/* AUTH_OK has no answer */
	ck_assert_ptr_null(auth_answer(conf_reject, req, AUTH_OK, &src, T0));
	osip_message_free(req);
}
END_TEST

START_TEST(right_credentials)
{
	char nonce[NONCE_LEN + 8], line[1024];
	const struct conf_peer *peer = NULL;

	for (int alg = DIGEST_MD5; alg <= DIGEST_SHA256; alg++) {
		challenge(conf_reject, "REGISTER", nonce, sizeof(nonce));
		credentials(line, sizeof(line), "REGISTER", (enum digest_alg)alg, "alice",
			    "alice-secret", nonce, "00000001");
		osip_message_t *req = request("REGISTER", "alice", alg ? "r-sha" : "r-md5", 2, line, NULL);
		ck_assert_int_eq(check(conf_reject, req, T0 + 1, &peer), AUTH_OK);
		ck_assert_ptr_nonnull(peer);
		ck_assert_str_eq(peer->name, "alice");
		osip_message_free(req);
	}
	/* an INVITE with Proxy-Authorization */
	challenge(conf_reject, "INVITE", nonce, sizeof(nonce));
	credentials(line, sizeof(line), "INVITE", DIGEST_MD5, "alice", "alice-secret", nonce, "00000001");
	osip_message_t *req = request("INVITE", "100", "i1", 1, line, NULL);
	ck_assert_int_eq(check(conf_reject, req, T0 + 1, &peer), AUTH_OK);
	ck_assert_str_eq(peer->name, "alice");
	osip_message_free(req);
	/* a trunk may place calls with its credentials */
	challenge(conf_reject, "INVITE", nonce, sizeof(nonce));
	credentials(line, sizeof(line), "INVITE", DIGEST_MD5, "trunk", "trunk-secret", nonce, "00000001");
	req = request("INVITE", "100", "i2", 1, line, NULL);
	ck_assert_int_eq(check(conf_reject, req, T0 + 1, &peer), AUTH_OK);
	ck_assert_str_eq(peer->name, "trunk");
	osip_message_free(req);
}
END_TEST

START_TEST(wrong_password_and_unknown_user)
{
	char nonce[NONCE_LEN + 8], line[1024];
	osip_message_t *req;

	challenge(conf_reject, "REGISTER", nonce, sizeof(nonce));
	credentials(line, sizeof(line), "REGISTER", DIGEST_MD5, "alice", "wrong", nonce, "00000001");
	req = request("REGISTER", "alice", "w1", 2, line, NULL);
	ck_assert_int_eq(check(conf_reject, req, T0 + 1, NULL), AUTH_FORBIDDEN);
	ck_assert(last_failed);
	osip_message_t *resp = auth_answer(conf_reject, req, AUTH_FORBIDDEN, &src, T0 + 1);
	ck_assert_int_eq(osip_message_get_status_code(resp), 403);
	osip_message_free(resp);
	osip_message_free(req);
	/* (another Call-ID each time: the very same datagram again would be
	 * taken as a retransmission and answered as before) */
	req = request("REGISTER", "alice", "w1b", 2, line, NULL);
	ck_assert_int_eq(check(conf_plain, req, T0 + 1, NULL), AUTH_FORBIDDEN);
	ck_assert(last_failed);
	osip_message_free(req);

	credentials(line, sizeof(line), "REGISTER", DIGEST_MD5, "mallory", "whatever", nonce, "00000001");
	req = request("REGISTER", "mallory", "w2", 2, line, NULL);
	ck_assert_int_eq(check(conf_reject, req, T0 + 1, NULL), AUTH_FORBIDDEN);
	ck_assert(last_failed);
	osip_message_free(req);
	req = request("REGISTER", "mallory", "w2b", 2, line, NULL);
	ck_assert_int_eq(check(conf_plain, req, T0 + 1, NULL), AUTH_NOT_FOUND);
	ck_assert(last_failed);
	resp = auth_answer(conf_plain, req, AUTH_NOT_FOUND, &src, T0 + 1);
	ck_assert_int_eq(osip_message_get_status_code(resp), 404);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

START_TEST(uniform_answers)
{
	char nonce[NONCE_LEN + 8], line[1024];
	char *texts[2];
	struct auth_result r;

	challenge(conf_reject, "INVITE", nonce, sizeof(nonce));
	for (int i = 0; i < 2; i++) {
		if (i == 0)
			credentials(line, sizeof(line), "INVITE", DIGEST_MD5, "alice", "wrong", nonce, "00000001");
		else
			credentials(line, sizeof(line), "INVITE", DIGEST_MD5, "mallory", "x", nonce, "00000001");
		osip_message_t *req = request("INVITE", "100", "same-call", 1, line, NULL);
		unsigned long before = auth_digest_computations(a);
		judge(conf_reject, req, src, T0 + 1, &r);
		/* the same hashing work for a known and an unknown user */
		ck_assert_uint_eq(auth_digest_computations(a), before + 1);
		ck_assert_int_eq(r.verdict, AUTH_FORBIDDEN);
		osip_message_t *resp = auth_answer(conf_reject, req, r.verdict, &src, T0 + 1);
		ck_assert_ptr_nonnull(resp);
		texts[i] = serialize(resp);
		blank(texts[i], "tag=");
		blank(texts[i], "nonce=\"");
		osip_message_free(resp);
		osip_message_free(req);
	}
	ck_assert_str_eq(texts[0], texts[1]);
	free(texts[0]);
	free(texts[1]);

	/* and the challenges on an expired nonce with a wrong digest */
	nonce_make(&src, REALM, T0 - 100, nonce);
	for (int i = 0; i < 2; i++) {
		if (i == 0)
			credentials(line, sizeof(line), "INVITE", DIGEST_MD5, "alice", "wrong", nonce, "00000001");
		else
			credentials(line, sizeof(line), "INVITE", DIGEST_MD5, "mallory", "x", nonce, "00000001");
		osip_message_t *req = request("INVITE", "100", "same-call-2", 1, line, NULL);
		unsigned long before = auth_digest_computations(a);
		judge(conf_reject, req, src, T0, &r);
		ck_assert_uint_eq(auth_digest_computations(a), before + 1);
		ck_assert_int_eq(r.verdict, AUTH_CHALLENGE);
		osip_message_t *resp = auth_answer(conf_reject, req, r.verdict, &src, T0 + i);
		texts[i] = serialize(resp);
		blank(texts[i], "tag=");
		blank(texts[i], "nonce=\"");
		osip_message_free(resp);
		osip_message_free(req);
	}
	ck_assert_str_eq(texts[0], texts[1]);
	free(texts[0]);
	free(texts[1]);
}
END_TEST

START_TEST(nonce_of_another_address)
{
	char nonce[NONCE_LEN + 1], line[1024];

	nonce_make(&elsewhere, REALM, T0, nonce);
	credentials(line, sizeof(line), "REGISTER", DIGEST_MD5, "alice", "alice-secret", nonce, "00000001");
	osip_message_t *req = request("REGISTER", "alice", "x1", 2, line, NULL);
	ck_assert_int_eq(check(conf_reject, req, T0 + 1, NULL), AUTH_CHALLENGE);
	/* a nonce that is not ours at all */
	osip_message_free(req);
	credentials(line, sizeof(line), "REGISTER", DIGEST_MD5, "alice", "alice-secret",
		    "bm90LWEtbm9uY2Utb2Ytb3Vycw", "00000001");
	req = request("REGISTER", "alice", "x2", 2, line, NULL);
	ck_assert_int_eq(check(conf_reject, req, T0 + 1, NULL), AUTH_CHALLENGE);
	osip_message_free(req);
}
END_TEST

START_TEST(expired_nonce)
{
	char nonce[NONCE_LEN + 1], line[1024];
	struct auth_result r;

	nonce_make(&src, REALM, T0 - NONCE_LIFETIME_S - 10, nonce);
	ck_assert_int_eq(nonce_check(nonce, &src, REALM, T0), NONCE_STALE);
	credentials(line, sizeof(line), "REGISTER", DIGEST_MD5, "alice", "alice-secret", nonce, "00000001");
	osip_message_t *req = request("REGISTER", "alice", "s1", 2, line, NULL);
	judge(conf_reject, req, src, T0, &r);
	ck_assert_int_eq(r.verdict, AUTH_STALE);
	ck_assert_ptr_null(r.peer);
	osip_message_t *resp = auth_answer(conf_reject, req, r.verdict, &src, T0);
	ck_assert_int_eq(osip_message_get_status_code(resp), 401);
	char *text = serialize(resp);
	ck_assert_ptr_nonnull(strstr(text, "stale=true"));
	ck_assert_ptr_nonnull(strstr(strstr(text, "stale=true") + 1, "stale=true")); /* both */
	char fresh[NONCE_LEN + 8];
	nonce_of(text, fresh, sizeof(fresh));
	ck_assert_str_ne(fresh, nonce);
	ck_assert_int_eq(nonce_check(fresh, &src, REALM, T0), NONCE_VALID);
	free(text);
	osip_message_free(resp);
	osip_message_free(req);

	/* a wrong digest on an expired nonce: a plain challenge */
	credentials(line, sizeof(line), "REGISTER", DIGEST_MD5, "alice", "wrong", nonce, "00000001");
	req = request("REGISTER", "alice", "s2", 2, line, NULL);
	judge(conf_reject, req, src, T0, &r);
	ck_assert_int_eq(r.verdict, AUTH_CHALLENGE);
	resp = auth_answer(conf_reject, req, r.verdict, &src, T0);
	text = serialize(resp);
	ck_assert_ptr_null(strstr(text, "stale"));
	free(text);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

START_TEST(replay_and_retransmission)
{
	char nonce[NONCE_LEN + 8], line[1024];
	const struct conf_peer *peer = NULL;

	challenge(conf_reject, "REGISTER", nonce, sizeof(nonce));
	credentials(line, sizeof(line), "REGISTER", DIGEST_MD5, "alice", "alice-secret", nonce, "00000001");
	osip_message_t *req = request("REGISTER", "alice", "orig-call", 2, line, NULL);
	ck_assert_int_eq(check(conf_reject, req, T0 + 1, &peer), AUTH_OK);

	/* the same credentials in a new request: challenged */
	osip_message_t *replay = request("REGISTER", "alice", "other-call", 2, line, NULL);
	ck_assert_int_eq(check(conf_reject, replay, T0 + 2, NULL), AUTH_CHALLENGE);
	osip_message_free(replay);
	replay = request("REGISTER", "alice", "orig-call", 3, line, NULL);
	ck_assert_int_eq(check(conf_reject, replay, T0 + 2, NULL), AUTH_CHALLENGE);
	osip_message_free(replay);

	/* the accepted request retransmitted: accepted again */
	peer = NULL;
	ck_assert_int_eq(check(conf_reject, req, T0 + 3, &peer), AUTH_OK);
	ck_assert_ptr_nonnull(peer);
	ck_assert_str_eq(peer->name, "alice");
	osip_message_free(req);

	/* the next request on the same nonce with a higher nc is fine */
	credentials(line, sizeof(line), "REGISTER", DIGEST_MD5, "alice", "alice-secret", nonce, "00000002");
	req = request("REGISTER", "alice", "orig-call", 3, line, NULL);
	ck_assert_int_eq(check(conf_reject, req, T0 + 4, &peer), AUTH_OK);
	osip_message_free(req);
}
END_TEST

START_TEST(register_other_aor)
{
	char nonce[NONCE_LEN + 8], line[1024];

	challenge(conf_reject, "REGISTER", nonce, sizeof(nonce));
	/* alice's right credentials, registering bob's AOR */
	credentials(line, sizeof(line), "REGISTER", DIGEST_MD5, "alice", "alice-secret", nonce, "00000001");
	osip_message_t *req = request("REGISTER", "bob", "aor1", 2, line, NULL);
	ck_assert_int_eq(check(conf_reject, req, T0 + 1, NULL), AUTH_FORBIDDEN);
	osip_message_free(req);
	/* a trunk (host set) does not register, even its own AOR */
	credentials(line, sizeof(line), "REGISTER", DIGEST_MD5, "trunk", "trunk-secret", nonce, "00000001");
	req = request("REGISTER", "trunk", "aor2", 2, line, NULL);
	ck_assert_int_eq(check(conf_reject, req, T0 + 1, NULL), AUTH_FORBIDDEN);
	osip_message_free(req);
}
END_TEST

START_TEST(assert_identity)
{
	char nonce[NONCE_LEN + 8], line[1024];
	osip_header_t *h = NULL;
	struct netaddr host;

	challenge(conf_reject, "INVITE", nonce, sizeof(nonce));
	credentials(line, sizeof(line), "INVITE", DIGEST_MD5, "alice", "alice-secret", nonce, "00000001");
	osip_message_t *req = request(
		"INVITE", "100", "pai1", 1, line,
		"Authorization: Digest username=\"alice\", realm=\"other\", nonce=\"n\", uri=\"sip:x\", response=\"00\"\r\n"
		"P-Asserted-Identity: <sip:boss@pbx.example.com>\r\n"
		"P-Asserted-Identity: \"CEO\" <sip:ceo@pbx.example.com>\r\n"
		"P-Preferred-Identity: <sip:boss@pbx.example.com>\r\n"
		"Remote-Party-ID: <sip:boss@pbx.example.com>;party=calling\r\n");
	ck_assert_int_eq(osip_list_size(&req->authorizations), 1);
	ck_assert_int_eq(osip_list_size(&req->proxy_authorizations), 1);
	const struct conf_peer *peer = conf_peer_find(conf_reject, "alice");
	ck_assert_ptr_nonnull(peer);
	ck_assert(netaddr_parse("192.168.0.10:5060", &host));
	ck_assert_int_eq(auth_assert_identity(req, peer, &host), 0);

	ck_assert_int_eq(osip_list_size(&req->authorizations), 0);
	ck_assert_int_eq(osip_list_size(&req->proxy_authorizations), 0);
	ck_assert_int_lt(osip_message_header_get_byname(req, "p-preferred-identity", 0, &h), 0);
	ck_assert_int_lt(osip_message_header_get_byname(req, "remote-party-id", 0, &h), 0);
	int pos = osip_message_header_get_byname(req, "p-asserted-identity", 0, &h);
	ck_assert_int_ge(pos, 0);
	ck_assert_str_eq(h->hvalue, "<sip:alice@192.168.0.10:5060>");
	ck_assert_int_lt(osip_message_header_get_byname(req, "p-asserted-identity", pos + 1, &h), 0);

	char *text = serialize(req);
	ck_assert_ptr_null(strstr(text, "Authorization"));
	ck_assert_ptr_null(strstr(text, "boss"));
	ck_assert_ptr_null(strstr(text, "ceo"));
	ck_assert_ptr_nonnull(strstr(text, "<sip:alice@192.168.0.10:5060>"));
	free(text);
	osip_message_free(req);
}
END_TEST


/* A configuration with general.digestalgs = general_algs (NULL: the default)
 * and alice's own digestalgs = alice_algs (NULL: none). */
static struct conf *conf_algs(const char *general_algs, const char *alice_algs)
{
	char text[1024], err[CONF_ERR_MAX], g[64] = "", p[64] = "";

	if (general_algs)
		snprintf(g, sizeof(g), " digestalgs = \"%s\";", general_algs);
	if (alice_algs)
		snprintf(p, sizeof(p), " digestalgs = \"%s\";", alice_algs);
	snprintf(text, sizeof(text),
		 "general: {\n"
		 "  localnet = [ \"192.168.0.0/24\" ]; pbx = \"192.168.0.20\"; externip = \"203.0.113.7\";\n"
		 "  realm = \"" REALM "\";%s\n"
		 "};\n"
		 "peers: (\n"
		 "  { name = \"alice\"; secret = \"alice-secret\";%s },\n"
		 "  { name = \"bob\"; secret = \"bob-secret\"; }\n"
		 ");\n",
		 g, p);
	struct conf *conf = conf_load_string(text, "algs.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	return conf;
}

/* The algorithms of the challenges in text, in order, as "MD5,SHA-256". */
static void challenge_algs(const char *text, char *out, size_t len)
{
	out[0] = '\0';
	for (const char *p = text; (p = strstr(p, "Authenticate: Digest ")) != NULL; p++) {
		const char *alg = strstr(p, "algorithm=");
		ck_assert_ptr_nonnull(alg);
		alg += strlen("algorithm=");
		size_t n = strcspn(alg, ",\r\n");
		snprintf(out + strlen(out), len - strlen(out), "%s%.*s", out[0] ? "," : "", (int)n, alg);
	}
}

/* The answer to req under conf, as text with its tags, nonces and To user
 * blanked. */
static char *answer_text(const struct conf *conf, osip_message_t *req, time_t now,
			 enum auth_verdict *verdict)
{
	struct auth_result r;

	judge(conf, req, src, now, &r);
	*verdict = r.verdict;
	if (r.verdict == AUTH_OK)
		return strdup("ok");
	osip_message_t *resp = auth_answer(conf, req, r.verdict, &src, now);
	ck_assert_ptr_nonnull(resp);
	char *text = serialize(resp);
	blank(text, "tag=");
	blank(text, "nonce=\"");
	blank(text, "To: <sip:"); /* the AOR asked for, echoed as it came */
	osip_message_free(resp);
	return text;
}

static const struct {
	const char *setting;   /* NULL: the default */
	const char *sent;      /* the challenges, in order */
} alg_settings[] = {
	{ NULL, "MD5" },
	{ "md5", "MD5" },
	{ "sha256", "SHA-256" },
	{ "sha256,md5", "SHA-256,MD5" },
	{ "md5,sha256", "MD5,SHA-256" },
};
#define ALG_SETTINGS (sizeof(alg_settings) / sizeof(alg_settings[0]))

/* general.digestalgs decides the challenges and their order (RFC 8760: the
 * most preferred first), for REGISTER and INVITE, fresh and stale. */
/* Toward an IPv6 PBX the asserted host is bracketed (RFC 3261 25.1). */
START_TEST(assert_identity_ipv6)
{
	struct netaddr host;
	osip_message_t *req = request("INVITE", "100", "pai6", 1, NULL, NULL);
	osip_header_t *h = NULL;

	ck_assert(netaddr_parse("[2001:db8:1::10]:5060", &host));
	ck_assert_int_eq(auth_assert_identity(req, conf_peer_find(conf_reject, "alice"), &host), 0);
	ck_assert_int_ge(osip_message_header_get_byname(req, "p-asserted-identity", 0, &h), 0);
	ck_assert_str_eq(h->hvalue, "<sip:alice@[2001:db8:1::10]:5060>");
	osip_message_free(req);
}
END_TEST

START_TEST(challenges_follow_digestalgs)
{
	char algs[64], nonce[NONCE_LEN + 1], line[1024];

	for (size_t i = 0; i < ALG_SETTINGS; i++) {
		struct conf *conf = conf_algs(alg_settings[i].setting, NULL);
		for (int m = 0; m < 2; m++) {
			const char *method = m ? "INVITE" : "REGISTER";
			osip_message_t *req = request(method, m ? "100" : "alice", "order", 1, NULL, NULL);
			osip_message_t *resp = auth_answer(conf, req, AUTH_CHALLENGE, &src, T0);
			char *text = serialize(resp);
			challenge_algs(text, algs, sizeof(algs));
			ck_assert_msg(strcmp(algs, alg_settings[i].sent) == 0, "%s %s: sent %s",
				      alg_settings[i].setting ? alg_settings[i].setting : "default", method, algs);
			ck_assert_int_eq(count_lines(text, m ? "Proxy-Authenticate: " : "WWW-Authenticate: "),
					 (int)conf->digestalgs.count);
			free(text);
			osip_message_free(resp);
			osip_message_free(req);
		}
		/* a stale answer has the same challenges, each stale=true */
		const char *first = strstr(alg_settings[i].sent, "SHA") == alg_settings[i].sent ? "SHA-256" : "MD5";
		nonce_make(&src, REALM, T0 - NONCE_LIFETIME_S - 10, nonce);
		credentials(line, sizeof(line), "REGISTER", strcmp(first, "MD5") ? DIGEST_SHA256 : DIGEST_MD5,
			    "alice", "alice-secret", nonce, "00000001");
		osip_message_t *req = request("REGISTER", "alice", "stale", 2, line, NULL);
		enum auth_verdict v;
		char *text = answer_text(conf, req, T0, &v);
		ck_assert_int_eq(v, AUTH_STALE);
		challenge_algs(text, algs, sizeof(algs));
		ck_assert_str_eq(algs, alg_settings[i].sent);
		ck_assert_int_eq(count_lines(text, "WWW-Authenticate: "), (int)conf->digestalgs.count);
		const char *p = text;
		for (size_t k = 0; k < conf->digestalgs.count; k++, p++)
			ck_assert_ptr_nonnull(p = strstr(p, "stale=true"));
		free(text);
		osip_message_free(req);
		conf_free(conf);
	}
}
END_TEST

/* A response is taken only in an algorithm the peer may use: its own
 * digestalgs, else general's (which also covers an algorithm answered
 * without being challenged). */
START_TEST(responses_follow_digestalgs)
{
	static const struct {
		const char *general, *alice;
		bool md5_ok, sha_ok;       /* alice's right password in each */
		bool bob_md5_ok, bob_sha_ok;
	} cases[] = {
		{ NULL, NULL, true, false, true, false },
		{ "md5", NULL, true, false, true, false },
		{ "sha256", NULL, false, true, false, true },
		{ "sha256,md5", NULL, true, true, true, true },
		{ "md5,sha256", NULL, true, true, true, true },
		{ "sha256,md5", "sha256", false, true, true, true },
		{ "sha256,md5", "md5", true, false, true, true },
		{ "md5,sha256", "sha256,md5", true, true, true, true },
		{ "md5", "md5,sha256", true, true, true, false },
		{ "sha256", "md5,sha256", true, true, false, true },
	};
	char nonce[NONCE_LEN + 8], line[1024], call[32];
	unsigned serial = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *conf = conf_algs(cases[i].general, cases[i].alice);
		for (int who = 0; who < 2; who++) {
			for (int alg = DIGEST_MD5; alg <= DIGEST_SHA256; alg++) {
				const char *user = who ? "bob" : "alice";
				bool want = who ? (alg ? cases[i].bob_sha_ok : cases[i].bob_md5_ok)
						: (alg ? cases[i].sha_ok : cases[i].md5_ok);
				challenge(conf, "REGISTER", nonce, sizeof(nonce));
				credentials(line, sizeof(line), "REGISTER", (enum digest_alg)alg, user,
					    who ? "bob-secret" : "alice-secret", nonce, "00000001");
				snprintf(call, sizeof(call), "resp-%u", serial++);
				osip_message_t *req = request("REGISTER", user, call, 2, line, NULL);
				enum auth_verdict v = check(conf, req, T0 + 1, NULL);
				ck_assert_msg(v == (want ? AUTH_OK : AUTH_FORBIDDEN),
					      "case %zu: %s with %s: %s", i, user,
					      auth_digest_alg_name((enum digest_alg)alg), auth_verdict_name(v));
				osip_message_free(req);
			}
		}
		conf_free(conf);
	}
}
END_TEST

/*
 * R28-R30 for every digestalgs setting, general and per peer: at each step
 * (first challenge, answer to credentials, answer on an expired nonce) a
 * known user with a wrong password, an unknown user, and a known user whose
 * right password comes in an algorithm his own digestalgs refuses all get
 * byte for byte the same answer, after the same hashing work.
 */
START_TEST(uniform_for_every_setting)
{
	static const char *const generals[] = { NULL, "md5", "sha256", "sha256,md5", "md5,sha256" };
	static const char *const alices[] = { NULL, "md5", "sha256", "sha256,md5", "md5,sha256" };
	char nonce[NONCE_LEN + 8], line[1024];
	unsigned tried = 0;

	for (size_t g = 0; g < sizeof(generals) / sizeof(generals[0]); g++) {
		for (size_t p = 0; p < sizeof(alices) / sizeof(alices[0]); p++) {
			struct conf_digestalgs ga = { { CONF_DIGEST_MD5 }, 1 }, pa = { { 0 }, 0 };
			if (generals[g])
				ck_assert(conf_digestalgs_parse(generals[g], &ga));
			if (alices[p])
				ck_assert(conf_digestalgs_parse(alices[p], &pa));
			bool overlap = !alices[p];
			for (size_t k = 0; k < pa.count; k++)
				overlap = overlap || conf_digestalgs_has(&ga, pa.alg[k]);
			if (!overlap)
				continue; /* refused by conf (test_conf.c) */
			struct conf *conf = conf_algs(generals[g], alices[p]);
			const struct conf_digestalgs *alice_may =
				conf_peer_digestalgs(conf, conf_peer_find(conf, "alice"));
			tried++;

			/* step 1: the first challenge, REGISTER for alice and for a stranger */
			char *first[2];
			for (int who = 0; who < 2; who++) {
				const char *user = who ? "mallory" : "alice";
				osip_message_t *req = request("REGISTER", user, "uni-first", 1, NULL, NULL);
				enum auth_verdict v;
				first[who] = answer_text(conf, req, T0, &v);
				ck_assert_int_eq(v, AUTH_CHALLENGE);
				osip_message_free(req);
			}
			ck_assert_str_eq(first[0], first[1]);
			free(first[0]);
			free(first[1]);

			/* steps 2 and 3, in every algorithm a phone might answer in */
			for (int step = 0; step < 2; step++) {
				for (int alg = DIGEST_MD5; alg <= DIGEST_SHA256; alg++) {
					char *texts[3] = { NULL, NULL, NULL };
					int n = 0;
					if (step == 0)
						challenge(conf, "REGISTER", nonce, sizeof(nonce));
					else
						nonce_make(&src, REALM, T0 - NONCE_LIFETIME_S - 10, nonce);
					time_t now = step == 0 ? T0 + 1 : T0;
					for (int who = 0; who < 3; who++) {
						const char *user = who == 1 ? "mallory" : "alice";
						const char *secret = who == 0 ? "wrong" : who == 1 ? "x" : "alice-secret";
						if (who == 2 && conf_digestalgs_has(alice_may, alg == DIGEST_MD5
							? CONF_DIGEST_MD5 : CONF_DIGEST_SHA256))
							continue; /* her right password would be accepted */
						credentials(line, sizeof(line), "REGISTER", (enum digest_alg)alg, user,
							    secret, nonce, "00000001");
						osip_message_t *req = request("REGISTER", user, "uni", 2, line, NULL);
						unsigned long before = auth_digest_computations(a);
						enum auth_verdict v;
						texts[n++] = answer_text(conf, req, now, &v);
						ck_assert_uint_eq(auth_digest_computations(a), before + 1);
						ck_assert_int_eq(v, step == 0 ? AUTH_FORBIDDEN : AUTH_CHALLENGE);
						osip_message_free(req);
					}
					for (int k = 1; k < n; k++)
						ck_assert_msg(strcmp(texts[0], texts[k]) == 0,
							      "general %s alice %s step %d alg %d: answer %d differs",
							      generals[g] ? generals[g] : "default",
							      alices[p] ? alices[p] : "-", step, alg, k);
					for (int k = 0; k < n; k++)
						free(texts[k]);
				}
			}
			conf_free(conf);
		}
	}
	ck_assert_uint_ge(tried, 15);
}
END_TEST


/* Issue 11, gap 1: on an expired nonce a wrong digest got a plain challenge
 * and a right one stale=true, and neither counted: a password oracle at the
 * rate of the challenge budget. A wrong digest on an expired nonce now counts,
 * for a known user and an unknown one alike; the right one still does not. */
START_TEST(stale_nonce_wrong_digest_counts)
{
	char nonce[NONCE_LEN + 1], line[1024];
	const char *const methods[] = { "REGISTER", "INVITE" };

	nonce_make(&src, REALM, T0 - NONCE_LIFETIME_S - 5, nonce);
	for (int m = 0; m < 2; m++) {
		const char *to = m ? "100" : "alice";
		char call_id[32];
		int k = 0;
		const struct {
			const char *user, *secret;
		} wrong[] = { { "alice", "guess-1" }, { "alice", "guess-2" }, { "zz81723", "x" } };

		for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
			credentials(line, sizeof(line), methods[m], DIGEST_MD5, wrong[i].user,
				    wrong[i].secret, nonce, "00000001");
			snprintf(call_id, sizeof(call_id), "stale-%d-%d", m, k++);
			osip_message_t *req = request(methods[m], to, call_id, 2, line, NULL);
			ck_assert_int_eq(check(conf_reject, req, T0, NULL), AUTH_CHALLENGE);
			ck_assert_msg(last_failed, "%s: wrong digest for %s on a stale nonce not counted",
				      methods[m], wrong[i].user);
			osip_message_free(req);
		}
		credentials(line, sizeof(line), methods[m], DIGEST_MD5, "alice", "alice-secret", nonce,
			    "00000001");
		snprintf(call_id, sizeof(call_id), "stale-%d-%d", m, k++);
		osip_message_t *req = request(methods[m], to, call_id, 2, line, NULL);
		ck_assert_int_eq(check(conf_reject, req, T0, NULL), AUTH_STALE);
		ck_assert(!last_failed);
		osip_message_free(req);
	}
}
END_TEST

/* A wrong digest retransmitted (the very datagram, same address and port)
 * is the same guess: the same answer, counted once. From another port it is
 * a new request, and counts. */
START_TEST(refused_retransmission_counted_once)
{
	char nonce[NONCE_LEN + 8], line[1024];
	struct auth_result r;

	challenge(conf_reject, "INVITE", nonce, sizeof(nonce));
	credentials(line, sizeof(line), "INVITE", DIGEST_MD5, "alice", "wrong", nonce, "00000001");
	osip_message_t *req = request("INVITE", "100", "rt1", 1, line, NULL);
	unsigned long before = auth_digest_computations(a);
	judge_from(conf_reject, req, src, 5062, T0 + 1, &r);
	ck_assert_int_eq(r.verdict, AUTH_FORBIDDEN);
	ck_assert(r.failed);
	judge_from(conf_reject, req, src, 5062, T0 + 3, &r);
	ck_assert_int_eq(r.verdict, AUTH_FORBIDDEN);
	ck_assert(!r.failed);
	ck_assert_uint_eq(auth_digest_computations(a), before + 1);
	judge_from(conf_reject, req, src, 5063, T0 + 3, &r);
	ck_assert_int_eq(r.verdict, AUTH_FORBIDDEN);
	ck_assert(r.failed);
	/* after the transaction window the same datagram is judged anew */
	judge_from(conf_reject, req, src, 5062, T0 + 1 + 33, &r);
	ck_assert(r.failed);
	osip_message_free(req);
}
END_TEST

/* Issue 11, gap 2: a copy of an accepted INVITE is a retransmission only
 * when it is the very datagram from the very address and port. */
START_TEST(replay_is_not_a_retransmission)
{
	char nonce[NONCE_LEN + 8], line[1024], text[4096];
	const struct conf_peer *peer = NULL;
	struct auth_result r;

	challenge(conf_reject, "INVITE", nonce, sizeof(nonce));
	credentials(line, sizeof(line), "INVITE", DIGEST_MD5, "alice", "alice-secret", nonce, "00000001");
	osip_message_t *req = request("INVITE", "100", "sniffed", 1, line, NULL);
	judge_from(conf_reject, req, src, 5062, T0 + 1, &r);
	ck_assert_int_eq(r.verdict, AUTH_OK);
	char *orig = serialize(req);

	/* the retransmission: accepted again, as alice */
	judge_from(conf_reject, req, src, 5062, T0 + 2, &r);
	ck_assert_int_eq(r.verdict, AUTH_OK);
	ck_assert_str_eq(r.peer->name, "alice");
	/* the same bytes from another port of the same address, or from
	 * another address: a new request, challenged, not counted */
	judge_from(conf_reject, req, src, 40000, T0 + 2, &r);
	ck_assert_int_eq(r.verdict, AUTH_CHALLENGE);
	ck_assert(!r.failed);
	judge_from(conf_reject, req, elsewhere, 5062, T0 + 2, &r);
	ck_assert_int_eq(r.verdict, AUTH_CHALLENGE);
	ck_assert(!r.failed);
	ck_assert_ptr_null(r.peer);

	/* the same request with another body, or one header more, from the
	 * same place: not the same datagram */
	struct netaddr from = src;
	from.port = 5062;
	snprintf(text, sizeof(text), "%s", orig);
	char *body = strstr(text, "\r\n\r\n") + 4;
	strcpy(body, "v=0\r\n");
	auth_check(a, conf_reject, req, &from, text, strlen(text), T0 + 2, &r);
	ck_assert_int_eq(r.verdict, AUTH_CHALLENGE);
	snprintf(text, sizeof(text), "X-Charge-To: 0900123\r\n%s", orig);
	auth_check(a, conf_reject, req, &from, text, strlen(text), T0 + 2, &r);
	ck_assert_int_eq(r.verdict, AUTH_CHALLENGE);
	osip_message_free(req);

	/* another Request-URI (an expensive number) with alice's credentials,
	 * from her own address: the digest uri does not name it */
	req = request_to("INVITE", "sip:0900555123@sipnatd.example.com", "100", "sniffed", 1, line, NULL);
	judge_from(conf_reject, req, src, 5062, T0 + 2, &r);
	ck_assert_int_eq(r.verdict, AUTH_BAD_URI);
	ck_assert(r.failed);
	ck_assert_ptr_null(r.peer);
	osip_message_t *resp = auth_answer(conf_reject, req, r.verdict, &src, T0 + 2);
	ck_assert_int_eq(osip_message_get_status_code(resp), 400);
	osip_message_free(resp);
	osip_message_free(req);
	(void)peer;
	free(orig);
}
END_TEST

/* RFC 7616 3.4.6: uri= must be the Request-URI; compared as URIs, so the
 * spellings phones use pass, and another target does not, right password or
 * not, known user or not, without any digest computed. */
START_TEST(digest_uri_must_name_the_request_uri)
{
	const struct {
		const char *ruri, *uri;
		bool same;
	} cases[] = {
		/* pjsip / Linphone / baresip style: as sent */
		{ "sip:100@sipnatd.example.com", "sip:100@sipnatd.example.com", true },
		{ "sip:100@203.0.113.7:5060;transport=udp", "sip:100@203.0.113.7:5060;transport=udp", true },
		{ "sip:100@SIPNATD.Example.com", "sip:100@sipnatd.example.com", true },
		{ "sip:100@sipnatd.example.com:5060", "sip:100@sipnatd.example.com", true },
		{ "sip:100@sipnatd.example.com;transport=UDP", "sip:100@sipnatd.example.com", true },
		{ "sip:%31%30%30@sipnatd.example.com", "sip:100@sipnatd.example.com", true },
		{ "SIP:100@sipnatd.example.com;user=phone;x=1", "sip:100@sipnatd.example.com;user=phone", true },
		{ "sip:100@sipnatd.example.com;a=1;b=2", "sip:100@sipnatd.example.com;b=2;a=1", true },
		/* another target */
		{ "sip:0900555123@sipnatd.example.com", "sip:100@sipnatd.example.com", false },
		{ "sip:100@victim.example", "sip:100@sipnatd.example.com", false },
		{ "sip:100@sipnatd.example.com:5070", "sip:100@sipnatd.example.com", false },
		{ "sip:100@sipnatd.example.com;maddr=192.0.2.66", "sip:100@sipnatd.example.com", false },
		{ "sip:100@sipnatd.example.com;transport=tcp", "sip:100@sipnatd.example.com", false },
		{ "sip:100@sipnatd.example.com;user=phone", "sip:100@sipnatd.example.com;user=ip", false },
		{ "sips:100@sipnatd.example.com", "sip:100@sipnatd.example.com", false },
		{ "sip:Alice@sipnatd.example.com", "sip:alice@sipnatd.example.com", false },
		{ "sip:100@sipnatd.example.com", "not a uri", false },
		{ "sip:100@sipnatd.example.com", "sip:100@sipnatd.example.com?subject=x", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const users[] = { "alice", "alice", "zz81723" };
		const char *const secrets[] = { "alice-secret", "wrong", "x" };
		for (int u = 0; u < 3; u++) {
			char nonce[NONCE_LEN + 8], line[1024], call_id[32];
			struct auth_result r;

			challenge(conf_reject, "INVITE", nonce, sizeof(nonce));
			credentials_for_uri(line, sizeof(line), "INVITE", DIGEST_MD5, users[u], secrets[u],
					    nonce, "00000001", cases[i].uri);
			snprintf(call_id, sizeof(call_id), "uri-%zu-%d", i, u);
			osip_message_t *req = request_to("INVITE", cases[i].ruri, "100", call_id, 1, line, NULL);
			unsigned long before = auth_digest_computations(a);
			judge(conf_reject, req, src, T0 + 1, &r);
			if (!cases[i].same) {
				ck_assert_msg(r.verdict == AUTH_BAD_URI, "%s vs %s: %s", cases[i].ruri,
					      cases[i].uri, auth_verdict_name(r.verdict));
				ck_assert(r.failed);
				ck_assert_uint_eq(auth_digest_computations(a), before);
			} else if (u == 0) {
				ck_assert_msg(r.verdict == AUTH_OK, "%s vs %s: %s", cases[i].ruri,
					      cases[i].uri, auth_verdict_name(r.verdict));
			} else {
				ck_assert_int_eq(r.verdict, AUTH_FORBIDDEN);
			}
			osip_message_free(req);
		}
	}
}
END_TEST

/* Paths that answer with a fresh challenge and count nothing must not have
 * looked at the password: a nonce of another address or not ours at all. */
START_TEST(uncounted_paths_compute_nothing)
{
	char nonce[NONCE_LEN + 1], line[1024];

	nonce_make(&elsewhere, REALM, T0, nonce);
	const char *const nonces[] = { nonce, "bm90LWEtbm9uY2Utb2Ytb3Vycw" };
	for (int n = 0; n < 2; n++) {
		for (int right = 0; right < 2; right++) {
			char call_id[32];
			credentials(line, sizeof(line), "INVITE", DIGEST_MD5, "alice",
				    right ? "alice-secret" : "wrong", nonces[n], "00000001");
			snprintf(call_id, sizeof(call_id), "free-%d-%d", n, right);
			osip_message_t *req = request("INVITE", "100", call_id, 1, line, NULL);
			unsigned long before = auth_digest_computations(a);
			ck_assert_int_eq(check(conf_reject, req, T0 + 1, NULL), AUTH_CHALLENGE);
			ck_assert(!last_failed);
			ck_assert_uint_eq(auth_digest_computations(a), before);
			osip_message_free(req);
		}
	}
}
END_TEST

START_TEST(verdict_names)
{
	ck_assert_str_eq(auth_verdict_name(AUTH_OK), "ok");
	ck_assert_str_eq(auth_verdict_name(AUTH_CHALLENGE), "challenge");
	ck_assert_str_eq(auth_verdict_name(AUTH_STALE), "stale");
	ck_assert_str_eq(auth_verdict_name(AUTH_FORBIDDEN), "forbidden");
	ck_assert_str_eq(auth_verdict_name(AUTH_NOT_FOUND), "not found");
	ck_assert_str_ne(auth_verdict_name(AUTH_BAD_URI), "?");
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, no_credentials_register);
	tcase_add_test(tc, no_credentials_invite);
	tcase_add_test(tc, right_credentials);
	tcase_add_test(tc, wrong_password_and_unknown_user);
	tcase_add_test(tc, uniform_answers);
	tcase_add_test(tc, nonce_of_another_address);
	tcase_add_test(tc, expired_nonce);
	tcase_add_test(tc, replay_and_retransmission);
	tcase_add_test(tc, register_other_aor);
	tcase_add_test(tc, assert_identity);
	tcase_add_test(tc, challenges_follow_digestalgs);
	tcase_add_test(tc, responses_follow_digestalgs);
	tcase_add_test(tc, uniform_for_every_setting);
	tcase_add_test(tc, stale_nonce_wrong_digest_counts);
	tcase_add_test(tc, refused_retransmission_counted_once);
	tcase_add_test(tc, replay_is_not_a_retransmission);
	tcase_add_test(tc, digest_uri_must_name_the_request_uri);
	tcase_add_test(tc, uncounted_paths_compute_nothing);
	tcase_add_test(tc, verdict_names);
	suite_add_tcase(s, tc);

	TCase *tc6 = tcase_create("auth IPv6");
	tcase_add_checked_fixture(tc6, setup6, teardown);
	tcase_add_test(tc6, no_credentials_register);
	tcase_add_test(tc6, right_credentials);
	tcase_add_test(tc6, wrong_password_and_unknown_user);
	tcase_add_test(tc6, uniform_answers);
	tcase_add_test(tc6, nonce_of_another_address);
	tcase_add_test(tc6, expired_nonce);
	tcase_add_test(tc6, replay_and_retransmission);
	tcase_add_test(tc6, stale_nonce_wrong_digest_counts);
	tcase_add_test(tc6, refused_retransmission_counted_once);
	tcase_add_test(tc6, replay_is_not_a_retransmission);
	tcase_add_test(tc6, assert_identity_ipv6);
	suite_add_tcase(s, tc6);
	return s;
}

int main(void)
{
	static const uint8_t key[SECRET_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
						     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
	SRunner *sr;
	int failed;

	sipmsg_global_init();
	secret_set_key(key);
	sr = srunner_create(auth_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
