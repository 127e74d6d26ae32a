/*
 * Unit tests for sip_forward.c: the rewrite-and-send end of the SIP path,
 * over a sip_env whose send is captured and whose addresses come from the
 * real advertise module (LAN 192.168.1.2, external 203.0.113.1). What
 * crosses between the LAN and the Internet is rewritten (Contact sealed,
 * the LAN's Vias folded into sipnatd's branch, SDP through the relay, LAN
 * hosts hidden on the wire); what stays on one side only gets sipnatd's Via.
 */
#include <check.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advertise.h"
#include "externaddr.h"
#include "media.h"
#include "netaddr.h"
#include "sip_branch.h"
#include "sip_contact.h"
#include "sip_forward.h"
#include "sip_reply.h"
#include "sip_samples.h"
#include "sipmsg.h"
#include "../support/unit_main.h"

static const char conf_text[] =
	"general: { bindaddr = \"127.0.0.1\"; localaddr = \"192.168.1.2\"; externip = \"203.0.113.1\";\n"
	"  localnet = [ \"192.168.1.0/24\" ]; pbx = \"192.168.1.10\"; };\n"
	"rtp: { rtpstart = 47200; rtpend = 47209; };\n";

static struct conf *conf;
static struct event_base *base;
static struct evdns_base *dns;
static struct externaddr *external;
static struct advertise *advertise;
static struct media *media;
static struct sip_env env;
static char *sent;
static size_t sent_len, sends;
static struct netaddr sent_to;

static void capture(void *arg, const char *buf, size_t len, const struct netaddr *dest)
{
	(void)arg;
	free(sent);
	sent = malloc(len + 1);
	ck_assert_ptr_nonnull(sent);
	memcpy(sent, buf, len);
	sent[len] = '\0';
	sent_len = len;
	sent_to = *dest;
	sends++;
}

static void setup(void)
{
	char err[CONF_ERR_MAX];

	conf = conf_load_string(conf_text, "forward.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	base = event_base_new();
	dns = evdns_base_new(base, 0);
	external = externaddr_new(base, dns, conf);
	advertise = advertise_new(base, conf, external);
	media = media_new(base, conf);
	ck_assert(base && dns && external && advertise && media);
	env = (struct sip_env){ .conf = conf, .advertise = advertise, .media = media, .send = capture };
	sent = NULL;
	sends = 0;
}

static void teardown(void)
{
	free(sent);
	media_free(media);
	advertise_free(advertise);
	evdns_base_free(dns, 0);
	externaddr_free(external);
	event_base_free(base);
	conf_free(conf);
}

static struct netaddr addr(const char *ip, uint16_t port)
{
	struct netaddr a;

	ck_assert_msg(netaddr_parse_ip(ip, &a), "%s", ip);
	a.port = port;
	return a;
}

static osip_message_t *parse(const char *text)
{
	osip_message_t *msg = NULL;
	const char *why;

	ck_assert_msg(text_parse(text, &msg, &why) == SIPMSG_OK, "%s", why);
	return msg;
}

#define PBX_SDP "v=0\r\no=- 1 1 IN IP4 192.168.1.10\r\ns=-\r\nc=IN IP4 192.168.1.10\r\nt=0 0\r\nm=audio 14000 RTP/AVP 0\r\n"
#define STR_LEN(s) (sizeof(s) - 1)

static const char pbx_invite[] =
	"INVITE sip:alice@10.0.0.5:5060 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.168.1.10:5060;rport=5060;branch=z9hG4bK-pbx1\r\n"
	"Via: SIP/2.0/UDP 192.168.1.77:5070;branch=z9hG4bK-lanphone\r\n"
	"Max-Forwards: 70\r\n"
	"From: <sip:100@192.168.1.10>;tag=p1\r\n"
	"To: <sip:alice@192.168.1.2>\r\n"
	"Call-ID: fwd1@192.168.1.10\r\n"
	"CSeq: 1 INVITE\r\n"
	"Contact: <sip:100@192.168.1.10:5060>\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 94\r\n\r\n" PBX_SDP;
_Static_assert(STR_LEN(PBX_SDP) == 94, "Content-Length of pbx_invite");

/* From the PBX to a phone on the Internet: nothing of the LAN on the wire. */
START_TEST(lan_to_internet_request)
{
	osip_message_t *req = parse(pbx_invite);
	struct forward_source src = { .addr = addr("192.168.1.10", 5060), .local = true };
	struct netaddr phone = addr("203.0.113.5", 40000);

	ck_assert_int_eq(sip_forward_request(&env, req, &src, &phone), FORWARD_SENT);
	ck_assert_uint_eq(sends, 1);
	ck_assert(netaddr_same(&sent_to, &phone));
	ck_assert_msg(strstr(sent, "192.168.1.") == NULL, "LAN address on the wire:\n%s", sent);
	ck_assert_ptr_nonnull(strstr(sent, "Via: SIP/2.0/UDP 203.0.113.1:5060;rport;branch=z9hG4bK"));
	ck_assert_ptr_nonnull(strstr(sent, "Max-Forwards: 69\r\n"));
	ck_assert_ptr_nonnull(strstr(sent, "Contact: <sip:100@203.0.113.1:5060;snt="));
	ck_assert_ptr_nonnull(strstr(sent, "c=IN IP4 203.0.113.1\r\n"));
	ck_assert_uint_eq(media_sessions(media), 1);

	/* one Via on the wire; the phone's answer gets the PBX's two back */
	osip_message_t *wire = parse(sent), *resp = sip_reply_build(wire, 180, NULL);
	ck_assert_int_eq(osip_list_size(&wire->vias), 1);
	ck_assert(sip_branch_pop_ours(resp));
	ck_assert_int_eq(osip_list_size(&resp->vias), 2);
	osip_message_free(resp);
	osip_message_free(wire);
	osip_message_free(req);
}
END_TEST

/* From the Internet to the PBX: the phone's Contact sealed behind
 * sipnatd's LAN address, its Via kept below sipnatd's. */
START_TEST(internet_to_lan_request)
{
	static const char text[] = "MESSAGE sip:100@192.168.1.10 SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 10.0.0.5:5060;received=203.0.113.5;rport=40000;branch=z9hG4bK-ph\r\n"
				   "Max-Forwards: 70\r\nFrom: <sip:alice@203.0.113.1>;tag=a1\r\n"
				   "To: <sip:100@203.0.113.1>\r\nCall-ID: m1\r\nCSeq: 1 MESSAGE\r\n"
				   "Contact: <sip:alice@10.0.0.5:5060>\r\nContent-Length: 0\r\n\r\n";
	osip_message_t *req = parse(text);
	struct forward_source src = { .addr = addr("203.0.113.5", 40000), .local = false };
	struct netaddr pbx = addr("192.168.1.10", 5060);

	ck_assert_int_eq(sip_forward_request(&env, req, &src, &pbx), FORWARD_SENT);
	ck_assert_ptr_nonnull(strstr(sent, "Via: SIP/2.0/UDP 192.168.1.2:5060;rport;branch=z9hG4bK"));
	ck_assert_ptr_nonnull(strstr(sent, "received=203.0.113.5;rport=40000"));
	ck_assert_ptr_nonnull(strstr(sent, "Contact: <sip:alice@192.168.1.2:5060;snt="));
	ck_assert_ptr_null(strstr(sent, "10.0.0.5:5060>"));
	osip_message_free(req);
}
END_TEST

/* Issue 20: the same crossing for a phone of each family. Toward the phone
 * sipnatd names itself in the phone's family only (Via, Contact, SDP, the
 * hidden From/To); toward the IPv4 PBX in IPv4 only, with the phone's
 * address of either family sealed in the Contact's token. */
static const struct {
	const char *phone, *own, *own_host, *sdp_c;
} family_cases[] = {
	{ "203.0.113.5", "203.0.113.1", "203.0.113.1", "c=IN IP4 203.0.113.1\r\n" },
	{ "2001:db8:5::5", "2001:db8:1::1", "[2001:db8:1::1]", "c=IN IP6 2001:db8:1::1\r\n" },
};

START_TEST(crossing_each_family)
{
	char err[CONF_ERR_MAX], want[256];
	struct conf *c6 = conf_load_string(
		"general: { bindaddr = \"127.0.0.1\"; localaddr = \"192.168.1.2\";\n"
		"  externip = \"203.0.113.1, 2001:db8:1::1\";\n"
		"  localnet = [ \"192.168.1.0/24\" ]; pbx = \"192.168.1.10\"; };\n"
		"rtp: { rtpstart = 47210; rtpend = 47219; };\n", "forward6.conf", err);
	ck_assert_msg(c6 != NULL, "%s", err);
	struct externaddr *ext6 = externaddr_new(base, dns, c6);
	struct advertise *adv6 = advertise_new(base, c6, ext6);
	struct netaddr b4 = addr("127.0.0.1", 0), b6 = addr("::1", 0);
	struct media *m6 = media_new_bind(base, c6, &b4, &b6);
	ck_assert(ext6 && adv6 && m6);
	struct sip_env e6 = { .conf = c6, .advertise = adv6, .media = m6, .send = capture };
	struct netaddr phone = addr(family_cases[_i].phone, 40000), pbx = addr("192.168.1.10", 5060);
	struct forward_source from_pbx = { .addr = pbx, .local = true };
	osip_message_t *req = parse(pbx_invite);

	/* out to the phone */
	ck_assert_int_eq(sip_forward_request(&e6, req, &from_pbx, &phone), FORWARD_SENT);
	ck_assert(netaddr_same(&sent_to, &phone));
	ck_assert_msg(strstr(sent, "192.168.1.") == NULL, "LAN address on the wire:\n%s", sent);
	snprintf(want, sizeof(want), "Via: SIP/2.0/UDP %s:5060;rport;branch=z9hG4bK", family_cases[_i].own_host);
	ck_assert_msg(strstr(sent, want) != NULL, "no %s in\n%s", want, sent);
	snprintf(want, sizeof(want), "Contact: <sip:100@%s:5060;snt=", family_cases[_i].own_host);
	ck_assert_msg(strstr(sent, want) != NULL, "no %s in\n%s", want, sent);
	snprintf(want, sizeof(want), "From: <sip:100@%s>;tag=p1", family_cases[_i].own_host);
	ck_assert_msg(strstr(sent, want) != NULL, "no %s in\n%s", want, sent);
	ck_assert_msg(strstr(sent, family_cases[_i].sdp_c) != NULL, "no %s in\n%s", family_cases[_i].sdp_c, sent);
	ck_assert_ptr_null(strstr(sent, phone.family == AF_INET6 ? "IN IP4" : "IN IP6"));
	osip_message_free(req);

	/* in from the phone to the PBX: IPv4 only, the phone's address sealed */
	char text[1024], host[NETADDR_HOST_MAX];
	netaddr_sip_host(&phone, host);
	snprintf(text, sizeof(text),
		 "MESSAGE sip:100@192.168.1.10 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP %s:40000;rport=40000;branch=z9hG4bK-ph6\r\n"
		 "Max-Forwards: 70\r\nFrom: <sip:alice@%s>;tag=a1\r\n"
		 "To: <sip:100@%s>\r\nCall-ID: m6\r\nCSeq: 1 MESSAGE\r\n"
		 "Contact: <sip:alice@%s:40000>\r\nContent-Length: 0\r\n\r\n",
		 host, family_cases[_i].own_host, family_cases[_i].own_host, host);
	req = parse(text);
	struct forward_source from_phone = { .addr = phone, .local = false };
	ck_assert_int_eq(sip_forward_request(&e6, req, &from_phone, &pbx), FORWARD_SENT);
	ck_assert_ptr_nonnull(strstr(sent, "Via: SIP/2.0/UDP 192.168.1.2:5060;rport;branch=z9hG4bK"));
	ck_assert_ptr_nonnull(strstr(sent, "Contact: <sip:alice@192.168.1.2:5060;snt="));
	osip_message_t *wire = parse(sent);
	osip_contact_t *ct = osip_list_get(&wire->contacts, 0);
	struct contact_target target;
	ck_assert(sip_contact_token_decode(ct->url, &target));
	ck_assert(target.has_nat && netaddr_same(&target.nat, &phone));
	osip_message_free(wire);
	osip_message_free(req);
	media_free(m6);
	advertise_free(adv6);
	externaddr_free(ext6);
	conf_free(c6);
}
END_TEST

/* LAN to LAN: sipnatd's Via only, the Contact and the Vias as they were. */
START_TEST(lan_to_lan_request)
{
	osip_message_t *req = parse(pbx_invite);
	struct forward_source src = { .addr = addr("192.168.1.10", 5060), .local = true };
	struct netaddr lan = addr("192.168.1.77", 5070);

	ck_assert_int_eq(sip_forward_request(&env, req, &src, &lan), FORWARD_SENT);
	ck_assert_ptr_nonnull(strstr(sent, "Via: SIP/2.0/UDP 192.168.1.2:5060;rport;branch=z9hG4bK"));
	ck_assert_ptr_nonnull(strstr(sent, "branch=z9hG4bK-pbx1"));
	ck_assert_ptr_nonnull(strstr(sent, "Contact: <sip:100@192.168.1.10:5060>"));
	ck_assert_ptr_nonnull(strstr(sent, "c=IN IP4 192.168.1.10\r\n")); /* no relay */
	ck_assert_uint_eq(media_sessions(media), 0);
	osip_message_free(req);
}
END_TEST

/* Without an external address nothing can be said toward the Internet. */
START_TEST(no_external_address)
{
	struct advertise *lan_only = advertise_new(base, conf, NULL);
	osip_message_t *req = parse(pbx_invite);
	struct forward_source src = { .addr = addr("192.168.1.10", 5060), .local = true };
	struct netaddr phone = addr("203.0.113.5", 40000);

	env.advertise = lan_only;
	ck_assert_int_eq(sip_forward_request(&env, req, &src, &phone), FORWARD_NO_ADDRESS);
	ck_assert_uint_eq(sends, 0);
	ck_assert_uint_eq(media_sessions(media), 0); /* nothing allocated */
	env.advertise = advertise;
	advertise_free(lan_only);
	osip_message_free(req);
}
END_TEST

START_TEST(unrelayable_sdp_is_refused_before_sending)
{
	static const char text[] = "INVITE sip:alice@10.0.0.5 SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 192.168.1.10:5060;branch=z9hG4bK-bad\r\n"
				   "Max-Forwards: 70\r\nFrom: <sip:100@192.168.1.10>;tag=b1\r\n"
				   "To: <sip:alice@192.168.1.2>\r\nCall-ID: bad1\r\nCSeq: 1 INVITE\r\n"
				   "Content-Type: application/sdp\r\nContent-Length: 9\r\n\r\nnot sdp\r\n";
	osip_message_t *req = parse(text);
	struct forward_source src = { .addr = addr("192.168.1.10", 5060), .local = true };
	struct netaddr phone = addr("203.0.113.5", 40000);

	ck_assert_int_eq(sip_forward_request(&env, req, &src, &phone), FORWARD_BAD_SDP);
	ck_assert_uint_eq(sends, 0);
	osip_message_free(req);
}
END_TEST

/* A response goes where its (new) top Via says. */
START_TEST(response_to_the_via)
{
	static const char text[] = "SIP/2.0 200 OK\r\n"
				   "Via: SIP/2.0/UDP 10.0.0.5:5060;received=203.0.113.5;rport=40000;branch=z9hG4bK-ph\r\n"
				   "From: <sip:alice@203.0.113.1>;tag=a1\r\nTo: <sip:100@203.0.113.1>;tag=p2\r\n"
				   "Call-ID: r1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
	static const char no_via[] = "SIP/2.0 200 OK\r\n"
				     "Via: SIP/2.0/UDP ;branch=z9hG4bK-x\r\n"
				     "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\n"
				     "Call-ID: r2\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
	osip_message_t *resp = parse(text);
	struct forward_source src = { .addr = addr("192.168.1.10", 5060), .local = true };

	ck_assert_int_eq(sip_forward_response(&env, resp, &src), FORWARD_SENT);
	ck_assert_str_eq(netaddr_print(&sent_to, (char[NETADDR_TEXT_MAX]){ 0 }), "203.0.113.5:40000");
	osip_message_free(resp);

	osip_message_t *bad = NULL;
	const char *why;
	if (text_parse(no_via, &bad, &why) == SIPMSG_OK) {
		ck_assert_int_eq(sip_forward_response(&env, bad, &src), FORWARD_FAILED);
		ck_assert_uint_eq(sends, 1);
	}
	if (bad)
		osip_message_free(bad);
}
END_TEST

/* Toward the Internet the LAN's hosts are hidden on the wire only: the
 * message as the rest of the path sees it is unchanged afterwards. */
START_TEST(send_hides_on_the_wire_only)
{
	static const char text[] = "SIP/2.0 180 Ringing\r\n"
				   "Via: SIP/2.0/UDP 10.0.0.5:5060;received=203.0.113.5;rport=40000;branch=z9hG4bK-h\r\n"
				   "From: <sip:alice@203.0.113.1>;tag=a1\r\nTo: <sip:alice@192.168.1.2>;tag=p3\r\n"
				   "Call-ID: h1@192.168.1.10:5060\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	osip_message_t *msg = parse(text);
	struct netaddr phone = addr("203.0.113.5", 40000);

	sip_forward_send(&env, msg, &phone);
	ck_assert_ptr_null(strstr(sent, "192.168.1."));
	ck_assert_str_eq(msg->to->url->host, "192.168.1.2");
	ck_assert_str_eq(msg->call_id->host, "192.168.1.10:5060");
	osip_message_free(msg);
}
END_TEST

static const struct {
	const char *header; /* NULL: none */
	int value;          /* sip_forward_max_forwards */
} max_forwards[] = {
	{ NULL, 70 }, { "70", 70 }, { "0", 0 }, { "255", 255 }, { "256", -1 },
	{ "abc", -1 }, { "7a", -1 }, { "-1", -1 }, { "", -1 },
};

START_TEST(max_forwards_values)
{
	char text[512];
	const char *h = max_forwards[_i].header;

	snprintf(text, sizeof(text),
		 "OPTIONS sip:x@192.168.1.10 SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.10;branch=z9hG4bK-mf\r\n"
		 "%s%s%sFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: mf\r\nCSeq: 1 OPTIONS\r\n"
		 "Content-Length: 0\r\n\r\n",
		 h ? "Max-Forwards: " : "", h ? h : "", h ? "\r\n" : "");
	osip_message_t *req = NULL;
	const char *why;
	if (text_parse(text, &req, &why) != SIPMSG_OK) {
		/* libosip2 may refuse an empty header: nothing to judge */
		ck_assert(h && !*h);
		if (req)
			osip_message_free(req);
		return;
	}
	ck_assert_int_eq(sip_forward_max_forwards(req), max_forwards[_i].value);
	if (!h) {
		/* an absent one is added, so the next hop counts from there */
		osip_header_t *mf = NULL;
		ck_assert_int_ge(osip_message_get_max_forwards(req, 0, &mf), 0);
		ck_assert_str_eq(mf->hvalue, "70");
	}
	osip_message_free(req);
}
END_TEST

static Suite *forward_suite(void)
{
	Suite *s = suite_create("sip_forward");
	TCase *tc = tcase_create("forward");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lan_to_internet_request);
	tcase_add_test(tc, internet_to_lan_request);
	tcase_add_test(tc, lan_to_lan_request);
	tcase_add_loop_test(tc, crossing_each_family, 0, (int)(sizeof(family_cases) / sizeof(family_cases[0])));
	tcase_add_test(tc, no_external_address);
	tcase_add_test(tc, unrelayable_sdp_is_refused_before_sending);
	tcase_add_test(tc, response_to_the_via);
	tcase_add_test(tc, send_hides_on_the_wire_only);
	tcase_add_loop_test(tc, max_forwards_values, 0, (int)(sizeof(max_forwards) / sizeof(max_forwards[0])));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(forward_suite, sipmsg_global_init())
