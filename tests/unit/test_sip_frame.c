/*
 * Unit tests for sip_frame.c: message boundaries in a SIP byte stream
 * (RFC 3261 18.3), CRLF noise and CRLFCRLF pings (RFC 5626 4.4.1), and every
 * refusal: no Content-Length, a negative or non-numeric one, two that
 * disagree, a header section or message over its limit. Split reads are
 * checked by feeding every prefix of a message.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip_frame.h"

#define MAXH 1024
#define MAXM 65535

#define HEAD "OPTIONS sip:a@192.0.2.10 SIP/2.0\r\n" \
	"Via: SIP/2.0/TCP 198.51.100.5:40000;branch=z9hG4bK1\r\n" \
	"Call-ID: x@y\r\nCSeq: 1 OPTIONS\r\n"

static struct sip_frame frame(const char *buf, size_t len)
{
	struct sip_frame f;

	sip_frame_next(buf, len, MAXH, MAXM, &f);
	return f;
}

START_TEST(whole_message_without_body)
{
	const char *m = HEAD "Content-Length: 0\r\n\r\n";
	struct sip_frame f = frame(m, strlen(m));

	ck_assert_int_eq(f.kind, SIP_FRAME_MESSAGE);
	ck_assert_uint_eq(f.len, strlen(m));
}
END_TEST

START_TEST(body_counted)
{
	const char *m = HEAD "Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n";
	struct sip_frame f = frame(m, strlen(m));

	ck_assert_int_eq(f.kind, SIP_FRAME_MESSAGE);
	ck_assert_uint_eq(f.len, strlen(m));
}
END_TEST

/* Every prefix of a message is MORE, blank never; once the header section
 * is in, need says the whole length. */
START_TEST(split_reads)
{
	const char *m = HEAD "Content-Length: 10\r\n\r\n0123456789";
	size_t len = strlen(m), head = strlen(m) - 10;

	for (size_t n = 1; n < len; n++) {
		struct sip_frame f = frame(m, n);

		ck_assert_msg(f.kind == SIP_FRAME_MORE, "prefix %zu: kind %d", n, f.kind);
		ck_assert(!f.blank);
		ck_assert_uint_eq(f.need, n >= head ? len : 0);
	}
	ck_assert_int_eq(frame(m, len).kind, SIP_FRAME_MESSAGE);
}
END_TEST

/* Two messages in one read: the first is framed alone, then the second. */
START_TEST(pipelined)
{
	char buf[1024];
	const char *a = HEAD "Content-Length: 3\r\n\r\nabc";
	const char *b = HEAD "l: 0\r\n\r\n";
	struct sip_frame f;

	snprintf(buf, sizeof(buf), "%s%s", a, b);
	f = frame(buf, strlen(buf));
	ck_assert_int_eq(f.kind, SIP_FRAME_MESSAGE);
	ck_assert_uint_eq(f.len, strlen(a));
	f = frame(buf + f.len, strlen(b));
	ck_assert_int_eq(f.kind, SIP_FRAME_MESSAGE);
	ck_assert_uint_eq(f.len, strlen(b));
}
END_TEST

/* Header names compare without case; the compact form l counts; a header
 * that merely starts with the name does not. */
START_TEST(header_spellings)
{
	const char *m1 = HEAD "content-LENGTH :  2 \r\n\r\nab";
	const char *m2 = HEAD "L:2\r\n\r\nab";
	const char *m3 = HEAD "Content-Length-X: 7\r\nContent-Length: 2\r\n\r\nab";
	const char *m4 = HEAD "Content-Length: 2\r\ncontent-length: 2\r\n\r\nab";

	ck_assert_uint_eq(frame(m1, strlen(m1)).len, strlen(m1));
	ck_assert_uint_eq(frame(m2, strlen(m2)).len, strlen(m2));
	ck_assert_uint_eq(frame(m3, strlen(m3)).len, strlen(m3));
	ck_assert_int_eq(frame(m4, strlen(m4)).kind, SIP_FRAME_MESSAGE);
}
END_TEST

static const struct {
	const char *text;
	const char *why;
} refused[] = {
	{ HEAD "\r\n", "no Content-Length (RFC 3261 18.3)" },
	{ HEAD "Content-Length: -1\r\n\r\n", "Content-Length is not a number" },
	{ HEAD "Content-Length: +1\r\n\r\n", "Content-Length is not a number" },
	{ HEAD "Content-Length: 1x\r\n\r\n", "Content-Length is not a number" },
	{ HEAD "Content-Length:\r\n\r\n", "Content-Length is not a number" },
	{ HEAD "Content-Length: 99999999999\r\n\r\n", "Content-Length is not a number" },
	{ HEAD "Content-Length: 1\r\nl: 2\r\n\r\nab", "two Content-Length values" },
	{ HEAD "Content-Length: 70000\r\n\r\n", "message over the limit" },
	/* the start line is not a header, even when it looks like one */
	{ "Content-Length: 0\r\n\r\n", "no Content-Length (RFC 3261 18.3)" },
};

START_TEST(refusals)
{
	struct sip_frame f = frame(refused[_i].text, strlen(refused[_i].text));

	ck_assert_int_eq(f.kind, SIP_FRAME_ERROR);
	ck_assert_str_eq(f.why, refused[_i].why);
}
END_TEST

/* A header section that has not ended by max_header bytes is refused as
 * soon as that many are in; one byte fewer is still MORE. */
START_TEST(oversize_header)
{
	char *buf = malloc(MAXH + 100);
	struct sip_frame f;
	size_t n;

	ck_assert_ptr_nonnull(buf);
	n = (size_t)snprintf(buf, MAXH + 100, "%s", HEAD);
	while (n < MAXH + 50)
		n += (size_t)snprintf(buf + n, MAXH + 100 - n, "X-Pad: %s\r\n", "aaaaaaaaaaaaaaaa");
	f = frame(buf, MAXH - 1);
	ck_assert_int_eq(f.kind, SIP_FRAME_MORE);
	f = frame(buf, MAXH);
	ck_assert_int_eq(f.kind, SIP_FRAME_ERROR);
	ck_assert_str_eq(f.why, "header section over the limit");
	/* the same bytes with the end of the header in range are fine */
	memcpy(buf + 200, "\r\nContent-Length: 0\r\n\r\n", 23);
	f = frame(buf, MAXH);
	ck_assert_int_eq(f.kind, SIP_FRAME_MESSAGE);
	free(buf);
}
END_TEST

/* A 3 000-byte INVITE (issue 15), the reason phones use TCP, fits the
 * default limits; the body counts toward the message, not the header. */
START_TEST(large_invite)
{
	char buf[4096], body[2600];
	struct sip_frame f;
	int n;

	memset(body, 'a', sizeof(body));
	for (size_t i = 60; i < sizeof(body); i += 61)
		body[i - 1] = '\r', body[i] = '\n';
	n = snprintf(buf, sizeof(buf), "INVITE sip:1@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n"
		     "Content-Length: %zu\r\n\r\n%.*s", sizeof(body), (int)sizeof(body), body);
	ck_assert_int_gt(n, 2600);
	sip_frame_next(buf, (size_t)n, 16384, MAXM, &f);
	ck_assert_int_eq(f.kind, SIP_FRAME_MESSAGE);
	ck_assert_uint_eq(f.len, (size_t)n);
}
END_TEST

START_TEST(crlf_pings)
{
	struct sip_frame f;

	f = frame("\r\n\r\n", 4);
	ck_assert_int_eq(f.kind, SIP_FRAME_PING);
	ck_assert_uint_eq(f.len, 4);
	/* a ping in pieces: blank, waiting for the rest */
	for (size_t n = 1; n < 4; n++) {
		f = frame("\r\n\r\n", n);
		ck_assert_int_eq(f.kind, SIP_FRAME_MORE);
		ck_assert(f.blank);
	}
	/* CRLF before a message is skipped (RFC 3261 7.5) */
	f = frame("\r\nOPTIONS", 9);
	ck_assert_int_eq(f.kind, SIP_FRAME_SKIP);
	ck_assert_uint_eq(f.len, 2);
	f = frame("\nOPTIONS", 8);
	ck_assert_int_eq(f.kind, SIP_FRAME_SKIP);
	ck_assert_uint_eq(f.len, 1);
	f = frame("", 0);
	ck_assert_int_eq(f.kind, SIP_FRAME_MORE);
	ck_assert(f.blank);
	/* two pings back to back: one at a time */
	f = frame("\r\n\r\n\r\n\r\n", 8);
	ck_assert_int_eq(f.kind, SIP_FRAME_PING);
	ck_assert_uint_eq(f.len, 4);
}
END_TEST

/* Bytes that are no SIP at all never make a message and never read past
 * the buffer (ASan watches: the buffer is exactly len long). */
START_TEST(garbage)
{
	unsigned seed = 15;

	for (int round = 0; round < 2000; round++) {
		size_t len = 1 + (size_t)(rand_r(&seed) % 300);
		char *buf = malloc(len);
		struct sip_frame f;

		ck_assert_ptr_nonnull(buf);
		for (size_t i = 0; i < len; i++) {
			static const char alphabet[] = "\r\n :lL0123Content-gth";
			buf[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		}
		sip_frame_next(buf, len, 128, 512, &f);
		if (f.kind == SIP_FRAME_MESSAGE || f.kind == SIP_FRAME_PING || f.kind == SIP_FRAME_SKIP)
			ck_assert(f.len > 0 && f.len <= len);
		free(buf);
	}
}
END_TEST

static Suite *sip_frame_suite(void)
{
	Suite *s = suite_create("sip_frame");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, whole_message_without_body);
	tcase_add_test(tc, body_counted);
	tcase_add_test(tc, split_reads);
	tcase_add_test(tc, pipelined);
	tcase_add_test(tc, header_spellings);
	tcase_add_loop_test(tc, refusals, 0, sizeof(refused) / sizeof(refused[0]));
	tcase_add_test(tc, oversize_header);
	tcase_add_test(tc, large_invite);
	tcase_add_test(tc, crlf_pings);
	tcase_add_test(tc, garbage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sip_frame_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
