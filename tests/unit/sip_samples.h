/*
 * Helpers shared by the SIP unit tests: load a sample datagram from
 * tests/data/sip and parse it. Kept in a header (static functions) because each
 * unit test is its own executable.
 */
#ifndef SIPNATD_TEST_SIP_SAMPLES_H
#define SIPNATD_TEST_SIP_SAMPLES_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sipmsg.h"

/* text starts with prefix. */
#define assert_prefix(text, prefix)                                                  \
	ck_assert_msg(strncmp((text), (prefix), strlen(prefix)) == 0,                \
		      "\"%.60s\" does not start with \"%s\"", (text), (prefix))

/* The bytes of tests/data/sip/NAME, NUL-terminated for convenience; free(). */
static inline char *sample_read(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long size;

	snprintf(path, sizeof(path), "%s/sip/%s", SIPNATD_TEST_DATA, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_ge(size, 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	buf[size] = '\0';
	*len = (size_t)size;
	return buf;
}

/* Parse tests/data/sip/NAME, which must come out SIPMSG_OK. */
static inline osip_message_t *sample_parse(const char *name)
{
	osip_message_t *msg = NULL;
	const char *why = NULL;
	size_t len;
	char *buf = sample_read(name, &len);
	enum sipmsg_status st = sipmsg_parse(buf, len, &msg, &why);

	free(buf);
	ck_assert_msg(st == SIPMSG_OK, "%s: %s (%s)", name, sipmsg_status_name(st), why);
	return msg;
}

/* Parse a message held in a C string. */
static inline enum sipmsg_status text_parse(const char *text, osip_message_t **out,
					    const char **why)
{
	return sipmsg_parse(text, strlen(text), out, why);
}

#endif
