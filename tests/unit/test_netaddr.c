/*
 * Unit tests for netaddr.c: strict IPv4 literals and ports (what a Via or a
 * config value may hold), formatting for logs, building and comparing.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

static const struct {
	const char *text;
	const char *want; /* NULL: refused */
} ipv4[] = {
	{ "127.0.30.5", "127.0.30.5" },
	{ "0.0.0.0", "0.0.0.0" },
	{ "255.255.255.255", "255.255.255.255" },
	{ "203.0.113.7", "203.0.113.7" },
	{ "256.0.0.1", NULL },
	{ "1.2.3", NULL },
	{ "1.2.3.4.5", NULL },
	{ "1.2.3.4 ", NULL },
	{ " 1.2.3.4", NULL },
	{ "1.2.3.4:5060", NULL },
	{ "0x7f.0.0.1", NULL },
	{ "127.1", NULL },
	{ "evil.invalid", NULL },
	{ "", NULL },
	{ "::1", NULL },
};

START_TEST(parse_ipv4)
{
	struct in_addr a = { .s_addr = htonl(0x01020304) };
	char buf[INET_ADDRSTRLEN];
	bool ok = netaddr_parse_ipv4(ipv4[_i].text, &a);

	if (ipv4[_i].want) {
		ck_assert_msg(ok, "\"%s\" refused", ipv4[_i].text);
		ck_assert_str_eq(inet_ntop(AF_INET, &a, buf, sizeof(buf)), ipv4[_i].want);
	} else {
		ck_assert_msg(!ok, "\"%s\" accepted", ipv4[_i].text);
	}
}
END_TEST

START_TEST(parse_ipv4_null)
{
	struct in_addr a;

	ck_assert(!netaddr_parse_ipv4(NULL, &a));
}
END_TEST

static const struct {
	const char *text;
	int want; /* -1: refused */
} ports[] = {
	{ "5060", 5060 }, { "1", 1 },	    { "65535", 65535 }, { "40000", 40000 },
	{ "0", -1 },	  { "65536", -1 },  { "99999", -1 },	{ "", -1 },
	{ "-1", -1 },	  { "+5060", -1 },  { "5060 ", -1 },	{ " 5060", -1 },
	{ "50a", -1 },	  { "0x13c4", -1 }, { "18446744073709551621", -1 },
};

START_TEST(parse_port)
{
	uint16_t p = 7;
	bool ok = netaddr_parse_port(ports[_i].text, &p);

	if (ports[_i].want >= 0) {
		ck_assert_msg(ok, "\"%s\" refused", ports[_i].text);
		ck_assert_uint_eq(p, (unsigned)ports[_i].want);
	} else {
		ck_assert_msg(!ok, "\"%s\" accepted", ports[_i].text);
		ck_assert_uint_eq(p, 7); /* untouched on failure */
	}
}
END_TEST

START_TEST(parse_port_null)
{
	uint16_t p;

	ck_assert(!netaddr_parse_port(NULL, &p));
}
END_TEST

START_TEST(make_and_format)
{
	struct in_addr a;
	struct sockaddr_in sa;
	char buf[NETADDR_STRLEN];

	ck_assert(netaddr_parse_ipv4("127.0.30.5", &a));
	sa = netaddr_make(a, 40000);
	ck_assert_int_eq(sa.sin_family, AF_INET);
	ck_assert_uint_eq(sa.sin_port, htons(40000));
	ck_assert_uint_eq(sa.sin_addr.s_addr, a.s_addr);
	ck_assert_ptr_eq(netaddr_format(&sa, buf), buf);
	ck_assert_str_eq(buf, "127.0.30.5:40000");
}
END_TEST

/* The longest address fits NETADDR_STRLEN. */
START_TEST(format_longest)
{
	struct in_addr a = { .s_addr = htonl(0xffffffff) };
	struct sockaddr_in sa = netaddr_make(a, 65535);
	char buf[NETADDR_STRLEN + 4];

	memset(buf, 'x', sizeof(buf));
	netaddr_format(&sa, buf);
	ck_assert_str_eq(buf, "255.255.255.255:65535");
	ck_assert_uint_lt(strlen(buf), NETADDR_STRLEN);
	ck_assert_int_eq(buf[NETADDR_STRLEN], 'x'); /* nothing written past the size */
}
END_TEST

/* The fast formatters write what inet_ntop and "%u" write. */
START_TEST(ipv4_str_matches_inet_ntop)
{
	const char *ips[] = { "0.0.0.0", "1.2.3.4", "10.0.0.1", "127.0.9.10", "192.168.100.200",
			      "255.255.255.255", "203.0.113.7", "9.99.100.0" };
	const uint16_t port_values[] = { 0, 1, 9, 10, 99, 100, 5060, 10000, 65535 };

	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		struct in_addr a;
		char want[INET_ADDRSTRLEN], got[16];
		ck_assert_int_eq(inet_pton(AF_INET, ips[i], &a), 1);
		ck_assert_ptr_nonnull(inet_ntop(AF_INET, &a, want, sizeof(want)));
		ck_assert_uint_eq(netaddr_ipv4_str(a, got), strlen(want));
		ck_assert_str_eq(got, want);
	}
	for (uint32_t v = 0; v < 300; v++) {  /* every octet width, in every place */
		struct in_addr a = { .s_addr = htonl(v * 0x01010101u / 2 + v) };
		char want[INET_ADDRSTRLEN], got[16];
		inet_ntop(AF_INET, &a, want, sizeof(want));
		netaddr_ipv4_str(a, got);
		ck_assert_str_eq(got, want);
	}
	for (size_t i = 0; i < sizeof(port_values) / sizeof(port_values[0]); i++) {
		char want[8], got[6];
		snprintf(want, sizeof(want), "%u", port_values[i]);
		ck_assert_uint_eq(netaddr_port_str(port_values[i], got), strlen(want));
		ck_assert_str_eq(got, want);
	}
}
END_TEST

START_TEST(equal)
{
	struct in_addr a, b;
	struct sockaddr_in x, y;

	ck_assert(netaddr_parse_ipv4("127.0.10.2", &a));
	ck_assert(netaddr_parse_ipv4("127.0.10.3", &b));
	x = netaddr_make(a, 5080);
	y = netaddr_make(a, 5080);
	ck_assert(netaddr_equal(&x, &y));
	y = netaddr_make(a, 5060);
	ck_assert(!netaddr_equal(&x, &y));
	y = netaddr_make(b, 5080);
	ck_assert(!netaddr_equal(&x, &y));
}
END_TEST

static Suite *netaddr_suite(void)
{
	Suite *s = suite_create("netaddr");
	TCase *tc = tcase_create("netaddr");

	tcase_add_loop_test(tc, parse_ipv4, 0, sizeof(ipv4) / sizeof(ipv4[0]));
	tcase_add_test(tc, parse_ipv4_null);
	tcase_add_loop_test(tc, parse_port, 0, sizeof(ports) / sizeof(ports[0]));
	tcase_add_test(tc, parse_port_null);
	tcase_add_test(tc, make_and_format);
	tcase_add_test(tc, format_longest);
	tcase_add_test(tc, equal);
	tcase_add_test(tc, ipv4_str_matches_inet_ntop);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(netaddr_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
