/*
 * Unit tests for advertise.c: which of its addresses sipnatd writes for a
 * destination. The LAN address from localaddr, a specific bindaddr, or the
 * kernel's route toward the PBX (none: false, retried); the external one
 * from externaddr; reload finds the LAN address again.
 */
#include <check.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "advertise.h"
#include "externaddr.h"
#include "log.h"
#include "netaddr.h"
#include "../support/unit_main.h"

static struct event_base *base;

static void setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static void teardown(void)
{
	event_base_free(base);
}

static struct conf *load(const char *general)
{
	char text[1024], err[CONF_ERR_MAX];
	struct conf *conf;

	snprintf(text, sizeof(text), "general: { localnet = [ \"192.168.1.0/24\", \"127.0.0.0/8\" ]; externip = \"203.0.113.1\"; %s };\n",
		 general);
	conf = conf_load_string(text, "advertise.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	return conf;
}

static const char *lan_of(const struct advertise *a, char buf[NETADDR_TEXT_MAX])
{
	struct netaddr ip;

	if (!advertise_lan(a, &ip))
		return "none";
	return netaddr_print(&ip, buf);
}

static struct netaddr ip_of(const char *text)
{
	struct netaddr a;

	ck_assert_msg(netaddr_parse_ip(text, &a), "%s", text);
	return a;
}

/* advertise_toward dest as text, "none" when false */
static const char *toward(const struct advertise *a, const char *dest, char buf[NETADDR_TEXT_MAX])
{
	struct netaddr d = ip_of(dest), out;

	if (!advertise_toward(a, &d, &out))
		return "none";
	ck_assert_int_eq(out.family, d.family); /* never the other family (issue 20) */
	return netaddr_print(&out, buf);
}

static const struct {
	const char *general;
	const char *lan;
} lan_cases[] = {
	{ "pbx = \"192.168.1.10\"; localaddr = \"192.168.1.2\"; bindaddr = \"127.0.0.1\";", "192.168.1.2" },
	{ "pbx = \"192.168.1.10\"; bindaddr = \"127.0.0.1\";", "127.0.0.1" },
	/* the kernel's source address toward the PBX */
	{ "pbx = \"127.0.0.3\";", "127.0.0.1" },
};

START_TEST(lan_address)
{
	struct conf *conf = load(lan_cases[_i].general);
	struct advertise *a = advertise_new(base, conf, NULL);
	char buf[NETADDR_TEXT_MAX];

	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(lan_of(a, buf), lan_cases[_i].lan);
	advertise_free(a);
	conf_free(conf);
}
END_TEST

/* Toward localnet the LAN address, toward anything else the external one;
 * with no external source nothing is said to the Internet. */
START_TEST(toward_each_side)
{
	struct conf *conf = load("pbx = \"192.168.1.10\"; localaddr = \"192.168.1.2\";");
	struct evdns_base *dns = evdns_base_new(base, 0);
	struct externaddr *ext = externaddr_new(base, dns, conf);
	struct advertise *a = advertise_new(base, conf, ext), *lan_only = advertise_new(base, conf, NULL);
	struct netaddr ip, lan = ip_of("192.168.1.10"), phone = ip_of("203.0.113.5");

	ck_assert(a && lan_only);
	ck_assert(advertise_toward(a, &lan, &ip));
	ck_assert_uint_eq(ntohl(ip.ip.v4.s_addr), 0xc0a80102u);
	ck_assert(advertise_toward(a, &phone, &ip));
	ck_assert_uint_eq(ntohl(ip.ip.v4.s_addr), 0xcb007101u);
	ck_assert(advertise_external(a, AF_INET, &ip));
	ck_assert(!advertise_toward(lan_only, &phone, &ip));
	ck_assert(!advertise_external(lan_only, AF_INET, &ip));
	ck_assert(advertise_toward(lan_only, &lan, &ip));
	advertise_free(a);
	advertise_free(lan_only);
	evdns_base_free(dns, 0);
	externaddr_free(ext);
	conf_free(conf);
}
END_TEST

/* Issue 20: the same checks for a destination of each family. Toward each
 * side sipnatd names its address of the destination's family: the LAN one
 * (localaddr) toward localnet, the external one (externip) toward the
 * Internet; a family it has no address of gets none, never the other. */
static const struct {
	const char *general; /* beside localnet, pbx */
	const char *lan_dest, *lan_want, *inet_dest, *inet_want;
} family_cases[] = {
	{ "externip = \"203.0.113.1, 2001:db8:1::10\"; localaddr = \"192.168.1.2, fd00::2\";",
	  "192.168.1.10", "192.168.1.2", "203.0.113.5", "203.0.113.1" },
	{ "externip = \"203.0.113.1, 2001:db8:1::10\"; localaddr = \"192.168.1.2, fd00::2\";",
	  "fd00::10", "fd00::2", "2001:db8:5::5", "2001:db8:1::10" },
	/* one IPv6 literal alone: nothing IPv4 toward the Internet */
	{ "externip = \"2001:db8:1::10\"; localaddr = \"192.168.1.2\";",
	  "192.168.1.10", "192.168.1.2", "203.0.113.5", "none" },
	{ "externip = \"2001:db8:1::10\"; localaddr = \"192.168.1.2, fd00::2\";",
	  "fd00::10", "fd00::2", "2001:db8:5::5", "2001:db8:1::10" },
	/* a specific global bindaddr is the IPv6 address, both ways */
	{ "externip = \"203.0.113.1\"; bindaddr = \"2001:db8:1::20\"; localaddr = \"192.168.1.2\";",
	  "fd00::10", "2001:db8:1::20", "2001:db8:5::5", "2001:db8:1::20" },
};

START_TEST(toward_each_family)
{
	char text[1024], err[CONF_ERR_MAX], buf[NETADDR_TEXT_MAX];

	snprintf(text, sizeof(text),
		 "general: { localnet = [ \"192.168.1.0/24\", \"fd00::/8\" ]; pbx = \"192.168.1.10\"; %s };\n",
		 family_cases[_i].general);
	struct conf *conf = conf_load_string(text, "advertise.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	struct evdns_base *dns = evdns_base_new(base, 0);
	struct externaddr *ext = externaddr_new(base, dns, conf);
	struct advertise *a = advertise_new(base, conf, ext);

	ck_assert(a);
	ck_assert_str_eq(toward(a, family_cases[_i].lan_dest, buf), family_cases[_i].lan_want);
	ck_assert_str_eq(toward(a, family_cases[_i].inet_dest, buf), family_cases[_i].inet_want);
	advertise_free(a);
	evdns_base_free(dns, 0);
	externaddr_free(ext);
	conf_free(conf);
}
END_TEST

/* With no IPv6 address configured, the kernel's source address toward the
 * destination; toward the Internet only a global one (::1 is not). */
START_TEST(kernel_source6)
{
	struct conf *inet = load("pbx = \"192.168.1.10\"; localaddr = \"192.168.1.2\";");
	char text[512], err[CONF_ERR_MAX], buf[NETADDR_TEXT_MAX];

	snprintf(text, sizeof(text), "general: { localnet = [ \"192.168.1.0/24\", \"::1/128\" ]; "
		 "externip = \"203.0.113.1\"; pbx = \"192.168.1.10\"; };\n");
	struct conf *lan = conf_load_string(text, "advertise.conf", err);
	ck_assert_msg(lan != NULL, "%s", err);
	struct advertise *a = advertise_new(base, inet, NULL), *b = advertise_new(base, lan, NULL);

	ck_assert(a && b);
	ck_assert_str_eq(toward(a, "::1", buf), "none");
	ck_assert_str_eq(toward(b, "::1", buf), "::1");
	advertise_free(a);
	advertise_free(b);
	conf_free(inet);
	conf_free(lan);
}
END_TEST

/* No route toward the PBX: no LAN address (and a retry armed), until a
 * reload says which one to use. */
START_TEST(no_route_then_reload)
{
	struct conf *broadcast = load("pbx = \"255.255.255.255\";");
	struct conf *fixed = load("pbx = \"255.255.255.255\"; localaddr = \"192.168.1.2\";");
	struct advertise *a = advertise_new(base, broadcast, NULL);
	char buf[NETADDR_TEXT_MAX];

	ck_assert_ptr_nonnull(a);
	/* connect() to the broadcast address is refused without SO_BROADCAST */
	ck_assert_str_eq(lan_of(a, buf), "none");
	ck_assert_int_eq(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 1);
	advertise_reconfigure(a, fixed);
	ck_assert_str_eq(lan_of(a, buf), "192.168.1.2");
	ck_assert_int_eq(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	advertise_free(a);
	conf_free(broadcast);
	conf_free(fixed);
}
END_TEST

static Suite *advertise_suite(void)
{
	Suite *s = suite_create("advertise");
	TCase *tc = tcase_create("advertise");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, lan_address, 0, (int)(sizeof(lan_cases) / sizeof(lan_cases[0])));
	tcase_add_test(tc, toward_each_side);
	tcase_add_loop_test(tc, toward_each_family, 0, (int)(sizeof(family_cases) / sizeof(family_cases[0])));
	tcase_add_test(tc, kernel_source6);
	tcase_add_test(tc, no_route_then_reload);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(advertise_suite, log_set_level(LOG_ERR))
