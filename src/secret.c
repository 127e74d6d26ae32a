/*
 * secret: the process key and HMAC tokens derived from it (OpenSSL's libcrypto;
 * design section 6: no hand-rolled crypto).
 */
#include "secret.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

static uint8_t key[SECRET_KEY_LEN];
static uint8_t seal_key[32];     /* AES-128-SIV takes two 128-bit keys */
static EVP_CIPHER *siv;
/* Keyed once; each token works on a copy, which costs far less than fetching
 * the algorithm and setting the key again. */
static EVP_MAC_CTX *keyed_ctx;
/* AES-SIV contexts keyed once, for the same reason: setting an SIV key
 * builds CMAC and CTR contexts inside libcrypto, more than twice the cost of
 * sealing a Contact; each seal and open works on a copy. */
static EVP_CIPHER_CTX *seal_tmpl, *open_tmpl;

static uint32_t key_epoch;

uint32_t secret_epoch(void)
{
	return key_epoch;
}

static void rekey(void)
{
	key_epoch++;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (!keyed_ctx) {
		EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		keyed_ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
		EVP_MAC_free(hmac); /* the context holds its own reference */
	}
	if (!keyed_ctx || !EVP_MAC_init(keyed_ctx, key, sizeof(key), params))
		abort(); /* libcrypto without HMAC-SHA256 cannot run this daemon */
	/* a key of its own for sealing, so that no MAC ever equals a key byte */
	static const char label[] = "sipnatd seal key";
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(keyed_ctx);
	size_t outl = 0;
	if (!ctx || !EVP_MAC_update(ctx, (const unsigned char *)label, sizeof(label) - 1) ||
	    !EVP_MAC_final(ctx, seal_key, &outl, sizeof(seal_key)))
		abort();
	EVP_MAC_CTX_free(ctx);
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

static EVP_MAC_CTX *fresh_ctx(void)
{
	if (!keyed_ctx)
		rekey();
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(keyed_ctx);
	if (!ctx)
		abort();
	return ctx;
}

void secret_hmac(const void *buf, size_t len, uint8_t mac[32])
{
	EVP_MAC_CTX *ctx = fresh_ctx();
	size_t outl = 0;

	EVP_MAC_update(ctx, buf, len);
	EVP_MAC_final(ctx, mac, &outl, 32);
	EVP_MAC_CTX_free(ctx);
}

void secret_token(const char *const parts[], size_t count, char *out, size_t out_chars)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	static const unsigned char sep = 0x1f;
	EVP_MAC_CTX *ctx = fresh_ctx();
	uint8_t mac[32];
	size_t outl = 0;

	for (size_t i = 0; i < count; i++) {
		const char *p = parts[i] ? parts[i] : "";
		EVP_MAC_update(ctx, (const unsigned char *)p, strlen(p));
		EVP_MAC_update(ctx, &sep, 1);
	}
	EVP_MAC_final(ctx, mac, &outl, sizeof(mac));
	EVP_MAC_CTX_free(ctx);

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

	if (!keyed_ctx)
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

	if (!keyed_ctx)
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
	EVP_MAC_CTX_free(keyed_ctx);
	keyed_ctx = NULL;
	EVP_CIPHER_CTX_free(seal_tmpl);
	EVP_CIPHER_CTX_free(open_tmpl);
	seal_tmpl = open_tmpl = NULL;
	EVP_CIPHER_free(siv);
	siv = NULL;
}
