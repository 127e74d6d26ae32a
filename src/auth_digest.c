/*
 * auth_digest: the arithmetic of the authenticate step (design section 6,
 * R28-R33). Turns a parsed Authorization header into checked credentials,
 * computes what the response must be, compares it in constant time, and
 * writes the challenge. Which nonce is acceptable, and what to answer, is
 * decided by the caller (nonce.h and the authenticate step).
 *
 * Everything here is reachable by a remote party: a malformed header is a
 * plain false, never a log line or an abort.
 */
#include "auth_digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* algorithm, qop and nc are short tokens; anything longer is not ours. */
#define TOKEN_MAX 16

static size_t hex_len(enum digest_alg alg)
{
	return alg == DIGEST_SHA256 ? 64 : 32;
}

static const EVP_MD *md_of(enum digest_alg alg)
{
	switch (alg) {
	case DIGEST_MD5:
		return EVP_md5();
	case DIGEST_SHA256:
		return EVP_sha256();
	}
	abort(); /* an enum value nobody defined */
}

const char *auth_digest_alg_name(enum digest_alg alg)
{
	switch (alg) {
	case DIGEST_MD5:
		return "MD5";
	case DIGEST_SHA256:
		return "SHA-256";
	}
	abort();
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * A quoted-string as libosip2 leaves it ("..." with its quotes and any
 * quoted-pairs) into its unescaped content. Refuses a missing quote, an
 * unescaped quote inside, control characters (LWS included: no value we
 * hash has a reason to hold a tab or a line break), an empty value and one
 * that does not fit out_size with its NUL.
 */
static bool unquote(const char *in, char *out, size_t out_size)
{
	size_t len, o = 0;

	if (!in)
		return false;
	len = strlen(in);
	if (len < 3 || in[0] != '"' || in[len - 1] != '"')
		return false;
	for (size_t i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '"')
			return false;
		if (c == '\\') {
			if (++i >= len - 1)
				return false; /* the closing quote escaped away */
			c = (unsigned char)in[i];
		}
		if (is_ctl(c) || o + 1 >= out_size)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return true;
}

/*
 * A token-valued parameter (algorithm, qop, nc). RFC 7616 3.4 has them bare
 * in Authorization, but some phones quote them (the way qop appears in the
 * challenge); the value is the same either way, so both are taken.
 */
static bool token_value(const char *in, char *out, size_t out_size)
{
	size_t len;

	if (!in)
		return false;
	if (in[0] == '"')
		return unquote(in, out, out_size);
	len = strlen(in);
	if (len == 0 || len >= out_size)
		return false;
	for (size_t i = 0; i < len; i++)
		if (is_ctl((unsigned char)in[i]) || strchr(" \"\\,;=", in[i]))
			return false;
	memcpy(out, in, len + 1);
	return true;
}

static bool is_hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Exactly len hex digits and nothing after them. */
static bool all_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_hex_digit(s[i]))
			return false;
	return s[len] == '\0';
}

static void lowercase(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* RFC 7616 3.4: absent means MD5; the -sess variants need a first-response
 * state we do not keep, and SHA-512-256 is not in every libcrypto. */
static bool parse_algorithm(const char *value, enum digest_alg *alg)
{
	char name[TOKEN_MAX];

	if (!value) {
		*alg = DIGEST_MD5;
		return true;
	}
	if (!token_value(value, name, sizeof(name)))
		return false;
	if (strcasecmp(name, "MD5") == 0)
		*alg = DIGEST_MD5;
	else if (strcasecmp(name, "SHA-256") == 0)
		*alg = DIGEST_SHA256;
	else
		return false;
	return true;
}

/* qop=auth brings cnonce and an 8-hex-digit nc (RFC 7616 3.4); auth-int is
 * never offered, so never accepted. Without qop neither may appear (RFC 2069
 * form). */
static bool parse_qop(const osip_authorization_t *hdr, struct digest_credentials *out)
{
	char qop[TOKEN_MAX];

	if (!hdr->message_qop) {
		out->has_qop = false;
		return !hdr->cnonce && !hdr->nonce_count;
	}
	if (!token_value(hdr->message_qop, qop, sizeof(qop)) || strcasecmp(qop, "auth") != 0)
		return false;
	out->has_qop = true;
	return unquote(hdr->cnonce, out->cnonce, sizeof(out->cnonce)) &&
	       token_value(hdr->nonce_count, out->nc, sizeof(out->nc)) && all_hex(out->nc, 8);
}

bool auth_digest_parse(const osip_authorization_t *hdr, struct digest_credentials *out)
{
	memset(out, 0, sizeof(*out));
	if (!hdr || !hdr->auth_type || strcasecmp(hdr->auth_type, "Digest") != 0)
		return false;
	if (!parse_algorithm(hdr->algorithm, &out->alg) || !parse_qop(hdr, out))
		return false;
	if (!unquote(hdr->username, out->username, sizeof(out->username)) ||
	    !unquote(hdr->realm, out->realm, sizeof(out->realm)) ||
	    !unquote(hdr->nonce, out->nonce, sizeof(out->nonce)) ||
	    !unquote(hdr->uri, out->uri, sizeof(out->uri)) ||
	    !unquote(hdr->response, out->response, sizeof(out->response)))
		return false;
	/* request-digest is exactly the hash length in hex; phones that send
	 * it in uppercase are normalised here. */
	if (!all_hex(out->response, hex_len(out->alg)))
		return false;
	lowercase(out->response);
	return true;
}

/*
 * H(parts[0]:parts[1]:...) in lowercase hex. A digest libcrypto refuses
 * (MD5 under a FIPS-only provider) leaves out empty, which no response
 * matches: a remote party choosing the algorithm must not stop the daemon.
 */
static void hash_hex(enum digest_alg alg, const char *const parts[], size_t count,
		     char out[DIGEST_HEX_MAX])
{
	static const char hexdigits[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, md_of(alg), NULL);

	for (size_t i = 0; ok && i < count; i++) {
		if (i > 0)
			ok = EVP_DigestUpdate(ctx, ":", 1);
		if (ok)
			ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	if (!ok || md_len * 2 != hex_len(alg)) {
		out[0] = '\0';
		return;
	}
	for (unsigned i = 0; i < md_len; i++) {
		out[2 * i] = hexdigits[md[i] >> 4];
		out[2 * i + 1] = hexdigits[md[i] & 0x0f];
	}
	out[2 * md_len] = '\0';
}

void auth_digest_ha1(enum digest_alg alg, const char *username, const char *realm, const char *secret,
		char out[DIGEST_HEX_MAX])
{
	const char *parts[] = { username, realm, secret };

	hash_hex(alg, parts, 3, out);
}

void auth_digest_expected(const struct digest_credentials *cred, const char *method,
		     const char ha1[DIGEST_HEX_MAX], char out[DIGEST_HEX_MAX])
{
	const char *a2[] = { method, cred->uri };
	char ha2[DIGEST_HEX_MAX];

	hash_hex(cred->alg, a2, 2, ha2);
	if (cred->has_qop) {
		const char *parts[] = { ha1, cred->nonce, cred->nc, cred->cnonce, "auth", ha2 };
		hash_hex(cred->alg, parts, 6, out);
	} else {
		/* RFC 2069 / RFC 2617 3.2.2.1 compatibility */
		const char *parts[] = { ha1, cred->nonce, ha2 };
		hash_hex(cred->alg, parts, 3, out);
	}
}

bool auth_digest_response_ok(const struct digest_credentials *cred, const char *method,
			const char ha1[DIGEST_HEX_MAX])
{
	char expected[DIGEST_HEX_MAX], got[DIGEST_HEX_MAX];
	size_t len = hex_len(cred->alg);

	/* Always the same work, whatever the credentials look like (R30). */
	auth_digest_expected(cred, method, ha1, expected);
	if (strnlen(cred->response, sizeof(got)) >= sizeof(got))
		return false;
	memcpy(got, cred->response, strlen(cred->response) + 1);
	lowercase(got);
	/* The lengths are public (fixed by the algorithm); only the content is
	 * compared in constant time. */
	if (strlen(expected) != len || strlen(got) != len)
		return false;
	return CRYPTO_memcmp(expected, got, len) == 0;
}

/* Characters that cannot stand unescaped inside a quoted-string. */
static bool quotable(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || is_ctl((unsigned char)*s))
			return false;
	return true;
}

bool auth_digest_challenge(enum digest_alg alg, const char *realm, const char *nonce, bool stale,
		      char *out, size_t out_len)
{
	int n;

	if (!out || out_len == 0)
		return false;
	out[0] = '\0';
	if (!realm || !nonce || !quotable(realm) || !quotable(nonce))
		return false;
	/* RFC 7616 3.3: stale=true tells the client only the nonce was old,
	 * so it retries without asking the user (R32). */
	n = snprintf(out, out_len, "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s",
		     realm, nonce, auth_digest_alg_name(alg), stale ? ", stale=true" : "");
	if (n < 0 || (size_t)n >= out_len) {
		out[0] = '\0';
		return false;
	}
	return true;
}
