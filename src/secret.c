/*
 * secret: the process key and HMAC tokens derived from it (OpenSSL's libcrypto;
 * design section 6: no hand-rolled crypto).
 */
/* HMAC-SHA256 is built here from libcrypto's SHA-256 block API (SHA256_Init,
 * SHA256_Update, SHA256_Final), which OpenSSL 3 marks deprecated but still
 * ships: with it the keyed inner and outer states are computed once per key
 * and each MAC starts from a struct copy of them. Through EVP_MAC every MAC
 * duplicated a context (allocations, provider dispatch), about three times the
 * cost of the hashing itself on the SIP path. The hash is still libcrypto's;
 * only RFC 2104's two-line construction is written out, and the unit tests
 * compare it with libcrypto's HMAC and RFC 4231. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

static uint8_t key[SECRET_KEY_LEN];
static uint8_t seal_key[32];     /* AES-128-SIV takes two 128-bit keys */
static EVP_CIPHER *siv;
/* SHA-256 after the first block of each HMAC pass (RFC 2104: key XOR ipad,
 * key XOR opad), computed at rekey; each MAC works on struct copies. */
static SHA256_CTX inner_tmpl, outer_tmpl;
static bool keyed;
/* AES-SIV contexts keyed once, for the same reason: setting an SIV key
 * builds CMAC and CTR contexts inside libcrypto, more than twice the cost of
 * sealing a Contact; each seal and open works on a copy. */
static EVP_CIPHER_CTX *seal_tmpl, *open_tmpl;

static uint32_t key_epoch;

uint32_t secret_epoch(void)
{
	return key_epoch;
}

/* The key is shorter than SHA-256's 64-byte block, so HMAC pads it with
 * zeros (RFC 2104 section 2) and never hashes it first. */
_Static_assert(SECRET_KEY_LEN <= SHA256_CBLOCK, "HMAC key longer than a SHA-256 block");

static void mac_start(SHA256_CTX *ctx)
{
	*ctx = inner_tmpl;
}

static void mac_finish(SHA256_CTX *ctx, uint8_t mac[32])
{
	uint8_t inner[SHA256_DIGEST_LENGTH];

	SHA256_Final(inner, ctx);
	*ctx = outer_tmpl;
	SHA256_Update(ctx, inner, sizeof(inner));
	SHA256_Final(mac, ctx);
	OPENSSL_cleanse(inner, sizeof(inner));
	OPENSSL_cleanse(ctx, sizeof(*ctx));
}

static void rekey(void)
{
	uint8_t pad[SHA256_CBLOCK];

	key_epoch++;
	memset(pad, 0x36, sizeof(pad));
	for (size_t i = 0; i < sizeof(key); i++)
		pad[i] ^= key[i];
	if (!SHA256_Init(&inner_tmpl) || !SHA256_Update(&inner_tmpl, pad, sizeof(pad)))
		abort(); /* libcrypto without SHA-256 cannot run this daemon */
	memset(pad, 0x5c, sizeof(pad));
	for (size_t i = 0; i < sizeof(key); i++)
		pad[i] ^= key[i];
	if (!SHA256_Init(&outer_tmpl) || !SHA256_Update(&outer_tmpl, pad, sizeof(pad)))
		abort();
	OPENSSL_cleanse(pad, sizeof(pad));
	keyed = true;
	/* a key of its own for sealing, so that no MAC ever equals a key byte */
	static const char label[] = "sipnatd seal key";
	SHA256_CTX ctx;
	mac_start(&ctx);
	SHA256_Update(&ctx, label, sizeof(label) - 1);
	mac_finish(&ctx, seal_key);
	if (!siv && !(siv = EVP_CIPHER_fetch(NULL, "AES-128-SIV", NULL)))
		abort(); /* OpenSSL 3 has it in the default provider */
	if (!seal_tmpl && !(seal_tmpl = EVP_CIPHER_CTX_new()))
		abort();
	if (!open_tmpl && !(open_tmpl = EVP_CIPHER_CTX_new()))
		abort();
	if (!EVP_EncryptInit_ex2(seal_tmpl, siv, seal_key, NULL, NULL) ||
	    !EVP_DecryptInit_ex2(open_tmpl, siv, seal_key, NULL, NULL))
		abort();
}

/* A context ready to seal or open, copied from the keyed template. */
static EVP_CIPHER_CTX *keyed_cipher(EVP_CIPHER_CTX *tmpl)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx && !EVP_CIPHER_CTX_copy(ctx, tmpl)) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int secret_init(void)
{
	size_t got = 0;

	while (got < sizeof(key)) {
		ssize_t n = getrandom(key + got, sizeof(key) - got, 0);
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	rekey();
	return 0;
}

void secret_set_key(const uint8_t k[SECRET_KEY_LEN])
{
	memcpy(key, k, sizeof(key));
	rekey();
}

void secret_hmac(const void *buf, size_t len, uint8_t mac[32])
{
	SHA256_CTX ctx;

	if (!keyed)
		rekey();
	mac_start(&ctx);
	SHA256_Update(&ctx, buf, len);
	mac_finish(&ctx, mac);
}

void secret_token(const char *const parts[], size_t count, char *out, size_t out_chars)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	static const unsigned char sep = 0x1f;
	SHA256_CTX ctx;
	uint8_t mac[32];

	if (!keyed)
		rekey();
	mac_start(&ctx);
	for (size_t i = 0; i < count; i++) {
		const char *p = parts[i] ? parts[i] : "";
		SHA256_Update(&ctx, p, strlen(p));
		SHA256_Update(&ctx, &sep, 1);
	}
	mac_finish(&ctx, mac);

	if (out_chars > 51)
		out_chars = 51;
	/* 5 bits per character, straight from the MAC's bit stream. */
	for (size_t i = 0; i < out_chars; i++) {
		size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)mac[byte] << 8 | (byte + 1 < sizeof(mac) ? mac[byte + 1] : 0);
		out[i] = alphabet[(v >> (11 - shift)) & 0x1f];
	}
	out[out_chars] = '\0';
}

int secret_seal(const uint8_t *plain, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int outl = 0, rc = -1;

	if (!keyed)
		rekey();
	if (len > INT32_MAX || !(ctx = keyed_cipher(seal_tmpl)))
		return -1;
	if (EVP_EncryptUpdate(ctx, out + SECRET_SEAL_OVERHEAD, &outl, plain, (int)len) &&
	    EVP_EncryptFinal_ex(ctx, out + SECRET_SEAL_OVERHEAD + outl, &outl) &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SECRET_SEAL_OVERHEAD, out))
		rc = 0;
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

long secret_open(const uint8_t *sealed, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int outl = 0, finl = 0;
	long rc = -1;

	if (!keyed)
		rekey();
	if (len < SECRET_SEAL_OVERHEAD || len > INT32_MAX || !(ctx = keyed_cipher(open_tmpl)))
		return -1;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SECRET_SEAL_OVERHEAD, (void *)sealed) &&
	    EVP_DecryptUpdate(ctx, out, &outl, sealed + SECRET_SEAL_OVERHEAD,
			      (int)(len - SECRET_SEAL_OVERHEAD)) &&
	    EVP_DecryptFinal_ex(ctx, out + outl, &finl) > 0)
		rc = outl + finl;
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

void secret_free(void)
{
	OPENSSL_cleanse(&inner_tmpl, sizeof(inner_tmpl));
	OPENSSL_cleanse(&outer_tmpl, sizeof(outer_tmpl));
	keyed = false;
	EVP_CIPHER_CTX_free(seal_tmpl);
	EVP_CIPHER_CTX_free(open_tmpl);
	seal_tmpl = open_tmpl = NULL;
	EVP_CIPHER_free(siv);
	siv = NULL;
}
