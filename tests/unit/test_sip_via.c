/*
 * Unit tests for sip_via.c: received/rport stamping (RFC 3581 4, RFC 3261
 * 18.2.1; R1, R2, R4, R8) and where a response goes (RFC 3261 18.2.2). The
 * source of every request is a phone behind a NAT at 127.0.30.5:40000.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "sip_samples.h"
#include "sip_via.h"
#include "sipmsg.h"
#include "../support/unit_main.h"

#define SRC_IP "127.0.30.5"
#define SRC_PORT 40000

/* A REGISTER as Zoiper sends it, with the Via line(s) given by the test. */
static osip_message_t *request_with(const char *via_lines)
{
	char text[2048];
	osip_message_t *msg = NULL;
	const char *why = NULL;
	enum sipmsg_status st;

	snprintf(text, sizeof(text),
		 "REGISTER sip:pbx.example.com;transport=UDP SIP/2.0\r\n"
		 "%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "Contact: <sip:bob@192.168.1.5:5062;rinstance=6f9a1c2b3d4e5f60;transport=UDP>\r\n"
		 "To: <sip:bob@pbx.example.com;transport=UDP>\r\n"
		 "From: <sip:bob@pbx.example.com;transport=UDP>;tag=93a6b7c1\r\n"
		 "Call-ID: YTk0ZmJmNDI3ZDBkZWY5MmQ3OTZmZTg2\r\n"
		 "CSeq: 1 REGISTER\r\n"
		 "Expires: 60\r\n"
		 "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n"
		 "User-Agent: Z 5.6.1 v2.10.19.9\r\n"
		 "Allow-Events: presence, kpml, talk, as-feature-event\r\n"
		 "Content-Length: 0\r\n\r\n",
		 via_lines);
	st = text_parse(text, &msg, &why);
	ck_assert_msg(st == SIPMSG_OK, "%s: %s", sipmsg_status_name(st), why);
	return msg;
}

/* A 200 to that REGISTER whose top Via is via_value. */
static osip_message_t *response_with(const char *via_value)
{
	char text[2048];
	osip_message_t *msg = NULL;
	const char *why = NULL;
	enum sipmsg_status st;

	snprintf(text, sizeof(text),
		 "SIP/2.0 200 OK\r\n"
		 "Via: %s\r\n"
		 "From: <sip:bob@pbx.example.com;transport=UDP>;tag=93a6b7c1\r\n"
		 "To: <sip:bob@pbx.example.com;transport=UDP>;tag=as1b2c3d4e\r\n"
		 "Call-ID: YTk0ZmJmNDI3ZDBkZWY5MmQ3OTZmZTg2\r\n"
		 "CSeq: 1 REGISTER\r\n"
		 "Server: Asterisk PBX 20.5.2\r\n"
		 "Contact: <sip:bob@192.168.1.5:5062;rinstance=6f9a1c2b3d4e5f60;transport=UDP>;expires=60\r\n"
		 "Content-Length: 0\r\n\r\n",
		 via_value);
	st = text_parse(text, &msg, &why);
	ck_assert_msg(st == SIPMSG_OK, "%s: %s", sipmsg_status_name(st), why);
	return msg;
}

static struct netaddr addr(const char *ip, uint16_t port)
{
	struct netaddr a;

	ck_assert(netaddr_parse_ip(ip, &a));
	a.port = port;
	return a;
}

/* A request with the Via line prefix+via, or NULL when the parser refuses it. */
static osip_message_t *request_or_null(const char *prefix, const char *via)
{
	char line[1024], text[2048];
	osip_message_t *msg = NULL;
	const char *why = NULL;

	snprintf(line, sizeof(line), "%s%s", prefix, via);
	snprintf(text, sizeof(text),
		 "OPTIONS sip:pbx.example.com SIP/2.0\r\n%s\r\nMax-Forwards: 70\r\n"
		 "To: <sip:pbx.example.com>\r\nFrom: <sip:bob@pbx.example.com>;tag=q1\r\n"
		 "Call-ID: quoted\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", line);
	if (text_parse(text, &msg, &why) != SIPMSG_OK) {
		if (msg)
			osip_message_free(msg);
		return NULL;
	}
	return msg;
}

/* Via number i of msg as it would be written. */
static void assert_via(osip_message_t *msg, int i, const char *want)
{
	osip_via_t *via = osip_list_get(&msg->vias, i);
	char *text = NULL;

	ck_assert_ptr_nonnull(via);
	ck_assert_int_eq(osip_via_to_str(via, &text), 0);
	ck_assert_str_eq(text, want);
	osip_free(text);
}

/* Stamp the top Via as received from SRC, then check where a response to it
 * goes (a response carries the stamped Via back). */
static void stamp_and_target(osip_message_t *req, bool force_rport, const char *want_target)
{
	struct netaddr src = addr(SRC_IP, SRC_PORT), to;
	char buf[NETADDR_TEXT_MAX];

	ck_assert_int_eq(sip_via_stamp_received(req, &src, force_rport), 0);
	ck_assert(sip_via_response_target(req, &to));
	ck_assert_str_eq(netaddr_print(&to, buf), want_target);
}

/* R1: rport without value → received and rport, answer to the source. */
START_TEST(rport_present)
{
	osip_message_t *req = request_with("Via: SIP/2.0/UDP 192.168.1.5:5060;rport;branch=z9hG4bKa1");

	stamp_and_target(req, false, SRC_IP ":40000");
	assert_via(req, 0, "SIP/2.0/UDP 192.168.1.5:5060;rport=40000;branch=z9hG4bKa1;received=" SRC_IP);
	osip_message_free(req);
}
END_TEST

/* RFC 3581 4: received is added even when it equals sent-by. */
START_TEST(rport_present_received_even_if_same)
{
	osip_message_t *req = request_with("Via: SIP/2.0/UDP " SRC_IP ":40000;branch=z9hG4bKa2;rport");

	stamp_and_target(req, false, SRC_IP ":40000");
	assert_via(req, 0, "SIP/2.0/UDP " SRC_IP ":40000;branch=z9hG4bKa2;rport=40000;received=" SRC_IP);
	osip_message_free(req);
}
END_TEST

/* R2: no rport, force_rport off → received (sent-by differs), no rport, answer
 * to received:sent-by port. */
START_TEST(rport_absent)
{
	osip_message_t *req = request_with("Via: SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bK-524287-1---a3");

	stamp_and_target(req, false, SRC_IP ":5062");
	assert_via(req, 0, "SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bK-524287-1---a3;received=" SRC_IP);
	osip_message_free(req);
}
END_TEST

/* RFC 3261 18.2.1: sent-by equal to the source needs no received. */
START_TEST(rport_absent_sent_by_is_source)
{
	osip_message_t *req = request_with("Via: SIP/2.0/UDP " SRC_IP ":5062;branch=z9hG4bKa4");

	stamp_and_target(req, false, SRC_IP ":5062");
	assert_via(req, 0, "SIP/2.0/UDP " SRC_IP ":5062;branch=z9hG4bKa4");
	osip_message_free(req);
}
END_TEST

/* force_rport: as if the phone had asked for rport (Asterisk's nat=force_rport). */
START_TEST(force_rport_without_rport)
{
	osip_message_t *req = request_with("Via: SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bKa5");

	stamp_and_target(req, true, SRC_IP ":40000");
	assert_via(req, 0, "SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bKa5;received=" SRC_IP ";rport=40000");
	osip_message_free(req);
}
END_TEST

START_TEST(force_rport_same_host)
{
	osip_message_t *req = request_with("Via: SIP/2.0/UDP " SRC_IP ";branch=z9hG4bKa6");

	stamp_and_target(req, true, SRC_IP ":40000");
	assert_via(req, 0, "SIP/2.0/UDP " SRC_IP ";branch=z9hG4bKa6;received=" SRC_IP ";rport=40000");
	osip_message_free(req);
}
END_TEST

/* What a client wrote into received/rport itself is replaced, never kept or
 * doubled. */
START_TEST(client_received_and_rport_replaced)
{
	osip_message_t *req = request_with(
		"Via: SIP/2.0/UDP 192.168.1.5:5060;received=10.66.66.66;rport=1234;branch=z9hG4bKa7");

	stamp_and_target(req, false, SRC_IP ":40000");
	assert_via(req, 0, "SIP/2.0/UDP 192.168.1.5:5060;received=" SRC_IP ";rport=40000;branch=z9hG4bKa7");
	osip_message_free(req);
}
END_TEST

START_TEST(client_received_replaced_without_rport)
{
	osip_message_t *req = request_with(
		"Via: SIP/2.0/UDP 192.168.1.5:5062;received=10.66.66.66;branch=z9hG4bKa8");

	stamp_and_target(req, false, SRC_IP ":5062");
	assert_via(req, 0, "SIP/2.0/UDP 192.168.1.5:5062;received=" SRC_IP ";branch=z9hG4bKa8");
	osip_message_free(req);
}
END_TEST

/* Sent-by equals the source but the client claimed another received: the
 * response must not go to the claimed address. */
START_TEST(client_received_replaced_sent_by_is_source)
{
	osip_message_t *req = request_with(
		"Via: SIP/2.0/UDP " SRC_IP ":5062;received=127.0.30.99;branch=z9hG4bKa9");

	stamp_and_target(req, false, SRC_IP ":5062");
	ck_assert_str_eq(sip_via_param(osip_list_get(&req->vias, 0), "received", NULL), SRC_IP);
	osip_message_free(req);
}
END_TEST

/* R4: a hostname sent-by is never resolved; maddr is ignored. */
START_TEST(hostname_sent_by_force_rport)
{
	osip_message_t *req = request_with(
		"Via: SIP/2.0/UDP evil.invalid:5062;maddr=127.0.30.99;branch=z9hG4bKx");

	stamp_and_target(req, true, SRC_IP ":40000");
	assert_via(req, 0, "SIP/2.0/UDP evil.invalid:5062;maddr=127.0.30.99;branch=z9hG4bKx;received=" SRC_IP
			   ";rport=40000");
	osip_message_free(req);
}
END_TEST

START_TEST(hostname_sent_by_no_rport)
{
	osip_message_t *req = request_with(
		"Via: SIP/2.0/UDP evil.invalid:5062;maddr=127.0.30.99;branch=z9hG4bKx");

	/* The source IP with the sent-by port (R4). */
	stamp_and_target(req, false, SRC_IP ":5062");
	ck_assert_str_eq(sip_via_param(osip_list_get(&req->vias, 0), "received", NULL), SRC_IP);
	osip_message_free(req);
}
END_TEST

/* R8: compact v: with two comma-separated values; only the leftmost is stamped. */
START_TEST(compact_comma_separated_vias)
{
	osip_message_t *req = request_with(
		"v: SIP/2.0/UDP 192.168.1.5:5060;rport;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2");
	char *buf = NULL;
	size_t len = 0;

	ck_assert_int_eq(osip_list_size(&req->vias), 2);
	stamp_and_target(req, false, SRC_IP ":40000");
	assert_via(req, 0, "SIP/2.0/UDP 192.168.1.5:5060;rport=40000;branch=z9hG4bK1;received=" SRC_IP);
	assert_via(req, 1, "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2");
	/* Written out, the second value is byte-identical. */
	ck_assert_int_eq(sipmsg_serialize(req, &buf, &len), 0);
	ck_assert_ptr_nonnull(strstr(buf, "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\r\n"));
	ck_assert_ptr_null(strstr(buf, "10.0.0.1;branch=z9hG4bK2;received"));
	osip_free(buf);
	osip_message_free(req);
}
END_TEST

/* The same with several Via headers, the second one comma-combined, as the PBX
 * sends them: stamping touches the top value only. */
START_TEST(several_via_headers)
{
	osip_message_t *req = sample_parse("invite-asterisk-3via.sip");
	struct netaddr pbx = addr("127.0.10.2", 5080), to;
	char buf[NETADDR_TEXT_MAX];

	ck_assert_int_eq(sip_via_stamp_received(req, &pbx, false), 0);
	assert_via(req, 0, "SIP/2.0/UDP 127.0.10.2:5080;rport=5080;"
			   "branch=z9hG4bKPj6c1d7b0e-3f62-4c1a-9b55-0d1e2f3a4b5c;received=127.0.10.2");
	assert_via(req, 1, "SIP/2.0/UDP 127.0.10.1:5060;branch=z9hG4bKsnd.0a1b2c3d");
	assert_via(req, 2, "SIP/2.0/UDP 198.51.100.20:5060;received=198.51.100.20;branch=z9hG4bK7a6b5c");
	ck_assert(sip_via_response_target(req, &to));
	ck_assert_str_eq(netaddr_print(&to, buf), "127.0.10.2:5080");
	osip_message_free(req);
}
END_TEST

START_TEST(stamp_without_via_fails)
{
	osip_message_t *msg = NULL;
	struct netaddr src = addr(SRC_IP, SRC_PORT), to;

	ck_assert_int_eq(osip_message_init(&msg), 0);
	ck_assert_int_eq(sip_via_stamp_received(msg, &src, true), -1);
	ck_assert(!sip_via_response_target(msg, &to));
	osip_message_free(msg);
}
END_TEST

/* A quoted parameter value is whole and balanced; one that is not would be
 * read back as other parameters once received/rport follow it (found by
 * fuzz_sip_path: the response then found neither sipnatd nor the sender). */
static const struct {
	const char *via;
	bool usable;
} quoted[] = {
	{ "SIP/2.0/UDP 192.168.1.5:5062;x=\"a;b\";branch=z9hG4bKq1", true },
	{ "SIP/2.0/UDP 192.168.1.5:5062;x=\"a\\\"b\";branch=z9hG4bKq2", true },
	{ "SIP/2.0/UDP 192.168.1.5:5062;x=\"\";branch=z9hG4bKq3", true },
	{ "SIP/2.0/UDP 192.168.1.5:5062;branresponse=\"-ref;rport", false },
	{ "SIP/2.0/UDP 192.168.1.5:5062;x=a\"b;branch=z9hG4bKq5", false },
	{ "SIP/2.0/UDP 192.168.1.5:5062;x=\"a\\\";branch=z9hG4bKq6", false },
};

START_TEST(quoted_values)
{
	osip_message_t *req = request_or_null("Via: ", quoted[_i].via), *again = NULL;
	struct netaddr src = addr(SRC_IP, SRC_PORT);
	char *text = NULL;
	size_t len;
	const char *why;

	if (!req)
		return; /* libosip2 refused it already: nothing to stamp */
	ck_assert_int_eq(sip_via_stamp_received(req, &src, true), quoted[_i].usable ? 0 : -1);
	if (quoted[_i].usable) {
		/* stamped, it reads back with the same parameters */
		ck_assert_int_eq(sipmsg_serialize(req, &text, &len), 0);
		ck_assert_int_eq(sipmsg_parse(text, len, &again, &why), SIPMSG_OK);
		osip_via_t *a = osip_list_get(&req->vias, 0), *b = osip_list_get(&again->vias, 0);
		ck_assert_int_eq(osip_list_size(&a->via_params), osip_list_size(&b->via_params));
		ck_assert_str_eq(sip_via_param(b, "received", NULL), SRC_IP);
		osip_free(text);
		osip_message_free(again);
	}
	osip_message_free(req);
}
END_TEST

/* RFC 3261 18.2.2 on responses, one Via per case, either family. */
static const struct {
	const char *via;
	const char *target; /* NULL: no usable address */
} targets[] = {
	{ "SIP/2.0/UDP 192.168.1.5:5062;rport=40000;received=127.0.30.5;branch=z9hG4bKb1", "127.0.30.5:40000" },
	{ "SIP/2.0/UDP 192.168.1.5:5062;received=127.0.30.5;branch=z9hG4bKb2", "127.0.30.5:5062" },
	{ "SIP/2.0/UDP 192.168.1.5;received=127.0.30.5;branch=z9hG4bKb3", "127.0.30.5:5060" },
	{ "SIP/2.0/UDP 127.0.30.5;branch=z9hG4bKb4", "127.0.30.5:5060" },
	{ "SIP/2.0/UDP 127.0.30.5:5070;branch=z9hG4bKb5", "127.0.30.5:5070" },
	/* rport without value was never filled: the sent-by port */
	{ "SIP/2.0/UDP 192.168.1.5:5062;rport;received=127.0.30.5;branch=z9hG4bKb6", "127.0.30.5:5062" },
	/* maddr is ignored (R4) */
	{ "SIP/2.0/UDP 127.0.30.5:5062;maddr=127.0.30.99;branch=z9hG4bKb7", "127.0.30.5:5062" },
	{ "SIP/2.0/UDP 192.168.1.5;maddr=127.0.30.99;received=127.0.30.5;rport=40000;branch=z9hG4bKb8",
	  "127.0.30.5:40000" },
	/* a name is never resolved */
	{ "SIP/2.0/UDP evil.invalid:5062;branch=z9hG4bKb9", NULL },
	{ "SIP/2.0/UDP evil.invalid;rport=40000;branch=z9hG4bKb10", NULL },
	{ "SIP/2.0/UDP 192.168.1.5;received=evil.invalid;branch=z9hG4bKb11", NULL },
	{ "SIP/2.0/UDP 192.168.1.5:99999;received=127.0.30.5;branch=z9hG4bKb12", NULL },
	/* IPv6 (RFC 5118) */
	{ "SIP/2.0/UDP [2001:db8::5]:5062;rport=40000;received=2001:db8:ff::9;branch=z9hG4bKc1",
	  "[2001:db8:ff::9]:40000" },
	/* RFC 5118 4.5: a bracketed received= is accepted too */
	{ "SIP/2.0/UDP [2001:db8::5]:5062;received=[2001:db8:ff::9];branch=z9hG4bKc2",
	  "[2001:db8:ff::9]:5062" },
	{ "SIP/2.0/UDP [2001:db8::5];branch=z9hG4bKc3", "[2001:db8::5]:5060" },
	{ "SIP/2.0/UDP [2001:db8::5]:5070;branch=z9hG4bKc4", "[2001:db8::5]:5070" },
	{ "SIP/2.0/UDP [2001:db8::5]:5062;maddr=[2001:db8::99];branch=z9hG4bKc5", "[2001:db8::5]:5062" },
	{ "SIP/2.0/UDP 192.168.1.5:5062;received=2001:db8::9;rport=4;branch=z9hG4bKc6",
	  "[2001:db8::9]:4" },
	{ "SIP/2.0/UDP [2001:db8::5]:5062;received=198.51.100.5;branch=z9hG4bKc7", "198.51.100.5:5062" },
	{ "SIP/2.0/UDP [::ffff:198.51.100.5]:5062;branch=z9hG4bKc8", "198.51.100.5:5062" },
	{ "SIP/2.0/UDP [2001:db8::5]:5062;received=2001:db8::zz;branch=z9hG4bKc9", NULL },
	{ "SIP/2.0/UDP [2001:db8::5]:5062;received=[192.0.2.1];branch=z9hG4bKc10", NULL },
	{ "SIP/2.0/UDP [2001:db8::5]:99999;branch=z9hG4bKc11", NULL },
};

START_TEST(response_target)
{
	osip_message_t *resp = response_with(targets[_i].via);
	struct netaddr to;
	char buf[NETADDR_TEXT_MAX];
	bool ok = sip_via_response_target(resp, &to);

	if (targets[_i].target) {
		ck_assert_msg(ok, "no target for %s", targets[_i].via);
		ck_assert_str_eq(netaddr_print(&to, buf), targets[_i].target);
	} else {
		ck_assert_msg(!ok, "%s gave %s", targets[_i].via, netaddr_print(&to, buf));
	}
	osip_message_free(resp);
}
END_TEST

START_TEST(param_get_and_set)
{
	osip_message_t *req = request_with("Via: SIP/2.0/UDP 192.168.1.5:5060;rport;branch=z9hG4bKc1;x-nat=1");
	osip_via_t *via = osip_list_get(&req->vias, 0);
	bool present = false;

	ck_assert_ptr_null(sip_via_param(via, "rport", &present));
	ck_assert(present);
	ck_assert_str_eq(sip_via_param(via, "branch", &present), "z9hG4bKc1");
	ck_assert(present);
	ck_assert_ptr_null(sip_via_param(via, "received", &present));
	ck_assert(!present);
	ck_assert_str_eq(sip_via_param(via, "x-nat", NULL), "1");

	ck_assert_int_eq(sip_via_param_set(via, "x-nat", "2"), 0);
	ck_assert_int_eq(sip_via_param_set(via, "keep", NULL), 0);
	ck_assert_int_eq(sip_via_param_set(via, "rport", "5060"), 0);
	assert_via(req, 0, "SIP/2.0/UDP 192.168.1.5:5060;rport=5060;branch=z9hG4bKc1;x-nat=2;keep");
	osip_message_free(req);
}
END_TEST


/* ---- either family (issue 20) ---- */

/* A request whose top Via is `via`, received from `src`: the top Via as
 * written after the stamp, and where a response to it goes. */
static const struct {
	const char *via;
	const char *src;
	bool force_rport;
	const char *want_via;
	const char *want_target;
} stamps6[] = {
	/* RFC 5118: sent-by bracketed, received= bare (RFC 3261 25.1) */
	{ "Via: SIP/2.0/UDP [2001:db8::5]:5062;rport;branch=z9hG4bK61", "[2001:db8:ff::9]:40000", false,
	  "SIP/2.0/UDP [2001:db8::5]:5062;rport=40000;branch=z9hG4bK61;received=2001:db8:ff::9",
	  "[2001:db8:ff::9]:40000" },
	{ "Via: SIP/2.0/UDP [2001:db8::5]:5062;branch=z9hG4bK62", "[2001:db8:ff::9]:40000", false,
	  "SIP/2.0/UDP [2001:db8::5]:5062;branch=z9hG4bK62;received=2001:db8:ff::9",
	  "[2001:db8:ff::9]:5062" },
	/* the sent-by is the source, spelled otherwise: no received= */
	{ "Via: SIP/2.0/UDP [2001:DB8:0:0::5]:5062;branch=z9hG4bK63", "[2001:db8::5]:5062", false,
	  "SIP/2.0/UDP [2001:DB8:0:0::5]:5062;branch=z9hG4bK63", "[2001:db8::5]:5062" },
	{ "Via: SIP/2.0/UDP [2001:db8::5];branch=z9hG4bK64", "[2001:db8::5]:5060", false,
	  "SIP/2.0/UDP [2001:db8::5];branch=z9hG4bK64", "[2001:db8::5]:5060" },
	/* force_rport from IPv6 */
	{ "Via: SIP/2.0/UDP [2001:db8::5]:5062;branch=z9hG4bK65", "[2001:db8::5]:40000", true,
	  "SIP/2.0/UDP [2001:db8::5]:5062;branch=z9hG4bK65;received=2001:db8::5;rport=40000",
	  "[2001:db8::5]:40000" },
	/* a bracketed received= a client wrote is replaced by the bare form */
	{ "Via: SIP/2.0/UDP [2001:db8::5]:5062;received=[2001:db8::7];branch=z9hG4bK66",
	  "[2001:db8:ff::9]:40000", false,
	  "SIP/2.0/UDP [2001:db8::5]:5062;received=2001:db8:ff::9;branch=z9hG4bK66",
	  "[2001:db8:ff::9]:5062" },
	/* an IPv4 phone behind a NAT64/dual-stack socket shows v4-mapped: IPv4 */
	{ "Via: SIP/2.0/UDP 192.168.1.5:5062;rport;branch=z9hG4bK67", "[::ffff:198.51.100.5]:40000", false,
	  "SIP/2.0/UDP 192.168.1.5:5062;rport=40000;branch=z9hG4bK67;received=198.51.100.5",
	  "198.51.100.5:40000" },
	/* an IPv6 phone with an IPv4 sent-by, and the other way round */
	{ "Via: SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bK68", "[2001:db8::5]:40000", false,
	  "SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bK68;received=2001:db8::5", "[2001:db8::5]:5062" },
	{ "Via: SIP/2.0/UDP [fd00::5]:5062;rport;branch=z9hG4bK69", "198.51.100.5:40000", false,
	  "SIP/2.0/UDP [fd00::5]:5062;rport=40000;branch=z9hG4bK69;received=198.51.100.5",
	  "198.51.100.5:40000" },
	/* a name as sent-by: received= always */
	{ "Via: SIP/2.0/UDP phone.example:5062;branch=z9hG4bK70", "[2001:db8::5]:5062", false,
	  "SIP/2.0/UDP phone.example:5062;branch=z9hG4bK70;received=2001:db8::5", "[2001:db8::5]:5062" },
	/* IPv4 */
	{ "Via: SIP/2.0/UDP 192.168.1.5:5062;rport;branch=z9hG4bK71", "127.0.30.5:40000", false,
	  "SIP/2.0/UDP 192.168.1.5:5062;rport=40000;branch=z9hG4bK71;received=127.0.30.5",
	  "127.0.30.5:40000" },
	{ "Via: SIP/2.0/UDP 127.0.30.5:40000;branch=z9hG4bK72", "127.0.30.5:40000", false,
	  "SIP/2.0/UDP 127.0.30.5:40000;branch=z9hG4bK72", "127.0.30.5:40000" },
};

START_TEST(stamp_either_family)
{
	osip_message_t *req = request_with(stamps6[_i].via);
	struct netaddr src, to;
	char buf[NETADDR_TEXT_MAX];

	ck_assert(netaddr_parse(stamps6[_i].src, &src));
	ck_assert_int_eq(sip_via_stamp_received(req, &src, stamps6[_i].force_rport), 0);
	assert_via(req, 0, stamps6[_i].want_via);
	ck_assert(sip_via_response_target(req, &to));
	ck_assert_str_eq(netaddr_print(&to, buf), stamps6[_i].want_target);
	osip_message_free(req);
}
END_TEST

START_TEST(stamp_no_family_fails)
{
	osip_message_t *req = request_with("Via: SIP/2.0/UDP [2001:db8::5]:5062;branch=z9hG4bK80");
	struct netaddr none;

	memset(&none, 0, sizeof(none));
	ck_assert_int_eq(sip_via_stamp_received(req, &none, true), -1);
	assert_via(req, 0, "SIP/2.0/UDP [2001:db8::5]:5062;branch=z9hG4bK80");
	osip_message_free(req);
}
END_TEST

static Suite *sip_via_suite(void)
{
	Suite *s = suite_create("sip_via");
	TCase *tc;

	tc = tcase_create("stamp");
	tcase_add_test(tc, rport_present);
	tcase_add_loop_test(tc, quoted_values, 0, (int)(sizeof(quoted) / sizeof(quoted[0])));
	tcase_add_test(tc, rport_present_received_even_if_same);
	tcase_add_test(tc, rport_absent);
	tcase_add_test(tc, rport_absent_sent_by_is_source);
	tcase_add_test(tc, force_rport_without_rport);
	tcase_add_test(tc, force_rport_same_host);
	tcase_add_test(tc, client_received_and_rport_replaced);
	tcase_add_test(tc, client_received_replaced_without_rport);
	tcase_add_test(tc, client_received_replaced_sent_by_is_source);
	tcase_add_test(tc, hostname_sent_by_force_rport);
	tcase_add_test(tc, hostname_sent_by_no_rport);
	tcase_add_test(tc, compact_comma_separated_vias);
	tcase_add_test(tc, several_via_headers);
	tcase_add_test(tc, stamp_without_via_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("target");
	tcase_add_loop_test(tc, response_target, 0, sizeof(targets) / sizeof(targets[0]));
	tcase_add_test(tc, param_get_and_set);
	tcase_add_loop_test(tc, stamp_either_family, 0, sizeof(stamps6) / sizeof(stamps6[0]));
	tcase_add_test(tc, stamp_no_family_fails);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(sip_via_suite, sipmsg_global_init())
