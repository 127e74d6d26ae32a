/*
 * Unit tests for sip_contact.c: Contact masquerading with a sealed token and
 * the Request-URI restored from it (design section 5, R10), on a Linphone
 * INVITE with outbound parameters and a Zoiper INVITE.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "secret.h"
#include "sip_contact.h"
#include "sip_samples.h"
#include "sipmsg.h"

static const uint8_t key_a[SECRET_KEY_LEN] = "sipnatd unit test key, 32 bytes";
static const uint8_t key_b[SECRET_KEY_LEN] = "another process key, 32 bytes!!";

#define LINPHONE_URI "sip:alice@192.168.1.5:5062;line=abc;ob;transport=udp"
#define ZOIPER_URI "sip:bob@10.0.0.23:52718;transport=UDP"

static struct netaddr addr(const char *ip, uint16_t port)
{
	struct netaddr a;

	ck_assert(netaddr_parse_ip(ip, &a));
	a.port = port;
	return a;
}

/* sipnatd's own address to masquerade with (either family) */
static const struct netaddr *ip_of(const char *ip)
{
	static struct netaddr held[4];
	static unsigned next;
	struct netaddr *a = &held[next++ % 4];

	*a = addr(ip, 0);
	return a;
}

/* An INVITE with the given Request-URI and Contact header line(s). */
static osip_message_t *invite(const char *ruri, const char *contact_lines)
{
	char text[8192];
	osip_message_t *msg = NULL;
	const char *why = NULL;
	enum sipmsg_status st;

	snprintf(text, sizeof(text),
		 "INVITE %s SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bK.m9Qa3xLk;rport\r\n"
		 "From: <sip:alice@pbx.example.com>;tag=Zp4xq7Lm2\r\n"
		 "To: <sip:1002@pbx.example.com>\r\n"
		 "CSeq: 20 INVITE\r\n"
		 "Call-ID: q2W8cXoP7s\r\n"
		 "Max-Forwards: 70\r\n"
		 "Supported: replaces, outbound, gruu\r\n"
		 "%s"
		 "User-Agent: Linphone-Desktop/5.2.0 (belle-sip/5.2.0)\r\n"
		 "Content-Length: 0\r\n\r\n",
		 ruri, contact_lines);
	st = text_parse(text, &msg, &why);
	ck_assert_msg(st == SIPMSG_OK, "%s: %s", sipmsg_status_name(st), why);
	return msg;
}

static char *uri_str(const osip_uri_t *uri)
{
	char *s = NULL;

	ck_assert_int_eq(osip_uri_to_str(uri, &s), 0);
	return s;
}

/* The masqueraded URI of Contact i of msg, as text (osip_free). */
static char *contact_uri(const osip_message_t *msg, int i)
{
	osip_contact_t *c = osip_list_get(&msg->contacts, i);

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(c->url);
	return uri_str(c->url);
}

static const char *token_of(const osip_uri_t *uri)
{
	osip_uri_param_t *p = NULL;

	if (osip_uri_param_get_byname((osip_list_t *)&uri->url_params, (char *)CONTACT_TOKEN_PARAM, &p) != 0 || !p)
		return NULL;
	return p->gvalue;
}

/* Masquerade the Linphone Contact with nat (may be NULL); returns the new
 * Contact URI as text (osip_free). */
static char *masquerade_linphone(const struct netaddr *nat)
{
	osip_message_t *msg = invite("sip:1002@pbx.example.com",
				     "Contact: <" LINPHONE_URI ">;+sip.instance=\"<urn:uuid:6a3f9c1e-2b4d-4e5f-8a7b-9c0d1e2f3a4b>\"\r\n");
	char *s;

	ck_assert_int_eq(sip_contact_masquerade(msg, ip_of("203.0.113.7"), 5060, nat), 0);
	s = contact_uri(msg, 0);
	osip_message_free(msg);
	return s;
}

START_TEST(masquerade_linphone_contact)
{
	osip_message_t *msg = invite("sip:1002@pbx.example.com",
				     "Contact: <" LINPHONE_URI ">;+sip.instance=\"<urn:uuid:6a3f9c1e-2b4d-4e5f-8a7b-9c0d1e2f3a4b>\"\r\n");
	struct netaddr nat = addr("198.51.100.7", 40312);
	osip_contact_t *c;
	char *buf = NULL;
	size_t len = 0;

	ck_assert_int_eq(sip_contact_masquerade(msg, ip_of("203.0.113.7"), 5060, &nat), 0);
	c = osip_list_get(&msg->contacts, 0);
	ck_assert_str_eq(c->url->scheme, "sip");
	ck_assert_str_eq(c->url->username, "alice");
	ck_assert_str_eq(c->url->host, "203.0.113.7");
	ck_assert_str_eq(c->url->port, "5060");
	/* only the token is left of the URI parameters */
	ck_assert_int_eq(osip_list_size(&c->url->url_params), 1);
	ck_assert_int_eq(osip_list_size(&c->url->url_headers), 0);
	const char *tok = token_of(c->url);
	ck_assert_ptr_nonnull(tok);
	ck_assert_uint_gt(strlen(tok), 20);
	/* sealed: nothing of the original shows */
	ck_assert_ptr_null(strstr(tok, "192.168.1.5"));
	ck_assert_ptr_null(strstr(tok, "line"));
	ck_assert_uint_eq(strspn(tok, "abcdefghijklmnopqrstuvwxyz234567"), strlen(tok));
	/* the Contact's header parameters stay */
	ck_assert_int_eq(osip_list_size(&c->gen_params), 1);

	ck_assert_int_eq(sipmsg_serialize(msg, &buf, &len), 0);
	char *line = strstr(buf, "Contact: ");
	ck_assert_ptr_nonnull(line);
	assert_prefix(line, "Contact: <sip:alice@203.0.113.7:5060;snt=");
	char *eol = strstr(line, "\r\n");
	*eol = '\0';
	ck_assert_ptr_null(strstr(line, "192.168"));
	ck_assert_ptr_null(strstr(line, "198.51.100"));
	ck_assert_ptr_null(strstr(line, ";ob"));
	ck_assert_ptr_nonnull(strstr(line, "+sip.instance="));
	osip_free(buf);
	osip_message_free(msg);
}
END_TEST

/* The same Contact sealed twice gives the same token (a retransmission). */
START_TEST(masquerade_deterministic)
{
	struct netaddr nat = addr("198.51.100.7", 40312), other = addr("198.51.100.7", 40313);
	char *a = masquerade_linphone(&nat), *b = masquerade_linphone(&nat);
	char *c = masquerade_linphone(&other), *d = masquerade_linphone(NULL);

	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	ck_assert_str_ne(a, d);
	osip_free(a);
	osip_free(b);
	osip_free(c);
	osip_free(d);
}
END_TEST

/* The sample Zoiper INVITE (private Contact, no params but transport). */
START_TEST(masquerade_zoiper_sample)
{
	osip_message_t *msg = sample_parse("invite-zoiper.sip");
	osip_contact_t *c;

	ck_assert_int_eq(sip_contact_masquerade(msg, ip_of("127.0.10.1"), 5060, NULL), 0);
	c = osip_list_get(&msg->contacts, 0);
	ck_assert_str_eq(c->url->username, "bob");
	ck_assert_str_eq(c->url->host, "127.0.10.1");
	ck_assert_str_eq(c->url->port, "5060");
	ck_assert_int_eq(osip_list_size(&c->url->url_params), 1);
	ck_assert_ptr_nonnull(token_of(c->url));
	osip_message_free(msg);
}
END_TEST

/* Every Contact is masqueraded; one without a user stays without. */
START_TEST(masquerade_several)
{
	osip_message_t *msg = invite("sip:1002@pbx.example.com",
				     "Contact: <sip:alice@192.168.1.5:5062;ob>, <sip:192.168.1.5:5064>\r\n"
				     "Contact: <sips:carol@10.1.2.3>;q=0.5\r\n");
	osip_contact_t *c;

	ck_assert_int_eq(osip_list_size(&msg->contacts), 3);
	ck_assert_int_eq(sip_contact_masquerade(msg, ip_of("203.0.113.7"), 5070, NULL), 0);
	for (int i = 0; (c = osip_list_get(&msg->contacts, i)) != NULL; i++) {
		ck_assert_str_eq(c->url->host, "203.0.113.7");
		ck_assert_str_eq(c->url->port, "5070");
		ck_assert_ptr_nonnull(token_of(c->url));
	}
	ck_assert_str_eq(((osip_contact_t *)osip_list_get(&msg->contacts, 0))->url->username, "alice");
	ck_assert_ptr_null(((osip_contact_t *)osip_list_get(&msg->contacts, 1))->url->username);
	ck_assert_str_eq(((osip_contact_t *)osip_list_get(&msg->contacts, 2))->url->username, "carol");
	/* each token restores its own URI */
	struct contact_target t;
	ck_assert(sip_contact_token_decode(((osip_contact_t *)osip_list_get(&msg->contacts, 1))->url, &t));
	ck_assert_str_eq(t.uri, "sip:192.168.1.5:5064");
	ck_assert(sip_contact_token_decode(((osip_contact_t *)osip_list_get(&msg->contacts, 2))->url, &t));
	ck_assert_str_eq(t.uri, "sips:carol@10.1.2.3");
	osip_message_free(msg);
}
END_TEST

/* Toward a phone on TCP/TLS (issue 15): every masqueraded Contact says the
 * transport once, its token still restores the original URI. */
START_TEST(masquerade_then_transport)
{
	osip_message_t *msg = invite("sip:1002@pbx.example.com",
				     "Contact: <sip:pbx@192.168.0.20:5060;transport=udp>, <sip:192.168.0.20>\r\n");
	osip_uri_param_t *p;
	osip_contact_t *c;
	struct contact_target t;

	ck_assert_int_eq(sip_contact_masquerade(msg, ip_of("203.0.113.7"), 5061, NULL), 0);
	ck_assert_int_eq(sip_contact_set_transport(msg, "tls"), 0);
	/* a second call replaces, never adds */
	ck_assert_int_eq(sip_contact_set_transport(msg, "tcp"), 0);
	for (int i = 0; (c = osip_list_get(&msg->contacts, i)) != NULL; i++) {
		int n = 0;

		for (int j = 0; (p = osip_list_get(&c->url->url_params, j)) != NULL; j++)
			n += strcmp(p->gname, "transport") == 0;
		ck_assert_int_eq(n, 1);
		ck_assert_int_eq(osip_uri_param_get_byname(&c->url->url_params, (char *)"transport", &p), 0);
		ck_assert_str_eq(p->gvalue, "tcp");
		ck_assert_str_eq(c->url->port, "5061");
	}
	ck_assert(sip_contact_token_decode(((osip_contact_t *)osip_list_get(&msg->contacts, 0))->url, &t));
	ck_assert_str_eq(t.uri, "sip:pbx@192.168.0.20:5060;transport=udp");
	osip_message_free(msg);
}
END_TEST

/* "Contact: *" (a REGISTER removing every binding) is left alone. */
START_TEST(masquerade_star)
{
	osip_message_t *msg = NULL;
	const char *why = NULL;
	char *buf = NULL;
	size_t len = 0;

	ck_assert_int_eq(text_parse("REGISTER sip:pbx.example.com SIP/2.0\r\n"
				    "Via: SIP/2.0/UDP 192.168.1.5:5062;branch=z9hG4bKr1;rport\r\n"
				    "From: <sip:alice@pbx.example.com>;tag=a1\r\n"
				    "To: <sip:alice@pbx.example.com>\r\n"
				    "Call-ID: reg-star-1\r\n"
				    "CSeq: 3 REGISTER\r\n"
				    "Contact: *\r\n"
				    "Expires: 0\r\n"
				    "Max-Forwards: 70\r\n"
				    "Content-Length: 0\r\n\r\n",
				    &msg, &why),
			 SIPMSG_OK);
	ck_assert_int_eq(sip_contact_masquerade(msg, ip_of("203.0.113.7"), 5060, NULL), 0);
	ck_assert_int_eq(sipmsg_serialize(msg, &buf, &len), 0);
	ck_assert_ptr_nonnull(strstr(buf, "Contact: *\r\n"));
	ck_assert_ptr_null(strstr(buf, "snt="));
	osip_free(buf);
	osip_message_free(msg);
}
END_TEST

/* A request sent back to the masqueraded Contact gets the exact original
 * Request-URI and the NAT address. */
START_TEST(restore_with_nat)
{
	struct netaddr nat = addr("198.51.100.7", 40312);
	char *masq = masquerade_linphone(&nat);
	osip_message_t *bye = invite(masq, "");
	struct contact_target t;
	char *s;

	ck_assert_int_eq(sip_contact_restore_request_uri(bye, &t), 1);
	s = uri_str(bye->req_uri);
	ck_assert_str_eq(s, LINPHONE_URI);
	ck_assert_str_eq(t.uri, LINPHONE_URI);
	ck_assert(t.has_nat);
	ck_assert_int_eq(t.nat.family, AF_INET);
	ck_assert_uint_eq(t.nat.ip.v4.s_addr, nat.ip.v4.s_addr);
	ck_assert_uint_eq(t.nat.port, nat.port);
	osip_free(s);
	osip_message_free(bye);
	osip_free(masq);
}
END_TEST

/* Issue 20: the same round trip for a NAT address and a masquerading host
 * of each family; an IPv6 host is written in brackets, the token gives the
 * address of its own family back, and tokens of either family never open
 * as the other. */
static const struct {
	const char *own, *own_host, *nat;
	uint16_t port;
} family_cases[] = {
	{ "203.0.113.7", "203.0.113.7", "198.51.100.7", 40312 },
	{ "2001:db8:1::10", "[2001:db8:1::10]", "2001:db8:5::5", 40312 },
	{ "2001:db8:1::10", "[2001:db8:1::10]", "198.51.100.7", 5060 },
	{ "203.0.113.7", "203.0.113.7", "2001:db8:5::5", 65535 },
};

START_TEST(restore_each_family)
{
	osip_message_t *msg = invite("sip:1002@pbx.example.com", "Contact: <" LINPHONE_URI ">\r\n");
	struct netaddr nat = addr(family_cases[_i].nat, family_cases[_i].port), v4 = addr("198.51.100.7", 40312);
	struct contact_target t;
	char *masq, *s, want[128];

	ck_assert_int_eq(sip_contact_masquerade(msg, ip_of(family_cases[_i].own), 5060, &nat), 0);
	masq = contact_uri(msg, 0);
	snprintf(want, sizeof(want), "sip:alice@%s:5060;snt=", family_cases[_i].own_host);
	ck_assert_msg(strncmp(masq, want, strlen(want)) == 0, "%s", masq);
	osip_message_free(msg);
	osip_message_t *bye = invite(masq, "");
	ck_assert_int_eq(sip_contact_restore_request_uri(bye, &t), 1);
	s = uri_str(bye->req_uri);
	ck_assert_str_eq(s, LINPHONE_URI);
	ck_assert(t.has_nat);
	ck_assert(netaddr_same(&t.nat, &nat));
	if (nat.family == AF_INET6)
		ck_assert(!netaddr_same_ip(&t.nat, &v4));
	osip_free(s);
	osip_message_free(bye);
	osip_free(masq);
}
END_TEST

START_TEST(restore_without_nat)
{
	char *masq = masquerade_linphone(NULL);
	osip_message_t *req = invite(masq, "");
	struct contact_target t;
	char *s;

	ck_assert_int_eq(sip_contact_restore_request_uri(req, &t), 1);
	ck_assert(!t.has_nat);
	s = uri_str(req->req_uri);
	ck_assert_str_eq(s, LINPHONE_URI);
	osip_free(s);
	osip_message_free(req);
	osip_free(masq);
}
END_TEST

/* No token: 0, nothing changed. */
START_TEST(restore_no_token)
{
	static const char *const uris[] = {
		"sip:1002@pbx.example.com",
		LINPHONE_URI,
		"sip:alice@203.0.113.7:5060;snx=abc",
	};
	struct contact_target t;

	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		osip_message_t *req = invite(uris[i], "");
		ck_assert_int_eq(sip_contact_restore_request_uri(req, &t), 0);
		char *s = uri_str(req->req_uri);
		ck_assert_str_eq(s, uris[i]);
		osip_free(s);
		ck_assert(!sip_contact_token_decode(req->req_uri, &t));
		osip_message_free(req);
	}
}
END_TEST

/* Build "sip:alice@203.0.113.7:5060;snt=<tok>". */
static osip_message_t *with_token(const char *tok)
{
	char uri[2048];

	snprintf(uri, sizeof(uri), "sip:alice@203.0.113.7:5060;snt=%s", tok);
	return invite(uri, "");
}

/* A token changed in any one character does not verify: -1, R-URI kept. */
START_TEST(restore_altered)
{
	struct netaddr nat = addr("198.51.100.7", 40312);
	char *masq = masquerade_linphone(&nat);
	osip_message_t *orig = invite(masq, "");
	const char *tok = token_of(orig->req_uri);
	size_t len = strlen(tok);
	struct contact_target t;

	for (size_t pos = 0; pos < len; pos++) {
		char forged[1024];
		snprintf(forged, sizeof(forged), "%s", tok);
		forged[pos] = forged[pos] == 'a' ? 'b' : 'a';
		osip_message_t *req = with_token(forged);
		char *before = uri_str(req->req_uri);
		ck_assert_msg(sip_contact_restore_request_uri(req, &t) == -1, "position %zu accepted", pos);
		char *after = uri_str(req->req_uri);
		ck_assert_str_eq(after, before);
		osip_free(before);
		osip_free(after);
		osip_message_free(req);
	}
	/* truncated, extended, not base-32 (an empty ";snt=" is left out:
	 * sip_contact_restore_request_uri returns 0 for it, as for no token) */
	static const char *const junk[] = { "abc", "0189", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		osip_message_t *req = with_token(junk[i]);
		ck_assert_msg(sip_contact_restore_request_uri(req, &t) == -1, "\"%s\"", junk[i]);
		osip_message_free(req);
	}
	char cut[1024];
	snprintf(cut, sizeof(cut), "%.*s", (int)(len - 8), tok);
	osip_message_t *req = with_token(cut);
	ck_assert_int_eq(sip_contact_restore_request_uri(req, &t), -1);
	osip_message_free(req);
	osip_message_free(orig);
	osip_free(masq);
}
END_TEST

/* A token made by another process (another key): -1. */
START_TEST(restore_other_key)
{
	struct netaddr nat = addr("198.51.100.7", 40312);
	char *masq;
	struct contact_target t;

	secret_set_key(key_b);
	masq = masquerade_linphone(&nat);
	secret_set_key(key_a);
	osip_message_t *req = invite(masq, "");
	ck_assert_int_eq(sip_contact_restore_request_uri(req, &t), -1);
	char *s = uri_str(req->req_uri);
	ck_assert_str_eq(s, masq);
	osip_free(s);
	osip_message_free(req);
	/* and back under that key it opens */
	secret_set_key(key_b);
	req = invite(masq, "");
	ck_assert_int_eq(sip_contact_restore_request_uri(req, &t), 1);
	secret_set_key(key_a);
	osip_message_free(req);
	osip_free(masq);
}
END_TEST

/* A URI too long to seal is refused rather than truncated. */
/* Contacts that cannot be written back as they mean are refused, the
 * parameters real phones send are kept (the fuzzer's finding: a stray quote
 * in the URI made libosip2 read a comma as quoted; masqueraded, the Contact
 * would have split in two). */
START_TEST(masquerade_refuses_what_would_split)
{
	static const struct {
		const char *line;
		int want;
	} cases[] = {
		{ "Contact: <sip:alice@1\".0.0.5:5060>;expires=600nce=\"0a4f113b\", nc=00000001, qop=auth\r\n", -1 },
		{ "Contact: <sip:alice@10.0.0.5:5060>;x=\"open\r\n", -1 },
		{ "Contact: \"Alice, home\" <sip:alice@10.0.0.5:5060>;expires=600\r\n", 0 },
		{ "Contact: <sip:alice@10.0.0.5:5060;ob>;reg-id=1;+sip.instance=\"<urn:uuid:6a3f9c1e>\";expires=3600\r\n", 0 },
		{ "Contact: <sip:alice@10.0.0.5:5060>;methods=\"INVITE, ACK, BYE\";q=0.5;+sip.ice\r\n", 0 },
		{ "Contact: <sip:alice@[2001:db8::5]:5060>;+g.3gpp.icsi-ref=\"urn%3Aurn-7\\\"x\"\r\n", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		osip_message_t *msg = NULL;
		char text[1024];
		const char *why = NULL;
		snprintf(text, sizeof(text),
			 "INVITE sip:1002@pbx.example.com SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-q%zu\r\n"
			 "From: <sip:alice@pbx.example.com>;tag=q\r\nTo: <sip:1002@pbx.example.com>\r\n"
			 "Call-ID: quote-%zu\r\nCSeq: 1 INVITE\r\n%sContent-Length: 0\r\n\r\n", i, i, cases[i].line);
		if (text_parse(text, &msg, &why) != SIPMSG_OK) {
			ck_assert_msg(cases[i].want == -1, "case %zu does not parse: %s", i, why);
			continue;
		}
		ck_assert_msg(sip_contact_masquerade(msg, ip_of("203.0.113.7"), 5060, NULL) == cases[i].want,
			      "case %zu: %s", i, cases[i].line);
		osip_message_free(msg);
	}
}
END_TEST

START_TEST(masquerade_too_long)
{
	char lines[2048], user[700];

	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	snprintf(lines, sizeof(lines), "Contact: <sip:%s@192.168.1.5:5062>\r\n", user);
	osip_message_t *msg = invite("sip:1002@pbx.example.com", lines);
	ck_assert_int_eq(sip_contact_masquerade(msg, ip_of("203.0.113.7"), 5060, NULL), -1);
	osip_message_free(msg);
}
END_TEST

/* The token holds the URI exactly as osip_uri_to_str writes it, whichever
 * way sipnatd wrote it (plain URIs are joined without libosip2's escaping
 * pass): every combination of the parts below, plain and escaped ones alike. */
START_TEST(token_holds_osip_text)
{
	static const char *const schemes[] = { "sip", "sips", "SIP" };
	static const char *const users[] = { "", "alice@", "Bob.Smith_1@", "+4930123@", "a%20b@",
					     "!~*'()@", "bob:secret@", "bob:p%40ss@", "x%3By@" };
	static const char *const hosts[] = { "192.168.1.5", "[2001:db8::5]", "pbx.Example.com" };
	static const char *const ports[] = { "", ":5060", ":05062" };
	static const char *const params[] = { "", ";transport=udp", ";ob", ";lr;transport=TCP",
					      ";x-obr=1", ";X-OBP", ";user=phone;maddr=10.0.0.1",
					      ";p=a%3Bb", ";gr=urn:uuid:f81d4fae", ";a=~*'()",
					      ";line=abc123?subject=hi", "?h=a&j=b" };
	char uri[512], line[640];
	unsigned compared = 0;

	for (size_t a = 0; a < sizeof(schemes) / sizeof(*schemes); a++)
	for (size_t b = 0; b < sizeof(users) / sizeof(*users); b++)
	for (size_t c = 0; c < sizeof(hosts) / sizeof(*hosts); c++)
	for (size_t d = 0; d < sizeof(ports) / sizeof(*ports); d++)
	for (size_t e = 0; e < sizeof(params) / sizeof(*params); e++) {
		snprintf(uri, sizeof(uri), "%s:%s%s%s%s", schemes[a], users[b], hosts[c], ports[d],
			 params[e]);
		snprintf(line, sizeof(line), "Contact: <%s>\r\n", uri);
		osip_message_t *msg = invite("sip:1002@pbx.example.com", line);
		osip_contact_t *contact = osip_list_get(&msg->contacts, 0);
		ck_assert_ptr_nonnull(contact);
		char *want = uri_str(contact->url);
		struct contact_target t;
		ck_assert_int_eq(sip_contact_masquerade(msg, ip_of("203.0.113.7"), 5060, NULL), 0);
		ck_assert(sip_contact_token_decode(contact->url, &t));
		ck_assert_msg(strcmp(t.uri, want) == 0, "%s: token holds \"%s\", libosip2 writes \"%s\"",
			      uri, t.uri, want);
		osip_free(want);
		osip_message_free(msg);
		compared++;
	}
	ck_assert_uint_eq(compared, 3 * 9 * 3 * 3 * 12);
}
END_TEST

static void setup(void)
{
	secret_set_key(key_a);
}

static Suite *sip_contact_suite(void)
{
	Suite *s = suite_create("sip_contact");
	TCase *tc;

	tc = tcase_create("masquerade");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, masquerade_linphone_contact);
	tcase_add_test(tc, masquerade_refuses_what_would_split);
	tcase_add_test(tc, masquerade_deterministic);
	tcase_add_test(tc, masquerade_zoiper_sample);
	tcase_add_test(tc, masquerade_several);
	tcase_add_test(tc, masquerade_star);
	tcase_add_test(tc, masquerade_then_transport);
	tcase_add_test(tc, masquerade_too_long);
	tcase_add_test(tc, token_holds_osip_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("restore");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, restore_with_nat);
	tcase_add_test(tc, restore_without_nat);
	tcase_add_loop_test(tc, restore_each_family, 0, (int)(sizeof(family_cases) / sizeof(family_cases[0])));
	tcase_add_test(tc, restore_no_token);
	tcase_add_test(tc, restore_altered);
	tcase_add_test(tc, restore_other_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sipmsg_global_init();
	secret_set_key(key_a);
	sr = srunner_create(sip_contact_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	secret_free();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
