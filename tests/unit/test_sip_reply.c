/*
 * Unit tests for sip_reply.c: the answers sipnatd gives itself always have the
 * same headers in the same order (R28, R31), a To tag that a retransmission
 * gets again, and the RFC 3261 reason phrases.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "secret.h"
#include "sip_reply.h"
#include "sip_samples.h"
#include "sip_via.h"
#include "sipmsg.h"
#include "../support/unit_main.h"

static const uint8_t test_key[SECRET_KEY_LEN] = "sipnatd unit test key, 32 bytes";

static void setup(void)
{
	secret_set_key(test_key);
}

static void teardown(void)
{
	secret_free();
}

/* The request as it reaches sip_reply_build: parsed, top Via stamped as
 * received from a phone behind NAT. */
static osip_message_t *received(const char *name)
{
	osip_message_t *req = sample_parse(name);
	struct netaddr src;

	ck_assert(netaddr_parse("127.0.30.5:40000", &src));
	ck_assert_int_eq(sip_via_stamp_received(req, &src, true), 0);
	return req;
}

/* Serialise msg; returns the text (osip_free) and fills names with the header
 * names in order, joined by ',' ("Via,From,..."). */
static char *serialize(osip_message_t *msg, char *names, size_t size)
{
	char *buf = NULL;
	size_t len = 0;
	const char *p, *eol;
	size_t used = 0;

	ck_assert_int_eq(sipmsg_serialize(msg, &buf, &len), 0);
	names[0] = '\0';
	p = strstr(buf, "\r\n");
	ck_assert_ptr_nonnull(p);
	for (p += 2; (eol = strstr(p, "\r\n")) != NULL && eol != p; p = eol + 2) {
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		ck_assert_ptr_nonnull(colon);
		int n = snprintf(names + used, size - used, "%s%.*s", used ? "," : "",
				 (int)(colon - p), p);
		ck_assert(n > 0 && (size_t)n < size - used);
		used += (size_t)n;
	}
	return buf;
}

/* The To tag of msg, or NULL. */
static const char *to_tag(osip_message_t *msg)
{
	osip_generic_param_t *tag = NULL;

	if (!msg->to || osip_to_get_tag(msg->to, &tag) != 0 || !tag)
		return NULL;
	return tag->gvalue;
}

START_TEST(header_set_and_order)
{
	osip_message_t *req = received("register-linphone.sip");
	osip_message_t *resp = sip_reply_build(req, 401, NULL);
	const char *tail = "\r\nContent-Length: 0\r\n\r\n";
	char names[256];
	char *text;

	ck_assert_ptr_nonnull(resp);
	text = serialize(resp, names, sizeof(names));
	ck_assert_str_eq(names, "Via,From,To,Call-ID,CSeq,Server,Content-Length");
	assert_prefix(text, "SIP/2.0 401 Unauthorized\r\n");
	ck_assert_ptr_nonnull(strstr(text, "\r\nVia: SIP/2.0/UDP 192.168.1.5:5060;"
					   "branch=z9hG4bK.Ks2n9fVvB;rport=40000;received=127.0.30.5\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nFrom: <sip:alice@pbx.example.com>;tag=hY3x~QnLm\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nCall-ID: 3cEy9KxK2o\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nCSeq: 20 REGISTER\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nServer: " SIP_SERVER_NAME "\r\n"));
	/* nothing of the request's own leaks into the answer, and no body */
	ck_assert_ptr_null(strstr(text, "Linphone"));
	ck_assert_ptr_null(strstr(text, "192.168.1.5:5060;transport"));
	ck_assert_str_eq(text + strlen(text) - strlen(tail), tail);
	osip_free(text);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* general.useragent (issue 11): "sipnatd" without a version by default, the
 * admin's text when set, back to the default when unset. */
START_TEST(server_name_configurable)
{
	osip_message_t *req = received("register-linphone.sip");
	char names[256];

	ck_assert_str_eq(SIP_SERVER_NAME, "sipnatd");
	sip_reply_set_server("Home PBX");
	osip_message_t *resp = sip_reply_build(req, 403, NULL);
	char *text = serialize(resp, names, sizeof(names));
	ck_assert_ptr_nonnull(strstr(text, "\r\nServer: Home PBX\r\n"));
	ck_assert_ptr_null(strstr(text, "sipnatd"));
	osip_free(text);
	osip_message_free(resp);
	sip_reply_set_server(NULL);
	resp = sip_reply_build(req, 403, NULL);
	text = serialize(resp, names, sizeof(names));
	ck_assert_ptr_nonnull(strstr(text, "\r\nServer: sipnatd\r\n"));
	osip_free(text);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* Every Via, in order, as stamped (RFC 3261 8.2.6.2). */
START_TEST(all_vias_copied)
{
	osip_message_t *req = received("invite-asterisk-3via.sip");
	osip_message_t *resp = sip_reply_build(req, 100, NULL);

	ck_assert_ptr_nonnull(resp);
	ck_assert_int_eq(osip_list_size(&resp->vias), 3);
	for (int i = 0; i < 3; i++) {
		char *want = NULL, *got = NULL;
		ck_assert_int_eq(osip_via_to_str(osip_list_get(&req->vias, i), &want), 0);
		ck_assert_int_eq(osip_via_to_str(osip_list_get(&resp->vias, i), &got), 0);
		ck_assert_str_eq(got, want);
		osip_free(want);
		osip_free(got);
	}
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* The same header set whatever the request carried (an INVITE with a body,
 * Contact, Allow, Supported...). */
START_TEST(same_header_set_for_invite)
{
	osip_message_t *req = received("invite-zoiper.sip");
	osip_message_t *resp = sip_reply_build(req, 403, NULL);
	char names[256];
	char *text;

	ck_assert_ptr_nonnull(resp);
	text = serialize(resp, names, sizeof(names));
	ck_assert_str_eq(names, "Via,From,To,Call-ID,CSeq,Server,Content-Length");
	ck_assert_ptr_nonnull(strstr(text, "\r\nContent-Length: 0\r\n\r\n"));
	ck_assert_ptr_null(strstr(text, "v=0"));
	osip_free(text);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* Extra headers come after Server, in the order added. */
START_TEST(added_headers_follow)
{
	osip_message_t *req = received("options-asterisk.sip");
	osip_message_t *resp = sip_reply_build(req, 200, NULL);
	char names[256];
	char *text;

	ck_assert_ptr_nonnull(resp);
	ck_assert_int_eq(sip_reply_add_header(resp, "Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"), 0);
	ck_assert_int_eq(sip_reply_add_header(resp, "Accept", "application/sdp"), 0);
	text = serialize(resp, names, sizeof(names));
	ck_assert_str_eq(names, "Via,From,To,Call-ID,CSeq,Server,Allow,Accept,Content-Length");
	ck_assert_ptr_nonnull(strstr(text, "\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n"));
	osip_free(text);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

START_TEST(to_tag_added)
{
	osip_message_t *req = received("register-linphone.sip");
	osip_message_t *resp = sip_reply_build(req, 401, NULL);
	const char *tag = to_tag(resp);

	ck_assert_ptr_null(to_tag(req));
	ck_assert_ptr_nonnull(tag);
	ck_assert_uint_eq(strlen(tag), 16);
	ck_assert_uint_eq(strspn(tag, "abcdefghijklmnopqrstuvwxyz234567"), 16);
	ck_assert_str_eq(resp->to->url->username, "alice");
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* A retransmission (same request again, another parse) gets the same tag, so
 * the phone sees one answer (RFC 3261 8.2.6.2). */
START_TEST(to_tag_stable)
{
	osip_message_t *req1 = received("register-linphone.sip");
	osip_message_t *req2 = received("register-linphone.sip");
	osip_message_t *resp1 = sip_reply_build(req1, 401, NULL);
	osip_message_t *resp2 = sip_reply_build(req2, 401, NULL);

	ck_assert_ptr_nonnull(to_tag(resp1));
	ck_assert_str_eq(to_tag(resp1), to_tag(resp2));
	osip_message_free(resp1);
	osip_message_free(resp2);
	osip_message_free(req1);
	osip_message_free(req2);
}
END_TEST

START_TEST(to_tag_differs_by_call_id)
{
	osip_message_t *req1 = received("register-linphone.sip");
	osip_message_t *req2 = received("register-linphone.sip");
	osip_message_t *resp1, *resp2;

	osip_free(req2->call_id->number);
	req2->call_id->number = osip_strdup("3cEy9KxK2p");
	resp1 = sip_reply_build(req1, 401, NULL);
	resp2 = sip_reply_build(req2, 401, NULL);
	ck_assert_ptr_nonnull(to_tag(resp1));
	ck_assert_ptr_nonnull(to_tag(resp2));
	ck_assert_str_ne(to_tag(resp1), to_tag(resp2));
	ck_assert_str_eq(resp2->call_id->number, "3cEy9KxK2p");
	osip_message_free(resp1);
	osip_message_free(resp2);
	osip_message_free(req1);
	osip_message_free(req2);
}
END_TEST

/* The key is part of it: another process key, another tag. */
START_TEST(to_tag_depends_on_key)
{
	static const uint8_t other_key[SECRET_KEY_LEN] = "another unit test key, 32 bytes";
	osip_message_t *req = received("register-linphone.sip");
	osip_message_t *resp1 = sip_reply_build(req, 401, NULL), *resp2;

	secret_set_key(other_key);
	resp2 = sip_reply_build(req, 401, NULL);
	ck_assert_str_ne(to_tag(resp1), to_tag(resp2));
	osip_message_free(resp1);
	osip_message_free(resp2);
	osip_message_free(req);
}
END_TEST

/* An in-dialog request already has a To tag: the answer keeps it, alone. */
START_TEST(existing_to_tag_kept)
{
	static const char bye[] =
		"BYE sip:bob@10.0.0.23:52718;transport=UDP SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.10.2:5080;rport;branch=z9hG4bKPj0f1e2d3c\r\n"
		"From: <sip:1002@pbx.example.com>;tag=a7f2c81e\r\n"
		"To: \"Bob\" <sip:bob@pbx.example.com>;tag=1a2b3c4d\r\n"
		"Call-ID: ZmE4NjQ5ZDE3YzQ2MTk0ZmJmNDI3ZDBkZWY5MmQ3OTY\r\n"
		"CSeq: 102 BYE\r\n"
		"Max-Forwards: 70\r\n"
		"Content-Length: 0\r\n\r\n";
	osip_message_t *req = NULL, *resp;
	const char *why;
	char names[256];
	char *text;

	ck_assert_int_eq(text_parse(bye, &req, &why), SIPMSG_OK);
	resp = sip_reply_build(req, 481, NULL);
	ck_assert_ptr_nonnull(resp);
	ck_assert_str_eq(to_tag(resp), "1a2b3c4d");
	text = serialize(resp, names, sizeof(names));
	ck_assert_ptr_nonnull(strstr(text, "\r\nTo: \"Bob\" <sip:bob@pbx.example.com>;tag=1a2b3c4d\r\n"));
	assert_prefix(text, "SIP/2.0 481 Call/Transaction Does Not Exist\r\n");
	osip_free(text);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* 100 Trying is hop-by-hop and carries no To tag (RFC 3261 8.2.6.1). */
START_TEST(trying_has_no_tag)
{
	osip_message_t *req = received("invite-zoiper.sip");
	osip_message_t *resp = sip_reply_build(req, 100, NULL);
	char names[256];
	char *text;

	ck_assert_ptr_nonnull(resp);
	ck_assert_ptr_null(to_tag(resp));
	text = serialize(resp, names, sizeof(names));
	assert_prefix(text, "SIP/2.0 100 Trying\r\n");
	ck_assert_ptr_nonnull(strstr(text, "\r\nTo: <sip:1002@pbx.example.com;transport=UDP>\r\n"));
	osip_free(text);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

START_TEST(explicit_reason)
{
	osip_message_t *req = received("options-asterisk.sip");
	osip_message_t *resp = sip_reply_build(req, 503, "Waiting for externhost");
	char names[256];
	char *text;

	ck_assert_ptr_nonnull(resp);
	ck_assert_int_eq(resp->status_code, 503);
	text = serialize(resp, names, sizeof(names));
	assert_prefix(text, "SIP/2.0 503 Waiting for externhost\r\n");
	osip_free(text);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* R47: a 400 to a request missing its To: what there is, nothing invented. */
START_TEST(reply_to_invalid_request)
{
	static const char no_to[] =
		"OPTIONS sip:127.0.10.1:5060 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 10.0.0.23:52718;branch=z9hG4bK-524287-1---0badc0de;rport\r\n"
		"From: <sip:bob@pbx.example.com>;tag=7e1f\r\n"
		"Call-ID: NDQ1ZjM4OGM0YTk0ZDg2\r\n"
		"CSeq: 2 OPTIONS\r\n"
		"Content-Length: 0\r\n\r\n";
	osip_message_t *req = NULL, *resp;
	const char *why;
	char names[256];
	char *text;

	ck_assert_int_eq(text_parse(no_to, &req, &why), SIPMSG_INVALID);
	resp = sip_reply_build(req, 400, NULL);
	ck_assert_ptr_nonnull(resp);
	text = serialize(resp, names, sizeof(names));
	ck_assert_str_eq(names, "Via,From,Call-ID,CSeq,Server,Content-Length");
	assert_prefix(text, "SIP/2.0 400 Bad Request\r\n");
	osip_free(text);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 100, "Trying" },
	{ 200, "OK" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 407, "Proxy Authentication Required" },
	{ 408, "Request Timeout" },
	{ 423, "Interval Too Brief" },
	{ 480, "Temporarily Unavailable" },
	{ 481, "Call/Transaction Does Not Exist" },
	{ 482, "Loop Detected" },
	{ 483, "Too Many Hops" },
	{ 488, "Not Acceptable Here" },
	{ 500, "Server Internal Error" },
	{ 503, "Service Unavailable" },
	{ 513, "Message Too Large" },
	{ 0, "Unknown" },
	{ 299, "Unknown" },
	{ 699, "Unknown" },
};

START_TEST(reason_phrase)
{
	ck_assert_str_eq(sip_reply_reason(reasons[_i].status), reasons[_i].reason);
}
END_TEST

static Suite *sip_reply_suite(void)
{
	Suite *s = suite_create("sip_reply");
	TCase *tc;

	tc = tcase_create("headers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, header_set_and_order);
	tcase_add_test(tc, all_vias_copied);
	tcase_add_test(tc, same_header_set_for_invite);
	tcase_add_test(tc, added_headers_follow);
	tcase_add_test(tc, explicit_reason);
	tcase_add_test(tc, reply_to_invalid_request);
	suite_add_tcase(s, tc);

	tc = tcase_create("to_tag");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, to_tag_added);
	tcase_add_test(tc, to_tag_stable);
	tcase_add_test(tc, to_tag_differs_by_call_id);
	tcase_add_test(tc, to_tag_depends_on_key);
	tcase_add_test(tc, existing_to_tag_kept);
	tcase_add_test(tc, trying_has_no_tag);
	tcase_add_test(tc, server_name_configurable);
	suite_add_tcase(s, tc);

	tc = tcase_create("reason");
	tcase_add_loop_test(tc, reason_phrase, 0, sizeof(reasons) / sizeof(reasons[0]));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(sip_reply_suite, sipmsg_global_init())
