/*
 * Unit tests for sip_dispatch.c: the daemon's SIP path, run in process over
 * the stand-ins of tests/support/sip_path.c (captured sends, a resolver that
 * answers when told, a fixed clock) and the real modules behind it. What a
 * message leads to is asserted on what is sent and on the dispatcher's
 * counters, the way an admin sees it in `sipnatctl stats`.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bans.h"
#include "media.h"
#include "registrar.h"
#include "netaddr.h"
#include "sip_dispatch.h"
#include "sip_path.h"
#include "sip_reply.h"
#include "sipmsg.h"
#include "../support/unit_main.h"

static struct sip_path *path;

static void setup(void)
{
	path = sip_path_new();
	ck_assert_ptr_nonnull(path);
}

static void teardown(void)
{
	sip_path_free(path);
	path = NULL;
}

static const struct sip_counters *counters(void)
{
	return sip_dispatch_counters(sip_path_dispatch(path));
}

static bool sent_contains(const struct sip_path_result *r, const char *text)
{
	size_t n = strlen(text);

	for (size_t i = 0; r->out && i + n <= r->out_len; i++)
		if (memcmp(r->out + i, text, n) == 0)
			return true;
	return false;
}

static const char sdp_pbx[] = "v=0\r\no=- 1 1 IN IP4 192.168.1.10\r\ns=-\r\n"
			      "c=IN IP4 192.168.1.10\r\nt=0 0\r\nm=audio 14000 RTP/AVP 0\r\n";

/* A request as text: first line target, top Via from via_host, extra
 * headers (a Max-Forwards there replaces the usual 70), and an SDP body when
 * sdp is not NULL. */
static char *request(const char *method, const char *ruri, const char *via_host, const char *to_tag,
		     const char *extra, const char *sdp)
{
	char *text = malloc(4096);

	ck_assert_ptr_nonnull(text);
	snprintf(text, 4096,
		 "%s %s SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK-%s-1\r\n"
		 "%s"
		 "From: <sip:100@example.net>;tag=f1\r\n"
		 "To: <sip:200@example.net>%s%s\r\n"
		 "Call-ID: disp-%s@example.net\r\n"
		 "CSeq: 1 %s\r\n"
		 "Contact: <sip:100@%s>\r\n"
		 "%s"
		 "%s"
		 "Content-Length: %zu\r\n"
		 "\r\n%s",
		 method, ruri, via_host, method,
		 extra && strncmp(extra, "Max-Forwards", 12) == 0 ? "" : "Max-Forwards: 70\r\n",
		 to_tag ? ";tag=" : "", to_tag ? to_tag : "", method,
		 method, via_host, extra ? extra : "", sdp ? "Content-Type: application/sdp\r\n" : "",
		 sdp ? strlen(sdp) : 0, sdp ? sdp : "");
	return text;
}

static void run(const char *text, enum sip_path_source from, struct sip_path_result *r)
{
	sip_path_run(path, text, strlen(text), from, r);
	ck_assert_msg(!r->violation, "%s", r->violation ? r->violation : "");
}

/* ---- table: one request, who sends it, what comes of it ---- */

static const struct {
	const char *name;
	const char *method, *ruri, *to_tag, *extra;
	enum sip_path_source from;
	enum sip_path_outcome outcome;
	int status;          /* ANSWERED */
	const char *dest;    /* FORWARDED: "ip:port" */
} cases[] = {
	{ "OPTIONS to sipnatd itself", "OPTIONS", "sip:192.168.1.2", NULL, NULL,
	  SIP_PATH_FROM_PBX, SIP_PATH_ANSWERED, 200, NULL },
	{ "OPTIONS from the Internet: one fixed answer", "OPTIONS", "sip:200@203.0.113.1", NULL, NULL,
	  SIP_PATH_FROM_INTERNET, SIP_PATH_ANSWERED, 200, NULL },
	{ "REGISTER without credentials", "REGISTER", "sip:203.0.113.1", NULL, NULL,
	  SIP_PATH_FROM_INTERNET, SIP_PATH_ANSWERED, 401, NULL },
	{ "INVITE from a stranger", "INVITE", "sip:200@203.0.113.1", NULL, NULL,
	  SIP_PATH_FROM_INTERNET, SIP_PATH_ANSWERED, 407, NULL },
	{ "BYE of a dialog never seen", "BYE", "sip:200@203.0.113.1", "t9", NULL,
	  SIP_PATH_FROM_INTERNET, SIP_PATH_ANSWERED, 481, NULL },
	{ "ACK of a dialog never seen: absorbed", "ACK", "sip:200@203.0.113.1", "t9", NULL,
	  SIP_PATH_FROM_INTERNET, SIP_PATH_DROPPED, 0, NULL },
	{ "Max-Forwards 0", "MESSAGE", "sip:alice@192.168.1.2", NULL, "Max-Forwards: 0\r\n",
	  SIP_PATH_FROM_PBX, SIP_PATH_ANSWERED, 483, NULL },
	{ "the PBX calls a peer that does not exist", "MESSAGE", "sip:nobody@192.168.1.2", NULL, NULL,
	  SIP_PATH_FROM_PBX, SIP_PATH_ANSWERED, 404, NULL },
	{ "the PBX calls a peer that is not registered", "MESSAGE", "sip:bob@192.168.1.2", NULL, NULL,
	  SIP_PATH_FROM_PBX, SIP_PATH_ANSWERED, 480, NULL },
	{ "the PBX reaches a registered phone at its NAT address", "MESSAGE", "sip:alice@192.168.1.2",
	  NULL, NULL, SIP_PATH_FROM_PBX, SIP_PATH_FORWARDED, 0, "203.0.113.5:40000" },
	{ "a trunk (trusted by address) reaches the PBX", "INVITE", "sip:200@203.0.113.1", NULL, NULL,
	  SIP_PATH_FROM_TRUNK, SIP_PATH_FORWARDED, 0, "192.168.1.10:5060" },
	{ "the LAN reaches the PBX, whatever its Request-URI", "MESSAGE", "sip:x@198.51.100.99", NULL,
	  NULL, SIP_PATH_FROM_LAN, SIP_PATH_FORWARDED, 0, "192.168.1.10:5060" },
	{ "the PBX reaches a trunk known by name through the resolver", "MESSAGE",
	  "sip:provider@192.168.1.2", NULL, NULL, SIP_PATH_FROM_PBX, SIP_PATH_FORWARDED, 0,
	  SIP_PATH_RESOLVED ":5080" },
	/* issue 20: the same rules for a party on IPv6 */
	{ "OPTIONS from the IPv6 Internet: one fixed answer", "OPTIONS", "sip:200@[2001:db8:1::1]", NULL,
	  NULL, SIP_PATH_FROM_INTERNET6, SIP_PATH_ANSWERED, 200, NULL },
	{ "REGISTER over IPv6 without credentials", "REGISTER", "sip:[2001:db8:1::1]", NULL, NULL,
	  SIP_PATH_FROM_INTERNET6, SIP_PATH_ANSWERED, 401, NULL },
	{ "INVITE from a stranger on IPv6", "INVITE", "sip:200@[2001:db8:1::1]", NULL, NULL,
	  SIP_PATH_FROM_INTERNET6, SIP_PATH_ANSWERED, 407, NULL },
	{ "BYE over IPv6 of a dialog never seen", "BYE", "sip:200@[2001:db8:1::1]", "t9", NULL,
	  SIP_PATH_FROM_INTERNET6, SIP_PATH_ANSWERED, 481, NULL },
	{ "ACK over IPv6 of a dialog never seen: absorbed", "ACK", "sip:200@[2001:db8:1::1]", "t9", NULL,
	  SIP_PATH_FROM_INTERNET6, SIP_PATH_DROPPED, 0, NULL },
	{ "an IPv6 trunk (trusted by address) reaches the IPv4 PBX", "INVITE", "sip:200@[2001:db8:1::1]",
	  NULL, NULL, SIP_PATH_FROM_TRUNK6, SIP_PATH_FORWARDED, 0, "192.168.1.10:5060" },
	{ "the PBX reaches an IPv6 trunk, sipnatd's Via on IPv6", "MESSAGE", "sip:trunk6@192.168.1.2",
	  NULL, NULL, SIP_PATH_FROM_PBX, SIP_PATH_FORWARDED, 0, "[2001:db8:20::20]:5060" },
};

START_TEST(request_outcome)
{
	struct sip_path_result r;
	struct netaddr src = sip_path_source_addr(cases[_i].from);
	char via[NETADDR_TEXT_MAX], dest[NETADDR_TEXT_MAX];
	char *text;

	netaddr_print(&src, via);
	text = request(cases[_i].method, cases[_i].ruri, via, cases[_i].to_tag, cases[_i].extra, NULL);
	run(text, cases[_i].from, &r);
	ck_assert_msg(r.outcome == cases[_i].outcome, "%s: want %s, got %s (%d)", cases[_i].name,
		      sip_path_outcome_name(cases[_i].outcome), sip_path_outcome_name(r.outcome), r.status);
	if (cases[_i].outcome == SIP_PATH_ANSWERED) {
		ck_assert_msg(r.status == cases[_i].status, "%s: want %d, got %d", cases[_i].name,
			      cases[_i].status, r.status);
		/* answered where the request came from (rport) */
		ck_assert_msg(netaddr_same(&r.dest, &src), "%s: answered to %s", cases[_i].name,
			      netaddr_print(&r.dest, dest));
		ck_assert_uint_eq(counters()->answered_locally, 1);
	}
	if (cases[_i].outcome == SIP_PATH_FORWARDED) {
		ck_assert_str_eq(netaddr_print(&r.dest, dest), cases[_i].dest);
		ck_assert_uint_eq(counters()->forwarded, 1);
		/* sipnatd's Via on top, with the address for that side, of its family */
		ck_assert_msg(r.dest.family == AF_INET6
				      ? sent_contains(&r, "Via: SIP/2.0/UDP [" SIP_PATH_EXT6_ADDR "]:5060;rport;branch=z9hG4bK")
				      : sent_contains(&r, "Via: SIP/2.0/UDP 203.0.113.1:5060;rport;branch=z9hG4bK") ||
						sent_contains(&r, "Via: SIP/2.0/UDP 192.168.1.2:5060;rport;branch=z9hG4bK"),
			      "%s: no Via of sipnatd's in\n%.*s", cases[_i].name, (int)r.out_len, r.out);
	}
	ck_assert_uint_eq(counters()->requests, 1);
	ck_assert_uint_eq(r.sends, cases[_i].outcome == SIP_PATH_ANSWERED ||
					   cases[_i].outcome == SIP_PATH_FORWARDED);
	sip_path_result_clear(&r);
	free(text);
}
END_TEST

/* ---- what never gets as far as a request ---- */

START_TEST(keepalive_and_garbage_are_counted_not_answered)
{
	struct sip_path_result r;
	static const char garbage[] = "INVITE\r\n\r\n";

	run("\r\n\r\n", SIP_PATH_FROM_INTERNET, &r);
	ck_assert_int_eq(r.outcome, SIP_PATH_IGNORED);
	sip_path_result_clear(&r);
	run(garbage, SIP_PATH_FROM_INTERNET, &r);
	ck_assert_int_eq(r.outcome, SIP_PATH_DROPPED);
	sip_path_result_clear(&r);
	ck_assert_uint_eq(counters()->received, 2);
	ck_assert_uint_eq(counters()->keepalives, 1);
	ck_assert_uint_eq(counters()->malformed, 1);
	ck_assert_uint_eq(counters()->requests, 0);
}
END_TEST

START_TEST(banned_source_costs_nothing)
{
	struct netaddr src = sip_path_source_addr(SIP_PATH_FROM_INTERNET);
	struct sip_path_result r;
	char *text = request("REGISTER", "sip:203.0.113.1", "203.0.113.5:40000", NULL, NULL, NULL);
	unsigned prefix6 = (unsigned)sip_path_conf(path)->banprefix6;

	sip_path_run(path, text, strlen(text), SIP_PATH_FROM_INTERNET, &r); /* fresh tables */
	sip_path_result_clear(&r);
	for (int i = 0; i < 5; i++)
		bans_failure(sip_path_bans(path), &src, prefix6, SIP_PATH_NOW, 5, 600);
	ck_assert(bans_is_banned(sip_path_bans(path), &src, prefix6, SIP_PATH_NOW));
	sip_path_run_more(path, text, strlen(text), src, &r);
	ck_assert_int_eq(r.outcome, SIP_PATH_DROPPED);
	ck_assert_uint_eq(r.sends, 0);
	ck_assert_uint_eq(counters()->banned, 1);
	sip_path_result_clear(&r);
	free(text);
}
END_TEST

START_TEST(stray_response_is_dropped)
{
	struct sip_path_result r;
	static const char resp[] = "SIP/2.0 200 OK\r\n"
				   "Via: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bK-forged\r\n"
				   "Via: SIP/2.0/UDP 198.51.100.77:5060;branch=z9hG4bK-victim\r\n"
				   "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\n"
				   "Call-ID: stray@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

	run(resp, SIP_PATH_FROM_PBX, &r);
	ck_assert_int_eq(r.outcome, SIP_PATH_DROPPED);
	ck_assert_uint_eq(counters()->responses, 1);
	ck_assert_uint_eq(counters()->stray_responses, 1);
	sip_path_result_clear(&r);
}
END_TEST

/* Issue 20: a banned IPv6 source costs nothing either, and the ban covers
 * its whole /64 (banprefix6): a neighbour in it is dropped unparsed, one
 * outside it is answered. The same checks for IPv4 (a /32). */
static const struct {
	enum sip_path_source from;
	const char *neighbour;
	bool neighbour_banned;
} ban_cases[] = {
	{ SIP_PATH_FROM_INTERNET, "203.0.113.6", false },
	{ SIP_PATH_FROM_INTERNET6, "2001:db8:5::77", true },
	{ SIP_PATH_FROM_INTERNET6, "2001:db8:5:1::5", false },
};

START_TEST(ban_scope_each_family)
{
	struct netaddr src = sip_path_source_addr(ban_cases[_i].from), n;
	struct sip_path_result r;
	char via[NETADDR_TEXT_MAX];
	unsigned prefix6 = (unsigned)sip_path_conf(path)->banprefix6;

	ck_assert(netaddr_parse_ip(ban_cases[_i].neighbour, &n));
	n.port = 40000;
	char *text = request("REGISTER", "sip:203.0.113.1", netaddr_print(&n, via), NULL, NULL, NULL);
	sip_path_run(path, "\r\n\r\n", 4, ban_cases[_i].from, &r); /* fresh tables */
	sip_path_result_clear(&r);
	for (int i = 0; i < 5; i++)
		bans_failure(sip_path_bans(path), &src, prefix6, SIP_PATH_NOW, 5, 600);
	ck_assert(bans_is_banned(sip_path_bans(path), &src, prefix6, SIP_PATH_NOW));
	unsigned long banned = counters()->banned;
	sip_path_run_more(path, text, strlen(text), n, &r);
	if (ban_cases[_i].neighbour_banned) {
		ck_assert_int_eq(r.outcome, SIP_PATH_DROPPED);
		ck_assert_uint_eq(counters()->banned, banned + 1);
	} else {
		ck_assert_int_eq(r.outcome, SIP_PATH_ANSWERED);
		ck_assert_int_eq(r.status, 401);
		ck_assert_uint_eq(counters()->banned, banned);
	}
	sip_path_result_clear(&r);
	free(text);
}
END_TEST

/* ---- a call: the PBX's INVITE out, the phone's answer back ---- */

START_TEST(call_out_and_answer_back)
{
	struct netaddr phone;
	struct sip_path_result out, back;
	char *invite = request("INVITE", "sip:alice@192.168.1.2", "192.168.1.10:5060", NULL, NULL, sdp_pbx);
	osip_message_t *fwd = NULL, *answer = NULL;
	const char *why;
	char *text = NULL;
	size_t len;

	run(invite, SIP_PATH_FROM_PBX, &out);
	ck_assert_int_eq(out.outcome, SIP_PATH_FORWARDED);
	phone = out.dest;
	/* the relay's address, never the PBX's, and no LAN host in the signalling */
	ck_assert(sent_contains(&out, "c=IN IP4 " SIP_PATH_EXT_ADDR "\r\n"));
	ck_assert(!sent_contains(&out, "192.168.1."));
	ck_assert_uint_eq(media_sessions(sip_path_media(path)), 1);

	/* the phone answers 180 with the request's Vias, from its NAT address */
	ck_assert_int_eq(sipmsg_parse(out.out, out.out_len, &fwd, &why), SIPMSG_OK);
	answer = sip_reply_build(fwd, 180, NULL);
	ck_assert_ptr_nonnull(answer);
	ck_assert_int_eq(sipmsg_serialize(answer, &text, &len), 0);
	sip_path_run_more(path, text, len, phone, &back);
	ck_assert_msg(!back.violation, "%s", back.violation);
	ck_assert_int_eq(back.outcome, SIP_PATH_FORWARDED);
	/* to the PBX, where its own Via says, with that Via on top again */
	ck_assert_str_eq(netaddr_print(&back.dest, (char[NETADDR_TEXT_MAX]){ 0 }), "192.168.1.10:5060");
	ck_assert(sent_contains(&back, "Via: SIP/2.0/UDP 192.168.1.10:5060;rport"));
	ck_assert(!sent_contains(&back, SIP_PATH_EXT_ADDR ":5060;rport;branch"));
	ck_assert_uint_eq(counters()->forwarded, 2);
	ck_assert_uint_eq(counters()->stray_responses, 0);

	/* the same INVITE coming back to sipnatd is a loop */
	struct sip_path_result loop;
	sip_path_run_more(path, out.out, out.out_len, sip_path_source_addr(SIP_PATH_FROM_PBX), &loop);
	ck_assert_int_eq(loop.outcome, SIP_PATH_ANSWERED);
	ck_assert_int_eq(loop.status, 482);
	sip_path_result_clear(&loop);

	osip_free(text);
	osip_message_free(answer);
	osip_message_free(fwd);
	sip_path_result_clear(&out);
	sip_path_result_clear(&back);
	free(invite);
}
END_TEST

/* A new call the relay cannot carry is refused before anything is
 * forwarded, and counted as a failed call. */
START_TEST(call_refused_when_pool_is_empty)
{
	struct sip_path_result r;
	struct media_totals t;
	int forwarded = 0, refused = 0;

	sip_path_run(path, "\r\n\r\n", 4, SIP_PATH_FROM_PBX, &r); /* fresh tables */
	sip_path_result_clear(&r);
	for (int i = 0; i < 30; i++) {
		char ruri[64], *invite, *p;
		snprintf(ruri, sizeof(ruri), "sip:alice@192.168.1.2");
		invite = request("INVITE", ruri, "192.168.1.10:5060", NULL, NULL, sdp_pbx);
		/* a Call-ID per call */
		p = strstr(invite, "Call-ID: disp-");
		ck_assert_ptr_nonnull(p);
		p[14] = (char)('A' + i);
		sip_path_run_more(path, invite, strlen(invite), sip_path_source_addr(SIP_PATH_FROM_PBX), &r);
		ck_assert_msg(!r.violation, "%s", r.violation);
		if (r.outcome == SIP_PATH_FORWARDED)
			forwarded++;
		else if (r.outcome == SIP_PATH_ANSWERED && r.status == 503)
			refused++;
		sip_path_result_clear(&r);
		free(invite);
	}
	/* 47100-47139: 20 pairs */
	ck_assert_int_eq(forwarded, 20);
	ck_assert_int_eq(refused, 10);
	media_totals(sip_path_media(path), &t);
	ck_assert_uint_eq(t.calls_failed, 10);
	ck_assert_uint_eq(media_ports_free(sip_path_media(path)), 0);
}
END_TEST

/* Issue 20: the same call for a phone registered over each family, the PBX
 * on IPv4. The phone sees only its own family from sipnatd (Via, Contact,
 * SDP, From/To), the PBX only IPv4; the answer's SDP is bridged back. */
static const struct {
	const char *nat, *own, *phone_sdp;
} call_cases[] = {
	{ "203.0.113.9", SIP_PATH_EXT_ADDR, "c=IN IP4 203.0.113.9" },
	{ "2001:db8:5::9", "[" SIP_PATH_EXT6_ADDR "]", "c=IN IP6 2001:db8:5::9" },
};

START_TEST(call_across_families)
{
	struct sip_path_result r, back;
	struct binding b;
	struct netaddr phone;
	char want[160], sdp[256], *text = NULL;
	osip_message_t *fwd = NULL, *answer = NULL;
	const char *why;
	size_t len;
	char *invite = request("INVITE", "sip:bob@192.168.1.2", "192.168.1.10:5060", NULL, NULL, sdp_pbx);
	bool v6 = strchr(call_cases[_i].nat, ':') != NULL;

	sip_path_run(path, "\r\n\r\n", 4, SIP_PATH_FROM_PBX, &r); /* fresh tables */
	sip_path_result_clear(&r);
	ck_assert(netaddr_parse_ip(call_cases[_i].nat, &phone));
	phone.port = 40002;
	memset(&b, 0, sizeof(b));
	snprintf(b.peer, sizeof(b.peer), "bob");
	snprintf(b.contact, sizeof(b.contact), "sip:bob@10.0.0.9:5060");
	b.nat = phone;
	b.transport = SIP_TRANSPORT_UDP;
	b.expires = SIP_PATH_NOW + 600;
	b.registered = SIP_PATH_NOW;
	snprintf(b.call_id, sizeof(b.call_id), "reg-bob");
	ck_assert(registrar_restore(sip_path_registrar(path), &b, SIP_PATH_NOW));

	/* out: the PBX calls bob */
	sip_path_run_more(path, invite, strlen(invite), sip_path_source_addr(SIP_PATH_FROM_PBX), &r);
	ck_assert_msg(!r.violation, "%s", r.violation);
	ck_assert_int_eq(r.outcome, SIP_PATH_FORWARDED);
	ck_assert(netaddr_same(&r.dest, &phone));
	snprintf(want, sizeof(want), "Via: SIP/2.0/UDP %s:5060;rport;branch=z9hG4bK", call_cases[_i].own);
	ck_assert_msg(sent_contains(&r, want), "no %s in\n%.*s", want, (int)r.out_len, r.out);
	snprintf(want, sizeof(want), "Contact: <sip:100@%s:5060;snt=", call_cases[_i].own);
	ck_assert_msg(sent_contains(&r, want), "no %s in\n%.*s", want, (int)r.out_len, r.out);
	ck_assert(sent_contains(&r, v6 ? "c=IN IP6 " SIP_PATH_EXT6_ADDR "\r\n" : "c=IN IP4 " SIP_PATH_EXT_ADDR "\r\n"));
	ck_assert(!sent_contains(&r, v6 ? "IN IP4" : "IN IP6"));
	ck_assert(!sent_contains(&r, "192.168.1."));

	/* back: bob answers 200 with its own SDP, from its address */
	ck_assert_int_eq(sipmsg_parse(r.out, r.out_len, &fwd, &why), SIPMSG_OK);
	answer = sip_reply_build(fwd, 200, NULL);
	ck_assert_ptr_nonnull(answer);
	osip_generic_param_t *tag = NULL;
	if (osip_to_get_tag(answer->to, &tag) != 0)
		osip_to_set_tag(answer->to, osip_strdup("bob1"));
	snprintf(sdp, sizeof(sdp), "v=0\r\no=- 2 2 %s\r\ns=-\r\n%s\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n",
		 call_cases[_i].phone_sdp + 2, call_cases[_i].phone_sdp);
	ck_assert_int_eq(osip_message_set_contact(answer, "<sip:bob@10.0.0.9:5060>"), 0);
	ck_assert_int_eq(osip_message_set_body(answer, sdp, strlen(sdp)), 0);
	ck_assert_int_eq(osip_message_set_content_type(answer, "application/sdp"), 0);
	ck_assert_int_eq(sipmsg_serialize(answer, &text, &len), 0);
	sip_path_run_more(path, text, len, phone, &back);
	ck_assert_msg(!back.violation, "%s", back.violation);
	ck_assert_int_eq(back.outcome, SIP_PATH_FORWARDED);
	ck_assert_str_eq(netaddr_print(&back.dest, (char[NETADDR_TEXT_MAX]){ 0 }), "192.168.1.10:5060");
	/* the PBX sees sipnatd's LAN address, IPv4 only */
	ck_assert_msg(sent_contains(&back, "c=IN IP4 " SIP_PATH_LAN_ADDR "\r\n"), "%.*s", (int)back.out_len, back.out);
	ck_assert_msg(!sent_contains(&back, "IN IP6") && !sent_contains(&back, "2001:db8"), "%.*s",
		      (int)back.out_len, back.out);
	ck_assert(sent_contains(&back, "Contact: <sip:bob@" SIP_PATH_LAN_ADDR ":5060;snt="));
	ck_assert_uint_eq(media_sessions(sip_path_media(path)), 1);

	osip_free(text);
	osip_message_free(answer);
	osip_message_free(fwd);
	sip_path_result_clear(&r);
	sip_path_result_clear(&back);
	free(invite);
}
END_TEST

/* A phone registered over TCP/TLS is reached only through that connection
 * (its NAT lets nothing else in): while it is open the PBX's request goes
 * there, once it is closed the PBX gets 480 at once instead of a request
 * lost on UDP. */
START_TEST(stream_binding_needs_its_connection)
{
	struct netaddr phone = sip_path_source_addr(SIP_PATH_FROM_INTERNET);
	struct sip_path_result r;
	struct binding b;
	char *text = request("MESSAGE", "sip:bob@192.168.1.2", "192.168.1.10:5060", NULL, NULL, NULL);

	phone.port = 41000;
	sip_path_run(path, "\r\n\r\n", 4, SIP_PATH_FROM_PBX, &r); /* fresh tables */
	sip_path_result_clear(&r);
	memset(&b, 0, sizeof(b));
	snprintf(b.peer, sizeof(b.peer), "bob");
	snprintf(b.contact, sizeof(b.contact), "sip:bob@10.0.0.9:5060;transport=tcp");
	b.nat = phone;
	b.transport = SIP_TRANSPORT_TCP;
	b.expires = SIP_PATH_NOW + 600;
	b.registered = SIP_PATH_NOW;
	snprintf(b.call_id, sizeof(b.call_id), "reg-bob");
	ck_assert(registrar_restore(sip_path_registrar(path), &b, SIP_PATH_NOW));

	sip_path_run_more(path, text, strlen(text), sip_path_source_addr(SIP_PATH_FROM_PBX), &r);
	ck_assert_int_eq(r.outcome, SIP_PATH_ANSWERED);
	ck_assert_int_eq(r.status, 480);
	sip_path_result_clear(&r);

	sip_path_set_stream(path, phone, SIP_TRANSPORT_TCP);
	sip_path_run_more(path, text, strlen(text), sip_path_source_addr(SIP_PATH_FROM_PBX), &r);
	ck_assert_int_eq(r.outcome, SIP_PATH_FORWARDED);
	ck_assert(netaddr_same(&r.dest, &phone));
	ck_assert(sent_contains(&r, "Via: SIP/2.0/TCP "));
	sip_path_result_clear(&r);

	/* a UDP binding is reached whatever connections there are */
	sip_path_set_stream(path, phone, SIP_TRANSPORT_UDP);
	free(text);
	text = request("MESSAGE", "sip:alice@192.168.1.2", "192.168.1.10:5060", NULL, NULL, NULL);
	sip_path_run_more(path, text, strlen(text), sip_path_source_addr(SIP_PATH_FROM_PBX), &r);
	ck_assert_int_eq(r.outcome, SIP_PATH_FORWARDED);
	sip_path_result_clear(&r);
	free(text);
}
END_TEST

/* ---- names: answered now, later, or never ---- */

static char *to_provider(void)
{
	return request("MESSAGE", "sip:provider@192.168.1.2", "192.168.1.10:5060", NULL, NULL, NULL);
}

START_TEST(lookup_negative_is_503)
{
	struct sip_path_result r;
	char *text = to_provider();

	sip_path_set_resolver(path, DNSCACHE_NEGATIVE);
	run(text, SIP_PATH_FROM_PBX, &r);
	ck_assert_int_eq(r.outcome, SIP_PATH_ANSWERED);
	ck_assert_int_eq(r.status, 503);
	ck_assert(sent_contains(&r, "Retry-After: "));
	ck_assert_uint_eq(counters()->lookups_failed, 1);
	sip_path_result_clear(&r);
	free(text);
}
END_TEST

START_TEST(lookup_pending_then_answered)
{
	struct sip_path_result r, later;
	char *text = to_provider();

	sip_path_set_resolver(path, DNSCACHE_PENDING);
	run(text, SIP_PATH_FROM_PBX, &r);
	ck_assert_int_eq(r.outcome, SIP_PATH_DROPPED); /* nothing yet */
	ck_assert_uint_eq(sip_dispatch_pending(sip_path_dispatch(path)), 1);
	ck_assert(sip_path_resolve_pending(path, true, &later));
	ck_assert_int_eq(later.outcome, SIP_PATH_FORWARDED);
	ck_assert_str_eq(netaddr_print(&later.dest, (char[NETADDR_TEXT_MAX]){ 0 }), SIP_PATH_RESOLVED ":5080");
	ck_assert_uint_eq(sip_dispatch_pending(sip_path_dispatch(path)), 0);
	ck_assert_uint_eq(counters()->forwarded, 1);
	sip_path_result_clear(&r);
	sip_path_result_clear(&later);
	free(text);
}
END_TEST

START_TEST(lookup_pending_then_failed)
{
	struct sip_path_result r, later;
	char *text = to_provider();

	sip_path_set_resolver(path, DNSCACHE_PENDING);
	run(text, SIP_PATH_FROM_PBX, &r);
	ck_assert(sip_path_resolve_pending(path, false, &later));
	ck_assert_int_eq(later.outcome, SIP_PATH_ANSWERED);
	ck_assert_int_eq(later.status, 503);
	ck_assert_uint_eq(counters()->lookups_failed, 1);
	sip_path_result_clear(&r);
	sip_path_result_clear(&later);
	free(text);
}
END_TEST

/* A request still waiting when the dispatcher goes is freed with it (ASan
 * reports a leak otherwise). */
START_TEST(lookup_pending_at_free)
{
	struct sip_path_result r;
	char *text = to_provider();

	sip_path_set_resolver(path, DNSCACHE_PENDING);
	run(text, SIP_PATH_FROM_PBX, &r);
	ck_assert_uint_eq(sip_dispatch_pending(sip_path_dispatch(path)), 1);
	sip_path_result_clear(&r);
	free(text);
}
END_TEST

static Suite *dispatch_suite(void)
{
	Suite *s = suite_create("sip_dispatch");
	TCase *tc = tcase_create("path");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, request_outcome, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, keepalive_and_garbage_are_counted_not_answered);
	tcase_add_test(tc, banned_source_costs_nothing);
	tcase_add_test(tc, stray_response_is_dropped);
	tcase_add_test(tc, call_out_and_answer_back);
	tcase_add_loop_test(tc, ban_scope_each_family, 0, (int)(sizeof(ban_cases) / sizeof(ban_cases[0])));
	tcase_add_loop_test(tc, call_across_families, 0, (int)(sizeof(call_cases) / sizeof(call_cases[0])));
	tcase_add_test(tc, call_refused_when_pool_is_empty);
	tcase_add_test(tc, stream_binding_needs_its_connection);
	tcase_add_test(tc, lookup_negative_is_503);
	tcase_add_test(tc, lookup_pending_then_answered);
	tcase_add_test(tc, lookup_pending_then_failed);
	tcase_add_test(tc, lookup_pending_at_free);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(dispatch_suite, sip_path_global_init())
