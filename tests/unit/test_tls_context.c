/*
 * Unit tests for tls_context.c: a context from a certificate and its key
 * (apart or in one file), TLS 1.2 as the floor and Mozilla's intermediate
 * ciphers, and each failure blamed on the right file; then the same through
 * conf.c, whose message names the line of the key at fault (what -t prints).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "test_certs.h"
#include "tls_context.h"

#include <openssl/err.h>

static struct test_certs certs;

static void setup(void)
{
	test_certs_make(&certs);
}

static void teardown(void)
{
	test_certs_remove(&certs);
}

START_TEST(good_pair)
{
	enum tls_context_file bad;
	char err[256] = "";
	SSL_CTX *ctx = tls_context_new(certs.cert, certs.key, NULL, &bad, err, sizeof(err));
	STACK_OF(SSL_CIPHER) *ciphers;

	ck_assert_msg(ctx != NULL, "%s", err);
	ck_assert_int_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	ck_assert(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET);
	/* no CBC, no RSA key exchange among the TLS 1.2 ciphers */
	ciphers = SSL_CTX_get_ciphers(ctx);
	ck_assert_int_gt(sk_SSL_CIPHER_num(ciphers), 0);
	for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(ciphers, i);
		const char *name = SSL_CIPHER_get_name(c);

		ck_assert_msg(strstr(name, "CBC") == NULL && strstr(name, "SHA1") == NULL, "%s", name);
		if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") != 0)
			ck_assert_msg(strstr(name, "DHE") != NULL, "%s", name);
	}
	SSL_CTX_free(ctx);
}
END_TEST

START_TEST(combined_file)
{
	enum tls_context_file bad;
	char err[256] = "";
	SSL_CTX *ctx = tls_context_new(certs.combined, NULL, NULL, &bad, err, sizeof(err));

	ck_assert_msg(ctx != NULL, "%s", err);
	SSL_CTX_free(ctx);
	/* the certificate alone as chain file: fine too */
	ctx = tls_context_new(certs.cert, certs.key, certs.cert, &bad, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	SSL_CTX_free(ctx);
}
END_TEST

static void expect_fail(const char *cert, const char *key, const char *ca,
			enum tls_context_file want, const char *words)
{
	enum tls_context_file bad = (enum tls_context_file)-1;
	char err[256] = "";
	SSL_CTX *ctx = tls_context_new(cert, key, ca, &bad, err, sizeof(err));

	ck_assert_ptr_null(ctx);
	ck_assert_int_eq(bad, want);
	ck_assert_msg(strstr(err, words) != NULL, "\"%s\" lacks \"%s\"", err, words);
	ck_assert(ERR_peek_error() == 0);
}

START_TEST(failures)
{
	expect_fail("/nonexistent.pem", certs.key, NULL, TLS_CONTEXT_CERT,
		    "/nonexistent.pem: No such file or directory");
	expect_fail(certs.cert, "/nonexistent.pem", NULL, TLS_CONTEXT_KEY,
		    "/nonexistent.pem: No such file or directory");
	expect_fail(certs.garbage, certs.key, NULL, TLS_CONTEXT_CERT, "cannot read a certificate");
	expect_fail(certs.cert, certs.garbage, NULL, TLS_CONTEXT_KEY, "cannot read a private key");
	expect_fail(certs.cert, certs.other_key, NULL, TLS_CONTEXT_KEY,
		    "the private key does not match the certificate");
	/* no key file: the key is looked for in the certificate's file */
	expect_fail(certs.cert, NULL, NULL, TLS_CONTEXT_CERT, "cannot read a private key");
	expect_fail(certs.cert, certs.key, certs.garbage, TLS_CONTEXT_CA,
		    "cannot read a CA certificate");
	expect_fail(certs.key, certs.key, NULL, TLS_CONTEXT_CERT, "cannot read a certificate");
}
END_TEST

/* -t's words: the file, the line of the key, the key, the file at fault. */
START_TEST(through_conf)
{
	char text[4096], err[CONF_ERR_MAX], want[CONF_ERR_MAX];
	struct conf *conf;

	snprintf(text, sizeof(text),
		 "general: {\n  localnet = [ \"192.168.0.0/24\" ]; pbx = \"192.168.0.20\";\n"
		 "  externip = \"203.0.113.7\"; transport = \"udp,tcp,tls\";\n"
		 "  tlscertfile = \"%s\";\n  tlsprivatekey = \"%s\";\n};\n", certs.cert, certs.key);
	conf = conf_load_string(text, "sipnatd.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	ck_assert_uint_eq(conf->transports, CONF_TRANSPORT_UDP | CONF_TRANSPORT_TCP | CONF_TRANSPORT_TLS);
	ck_assert_str_eq(conf->tlscertfile, certs.cert);
	conf_free(conf);

	snprintf(text, sizeof(text),
		 "general: {\n  localnet = [ \"192.168.0.0/24\" ]; pbx = \"192.168.0.20\";\n"
		 "  externip = \"203.0.113.7\"; tlsenable = true;\n"
		 "  tlscertfile = \"%s\";\n  tlsprivatekey = \"%s\";\n};\n", certs.cert, certs.other_key);
	ck_assert_ptr_null(conf_load_string(text, "sipnatd.conf", err));
	snprintf(want, sizeof(want), "sipnatd.conf:5: general.tlsprivatekey: %s: the private key "
		 "does not match the certificate", certs.other_key);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);

	snprintf(text, sizeof(text),
		 "general: {\n  localnet = [ \"192.168.0.0/24\" ]; pbx = \"192.168.0.20\";\n"
		 "  externip = \"203.0.113.7\"; tlsenable = true;\n"
		 "  tlscertfile = \"%s\";\n};\n", certs.garbage);
	ck_assert_ptr_null(conf_load_string(text, "sipnatd.conf", err));
	snprintf(want, sizeof(want), "sipnatd.conf:4: general.tlscertfile: %s: cannot read a "
		 "certificate", certs.garbage);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
}
END_TEST

static Suite *tls_context_suite(void)
{
	Suite *s = suite_create("tls_context");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, good_pair);
	tcase_add_test(tc, combined_file);
	tcase_add_test(tc, failures);
	tcase_add_test(tc, through_conf);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tls_context_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
