/*
 * Unit tests for sdp_rewrite.c (design section 8; R14-R19, R47). Real-world
 * bodies live in tests/data/sdp as NAME.sent.sdp (what a party sent) and
 * NAME.expected.sdp (what the other side must see, byte for byte); the
 * relay's address toward the receiver is 203.0.113.10 throughout. Smaller
 * cases, built inline, pin down one rule each and what libosip2 would get
 * wrong without sdp_rewrite's guards.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdp_rewrite.h"
#include "../support/unit_main.h"

#define RELAY "203.0.113.10"
#define IP4 SDP_FAMILY_IP4 /* what the IPv4 path reads */
#define BOTH (SDP_FAMILY_IP4 | SDP_FAMILY_IP6)

/* The bytes of tests/data/sdp/NAME; free(). */
static char *sdp_read(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long size;

	snprintf(path, sizeof(path), "%s/sdp/%s", SIPNATD_TEST_DATA, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_gt(size, 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	*len = (size_t)size;
	return buf;
}

static struct netaddr na(const char *text)
{
	struct netaddr a;

	ck_assert_msg(netaddr_parse_ip(text, &a), "%s", text);
	return a;
}

/* a is the address want (either family; ports aside), or has no family
 * when want is NULL. */
static void assert_ip(const struct netaddr *a, const char *want)
{
	char text[NETADDR_TEXT_MAX];

	if (!want) {
		ck_assert_int_eq(a->family, 0);
		return;
	}
	struct netaddr w = na(want);
	ck_assert_msg(netaddr_same_ip(a, &w), "%s, wanted %s", netaddr_print(a, text), want);
}

/* The relay's address, RTP ports 10000, 10002, ..., no rtcp-mux. */
static struct sdp_rewrite_params default_params(void)
{
	struct sdp_rewrite_params p;

	memset(&p, 0, sizeof(p));
	p.advertise = na(RELAY);
	for (int i = 0; i < SDP_MAX_MEDIA; i++)
		p.ports[i] = (uint16_t)(10000 + 2 * i);
	return p;
}

/* ---- the samples ---------------------------------------------------------- */

struct stream_want {
	const char *media;
	uint16_t port;
	const char *addr;      /* NULL: none (a rejected stream) */
	uint16_t rtcp_port;
	const char *rtcp_addr; /* NULL: none */
	bool mux;
	enum sdp_direction dir;
};

struct sample {
	const char *name;
	uint16_t ports[SDP_MAX_MEDIA];
	bool mux[SDP_MAX_MEDIA];
	bool hold;
	size_t count;
	struct stream_want want[2];
};

static const struct sample samples[] = {
	{ "asterisk_offer", { 10000 }, { false }, false, 1,
	  { { "audio", 14582, "192.168.1.10", 14583, "192.168.1.10", false, SDP_SENDRECV } } },
	{ "linphone_offer", { 10002 }, { false }, false, 1,
	  { { "audio", 7078, "192.168.1.5", 7079, "192.168.1.5", true, SDP_SENDRECV } } },
	{ "zoiper_offer", { 10004 }, { true }, false, 1,
	  { { "audio", 58960, "192.168.1.23", 58961, "192.168.1.23", true, SDP_SENDRECV } } },
	{ "audio_video_offer", { 10006, 10008 }, { false, false }, false, 2,
	  { { "audio", 11780, "192.168.1.40", 11781, "192.168.1.40", false, SDP_SENDRECV },
	    { "video", 11782, "192.168.1.40", 11783, "192.168.1.40", false, SDP_SENDRECV } } },
	{ "webrtc_offer", { 10010 }, { true }, false, 1,
	  { { "audio", 54312, "203.0.113.77", 54313, "203.0.113.77", true, SDP_SENDRECV } } },
	{ "hold_sendonly", { 10002 }, { false }, true, 1,
	  { { "audio", 7078, "192.168.1.5", 7079, "192.168.1.5", false, SDP_SENDONLY } } },
	{ "hold_c0", { 10012 }, { false }, true, 1,
	  { { "audio", 62448, "0.0.0.0", 62449, "0.0.0.0", false, SDP_SENDRECV } } },
	/* the video port given for the rejected stream must be ignored */
	{ "rejected_video", { 10014, 10016 }, { false, false }, false, 2,
	  { { "audio", 17236, "192.168.1.10", 17237, "192.168.1.10", false, SDP_SENDRECV },
	    { "video", 0, NULL, 0, NULL, false, SDP_SENDRECV } } },
	{ "media_level_c", { 10016, 10018 }, { false, false }, false, 2,
	  { { "audio", 16384, "192.168.1.60", 16385, "192.168.1.60", false, SDP_SENDRECV },
	    { "video", 16386, "192.168.1.61", 16391, "192.168.1.61", false, SDP_SENDRECV } } },
	{ "media_c_override", { 10020, 10022 }, { false, false }, false, 2,
	  { { "audio", 30000, "192.168.1.51", 30001, "192.168.1.51", false, SDP_SENDRECV },
	    { "video", 30002, "192.168.1.50", 30003, "192.168.1.50", false, SDP_SENDRECV } } },
	{ "inactive", { 10000 }, { false }, true, 1,
	  { { "audio", 14582, "192.168.1.10", 14583, "192.168.1.10", false, SDP_INACTIVE } } },
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

static struct sdp_rewrite_params sample_params(const struct sample *s)
{
	struct sdp_rewrite_params p;

	memset(&p, 0, sizeof(p));
	p.advertise = na(RELAY);
	memcpy(p.ports, s->ports, sizeof(p.ports));
	memcpy(p.rtcp_mux, s->mux, sizeof(p.rtcp_mux));
	return p;
}

/* NAME.sent.sdp rewritten is NAME.expected.sdp, byte for byte; the length is
 * what Content-Length will say; the same input gives the same bytes (R18)
 * and rewriting what was forwarded changes nothing more. */
START_TEST(sample_rewrite)
{
	const struct sample *s = &samples[_i];
	struct sdp_rewrite_params p = sample_params(s);
	char name[128], *sent, *want, *out = NULL, *again = NULL, *twice = NULL;
	size_t sent_len, want_len, out_len = 0, again_len = 0, twice_len = 0;

	snprintf(name, sizeof(name), "%s.sent.sdp", s->name);
	sent = sdp_read(name, &sent_len);
	snprintf(name, sizeof(name), "%s.expected.sdp", s->name);
	want = sdp_read(name, &want_len);

	ck_assert_msg(sdp_rewrite(sent, sent_len, IP4, &p, &out, &out_len) == 0, "%s refused", s->name);
	ck_assert_msg(out_len == want_len && memcmp(out, want, want_len) == 0,
		      "%s: got\n%s\nwanted\n%s", s->name, out, want);
	ck_assert_uint_eq(out_len, strlen(out));

	ck_assert_int_eq(sdp_rewrite(sent, sent_len, IP4, &p, &again, &again_len), 0);
	ck_assert_uint_eq(again_len, out_len);
	ck_assert_mem_eq(again, out, out_len);

	ck_assert_int_eq(sdp_rewrite(out, out_len, IP4, &p, &twice, &twice_len), 0);
	ck_assert_uint_eq(twice_len, out_len);
	ck_assert_mem_eq(twice, out, out_len);

	free(sent);
	free(want);
	free(out);
	free(again);
	free(twice);
}
END_TEST

/* What the relay learns from NAME.sent.sdp. */
START_TEST(sample_inspect)
{
	const struct sample *s = &samples[_i];
	struct sdp_info info;
	char name[128], *sent;
	size_t len;

	snprintf(name, sizeof(name), "%s.sent.sdp", s->name);
	sent = sdp_read(name, &len);
	ck_assert_int_eq(sdp_rewrite_inspect(sent, len, IP4, &info), 0);
	ck_assert_uint_eq(info.count, s->count);
	for (size_t i = 0; i < s->count; i++) {
		const struct stream_want *w = &s->want[i];
		const struct sdp_stream *st = &info.streams[i];

		ck_assert_str_eq(st->media, w->media);
		ck_assert_uint_eq(st->port, w->port);
		assert_ip(&st->conn, w->addr);
		ck_assert_uint_eq(st->conn.port, w->port);
		ck_assert_uint_eq(st->rtcp_port, w->rtcp_port);
		assert_ip(&st->rtcp_conn, w->rtcp_addr);
		ck_assert_uint_eq(st->rtcp_conn.port, w->rtcp_port);
		ck_assert_int_eq(st->rtcp_mux, w->mux);
		ck_assert_int_eq(st->direction, w->dir);
	}
	ck_assert_int_eq(sdp_rewrite_is_hold(&info), s->hold);
	free(sent);
}
END_TEST

/* What the receiver learns from NAME.expected.sdp: only the relay, except
 * 0.0.0.0 kept for hold; the same streams and directions. */
START_TEST(sample_forwarded_inspect)
{
	const struct sample *s = &samples[_i];
	struct sdp_info info;
	char name[128], *fwd;
	size_t len;

	snprintf(name, sizeof(name), "%s.expected.sdp", s->name);
	fwd = sdp_read(name, &len);
	ck_assert_int_eq(sdp_rewrite_inspect(fwd, len, IP4, &info), 0);
	ck_assert_uint_eq(info.count, s->count);
	for (size_t i = 0; i < s->count; i++) {
		const struct sdp_stream *st = &info.streams[i];
		bool held = s->want[i].port != 0 && strcmp(s->want[i].addr, "0.0.0.0") == 0;

		ck_assert_int_eq(st->direction, s->want[i].dir);
		if (s->want[i].port == 0) {
			ck_assert_uint_eq(st->port, 0);
			continue;
		}
		ck_assert_uint_eq(st->port, s->ports[i]);
		assert_ip(&st->conn, held ? "0.0.0.0" : RELAY);
		/* muxed: a=rtcp names P itself, but none was added if none came
		 * (both muxed samples have one stream) */
		if (s->mux[i] && strstr(fwd, "a=rtcp:"))
			ck_assert_uint_eq(st->rtcp_port, s->ports[i]);
		else
			ck_assert_uint_eq(st->rtcp_port, s->ports[i] + 1);
		if (!held)
			assert_ip(&st->rtcp_conn, RELAY);
	}
	ck_assert_int_eq(sdp_rewrite_is_hold(&info), s->hold);
	free(fwd);
}
END_TEST

/* ---- inline cases ---------------------------------------------------------- */

#define HEAD "v=0\r\no=- 1 2 IN IP4 192.168.1.5\r\ns=-\r\n"
#define HEAD_C HEAD "c=IN IP4 192.168.1.5\r\nt=0 0\r\n"
#define AUDIO "m=audio 4000 RTP/AVP 0\r\n"

static int rewrite_rc(const char *body, size_t len)
{
	struct sdp_rewrite_params p = default_params();
	char *out = (char *)1;
	size_t out_len = 1;
	int rc = sdp_rewrite(body, len, IP4, &p, &out, &out_len);

	if (rc != 0) {
		ck_assert_ptr_null(out);
		ck_assert_uint_eq(out_len, 0);
	}
	free(rc == 0 ? out : NULL);
	return rc;
}

/* Both functions refuse body (R47: answered 488, never forwarded). */
#define assert_refused(body, len)                                                           \
	do {                                                                                 \
		struct sdp_info info_;                                                       \
		ck_assert_msg(sdp_rewrite_inspect((body), (len), IP4, &info_) == -1, "inspect took it");  \
		ck_assert_uint_eq(info_.count, 0);                                           \
		ck_assert_msg(rewrite_rc((body), (len)) == -1, "rewrite took it");           \
	} while (0)
#define assert_refused_str(body) assert_refused((body), strlen(body))

/* body rewritten with default_params() is want. */
static void assert_rewrites_to(const char *body, size_t len, const char *want)
{
	struct sdp_rewrite_params p = default_params();
	char *out = NULL;
	size_t out_len = 0;

	ck_assert_msg(sdp_rewrite(body, len, IP4, &p, &out, &out_len) == 0, "refused:\n%s", body);
	ck_assert_msg(strcmp(out, want) == 0, "got\n%s\nwanted\n%s", out, want);
	ck_assert_uint_eq(out_len, strlen(want));
	free(out);
}
#define assert_rewrites_str(body, want) assert_rewrites_to((body), strlen(body), (want))

#define OUT_HEAD "v=0\r\no=- 1 2 IN IP4 " RELAY "\r\ns=-\r\n"
#define OUT_HEAD_C OUT_HEAD "c=IN IP4 " RELAY "\r\nt=0 0\r\n"

START_TEST(negative_garbage)
{
	assert_refused_str("hello world\r\n");
	assert_refused_str("v=0\r\n");
	assert_refused_str("\r\n\r\n");
	assert_refused_str("GET / HTTP/1.0\r\n\r\n");
	/* no t= */
	assert_refused_str(HEAD "c=IN IP4 192.168.1.5\r\n" AUDIO);
	/* a line type libosip2 does not know */
	assert_refused_str(HEAD_C AUDIO "x=what\r\n");
	/* m= port that is not a port */
	assert_refused_str(HEAD_C "m=audio 70000 RTP/AVP 0\r\n");
	assert_refused_str(HEAD_C "m=audio -1 RTP/AVP 0\r\n");
	assert_refused_str(HEAD_C "m=audio four RTP/AVP 0\r\n");
	/* a= with an empty value, doubled blanks in m= */
	assert_refused_str(HEAD_C AUDIO "a=ptime:\r\n");
	assert_refused_str(HEAD_C "m=audio  4000 RTP/AVP 0\r\n");
}
END_TEST

START_TEST(negative_empty)
{
	assert_refused("", 0);
	assert_refused(NULL, 0);
	assert_refused(NULL, 10);
}
END_TEST

START_TEST(negative_ipv6)
{
	assert_refused_str(HEAD "c=IN IP6 2001:db8::5\r\nt=0 0\r\n" AUDIO);
	assert_refused_str(HEAD "t=0 0\r\n" AUDIO "c=IN IP6 2001:db8::5\r\n");
	/* an IPv4 c= naming something else than an IPv4 literal */
	assert_refused_str(HEAD "c=IN IP4 pbx.example.com\r\nt=0 0\r\n" AUDIO);
	assert_refused_str(HEAD "c=IN IP4 ::1\r\nt=0 0\r\n" AUDIO);
	assert_refused_str(HEAD "c=XX IP4 192.168.1.5\r\nt=0 0\r\n" AUDIO);
	/* multicast: the relay sends to one party */
	assert_refused_str(HEAD "c=IN IP4 224.2.1.1/127\r\nt=0 0\r\n" AUDIO);
	assert_refused_str(HEAD "c=IN IP4 239.1.1.1\r\nt=0 0\r\n" AUDIO);
	/* a=rtcp naming an address of another kind, or no port */
	assert_refused_str(HEAD_C AUDIO "a=rtcp:4001 IN IP6 2001:db8::5\r\n");
	assert_refused_str(HEAD_C AUDIO "a=rtcp:0\r\n");
	assert_refused_str(HEAD_C AUDIO "a=rtcp:x IN IP4 192.168.1.5\r\n");
	assert_refused_str(HEAD_C AUDIO "a=rtcp:4001 IN IP4\r\n");
	assert_refused_str(HEAD_C AUDIO "a=rtcp\r\n");
}
END_TEST

/* An IPv6 or missing address only matters where a stream uses it. */
START_TEST(ipv6_where_unused)
{
	struct sdp_info info;
	const char *body = HEAD "c=IN IP6 2001:db8::5\r\nt=0 0\r\n"
				"m=audio 4000 RTP/AVP 0\r\nc=IN IP4 192.168.1.5\r\n"
				"m=video 0 RTP/AVP 96\r\n";

	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), IP4, &info), 0);
	ck_assert_uint_eq(info.count, 2);
	assert_ip(&info.streams[0].conn, "192.168.1.5");
	ck_assert_uint_eq(info.streams[1].port, 0);
	assert_rewrites_str(body, OUT_HEAD "c=IN IP4 " RELAY "\r\nt=0 0\r\n"
					   "m=audio 10000 RTP/AVP 0\r\nc=IN IP4 " RELAY "\r\n"
					   "m=video 0 RTP/AVP 96\r\n");

	/* no c= at all, but no stream with a port either */
	body = HEAD "t=0 0\r\nm=audio 0 RTP/AVP 0\r\n";
	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), IP4, &info), 0);
	assert_rewrites_str(body, OUT_HEAD "t=0 0\r\nm=audio 0 RTP/AVP 0\r\n");
}
END_TEST

START_TEST(negative_missing_c)
{
	assert_refused_str(HEAD "t=0 0\r\n" AUDIO "a=sendrecv\r\n");
	/* the first stream has its own, the second none */
	assert_refused_str(HEAD "t=0 0\r\n" AUDIO "c=IN IP4 192.168.1.5\r\nm=video 4002 RTP/AVP 96\r\n");
}
END_TEST

START_TEST(negative_c_without_address)
{
	assert_refused_str(HEAD "c=IN IP4\r\nt=0 0\r\n" AUDIO);
	assert_refused_str(HEAD "c=IN IP4 \r\nt=0 0\r\n" AUDIO);
	assert_refused_str(HEAD "c=\r\nt=0 0\r\n" AUDIO);
	assert_refused_str(HEAD "t=0 0\r\n" AUDIO "c=IN IP4\r\n");
}
END_TEST

/* Up to SDP_MAX_MEDIA m= lines; one more is refused (R47). */
START_TEST(media_limit)
{
	char body[4096];
	size_t n = (size_t)snprintf(body, sizeof(body), "%s", HEAD_C);
	struct sdp_info info;

	for (int i = 0; i < SDP_MAX_MEDIA; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "m=audio %d RTP/AVP 0\r\n",
				      4000 + 2 * i);
	ck_assert_int_eq(sdp_rewrite_inspect(body, n, IP4, &info), 0);
	ck_assert_uint_eq(info.count, SDP_MAX_MEDIA);
	ck_assert_uint_eq(info.streams[SDP_MAX_MEDIA - 1].port, 4000 + 2 * (SDP_MAX_MEDIA - 1));
	ck_assert_int_eq(rewrite_rc(body, n), 0);

	n += (size_t)snprintf(body + n, sizeof(body) - n, "m=audio 0 RTP/AVP 0\r\n");
	assert_refused(body, n);
}
END_TEST

/* Exactly SDP_MAX_SIZE bytes pass; one more is refused. */
START_TEST(size_limit)
{
	char *body = malloc(SDP_MAX_SIZE + 2);
	size_t n = (size_t)snprintf(body, SDP_MAX_SIZE, "%s%s", HEAD_C, AUDIO);
	struct sdp_info info;

	/* 64-byte attribute lines, then one that ends exactly at the limit */
	while (SDP_MAX_SIZE - n >= 2 * 64) {
		memcpy(body + n, "a=x-pad:", 8);
		memset(body + n + 8, 'p', 64 - 10);
		memcpy(body + n + 62, "\r\n", 2);
		n += 64;
	}
	memcpy(body + n, "a=x-pad:", 8);
	memset(body + n + 8, 'q', SDP_MAX_SIZE - n - 10);
	memcpy(body + SDP_MAX_SIZE - 2, "\r\n", 2);
	n = SDP_MAX_SIZE;
	ck_assert_int_eq(sdp_rewrite_inspect(body, n, IP4, &info), 0);
	ck_assert_int_eq(rewrite_rc(body, n), 0);

	memcpy(body + SDP_MAX_SIZE - 2, "q\r\n", 3);
	assert_refused(body, SDP_MAX_SIZE + 1);
	free(body);
}
END_TEST

START_TEST(negative_nul)
{
	char body[] = HEAD_C AUDIO "a=sendrecv\r\n";
	size_t len = sizeof(body) - 1;
	struct sdp_info info;
	char was = body[len - 5];

	ck_assert_int_eq(sdp_rewrite_inspect(body, len, IP4, &info), 0);
	body[len - 5] = '\0'; /* inside a=sendrecv */
	assert_refused(body, len);
	body[len - 5] = was;
	body[len - 1] = '\0'; /* the last byte */
	assert_refused(body, len);
	/* len counts the bytes; a NUL just behind them is not part of the body */
	ck_assert_int_eq(sdp_rewrite_inspect(body, len - 1, IP4, &info), 0);
}
END_TEST

/* A body with thousands of lines or formats would make libosip2 spend
 * seconds in its lists; it is refused before that, quickly. */
START_TEST(negative_line_flood)
{
	char *body = malloc(SDP_MAX_SIZE + 1);
	size_t n = (size_t)snprintf(body, SDP_MAX_SIZE, "%s%s", HEAD_C, "m=audio 4000 RTP/AVP 0");
	struct timespec t0, t1;
	double ms;

	while (n + 2 < SDP_MAX_SIZE - 2) {
		memcpy(body + n, " 0", 2);
		n += 2;
	}
	memcpy(body + n, "\r\n", 2);
	n += 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_refused(body, n);

	n = (size_t)snprintf(body, SDP_MAX_SIZE, "%s%s", HEAD_C, AUDIO);
	while (n + 5 <= SDP_MAX_SIZE) {
		memcpy(body + n, "a=x\r\n", 5);
		n += 5;
	}
	assert_refused(body, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms < 200, "took %.0f ms", ms);
	free(body);
}
END_TEST

/* libosip2 stops at an empty line and reports success: the rest would be
 * lost. Trailing empty lines are harmless and dropped. */
START_TEST(empty_lines)
{
	assert_refused_str(HEAD_C "\r\n" AUDIO);
	assert_refused_str(HEAD_C AUDIO "\r\na=sendonly\r\n");
	assert_rewrites_str(HEAD_C AUDIO "\r\n\r\n", OUT_HEAD_C "m=audio 10000 RTP/AVP 0\r\n");
}
END_TEST

/* libosip2 looks only at the letter before the first '=': a line it would
 * misread or swallow is refused rather than lost. So is s= before o=, which
 * it would reorder. */
START_TEST(misread_lines)
{
	assert_refused_str(HEAD_C AUDIO "xa=sendonly\r\n");
	assert_refused_str(HEAD_C AUDIO "sendonly\r\na=ptime:20\r\n");
	assert_refused_str(HEAD_C AUDIO " a=sendonly\r\n");
	assert_refused_str("v=0\r\ns=-\r\no=- 1 2 IN IP4 192.168.1.5\r\nc=IN IP4 192.168.1.5\r\n"
			   "t=0 0\r\n" AUDIO);
	assert_refused_str("xv=0\r\no=- 1 2 IN IP4 192.168.1.5\r\ns=-\r\nc=IN IP4 192.168.1.5\r\n"
			   "t=0 0\r\n" AUDIO);
}
END_TEST

/* LF-only, CR-only and a last line without an end are read; the output is
 * CRLF. A last m= line ending in a lone CR made libosip2 read past the end. */
START_TEST(line_endings)
{
	const char *want = OUT_HEAD_C "m=audio 10000 RTP/AVP 0\r\na=sendonly\r\n";

	assert_rewrites_str("v=0\no=- 1 2 IN IP4 192.168.1.5\ns=-\nc=IN IP4 192.168.1.5\nt=0 0\n"
			    "m=audio 4000 RTP/AVP 0\na=sendonly\n",
			    want);
	assert_rewrites_str("v=0\ro=- 1 2 IN IP4 192.168.1.5\rs=-\rc=IN IP4 192.168.1.5\rt=0 0\r"
			    "m=audio 4000 RTP/AVP 0\ra=sendonly\r",
			    want);
	assert_rewrites_str(HEAD_C AUDIO "a=sendonly", want);
	assert_rewrites_str(HEAD_C "m=audio 0 RTP/AVP\r", OUT_HEAD_C "m=audio 0 RTP/AVP\r\n");
	assert_rewrites_str(HEAD_C "m=audio 0 RTP/AVP", OUT_HEAD_C "m=audio 0 RTP/AVP\r\n");
	assert_rewrites_str(HEAD_C "m=audio 0 RTP/AVP\n", OUT_HEAD_C "m=audio 0 RTP/AVP\r\n");
}
END_TEST

/* Blanks at the end of an m= line are dropped by libosip2; that is all. */
START_TEST(trailing_blanks)
{
	assert_rewrites_str(HEAD_C "m=audio 4000 RTP/AVP 0 8 \r\na=sendrecv\r\n",
			    OUT_HEAD_C "m=audio 10000 RTP/AVP 0 8\r\na=sendrecv\r\n");
	assert_rewrites_str(HEAD_C "m=audio 4000 RTP/AVP 0\r\na=silenceSupp:off - - - - \r\n",
			    OUT_HEAD_C "m=audio 10000 RTP/AVP 0\r\na=silenceSupp:off - - - - \r\n");
}
END_TEST

/* Every line type libosip2 knows, at both levels, passes through in order. */
START_TEST(every_line_type_passes)
{
	assert_rewrites_str("v=0\r\n"
			    "o=carol 28908764872 28908764873 IN IP4 192.168.1.5\r\n"
			    "s=Seminar\r\n"
			    "i=A session\r\n"
			    "u=http://www.example.com/seminar.pdf\r\n"
			    "e=carol@example.com (Carol)\r\n"
			    "e=help@example.com\r\n"
			    "p=+1 617 555-6011\r\n"
			    "c=IN IP4 192.168.1.5\r\n"
			    "b=CT:128\r\n"
			    "b=AS:64\r\n"
			    "t=2873397496 2873404696\r\n"
			    "r=7d 1h 0 25h\r\n"
			    "t=0 0\r\n"
			    "z=2882844526 -1h 2898848070 0\r\n"
			    "k=prompt\r\n"
			    "a=recvonly\r\n"
			    "a=tool:x y\r\n"
			    "m=audio 4000 RTP/AVP 0 8\r\n"
			    "i=voice\r\n"
			    "c=IN IP4 192.168.1.6\r\n"
			    "c=IN IP4 0.0.0.0\r\n"
			    "b=TIAS:64000\r\n"
			    "k=base64:ZGF0YQ==\r\n"
			    "a=rtpmap:0 PCMU/8000\r\n"
			    "a=quality:10\r\n"
			    "a=x-flag\r\n"
			    "a=fmtp:8 a=b;c=d:e\r\n",
			    "v=0\r\n"
			    "o=carol 28908764872 28908764873 IN IP4 " RELAY "\r\n"
			    "s=Seminar\r\n"
			    "i=A session\r\n"
			    "u=http://www.example.com/seminar.pdf\r\n"
			    "e=carol@example.com (Carol)\r\n"
			    "e=help@example.com\r\n"
			    "p=+1 617 555-6011\r\n"
			    "c=IN IP4 " RELAY "\r\n"
			    "b=CT:128\r\n"
			    "b=AS:64\r\n"
			    "t=2873397496 2873404696\r\n"
			    "r=7d 1h 0 25h\r\n"
			    "t=0 0\r\n"
			    "z=2882844526 -1h 2898848070 0\r\n"
			    "k=prompt\r\n"
			    "a=recvonly\r\n"
			    "a=tool:x y\r\n"
			    "m=audio 10000 RTP/AVP 0 8\r\n"
			    "i=voice\r\n"
			    "c=IN IP4 " RELAY "\r\n"
			    "c=IN IP4 0.0.0.0\r\n"
			    "b=TIAS:64000\r\n"
			    "k=base64:ZGF0YQ==\r\n"
			    "a=rtpmap:0 PCMU/8000\r\n"
			    "a=quality:10\r\n"
			    "a=x-flag\r\n"
			    "a=fmtp:8 a=b;c=d:e\r\n");
}
END_TEST

/* o= gets the relay's address whatever it was; id and version stay (R18). */
START_TEST(origin)
{
	assert_rewrites_str("v=0\r\no=- 7 9 IN IP6 2001:db8::5\r\ns=-\r\n"
			    "c=IN IP4 192.168.1.5\r\nt=0 0\r\n" AUDIO,
			    "v=0\r\no=- 7 9 IN IP4 " RELAY "\r\ns=-\r\n"
			    "c=IN IP4 " RELAY "\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n");
	assert_rewrites_str("v=0\r\no=- 7 9 IN IP4 phone.lan\r\ns=-\r\n"
			    "c=IN IP4 192.168.1.5\r\nt=0 0\r\n" AUDIO,
			    "v=0\r\no=- 7 9 IN IP4 " RELAY "\r\ns=-\r\n"
			    "c=IN IP4 " RELAY "\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n");
}
END_TEST

/* m=<media> <port>/<count>: the relay holds one port; the count goes. */
START_TEST(port_count)
{
	struct sdp_info info;
	const char *body = HEAD_C "m=video 4000/2 RTP/AVP 96\r\n";

	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), IP4, &info), 0);
	ck_assert_uint_eq(info.streams[0].port, 4000);
	assert_rewrites_str(body, OUT_HEAD_C "m=video 10000 RTP/AVP 96\r\n");
	/* a rejected stream passes as it is */
	assert_rewrites_str(HEAD_C "m=video 0/2 RTP/AVP 96\r\n",
			    OUT_HEAD_C "m=video 0/2 RTP/AVP 96\r\n");
}
END_TEST

/* R16/R17: a=rtcp names the relay's RTCP port (P+1, or P when muxed) and
 * address; none is added; a rejected stream's and a session-level one go. */
START_TEST(rtcp)
{
	struct sdp_rewrite_params p = default_params();
	const char *body = HEAD_C AUDIO "a=rtcp:4001\r\na=rtcp-mux\r\n"
				 "m=video 4002 RTP/AVP 96\r\na=rtcp:4003 IN IP4 192.168.1.5\r\n"
				 "m=video 4004 RTP/AVP 96\r\n"
				 "m=video 0 RTP/AVP 96\r\nc=IN IP4 192.168.1.5\r\na=rtcp:4007 IN IP4 192.168.1.5\r\n"
				 "a=rtcp-mux\r\n";
	char *out = NULL;
	size_t out_len;

	p.rtcp_mux[0] = true;
	ck_assert_int_eq(sdp_rewrite(body, strlen(body), IP4, &p, &out, &out_len), 0);
	ck_assert_str_eq(out, OUT_HEAD_C "m=audio 10000 RTP/AVP 0\r\na=rtcp:10000 IN IP4 " RELAY
					 "\r\na=rtcp-mux\r\n"
					 "m=video 10002 RTP/AVP 96\r\na=rtcp:10003 IN IP4 " RELAY "\r\n"
					 "m=video 10004 RTP/AVP 96\r\n"
					 "m=video 0 RTP/AVP 96\r\nc=IN IP4 " RELAY "\r\na=rtcp-mux\r\n");
	free(out);

	assert_rewrites_str(HEAD_C "a=rtcp:4001 IN IP4 192.168.1.5\r\n" AUDIO,
			    OUT_HEAD_C "m=audio 10000 RTP/AVP 0\r\n");
}
END_TEST

/* Chrome offers a=rtcp:9 IN IP4 0.0.0.0 next to ICE: taken as it says. */
START_TEST(rtcp_inspect)
{
	struct sdp_info info;
	const char *body = HEAD "t=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
				"a=rtcp:9 IN IP4 0.0.0.0\r\na=rtcp-mux\r\n"
				"m=audio 5000 RTP/AVP 0\r\nc=IN IP4 192.168.1.7\r\n"
				"a=rtcp:5001 IN IP4 198.51.100.7 \r\n";

	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), IP4, &info), 0);
	ck_assert_uint_eq(info.streams[0].rtcp_port, 9);
	assert_ip(&info.streams[0].rtcp_conn, "0.0.0.0");
	ck_assert(info.streams[0].rtcp_mux);
	ck_assert_uint_eq(info.streams[1].rtcp_port, 5001);
	assert_ip(&info.streams[1].rtcp_conn, "198.51.100.7");
	ck_assert(!info.streams[1].rtcp_mux);
}
END_TEST

/* Every ICE attribute goes, at both levels, whatever its case. */
START_TEST(ice_removed)
{
	assert_rewrites_str(HEAD_C "a=ice-lite\r\na=ice-options:trickle\r\na=ice-ufrag:abcd\r\n"
				   "a=ice-pwd:0123456789abcdef01234567\r\na=ice-pacing:50\r\n"
				   "a=group:BUNDLE 0\r\n" AUDIO
				   "a=candidate:1 1 UDP 2130706431 192.168.1.5 4000 typ host\r\n"
				   "a=mid:0\r\na=remote-candidates:1 192.168.1.9 5000\r\n"
				   "a=ice-mismatch\r\na=end-of-candidates\r\n"
				   "a=ICE-UFRAG:abcd\r\na=Candidate:2 1 UDP 1 10.0.0.1 1 typ host\r\n"
				   "a=candidate-foo:kept\r\na=sendrecv\r\n",
			    OUT_HEAD_C "a=group:BUNDLE 0\r\nm=audio 10000 RTP/AVP 0\r\na=mid:0\r\n"
				       "a=candidate-foo:kept\r\na=sendrecv\r\n");
}
END_TEST

/* Direction: media-level, else session-level, else sendrecv (RFC 3264 5.1);
 * the attributes pass through (R19). */
START_TEST(direction)
{
	struct sdp_info info;
	const char *body = HEAD_C "a=sendonly\r\n" AUDIO "m=audio 4002 RTP/AVP 0\r\na=recvonly\r\n"
				  "m=audio 4004 RTP/AVP 0\r\na=inactive\r\n"
				  "m=audio 4006 RTP/AVP 0\r\na=sendrecv\r\n"
				  "m=audio 4008 RTP/AVP 0\r\na=extmap:2/sendonly urn:x\r\n";

	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), IP4, &info), 0);
	ck_assert_uint_eq(info.count, 5);
	ck_assert_int_eq(info.streams[0].direction, SDP_SENDONLY);
	ck_assert_int_eq(info.streams[1].direction, SDP_RECVONLY);
	ck_assert_int_eq(info.streams[2].direction, SDP_INACTIVE);
	ck_assert_int_eq(info.streams[3].direction, SDP_SENDRECV);
	ck_assert_int_eq(info.streams[4].direction, SDP_SENDONLY);
	ck_assert(!sdp_rewrite_is_hold(&info));

	body = HEAD_C AUDIO;
	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), IP4, &info), 0);
	ck_assert_int_eq(info.streams[0].direction, SDP_SENDRECV);
	ck_assert(!sdp_rewrite_is_hold(&info));

	body = HEAD_C AUDIO "a=recvonly\r\n";
	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), IP4, &info), 0);
	ck_assert(sdp_rewrite_is_hold(&info));
}
END_TEST

/* A stream on 0.0.0.0 at media level keeps it, the others get the relay. */
START_TEST(hold_media_level)
{
	struct sdp_info info;
	const char *body = HEAD_C AUDIO "c=IN IP4 0.0.0.0\r\nm=video 4002 RTP/AVP 96\r\n";

	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), IP4, &info), 0);
	assert_ip(&info.streams[0].conn, "0.0.0.0");
	assert_ip(&info.streams[1].conn, "192.168.1.5");
	ck_assert(!sdp_rewrite_is_hold(&info));
	assert_rewrites_str(body, OUT_HEAD_C "m=audio 10000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n"
					     "m=video 10002 RTP/AVP 96\r\n");
}
END_TEST

START_TEST(is_hold_edges)
{
	struct sdp_info info;

	ck_assert(!sdp_rewrite_is_hold(NULL));
	memset(&info, 0, sizeof(info));
	ck_assert(!sdp_rewrite_is_hold(&info));
	/* every stream rejected: nothing held, nothing live */
	info.count = 1;
	info.streams[0].port = 0;
	info.streams[0].direction = SDP_INACTIVE;
	ck_assert(!sdp_rewrite_is_hold(&info));
	/* rejected streams do not count against hold */
	info.count = 2;
	info.streams[1].port = 4000;
	info.streams[1].conn = na("192.168.1.5");
	info.streams[1].direction = SDP_SENDONLY;
	ck_assert(sdp_rewrite_is_hold(&info));
	info.streams[1].direction = SDP_SENDRECV;
	ck_assert(!sdp_rewrite_is_hold(&info));
	info.streams[1].conn = na("0.0.0.0");
	ck_assert(sdp_rewrite_is_hold(&info));
	info.streams[1].conn = na("2001:db8::5");
	ck_assert(!sdp_rewrite_is_hold(&info));
	info.streams[1].conn = na("::");
	ck_assert(sdp_rewrite_is_hold(&info));
}
END_TEST

START_TEST(null_arguments)
{
	struct sdp_rewrite_params p = default_params();
	const char *body = HEAD_C AUDIO;
	char *out = NULL;
	size_t out_len = 0;

	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), IP4, NULL), -1);
	ck_assert_int_eq(sdp_rewrite(body, strlen(body), IP4, NULL, &out, &out_len), -1);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(sdp_rewrite(body, strlen(body), IP4, &p, NULL, &out_len), -1);
	ck_assert_int_eq(sdp_rewrite(body, strlen(body), IP4, &p, &out, NULL), -1);
	/* no address to advertise */
	memset(&p.advertise, 0, sizeof(p.advertise));
	ck_assert_int_eq(sdp_rewrite(body, strlen(body), IP4, &p, &out, &out_len), -1);
	ck_assert_ptr_null(out);
}
END_TEST


/* ---- across families (issue 20) ------------------------------------------- */

#define RELAY6 "2001:db8::10"
#define HEAD6 "v=0\r\no=- 1 2 IN IP6 2001:db8:1::5\r\ns=-\r\n"
#define HEAD6_C HEAD6 "c=IN IP6 2001:db8:1::5\r\nt=0 0\r\n"
#define OUT_HEAD6 "v=0\r\no=- 1 2 IN IP6 " RELAY6 "\r\ns=-\r\n"
#define OUT_HEAD6_C OUT_HEAD6 "c=IN IP6 " RELAY6 "\r\nt=0 0\r\n"

/* A body loaded for `families`, rewritten for `advertise` (RTP ports
 * 10000, 10002, ...; stream 0 muxed when mux0): the output, or NULL when
 * the load refuses it. */
static const struct {
	const char *what;
	unsigned families;
	const char *advertise;
	bool mux0;
	const char *body;
	const char *want;
} cross[] = {
	{ "IPv4 offer to an IPv6 party", BOTH, RELAY6, false,
	  HEAD_C AUDIO "a=rtcp:4001 IN IP4 192.168.1.5\r\n",
	  OUT_HEAD6_C "m=audio 10000 RTP/AVP 0\r\na=rtcp:10001 IN IP6 " RELAY6 "\r\n" },
	{ "IPv6 offer to an IPv4 party", BOTH, RELAY, false,
	  HEAD6_C AUDIO "a=rtcp:4001 IN IP6 2001:db8:1::5\r\n",
	  OUT_HEAD_C "m=audio 10000 RTP/AVP 0\r\na=rtcp:10001 IN IP4 " RELAY "\r\n" },
	{ "IPv6 to IPv6", BOTH, RELAY6, true, HEAD6_C AUDIO "a=rtcp-mux\r\n",
	  OUT_HEAD6_C "m=audio 10000 RTP/AVP 0\r\na=rtcp-mux\r\n" },
	{ "IPv4 to IPv4, both families read", BOTH, RELAY, false, HEAD_C AUDIO,
	  OUT_HEAD_C "m=audio 10000 RTP/AVP 0\r\n" },
	{ "media-level c= of both families, session c= absent", BOTH, RELAY6, false,
	  HEAD "t=0 0\r\n" AUDIO "c=IN IP4 192.168.1.5\r\nm=video 4002 RTP/AVP 96\r\n"
	  "c=IN IP6 2001:db8:1::5\r\n",
	  OUT_HEAD6 "t=0 0\r\nm=audio 10000 RTP/AVP 0\r\nc=IN IP6 " RELAY6
	  "\r\nm=video 10002 RTP/AVP 96\r\nc=IN IP6 " RELAY6 "\r\n" },
	{ "hold 0.0.0.0 becomes ::", BOTH, RELAY6, false,
	  HEAD "c=IN IP4 0.0.0.0\r\nt=0 0\r\n" AUDIO,
	  OUT_HEAD6 "c=IN IP6 ::\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n" },
	{ "hold :: becomes 0.0.0.0", BOTH, RELAY, false,
	  HEAD6 "c=IN IP6 ::\r\nt=0 0\r\n" AUDIO,
	  OUT_HEAD "c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n" },
	{ "hold :: stays ::", BOTH, RELAY6, false, HEAD6 "c=IN IP6 ::\r\nt=0 0\r\n" AUDIO,
	  OUT_HEAD6 "c=IN IP6 ::\r\nt=0 0\r\nm=audio 10000 RTP/AVP 0\r\n" },
	{ "rejected stream keeps port 0, its c= follows the family", BOTH, RELAY6, false,
	  HEAD_C "m=video 0 RTP/AVP 96\r\nc=IN IP4 192.168.1.5\r\n",
	  OUT_HEAD6_C "m=video 0 RTP/AVP 96\r\nc=IN IP6 " RELAY6 "\r\n" },
	{ "IPv6 spelled long, upper case", BOTH, RELAY, false,
	  HEAD "c=IN IP6 2001:DB8:0:0:0:0:0:5\r\nt=0 0\r\n" AUDIO,
	  OUT_HEAD_C "m=audio 10000 RTP/AVP 0\r\n" },
	/* refused by a family-neutral load */
	{ "IPv6 multicast", BOTH, RELAY, false, HEAD "c=IN IP6 ff0e::101\r\nt=0 0\r\n" AUDIO, NULL },
	{ "bracketed IPv6", BOTH, RELAY, false, HEAD "c=IN IP6 [2001:db8::5]\r\nt=0 0\r\n" AUDIO, NULL },
	{ "IPv6 with a zone", BOTH, RELAY, false, HEAD "c=IN IP6 fe80::5%eth0\r\nt=0 0\r\n" AUDIO, NULL },
	{ "IPv6 type, IPv4 address", BOTH, RELAY, false, HEAD "c=IN IP6 192.168.1.5\r\nt=0 0\r\n" AUDIO,
	  NULL },
	{ "IPv4 type, IPv6 address", BOTH, RELAY, false, HEAD "c=IN IP4 2001:db8::5\r\nt=0 0\r\n" AUDIO,
	  NULL },
	{ "IPv6 name", BOTH, RELAY, false, HEAD "c=IN IP6 phone.example\r\nt=0 0\r\n" AUDIO, NULL },
	{ "IPv6 a=rtcp name", BOTH, RELAY, false, HEAD6_C AUDIO "a=rtcp:4001 IN IP6 phone.example\r\n",
	  NULL },
	/* an IPv4-only load refuses IPv6 where a stream uses it, as always */
	{ "IPv6 c= in an IPv4 load", IP4, RELAY6, false, HEAD6_C AUDIO, NULL },
	{ "IPv6 a=rtcp in an IPv4 load", IP4, RELAY6, false,
	  HEAD_C AUDIO "a=rtcp:4001 IN IP6 2001:db8::5\r\n", NULL },
	/* an IPv6-only load refuses IPv4 */
	{ "IPv4 c= in an IPv6 load", SDP_FAMILY_IP6, RELAY6, false, HEAD_C AUDIO, NULL },
};

START_TEST(cross_family)
{
	struct sdp_rewrite_params p = default_params();
	struct sdp_info info;
	struct sdp_body *b;
	char *out = NULL;
	size_t out_len = 0;
	const char *body = cross[_i].body;

	p.rtcp_mux[0] = cross[_i].mux0;
	ck_assert(netaddr_parse_ip(cross[_i].advertise, &p.advertise));
	b = sdp_rewrite_body_load(body, strlen(body), cross[_i].families, &info);
	if (!cross[_i].want) {
		ck_assert_msg(b == NULL, "%s: accepted", cross[_i].what);
		ck_assert_uint_eq(info.count, 0);
		ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), cross[_i].families, &info),
				 -1);
		return;
	}
	ck_assert_msg(b != NULL, "%s: refused", cross[_i].what);
	ck_assert_int_eq(sdp_rewrite_body_rewrite(b, &p, &out, &out_len), 0);
	sdp_rewrite_body_free(b);
	ck_assert_msg(strcmp(out, cross[_i].want) == 0, "%s: got\n%s\nwanted\n%s", cross[_i].what,
		      out, cross[_i].want);
	ck_assert_uint_eq(out_len, strlen(out));
	/* what was forwarded reads back in the advertised family, and only
	 * in it: an IPv4-only load refuses what went out as IPv6 for a stream */
	ck_assert_int_eq(sdp_rewrite_inspect(out, out_len, BOTH, &info), 0);
	bool active = false;
	for (size_t i = 0; i < info.count; i++) {
		if (!info.streams[i].port)
			continue;
		active = true;
		ck_assert_int_eq(info.streams[i].conn.family, p.advertise.family);
		if (netaddr_is_specified(&info.streams[i].conn))
			ck_assert(netaddr_same_ip(&info.streams[i].conn, &p.advertise));
	}
	ck_assert_int_eq(sdp_rewrite_inspect(out, out_len, IP4, &info),
			 p.advertise.family == AF_INET6 && active ? -1 : 0);
	free(out);
}
END_TEST

/* Every changed line longer than it was (a long IPv6 relay address in
 * place of short IPv4 ones, in each of SDP_MAX_MEDIA streams): the
 * rewritten body is whole, however much it grew. */
START_TEST(rewrite_grows)
{
	static const char adv[] = "2001:db8:ffff:ffff:ffff:ffff:ffff:fff0";
	struct sdp_rewrite_params p = default_params();
	char body[4096], want[8192], *out = NULL;
	size_t blen, wlen, out_len = 0;

	ck_assert(netaddr_parse_ip(adv, &p.advertise));
	blen = (size_t)snprintf(body, sizeof(body), "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n");
	wlen = (size_t)snprintf(want, sizeof(want), "v=0\r\no=- 1 2 IN IP6 %s\r\ns=-\r\nt=0 0\r\n", adv);
	for (int i = 0; i < SDP_MAX_MEDIA; i++) {
		blen += (size_t)snprintf(body + blen, sizeof(body) - blen,
					 "m=audio %d RTP/AVP 0\r\nc=IN IP4 1.2.3.%d\r\na=rtcp:%d\r\n",
					 2000 + 2 * i, i, 2001 + 2 * i);
		wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen,
					 "m=audio %d RTP/AVP 0\r\nc=IN IP6 %s\r\na=rtcp:%d IN IP6 %s\r\n",
					 10000 + 2 * i, adv, 10001 + 2 * i, adv);
	}
	ck_assert_int_eq(sdp_rewrite(body, blen, BOTH, &p, &out, &out_len), 0);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(out_len, wlen);
	free(out);
}
END_TEST

/* inspect reads IN IP6: conn and rtcp_conn carry the address and ports;
 * hold is :: as well as 0.0.0.0. */
START_TEST(inspect_ipv6)
{
	struct sdp_info info;
	char text[NETADDR_TEXT_MAX];
	const char *body = HEAD6 "c=IN IP6 2001:db8:1::5\r\nt=0 0\r\n"
			       "m=audio 4000 RTP/AVP 0\r\na=rtcp:4005 IN IP6 2001:db8:1::6\r\n"
			       "m=video 4002 RTP/AVP 96\r\nc=IN IP4 192.168.1.5\r\n"
			       "m=audio 4004 RTP/AVP 0\r\nc=IN IP6 ::ffff:192.168.1.9\r\n"
			       "m=video 0 RTP/AVP 96\r\n";

	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), BOTH, &info), 0);
	ck_assert_uint_eq(info.count, 4);
	ck_assert_str_eq(netaddr_print(&info.streams[0].conn, text), "[2001:db8:1::5]:4000");
	ck_assert_str_eq(netaddr_print(&info.streams[0].rtcp_conn, text), "[2001:db8:1::6]:4005");
	ck_assert_uint_eq(info.streams[0].rtcp_port, 4005);
	ck_assert_str_eq(netaddr_print(&info.streams[1].conn, text), "192.168.1.5:4002");
	ck_assert_str_eq(netaddr_print(&info.streams[1].rtcp_conn, text), "192.168.1.5:4003");
	/* v4-mapped is the IPv4 address */
	ck_assert_str_eq(netaddr_print(&info.streams[2].conn, text), "192.168.1.9:4004");
	ck_assert_int_eq(info.streams[2].conn.family, AF_INET);
	ck_assert_int_eq(info.streams[3].conn.family, 0);
	ck_assert(!sdp_rewrite_is_hold(&info));

	body = HEAD6 "c=IN IP6 ::\r\nt=0 0\r\n" AUDIO;
	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), BOTH, &info), 0);
	ck_assert(sdp_rewrite_is_hold(&info));
	body = HEAD6_C AUDIO;
	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), BOTH, &info), 0);
	ck_assert(!sdp_rewrite_is_hold(&info));
	/* a read for IPv4 alone still refuses it */
	ck_assert_int_eq(sdp_rewrite_inspect(body, strlen(body), IP4, &info), -1);
}
END_TEST

/* Read for both families (a relay with IPv6), every sample gives the same
 * bytes as read for IPv4 alone when advertising the same IPv4 address. */
START_TEST(sample_same_through_family_path)
{
	const struct sample *s = &samples[_i];
	struct sdp_rewrite_params p = sample_params(s);
	struct sdp_info info;
	struct sdp_body *b;
	char name[128], *body, *a = NULL, *c = NULL;
	size_t len, a_len, c_len;

	snprintf(name, sizeof(name), "%s.sent.sdp", s->name);
	body = sdp_read(name, &len);
	ck_assert_int_eq(sdp_rewrite(body, len, IP4, &p, &a, &a_len), 0);
	b = sdp_rewrite_body_load(body, len, BOTH, &info);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(sdp_rewrite_body_rewrite(b, &p, &c, &c_len), 0);
	sdp_rewrite_body_free(b);
	ck_assert_uint_eq(a_len, c_len);
	ck_assert_str_eq(a, c);
	free(a);
	free(c);
	free(body);
}
END_TEST

static Suite *sdp_rewrite_suite(void)
{
	Suite *s = suite_create("sdp_rewrite");
	TCase *tc = tcase_create("samples");
	TCase *neg = tcase_create("refused");
	TCase *rules = tcase_create("rules");

	tcase_add_loop_test(tc, sample_rewrite, 0, NSAMPLES);
	tcase_add_loop_test(tc, sample_inspect, 0, NSAMPLES);
	tcase_add_loop_test(tc, sample_forwarded_inspect, 0, NSAMPLES);
	suite_add_tcase(s, tc);

	tcase_add_test(neg, negative_garbage);
	tcase_add_test(neg, negative_empty);
	tcase_add_test(neg, negative_ipv6);
	tcase_add_test(neg, negative_missing_c);
	tcase_add_test(neg, negative_c_without_address);
	tcase_add_test(neg, media_limit);
	tcase_add_test(neg, size_limit);
	tcase_add_test(neg, negative_nul);
	tcase_add_test(neg, negative_line_flood);
	tcase_add_test(neg, empty_lines);
	tcase_add_test(neg, misread_lines);
	tcase_add_test(neg, null_arguments);
	suite_add_tcase(s, neg);

	tcase_add_test(rules, ipv6_where_unused);
	tcase_add_test(rules, line_endings);
	tcase_add_test(rules, trailing_blanks);
	tcase_add_test(rules, every_line_type_passes);
	tcase_add_test(rules, origin);
	tcase_add_test(rules, port_count);
	tcase_add_test(rules, rtcp);
	tcase_add_test(rules, rtcp_inspect);
	tcase_add_test(rules, ice_removed);
	tcase_add_test(rules, direction);
	tcase_add_test(rules, hold_media_level);
	tcase_add_test(rules, is_hold_edges);
	tcase_add_loop_test(rules, cross_family, 0, sizeof(cross) / sizeof(cross[0]));
	tcase_add_test(rules, inspect_ipv6);
	tcase_add_test(rules, rewrite_grows);
	tcase_add_loop_test(rules, sample_same_through_family_path, 0, NSAMPLES);
	suite_add_tcase(s, rules);
	return s;
}

UNIT_MAIN(sdp_rewrite_suite)
