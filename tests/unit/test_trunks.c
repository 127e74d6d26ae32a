/*
 * Unit tests for trunks.c: the addresses of peers known by host, through the
 * DNS cache and a real evdns base asking a stand-in DNS server on 127.0.0.1
 * (tests/support/unit_dns.h); the cache's clock is the test's. Covered:
 * names looked up at start (literals and dynamic peers never), a datagram's
 * source matched to its trunk, the last good address kept when a refresh
 * fails, and a reload that adds a name and lets the old configuration go.
 */
#include <arpa/inet.h>
#include <check.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "dnscache.h"
#include "trunks.h"

#include "../support/unit_dns.h"
#include "../support/unit_main.h"
#include "../support/unit_udp.h"

#define WAIT_MS 3000

static struct event_base *base;
static struct unit_dns server;
static struct evdns_base *dns;
static struct dnscache *cache;
static time_t fake_now;

static const char peers_text[] =
	"general: { bindaddr = \"127.0.0.1\"; externip = \"203.0.113.7\";\n"
	"  localnet = [ \"127.0.0.2/32\" ]; pbx = \"127.0.0.2:5060\"; };\n"
	"peers: (\n"
	"  { name = \"prov1\"; host = \"sip.prov1.example:5080\"; },\n"
	"  { name = \"prov2\"; host = \"SIP.prov2.example\"; },\n"
	"  { name = \"prov6\"; host = \"sip.prov6.example\"; },\n"
	"  { name = \"literal\"; host = \"192.0.2.50\"; },\n"
	"  { name = \"phone\"; secret = \"s3cret-s3cret\"; }\n"
	");\n";

static time_t fake_clock(void)
{
	return fake_now;
}

static void setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ud_start(&server, base);
	dns = ud_evdns(&server, base, "1.0");
	cache = dnscache_new(dns);
	ck_assert_ptr_nonnull(cache);
	fake_now = 1700000000;
	dnscache_set_clock(cache, fake_clock);
}

static void teardown(void)
{
	evdns_base_free(dns, 0);
	dnscache_free(cache);
	ud_stop(&server);
	event_base_free(base);
}

static struct conf *load(const char *text)
{
	char err[CONF_ERR_MAX];
	struct conf *c = conf_load_string(text, "trunks.conf", err);

	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

/* An address literal of either family (from a ring of four, so that a
 * check may hold a few at once). */
static const struct netaddr *ip(const char *text)
{
	static struct netaddr ring[4];
	static unsigned next;
	struct netaddr *a = &ring[next++ % 4];

	ck_assert(netaddr_parse_ip(text, a));
	return a;
}

struct peer_wait {
	struct trunks *t;
	const struct conf_peer *peer;
	struct netaddr want;
};

static bool peer_has(void *arg)
{
	struct peer_wait *w = arg;
	struct netaddr a;

	return trunks_addr_cb(w->t, w->peer, &a) && netaddr_same_ip(&a, &w->want);
}

static void await_peer(struct trunks *t, const struct conf_peer *peer, const char *addr)
{
	struct peer_wait w = { t, peer, *ip(addr) };

	ck_assert_msg(uu_pump_until(base, peer_has, &w, WAIT_MS), "%s never resolved to %s", peer->name,
		      addr);
}

static bool queried(void *arg)
{
	return ud_queries(&server, arg) > 0;
}

START_TEST(names_resolved_at_start)
{
	struct conf *c = load(peers_text);
	const struct conf_peer *p1 = conf_peer_find(c, "prov1"), *p2 = conf_peer_find(c, "prov2");
	const struct conf_peer *lit = conf_peer_find(c, "literal"), *phone = conf_peer_find(c, "phone");
	struct netaddr a;

	ud_answer(&server, "sip.prov1.example", "198.51.100.1", 60);
	ud_answer(&server, "sip.prov2.example", "198.51.100.2", 60);
	ud_fail(&server, "sip.prov6.example", UD_NXDOMAIN);
	struct trunks *t = trunks_new(base, cache, c);
	ck_assert_ptr_nonnull(t);
	await_peer(t, p1, "198.51.100.1");
	await_peer(t, p2, "198.51.100.2");
	/* one query per name; none for the literal or the dynamic peer */
	ck_assert_uint_eq(ud_queries(&server, "sip.prov1.example"), 1);
	ck_assert_uint_eq(ud_queries(&server, "sip.prov2.example"), 1);
	ck_assert(uu_pump_until(base, queried, "sip.prov6.example", WAIT_MS));
	ck_assert_uint_eq(server.queries, 3);  /* prov6: NXDOMAIN, so no AAAA question */
	/* a literal is the caller's (classify, daemon): trunks has no address for it */
	ck_assert(!trunks_addr_cb(t, lit, &a));
	ck_assert(!trunks_addr_cb(t, phone, &a));
	trunks_free(t);
	conf_free(c);
}
END_TEST

START_TEST(source_matched_to_its_trunk)
{
	static const struct {
		const char *source;
		const char *peer;  /* NULL: no trunk */
	} cases[] = {
		{ "198.51.100.1", "prov1" },
		{ "198.51.100.2", "prov2" },
		{ "198.51.100.3", NULL },
		{ "192.0.2.50", NULL },     /* the literal: classify's own check */
		{ "0.0.0.0", NULL },
		{ "2001:db8:100::6", "prov6" },   /* a provider with only an AAAA record */
		{ "2001:db8:100::4", NULL },
		{ "::ffff:198.51.100.1", "prov1" }, /* v4-mapped is the IPv4 address */
	};
	struct conf *c = load(peers_text);

	ud_answer(&server, "sip.prov1.example", "198.51.100.1", 60);
	ud_answer(&server, "sip.prov2.example", "198.51.100.2", 60);
	ud_answer(&server, "sip.prov6.example", "2001:db8:100::6", 60);
	struct trunks *t = trunks_new(base, cache, c);
	await_peer(t, conf_peer_find(c, "prov1"), "198.51.100.1");
	await_peer(t, conf_peer_find(c, "prov2"), "198.51.100.2");
	await_peer(t, conf_peer_find(c, "prov6"), "2001:db8:100::6");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct conf_peer *p = trunks_match_cb(t, ip(cases[i].source));
		if (cases[i].peer) {
			ck_assert_msg(p != NULL, "%s: no trunk", cases[i].source);
			ck_assert_str_eq(p->name, cases[i].peer);
		} else {
			ck_assert_msg(p == NULL, "%s: matched %s", cases[i].source, p->name);
		}
	}
	/* without a trunks object (no DNS at all) nothing matches */
	ck_assert_ptr_null(trunks_match_cb(NULL, ip("198.51.100.1")));
	struct netaddr a;
	ck_assert(!trunks_addr_cb(NULL, conf_peer_find(c, "prov1"), &a));
	trunks_free(t);
	trunks_free(NULL);
	conf_free(c);
}
END_TEST

START_TEST(unresolved_name_matches_nothing)
{
	struct conf *c = load(peers_text);
	struct netaddr a;

	ud_fail(&server, "sip.prov1.example", UD_NXDOMAIN);
	ud_answer(&server, "sip.prov2.example", "198.51.100.2", 60);
	struct trunks *t = trunks_new(base, cache, c);
	await_peer(t, conf_peer_find(c, "prov2"), "198.51.100.2");
	ck_assert(uu_pump_until(base, queried, "sip.prov1.example", WAIT_MS));
	/* once the failure is in: negative in the cache, no address */
	struct netaddr ignored;
	for (int i = 0; i < 100 && dnscache_lookup(cache, "sip.prov1.example", &ignored, NULL, NULL) !=
					     DNSCACHE_NEGATIVE; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert(!trunks_addr_cb(t, conf_peer_find(c, "prov1"), &a));
	ck_assert_ptr_null(trunks_match_cb(t, ip("0.0.0.0")));
	trunks_free(t);
	conf_free(c);
}
END_TEST

START_TEST(failed_refresh_keeps_the_last_good_address)
{
	struct conf *c = load(peers_text);
	const struct conf_peer *p1 = conf_peer_find(c, "prov1");

	ud_answer(&server, "sip.prov1.example", "198.51.100.1", 60);
	ud_answer(&server, "sip.prov2.example", "198.51.100.2", 60);
	struct trunks *t = trunks_new(base, cache, c);
	await_peer(t, p1, "198.51.100.1");
	/* the answer goes stale; the provider's DNS is down */
	fake_now += 400;
	ud_silence(&server, "sip.prov1.example");
	ud_fail(&server, "sip.prov2.example", UD_SERVFAIL);
	trunks_reconfigure(t, c);  /* the same configuration: a refresh now */
	struct netaddr ignored;
	for (int i = 0; i < 200 && dnscache_lookup(cache, "sip.prov1.example", &ignored, NULL, NULL) !=
					     DNSCACHE_NEGATIVE; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(dnscache_lookup(cache, "sip.prov1.example", &ignored, NULL, NULL),
			 DNSCACHE_NEGATIVE);
	ck_assert_uint_eq(ud_queries(&server, "sip.prov1.example"), 2);
	/* still trusted and still reachable at the last good address */
	await_peer(t, p1, "198.51.100.1");
	await_peer(t, conf_peer_find(c, "prov2"), "198.51.100.2");
	const struct conf_peer *m = trunks_match_cb(t, ip("198.51.100.1"));
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->name, "prov1");
	trunks_free(t);
	conf_free(c);
}
END_TEST

START_TEST(reload_adds_a_name_and_drops_the_old_conf)
{
	struct conf *c1 = load(peers_text);
	struct conf *c2 = load(
		"general: { bindaddr = \"127.0.0.1\"; externip = \"203.0.113.7\";\n"
		"  localnet = [ \"127.0.0.2/32\" ]; pbx = \"127.0.0.2:5060\"; };\n"
		"peers: ( { name = \"prov3\"; host = \"sip.prov3.example\"; } );\n");

	ud_answer(&server, "sip.prov1.example", "198.51.100.1", 60);
	ud_answer(&server, "sip.prov2.example", "198.51.100.2", 60);
	ud_answer(&server, "sip.prov3.example", "198.51.100.3", 60);
	struct trunks *t = trunks_new(base, cache, c1);
	await_peer(t, conf_peer_find(c1, "prov1"), "198.51.100.1");
	ck_assert_uint_eq(ud_queries(&server, "sip.prov3.example"), 0);
	trunks_reconfigure(t, c2);
	conf_free(c1);  /* the header allows it: trunks keeps nothing of it */
	await_peer(t, conf_peer_find(c2, "prov3"), "198.51.100.3");
	const struct conf_peer *m = trunks_match_cb(t, ip("198.51.100.3"));
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->name, "prov3");
	/* prov1 is no trunk any more, though its answer is still cached */
	ck_assert_ptr_null(trunks_match_cb(t, ip("198.51.100.1")));
	trunks_free(t);
	conf_free(c2);
}
END_TEST

static Suite *trunks_suite(void)
{
	Suite *s = suite_create("trunks");
	TCase *tc = tcase_create("trunks");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, names_resolved_at_start);
	tcase_add_test(tc, source_matched_to_its_trunk);
	tcase_add_test(tc, unresolved_name_matches_nothing);
	tcase_add_test(tc, failed_refresh_keeps_the_last_good_address);
	tcase_add_test(tc, reload_adds_a_name_and_drops_the_old_conf);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(trunks_suite)
