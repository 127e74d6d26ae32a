/*
 * Unit tests for natdetect.c (issue 10): when a remote party is evidently
 * behind NAT (its source differs from its Via sent-by or Contact, or its SDP
 * names a private address or another IP than the source), what nat = "auto"
 * does with rport, and which peer settings cannot work behind NAT. Phones:
 * one behind a NAT at 203.0.113.50 (LAN 198.51.100.5 or 192.168.1.5), one
 * public at 192.0.2.30 that tells the truth.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natdetect.h"
#include "netaddr.h"
#include "sip_samples.h"
#include "sipmsg.h"
#include "../support/unit_main.h"

static struct netaddr na(const char *text)
{
	struct netaddr a;

	ck_assert_msg(netaddr_parse(text, &a), "%s", text);
	return a;
}

static struct netaddr sa(const char *text, uint16_t port)
{
	struct netaddr a = na(text);

	a.port = port;
	return a;
}

/* ---- private addresses ---- */

static const struct {
	const char *addr;
	bool private;
} addrs[] = {
	{ "10.0.0.1", true },       { "10.255.255.255", true }, { "172.16.0.1", true },
	{ "172.31.255.254", true }, { "172.15.255.255", false }, { "172.32.0.1", false },
	{ "192.168.1.5", true },    { "192.169.0.1", false },   { "100.64.0.1", true },
	{ "100.127.255.254", true }, { "100.63.255.255", false }, { "100.128.0.1", false },
	{ "169.254.10.20", true },  { "127.0.0.1", true },      { "0.0.0.1", true },
	{ "192.0.0.2", true },      { "224.0.0.1", true },      { "255.255.255.255", true },
	/* the documentation nets stand for the Internet in tests and examples */
	{ "192.0.2.30", false },    { "198.51.100.5", false },  { "203.0.113.50", false },
	{ "8.8.8.8", false },       { "1.1.1.1", false },
	/* IPv6 */
	{ "fd00::1", true },         { "fc00::1", true },          { "fdff:ffff::1", true },
	{ "fe80::1", true },         { "febf:ffff::1", true },     { "fec0::1", true },
	{ "feff::1", true },         { "ff02::1", true },          { "::1", true },
	{ "::", true },              { "fb00::1", false },         { "fe00::1", false },
	{ "2001:db8::5", false },    { "2a00:1450::1", false },    { "2001:db8:ffff::1", false },
	{ "::2", false },
	/* v4-mapped is judged as the IPv4 address */
	{ "::ffff:192.168.1.5", true }, { "::ffff:198.51.100.5", false },
};

START_TEST(private_or_not)
{
	struct netaddr a = na(addrs[_i].addr);

	ck_assert_msg(natdetect_is_private(&a) == addrs[_i].private, "%s", addrs[_i].addr);
}
END_TEST

/* ---- one claim against the source ---- */

START_TEST(claim_compares_host_and_port)
{
	struct netaddr src = sa("203.0.113.50", 40312);
	struct netaddr plain = sa("192.0.2.30", 5060);
	struct netaddr src6 = sa("2001:db8::50", 40312);

	ck_assert_uint_eq(natdetect_claim(&src, "198.51.100.5", "5060", 1), 1);
	ck_assert_uint_eq(natdetect_claim(&src, "203.0.113.50", "5060", 1), 1);  /* port only */
	ck_assert_uint_eq(natdetect_claim(&src, "203.0.113.50", "40312", 1), 0);
	ck_assert_uint_eq(natdetect_claim(&plain, "192.0.2.30", NULL, 4), 0);   /* default 5060 */
	ck_assert_uint_eq(natdetect_claim(&plain, "192.0.2.30", "", 4), 0);
	ck_assert_uint_eq(natdetect_claim(&src, "203.0.113.50", NULL, 2), 2);
	ck_assert_uint_eq(natdetect_claim(&src, "203.0.113.50", "0", 2), 2);    /* not a port */
	ck_assert_uint_eq(natdetect_claim(&src, "203.0.113.50", "x1", 2), 2);
	/* a name cannot be checked without DNS: no evidence either way */
	ck_assert_uint_eq(natdetect_claim(&src, "phone.example.net", "5060", 1), 0);
	ck_assert_uint_eq(natdetect_claim(&src, NULL, NULL, 1), 0);
	/* IPv6, bracketed or bare as libosip2 keeps it; never the other family */
	ck_assert_uint_eq(natdetect_claim(&src6, "[2001:db8::50]", "40312", 1), 0);
	ck_assert_uint_eq(natdetect_claim(&src6, "2001:db8:0::50", "40312", 1), 0);
	ck_assert_uint_eq(natdetect_claim(&src6, "[2001:db8::50]", NULL, 1), 1);
	ck_assert_uint_eq(natdetect_claim(&src6, "203.0.113.50", "40312", 1), 1);
	ck_assert_uint_eq(natdetect_claim(&src, "[2001:db8::50]", "40312", 1), 1);
}
END_TEST

static unsigned sdp_from(const char *sdp_addr, const char *src)
{
	struct netaddr a = na(sdp_addr), b = na(src);

	return natdetect_sdp(&a, &b);
}

START_TEST(sdp_address)
{
	const char *src = "203.0.113.50";

	ck_assert_uint_eq(sdp_from("192.168.1.5", src), NATDETECT_SDP_PRIVATE);
	ck_assert_uint_eq(sdp_from("100.72.1.9", src), NATDETECT_SDP_PRIVATE);
	ck_assert_uint_eq(sdp_from("169.254.3.3", src), NATDETECT_SDP_PRIVATE);
	/* public, but not where the signalling came from */
	ck_assert_uint_eq(sdp_from("198.51.100.5", src), NATDETECT_SDP_OTHER);
	ck_assert_uint_eq(sdp_from("203.0.113.50", src), 0);
	/* a private address that is the source: reached directly, no NAT */
	ck_assert_uint_eq(sdp_from("10.1.2.3", "10.1.2.3"), 0);
	ck_assert_uint_eq(sdp_from("127.0.2.5", "127.0.2.5"), 0);
	ck_assert_uint_eq(sdp_from("127.0.2.6", "127.0.2.5"), NATDETECT_SDP_PRIVATE);
	/* hold names no address */
	ck_assert_uint_eq(sdp_from("0.0.0.0", src), 0);
}
END_TEST

/* ---- whole messages ---- */

static osip_message_t *parse(const char *text)
{
	osip_message_t *msg = NULL;
	const char *why = NULL;
	enum sipmsg_status st = text_parse(text, &msg, &why);

	ck_assert_msg(st == SIPMSG_OK, "%s: %s", sipmsg_status_name(st), why);
	return msg;
}

static osip_message_t *invite(const char *via_sent_by, const char *contact_hostport)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "INVITE sip:100@203.0.113.1 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP %s;branch=z9hG4bK776asdhds;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@203.0.113.1>;tag=1928301774\r\n"
		 "To: <sip:100@203.0.113.1>\r\n"
		 "Call-ID: a84b4c76e66710@pc33\r\n"
		 "CSeq: 1 INVITE\r\n"
		 "Contact: <sip:alice@%s>\r\n"
		 "Content-Length: 0\r\n\r\n",
		 via_sent_by, contact_hostport);
	return parse(text);
}

START_TEST(request_behind_nat)
{
	struct netaddr src = sa("203.0.113.50", 40312);
	osip_message_t *msg = invite("198.51.100.5:5060", "198.51.100.5:5060");

	ck_assert_uint_eq(natdetect_signalling(msg, &src), NATDETECT_VIA | NATDETECT_CONTACT);
	osip_message_free(msg);
	/* a port-preserving NAT: only the address gives it away */
	src = sa("203.0.113.50", 5060);
	msg = invite("192.168.1.5", "192.168.1.5");
	ck_assert_uint_eq(natdetect_signalling(msg, &src), NATDETECT_VIA | NATDETECT_CONTACT);
	osip_message_free(msg);
	/* a phone that learnt its public address (STUN) but not its port */
	src = sa("203.0.113.50", 61000);
	msg = invite("203.0.113.50:5060", "203.0.113.50:5060");
	ck_assert_uint_eq(natdetect_signalling(msg, &src), NATDETECT_VIA | NATDETECT_CONTACT);
	osip_message_free(msg);
}
END_TEST

START_TEST(request_public_truthful)
{
	struct netaddr src = sa("192.0.2.30", 5060);
	osip_message_t *msg = invite("192.0.2.30:5060", "192.0.2.30");

	ck_assert_uint_eq(natdetect_signalling(msg, &src), 0);
	osip_message_free(msg);
	/* names are not evidence */
	msg = invite("phone.example.net", "alice.example.net:5070");
	ck_assert_uint_eq(natdetect_signalling(msg, &src), 0);
	osip_message_free(msg);
}
END_TEST

START_TEST(response_uses_contact_only)
{
	struct netaddr src = sa("203.0.113.50", 40312);
	/* the top Via of a response is a hop of sipnatd's, not the phone's */
	osip_message_t *msg = parse("SIP/2.0 200 OK\r\n"
				    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx;rport=5060\r\n"
				    "From: <sip:200@203.0.113.1>;tag=p1\r\n"
				    "To: <sip:alice@203.0.113.1>;tag=ph1\r\n"
				    "Call-ID: pbx-calls-alice\r\n"
				    "CSeq: 1 INVITE\r\n"
				    "Contact: <sip:alice@198.51.100.5:5060>\r\n"
				    "Content-Length: 0\r\n\r\n");

	ck_assert_uint_eq(natdetect_signalling(msg, &src), NATDETECT_CONTACT);
	osip_message_free(msg);
	/* no Contact at all (a 180 may have none): no evidence */
	msg = parse("SIP/2.0 180 Ringing\r\n"
		    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx\r\n"
		    "From: <sip:200@203.0.113.1>;tag=p1\r\n"
		    "To: <sip:alice@203.0.113.1>;tag=ph1\r\n"
		    "Call-ID: pbx-calls-alice\r\n"
		    "CSeq: 1 INVITE\r\n"
		    "Content-Length: 0\r\n\r\n");
	ck_assert_uint_eq(natdetect_signalling(msg, &src), 0);
	osip_message_free(msg);
}
END_TEST

START_TEST(describe_reasons)
{
	char buf[160], tiny[12];

	ck_assert_str_eq(natdetect_describe(0, buf, sizeof(buf)), "none");
	ck_assert_str_eq(natdetect_describe(NATDETECT_VIA | NATDETECT_SDP_PRIVATE, buf, sizeof(buf)),
			 "Via sent-by is not the source, SDP address is private");
	natdetect_describe(NATDETECT_VIA | NATDETECT_CONTACT | NATDETECT_SDP_OTHER, tiny, sizeof(tiny));
	ck_assert_uint_lt(strlen(tiny), sizeof(tiny));
}
END_TEST

/* ---- nat = "auto" and rport ---- */

START_TEST(force_rport_by_nat)
{
	struct netaddr src = sa("203.0.113.50", 40312);
	struct netaddr plain = sa("192.0.2.30", 5060);

	ck_assert(natdetect_force_rport(CONF_NAT_FORCE_RPORT, &plain, "192.0.2.30", "5060"));
	ck_assert(natdetect_force_rport(CONF_NAT_FORCE_RPORT | CONF_NAT_COMEDIA, &plain, "192.0.2.30", NULL));
	ck_assert(!natdetect_force_rport(0, &src, "198.51.100.5", "5060"));
	ck_assert(!natdetect_force_rport(CONF_NAT_COMEDIA, &src, "198.51.100.5", "5060"));
	/* auto: only where the sent-by is not the source */
	ck_assert(natdetect_force_rport(CONF_NAT_AUTO, &src, "198.51.100.5", "5060"));
	ck_assert(natdetect_force_rport(CONF_NAT_AUTO, &src, "203.0.113.50", "5060"));
	ck_assert(!natdetect_force_rport(CONF_NAT_AUTO, &src, "203.0.113.50", "40312"));
	ck_assert(!natdetect_force_rport(CONF_NAT_AUTO, &plain, "192.0.2.30", NULL));
	ck_assert(natdetect_force_rport(CONF_NAT_AUTO, &plain, "phone.example.net", NULL));
}
END_TEST

/* ---- what sipnatd -t warns about ---- */

START_TEST(peer_warnings)
{
	struct conf_peer peer = { .name = (char *)"alice", .nat = CONF_NAT_FORCE_RPORT };
	char why[320];

	/* the recipe's settings and every value with rport work */
	ck_assert(!natdetect_peer_warning(&peer, why, sizeof(why)));
	peer.nat = CONF_NAT_AUTO;
	ck_assert(!natdetect_peer_warning(&peer, why, sizeof(why)));
	peer.nat = CONF_NAT_FORCE_RPORT | CONF_NAT_COMEDIA;
	ck_assert(!natdetect_peer_warning(&peer, why, sizeof(why)));
	peer.nat = 0;
	ck_assert(natdetect_peer_warning(&peer, why, sizeof(why)));
	ck_assert_msg(strstr(why, "private Contact"), "%s", why);
	peer.nat = CONF_NAT_COMEDIA;
	ck_assert(natdetect_peer_warning(&peer, why, sizeof(why)));
	peer.nat = CONF_NAT_FORCE_RPORT;
	peer.directmedia = true;
	ck_assert(natdetect_peer_warning(&peer, why, sizeof(why)));
	ck_assert_msg(strstr(why, "directmedia = true"), "%s", why);
	/* a trunk with nat = "no" and its own media anchor is a normal setup */
	peer.host = (char *)"sip.provider.example";
	peer.nat = 0;
	ck_assert(!natdetect_peer_warning(&peer, why, sizeof(why)));
}
END_TEST

/* ---- either family (issue 20) ---- */

/* An SDP address against the signalling source. */
static const struct {
	const char *sdp, *src;
	unsigned want;
} sdp6[] = {
	{ "fd00::5", "2001:db8::50", NATDETECT_SDP_PRIVATE },
	{ "fe80::5", "2001:db8::50", NATDETECT_SDP_PRIVATE },
	{ "2001:db8::51", "2001:db8::50", NATDETECT_SDP_OTHER },
	{ "2001:DB8:0::50", "2001:db8::50", 0 },
	{ "fd00::5", "fd00::5", 0 },
	{ "::", "2001:db8::50", 0 },
	{ "0.0.0.0", "2001:db8::50", 0 },
	/* an IPv6 phone advertising IPv4 media, and the other way round */
	{ "192.168.1.5", "2001:db8::50", NATDETECT_SDP_PRIVATE },
	{ "198.51.100.5", "2001:db8::50", NATDETECT_SDP_OTHER },
	{ "fd00::5", "203.0.113.50", NATDETECT_SDP_PRIVATE },
	{ "::ffff:203.0.113.50", "203.0.113.50", 0 },
	{ "192.168.1.5", "203.0.113.50", NATDETECT_SDP_PRIVATE },
};

START_TEST(sdp_either_family)
{
	ck_assert_msg(sdp_from(sdp6[_i].sdp, sdp6[_i].src) == sdp6[_i].want, "%s from %s",
		      sdp6[_i].sdp, sdp6[_i].src);
}
END_TEST

/* Via sent-by and Contact of a request against its source. */
static const struct {
	const char *via, *contact, *src;
	unsigned want;
	bool force_auto; /* natdetect_force_rport for nat = "auto" */
} claims6[] = {
	{ "[2001:db8::5]:5060", "[2001:db8::5]:5060", "[2001:db8::5]:5060", 0, false },
	{ "[2001:DB8::0:5]", "[2001:db8:0::5]", "[2001:db8::5]:5060", 0, false },
	{ "[2001:db8::5]:5060", "[2001:db8::5]:5060", "[2001:db8::5]:40000",
	  NATDETECT_VIA | NATDETECT_CONTACT, true },
	{ "[fd00::5]:5060", "[fd00::5]:5060", "[2001:db8::5]:5060", NATDETECT_VIA | NATDETECT_CONTACT,
	  true },
	{ "[2001:db8::5]:5060", "phone.example:5060", "[2001:db8::5]:5060", 0, false },
	{ "phone.example", "[2001:db8::5]:5060", "[2001:db8::5]:5060", 0, true },
	/* an IPv6 phone whose headers still say IPv4, and the other way round */
	{ "192.168.1.5:5060", "192.168.1.5:5060", "[2001:db8::5]:5060", NATDETECT_VIA | NATDETECT_CONTACT,
	  true },
	{ "[2001:db8::5]:5060", "[2001:db8::5]:5060", "203.0.113.50:5060",
	  NATDETECT_VIA | NATDETECT_CONTACT, true },
	{ "203.0.113.50:5060", "203.0.113.50:5060", "203.0.113.50:5060", 0, false },
};

START_TEST(signalling_either_family)
{
	osip_message_t *msg = invite(claims6[_i].via, claims6[_i].contact);
	struct netaddr src = na(claims6[_i].src);
	const osip_via_t *via = osip_list_get(&msg->vias, 0);

	ck_assert_uint_eq(natdetect_signalling(msg, &src), claims6[_i].want);
	ck_assert_int_eq(natdetect_force_rport(CONF_NAT_AUTO, &src, via->host, via->port),
			 claims6[_i].force_auto);
	ck_assert(natdetect_force_rport(CONF_NAT_FORCE_RPORT, &src, via->host, via->port));
	ck_assert(!natdetect_force_rport(CONF_NAT_COMEDIA, &src, via->host, via->port));
	osip_message_free(msg);
}
END_TEST

static Suite *natdetect_suite(void)
{
	Suite *s = suite_create("natdetect");
	TCase *tc = tcase_create("natdetect");

	tcase_add_loop_test(tc, private_or_not, 0, sizeof(addrs) / sizeof(addrs[0]));
	tcase_add_test(tc, claim_compares_host_and_port);
	tcase_add_test(tc, sdp_address);
	tcase_add_test(tc, request_behind_nat);
	tcase_add_test(tc, request_public_truthful);
	tcase_add_test(tc, response_uses_contact_only);
	tcase_add_test(tc, describe_reasons);
	tcase_add_test(tc, force_rport_by_nat);
	tcase_add_test(tc, peer_warnings);
	tcase_add_loop_test(tc, sdp_either_family, 0, sizeof(sdp6) / sizeof(sdp6[0]));
	tcase_add_loop_test(tc, signalling_either_family, 0, sizeof(claims6) / sizeof(claims6[0]));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(natdetect_suite, sipmsg_global_init())
