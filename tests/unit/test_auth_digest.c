/*
 * Unit tests for auth_digest.c: Digest credentials as phones send them,
 * parsed by libosip2 and checked here (R28-R33). Known answers come from
 * RFC 7616 3.9.1 and RFC 2617 3.5; the SIP-shaped ones were computed
 * independently with Python's hashlib when the tests were written.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_digest.h"
#include "../support/unit_main.h"

/* RFC 7616 3.9.1 */
#define RFC_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define RFC_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define RFC_OPAQUE "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
#define RFC_MD5_RESPONSE "8ca523f5e9506fed4657c9700eebdbec"
#define RFC_SHA256_RESPONSE "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"

/* A SIP registration: alice, password s3cr3t-Pa55, realm sipnatd. */
#define SIP_NONCE "abcdefghijklmnopqrstuvwxyz234567abcdefgh"
#define SIP_SECRET "s3cr3t-Pa55"
#define SIP_MD5_HA1 "9d640507423f4baa0512e2ed4d78ec55"
#define SIP_SHA256_HA1 "622641031ffbe6c8bf0590c82d4bf47332c99bb8b9ef1ee67b40b4c160377caa"
#define SIP_MD5_RESPONSE "672411be5da2ddeff29fde53d3f33ce3"
#define SIP_SHA256_RESPONSE "5b8c943a353ac379a886f80469fbc578b03d683da0e67b2388e378e551b9c0cc"

/* Parse an Authorization value with libosip2, then auth_digest_parse it. The
 * osip return code is ignored so that auth_digest_parse sees whatever osip made of
 * the value, as it would in the daemon if osip were more lenient. */
static bool parse_value(const char *value, struct digest_credentials *cred)
{
	osip_authorization_t *hdr = NULL;
	bool ok;

	ck_assert_int_eq(osip_authorization_init(&hdr), 0);
	(void)osip_authorization_parse(hdr, value);
	ok = auth_digest_parse(hdr, cred);
	osip_authorization_free(hdr);
	return ok;
}

static void parse_ok(const char *value, struct digest_credentials *cred)
{
	ck_assert_msg(parse_value(value, cred), "refused: %s", value);
}

static void parse_refused(const char *value)
{
	struct digest_credentials cred;

	ck_assert_msg(!parse_value(value, &cred), "accepted: %s", value);
}

static bool verifies(const struct digest_credentials *cred, const char *method,
		     const char *password)
{
	char ha1[DIGEST_HEX_MAX];

	auth_digest_ha1(cred->alg, cred->username, cred->realm, password, ha1);
	return auth_digest_response_ok(cred, method, ha1);
}

/* ---- known answers ---- */

START_TEST(rfc7616_md5)
{
	struct digest_credentials cred;
	char ha1[DIGEST_HEX_MAX], expected[DIGEST_HEX_MAX];

	parse_ok("Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
		 "uri=\"/dir/index.html\", algorithm=MD5, nonce=\"" RFC_NONCE "\", nc=00000001, "
		 "cnonce=\"" RFC_CNONCE "\", qop=auth, response=\"" RFC_MD5_RESPONSE "\", "
		 "opaque=\"" RFC_OPAQUE "\"",
		 &cred);
	ck_assert_int_eq(cred.alg, DIGEST_MD5);
	ck_assert_str_eq(cred.username, "Mufasa");
	ck_assert_str_eq(cred.realm, "http-auth@example.org");
	ck_assert_str_eq(cred.nonce, RFC_NONCE);
	ck_assert_str_eq(cred.uri, "/dir/index.html");
	ck_assert(cred.has_qop);
	ck_assert_str_eq(cred.cnonce, RFC_CNONCE);
	ck_assert_str_eq(cred.nc, "00000001");
	ck_assert_str_eq(cred.response, RFC_MD5_RESPONSE);

	auth_digest_ha1(DIGEST_MD5, "Mufasa", "http-auth@example.org", "Circle of Life", ha1);
	ck_assert_str_eq(ha1, "3d78807defe7de2157e2b0b6573a855f");
	auth_digest_expected(&cred, "GET", ha1, expected);
	ck_assert_str_eq(expected, RFC_MD5_RESPONSE);
	ck_assert(auth_digest_response_ok(&cred, "GET", ha1));
}
END_TEST

START_TEST(rfc7616_sha256)
{
	struct digest_credentials cred;
	char ha1[DIGEST_HEX_MAX], expected[DIGEST_HEX_MAX];

	parse_ok("Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
		 "uri=\"/dir/index.html\", algorithm=SHA-256, nonce=\"" RFC_NONCE "\", nc=00000001, "
		 "cnonce=\"" RFC_CNONCE "\", qop=auth, response=\"" RFC_SHA256_RESPONSE "\", "
		 "opaque=\"" RFC_OPAQUE "\"",
		 &cred);
	ck_assert_int_eq(cred.alg, DIGEST_SHA256);
	ck_assert_str_eq(cred.response, RFC_SHA256_RESPONSE);

	auth_digest_ha1(DIGEST_SHA256, "Mufasa", "http-auth@example.org", "Circle of Life", ha1);
	ck_assert_str_eq(ha1, "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
	auth_digest_expected(&cred, "GET", ha1, expected);
	ck_assert_str_eq(expected, RFC_SHA256_RESPONSE);
	ck_assert(auth_digest_response_ok(&cred, "GET", ha1));
	ck_assert(!verifies(&cred, "GET", "Circle of life"));
}
END_TEST

/* RFC 2617 3.5, the classic example, without an algorithm parameter. */
START_TEST(rfc2617_default_md5)
{
	struct digest_credentials cred;

	parse_ok("Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
		 "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, "
		 "nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", "
		 "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
		 &cred);
	ck_assert_int_eq(cred.alg, DIGEST_MD5);
	ck_assert(verifies(&cred, "GET", "Circle Of Life"));
}
END_TEST

/* REGISTER sip:example.com as Linphone answers a SHA-256 challenge. */
START_TEST(sip_register_sha256)
{
	struct digest_credentials cred;
	char ha1[DIGEST_HEX_MAX];

	parse_ok("Digest realm=\"sipnatd\", nonce=\"" SIP_NONCE "\", algorithm=SHA-256, "
		 "username=\"alice\",  uri=\"sip:example.com\", response=\"" SIP_SHA256_RESPONSE "\", "
		 "cnonce=\"0a4f113b\", nc=00000001, qop=auth",
		 &cred);
	ck_assert_int_eq(cred.alg, DIGEST_SHA256);
	auth_digest_ha1(DIGEST_SHA256, "alice", "sipnatd", SIP_SECRET, ha1);
	ck_assert_str_eq(ha1, SIP_SHA256_HA1);
	ck_assert(auth_digest_response_ok(&cred, "REGISTER", ha1));
	ck_assert(!auth_digest_response_ok(&cred, "INVITE", ha1));
}
END_TEST

/* The same as Zoiper sends it: no spaces, algorithm last. */
START_TEST(sip_register_md5)
{
	struct digest_credentials cred;
	char ha1[DIGEST_HEX_MAX];

	parse_ok("Digest username=\"alice\",realm=\"sipnatd\",nonce=\"" SIP_NONCE "\","
		 "uri=\"sip:example.com\",response=\"" SIP_MD5_RESPONSE "\",cnonce=\"0a4f113b\","
		 "nc=00000001,qop=auth,algorithm=MD5",
		 &cred);
	ck_assert_int_eq(cred.alg, DIGEST_MD5);
	auth_digest_ha1(DIGEST_MD5, "alice", "sipnatd", SIP_SECRET, ha1);
	ck_assert_str_eq(ha1, SIP_MD5_HA1);
	ck_assert(auth_digest_response_ok(&cred, "REGISTER", ha1));
}
END_TEST

/* nc enters the hash as the phone wrote it, uppercase hex included. */
START_TEST(nc_used_verbatim)
{
	struct digest_credentials cred;

	parse_ok("Digest username=\"alice\",realm=\"sipnatd\",nonce=\"" SIP_NONCE "\","
		 "uri=\"sip:127.0.1.10:25060\",response=\"71fca33b07cbca2fe0e17c31274cdae3\","
		 "algorithm=MD5,cnonce=\"6b8b4567\",qop=auth,nc=0000000A",
		 &cred);
	ck_assert_str_eq(cred.nc, "0000000A");
	ck_assert(verifies(&cred, "REGISTER", SIP_SECRET));
}
END_TEST

/* RFC 2069 form: no qop, no cnonce, no nc. */
START_TEST(rfc2069_no_qop)
{
	struct digest_credentials cred;

	parse_ok("Digest username=\"alice\", realm=\"sipnatd\", nonce=\"" SIP_NONCE "\", "
		 "uri=\"sip:bob@example.com\", response=\"30ed87a2217fd8e0163947666c34b57b\", "
		 "algorithm=MD5",
		 &cred);
	ck_assert(!cred.has_qop);
	ck_assert_str_eq(cred.cnonce, "");
	ck_assert_str_eq(cred.nc, "");
	ck_assert(verifies(&cred, "INVITE", SIP_SECRET));
	ck_assert(!verifies(&cred, "INVITE", "s3cr3t-pa55"));

	parse_ok("Digest username=\"alice\", realm=\"sipnatd\", nonce=\"" SIP_NONCE "\", "
		 "uri=\"sip:bob@example.com\", algorithm=SHA-256, "
		 "response=\"e56453e48115ebc2117929e8e375d11e2d25ca24b57c8a7473ae3e0960d8208e\"",
		 &cred);
	ck_assert(verifies(&cred, "INVITE", SIP_SECRET));
}
END_TEST

START_TEST(uppercase_response_accepted)
{
	struct digest_credentials cred;
	char ha1[DIGEST_HEX_MAX];

	parse_ok("Digest username=\"alice\",realm=\"sipnatd\",nonce=\"" SIP_NONCE "\","
		 "uri=\"sip:example.com\",response=\"672411BE5DA2DDEFF29FDE53D3F33CE3\","
		 "cnonce=\"0a4f113b\",nc=00000001,qop=auth,algorithm=MD5",
		 &cred);
	ck_assert_str_eq(cred.response, SIP_MD5_RESPONSE);
	ck_assert(verifies(&cred, "REGISTER", SIP_SECRET));

	/* and credentials built without auth_digest_parse are normalised too */
	auth_digest_ha1(DIGEST_MD5, "alice", "sipnatd", SIP_SECRET, ha1);
	strcpy(cred.response, "672411BE5da2ddeff29fde53d3f33CE3");
	ck_assert(auth_digest_response_ok(&cred, "REGISTER", ha1));
}
END_TEST

START_TEST(wrong_credentials_refused)
{
	static const char dummy_ha1[DIGEST_HEX_MAX] = "intentionally_invalid_md5_string";
	struct digest_credentials cred, tampered;
	char ha1[DIGEST_HEX_MAX];

	parse_ok("Digest username=\"alice\",realm=\"sipnatd\",nonce=\"" SIP_NONCE "\","
		 "uri=\"sip:example.com\",response=\"" SIP_MD5_RESPONSE "\",cnonce=\"0a4f113b\","
		 "nc=00000001,qop=auth,algorithm=MD5",
		 &cred);
	ck_assert(!verifies(&cred, "REGISTER", "s3cr3t-Pa56"));
	ck_assert(!verifies(&cred, "REGISTER", ""));
	auth_digest_ha1(DIGEST_MD5, "alice", "sipnatd", SIP_SECRET, ha1);

	/* any field the response covers */
	tampered = cred;
	strcpy(tampered.nc, "00000002");
	ck_assert(!auth_digest_response_ok(&tampered, "REGISTER", ha1));
	tampered = cred;
	strcpy(tampered.cnonce, "0a4f113c");
	ck_assert(!auth_digest_response_ok(&tampered, "REGISTER", ha1));
	tampered = cred;
	strcpy(tampered.uri, "sip:example.org");
	ck_assert(!auth_digest_response_ok(&tampered, "REGISTER", ha1));
	tampered = cred;
	tampered.has_qop = false;
	ck_assert(!auth_digest_response_ok(&tampered, "REGISTER", ha1));
	tampered = cred;
	tampered.response[31] = '4';
	ck_assert(!auth_digest_response_ok(&tampered, "REGISTER", ha1));
	/* a response of the wrong length, even a prefix of the right one */
	tampered = cred;
	tampered.response[16] = '\0';
	ck_assert(!auth_digest_response_ok(&tampered, "REGISTER", ha1));
	tampered = cred;
	tampered.response[0] = '\0';
	ck_assert(!auth_digest_response_ok(&tampered, "REGISTER", ha1));
	/* the MD5 answer checked as SHA-256 */
	tampered = cred;
	tampered.alg = DIGEST_SHA256;
	ck_assert(!verifies(&tampered, "REGISTER", SIP_SECRET));
	/* the unknown-user path: a dummy HA1 that no password produces */
	ck_assert(!auth_digest_response_ok(&cred, "REGISTER", dummy_ha1));
	ck_assert(auth_digest_response_ok(&cred, "REGISTER", ha1));
}
END_TEST

/* ---- parsing: what is accepted and how ---- */

START_TEST(parse_variants_accepted)
{
	struct digest_credentials cred;

	/* scheme and algorithm are case-insensitive */
	parse_ok("digest username=\"alice\",realm=\"sipnatd\",nonce=\"n\",uri=\"sip:a\","
		 "response=\"" SIP_MD5_RESPONSE "\",algorithm=md5",
		 &cred);
	ck_assert_int_eq(cred.alg, DIGEST_MD5);
	parse_ok("Digest username=\"alice\",realm=\"sipnatd\",nonce=\"n\",uri=\"sip:a\","
		 "response=\"" SIP_SHA256_RESPONSE "\",algorithm=sha-256",
		 &cred);
	ck_assert_int_eq(cred.alg, DIGEST_SHA256);
	/* quoted tokens, as some phones send them */
	parse_ok("Digest username=\"alice\",realm=\"sipnatd\",nonce=\"n\",uri=\"sip:a\","
		 "response=\"" SIP_MD5_RESPONSE "\",algorithm=\"MD5\",qop=\"auth\",nc=00000001,"
		 "cnonce=\"c\"",
		 &cred);
	ck_assert(cred.has_qop);
	/* an escaped quote in a quoted-string is unescaped */
	parse_ok("Digest username=\"a\\\"b\",realm=\"sipnatd\",nonce=\"" SIP_NONCE "\","
		 "uri=\"sip:example.com\",response=\"5fdbc498efe33617c720752e0bcec6d6\","
		 "cnonce=\"c\",nc=00000001,qop=auth",
		 &cred);
	ck_assert_str_eq(cred.username, "a\"b");
	ck_assert(verifies(&cred, "REGISTER", "pw"));
}
END_TEST

/* The longest values that fit the fixed buffers, and one more. */
START_TEST(parse_length_limits)
{
	struct digest_credentials cred;
	char value[2048], name[200], uri[600];

	memset(name, 'u', 127);
	name[127] = '\0';
	snprintf(value, sizeof(value),
		 "Digest username=\"%s\",realm=\"sipnatd\",nonce=\"n\",uri=\"sip:a\","
		 "response=\"" SIP_MD5_RESPONSE "\"",
		 name);
	parse_ok(value, &cred);
	ck_assert_uint_eq(strlen(cred.username), 127);
	strcat(name, "u");
	snprintf(value, sizeof(value),
		 "Digest username=\"%s\",realm=\"sipnatd\",nonce=\"n\",uri=\"sip:a\","
		 "response=\"" SIP_MD5_RESPONSE "\"",
		 name);
	parse_refused(value);

	memcpy(uri, "sip:", 4);
	memset(uri + 4, 'x', 507);
	uri[511] = '\0';
	snprintf(value, sizeof(value),
		 "Digest username=\"alice\",realm=\"sipnatd\",nonce=\"n\",uri=\"%s\","
		 "response=\"" SIP_MD5_RESPONSE "\"",
		 uri);
	parse_ok(value, &cred);
	strcat(uri, "x");
	snprintf(value, sizeof(value),
		 "Digest username=\"alice\",realm=\"sipnatd\",nonce=\"n\",uri=\"%s\","
		 "response=\"" SIP_MD5_RESPONSE "\"",
		 uri);
	parse_refused(value);
}
END_TEST

#define OK_TAIL ",realm=\"sipnatd\",nonce=\"n\",uri=\"sip:a\""
#define MD5_RESP ",response=\"" SIP_MD5_RESPONSE "\""
#define QOP_OK ",qop=auth,nc=00000001,cnonce=\"c\""

static const char *const refused_values[] = {
	/* not Digest */
	"Basic YWxpY2U6czNjcjN0",
	"Bearer abc" OK_TAIL MD5_RESP,
	/* algorithms we do not take */
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",algorithm=MD5-sess" QOP_OK,
	"Digest username=\"alice\"" OK_TAIL ",response=\"" SIP_SHA256_RESPONSE "\","
	"algorithm=SHA-256-sess" QOP_OK,
	"Digest username=\"alice\"" OK_TAIL ",response=\"" SIP_SHA256_RESPONSE "\","
	"algorithm=SHA-512-256" QOP_OK,
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",algorithm=AKAv1-MD5" QOP_OK,
	/* qop other than auth */
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",qop=auth-int,nc=00000001,cnonce=\"c\"",
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",qop=\"auth,auth-int\",nc=00000001,cnonce=\"c\"",
	/* nc not exactly 8 hex digits */
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",qop=auth,nc=1,cnonce=\"c\"",
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",qop=auth,nc=0000001,cnonce=\"c\"",
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",qop=auth,nc=000000001,cnonce=\"c\"",
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",qop=auth,nc=0000000g,cnonce=\"c\"",
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",qop=auth,nc=-0000001,cnonce=\"c\"",
	/* qop without cnonce or nc */
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",qop=auth,nc=00000001",
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",qop=auth,cnonce=\"c\"",
	/* cnonce or nc without qop */
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",nc=00000001,cnonce=\"c\"",
	/* missing fields */
	"Digest realm=\"sipnatd\",nonce=\"n\",uri=\"sip:a\"" MD5_RESP,
	"Digest username=\"alice\",nonce=\"n\",uri=\"sip:a\"" MD5_RESP,
	"Digest username=\"alice\",realm=\"sipnatd\",uri=\"sip:a\"" MD5_RESP,
	"Digest username=\"alice\",realm=\"sipnatd\",nonce=\"n\"" MD5_RESP,
	"Digest username=\"alice\"" OK_TAIL,
	"Digest username=\"alice\"" OK_TAIL QOP_OK,
	"Digest username=\"\"" OK_TAIL MD5_RESP,
	/* a response that is not the hash in hex */
	"Digest username=\"alice\"" OK_TAIL ",response=\"672411be5da2ddeff29fde53d3f33ce\"",
	"Digest username=\"alice\"" OK_TAIL ",response=\"672411be5da2ddeff29fde53d3f33ce3a\"",
	"Digest username=\"alice\"" OK_TAIL ",response=\"672411be5da2ddeff29fde53d3f33cez\"",
	"Digest username=\"alice\"" OK_TAIL MD5_RESP ",algorithm=SHA-256",
	"Digest username=\"alice\"" OK_TAIL ",response=" SIP_MD5_RESPONSE,
	/* unquoted where a quoted-string belongs, control characters */
	"Digest username=alice" OK_TAIL MD5_RESP,
	"Digest username=\"al\tice\"" OK_TAIL MD5_RESP,
	"Digest username=\"alice\",realm=\"sipnatd\",nonce=\"n\",uri=\"sip:\x01\"" MD5_RESP,
	/* a quoted-pair swallowing the closing quote: osip reads on, realm is lost */
	"Digest username=\"alice\\\"" OK_TAIL MD5_RESP,
};

START_TEST(parse_refusals)
{
	parse_refused(refused_values[_i]);
}
END_TEST

/* A Digest header whose scheme is then changed: the scheme alone refuses. */
START_TEST(parse_refuses_other_scheme)
{
	struct digest_credentials cred;
	osip_authorization_t *hdr = NULL;

	ck_assert_int_eq(osip_authorization_init(&hdr), 0);
	ck_assert_int_eq(osip_authorization_parse(hdr, "Digest username=\"alice\"" OK_TAIL MD5_RESP),
			 0);
	ck_assert(auth_digest_parse(hdr, &cred));
	osip_free(hdr->auth_type);
	osip_authorization_set_auth_type(hdr, osip_strdup("Basic"));
	ck_assert(!auth_digest_parse(hdr, &cred));
	osip_authorization_free(hdr);
	ck_assert(!auth_digest_parse(NULL, &cred));
}
END_TEST

/* Values osip would not produce from a well-formed header but that the
 * unquoting must refuse anyway, set directly on a parsed header. */
static const char *const raw_usernames[] = {
	"alice", "\"alice", "alice\"", "\"alice\\\"", "\"al\"ice\"", "\"\"", "\"", "",
	"\"al\rice\"",
};

START_TEST(parse_refuses_raw_username)
{
	struct digest_credentials cred;
	osip_authorization_t *hdr = NULL;

	ck_assert_int_eq(osip_authorization_init(&hdr), 0);
	ck_assert_int_eq(osip_authorization_parse(hdr, "Digest username=\"alice\"" OK_TAIL MD5_RESP),
			 0);
	osip_free(hdr->username);
	osip_authorization_set_username(hdr, osip_strdup(raw_usernames[_i]));
	ck_assert_msg(!auth_digest_parse(hdr, &cred), "accepted username %s", raw_usernames[_i]);
	osip_free(hdr->username);
	osip_authorization_set_username(hdr, osip_strdup("\"al\\\\ice\""));
	ck_assert(auth_digest_parse(hdr, &cred));
	ck_assert_str_eq(cred.username, "al\\ice");
	osip_authorization_free(hdr);
}
END_TEST

/* ---- challenges ---- */

START_TEST(challenge_exact)
{
	char out[256];

	ck_assert(auth_digest_challenge(DIGEST_MD5, "sipnatd", SIP_NONCE, false, out, sizeof(out)));
	ck_assert_str_eq(out, "Digest realm=\"sipnatd\", nonce=\"" SIP_NONCE
			      "\", algorithm=MD5, qop=\"auth\"");
	ck_assert(auth_digest_challenge(DIGEST_MD5, "sipnatd", SIP_NONCE, true, out, sizeof(out)));
	ck_assert_str_eq(out, "Digest realm=\"sipnatd\", nonce=\"" SIP_NONCE
			      "\", algorithm=MD5, qop=\"auth\", stale=true");
	ck_assert(auth_digest_challenge(DIGEST_SHA256, "sipnatd", SIP_NONCE, false, out, sizeof(out)));
	ck_assert_str_eq(out, "Digest realm=\"sipnatd\", nonce=\"" SIP_NONCE
			      "\", algorithm=SHA-256, qop=\"auth\"");
	ck_assert(auth_digest_challenge(DIGEST_SHA256, "sipnatd", SIP_NONCE, true, out, sizeof(out)));
	ck_assert_str_eq(out, "Digest realm=\"sipnatd\", nonce=\"" SIP_NONCE
			      "\", algorithm=SHA-256, qop=\"auth\", stale=true");
}
END_TEST

START_TEST(challenge_fits_or_fails)
{
	static const char want[] = "Digest realm=\"r\", nonce=\"n\", algorithm=MD5, qop=\"auth\"";
	char out[sizeof(want)];

	ck_assert(auth_digest_challenge(DIGEST_MD5, "r", "n", false, out, sizeof(out)));
	ck_assert_str_eq(out, want);
	ck_assert(!auth_digest_challenge(DIGEST_MD5, "r", "n", false, out, sizeof(out) - 1));
	ck_assert_str_eq(out, "");
	ck_assert(!auth_digest_challenge(DIGEST_MD5, "r", "n", true, out, sizeof(out)));
	ck_assert(!auth_digest_challenge(DIGEST_MD5, "r", "n", false, out, 0));
	/* nothing that would break out of the quoted-string */
	ck_assert(!auth_digest_challenge(DIGEST_MD5, "a\"b", "n", false, out, sizeof(out)));
	ck_assert(!auth_digest_challenge(DIGEST_MD5, "r", "n\\", false, out, sizeof(out)));
	ck_assert(!auth_digest_challenge(DIGEST_MD5, "r\r\n", "n", false, out, sizeof(out)));
}
END_TEST

/* What we send is what osip parses as a challenge with the same values. */
START_TEST(challenge_parses_back)
{
	osip_www_authenticate_t *www = NULL;
	char out[256];

	ck_assert(auth_digest_challenge(DIGEST_SHA256, "sipnatd", SIP_NONCE, true, out, sizeof(out)));
	ck_assert_int_eq(osip_www_authenticate_init(&www), 0);
	ck_assert_int_eq(osip_www_authenticate_parse(www, out), 0);
	ck_assert_str_eq(osip_www_authenticate_get_realm(www), "\"sipnatd\"");
	ck_assert_str_eq(osip_www_authenticate_get_nonce(www), "\"" SIP_NONCE "\"");
	ck_assert_str_eq(osip_www_authenticate_get_algorithm(www), "SHA-256");
	ck_assert_str_eq(osip_www_authenticate_get_qop_options(www), "\"auth\"");
	ck_assert_str_eq(osip_www_authenticate_get_stale(www), "true");
	osip_www_authenticate_free(www);
}
END_TEST

START_TEST(alg_names)
{
	ck_assert_str_eq(auth_digest_alg_name(DIGEST_MD5), "MD5");
	ck_assert_str_eq(auth_digest_alg_name(DIGEST_SHA256), "SHA-256");
}
END_TEST

static Suite *auth_digest_suite(void)
{
	Suite *s = suite_create("auth_digest");
	TCase *known = tcase_create("known_answers");
	TCase *parse = tcase_create("parse");
	TCase *challenge = tcase_create("challenge");

	tcase_add_test(known, rfc7616_md5);
	tcase_add_test(known, rfc7616_sha256);
	tcase_add_test(known, rfc2617_default_md5);
	tcase_add_test(known, sip_register_sha256);
	tcase_add_test(known, sip_register_md5);
	tcase_add_test(known, nc_used_verbatim);
	tcase_add_test(known, rfc2069_no_qop);
	tcase_add_test(known, uppercase_response_accepted);
	tcase_add_test(known, wrong_credentials_refused);
	suite_add_tcase(s, known);

	tcase_add_test(parse, parse_variants_accepted);
	tcase_add_test(parse, parse_length_limits);
	tcase_add_loop_test(parse, parse_refusals, 0,
			    (int)(sizeof(refused_values) / sizeof(refused_values[0])));
	tcase_add_test(parse, parse_refuses_other_scheme);
	tcase_add_loop_test(parse, parse_refuses_raw_username, 0,
			    (int)(sizeof(raw_usernames) / sizeof(raw_usernames[0])));
	suite_add_tcase(s, parse);

	tcase_add_test(challenge, challenge_exact);
	tcase_add_test(challenge, challenge_fits_or_fails);
	tcase_add_test(challenge, challenge_parses_back);
	tcase_add_test(challenge, alg_names);
	suite_add_tcase(s, challenge);
	return s;
}

UNIT_MAIN_INIT(auth_digest_suite, parser_init())
