/*
 * Unit tests for sipmsg.c, the edge between datagrams and libosip2: what a
 * phone really sends parses, keep-alives and STUN are recognised before any
 * parsing, and the RFC 3261 18.3 / 8.1.1 judgements (R36, R45, R46, R47) come
 * out as the status the dispatcher acts on.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sip_samples.h"
#include "sipmsg.h"
#include "../support/unit_main.h"

/* A SIP MESSAGE as Linphone sends it; the test appends Content-Length. */
#define MESSAGE_HEAD                                                      \
	"MESSAGE sip:bob@pbx.example.com SIP/2.0\r\n"                     \
	"Via: SIP/2.0/UDP 192.168.1.5:5060;branch=z9hG4bK.a8Hk2Lq;rport\r\n" \
	"From: <sip:alice@pbx.example.com>;tag=Xy7Ab~f\r\n"               \
	"To: <sip:bob@pbx.example.com>\r\n"                               \
	"CSeq: 21 MESSAGE\r\n"                                            \
	"Call-ID: pL0qY3sKd8\r\n"                                         \
	"Max-Forwards: 70\r\n"                                            \
	"Content-Type: text/plain\r\n"                                    \
	"User-Agent: Linphone Desktop/5.2.4 (Debian GNU/Linux 12) LinphoneSDK/5.3.0\r\n"
#define MESSAGE_BODY "Hello, Bob!" /* 11 bytes */
#define MESSAGE_WITH_CL(cl) MESSAGE_HEAD "Content-Length: " cl "\r\n\r\n" MESSAGE_BODY

/* The body of msg as a string (one body expected), "" when there is none. */
static const char *body_of(osip_message_t *msg, size_t *len)
{
	osip_body_t *body = NULL;

	if (osip_message_get_body(msg, 0, &body) < 0 || !body) {
		*len = 0;
		return "";
	}
	*len = body->length;
	return body->body;
}

/* The Content-Length a serialised message declares, and its real body size. */
static void framing_of(const char *buf, size_t len, long *declared, size_t *actual)
{
	const char *end = strstr(buf, "\r\n\r\n");
	const char *cl = strstr(buf, "\r\nContent-Length: ");

	ck_assert_ptr_nonnull(end);
	ck_assert_ptr_nonnull(cl);
	ck_assert_msg(cl < end, "Content-Length in the body");
	const char *second = strstr(cl + 2, "\r\nContent-Length:");
	ck_assert_msg(!second || second > end, "two Content-Length headers");
	*declared = strtol(cl + strlen("\r\nContent-Length: "), NULL, 10);
	*actual = len - (size_t)(end + 4 - buf);
}

START_TEST(parse_linphone_register)
{
	osip_message_t *msg = sample_parse("register-linphone.sip");
	osip_via_t *via = osip_list_get(&msg->vias, 0);
	osip_contact_t *contact = NULL;
	osip_uri_param_t *tag = NULL;

	ck_assert(MSG_IS_REGISTER(msg));
	ck_assert_str_eq(sipmsg_method(msg), "REGISTER");
	ck_assert_str_eq(sipmsg_call_id(msg), "3cEy9KxK2o");
	ck_assert_int_eq(osip_list_size(&msg->vias), 1);
	ck_assert_str_eq(via->host, "192.168.1.5");
	ck_assert_str_eq(via->port, "5060");
	ck_assert_str_eq(msg->cseq->number, "20");
	ck_assert_int_eq(osip_from_get_tag(msg->from, &tag), 0);
	ck_assert_str_eq(tag->gvalue, "hY3x~QnLm");
	ck_assert_int_eq(osip_message_get_contact(msg, 0, &contact), 0);
	ck_assert_str_eq(contact->url->host, "192.168.1.5");
	ck_assert_int_eq(osip_list_size(&msg->bodies), 0);
	osip_message_free(msg);
}
END_TEST

START_TEST(parse_zoiper_invite_with_sdp)
{
	osip_message_t *msg = sample_parse("invite-zoiper.sip");
	size_t len;
	const char *body = body_of(msg, &len);

	ck_assert(MSG_IS_INVITE(msg));
	ck_assert_str_eq(sipmsg_call_id(msg), "ZmE4NjQ5ZDE3YzQ2MTk0ZmJmNDI3ZDBkZWY5MmQ3OTY");
	ck_assert_uint_eq(len, 321);
	assert_prefix(body, "v=0\r\no=Z 0 71939537 IN IP4 10.0.0.23\r\n");
	ck_assert_int_eq(strncmp(body + len - 12, "a=sendrecv\r\n", 12), 0);
	osip_message_free(msg);
}
END_TEST

/* Two Via headers, the second carrying two comma-separated values: three Vias,
 * in order (RFC 3261 7.3.1). */
START_TEST(parse_several_vias)
{
	osip_message_t *msg = sample_parse("invite-asterisk-3via.sip");

	ck_assert_int_eq(osip_list_size(&msg->vias), 3);
	ck_assert_str_eq(((osip_via_t *)osip_list_get(&msg->vias, 0))->host, "127.0.10.2");
	ck_assert_str_eq(((osip_via_t *)osip_list_get(&msg->vias, 1))->host, "127.0.10.1");
	ck_assert_str_eq(((osip_via_t *)osip_list_get(&msg->vias, 2))->host, "198.51.100.20");
	ck_assert_str_eq(msg->cseq->method, "INVITE");
	osip_message_free(msg);
}
END_TEST

/* R36: RFC 5626 4.4 keep-alives and what nathelper sends are recognised as such. */
static const struct {
	const char *bytes;
	size_t len;
} keepalives[] = {
	{ "\r\n", 2 },
	{ "\r\n\r\n", 4 },
	{ "\0\0\0\0", 4 },
	{ "\n", 1 },
	{ "\r\n\r\n\r\n", 6 },
};

START_TEST(keepalive_recognised)
{
	osip_message_t *msg = (osip_message_t *)1;
	const char *why = NULL;

	ck_assert_int_eq(sipmsg_parse(keepalives[_i].bytes, keepalives[_i].len, &msg, &why),
			 SIPMSG_KEEPALIVE);
	ck_assert_ptr_null(msg);
	ck_assert_str_eq(why, "keep-alive");
}
END_TEST

/* A keep-alive leaves nothing behind that would disturb the next message. */
START_TEST(keepalive_then_register)
{
	osip_message_t *msg = NULL;
	const char *why;
	size_t len;
	char *buf = sample_read("register-linphone.sip", &len);

	ck_assert_int_eq(sipmsg_parse("\r\n\r\n", 4, &msg, &why), SIPMSG_KEEPALIVE);
	ck_assert_int_eq(sipmsg_parse(buf, len, &msg, &why), SIPMSG_OK);
	ck_assert_str_eq(sipmsg_call_id(msg), "3cEy9KxK2o");
	osip_message_free(msg);
	free(buf);
}
END_TEST

/* Four zero bytes followed by anything is not the nathelper ping. */
START_TEST(zeros_with_more_is_not_keepalive)
{
	osip_message_t *msg = NULL;
	const char *why;

	ck_assert_int_eq(sipmsg_parse("\0\0\0\0\0", 5, &msg, &why), SIPMSG_MALFORMED);
	ck_assert_ptr_null(msg);
	ck_assert_int_eq(sipmsg_parse("", 0, &msg, &why), SIPMSG_MALFORMED);
	ck_assert_ptr_null(msg);
}
END_TEST

/* RFC 3261 7.2: a status code outside 100-699 (libosip2 reads "1%0080"
 * as 1) makes a response nobody is given. */
START_TEST(status_code_out_of_range_dropped)
{
	static const char *const lines[] = { "SIP/2.0 1%0080 Unknown", "SIP/2.0 700 Odd", "SIP/2.0 99 Low" };
	char text[512];

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		osip_message_t *msg = NULL;
		const char *why = "";
		int n = snprintf(text, sizeof(text), "%s\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\n"
				 "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\n"
				 "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n", lines[i]);
		ck_assert_int_eq(sipmsg_parse(text, (size_t)n, &msg, &why), SIPMSG_MALFORMED);
		ck_assert_ptr_null(msg);
	}
}
END_TEST

/* RFC 5389: a Binding Request with no attributes, and one with a FINGERPRINT. */
START_TEST(stun_binding_request)
{
	static const unsigned char bare[20] = {
		0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0x6b, 0x3e, 0x21, 0x90,
		0x5c, 0x0d, 0x77, 0xa1, 0x02, 0x44, 0xe9, 0x3f,
	};
	static const unsigned char with_attr[28] = {
		0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 0x6b, 0x3e, 0x21, 0x90,
		0x5c, 0x0d, 0x77, 0xa1, 0x02, 0x44, 0xe9, 0x3f, 0x80, 0x28, 0x00, 0x04,
		0xd1, 0x5a, 0x03, 0x7e,
	};
	osip_message_t *msg = (osip_message_t *)1;
	const char *why;

	ck_assert_int_eq(sipmsg_parse((const char *)bare, sizeof(bare), &msg, &why), SIPMSG_STUN);
	ck_assert_ptr_null(msg);
	ck_assert_str_eq(why, "STUN");
	ck_assert_int_eq(sipmsg_parse((const char *)with_attr, sizeof(with_attr), &msg, &why),
			 SIPMSG_STUN);
	ck_assert_ptr_null(msg);
}
END_TEST

/* Without the magic cookie, with a length that does not match, or shorter than
 * a header, it is not STUN (and not SIP either). */
START_TEST(stun_lookalikes_refused)
{
	unsigned char pkt[20] = {
		0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0x6b, 0x3e, 0x21, 0x90,
		0x5c, 0x0d, 0x77, 0xa1, 0x02, 0x44, 0xe9, 0x3f,
	};
	osip_message_t *msg = NULL;
	const char *why;

	pkt[7] = 0x43; /* classic RFC 3489 has no cookie there */
	ck_assert_int_eq(sipmsg_parse((const char *)pkt, sizeof(pkt), &msg, &why), SIPMSG_MALFORMED);
	pkt[7] = 0x42;
	pkt[3] = 0x04; /* claims 4 attribute bytes that are not there */
	ck_assert_int_eq(sipmsg_parse((const char *)pkt, sizeof(pkt), &msg, &why), SIPMSG_MALFORMED);
	pkt[3] = 0x00;
	ck_assert_int_eq(sipmsg_parse((const char *)pkt, 19, &msg, &why), SIPMSG_MALFORMED);
	ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(too_big)
{
	size_t len = SIPMSG_MAX_SIZE + 1;
	char *buf = malloc(len);
	osip_message_t *msg = (osip_message_t *)1;
	const char *why;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'A', len);
	ck_assert_int_eq(sipmsg_parse(buf, len, &msg, &why), SIPMSG_TOO_BIG);
	ck_assert_ptr_null(msg);
	ck_assert_str_eq(why, "datagram too big");
	free(buf);
}
END_TEST

/* A valid message of exactly SIPMSG_MAX_SIZE bytes is accepted whole. */
START_TEST(largest_datagram_accepted)
{
	char head[sizeof(MESSAGE_HEAD) + 64];
	char *buf = malloc(SIPMSG_MAX_SIZE);
	osip_message_t *msg = NULL;
	const char *why;
	size_t body_len, got;
	int n;

	ck_assert_ptr_nonnull(buf);
	/* The head's size depends on the digits of the body length: 5 either way. */
	body_len = SIPMSG_MAX_SIZE - (sizeof(MESSAGE_HEAD) - 1) - strlen("Content-Length: 12345\r\n\r\n");
	n = snprintf(head, sizeof(head), MESSAGE_HEAD "Content-Length: %zu\r\n\r\n", body_len);
	ck_assert_uint_eq((size_t)n + body_len, SIPMSG_MAX_SIZE);
	memcpy(buf, head, (size_t)n);
	memset(buf + n, 'x', body_len);
	ck_assert_int_eq(sipmsg_parse(buf, SIPMSG_MAX_SIZE, &msg, &why), SIPMSG_OK);
	body_of(msg, &got);
	ck_assert_uint_eq(got, body_len);
	osip_message_free(msg);
	free(buf);
}
END_TEST

static const char *const garbage[] = {
	"hello",
	"GET / HTTP/1.1\r\nHost: 203.0.113.7\r\nUser-Agent: curl/7.88.1\r\n\r\n",
	"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x8a\x1f",
	"SIP/2.0\r\n\r\n",
	"REGISTER\r\n\r\n",
};

START_TEST(garbage_is_malformed)
{
	osip_message_t *msg = (osip_message_t *)1;
	const char *why = NULL;

	ck_assert_int_eq(text_parse(garbage[_i], &msg, &why), SIPMSG_MALFORMED);
	ck_assert_ptr_null(msg);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_ne(why, "");
}
END_TEST

/* libosip2 writes "| ERROR |" lines to stdout for what it cannot parse; a
 * stranger must not be able to fill the journal that way. At -dd they are
 * kept as debug lines. */
START_TEST(libosip2_errors_not_on_stdout)
{
	FILE *captured = tmpfile(), *log_file = tmpfile();
	osip_message_t *msg = NULL;
	const char *why;
	char line[512];
	int saved = dup(STDOUT_FILENO);

	ck_assert_ptr_nonnull(captured);
	ck_assert_ptr_nonnull(log_file);
	ck_assert_int_ge(saved, 0);
	fflush(stdout);
	ck_assert_int_ge(dup2(fileno(captured), STDOUT_FILENO), 0);
	ck_assert_int_eq(text_parse(garbage[1], &msg, &why), SIPMSG_MALFORMED);
	ck_assert_int_eq(text_parse(MESSAGE_WITH_CL("12"), &msg, &why), SIPMSG_INCOMPLETE);
	log_set_stream(log_file);
	log_set_level(LOG_DEBUG);
	ck_assert_int_eq(text_parse(garbage[1], &msg, &why), SIPMSG_MALFORMED);
	fflush(stdout);
	ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
	close(saved);

	ck_assert_int_eq(fseek(captured, 0, SEEK_END), 0);
	ck_assert_int_eq(ftell(captured), 0);
	rewind(log_file);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), log_file));
	ck_assert_ptr_nonnull(strstr(line, " debug: libosip2 "));
	ck_assert_msg(line[strlen(line) - 2] != '\n', "blank line after \"%s\"", line);
	log_set_stream(NULL);
	fclose(log_file);
	fclose(captured);
}
END_TEST

START_TEST(nul_in_headers_is_malformed)
{
	size_t len;
	char *buf = sample_read("register-linphone.sip", &len);
	osip_message_t *msg = NULL;
	const char *why;

	buf[60] = '\0'; /* inside the Via */
	ck_assert_int_eq(sipmsg_parse(buf, len, &msg, &why), SIPMSG_MALFORMED);
	ck_assert_str_eq(why, "NUL byte in the headers");
	ck_assert_ptr_null(msg);
	free(buf);
}
END_TEST

/* RFC 3261 18.3, R46. */
START_TEST(content_length_exact)
{
	osip_message_t *msg = NULL;
	const char *why;
	size_t len;

	ck_assert_int_eq(text_parse(MESSAGE_WITH_CL("11"), &msg, &why), SIPMSG_OK);
	ck_assert_str_eq(body_of(msg, &len), MESSAGE_BODY);
	ck_assert_uint_eq(len, 11);
	osip_message_free(msg);
}
END_TEST

START_TEST(content_length_body_shorter_is_incomplete)
{
	osip_message_t *msg = (osip_message_t *)1;
	const char *why;

	ck_assert_int_eq(text_parse(MESSAGE_WITH_CL("12"), &msg, &why), SIPMSG_INCOMPLETE);
	ck_assert_ptr_null(msg);
	ck_assert_str_eq(why, "body shorter than Content-Length");
	ck_assert_int_eq(text_parse(MESSAGE_WITH_CL("4000"), &msg, &why), SIPMSG_INCOMPLETE);
	ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(content_length_body_longer_is_truncated)
{
	osip_message_t *msg = NULL;
	const char *why;
	size_t len;

	ck_assert_int_eq(text_parse(MESSAGE_WITH_CL("5"), &msg, &why), SIPMSG_OK);
	body_of(msg, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(memcmp(body_of(msg, &len), "Hello", 5), 0);
	osip_message_free(msg);
}
END_TEST

/* Content-Length: 0 and a second request behind it in the same datagram: only
 * the first one exists (snort SIP rule 17). */
START_TEST(second_message_in_datagram_ignored)
{
	size_t reg_len, inv_len;
	char *reg = sample_read("register-linphone.sip", &reg_len);
	char *inv = sample_read("invite-zoiper.sip", &inv_len);
	char *both = malloc(reg_len + inv_len);
	osip_message_t *msg = NULL;
	const char *why;

	ck_assert_ptr_nonnull(both);
	memcpy(both, reg, reg_len);
	memcpy(both + reg_len, inv, inv_len);
	ck_assert_int_eq(sipmsg_parse(both, reg_len + inv_len, &msg, &why), SIPMSG_OK);
	ck_assert(MSG_IS_REGISTER(msg));
	ck_assert_str_eq(sipmsg_call_id(msg), "3cEy9KxK2o");
	ck_assert_int_eq(osip_list_size(&msg->bodies), 0);
	ck_assert_int_eq(osip_list_size(&msg->vias), 1);
	osip_message_free(msg);
	free(both);
	free(inv);
	free(reg);
}
END_TEST

/* Over UDP Content-Length may be left out: the body runs to the end. */
START_TEST(content_length_absent)
{
	osip_message_t *msg = NULL;
	const char *why;
	size_t len;

	ck_assert_int_eq(text_parse(MESSAGE_HEAD "\r\n" MESSAGE_BODY, &msg, &why), SIPMSG_OK);
	ck_assert_str_eq(body_of(msg, &len), MESSAGE_BODY);
	osip_message_free(msg);
}
END_TEST

static const char *const bad_content_lengths[] = {
	MESSAGE_WITH_CL("-1"),
	MESSAGE_WITH_CL("-11"),
	MESSAGE_WITH_CL("eleven"),
	MESSAGE_WITH_CL("11abc"),
	MESSAGE_WITH_CL("0x0b"),
	MESSAGE_WITH_CL("2147483648"),          /* OpenSIPS #78 */
	MESSAGE_WITH_CL("99999999999999999999"),
};

START_TEST(content_length_bad_request_invalid)
{
	osip_message_t *msg = NULL;
	const char *why = NULL;
	enum sipmsg_status st = text_parse(bad_content_lengths[_i], &msg, &why);

	ck_assert_msg(st == SIPMSG_INVALID, "got %s (%s)", sipmsg_status_name(st), why);
	ck_assert_ptr_nonnull(msg);
	ck_assert_str_eq(why, "bad Content-Length");
	/* Enough of it is there to answer with a 400. */
	ck_assert_int_eq(osip_list_size(&msg->vias), 1);
	osip_message_free(msg);
}
END_TEST

/* A response can never be answered: a bad one is dropped. */
START_TEST(content_length_bad_response_dropped)
{
	static const char resp[] =
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/UDP 127.0.10.1:5060;rport=5060;branch=z9hG4bKsnd.0a1b2c3d\r\n"
		"From: <sip:alice@pbx.example.com>;tag=Xy7Ab~f\r\n"
		"To: <sip:bob@pbx.example.com>;tag=as5f2c91d0\r\n"
		"Call-ID: pL0qY3sKd8\r\n"
		"CSeq: 21 MESSAGE\r\n"
		"Server: Asterisk PBX 20.5.2\r\n"
		"Content-Length: -5\r\n\r\n";
	osip_message_t *msg = (osip_message_t *)1;
	const char *why;

	ck_assert_int_eq(text_parse(resp, &msg, &why), SIPMSG_MALFORMED);
	ck_assert_ptr_null(msg);
}
END_TEST

/* R47: the headers of a request, one of which the test leaves out. */
static const char *const request_lines[] = {
	"OPTIONS sip:127.0.10.1:5060 SIP/2.0\r\n",
	"Via: SIP/2.0/UDP 10.0.0.23:52718;branch=z9hG4bK-524287-1---0badc0de;rport\r\n",
	"From: <sip:bob@pbx.example.com>;tag=7e1f\r\n",
	"To: <sip:127.0.10.1>\r\n",
	"Call-ID: NDQ1ZjM4OGM0YTk0ZDg2\r\n",
	"CSeq: 2 OPTIONS\r\n",
	"Max-Forwards: 70\r\n",
	"User-Agent: Z 5.6.1 v2.10.19.9\r\n",
	"Content-Length: 0\r\n",
};

static const char *const response_lines[] = {
	"SIP/2.0 200 OK\r\n",
	"Via: SIP/2.0/UDP 127.0.10.1:5060;rport=5060;branch=z9hG4bKsnd.0a1b2c3d\r\n",
	"From: <sip:bob@pbx.example.com>;tag=7e1f\r\n",
	"To: <sip:127.0.10.1>;tag=as6c1e4a20\r\n",
	"Call-ID: NDQ1ZjM4OGM0YTk0ZDg2\r\n",
	"CSeq: 2 OPTIONS\r\n",
	"Server: Asterisk PBX 20.5.2\r\n",
	"Content-Length: 0\r\n",
};

static char *assemble(const char *const lines[], size_t n, size_t skip)
{
	size_t size = 3;
	char *buf;

	for (size_t i = 0; i < n; i++)
		size += strlen(lines[i]);
	buf = malloc(size);
	ck_assert_ptr_nonnull(buf);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (i != skip)
			strcat(buf, lines[i]);
	strcat(buf, "\r\n");
	return buf;
}

/* The why for a missing line of request_lines/response_lines (index 2..5). */
static const char *const missing_why[] = { NULL, NULL, "no From", "no To", "no Call-ID", "no CSeq" };

START_TEST(request_complete_is_ok)
{
	char *text = assemble(request_lines, 9, (size_t)-1);
	osip_message_t *msg = NULL;
	const char *why;

	ck_assert_int_eq(text_parse(text, &msg, &why), SIPMSG_OK);
	ck_assert(MSG_IS_OPTIONS(msg));
	osip_message_free(msg);
	free(text);
}
END_TEST

/* _i = 2..5: From, To, Call-ID, CSeq missing → 400 material. */
START_TEST(request_missing_header_invalid)
{
	char *text = assemble(request_lines, 9, (size_t)_i);
	osip_message_t *msg = NULL;
	const char *why = NULL;
	enum sipmsg_status st = text_parse(text, &msg, &why);

	ck_assert_msg(st == SIPMSG_INVALID, "without %s: %s", missing_why[_i], sipmsg_status_name(st));
	ck_assert_ptr_nonnull(msg);
	ck_assert_str_eq(why, missing_why[_i]);
	osip_message_free(msg);
	free(text);
}
END_TEST

/* Without a Via there is nowhere to send a 400. */
START_TEST(request_missing_via_dropped)
{
	char *text = assemble(request_lines, 9, 1);
	osip_message_t *msg = (osip_message_t *)1;
	const char *why;

	ck_assert_int_eq(text_parse(text, &msg, &why), SIPMSG_MALFORMED);
	ck_assert_ptr_null(msg);
	ck_assert_str_eq(why, "no Via");
	free(text);
}
END_TEST

/* _i = 1..5: a response missing any mandatory header is dropped. */
START_TEST(response_missing_header_dropped)
{
	char *text = assemble(response_lines, 8, (size_t)_i);
	osip_message_t *msg = (osip_message_t *)1;
	const char *why;

	ck_assert_int_eq(text_parse(text, &msg, &why), SIPMSG_MALFORMED);
	ck_assert_ptr_null(msg);
	free(text);
}
END_TEST

START_TEST(response_complete_is_ok)
{
	char *text = assemble(response_lines, 8, (size_t)-1);
	osip_message_t *msg = NULL;
	const char *why;

	ck_assert_int_eq(text_parse(text, &msg, &why), SIPMSG_OK);
	ck_assert_int_eq(msg->status_code, 200);
	ck_assert_str_eq(sipmsg_method(msg), "OPTIONS");
	osip_message_free(msg);
	free(text);
}
END_TEST

START_TEST(cseq_method_mismatch_invalid)
{
	static const char text[] =
		"BYE sip:bob@10.0.0.23:52718;transport=UDP SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.10.2:5080;rport;branch=z9hG4bKPj0f1e2d3c\r\n"
		"From: <sip:1002@pbx.example.com>;tag=a7f2c81e\r\n"
		"To: \"Bob\" <sip:bob@pbx.example.com>;tag=1a2b3c4d\r\n"
		"Call-ID: ZmE4NjQ5ZDE3YzQ2MTk0ZmJmNDI3ZDBkZWY5MmQ3OTY\r\n"
		"CSeq: 102 INVITE\r\n"
		"Max-Forwards: 70\r\n"
		"Content-Length: 0\r\n\r\n";
	osip_message_t *msg = NULL;
	const char *why;

	ck_assert_int_eq(text_parse(text, &msg, &why), SIPMSG_INVALID);
	ck_assert_ptr_nonnull(msg);
	ck_assert_str_eq(why, "CSeq method differs from the request method");
	ck_assert_str_eq(sipmsg_method(msg), "BYE");
	osip_message_free(msg);
}
END_TEST

/* Serialise what was parsed: same message, Content-Length equal to the body. */
START_TEST(serialize_round_trip)
{
	osip_message_t *msg = sample_parse("invite-zoiper.sip"), *again = NULL;
	char *buf = NULL;
	size_t len = 0, actual, l1, l2;
	long declared;
	const char *why;

	ck_assert_int_eq(sipmsg_serialize(msg, &buf, &len), 0);
	ck_assert_uint_eq(strlen(buf), len);
	assert_prefix(buf, "INVITE sip:1002@pbx.example.com;transport=UDP SIP/2.0\r\n");
	framing_of(buf, len, &declared, &actual);
	ck_assert_int_eq(declared, 321);
	ck_assert_uint_eq(actual, 321);
	ck_assert_int_eq(sipmsg_parse(buf, len, &again, &why), SIPMSG_OK);
	ck_assert_str_eq(sipmsg_call_id(again), sipmsg_call_id(msg));
	ck_assert_int_eq(osip_list_size(&again->vias), 1);
	ck_assert_str_eq(body_of(again, &l2), body_of(msg, &l1));
	osip_message_free(again);
	osip_message_free(msg);
	osip_free(buf);
}
END_TEST

/* A rewritten body (longer SDP) gets the new Content-Length. */
START_TEST(serialize_sets_content_length_for_new_body)
{
	static const char sdp[] =
		"v=0\r\no=Z 0 71939537 IN IP4 203.0.113.7\r\ns=Z\r\nc=IN IP4 203.0.113.7\r\n"
		"t=0 0\r\nm=audio 35000 RTP/AVP 106 9 98 101 0 8 3\r\na=rtpmap:106 opus/48000/2\r\n"
		"a=rtcp:35001\r\na=sendrecv\r\n";
	osip_message_t *msg = sample_parse("invite-zoiper.sip");
	osip_body_t *body = NULL;
	char *buf = NULL;
	size_t len = 0, actual;
	long declared;

	ck_assert_int_ge(osip_message_get_body(msg, 0, &body), 0);
	osip_free(body->body);
	body->body = osip_strdup(sdp);
	body->length = strlen(sdp);
	ck_assert_int_eq(sipmsg_serialize(msg, &buf, &len), 0);
	framing_of(buf, len, &declared, &actual);
	ck_assert_int_eq(declared, (long)strlen(sdp));
	ck_assert_uint_eq(actual, strlen(sdp));
	ck_assert_str_eq(buf + len - actual, sdp);
	osip_message_free(msg);
	osip_free(buf);
}
END_TEST

/* A body removed, or a message without Content-Length: it is written anyway. */
START_TEST(serialize_content_length_zero_and_added)
{
	osip_message_t *msg = sample_parse("invite-zoiper.sip");
	char *buf = NULL;
	size_t len = 0, actual;
	long declared;
	const char *why;

	osip_list_special_free(&msg->bodies, (void (*)(void *))osip_body_free);
	ck_assert_int_eq(sipmsg_serialize(msg, &buf, &len), 0);
	framing_of(buf, len, &declared, &actual);
	ck_assert_int_eq(declared, 0);
	ck_assert_uint_eq(actual, 0);
	osip_message_free(msg);
	osip_free(buf);

	ck_assert_int_eq(text_parse(MESSAGE_HEAD "\r\n" MESSAGE_BODY, &msg, &why), SIPMSG_OK);
	ck_assert_int_eq(sipmsg_serialize(msg, &buf, &len), 0);
	framing_of(buf, len, &declared, &actual);
	ck_assert_int_eq(declared, 11);
	ck_assert_str_eq(buf + len - actual, MESSAGE_BODY);
	osip_message_free(msg);
	osip_free(buf);
}
END_TEST

/* What was cut off at parse time stays cut off. */
START_TEST(serialize_truncated_message)
{
	osip_message_t *msg = NULL;
	char *buf = NULL;
	size_t len = 0, actual;
	long declared;
	const char *why;

	ck_assert_int_eq(text_parse(MESSAGE_WITH_CL("5"), &msg, &why), SIPMSG_OK);
	ck_assert_int_eq(sipmsg_serialize(msg, &buf, &len), 0);
	framing_of(buf, len, &declared, &actual);
	ck_assert_int_eq(declared, 5);
	ck_assert_str_eq(buf + len - actual, "Hello");
	osip_message_free(msg);
	osip_free(buf);
}
END_TEST

START_TEST(status_names)
{
	ck_assert_str_eq(sipmsg_status_name(SIPMSG_OK), "ok");
	ck_assert_str_eq(sipmsg_status_name(SIPMSG_KEEPALIVE), "keep-alive");
	ck_assert_str_eq(sipmsg_status_name(SIPMSG_STUN), "STUN");
	ck_assert_str_eq(sipmsg_status_name(SIPMSG_TOO_BIG), "too big");
	ck_assert_str_eq(sipmsg_status_name(SIPMSG_MALFORMED), "malformed");
	ck_assert_str_eq(sipmsg_status_name(SIPMSG_INCOMPLETE), "incomplete");
	ck_assert_str_eq(sipmsg_status_name(SIPMSG_INVALID), "invalid");
}
END_TEST

/* Call-IDs as keys: whole when they fit; longer ones (RFC 3261 sets no
 * limit) stay apart even when they share far more than the buffer holds. */
static osip_message_t *with_call_id(const char *number, const char *host)
{
	osip_message_t *msg = NULL;

	ck_assert_int_eq(osip_message_init(&msg), 0);
	ck_assert_int_eq(osip_call_id_init(&msg->call_id), 0);
	osip_call_id_set_number(msg->call_id, osip_strdup(number));
	if (host)
		osip_call_id_set_host(msg->call_id, osip_strdup(host));
	return msg;
}

START_TEST(call_id_keys)
{
	char head[400], a[SIPMSG_CALLID_MAX], b[SIPMSG_CALLID_MAX], c[SIPMSG_CALLID_MAX];

	osip_message_t *shortid = with_call_id("abc", "192.0.2.20");
	ck_assert_str_eq(sipmsg_call_id_full(shortid, a), "abc@192.0.2.20");
	osip_message_free(shortid);

	memset(head, 'x', 300);
	head[300] = '\0';
	osip_message_t *one = with_call_id(head, "host-one"), *two = with_call_id(head, "host-two"),
		       *again = with_call_id(head, "host-one");
	sipmsg_call_id_full(one, a);
	sipmsg_call_id_full(two, b);
	sipmsg_call_id_full(again, c);
	ck_assert_uint_eq(strlen(a), SIPMSG_CALLID_MAX - 1);
	ck_assert_str_ne(a, b);
	ck_assert_str_eq(a, c);
	ck_assert_int_eq(strncmp(a, head, 200), 0);
	ck_assert_int_eq(a[SIPMSG_CALLID_MAX - SIPMSG_CALLID_DIGEST - 2], '~');
	osip_message_free(one);
	osip_message_free(two);
	osip_message_free(again);
}
END_TEST

START_TEST(accessors_on_empty_message)
{
	osip_message_t *msg = NULL;

	ck_assert_int_eq(osip_message_init(&msg), 0);
	ck_assert_str_eq(sipmsg_method(msg), "");
	ck_assert_str_eq(sipmsg_call_id(msg), "");
	osip_message_free(msg);
}
END_TEST

static Suite *sipmsg_suite(void)
{
	Suite *s = suite_create("sipmsg");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_linphone_register);
	tcase_add_test(tc, parse_zoiper_invite_with_sdp);
	tcase_add_test(tc, parse_several_vias);
	suite_add_tcase(s, tc);

	tc = tcase_create("keepalive");
	tcase_add_loop_test(tc, keepalive_recognised, 0, sizeof(keepalives) / sizeof(keepalives[0]));
	tcase_add_test(tc, keepalive_then_register);
	tcase_add_test(tc, status_code_out_of_range_dropped);
	tcase_add_test(tc, zeros_with_more_is_not_keepalive);
	tcase_add_test(tc, stun_binding_request);
	tcase_add_test(tc, stun_lookalikes_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_test(tc, too_big);
	tcase_add_test(tc, largest_datagram_accepted);
	tcase_add_loop_test(tc, garbage_is_malformed, 0, sizeof(garbage) / sizeof(garbage[0]));
	tcase_add_test(tc, nul_in_headers_is_malformed);
	tcase_add_test(tc, libosip2_errors_not_on_stdout);
	suite_add_tcase(s, tc);

	tc = tcase_create("framing");
	tcase_add_test(tc, content_length_exact);
	tcase_add_test(tc, content_length_body_shorter_is_incomplete);
	tcase_add_test(tc, content_length_body_longer_is_truncated);
	tcase_add_test(tc, second_message_in_datagram_ignored);
	tcase_add_test(tc, content_length_absent);
	tcase_add_loop_test(tc, content_length_bad_request_invalid, 0,
			    sizeof(bad_content_lengths) / sizeof(bad_content_lengths[0]));
	tcase_add_test(tc, content_length_bad_response_dropped);
	suite_add_tcase(s, tc);

	tc = tcase_create("mandatory");
	tcase_add_test(tc, request_complete_is_ok);
	tcase_add_loop_test(tc, request_missing_header_invalid, 2, 6);
	tcase_add_test(tc, request_missing_via_dropped);
	tcase_add_test(tc, response_complete_is_ok);
	tcase_add_loop_test(tc, response_missing_header_dropped, 1, 6);
	tcase_add_test(tc, cseq_method_mismatch_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("serialize");
	tcase_add_test(tc, serialize_round_trip);
	tcase_add_test(tc, serialize_sets_content_length_for_new_body);
	tcase_add_test(tc, serialize_content_length_zero_and_added);
	tcase_add_test(tc, serialize_truncated_message);
	tcase_add_test(tc, status_names);
	tcase_add_test(tc, accessors_on_empty_message);
	tcase_add_test(tc, call_id_keys);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(sipmsg_suite, sipmsg_global_init())
