/*
 * Test certificates made at test time with the openssl command into a fresh
 * temporary directory: nothing private is committed. Shared by the unit
 * tests of tls_context.c and sip_stream.c.
 */
#ifndef SIPNATD_TEST_CERTS_H
#define SIPNATD_TEST_CERTS_H

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_certs {
	char dir[64];
	char cert[96], key[96];      /* a matching pair */
	char other_key[96];                /* a key of another pair */
	char combined[96];                 /* cert and key in one file */
	char garbage[96];                  /* not PEM at all */
};

static inline void test_certs_make(struct test_certs *t)
{
	char cmd[1024];
	FILE *fp;

	snprintf(t->dir, sizeof(t->dir), "/tmp/sipnatd-certs-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(t->cert, sizeof(t->cert), "%s/cert.pem", t->dir);
	snprintf(t->key, sizeof(t->key), "%s/key.pem", t->dir);
	snprintf(t->other_key, sizeof(t->other_key), "%s/other.pem", t->dir);
	snprintf(t->combined, sizeof(t->combined), "%s/combined.pem", t->dir);
	snprintf(t->garbage, sizeof(t->garbage), "%s/garbage.pem", t->dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout %s -out %s -days 2 -subj /CN=sipnatd.test 2>/dev/null && "
		 "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out %s 2>/dev/null && "
		 "cat %s %s > %s", t->key, t->cert, t->other_key, t->cert, t->key, t->combined);
	ck_assert_msg(system(cmd) == 0, "openssl could not make test certificates");
	fp = fopen(t->garbage, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("this is not a certificate\n", fp);
	fclose(fp);
}

static inline void test_certs_remove(struct test_certs *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	ck_assert_int_eq(system(cmd), 0);
}

#endif
