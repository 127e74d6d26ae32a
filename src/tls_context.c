/*
 * tls_context: OpenSSL's server context for the TLS listener, from files.
 * Called by conf.c (so that -t and a reload see a bad certificate with its
 * line), by daemon.c at start and on SIGHUP; sip_stream.c makes one SSL per
 * accepted connection from the context in force.
 */
#include "tls_context.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The last OpenSSL error as text, queue emptied so nothing leaks into the
 * next caller's report. */
static void openssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		snprintf(buf, len, "%s", ERR_reason_error_string(e) ? ERR_reason_error_string(e)
								      : "unknown error");
	else
		snprintf(buf, len, "no data");
	ERR_clear_error();
}

static SSL_CTX *fail(SSL_CTX *ctx, enum tls_context_file *bad, enum tls_context_file which,
		     const char *path, char *err, size_t errlen, const char *what)
{
	char reason[160];

	openssl_reason(reason, sizeof(reason));
	snprintf(err, errlen, "%s%s%s: %s", path ? path : "", path ? ": " : "", what, reason);
	*bad = which;
	SSL_CTX_free(ctx);
	return NULL;
}

/* A missing or unreadable file said in the words of errno, which OpenSSL's
 * reasons ("system lib") do not carry. */
static bool readable(const char *path, enum tls_context_file which, enum tls_context_file *bad,
		     char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");

	if (fp) {
		fclose(fp);
		return true;
	}
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	*bad = which;
	return false;
}

/* Every certificate of cafile joins the chain sent to clients. */
static int add_chain(SSL_CTX *ctx, const char *cafile)
{
	FILE *fp = fopen(cafile, "r");
	X509 *x;
	int n = 0;

	if (!fp)
		return -1;
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL))) {
		/* add0: the context takes the reference on success */
		if (!SSL_CTX_add0_chain_cert(ctx, x)) {
			X509_free(x);
			fclose(fp);
			return -1;
		}
		n++;
	}
	fclose(fp);
	/* the loop ends on "no start line" after the last one: not an error */
	if (n > 0)
		ERR_clear_error();
	return n > 0 ? 0 : -1;
}

SSL_CTX *tls_context_new(const char *certfile, const char *keyfile, const char *cafile,
			 enum tls_context_file *bad, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if (!readable(certfile, TLS_CONTEXT_CERT, bad, err, errlen) ||
	    (keyfile && !readable(keyfile, TLS_CONTEXT_KEY, bad, err, errlen)) ||
	    (cafile && !readable(cafile, TLS_CONTEXT_CA, bad, err, errlen)))
		return NULL;
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return fail(NULL, bad, TLS_CONTEXT_CERT, NULL, err, errlen, "cannot make a TLS context");
	/* Mozilla intermediate: TLS 1.2 and 1.3 only; the client picks its
	 * preferred cipher (every one listed is strong); no session tickets,
	 * whose keys would outlive a reload. */
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS_CONTEXT_CIPHERS) ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384"))
		return fail(ctx, bad, TLS_CONTEXT_CERT, NULL, err, errlen, "cannot set the TLS parameters");
	SSL_CTX_set_dh_auto(ctx, 1);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);

	if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1)
		return fail(ctx, bad, TLS_CONTEXT_CERT, certfile, err, errlen,
			    "cannot read a certificate");
	if (SSL_CTX_use_PrivateKey_file(ctx, keyfile ? keyfile : certfile, SSL_FILETYPE_PEM) != 1)
		return fail(ctx, bad, keyfile ? TLS_CONTEXT_KEY : TLS_CONTEXT_CERT,
			    keyfile ? keyfile : certfile, err, errlen,
			    ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH
				    ? "the private key does not match the certificate"
				    : "cannot read a private key");
	if (SSL_CTX_check_private_key(ctx) != 1)
		return fail(ctx, bad, keyfile ? TLS_CONTEXT_KEY : TLS_CONTEXT_CERT,
			    keyfile ? keyfile : certfile, err, errlen,
			    "the private key does not match the certificate");
	if (cafile && add_chain(ctx, cafile) != 0)
		return fail(ctx, bad, TLS_CONTEXT_CA, cafile, err, errlen,
			    "cannot read a CA certificate");
	ERR_clear_error();
	return ctx;
}
