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

static const char *lan_of(const struct advertise *a, char buf[NETADDR_STRLEN])
{
	struct in_addr ip;

	if (!advertise_lan(a, &ip))
		return "none";
	struct sockaddr_in sa = netaddr_make(ip, 0);
	netaddr_format(&sa, buf);
	buf[strcspn(buf, ":")] = '\0';
	return buf;
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
	char buf[NETADDR_STRLEN];

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
	struct in_addr ip, lan, phone;

	ck_assert(a && lan_only);
	ck_assert(netaddr_parse_ipv4("192.168.1.10", &lan));
	ck_assert(netaddr_parse_ipv4("203.0.113.5", &phone));
	ck_assert(advertise_toward(a, lan, &ip));
	ck_assert_uint_eq(ntohl(ip.s_addr), 0xc0a80102u);
	ck_assert(advertise_toward(a, phone, &ip));
	ck_assert_uint_eq(ntohl(ip.s_addr), 0xcb007101u);
	ck_assert(advertise_external(a, &ip));
	ck_assert(!advertise_toward(lan_only, phone, &ip));
	ck_assert(!advertise_external(lan_only, &ip));
	ck_assert(advertise_toward(lan_only, lan, &ip));
	advertise_free(a);
	advertise_free(lan_only);
	evdns_base_free(dns, 0);
	externaddr_free(ext);
	conf_free(conf);
}
END_TEST

/* No route toward the PBX: no LAN address (and a retry armed), until a
 * reload says which one to use. */
START_TEST(no_route_then_reload)
{
	struct conf *broadcast = load("pbx = \"255.255.255.255\";");
	struct conf *fixed = load("pbx = \"255.255.255.255\"; localaddr = \"192.168.1.2\";");
	struct advertise *a = advertise_new(base, broadcast, NULL);
	char buf[NETADDR_STRLEN];

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
	tcase_add_test(tc, no_route_then_reload);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(advertise_suite, log_set_level(LOG_ERR))
