/*
 * Unit tests for sip_splice.c: what sipnatd did not change leaves as it came
 * (spelling, order, compact names), what it changed is written by libosip2 in
 * its place, and a message the index cannot describe is not spliced. Every
 * case also holds the splice to what the full serialisation says, read back
 * by libosip2 (the same check sipmsg_check_splices makes in the other suites).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip_splice.h"
#include "sipmsg.h"

#define INVITE_HEAD                                                                    \
	"INVITE sip:200@192.0.2.20:5060 SIP/2.0\r\n"                                   \
	"v: SIP/2.0/UDP 198.51.100.5:5062;branch=z9hG4bK-a1;rport\r\n"                 \
	"Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-a0\r\n"                         \
	"f: \"Alice\" <sip:alice@198.51.100.5:5062>;tag=t1\r\n"                        \
	"To:   <sip:200@192.0.2.20>\r\n"                                               \
	"call-id: abc@198.51.100.5\r\n"                                                \
	"CSeq: 1 INVITE\r\n"                                                           \
	"Contact: <sip:alice@198.51.100.5:5062>\r\n"                                   \
	"Max-Forwards: 70\r\n"                                                         \
	"X-Weird:    spacing kept  \r\n"                                               \
	"User-Agent: phone/1.0 (a, b)\r\n"                                             \
	"Allow: INVITE, ACK, BYE\r\n"                                                  \
	"c: application/sdp\r\n"

#define SDP "v=0\r\no=- 1 1 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 198.51.100.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

static char invite[2048];
static size_t invite_len;

static void setup(void)
{
	invite_len = (size_t)snprintf(invite, sizeof(invite), INVITE_HEAD "l: %zu\r\n\r\n%s",
				      strlen(SDP), SDP);
}

struct parsed {
	osip_message_t *msg;
	struct sip_splice splice;
};

static void parse_indexed(struct parsed *p, const char *text, size_t len, bool indexable)
{
	const char *why = "";

	ck_assert_int_eq(sipmsg_parse(text, len, &p->msg, &why), SIPMSG_OK);
	ck_assert_msg(sip_splice_index(&p->splice, text, len, p->msg) == indexable,
		      "index %s for:\n%s", indexable ? "refused" : "accepted", text);
	if (indexable)
		sip_splice_attach(p->msg, &p->splice);
}

/* The spliced text, checked against the full serialisation of msg. */
static char *spliced(struct parsed *p, size_t *len)
{
	char *out = NULL;

	ck_assert_int_eq(sip_splice_write(&p->splice, p->msg, &out, len), 0);
	ck_assert_uint_eq(strlen(out), *len);
	/* sipmsg_serialize with the check on compares both, and aborts (the
	 * test fails) on a difference */
	char *again = NULL;
	size_t again_len;
	sipmsg_check_splices(SIPMSG_SPLICE_ABORT);
	ck_assert_int_eq(sipmsg_serialize(p->msg, &again, &again_len), 0);
	sipmsg_check_splices(SIPMSG_SPLICE_UNCHECKED);
	ck_assert_str_eq(again, out);
	osip_free(again);
	return out;
}

static bool has_line(const char *text, const char *line)
{
	char needle[512];

	snprintf(needle, sizeof(needle), "\r\n%s\r\n", line);
	return strstr(text, needle) != NULL;
}

START_TEST(unchanged_is_byte_for_byte)
{
	struct parsed p;
	size_t len;

	/* Content-Length is always written last, so a message that has it
	 * last comes out as it came in */
	parse_indexed(&p, invite, invite_len, true);
	char *out = spliced(&p, &len);
	char expect[2048];
	snprintf(expect, sizeof(expect), INVITE_HEAD "Content-Length: %zu\r\n\r\n%s", strlen(SDP), SDP);
	ck_assert_str_eq(out, expect);
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

START_TEST(changed_headers_written_in_place)
{
	struct parsed p;
	size_t len;
	osip_header_t *mf = NULL;
	osip_via_t *via = NULL;

	parse_indexed(&p, invite, invite_len, true);
	/* what sip_forward does: a Via on top, Max-Forwards one less; what
	 * sip_hide does to From */
	ck_assert_int_eq(osip_via_init(&via), 0);
	ck_assert_int_eq(osip_via_parse(via, "SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKsno1"), 0);
	ck_assert_int_ge(osip_list_add(&p.msg->vias, via, 0), 0);
	ck_assert_int_ge(osip_message_get_max_forwards(p.msg, 0, &mf), 0);
	osip_free(mf->hvalue);
	mf->hvalue = osip_strdup("69");
	osip_free(p.msg->from->url->host);
	p.msg->from->url->host = osip_strdup("203.0.113.1");
	char *out = spliced(&p, &len);
	ck_assert_ptr_nonnull(strstr(out, "\r\nVia: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKsno1\r\n"));
	ck_assert(strstr(out, "203.0.113.1:5060;branch=z9hG4bKsno1") < strstr(out, "198.51.100.5:5062;branch"));
	ck_assert(has_line(out, "Max-Forwards: 69"));
	ck_assert(!strstr(out, "Max-Forwards: 70"));
	ck_assert(has_line(out, "From: \"Alice\" <sip:alice@203.0.113.1:5062>;tag=t1"));
	/* the rest as it came: spelling, spacing, compact names, order */
	ck_assert(has_line(out, "To:   <sip:200@192.0.2.20>"));
	ck_assert(has_line(out, "call-id: abc@198.51.100.5"));
	ck_assert(has_line(out, "X-Weird:    spacing kept  "));
	ck_assert(has_line(out, "User-Agent: phone/1.0 (a, b)"));
	ck_assert(has_line(out, "Allow: INVITE, ACK, BYE"));
	ck_assert(has_line(out, "c: application/sdp"));
	ck_assert(strstr(out, "X-Weird") < strstr(out, "User-Agent"));
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

START_TEST(removed_added_and_new_kinds)
{
	struct parsed p;
	size_t len;
	osip_header_t *h = NULL;
	osip_record_route_t *rr = NULL;
	int pos;

	parse_indexed(&p, invite, invite_len, true);
	pos = osip_message_header_get_byname(p.msg, "x-weird", 0, &h);
	ck_assert_int_ge(pos, 0);
	osip_list_remove(&p.msg->headers, pos);
	osip_header_free(h);
	ck_assert_int_eq(osip_message_set_header(p.msg, "X-Added", "yes"), 0);
	ck_assert_int_eq(osip_record_route_init(&rr), 0);
	ck_assert_int_eq(osip_record_route_parse(rr, "<sip:203.0.113.1;lr>"), 0);
	ck_assert_int_ge(osip_list_add(&p.msg->record_routes, rr, -1), 0);
	char *out = spliced(&p, &len);
	ck_assert(!strstr(out, "X-Weird"));
	ck_assert(has_line(out, "X-Added: yes"));
	ck_assert(has_line(out, "Record-Route: <sip:203.0.113.1;lr>"));
	/* a Record-Route where there was none goes beside the Vias */
	ck_assert(strstr(out, "Record-Route") < strstr(out, "f: "));
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

START_TEST(body_and_request_uri)
{
	struct parsed p;
	size_t len;
	osip_body_t *old = NULL;
	static const char sdp2[] = "v=0\r\no=- 1 1 IN IP4 203.0.113.1\r\ns=-\r\nc=IN IP4 203.0.113.1\r\n"
				   "t=0 0\r\nm=audio 10000 RTP/AVP 0\r\n";

	parse_indexed(&p, invite, invite_len, true);
	old = osip_list_get(&p.msg->bodies, 0);
	osip_list_remove(&p.msg->bodies, 0);
	osip_body_free(old);
	ck_assert_int_eq(osip_message_set_body(p.msg, sdp2, strlen(sdp2)), 0);
	osip_free(p.msg->req_uri->host);
	p.msg->req_uri->host = osip_strdup("192.0.2.21");
	char *out = spliced(&p, &len);
	ck_assert_str_eq(strstr(out, "\r\n\r\n") + 4, sdp2);
	char cl[64];
	snprintf(cl, sizeof(cl), "Content-Length: %zu", strlen(sdp2));
	ck_assert(has_line(out, cl));
	ck_assert_ptr_nonnull(strstr(out, "INVITE sip:200@192.0.2.21:5060 SIP/2.0\r\n"));
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

START_TEST(response_unchanged_and_a_via_popped)
{
	static const char resp[] = "SIP/2.0 180 Ringing Now\r\n"
				   "Via: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKsno1\r\n"
				   "Via: SIP/2.0/UDP 198.51.100.5:5062;branch=z9hG4bK-a1;rport=5062\r\n"
				   "From: <sip:alice@198.51.100.5>;tag=t1\r\n"
				   "To: <sip:200@192.0.2.20>;tag=x\r\n"
				   "Call-ID: abc\r\n"
				   "CSeq: 1 INVITE\r\n"
				   "Content-Length: 0\r\n\r\n";
	struct parsed p;
	size_t len;

	parse_indexed(&p, resp, strlen(resp), true);
	osip_via_t *ours = osip_list_get(&p.msg->vias, 0);
	osip_list_remove(&p.msg->vias, 0);
	osip_via_free(ours);
	char *out = spliced(&p, &len);
	ck_assert_ptr_eq(strstr(out, "SIP/2.0 180 Ringing Now\r\n"), out);
	ck_assert(!strstr(out, "z9hG4bKsno1"));
	ck_assert(has_line(out, "From: <sip:alice@198.51.100.5>;tag=t1"));
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

START_TEST(ambiguous_uri_written_with_brackets)
{
	/* RFC 4475 3.1.2.6 (regbadct): the '?' of a URI outside brackets reads
	 * as part of the URI or not, depending on the reader: libosip2 writes
	 * it bracketed, and the received line never goes out */
	static const char reg[] = "REGISTER sip:example.com SIP/2.0\r\n"
				  "To: sip:user@example.com\r\n"
				  "From: sip:user@example.com;tag=998332\r\n"
				  "Call-ID: regbadct.k345asrl3fdbv@10.0.0.1\r\n"
				  "CSeq: 1 REGISTER\r\n"
				  "Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw\r\n"
				  "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\r\n"
				  "l: 0\r\n\r\n";
	struct parsed p;
	size_t len;

	parse_indexed(&p, reg, strlen(reg), true);
	char *out = spliced(&p, &len);
	ck_assert(!strstr(out, "Contact: sip:user@example.com?"));
	ck_assert_ptr_nonnull(strstr(out, "Contact: <sip:user@example.com?"));
	/* the unbracketed From without a '?' is fine as it came */
	ck_assert(has_line(out, "From: sip:user@example.com;tag=998332"));
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

/* The dispatcher's way: libosip2 sees only the headers sipnatd reads. */
static void parse_sparse(struct parsed *p, const char *text, size_t len)
{
	char *reduced = malloc(len);
	const char *why = "";

	ck_assert_ptr_nonnull(reduced);
	ck_assert(sip_splice_lines(&p->splice, text, len, true));
	size_t n = sip_splice_parsed_text(&p->splice, reduced);
	ck_assert_uint_le(n, len);
	ck_assert_int_eq(sipmsg_parse(reduced, n, &p->msg, &why), SIPMSG_OK);
	free(reduced);
	ck_assert(sip_splice_snapshot(&p->splice, p->msg));
	sip_splice_attach(p->msg, &p->splice);
}

START_TEST(unread_headers_not_parsed_but_passed_on)
{
	struct parsed p;
	size_t len;
	osip_header_t *h = NULL;

	parse_sparse(&p, invite, invite_len);
	/* X-Weird, User-Agent and Allow never reached libosip2 */
	ck_assert_uint_eq(p.splice.nskipped, 3);
	ck_assert_int_eq(osip_list_size(&p.msg->allows), 0);
	ck_assert_int_lt(osip_message_header_get_byname(p.msg, "user-agent", 0, &h), 0);
	/* what sipnatd reads did */
	ck_assert_int_ge(osip_message_get_max_forwards(p.msg, 0, &h), 0);
	ck_assert_ptr_nonnull(p.msg->content_type);
	char *out = spliced(&p, &len);
	char expect[2048];
	snprintf(expect, sizeof(expect), INVITE_HEAD "Content-Length: %zu\r\n\r\n%s", strlen(SDP), SDP);
	ck_assert_str_eq(out, expect);
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

START_TEST(unread_headers_restored_for_a_full_write)
{
	struct parsed p;
	char *out = NULL;
	size_t len;

	/* a request that waits for DNS outlives the datagram: detached, the
	 * lines libosip2 did not see become headers of the message */
	parse_sparse(&p, invite, invite_len);
	ck_assert_int_eq(sip_splice_detach(p.msg), 0);
	ck_assert_ptr_null(sip_splice_of(p.msg));
	ck_assert_int_eq(sipmsg_serialize(p.msg, &out, &len), 0);
	ck_assert_ptr_nonnull(strstr(out, "\r\nX-Weird: spacing kept")); /* libosip2 trims the value */
	ck_assert(has_line(out, "User-Agent: phone/1.0 (a, b)"));
	ck_assert(has_line(out, "Allow: INVITE, ACK, BYE"));
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

START_TEST(what_the_path_reads_is_parsed)
{
	static const char *const read[] = { "Via", "v", "From", "To", "Call-ID", "i", "CSeq", "Contact",
					    "m", "Route", "Record-Route", "Max-Forwards", "Content-Type",
					    "c", "Content-Length", "l", "Authorization",
					    "Proxy-Authorization", "Expires", "P-Asserted-Identity",
					    "P-Preferred-Identity", "Remote-Party-ID" };
	static const char *const unread[] = { "User-Agent", "Allow", "Supported", "Subject", "X-Foo" };

	for (size_t i = 0; i < sizeof(read) / sizeof(read[0]); i++)
		ck_assert_msg(sip_splice_reads(read[i], strlen(read[i])), "%s not parsed", read[i]);
	for (size_t i = 0; i < sizeof(unread) / sizeof(unread[0]); i++)
		ck_assert_msg(!sip_splice_reads(unread[i], strlen(unread[i])), "%s parsed", unread[i]);
}
END_TEST

START_TEST(nul_in_an_unread_header_not_hidden)
{
	char text[512];
	int n = snprintf(text, sizeof(text), "OPTIONS sip:a@192.0.2.20 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 198.51.100.5;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
			 "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nX-Bad: a?b\r\n"
			 "Content-Length: 0\r\n\r\n");
	struct sip_splice s;

	*strchr(text, '?') = '\0';
	/* sipmsg_parse refuses a NUL in the headers; the line libosip2 would
	 * not see must not smuggle one past it */
	ck_assert(!sip_splice_lines(&s, text, (size_t)n, true));
}
END_TEST

START_TEST(odd_status_line_written_anew)
{
	/* libosip2 reads "180abc" as 180: the line is written from the values */
	static const char resp[] = "SIP/2.0 180abc Ringing\r\n"
				   "Via: SIP/2.0/UDP 198.51.100.5:5062;branch=z9hG4bK-a1\r\n"
				   "From: <sip:alice@198.51.100.5>;tag=t1\r\nTo: <sip:200@192.0.2.20>;tag=x\r\n"
				   "Call-ID: abc\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	struct parsed p;
	size_t len;

	parse_indexed(&p, resp, strlen(resp), true);
	char *out = spliced(&p, &len);
	ck_assert_ptr_eq(strstr(out, "SIP/2.0 180 Ringing\r\n"), out);
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

/* What the index does not describe is written in full. */
static const struct {
	const char *why, *text;
} not_indexed[] = {
	{ "folded line", "OPTIONS sip:a@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.5;branch=z9hG4bK1\r\n"
			 "Subject: one\r\n two\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
			 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" },
	{ "bare LF", "OPTIONS sip:a@192.0.2.20 SIP/2.0\nVia: SIP/2.0/UDP 198.51.100.5;branch=z9hG4bK1\n"
		     "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: x\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n" },
	{ "space before colon", "OPTIONS sip:a@192.0.2.20 SIP/2.0\r\nVia : SIP/2.0/UDP 198.51.100.5;branch=z9hG4bK1\r\n"
				"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
				"Content-Length: 0\r\n\r\n" },
	{ "bare CR inside a line", "OPTIONS sip:a@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.5;branch=z9hG4bK1\r\n"
				   "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
				   "Accept: application/sdp\rCall-ID: y\r\nContent-Length: 0\r\n\r\n" },
	{ "two From", "OPTIONS sip:a@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.5;branch=z9hG4bK1\r\n"
		      "From: <sip:a@b>;tag=1\r\nFrom: <sip:c@d>;tag=2\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n"
		      "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" },
};

START_TEST(refused_when_not_describable)
{
	struct parsed p;
	osip_message_t *msg = NULL;
	const char *why = "";

	/* not even the lines: the dispatcher parses these whole */
	ck_assert_msg(!sip_splice_lines(&p.splice, not_indexed[_i].text, strlen(not_indexed[_i].text), true),
		      "%s: indexed", not_indexed[_i].why);
	if (sipmsg_parse(not_indexed[_i].text, strlen(not_indexed[_i].text), &msg, &why) != SIPMSG_OK)
		return; /* libosip2 refuses it anyway */
	ck_assert_msg(!sip_splice_index(&p.splice, not_indexed[_i].text, strlen(not_indexed[_i].text), msg),
		      "%s: indexed", not_indexed[_i].why);
	osip_message_free(msg);
}
END_TEST

START_TEST(multipart_not_spliced)
{
	static const char body[] = "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n--b1--\r\n";
	char text[1024];
	int n = snprintf(text, sizeof(text), "INVITE sip:a@192.0.2.20 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 198.51.100.5;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
			 "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
			 "Content-Type: multipart/mixed;boundary=b1\r\nContent-Length: %zu\r\n\r\n%s",
			 strlen(body), body);
	struct parsed p;

	/* libosip2 keeps the parts without their boundaries: it writes them */
	parse_indexed(&p, text, (size_t)n, false);
	osip_message_free(p.msg);
}
END_TEST

START_TEST(too_many_headers_not_indexed)
{
	char text[8192];
	size_t n = (size_t)snprintf(text, sizeof(text), "OPTIONS sip:a@192.0.2.20 SIP/2.0\r\n"
				    "Via: SIP/2.0/UDP 198.51.100.5;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
				    "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n");
	for (int i = 0; i < SIP_SPLICE_LINES; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "X-H%d: %d\r\n", i, i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "Content-Length: 0\r\n\r\n");
	struct parsed p;
	parse_indexed(&p, text, n, false);
	osip_message_free(p.msg);
}
END_TEST

START_TEST(untouched_list_changed_is_refused)
{
	struct parsed p;
	char *out = NULL;
	size_t len;

	/* Allow is a list sipnatd never edits: an entry removed anyway is
	 * noticed, and the message is written in full instead */
	parse_indexed(&p, invite, invite_len, true);
	osip_allow_t *a = osip_list_get(&p.msg->allows, 0);
	ck_assert_ptr_nonnull(a);
	osip_list_remove(&p.msg->allows, 0);
	osip_allow_free(a);
	ck_assert_int_eq(sip_splice_write(&p.splice, p.msg, &out, &len), -1);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(sipmsg_serialize(p.msg, &out, &len), 0);
	ck_assert(!strstr(out, "INVITE, ACK, BYE"));
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

START_TEST(detached_is_written_in_full)
{
	struct parsed p;
	char *out = NULL;
	size_t len;

	parse_indexed(&p, invite, invite_len, true);
	ck_assert_ptr_eq(sip_splice_of(p.msg), &p.splice);
	sip_splice_detach(p.msg);
	ck_assert_ptr_null(sip_splice_of(p.msg));
	ck_assert_int_eq(sipmsg_serialize(p.msg, &out, &len), 0);
	/* libosip2's own spelling: the compact names are written out */
	ck_assert(has_line(out, "Call-ID: abc@198.51.100.5"));
	osip_free(out);
	osip_message_free(p.msg);
}
END_TEST

static Suite *sip_splice_suite(void)
{
	Suite *s = suite_create("sip_splice");
	TCase *tc = tcase_create("splice");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, unchanged_is_byte_for_byte);
	tcase_add_test(tc, changed_headers_written_in_place);
	tcase_add_test(tc, removed_added_and_new_kinds);
	tcase_add_test(tc, body_and_request_uri);
	tcase_add_test(tc, response_unchanged_and_a_via_popped);
	tcase_add_test(tc, ambiguous_uri_written_with_brackets);
	tcase_add_test(tc, unread_headers_not_parsed_but_passed_on);
	tcase_add_test(tc, unread_headers_restored_for_a_full_write);
	tcase_add_test(tc, what_the_path_reads_is_parsed);
	tcase_add_test(tc, nul_in_an_unread_header_not_hidden);
	tcase_add_loop_test(tc, refused_when_not_describable, 0,
			    (int)(sizeof(not_indexed) / sizeof(not_indexed[0])));
	tcase_add_test(tc, too_many_headers_not_indexed);
	tcase_add_test(tc, multipart_not_spliced);
	tcase_add_test(tc, odd_status_line_written_anew);
	tcase_add_test(tc, untouched_list_changed_is_refused);
	tcase_add_test(tc, detached_is_written_in_full);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	sipmsg_global_init();
	SRunner *sr = srunner_create(sip_splice_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
