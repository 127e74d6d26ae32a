/*
 * Unit tests for externaddr.c: the external address from externip, or from
 * externhost through a real evdns base asking a stand-in DNS server on
 * 127.0.0.1 (tests/support/unit_dns.h), refreshed every externrefresh
 * seconds (1 s here). Covered: a fixed address at once and without DNS, a
 * name resolved, the last good address kept through NXDOMAIN, SERVFAIL and
 * a silent server (R13), failures counted, a changed address adopted, and
 * reloads to a fixed address, to the same name and to another name
 * (including an answer for the old name that arrives after the reload).
 */
#include <arpa/inet.h>
#include <check.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "externaddr.h"
#include "netaddr.h"

#include "../support/unit_dns.h"
#include "../support/unit_main.h"
#include "../support/unit_udp.h"

#define WAIT_MS 4000

static struct event_base *base;
static struct unit_dns server;
static struct evdns_base *dns;
static struct externaddr *ea;

static void setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ud_start(&server, base);
	dns = ud_evdns(&server, base, "1.0");
	ea = NULL;
}

static void teardown(void)
{
	evdns_base_free(dns, 0);
	externaddr_free(ea);
	ud_stop(&server);
	event_base_free(base);
}

/* A configuration whose general section has extra (externip or externhost). */
static struct conf *conf_with(const char *extra)
{
	char text[1024], err[CONF_ERR_MAX];

	snprintf(text, sizeof(text),
		 "general: { bindaddr = \"127.0.0.1\"; localnet = [ \"127.0.0.2/32\" ];\n"
		 "  pbx = \"127.0.0.2:5060\"; %s };\n",
		 extra);
	struct conf *c = conf_load_string(text, "externaddr.conf", err);
	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

static struct in_addr ip(const char *text)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, text, &a), 1);
	return a;
}

struct want {
	struct in_addr addr;
	unsigned long failures;
};

static bool has_addr(void *arg)
{
	struct in_addr a;

	return externaddr_get(ea, &a) && a.s_addr == ((struct want *)arg)->addr.s_addr;
}

static bool failures_reach(void *arg)
{
	return externaddr_failures(ea) >= ((struct want *)arg)->failures;
}

static void await_addr(const char *text)
{
	struct want w = { .addr = ip(text) };

	ck_assert_msg(uu_pump_until(base, has_addr, &w, WAIT_MS), "the external address never became %s",
		      text);
}

static void await_failures(unsigned long n)
{
	struct want w = { .failures = n };

	ck_assert_msg(uu_pump_until(base, failures_reach, &w, WAIT_MS), "%lu failures, expected %lu",
		      externaddr_failures(ea), n);
}

static void assert_addr(const char *text)
{
	struct in_addr a;

	ck_assert(externaddr_get(ea, &a));
	ck_assert_str_eq(inet_ntoa(a), text);
}

START_TEST(fixed_externip_at_once)
{
	struct conf *c = conf_with("externip = \"203.0.113.7\";");

	ea = externaddr_new(base, dns, c);
	ck_assert_ptr_nonnull(ea);
	assert_addr("203.0.113.7");
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(server.queries, 0);
	ck_assert_uint_eq(externaddr_failures(ea), 0);
	conf_free(c);
}
END_TEST

START_TEST(externhost_resolves)
{
	struct conf *c = conf_with("externhost = \"ext.example\"; externrefresh = 1;");
	struct in_addr a;

	ud_answer(&server, "ext.example", "198.51.100.7", 60);
	ea = externaddr_new(base, dns, c);
	ck_assert_ptr_nonnull(ea);
	/* nothing before the answer: calls that need it get 503 meanwhile */
	ck_assert(!externaddr_get(ea, &a));
	await_addr("198.51.100.7");
	ck_assert_uint_eq(externaddr_failures(ea), 0);
	ck_assert_uint_eq(ud_queries(&server, "ext.example"), 1);
	/* and it is looked up again every externrefresh seconds */
	struct want w = { .addr = ip("198.51.100.8") };
	ud_answer(&server, "ext.example", "198.51.100.8", 60);
	ck_assert(uu_pump_until(base, has_addr, &w, WAIT_MS));
	ck_assert_uint_ge(ud_queries(&server, "ext.example"), 2);
	conf_free(c);
}
END_TEST

/* Issue 20: the IPv6 external address, from externip (alone or beside the
 * IPv4 one) at once, or from externhost's AAAA record, looked up beside the
 * A record and kept when a refresh finds none. */
static bool has_addr6(void *arg)
{
	struct netaddr a, want;

	return externaddr_get6(ea, &a) && netaddr_parse_ip(arg, &want) && netaddr_same(&a, &want);
}

START_TEST(ipv6_from_externip)
{
	static const struct {
		const char *extra, *v4, *v6;
	} cases[] = {
		{ "externip = \"203.0.113.7, 2001:db8:1::10\";", "203.0.113.7", "2001:db8:1::10" },
		{ "externip = \"2001:db8:1::10\";", NULL, "2001:db8:1::10" },
		{ "externip = \"203.0.113.7\";", "203.0.113.7", NULL },
	};
	char buf[NETADDR_TEXT_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *c = conf_with(cases[i].extra);
		struct in_addr a4;
		struct netaddr a6;
		ea = externaddr_new(base, dns, c);
		ck_assert_ptr_nonnull(ea);
		ck_assert_int_eq(externaddr_get(ea, &a4), cases[i].v4 != NULL);
		if (cases[i].v4)
			ck_assert_str_eq(inet_ntoa(a4), cases[i].v4);
		ck_assert_int_eq(externaddr_get6(ea, &a6), cases[i].v6 != NULL);
		if (cases[i].v6)
			ck_assert_str_eq(netaddr_print(&a6, buf), cases[i].v6);
		externaddr_free(ea);
		ea = NULL;
		conf_free(c);
	}
	ck_assert_uint_eq(server.queries, 0);
}
END_TEST

static unsigned aaaa_wanted;

static bool aaaa_asked(void *arg)
{
	(void)arg;
	return ud_queries6(&server, "ext6.example") >= aaaa_wanted;
}

START_TEST(externhost_aaaa)
{
	struct conf *c = conf_with("externhost = \"ext6.example\"; externrefresh = 1;");
	struct netaddr a6;

	ud_answer(&server, "ext6.example", "198.51.100.7", 60);
	ud_answer(&server, "ext6.example", "2001:db8:7::7", 60);
	ea = externaddr_new(base, dns, c);
	ck_assert_ptr_nonnull(ea);
	ck_assert(!externaddr_get6(ea, &a6));
	await_addr("198.51.100.7");
	ck_assert_msg(uu_pump_until(base, has_addr6, "2001:db8:7::7", WAIT_MS), "no AAAA adopted");
	ck_assert_uint_ge(ud_queries6(&server, "ext6.example"), 1);
	/* a changed AAAA is adopted at the next refresh */
	ud_answer(&server, "ext6.example", "2001:db8:7::8", 60);
	ck_assert_msg(uu_pump_until(base, has_addr6, "2001:db8:7::8", WAIT_MS), "new AAAA not adopted");
	/* the AAAA gone: the last good one stays, the IPv4 one is unaffected */
	ud_forget(&server, "ext6.example", AF_INET6);
	aaaa_wanted = ud_queries6(&server, "ext6.example") + 2;
	ck_assert(uu_pump_until(base, aaaa_asked, NULL, WAIT_MS)); /* two refreshes without AAAA */
	ck_assert(has_addr6("2001:db8:7::8"));
	assert_addr("198.51.100.7");
	conf_free(c);
}
END_TEST

/* R13: whatever way a refresh fails, the last good address stays. */
START_TEST(failure_keeps_the_last_good_address)
{
	static const struct {
		const char *what;
		int rcode;   /* 0 = the server is silent */
	} failures[] = {
		{ "NXDOMAIN", UD_NXDOMAIN },
		{ "SERVFAIL", UD_SERVFAIL },
		{ "timeout", 0 },
	};
	struct conf *c = conf_with("externhost = \"ext.example\"; externrefresh = 1;");

	ud_answer(&server, "ext.example", "198.51.100.7", 60);
	ea = externaddr_new(base, dns, c);
	await_addr("198.51.100.7");
	for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
		unsigned long before = externaddr_failures(ea);
		if (failures[i].rcode)
			ud_fail(&server, "ext.example", failures[i].rcode);
		else
			ud_silence(&server, "ext.example");
		await_failures(before + 1);
		ck_assert_msg(externaddr_failures(ea) >= before + 1, "%s", failures[i].what);
		assert_addr("198.51.100.7");
	}
	/* it resolves again, to a new address: that one is taken */
	ud_answer(&server, "ext.example", "198.51.100.9", 60);
	await_addr("198.51.100.9");
	unsigned long failed = externaddr_failures(ea);
	ck_assert_uint_ge(failed, 3);
	conf_free(c);
}
END_TEST

START_TEST(failure_before_any_answer)
{
	struct conf *c = conf_with("externhost = \"ext.example\"; externrefresh = 1;");
	struct in_addr a;

	ud_fail(&server, "ext.example", UD_NXDOMAIN);
	ea = externaddr_new(base, dns, c);
	await_failures(1);
	ck_assert(!externaddr_get(ea, &a));
	/* retried every externrefresh: the name comes up */
	ud_answer(&server, "ext.example", "198.51.100.10", 60);
	await_addr("198.51.100.10");
	conf_free(c);
}
END_TEST

START_TEST(reload_to_a_fixed_address)
{
	struct conf *host = conf_with("externhost = \"ext.example\"; externrefresh = 1;");
	struct conf *fixed = conf_with("externip = \"203.0.113.9\";");

	ud_answer(&server, "ext.example", "198.51.100.7", 60);
	ea = externaddr_new(base, dns, host);
	await_addr("198.51.100.7");
	externaddr_reconfigure(ea, fixed);
	assert_addr("203.0.113.9");
	/* no more lookups: an answer would otherwise replace it */
	unsigned asked = server.queries;
	ud_answer(&server, "ext.example", "198.51.100.8", 60);
	struct want w = { .addr = ip("198.51.100.8") };
	ck_assert(!uu_pump_until(base, has_addr, &w, 1500));
	ck_assert_uint_eq(server.queries, asked);
	assert_addr("203.0.113.9");
	conf_free(host);
	conf_free(fixed);
}
END_TEST

static bool asked_twice(void *arg)
{
	return ud_queries(arg, "ext.example") >= 2;
}

START_TEST(reload_same_name_keeps_the_address_and_asks_at_once)
{
	/* a long refresh, so that a second query can only be the reload's */
	struct conf *c1 = conf_with("externhost = \"ext.example\"; externrefresh = 600;");
	struct conf *c2 = conf_with("externhost = \"ext.example\"; externrefresh = 600;");

	ud_answer(&server, "ext.example", "198.51.100.7", 60);
	ea = externaddr_new(base, dns, c1);
	await_addr("198.51.100.7");
	ud_silence(&server, "ext.example");
	externaddr_reconfigure(ea, c2);
	assert_addr("198.51.100.7");  /* kept until the answer comes */
	ck_assert(uu_pump_until(base, asked_twice, &server, WAIT_MS));
	await_failures(1);
	assert_addr("198.51.100.7");
	conf_free(c1);
	conf_free(c2);
}
END_TEST

START_TEST(reload_to_another_name)
{
	struct conf *c1 = conf_with("externhost = \"old.example\"; externrefresh = 600;");
	struct conf *c2 = conf_with("externhost = \"new.example\"; externrefresh = 600;");
	struct in_addr a;

	ud_answer(&server, "old.example", "198.51.100.7", 60);
	ud_answer(&server, "new.example", "198.51.100.77", 60);
	ea = externaddr_new(base, dns, c1);
	await_addr("198.51.100.7");
	externaddr_reconfigure(ea, c2);
	/* an address of another name is no good */
	ck_assert(!externaddr_get(ea, &a));
	await_addr("198.51.100.77");
	conf_free(c1);
	conf_free(c2);
}
END_TEST

START_TEST(answer_for_the_old_name_after_a_reload)
{
	struct conf *c1 = conf_with("externhost = \"old.example\"; externrefresh = 600;");
	struct conf *c2 = conf_with("externhost = \"new.example\"; externrefresh = 600;");
	struct in_addr a;

	ud_answer(&server, "old.example", "198.51.100.7", 60);
	ud_answer(&server, "new.example", "198.51.100.77", 60);
	ea = externaddr_new(base, dns, c1);
	/* one round of callbacks: the lookup of old.example goes out, the
	 * server has not read it yet */
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert(uu_pending(server.fd));
	externaddr_reconfigure(ea, c2);
	/* old.example's answer arrives now: it must not become the address */
	for (int i = 0; i < 50 && ud_queries(&server, "old.example") == 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_uint_eq(ud_queries(&server, "old.example"), 1);
	await_addr("198.51.100.77");
	ck_assert(externaddr_get(ea, &a));
	ck_assert_str_eq(inet_ntoa(a), "198.51.100.77");
	conf_free(c1);
	conf_free(c2);
}
END_TEST

static Suite *externaddr_suite(void)
{
	Suite *s = suite_create("externaddr");
	TCase *tc = tcase_create("externaddr");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fixed_externip_at_once);
	tcase_add_test(tc, externhost_resolves);
	tcase_add_test(tc, failure_keeps_the_last_good_address);
	tcase_add_test(tc, failure_before_any_answer);
	tcase_add_test(tc, reload_to_a_fixed_address);
	tcase_add_test(tc, reload_same_name_keeps_the_address_and_asks_at_once);
	tcase_add_test(tc, reload_to_another_name);
	tcase_add_test(tc, answer_for_the_old_name_after_a_reload);
	tcase_add_test(tc, ipv6_from_externip);
	tcase_add_test(tc, externhost_aaaa);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(externaddr_suite)
