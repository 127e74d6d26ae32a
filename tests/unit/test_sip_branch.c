/*
 * Unit tests for sip_branch.c: sipnatd's self-verifying Via branch (RFC 3261
 * 8.1.1.7, 16.6 step 8, 16.11), visible and with the LAN's Vias sealed inside,
 * on requests as real phones and Asterisk send them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "sip_branch.h"
#include "sip_samples.h"
#include "netaddr.h"
#include "sip_via.h"
#include "sipmsg.h"

static const uint8_t key_a[SECRET_KEY_LEN] = "sipnatd unit test key, 32 bytes";
static const uint8_t key_b[SECRET_KEY_LEN] = "another process key, 32 bytes!!";

/* Zoiper behind a NAT, no rport, already stamped with received. */
#define VIA_ZOIPER "SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bK-524287-1---a3;received=198.51.100.7"
/* Linphone with rport, stamped. */
#define VIA_LINPHONE "SIP/2.0/UDP 192.168.1.6:5060;rport=40312;branch=z9hG4bK.Xy7QpL2m;received=198.51.100.8"
/* A LAN phone behind a LAN proxy: two Vias. */
#define VIA_LAN_PROXY "SIP/2.0/UDP 192.168.1.1:5060;branch=z9hG4bKproxy77;received=127.0.10.9"
#define VIA_OURS_EXT "SIP/2.0/UDP 203.0.113.7:5060"

/* An INVITE (or CANCEL) with the given Via header lines. */
static osip_message_t *request(const char *method, const char *via_lines, const char *call_id,
			       const char *cseq)
{
	char text[20000];
	osip_message_t *msg = NULL;
	const char *why = NULL;
	enum sipmsg_status st;

	snprintf(text, sizeof(text),
		 "%s sip:1002@pbx.example.com;transport=UDP SIP/2.0\r\n"
		 "%s"
		 "Max-Forwards: 70\r\n"
		 "Contact: <sip:bob@192.168.1.5:5062;transport=UDP>\r\n"
		 "To: <sip:1002@pbx.example.com;transport=UDP>\r\n"
		 "From: \"Bob\" <sip:bob@pbx.example.com;transport=UDP>;tag=1a2b3c4d\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %s %s\r\n"
		 "User-Agent: Z 5.6.1 v2.10.19.9\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, via_lines, call_id, cseq, method);
	st = text_parse(text, &msg, &why);
	ck_assert_msg(st == SIPMSG_OK, "%s: %s", sipmsg_status_name(st), why);
	return msg;
}

static osip_message_t *invite(const char *via_lines)
{
	return request("INVITE", via_lines, "ZmE4NjQ5ZDE3YzQ2MTk0ZmJmNDI3ZDBkZWY5MmQ3OTY", "1");
}

/* A response with the given Via header lines. */
static osip_message_t *response(const char *via_lines, const char *call_id, const char *cseq)
{
	char text[20000];
	osip_message_t *msg = NULL;
	const char *why = NULL;
	enum sipmsg_status st;

	snprintf(text, sizeof(text),
		 "SIP/2.0 180 Ringing\r\n"
		 "%s"
		 "From: \"Bob\" <sip:bob@pbx.example.com;transport=UDP>;tag=1a2b3c4d\r\n"
		 "To: <sip:1002@pbx.example.com;transport=UDP>;tag=as5f2c1e0d\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %s INVITE\r\n"
		 "Server: Asterisk PBX 20.5.2\r\n"
		 "Content-Length: 0\r\n\r\n",
		 via_lines, call_id, cseq);
	st = text_parse(text, &msg, &why);
	ck_assert_msg(st == SIPMSG_OK, "%s: %s", sipmsg_status_name(st), why);
	return msg;
}

static osip_message_t *invite_response(const char *via_lines)
{
	return response(via_lines, "ZmE4NjQ5ZDE3YzQ2MTk0ZmJmNDI3ZDBkZWY5MmQ3OTY", "1");
}

/* The Vias of msg as written, joined by '|'. */
static void vias_of(const osip_message_t *msg, char *out, size_t cap)
{
	osip_via_t *via;
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; (via = osip_list_get(&msg->vias, i)) != NULL; i++) {
		char *t = NULL;
		ck_assert_int_eq(osip_via_to_str(via, &t), 0);
		n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "|" : "", t);
		ck_assert_uint_lt(n, cap);
		osip_free(t);
	}
}

static void make(const osip_message_t *req, bool hide, char *out, bool want_hidden)
{
	bool hidden = !want_hidden;

	ck_assert_int_eq(sip_branch_make(req, hide, out, BRANCH_MAX, &hidden), 0);
	ck_assert(hidden == want_hidden);
	assert_prefix(out, "z9hG4bK");
}

/* Retransmissions get the same branch; so does the CANCEL, which copies the
 * INVITE's top Via (RFC 3261 9.1). */
START_TEST(visible_stable)
{
	osip_message_t *a = invite("Via: " VIA_ZOIPER "\r\n");
	osip_message_t *b = invite("Via: " VIA_ZOIPER "\r\n");
	osip_message_t *c = request("CANCEL", "Via: " VIA_ZOIPER "\r\n",
				    "ZmE4NjQ5ZDE3YzQ2MTk0ZmJmNDI3ZDBkZWY5MmQ3OTY", "1");
	char ba[BRANCH_MAX], bb[BRANCH_MAX], bc[BRANCH_MAX];

	make(a, false, ba, false);
	make(b, false, bb, false);
	make(c, false, bc, false);
	ck_assert_str_eq(ba, bb);
	ck_assert_str_eq(ba, bc);
	/* and the same again from the same message */
	make(a, false, bb, false);
	ck_assert_str_eq(ba, bb);
	/* the branch is a token (RFC 3261 25.1) with no LAN address in it */
	ck_assert_uint_eq(strspn(ba, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), strlen(ba));
	osip_message_free(a);
	osip_message_free(b);
	osip_message_free(c);
}
END_TEST

/* Another top Via (a new transaction, another phone) gives another branch. */
START_TEST(visible_differs)
{
	static const char *const tops[] = {
		"Via: " VIA_ZOIPER "\r\n",
		"Via: SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bK-524287-1---a4;received=198.51.100.7\r\n",
		"Via: SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bK-524287-1---a3;received=198.51.100.9\r\n",
		"Via: " VIA_LINPHONE "\r\n",
		"Via: " VIA_LAN_PROXY "\r\nVia: " VIA_ZOIPER "\r\n",
	};
	char b[5][BRANCH_MAX];

	for (int i = 0; i < 5; i++) {
		osip_message_t *req = invite(tops[i]);
		make(req, false, b[i], false);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(b[i], b[j]);
		osip_message_free(req);
	}
}
END_TEST

START_TEST(no_via)
{
	osip_message_t *msg = NULL;
	char b[BRANCH_MAX];
	bool hidden = true;

	ck_assert_int_eq(osip_message_init(&msg), 0);
	ck_assert_int_eq(sip_branch_make(msg, false, b, sizeof(b), &hidden), -1);
	ck_assert(!hidden);
	ck_assert_int_eq(sip_branch_make(msg, true, b, sizeof(b), &hidden), -1);
	ck_assert(!sip_branch_seen_before(msg));
	osip_message_free(msg);
}
END_TEST

/* A response with our visible Via on top of the request's Vias: ours is
 * removed and the rest is left exactly as it was. */
START_TEST(visible_pop)
{
	static const char *const stacks[] = {
		"Via: " VIA_ZOIPER "\r\n",
		"Via: " VIA_LINPHONE "\r\n",
		"Via: " VIA_LAN_PROXY "\r\nVia: " VIA_ZOIPER "\r\n",
	};
	osip_message_t *req = invite(stacks[_i]);
	char b[BRANCH_MAX], lines[8192], before[8192], after[8192];

	make(req, false, b, false);
	vias_of(req, before, sizeof(before));
	snprintf(lines, sizeof(lines), "Via: " VIA_OURS_EXT ";branch=%s\r\n%s", b, stacks[_i]);
	osip_message_t *resp = invite_response(lines);
	ck_assert(sip_branch_pop_ours(resp));
	vias_of(resp, after, sizeof(after));
	ck_assert_str_eq(after, before);
	/* popped once: the phone's Via is not ours */
	ck_assert(!sip_branch_pop_ours(resp));
	vias_of(resp, after, sizeof(after));
	ck_assert_str_eq(after, before);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* A visible branch is bound to the Via below it: moved onto another
 * request's stack it does not verify. */
START_TEST(visible_bound_to_via_below)
{
	osip_message_t *req = invite("Via: " VIA_ZOIPER "\r\n");
	char b[BRANCH_MAX], lines[4096], before[4096], after[4096];

	make(req, false, b, false);
	snprintf(lines, sizeof(lines), "Via: " VIA_OURS_EXT ";branch=%s\r\nVia: " VIA_LINPHONE "\r\n", b);
	osip_message_t *resp = invite_response(lines);
	vias_of(resp, before, sizeof(before));
	ck_assert(!sip_branch_pop_ours(resp));
	vias_of(resp, after, sizeof(after));
	ck_assert_str_eq(after, before);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* Hidden: the whole stack travels sealed, the LAN addresses are not in the
 * branch, and a response carrying only our Via gets the stack back in order. */
static const char *const hidden_stacks[] = {
	"Via: " VIA_ZOIPER "\r\n",
	"Via: " VIA_LINPHONE "\r\n",
	"Via: " VIA_LAN_PROXY "\r\nVia: " VIA_ZOIPER "\r\n",
	/* compact form, comma-combined, three values */
	"v: " VIA_LAN_PROXY ", " VIA_LINPHONE "\r\nVia: " VIA_ZOIPER "\r\n",
};

START_TEST(hidden_seal_and_pop)
{
	osip_message_t *req = invite(hidden_stacks[_i]);
	char b[BRANCH_MAX], b2[BRANCH_MAX], lines[4096], before[8192], after[8192];

	make(req, true, b, true);
	vias_of(req, before, sizeof(before));
	ck_assert_ptr_null(strstr(b, "192.168"));
	ck_assert_ptr_null(strstr(b, "198.51.100"));
	/* deterministic: a retransmission gets the same hidden branch */
	make(req, true, b2, true);
	ck_assert_str_eq(b, b2);
	/* and differs from the visible one */
	make(req, false, b2, false);
	ck_assert_str_ne(b, b2);

	snprintf(lines, sizeof(lines), "Via: " VIA_OURS_EXT ";rport=5060;branch=%s;received=203.0.113.7\r\n", b);
	osip_message_t *resp = invite_response(lines);
	ck_assert_int_eq(osip_list_size(&resp->vias), 1);
	ck_assert(sip_branch_pop_ours(resp));
	vias_of(resp, after, sizeof(after));
	ck_assert_str_eq(after, before);
	ck_assert_int_eq(osip_list_size(&resp->vias), osip_list_size(&req->vias));
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* Asterisk's INVITE with three Vias, one of them comma-combined. */
START_TEST(hidden_asterisk_sample)
{
	osip_message_t *req = sample_parse("invite-asterisk-3via.sip");
	char b[BRANCH_MAX], lines[4096], before[8192], after[8192];

	ck_assert_int_eq(osip_list_size(&req->vias), 3);
	make(req, true, b, true);
	vias_of(req, before, sizeof(before));
	ck_assert_ptr_null(strstr(b, "127.0.10"));
	snprintf(lines, sizeof(lines), "Via: SIP/2.0/UDP 127.0.10.1:5060;branch=%s\r\n", b);
	osip_message_t *resp = response(lines, "1f8e2b84-3c2d-4d5a-9e6f-7a8b9c0d1e2f", "12873");
	ck_assert(sip_branch_pop_ours(resp));
	vias_of(resp, after, sizeof(after));
	ck_assert_str_eq(after, before);
	ck_assert_int_eq(osip_list_size(&resp->vias), 3);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* Vias below ours in the response (a proxy on the far side does not remove
 * them, but a stack may add): the restored ones go in place of ours, above. */
START_TEST(hidden_pop_keeps_order_with_others_below)
{
	osip_message_t *req = invite("Via: " VIA_LAN_PROXY "\r\nVia: " VIA_ZOIPER "\r\n");
	char b[BRANCH_MAX], lines[4096], after[8192];

	make(req, true, b, true);
	snprintf(lines, sizeof(lines), "Via: " VIA_OURS_EXT ";branch=%s\r\nVia: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKz\r\n", b);
	osip_message_t *resp = invite_response(lines);
	ck_assert(sip_branch_pop_ours(resp));
	vias_of(resp, after, sizeof(after));
	ck_assert_str_eq(after, VIA_LAN_PROXY "|" VIA_ZOIPER "|SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKz");
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* Change the character at pos to another of the base-32 alphabet. */
static void alter(char *b, size_t pos)
{
	b[pos] = b[pos] == 'a' ? 'b' : 'a';
}

/* A branch changed in one character is not ours, and the response is left
 * exactly as it came (R6: it will be dropped, not forwarded). */
START_TEST(forged_one_character)
{
	for (int hide = 0; hide <= 1; hide++) {
		osip_message_t *req = invite("Via: " VIA_LAN_PROXY "\r\nVia: " VIA_ZOIPER "\r\n");
		char b[BRANCH_MAX], lines[4096], before[8192], after[8192];

		make(req, hide, b, hide);
		size_t len = strlen(b);
		/* the first character after the tag, one in the middle, the last two */
		size_t positions[] = { 10, len / 2, len - 2, len - 1 };
		for (size_t p = 0; p < sizeof(positions) / sizeof(positions[0]); p++) {
			char forged[BRANCH_MAX];
			strcpy(forged, b);
			alter(forged, positions[p]);
			snprintf(lines, sizeof(lines), "Via: " VIA_OURS_EXT ";branch=%s\r\n%s", forged,
				 hide ? "" : "Via: " VIA_LAN_PROXY "\r\nVia: " VIA_ZOIPER "\r\n");
			osip_message_t *resp = invite_response(lines);
			vias_of(resp, before, sizeof(before));
			ck_assert_msg(!sip_branch_pop_ours(resp), "hide=%d pos %zu accepted", hide, positions[p]);
			vias_of(resp, after, sizeof(after));
			ck_assert_str_eq(after, before);
			osip_message_free(resp);
		}
		/* truncated, or with something appended */
		char cut[BRANCH_MAX];
		strcpy(cut, b);
		cut[len - 3] = '\0';
		snprintf(lines, sizeof(lines), "Via: " VIA_OURS_EXT ";branch=%s\r\nVia: " VIA_LAN_PROXY "\r\nVia: " VIA_ZOIPER "\r\n", cut);
		osip_message_t *resp = invite_response(lines);
		ck_assert(!sip_branch_pop_ours(resp));
		ck_assert_int_eq(osip_list_size(&resp->vias), 3);
		osip_message_free(resp);
		snprintf(lines, sizeof(lines), "Via: " VIA_OURS_EXT ";branch=%saaaaaaaa\r\nVia: " VIA_LAN_PROXY "\r\nVia: " VIA_ZOIPER "\r\n", b);
		resp = invite_response(lines);
		ck_assert(!sip_branch_pop_ours(resp));
		ck_assert_int_eq(osip_list_size(&resp->vias), 3);
		osip_message_free(resp);
		osip_message_free(req);
	}
}
END_TEST

/*
 * Issue 19: Asterisk's chan_pjsip (and any RFC 3261 element) may write the
 * Vias of a response back in another spelling: parameter order, case of the
 * protocol and of parameter names, spacing around ';' '=' '/', the compact
 * form, one Via per header field or several comma-joined. The branch check
 * must look at values only. The phone's Via as sipnatd stamped it, and the
 * same values in every legal spelling:
 */
#define VIA_PHONE_STAMPED "SIP/2.0/UDP 198.51.100.50:5060;branch=z9hG4bK-25681-1-23;rport=36468;received=203.0.113.2"
#define VIA_OURS_LAN "SIP/2.0/UDP 192.0.2.10:5060"

static const struct via_form {
	const char *head, *mid, *tail; /* head OURS mid BRANCH tail */
} respelled[] = {
	/* pjsip's order (the field report) */
	{ "Via: ", ";rport=5060;received=192.0.2.10;branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;rport=36468;received=203.0.113.2;branch=z9hG4bK-25681-1-23\r\n" },
	/* every other order of the three parameters */
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;received=203.0.113.2;rport=36468;branch=z9hG4bK-25681-1-23\r\n" },
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;branch=z9hG4bK-25681-1-23;received=203.0.113.2;rport=36468\r\n" },
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;rport=36468;branch=z9hG4bK-25681-1-23;received=203.0.113.2\r\n" },
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;received=203.0.113.2;branch=z9hG4bK-25681-1-23;rport=36468\r\n" },
	/* case of the protocol, the transport and the parameter names */
	{ "Via: ", ";BRANCH=", "\r\nVia: sip/2.0/udp 198.51.100.50:5060;Branch=z9hG4bK-25681-1-23;RPORT=36468;Received=203.0.113.2\r\n" },
	/* spacing around '/', ';' and '=' (RFC 3261 25.1: SLASH, SEMI, EQUAL) */
	{ "Via: ", " ; branch = ", "\r\nVia: SIP / 2.0 / UDP 198.51.100.50:5060 ; branch=z9hG4bK-25681-1-23 ;rport= 36468; received =203.0.113.2\r\n" },
	/* compact form */
	{ "v: ", ";branch=", "\r\nv: SIP/2.0/UDP 198.51.100.50:5060;branch=z9hG4bK-25681-1-23;rport=36468;received=203.0.113.2\r\n" },
	/* both values in one header field, comma-joined, with and without space */
	{ "Via: ", ";branch=", ", SIP/2.0/UDP 198.51.100.50:5060;rport=36468;received=203.0.113.2;branch=z9hG4bK-25681-1-23\r\n" },
	{ "Via: ", ";branch=", ",SIP/2.0/UDP 198.51.100.50:5060;received=203.0.113.2;branch=z9hG4bK-25681-1-23;rport=36468\r\n" },
	/* our Via in one header field, the phone's joined to a third one in another */
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;rport=36468;received=203.0.113.2;branch=z9hG4bK-25681-1-23, SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKbelow\r\n" },
};

/* The same values with one of them altered: never ours. */
static const struct via_form altered[] = {
	/* sent-by host */
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.51:5060;branch=z9hG4bK-25681-1-23;rport=36468;received=203.0.113.2\r\n" },
	/* sent-by port, and the port left out (it means 5060, not 5062) */
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5062;branch=z9hG4bK-25681-1-23;rport=36468;received=203.0.113.2\r\n" },
	/* the branch, also in its case */
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;branch=z9hG4bK-25681-1-24;rport=36468;received=203.0.113.2\r\n" },
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;branch=z9hG4bK-25681-1-23X;rport=36468;received=203.0.113.2\r\n" },
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;branch=Z9HG4BK-25681-1-23;rport=36468;received=203.0.113.2\r\n" },
	/* received: where the response would go */
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;branch=z9hG4bK-25681-1-23;rport=36468;received=198.51.100.99\r\n" },
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;branch=z9hG4bK-25681-1-23;rport=36468\r\n" },
	/* rport: the port it would go to */
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;branch=z9hG4bK-25681-1-23;rport=36469;received=203.0.113.2\r\n" },
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/UDP 198.51.100.50:5060;branch=z9hG4bK-25681-1-23;rport;received=203.0.113.2\r\n" },
	/* the transport */
	{ "Via: ", ";branch=", "\r\nVia: SIP/2.0/TCP 198.51.100.50:5060;branch=z9hG4bK-25681-1-23;rport=36468;received=203.0.113.2\r\n" },
	/* the Via below ours taken away */
	{ "Via: ", ";branch=", "\r\n" },
};

static void respelled_case(const struct via_form *form, bool want_ours)
{
	osip_message_t *req = invite("Via: " VIA_PHONE_STAMPED "\r\n");
	char b[BRANCH_MAX], lines[8192];

	make(req, false, b, false);
	snprintf(lines, sizeof(lines), "%s%s%s%s%s", form->head, VIA_OURS_LAN, form->mid, b, form->tail);
	osip_message_t *resp = invite_response(lines);
	int before = osip_list_size(&resp->vias);
	ck_assert_msg(sip_branch_pop_ours(resp) == want_ours, "%s: %s", want_ours ? "refused" : "accepted", lines);
	ck_assert_int_eq(osip_list_size(&resp->vias), want_ours ? before - 1 : before);
	if (want_ours) {
		/* and the response still goes where the phone's NAT is */
		struct netaddr to;
		char where[NETADDR_TEXT_MAX];
		ck_assert(sip_via_response_target(resp, &to));
		ck_assert_str_eq(netaddr_print(&to, where), "203.0.113.2:36468");
	}
	osip_message_free(resp);
	osip_message_free(req);
}

START_TEST(respelled_vias_are_ours)
{
	respelled_case(&respelled[_i], true);
}
END_TEST

START_TEST(altered_values_are_not)
{
	respelled_case(&altered[_i], false);
}
END_TEST

/* Hosts compare without regard to case, IPv6 literals by value, and a
 * missing port is the transport's default. */
START_TEST(sent_by_values)
{
	static const struct {
		const char *sent, *back;
	} pairs[] = {
		{ "SIP/2.0/UDP Phone.Example.COM:5060;branch=z9hG4bKa1;rport=4000;received=203.0.113.9",
		  "SIP/2.0/UDP phone.example.com;received=203.0.113.9;rport=4000;branch=z9hG4bKa1" },
		{ "SIP/2.0/UDP [2001:db8::0:1]:5060;branch=z9hG4bKa2;received=2001:db8:0:0::9;rport=4000",
		  "SIP/2.0/UDP [2001:DB8::1];rport=4000;branch=z9hG4bKa2;received=2001:db8::9" },
		{ "SIP/2.0/TLS 198.51.100.8;branch=z9hG4bKa3;rport=4000;received=203.0.113.9",
		  "SIP/2.0/tls 198.51.100.8:5061;branch=z9hG4bKa3;rport=04000;received=203.0.113.9" },
	};
	for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		char via[512], b[BRANCH_MAX], lines[4096];
		snprintf(via, sizeof(via), "Via: %s\r\n", pairs[k].sent);
		osip_message_t *req = invite(via);
		make(req, false, b, false);
		snprintf(lines, sizeof(lines), "Via: " VIA_OURS_LAN ";branch=%s\r\nVia: %s\r\n", b, pairs[k].back);
		osip_message_t *resp = invite_response(lines);
		ck_assert_msg(sip_branch_pop_ours(resp), "refused: %s", lines);
		osip_message_free(resp);
		osip_message_free(req);
	}
}
END_TEST

/* A branch made by another process (another key) is not ours either; with
 * the right key back it is. */
START_TEST(forged_other_key)
{
	for (int hide = 0; hide <= 1; hide++) {
		osip_message_t *req = invite("Via: " VIA_ZOIPER "\r\n");
		char b[BRANCH_MAX], mine[BRANCH_MAX], lines[4096], before[4096], after[4096];

		make(req, hide, mine, hide);
		secret_set_key(key_b);
		make(req, hide, b, hide);
		secret_set_key(key_a);
		ck_assert_str_ne(b, mine);
		snprintf(lines, sizeof(lines), "Via: " VIA_OURS_EXT ";branch=%s\r\nVia: " VIA_ZOIPER "\r\n", b);
		osip_message_t *resp = invite_response(lines);
		vias_of(resp, before, sizeof(before));
		ck_assert(!sip_branch_pop_ours(resp));
		vias_of(resp, after, sizeof(after));
		ck_assert_str_eq(after, before);
		osip_message_free(resp);

		/* a hidden branch stands for the whole stack: ours is the only Via */
		snprintf(lines, sizeof(lines), "Via: " VIA_OURS_EXT ";branch=%s\r\n%s", mine,
			 hide ? "" : "Via: " VIA_ZOIPER "\r\n");
		resp = invite_response(lines);
		ck_assert(sip_branch_pop_ours(resp));
		ck_assert_int_eq(osip_list_size(&resp->vias), 1);
		osip_message_free(resp);
		osip_message_free(req);
	}
}
END_TEST

/* Other stacks' branches, however they look, are not ours. */
START_TEST(foreign_branches)
{
	static const char *const branches[] = {
		"z9hG4bK-524287-1---a3", "z9hG4bKsnv", "z9hG4bKsnh", "z9hG4bKsno",
		"z9hG4bKsnvaaaaaaaaaaaaaaaa", "z9hG4bKsnoaaaaaaaaaaaaaaaa", "z9hG4bKsnhaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"z9hG4bKsnv!!!!", "1234",
	};
	char lines[1024];

	for (size_t i = 0; i < sizeof(branches) / sizeof(branches[0]); i++) {
		snprintf(lines, sizeof(lines), "Via: " VIA_OURS_EXT ";branch=%s\r\nVia: " VIA_ZOIPER "\r\n", branches[i]);
		osip_message_t *resp = invite_response(lines);
		ck_assert_msg(!sip_branch_pop_ours(resp), "%s", branches[i]);
		ck_assert_int_eq(osip_list_size(&resp->vias), 2);
		osip_message_free(resp);
	}
	/* a top Via without branch */
	osip_message_t *resp = invite_response("Via: " VIA_OURS_EXT "\r\nVia: " VIA_ZOIPER "\r\n");
	ck_assert(!sip_branch_pop_ours(resp));
	osip_message_free(resp);
}
END_TEST

/* A request coming back through sipnatd carries our Via further down. */
START_TEST(seen_before)
{
	osip_message_t *req = invite("Via: " VIA_ZOIPER "\r\n");
	char vis[BRANCH_MAX], hid[BRANCH_MAX], lines[4096];

	make(req, false, vis, false);
	make(req, true, hid, true);
	ck_assert(!sip_branch_seen_before(req));

	/* the PBX sends it back out: its Via on top, ours, the phone's */
	snprintf(lines, sizeof(lines),
		 "Via: SIP/2.0/UDP 127.0.10.2:5080;rport;branch=z9hG4bKPj6c1d7b0e\r\n"
		 "Via: SIP/2.0/UDP 127.0.10.1:5060;branch=%s\r\nVia: " VIA_ZOIPER "\r\n", vis);
	osip_message_t *loop = invite(lines);
	ck_assert(sip_branch_seen_before(loop));
	osip_message_free(loop);

	snprintf(lines, sizeof(lines),
		 "Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK7a6b5c\r\n"
		 "Via: SIP/2.0/UDP 127.0.10.9:5060;branch=z9hG4bKx1\r\n"
		 "Via: " VIA_OURS_EXT ";branch=%s\r\n", hid);
	loop = invite(lines);
	ck_assert(sip_branch_seen_before(loop));
	osip_message_free(loop);

	/* the same stacks without our Via are new */
	loop = invite("Via: SIP/2.0/UDP 127.0.10.2:5080;rport;branch=z9hG4bKPj6c1d7b0e\r\nVia: " VIA_ZOIPER "\r\n");
	ck_assert(!sip_branch_seen_before(loop));
	osip_message_free(loop);
	loop = sample_parse("invite-asterisk-3via.sip");
	ck_assert(!sip_branch_seen_before(loop));
	osip_message_free(loop);
	osip_message_free(req);
}
END_TEST

#define QCALLID "3n5ozaq2kcm4-sipnatd-qualify"

/* The qualify OPTIONS' own branch verifies for its Call-ID and CSeq only. */
START_TEST(own_branch)
{
	char b[BRANCH_MAX], b2[BRANCH_MAX], lines[2048];
	osip_message_t *resp;

	ck_assert_int_eq(sip_branch_make_own(QCALLID, "7", b, sizeof(b)), 0);
	assert_prefix(b, "z9hG4bK");
	ck_assert_int_eq(sip_branch_make_own(QCALLID, "7", b2, sizeof(b2)), 0);
	ck_assert_str_eq(b, b2);
	ck_assert_int_eq(sip_branch_make_own(QCALLID, "8", b2, sizeof(b2)), 0);
	ck_assert_str_ne(b, b2);
	ck_assert_int_eq(sip_branch_make_own(QCALLID, "7", b2, 8), -1);

	snprintf(lines, sizeof(lines), "Via: SIP/2.0/UDP 127.0.10.1:5060;branch=%s;rport=5060\r\n", b);
	resp = response(lines, QCALLID, "7");
	ck_assert(sip_branch_pop_ours(resp));
	ck_assert_int_eq(osip_list_size(&resp->vias), 0);
	osip_message_free(resp);

	resp = response(lines, QCALLID, "8");
	ck_assert(!sip_branch_pop_ours(resp));
	ck_assert_int_eq(osip_list_size(&resp->vias), 1);
	osip_message_free(resp);

	resp = response(lines, "3n5ozaq2kcm5-sipnatd-qualify", "7");
	ck_assert(!sip_branch_pop_ours(resp));
	osip_message_free(resp);

	/* another key */
	secret_set_key(key_b);
	resp = response(lines, QCALLID, "7");
	ck_assert(!sip_branch_pop_ours(resp));
	osip_message_free(resp);
	secret_set_key(key_a);
}
END_TEST

/* A stack too long to seal stays visible (and still verifies). */
START_TEST(too_long_stays_visible)
{
	char lines[8192], b[BRANCH_MAX], vis[BRANCH_MAX], resp_lines[16384];
	size_t n = 0;
	bool hidden = true;

	for (int i = 0; i < 30; i++)
		n += (size_t)snprintf(lines + n, sizeof(lines) - n,
				      "Via: SIP/2.0/UDP 192.168.%d.%d:5060;branch=z9hG4bKhop%02dabcdefghij;received=10.0.0.%d\r\n",
				      i, i + 1, i, i + 1);
	osip_message_t *req = invite(lines);
	ck_assert_int_eq(osip_list_size(&req->vias), 30);
	ck_assert_int_eq(sip_branch_make(req, true, b, sizeof(b), &hidden), 0);
	ck_assert(!hidden);
	ck_assert_int_eq(sip_branch_make(req, false, vis, sizeof(vis), &hidden), 0);
	ck_assert_str_eq(b, vis);
	ck_assert_uint_lt(strlen(b), 100);

	snprintf(resp_lines, sizeof(resp_lines), "Via: " VIA_OURS_EXT ";branch=%s\r\n%s", b, lines);
	osip_message_t *resp = invite_response(resp_lines);
	ck_assert(sip_branch_pop_ours(resp));
	ck_assert_int_eq(osip_list_size(&resp->vias), 30);
	osip_message_free(resp);
	osip_message_free(req);
}
END_TEST

/* A buffer too small for the branch is refused, not overrun. */
START_TEST(small_buffer)
{
	osip_message_t *req = invite("Via: " VIA_ZOIPER "\r\n");
	char b[16];
	bool hidden = true;

	memset(b, 'X', sizeof(b));
	ck_assert_int_eq(sip_branch_make(req, false, b, 8, &hidden), -1);
	ck_assert_int_eq(b[8], 'X');
	ck_assert_int_eq(sip_branch_make(req, true, b, 8, &hidden), -1);
	ck_assert_int_eq(b[8], 'X');
	osip_message_free(req);
}
END_TEST

static void setup(void)
{
	secret_set_key(key_a);
}

static Suite *sip_branch_suite(void)
{
	Suite *s = suite_create("sip_branch");
	TCase *tc;

	tc = tcase_create("visible");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, visible_stable);
	tcase_add_test(tc, visible_differs);
	tcase_add_test(tc, no_via);
	tcase_add_loop_test(tc, visible_pop, 0, 3);
	tcase_add_test(tc, visible_bound_to_via_below);
	suite_add_tcase(s, tc);

	tc = tcase_create("hidden");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, hidden_seal_and_pop, 0, sizeof(hidden_stacks) / sizeof(hidden_stacks[0]));
	tcase_add_test(tc, hidden_asterisk_sample);
	tcase_add_test(tc, hidden_pop_keeps_order_with_others_below);
	tcase_add_test(tc, too_long_stays_visible);
	suite_add_tcase(s, tc);

	tc = tcase_create("verify");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, forged_one_character);
	tcase_add_test(tc, forged_other_key);
	tcase_add_test(tc, foreign_branches);
	tcase_add_test(tc, seen_before);
	tcase_add_test(tc, own_branch);
	tcase_add_test(tc, small_buffer);
	tcase_add_loop_test(tc, respelled_vias_are_ours, 0, sizeof(respelled) / sizeof(respelled[0]));
	tcase_add_loop_test(tc, altered_values_are_not, 0, sizeof(altered) / sizeof(altered[0]));
	tcase_add_test(tc, sent_by_values);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sipmsg_global_init();
	secret_set_key(key_a);
	sr = srunner_create(sip_branch_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	secret_free();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
