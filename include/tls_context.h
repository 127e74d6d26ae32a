/*
 * tls_context: the OpenSSL server context of the TLS listener (issue 15),
 * built from the files the configuration names. It is built at -t, at start
 * and on every reload; a reload hands the new context to new connections
 * while those already up keep the one they were accepted with (OpenSSL
 * counts the references: SSL_new takes one, SSL_free drops it).
 *
 * The protocol versions and ciphers follow Mozilla's "intermediate"
 * server-side guidance (TLS 1.2 and 1.3; ECDHE/DHE with AES-GCM or
 * ChaCha20-Poly1305 for 1.2).
 */
#ifndef SIPNATD_TLS_CONTEXT_H
#define SIPNATD_TLS_CONTEXT_H

#include <openssl/ssl.h>
#include <stddef.h>

/* Which of the files a failure is about, so that conf.c can name its line. */
enum tls_context_file {
	TLS_CONTEXT_CERT,
	TLS_CONTEXT_KEY,
	TLS_CONTEXT_CA,
};

/* The TLS 1.2 cipher list (Mozilla intermediate, v5.7). */
#define TLS_CONTEXT_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

/* A server context from certfile (PEM: the certificate, optionally followed by
 * its chain), keyfile (PEM private key; NULL: taken from certfile) and cafile
 * (PEM chain certificates sent after it; NULL: none). Returns a new context
 * owned by the caller (SSL_CTX_free), or NULL with *bad set to the file at
 * fault and a one-line reason in err ("cannot read a certificate: no start
 * line", "does not match the certificate"). Never logs. */
SSL_CTX *tls_context_new(const char *certfile, const char *keyfile, const char *cafile,
			 enum tls_context_file *bad, char *err, size_t errlen);

#endif
