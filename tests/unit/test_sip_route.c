/*
 * Unit tests for sip_route.c: where a request goes (design section 5,
 * "Routing"). Above all the open-relay rule: whatever a request from the LAN,
 * a trunk or the Internet names, it goes to the PBX and nowhere else.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "conf.h"
#include "netaddr.h"
#include "secret.h"
#include "sip_contact.h"
#include "sip_route.h"
#include "sip_samples.h"
#include "sipmsg.h"

static const uint8_t key_a[SECRET_KEY_LEN] = "sipnatd unit test key, 32 bytes";
static const uint8_t key_b[SECRET_KEY_LEN] = "another process key, 32 bytes!!";

static const char conf_text[] =
	"general: {\n"
	"  localnet = [ \"127.0.10.0/24\" ];\n"
	"  pbx = \"127.0.10.2:5080\";\n"
	"  externip = \"203.0.113.7\";\n"
	"};\n"
	"peers: (\n"
	"  { name = \"alice\"; secret = \"Wq8#pLz2\"; },\n"
	"  { name = \"bob\"; secret = \"Bx7!kR4m\"; },\n"
	"  { name = \"carol\"; secret = \"Cv3$hT9n\"; },\n"
	"  { name = \"carrier\"; host = \"198.51.100.20:5070\"; },\n"
	"  { name = \"carrier6\"; host = \"[2001:db8:20::20]:5070\"; },\n"
	"  { name = \"dave\"; secret = \"Dv5%mQ2w\"; },\n"
	"  { name = \"itsp\"; host = \"sip.itsp.example\"; }\n"
	");\n";

#define ALICE_CONTACT "sip:alice@192.168.1.5:5062;line=abc;ob;transport=udp"
#define ALICE_NAT_IP "198.51.100.7"
#define ALICE_NAT_PORT 40312

static struct conf *conf;
static struct route_self self;
static bool itsp_resolved;
static int binding_calls;

static struct netaddr ip_of(const char *ip)
{
	struct netaddr a;

	ck_assert_msg(netaddr_parse_ip(ip, &a), "%s", ip);
	return a;
}

static struct netaddr addr_of(const char *ip, uint16_t port)
{
	struct netaddr a = ip_of(ip);

	a.port = port;
	return a;
}

static bool trunk_addr_cb(void *arg, const struct conf_peer *peer, struct netaddr *out)
{
	ck_assert_ptr_eq(arg, &itsp_resolved);
	if (!itsp_resolved || strcmp(peer->name, "itsp") != 0)
		return false;
	ck_assert(netaddr_parse_ip("198.51.100.40", out));
	return true;
}

/* alice and carol are registered, bob is not. */
static bool binding_of_cb(void *arg, const struct conf_peer *peer, const char **contact,
			  struct netaddr *nat)
{
	ck_assert_ptr_eq(arg, &binding_calls);
	binding_calls++;
	if (strcmp(peer->name, "alice") == 0) {
		*contact = ALICE_CONTACT;
		*nat = addr_of(ALICE_NAT_IP, ALICE_NAT_PORT);
		return true;
	}
	if (strcmp(peer->name, "carol") == 0) {
		*contact = "sip:carol@10.0.0.9:5060";
		*nat = addr_of("198.51.100.9", 5060);
		return true;
	}
	if (strcmp(peer->name, "dave") == 0) {
		/* registered over IPv6 (issue 20) */
		*contact = "sip:dave@[2001:db8:5::9]:5062";
		*nat = addr_of("2001:db8:5::9", 5062);
		return true;
	}
	return false;
}

/* carol stopped answering OPTIONS. */
static bool unreachable_cb(void *arg, const struct conf_peer *peer)
{
	ck_assert_ptr_null(arg);
	return strcmp(peer->name, "carol") == 0;
}

static void setup(void)
{
	char err[CONF_ERR_MAX];

	secret_set_key(key_a);
	conf = conf_load_string(conf_text, "route.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	memset(&self, 0, sizeof(self));
	self.conf = conf;
	self.lan_addr = ip_of("127.0.10.1");
	self.have_lan_addr = true;
	self.ext_addr = ip_of("203.0.113.7");
	self.have_ext_addr = true;
	self.port = 5060;
	self.trunk_addr = trunk_addr_cb;
	self.trunk_arg = &itsp_resolved;
	self.binding_of = binding_of_cb;
	self.binding_arg = &binding_calls;
	self.unreachable = unreachable_cb;
	self.unreachable_arg = NULL;
	itsp_resolved = false;
	binding_calls = 0;
}

static void teardown(void)
{
	conf_free(conf);
	conf = NULL;
}

/* An INVITE to ruri with optional Route lines and To tag. */
static osip_message_t *invite(const char *ruri, const char *route_lines, const char *to_tag)
{
	char text[8192];
	osip_message_t *msg = NULL;
	const char *why = NULL;
	enum sipmsg_status st;

	snprintf(text, sizeof(text),
		 "INVITE %s SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.10.2:5080;rport;branch=z9hG4bKPj6c1d7b0e-3f62;received=127.0.10.2\r\n"
		 "%s"
		 "From: \"Carrier\" <sip:+4930123456@127.0.10.2>;tag=a7f2c81e\r\n"
		 "To: <sip:alice@127.0.10.2>%s%s\r\n"
		 "Contact: <sip:asterisk@127.0.10.2:5080>\r\n"
		 "Call-ID: 1f8e2b84-3c2d-4d5a-9e6f-7a8b9c0d1e2f\r\n"
		 "CSeq: 12873 INVITE\r\n"
		 "Max-Forwards: 69\r\n"
		 "User-Agent: Asterisk PBX 20.5.2\r\n"
		 "Content-Length: 0\r\n\r\n",
		 ruri, route_lines ? route_lines : "", to_tag ? ";tag=" : "", to_tag ? to_tag : "");
	st = text_parse(text, &msg, &why);
	ck_assert_msg(st == SIPMSG_OK, "%s: %s", sipmsg_status_name(st), why);
	return msg;
}

/* The masqueraded URI for contact (with or without a NAT address), as
 * sipnatd would have put it into a Contact: osip_free. */
static char *token_uri_for(const char *contact, bool with_nat, const uint8_t *key)
{
	osip_message_t *msg = invite("sip:alice@127.0.10.1", NULL, NULL);
	struct netaddr nat = addr_of(ALICE_NAT_IP, ALICE_NAT_PORT), own = ip_of("203.0.113.7");
	osip_contact_t *c;
	osip_uri_t *uri = NULL;
	char *s = NULL;

	if (key)
		secret_set_key(key);
	ck_assert_int_eq(osip_uri_init(&uri), 0);
	ck_assert_int_eq(osip_uri_parse(uri, contact), 0);
	ck_assert_int_eq(osip_contact_init(&c), 0);
	c->url = uri;
	osip_list_special_free(&msg->contacts, (void (*)(void *))osip_contact_free);
	osip_list_init(&msg->contacts);
	ck_assert_int_ge(osip_list_add(&msg->contacts, c, -1), 0);
	ck_assert_int_eq(sip_contact_masquerade(msg, &own, 5060, with_nat ? &nat : NULL), 0);
	ck_assert_int_eq(osip_uri_to_str(c->url, &s), 0);
	osip_message_free(msg);
	secret_set_key(key_a);
	return s;
}

static char *token_uri(bool with_nat, const uint8_t *key)
{
	return token_uri_for(ALICE_CONTACT, with_nat, key);
}

static char *ruri_of(const osip_message_t *req)
{
	char *s = NULL;

	ck_assert_int_eq(osip_uri_to_str(req->req_uri, &s), 0);
	return s;
}

static void assert_forward(const struct route_decision *d, const char *want)
{
	char buf[NETADDR_TEXT_MAX];

	ck_assert_msg(d->action == ROUTE_FORWARD, "action %d status %d (%s)", d->action, d->status,
		      d->why ? d->why : "");
	ck_assert_str_eq(netaddr_print(&d->dest, buf), want);
	ck_assert_ptr_nonnull(d->why);
}

static void assert_respond(const struct route_decision *d, int status)
{
	ck_assert_msg(d->action == ROUTE_RESPOND, "action %d (%s)", d->action, d->why ? d->why : "");
	ck_assert_int_eq(d->status, status);
	ck_assert_ptr_nonnull(d->why);
}

static void assert_lookup(const struct route_decision *d, const char *host, uint16_t port)
{
	ck_assert_msg(d->action == ROUTE_LOOKUP, "action %d status %d", d->action, d->status);
	ck_assert_str_eq(d->host, host);
	ck_assert_uint_eq(d->port, port);
}

/* ---- the open-relay rule ---- */

static const enum source_kind outsiders[] = { SOURCE_LAN, SOURCE_TRUNK, SOURCE_INTERNET };

/* Request-URI and Route of requests that, from the PBX, would go elsewhere.
 * "TOKEN" stands for a valid masqueraded URI with a NAT address. */
static const struct {
	const char *ruri;
	const char *routes;
} elsewhere[] = {
	{ "sip:alice@127.0.10.1:5060", NULL },                 /* a registered peer */
	{ "sip:alice@203.0.113.7", NULL },
	{ "sip:carrier@127.0.10.1", NULL },                    /* a trunk */
	{ "sip:itsp@127.0.10.1", NULL },
	{ "sip:nobody@127.0.10.1", NULL },                     /* unknown */
	{ "sip:+4930123456@198.51.100.99:5090", NULL },        /* an Internet host */
	{ "sip:victim@192.0.2.66", NULL },
	{ "sip:1002@sip.victim.example", NULL },               /* a name */
	{ "sip:1002@127.0.0.1:22", NULL },                     /* loopback service */
	{ "sip:1002@127.0.10.5:5060", NULL },                  /* another LAN host */
	{ "sip:1002@127.0.10.1:5060", "Route: <sip:198.51.100.99:5090;lr>\r\n" },
	{ "sip:1002@127.0.10.1:5060", "Route: <sip:127.0.10.1:5060;lr>, <sip:192.0.2.66;lr>\r\n" },
	{ "sip:1002@127.0.10.1:5060", "Route: <sip:proxy.victim.example;lr>\r\n" },
	{ "TOKEN", NULL },
	{ "TOKEN", "Route: <sip:192.0.2.66;lr>\r\n" },
};

START_TEST(outsiders_only_reach_pbx)
{
	size_t n = sizeof(elsewhere) / sizeof(elsewhere[0]);
	const enum source_kind kind = outsiders[_i / n];
	const char *ruri = elsewhere[_i % n].ruri;
	char *tok = NULL;
	struct route_decision d;

	if (strcmp(ruri, "TOKEN") == 0)
		ruri = tok = token_uri(true, NULL);
	osip_message_t *req = invite(ruri, elsewhere[_i % n].routes, NULL);
	sip_route_request(&self, kind, req, &d);
	assert_forward(&d, "127.0.10.2:5080");
	/* and no callback about peers was even needed */
	ck_assert_int_eq(binding_calls, 0);
	osip_message_free(req);
	osip_free(tok);
}
END_TEST

/* The same with the To tag of an in-dialog request. */
START_TEST(outsiders_in_dialog_reach_pbx)
{
	char *tok = token_uri(true, NULL);
	struct route_decision d;

	for (size_t k = 0; k < sizeof(outsiders) / sizeof(outsiders[0]); k++) {
		osip_message_t *req = invite(tok, NULL, "as5f2c1e0d");
		sip_route_request(&self, outsiders[k], req, &d);
		assert_forward(&d, "127.0.10.2:5080");
		osip_message_free(req);
		req = invite("sip:alice@198.51.100.7:40312", "Route: <sip:203.0.113.7;lr>\r\n", "as5f2c1e0d");
		sip_route_request(&self, outsiders[k], req, &d);
		assert_forward(&d, "127.0.10.2:5080");
		osip_message_free(req);
	}
	osip_free(tok);
}
END_TEST

/* ---- from the PBX ---- */

/* A token with a NAT address: there, with the original Request-URI. */
START_TEST(pbx_token_to_nat)
{
	char *tok = token_uri(true, NULL);
	osip_message_t *req = invite(tok, NULL, "as5f2c1e0d");
	struct route_decision d;
	char *s;

	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_forward(&d, ALICE_NAT_IP ":40312");
	s = ruri_of(req);
	ck_assert_str_eq(s, ALICE_CONTACT);
	osip_free(s);
	osip_message_free(req);
	osip_free(tok);
}
END_TEST

/* Our own Route first (record-routed dialog), then the token. */
START_TEST(pbx_token_after_own_route)
{
	char *tok = token_uri(true, NULL);
	osip_message_t *req = invite(tok, "Route: <sip:127.0.10.1:5060;lr>\r\n", "as5f2c1e0d");
	struct route_decision d;

	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_forward(&d, ALICE_NAT_IP ":40312");
	ck_assert_int_eq(osip_list_size(&req->routes), 0);
	osip_message_free(req);
	osip_free(tok);
}
END_TEST

/* A token without NAT address is one of the PBX's own Contacts. */
START_TEST(pbx_token_without_nat)
{
	char *tok = token_uri(false, NULL);
	osip_message_t *req = invite(tok, NULL, "as5f2c1e0d");
	struct route_decision d;

	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_respond(&d, 482);
	osip_message_free(req);
	osip_free(tok);
}
END_TEST

/* A token we did not make: 404 outside a dialog, 481 inside one. */
START_TEST(bad_token)
{
	char *other = token_uri(true, key_b);
	char *good = token_uri(true, NULL);
	char altered[2048];
	struct route_decision d;

	snprintf(altered, sizeof(altered), "%s", good);
	char *p = strstr(altered, "snt=") + 4 + 5;
	*p = *p == 'a' ? 'b' : 'a';
	const char *const bad[] = { other, altered, "sip:alice@203.0.113.7:5060;snt=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	const enum source_kind kinds[] = { SOURCE_PBX, SOURCE_LAN, SOURCE_TRUNK, SOURCE_INTERNET };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			osip_message_t *req = invite(bad[i], NULL, NULL);
			sip_route_request(&self, kinds[k], req, &d);
			assert_respond(&d, 404);
			osip_message_free(req);
			req = invite(bad[i], NULL, "as5f2c1e0d");
			sip_route_request(&self, kinds[k], req, &d);
			assert_respond(&d, 481);
			osip_message_free(req);
		}
	}
	osip_free(other);
	osip_free(good);
}
END_TEST

/* sip:alice@us: to the NAT address her REGISTER came from, addressed to the
 * contact she registered. Either of our addresses, port given or not. */
START_TEST(pbx_registered_peer)
{
	static const char *const ruris[] = {
		"sip:alice@127.0.10.1:5060", "sip:alice@127.0.10.1", "sip:alice@203.0.113.7",
		"sip:alice@203.0.113.7:5060;transport=udp",
	};
	struct route_decision d;

	for (size_t i = 0; i < sizeof(ruris) / sizeof(ruris[0]); i++) {
		osip_message_t *req = invite(ruris[i], NULL, NULL);
		sip_route_request(&self, SOURCE_PBX, req, &d);
		assert_forward(&d, ALICE_NAT_IP ":40312");
		ck_assert_ptr_eq(d.peer, conf_peer_find(conf, "alice"));
		char *s = ruri_of(req);
		ck_assert_str_eq(s, ALICE_CONTACT);
		osip_free(s);
		osip_message_free(req);
	}
}
END_TEST

START_TEST(pbx_not_registered)
{
	osip_message_t *req = invite("sip:bob@127.0.10.1:5060", NULL, NULL);
	struct route_decision d;

	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_respond(&d, 480);
	ck_assert_ptr_eq(d.peer, conf_peer_find(conf, "bob"));
	ck_assert_int_eq(binding_calls, 1);
	osip_message_free(req);

	/* with no registrar at all, nobody is registered */
	self.binding_of = NULL;
	req = invite("sip:alice@127.0.10.1:5060", NULL, NULL);
	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_respond(&d, 480);
	osip_message_free(req);
}
END_TEST

START_TEST(pbx_unknown_peer)
{
	static const char *const ruris[] = { "sip:nobody@127.0.10.1:5060", "sip:127.0.10.1:5060",
					     "sip:Alice@127.0.10.1" };
	struct route_decision d;

	for (size_t i = 0; i < sizeof(ruris) / sizeof(ruris[0]); i++) {
		osip_message_t *req = invite(ruris[i], NULL, NULL);
		sip_route_request(&self, SOURCE_PBX, req, &d);
		assert_respond(&d, 404);
		ck_assert_ptr_null(d.peer);
		osip_message_free(req);
	}
}
END_TEST

/* carol is registered but stopped answering: 480 at once. */
START_TEST(pbx_unreachable_peer)
{
	osip_message_t *req = invite("sip:carol@127.0.10.1:5060", NULL, NULL);
	struct route_decision d;

	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_respond(&d, 480);
	ck_assert_ptr_eq(d.peer, conf_peer_find(conf, "carol"));
	osip_message_free(req);

	/* without qualify she is reached */
	self.unreachable = NULL;
	req = invite("sip:carol@127.0.10.1:5060", NULL, NULL);
	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_forward(&d, "198.51.100.9:5060");
	char *s = ruri_of(req);
	ck_assert_str_eq(s, "sip:carol@10.0.0.9:5060");
	osip_free(s);
	osip_message_free(req);
}
END_TEST

START_TEST(pbx_trunk_literal)
{
	osip_message_t *req = invite("sip:carrier@127.0.10.1:5060", NULL, NULL);
	struct route_decision d;

	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_forward(&d, "198.51.100.20:5070");
	ck_assert_ptr_eq(d.peer, conf_peer_find(conf, "carrier"));
	ck_assert_int_eq(binding_calls, 0);
	osip_message_free(req);
}
END_TEST

START_TEST(pbx_trunk_by_name)
{
	osip_message_t *req = invite("sip:itsp@127.0.10.1:5060", NULL, NULL);
	struct route_decision d;

	/* not resolved yet: look it up */
	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_lookup(&d, "sip.itsp.example", 5060);
	ck_assert_ptr_eq(d.peer, conf_peer_find(conf, "itsp"));
	osip_message_free(req);

	/* no resolver callback at all: the same */
	self.trunk_addr = NULL;
	req = invite("sip:itsp@127.0.10.1:5060", NULL, NULL);
	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_lookup(&d, "sip.itsp.example", 5060);
	osip_message_free(req);

	/* resolved: straight there */
	self.trunk_addr = trunk_addr_cb;
	itsp_resolved = true;
	req = invite("sip:itsp@127.0.10.1:5060", NULL, NULL);
	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_forward(&d, "198.51.100.40:5060");
	ck_assert_ptr_eq(d.peer, conf_peer_find(conf, "itsp"));
	osip_message_free(req);
}
END_TEST

/* A Request-URI naming another host: there (the PBX dials out itself). */
START_TEST(pbx_ruri_elsewhere)
{
	static const struct {
		const char *ruri;
		const char *dest;
	} cases[] = {
		{ "sip:+4930123456@198.51.100.99:5090", "198.51.100.99:5090" },
		{ "sip:+4930123456@198.51.100.99", "198.51.100.99:5060" },
		{ "sip:alice@127.0.10.1:5070", "127.0.10.1:5070" },  /* our address, not our port */
		{ "sip:alice@192.168.1.5:5062;transport=udp", "192.168.1.5:5062" },
	};
	struct route_decision d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		osip_message_t *req = invite(cases[i].ruri, NULL, NULL);
		sip_route_request(&self, SOURCE_PBX, req, &d);
		assert_forward(&d, cases[i].dest);
		char *s = ruri_of(req);
		ck_assert_str_eq(s, cases[i].ruri);
		osip_free(s);
		osip_message_free(req);
	}
}
END_TEST

START_TEST(pbx_ruri_name)
{
	osip_message_t *req = invite("sip:+4930123456@sip.example.net", NULL, NULL);
	struct route_decision d;

	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_lookup(&d, "sip.example.net", 5060);
	osip_message_free(req);
	req = invite("sip:+4930123456@sip.example.net:5080", NULL, NULL);
	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_lookup(&d, "sip.example.net", 5080);
	osip_message_free(req);
}
END_TEST

/* Loose routing: our own Route is removed, the next one decides the hop and
 * stays for the next proxy; the Request-URI is kept. */
START_TEST(pbx_loose_route)
{
	osip_message_t *req = invite("sip:alice@192.168.1.5:5062",
				     "Route: <sip:127.0.10.1:5060;lr>, <sip:198.51.100.30:5062;lr>\r\n", "t1");
	struct route_decision d;

	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_forward(&d, "198.51.100.30:5062");
	ck_assert_int_eq(osip_list_size(&req->routes), 1);
	osip_route_t *r = osip_list_get(&req->routes, 0);
	ck_assert_str_eq(r->url->host, "198.51.100.30");
	char *s = ruri_of(req);
	ck_assert_str_eq(s, "sip:alice@192.168.1.5:5062");
	osip_free(s);
	osip_message_free(req);

	/* both our addresses, on separate Route headers, are popped */
	req = invite("sip:alice@192.168.1.5:5062",
		     "Route: <sip:203.0.113.7;lr>\r\nRoute: <sip:127.0.10.1:5060;lr>\r\nRoute: <sip:proxy.example.net;lr>\r\n", "t1");
	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_lookup(&d, "proxy.example.net", 5060);
	ck_assert_int_eq(osip_list_size(&req->routes), 1);
	osip_message_free(req);

	/* only our Route: popped, the Request-URI decides (a peer of ours) */
	req = invite("sip:alice@127.0.10.1:5060", "Route: <sip:127.0.10.1:5060;lr>\r\n", NULL);
	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_forward(&d, ALICE_NAT_IP ":40312");
	ck_assert_int_eq(osip_list_size(&req->routes), 0);
	osip_message_free(req);

	/* a Route naming another port of ours is not ours */
	req = invite("sip:alice@127.0.10.1:5060", "Route: <sip:127.0.10.1:5070;lr>\r\n", NULL);
	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_forward(&d, "127.0.10.1:5070");
	ck_assert_int_eq(osip_list_size(&req->routes), 1);
	osip_message_free(req);
}
END_TEST

/* Outsiders' Route headers naming us are popped too (and they still only
 * reach the PBX). */
START_TEST(outsider_own_route_popped)
{
	osip_message_t *req = invite("sip:1002@pbx.example.com", "Route: <sip:203.0.113.7:5060;lr>\r\n", NULL);
	struct route_decision d;

	sip_route_request(&self, SOURCE_INTERNET, req, &d);
	assert_forward(&d, "127.0.10.2:5080");
	ck_assert_int_eq(osip_list_size(&req->routes), 0);
	osip_message_free(req);
}
END_TEST


/* Issue 11, gap 4: what an outsider names is not passed on. The PBX gets no
 * Route, and a Request-URI with the PBX's address, the user kept. */
START_TEST(outsiders_reach_pbx_as_pbx)
{
	size_t n = sizeof(elsewhere) / sizeof(elsewhere[0]);
	const enum source_kind kind = outsiders[_i / n];
	const char *ruri = elsewhere[_i % n].ruri;
	char *tok = NULL, want_user[64] = "";
	struct route_decision d;

	if (strcmp(ruri, "TOKEN") == 0)
		ruri = tok = token_uri(true, NULL);
	osip_uri_t *given = NULL;
	ck_assert_int_eq(osip_uri_init(&given), 0);
	ck_assert_int_eq(osip_uri_parse(given, tok ? ALICE_CONTACT : ruri), 0);
	snprintf(want_user, sizeof(want_user), "%s", given->username ? given->username : "");
	osip_uri_free(given);

	osip_message_t *req = invite(ruri, elsewhere[_i % n].routes, NULL);
	sip_route_request(&self, kind, req, &d);
	assert_forward(&d, "127.0.10.2:5080");
	ck_assert_int_eq(osip_list_size(&req->routes), 0);
	ck_assert_str_eq(req->req_uri->host, "127.0.10.2");
	ck_assert_str_eq(req->req_uri->port, "5080");
	ck_assert_str_eq(req->req_uri->username, want_user);
	char *s = ruri_of(req);
	ck_assert_ptr_null(strstr(s, "snt="));
	osip_free(s);
	osip_message_free(req);
	osip_free(tok);
}
END_TEST

/* What the Request-URI keeps and loses on the way to the PBX. */
START_TEST(outsider_request_uri_forms)
{
	static const struct {
		const char *ruri, *routes, *want;
	} cases[] = {
		{ "sip:1002@198.51.100.99:5090;user=phone;maddr=192.0.2.66",
		  "Route: <sip:198.51.100.99;lr>, <sip:203.0.113.7;lr>\r\n",
		  "sip:1002@127.0.10.2:5080;user=phone" },
		{ "sip:+4930123456:pw@sip.victim.example", NULL, "sip:+4930123456@127.0.10.2:5080" },
		{ "sip:1002@127.0.10.2:5080", NULL, "sip:1002@127.0.10.2:5080" },
		{ "sip:203.0.113.7", NULL, "sip:127.0.10.2:5080" },
		/* a phone on TCP/TLS: the PBX is reached over UDP (issue 15) */
		{ "sip:100@203.0.113.7;transport=tcp", NULL, "sip:100@127.0.10.2:5080" },
		{ "sip:100@203.0.113.7:5061;transport=TLS;user=phone", NULL,
		  "sip:100@127.0.10.2:5080;user=phone" },
		{ "tel:+4930123456", "Route: <sip:192.0.2.66;lr>\r\n", "tel:+4930123456" },
	};
	struct route_decision d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		osip_message_t *req = invite(cases[i].ruri, cases[i].routes, NULL);
		sip_route_request(&self, SOURCE_INTERNET, req, &d);
		assert_forward(&d, "127.0.10.2:5080");
		ck_assert_int_eq(osip_list_size(&req->routes), 0);
		char *s = ruri_of(req);
		ck_assert_str_eq(s, cases[i].want);
		osip_free(s);
		osip_message_free(req);
	}
}
END_TEST

/* In-dialog from the Internet: the token of one of the PBX's own Contacts
 * (a 200 OK's Contact masqueraded toward the phone) comes back restored,
 * still the PBX's own Contact, and the dialog goes on. */
START_TEST(outsider_in_dialog_token_of_pbx)
{
	char *tok = token_uri_for("sip:asterisk@127.0.10.2:5080;transport=udp", false, NULL);
	osip_message_t *req = invite(tok, "Route: <sip:203.0.113.7:5060;lr>\r\n", "as5f2c1e0d");
	struct route_decision d;

	sip_route_request(&self, SOURCE_INTERNET, req, &d);
	assert_forward(&d, "127.0.10.2:5080");
	char *s = ruri_of(req);
	ck_assert_str_eq(s, "sip:asterisk@127.0.10.2:5080;transport=udp");
	osip_free(s);
	ck_assert_int_eq(osip_list_size(&req->routes), 0);
	osip_message_free(req);
	osip_free(tok);
}
END_TEST

START_TEST(uri_is_self)
{
	static const struct {
		const char *uri;
		bool self;
	} cases[] = {
		{ "sip:127.0.10.1", true },
		{ "sip:127.0.10.1:5060", true },
		{ "sip:alice@203.0.113.7:5060;lr", true },
		{ "sip:127.0.10.1:5070", false },
		{ "sip:127.0.10.2:5060", false },
		{ "sip:203.0.113.8", false },
		{ "sip:sipnatd.example.net", false },
		{ "sip:127.0.10.1:99999", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		osip_uri_t *uri = NULL;
		ck_assert_int_eq(osip_uri_init(&uri), 0);
		ck_assert_int_eq(osip_uri_parse(uri, cases[i].uri), 0);
		ck_assert_msg(sip_route_uri_is_self(&self, uri) == cases[i].self, "%s", cases[i].uri);
		osip_uri_free(uri);
	}
	ck_assert(!sip_route_uri_is_self(&self, NULL));
	/* without a known external address, only the LAN one is ours */
	self.have_ext_addr = false;
	osip_uri_t *uri = NULL;
	ck_assert_int_eq(osip_uri_init(&uri), 0);
	ck_assert_int_eq(osip_uri_parse(uri, "sip:203.0.113.7"), 0);
	ck_assert(!sip_route_uri_is_self(&self, uri));
	osip_uri_free(uri);
}
END_TEST

/* Issue 20: the same routing rules for addresses of either family. The PBX
 * reaches a trunk or a Request-URI literal of either family, and a phone
 * at the NAT address of its registration, whatever its family. */
static const struct {
	const char *ruri, *dest;
} family_cases[] = {
	{ "sip:carrier@127.0.10.1:5060", "198.51.100.20:5070" },
	{ "sip:carrier6@127.0.10.1:5060", "[2001:db8:20::20]:5070" },
	{ "sip:alice@127.0.10.1", ALICE_NAT_IP ":40312" },
	{ "sip:dave@127.0.10.1", "[2001:db8:5::9]:5062" },
	{ "sip:+4930123456@198.51.100.99:5090", "198.51.100.99:5090" },
	{ "sip:+4930123456@[2001:db8::99]:5090", "[2001:db8::99]:5090" },
	{ "sip:+4930123456@[2001:db8::99]", "[2001:db8::99]:5060" },
};

START_TEST(pbx_reaches_each_family)
{
	osip_message_t *req = invite(family_cases[_i].ruri, NULL, NULL);
	struct route_decision d;

	sip_route_request(&self, SOURCE_PBX, req, &d);
	assert_forward(&d, family_cases[_i].dest);
	osip_message_free(req);
}
END_TEST

/* An outsider on IPv6 reaches only the PBX, like one on IPv4; a PBX with an
 * IPv6 address is named in brackets in the Request-URI. */
START_TEST(outsider_reaches_ipv6_pbx)
{
	char err[CONF_ERR_MAX];
	struct conf *c6 = conf_load_string("general: { localnet = [ \"127.0.10.0/24\" ];\n"
					   "  pbx = \"[2001:db8:9::2]:5080\"; externip = \"203.0.113.7\"; };\n",
					   "route6.conf", err);
	ck_assert_msg(c6 != NULL, "%s", err);
	osip_message_t *req = invite("sip:+4930123456@198.51.100.99:5090;maddr=198.51.100.98", NULL, NULL);
	struct route_decision d;

	self.conf = c6;
	sip_route_request(&self, SOURCE_INTERNET, req, &d);
	assert_forward(&d, "[2001:db8:9::2]:5080");
	char *s = ruri_of(req);
	ck_assert_str_eq(s, "sip:+4930123456@[2001:db8:9::2]:5080");
	osip_free(s);
	osip_message_free(req);
	self.conf = conf;
	conf_free(c6);
}
END_TEST

/* sipnatd's IPv6 address (externip's, when known) is itself, by value. */
START_TEST(uri_is_self6)
{
	static const struct {
		const char *uri;
		bool self;
	} cases[] = {
		{ "sip:[2001:db8:1::10]", true },
		{ "sip:[2001:DB8:1:0::10]:5060;lr", true },
		{ "sip:[2001:db8:1::10]:5070", false },
		{ "sip:[2001:db8:1::11]", false },
		{ "sip:[::ffff:203.0.113.7]", true },  /* v4-mapped: the IPv4 address */
	};

	self.ext6_addr = ip_of("2001:db8:1::10");
	self.have_ext6_addr = true;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		osip_uri_t *uri = NULL;
		ck_assert_int_eq(osip_uri_init(&uri), 0);
		ck_assert_int_eq(osip_uri_parse(uri, cases[i].uri), 0);
		ck_assert_msg(sip_route_uri_is_self(&self, uri) == cases[i].self, "%s", cases[i].uri);
		osip_uri_free(uri);
	}
}
END_TEST

static Suite *sip_route_suite(void)
{
	Suite *s = suite_create("sip_route");
	TCase *tc;

	tc = tcase_create("open_relay");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, outsiders_only_reach_pbx, 0,
			    (int)(sizeof(outsiders) / sizeof(outsiders[0]) * sizeof(elsewhere) / sizeof(elsewhere[0])));
	tcase_add_test(tc, outsiders_in_dialog_reach_pbx);
	tcase_add_test(tc, outsider_own_route_popped);
	tcase_add_loop_test(tc, outsiders_reach_pbx_as_pbx, 0,
			    (int)(sizeof(outsiders) / sizeof(outsiders[0]) * sizeof(elsewhere) / sizeof(elsewhere[0])));
	tcase_add_test(tc, outsider_request_uri_forms);
	tcase_add_test(tc, outsider_in_dialog_token_of_pbx);
	suite_add_tcase(s, tc);

	tc = tcase_create("from_pbx");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pbx_token_to_nat);
	tcase_add_test(tc, pbx_token_after_own_route);
	tcase_add_test(tc, pbx_token_without_nat);
	tcase_add_test(tc, bad_token);
	tcase_add_test(tc, pbx_registered_peer);
	tcase_add_test(tc, pbx_not_registered);
	tcase_add_test(tc, pbx_unknown_peer);
	tcase_add_test(tc, pbx_unreachable_peer);
	tcase_add_test(tc, pbx_trunk_literal);
	tcase_add_test(tc, pbx_trunk_by_name);
	tcase_add_test(tc, pbx_ruri_elsewhere);
	tcase_add_test(tc, pbx_ruri_name);
	tcase_add_test(tc, pbx_loose_route);
	tcase_add_test(tc, uri_is_self);
	tcase_add_loop_test(tc, pbx_reaches_each_family, 0, (int)(sizeof(family_cases) / sizeof(family_cases[0])));
	tcase_add_test(tc, outsider_reaches_ipv6_pbx);
	tcase_add_test(tc, uri_is_self6);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sipmsg_global_init();
	secret_set_key(key_a);
	sr = srunner_create(sip_route_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	secret_free();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
