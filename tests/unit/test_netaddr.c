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
#include "../support/unit_main.h"

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
	const char *texts[] = { "0.0.0.0", "1.2.3.4", "10.0.0.1", "127.0.9.10", "192.168.100.200",
			      "255.255.255.255", "203.0.113.7", "9.99.100.0" };
	const uint16_t port_values[] = { 0, 1, 9, 10, 99, 100, 5060, 10000, 65535 };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct in_addr a;
		char want[INET_ADDRSTRLEN], got[16];
		ck_assert_int_eq(inet_pton(AF_INET, texts[i], &a), 1);
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


/* ---- family-neutral addresses (issue 20) ---- */

/* What netaddr_parse makes of a text: the printed form (NULL = refused), its
 * family, the bare address (received=, SDP) and the SIP host form. */
static const struct {
	const char *text;
	const char *print;
	int family;
	const char *ip;
	const char *sip_host;
} parsed[] = {
	{ "192.0.2.1", "192.0.2.1", AF_INET, "192.0.2.1", "192.0.2.1" },
	{ "192.0.2.1:5060", "192.0.2.1:5060", AF_INET, "192.0.2.1", "192.0.2.1" },
	{ "2001:db8::1", "2001:db8::1", AF_INET6, "2001:db8::1", "[2001:db8::1]" },
	{ "[2001:db8::1]", "2001:db8::1", AF_INET6, "2001:db8::1", "[2001:db8::1]" },
	{ "[2001:db8::1]:5060", "[2001:db8::1]:5060", AF_INET6, "2001:db8::1", "[2001:db8::1]" },
	/* spelled differently, printed one way (RFC 5952) */
	{ "[2001:DB8:0:0:0:0:0:1]:65535", "[2001:db8::1]:65535", AF_INET6, "2001:db8::1",
	  "[2001:db8::1]" },
	/* a bare IPv6 literal has no port: the last group is part of it */
	{ "2001:db8::1:5060", "2001:db8::1:5060", AF_INET6, "2001:db8::1:5060", "[2001:db8::1:5060]" },
	/* v4-mapped is the IPv4 address it maps */
	{ "::ffff:192.0.2.7", "192.0.2.7", AF_INET, "192.0.2.7", "192.0.2.7" },
	{ "[::ffff:192.0.2.7]:5070", "192.0.2.7:5070", AF_INET, "192.0.2.7", "192.0.2.7" },
	{ "::", "::", AF_INET6, "::", "[::]" },
	{ "fe80::1", "fe80::1", AF_INET6, "fe80::1", "[fe80::1]" },
	{ "[192.0.2.1]", NULL, 0, NULL, NULL },
	{ "[2001:db8::1", NULL, 0, NULL, NULL },
	{ "2001:db8::1]", NULL, 0, NULL, NULL },
	{ "[2001:db8::1]5060", NULL, 0, NULL, NULL },
	{ "[2001:db8::1]:", NULL, 0, NULL, NULL },
	{ "[2001:db8::1]:0", NULL, 0, NULL, NULL },
	{ "[2001:db8::1]:65536", NULL, 0, NULL, NULL },
	{ "192.0.2.1:", NULL, 0, NULL, NULL },
	{ "192.0.2.1:x", NULL, 0, NULL, NULL },
	{ "fe80::1%eth0", NULL, 0, NULL, NULL },
	{ "2001:db8:::1", NULL, 0, NULL, NULL },
	{ " 2001:db8::1", NULL, 0, NULL, NULL },
	{ "[ 2001:db8::1]", NULL, 0, NULL, NULL },
	{ "host.example", NULL, 0, NULL, NULL },
	{ "host.example:5060", NULL, 0, NULL, NULL },
	{ "[]", NULL, 0, NULL, NULL },
	{ "", NULL, 0, NULL, NULL },
	{ "[1111:2222:3333:4444:5555:6666:7777:8888:9999]", NULL, 0, NULL, NULL },
};

/* Reading an IPv4 literal gives inet_pton's answer for every text: many
 * random ones over digits and dots (near misses: leading zeros, 256, five
 * parts, empty parts) and a few with other characters. netaddr_ip_text
 * prints what inet_ntop prints. */
START_TEST(ipv4_parse_matches_inet_pton)
{
	static const char alphabet[] = "0123456789....12500 x:";
	uint32_t seed = 12345;
	char text[24], mine[NETADDR_HOST_MAX], ref[INET6_ADDRSTRLEN];
	unsigned accepted = 0;

	for (int round = 0; round < 400000; round++) {
		seed = seed * 1103515245u + 12345u;
		size_t len = 1 + (seed >> 16) % 18;
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly digits and dots, sometimes the rest */
			size_t pick = (seed >> 16) % (round % 4 ? 16 : sizeof(alphabet) - 1);
			text[i] = alphabet[pick];
		}
		text[len] = '\0';
		struct in_addr want, got = { 0 };
		struct netaddr any;
		int ok = inet_pton(AF_INET, text, &want);
		ck_assert_int_eq(netaddr_parse_ipv4(text, &got), ok == 1);
		bool read_any = netaddr_parse_ip(text, &any);
		if (ok == 1) {
			accepted++;
			ck_assert_uint_eq(got.s_addr, want.s_addr);
			ck_assert(read_any);
			ck_assert_int_eq(any.family, AF_INET);
			ck_assert_uint_eq(any.ip.v4.s_addr, want.s_addr);
			ck_assert_str_eq(netaddr_ip_text(&any, mine),
					 inet_ntop(AF_INET, &want, ref, sizeof(ref)));
		} else {
			struct in6_addr v6;
			ck_assert(read_any == (inet_pton(AF_INET6, text, &v6) == 1));
		}
	}
	/* the sample reaches both answers */
	ck_assert_uint_gt(accepted, 1000);
}
END_TEST

START_TEST(parse_any)
{
	struct netaddr a;
	char text[NETADDR_TEXT_MAX], host[NETADDR_HOST_MAX];
	bool ok = netaddr_parse(parsed[_i].text, &a);

	if (!parsed[_i].print) {
		ck_assert_msg(!ok, "\"%s\" accepted", parsed[_i].text);
		ck_assert_int_eq(a.family, 0);
		return;
	}
	ck_assert_msg(ok, "\"%s\" refused", parsed[_i].text);
	ck_assert_int_eq(a.family, parsed[_i].family);
	ck_assert_str_eq(netaddr_print(&a, text), parsed[_i].print);
	ck_assert_str_eq(netaddr_ip_text(&a, host), parsed[_i].ip);
	ck_assert_str_eq(netaddr_sip_host(&a, host), parsed[_i].sip_host);
}
END_TEST

/* netaddr_parse_ip: an address alone, bracketed or not; never a port. */
static const struct {
	const char *text;
	const char *ip; /* NULL: refused */
} ips[] = {
	{ "203.0.113.9", "203.0.113.9" },  { "[2001:db8::9]", "2001:db8::9" },
	{ "2001:db8::9", "2001:db8::9" },  { "::FFFF:203.0.113.9", "203.0.113.9" },
	{ "203.0.113.9:5060", NULL },       { "[2001:db8::9]:5060", NULL },
	{ "[203.0.113.9]", NULL },          { "2001:db8::9 ", NULL },
	{ "01.2.3.4", NULL },               { "evil.invalid", NULL },
};

START_TEST(parse_ip_only)
{
	struct netaddr a;
	char buf[NETADDR_HOST_MAX];
	bool ok = netaddr_parse_ip(ips[_i].text, &a);

	ck_assert_msg(ok == (ips[_i].ip != NULL), "\"%s\": %s", ips[_i].text, ok ? "accepted" : "refused");
	if (ok) {
		ck_assert_str_eq(netaddr_ip_text(&a, buf), ips[_i].ip);
		ck_assert_uint_eq(a.port, 0);
	}
}
END_TEST

START_TEST(parse_null)
{
	struct netaddr a;
	struct netaddr_prefix p;

	ck_assert(!netaddr_parse(NULL, &a));
	ck_assert(!netaddr_parse_ip(NULL, &a));
	ck_assert(!netaddr_prefix_parse(NULL, &p));
}
END_TEST

/* The longest IPv6 text with a port fits NETADDR_TEXT_MAX. */
START_TEST(print_longest)
{
	struct netaddr a;
	char buf[NETADDR_TEXT_MAX + 4], host[NETADDR_HOST_MAX + 4];

	ck_assert(netaddr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", &a));
	memset(buf, 'x', sizeof(buf));
	netaddr_print(&a, buf);
	ck_assert_str_eq(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	ck_assert_int_eq(buf[NETADDR_TEXT_MAX], 'x');
	memset(host, 'x', sizeof(host));
	netaddr_sip_host(&a, host);
	ck_assert_str_eq(host, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]");
	ck_assert_int_eq(host[NETADDR_HOST_MAX], 'x');
}
END_TEST

/* Equality by value: spelling never matters, family, address and port do. */
static const struct {
	const char *a, *b;
	bool same, same_ip;
} compared[] = {
	{ "[2001:db8::1]:5060", "[2001:DB8:0::0:1]:5060", true, true },
	{ "[2001:db8::1]:5060", "[2001:db8::1]:5061", false, true },
	{ "[2001:db8::1]:5060", "[2001:db8::2]:5060", false, false },
	{ "192.0.2.1:5060", "[::ffff:192.0.2.1]:5060", true, true },
	{ "192.0.2.1:5060", "[::192.0.2.1]:5060", false, false },
	{ "192.0.2.1:5060", "192.0.2.1:5060", true, true },
	{ "192.0.2.1:5080", "192.0.2.1:5060", false, true },
	{ "192.0.2.1", "192.0.2.2", false, false },
	{ "0.0.0.0", "::", false, false },
};

START_TEST(compare)
{
	struct netaddr a, b;

	ck_assert(netaddr_parse(compared[_i].a, &a));
	ck_assert(netaddr_parse(compared[_i].b, &b));
	ck_assert_int_eq(netaddr_same(&a, &b), compared[_i].same);
	ck_assert_int_eq(netaddr_same(&b, &a), compared[_i].same);
	ck_assert_int_eq(netaddr_same_ip(&a, &b), compared[_i].same_ip);
}
END_TEST

/* Socket addresses both ways; v4-mapped from a dual-stack socket is IPv4,
 * an IPv4 address to such a socket is written v4-mapped. */
START_TEST(sockaddr_round_trip)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	struct netaddr a, b;
	char buf[NETADDR_TEXT_MAX];

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(5062);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:198.51.100.5", &sin6.sin6_addr), 1);
	ck_assert(netaddr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6), &a));
	ck_assert_str_eq(netaddr_print(&a, buf), "198.51.100.5:5062");
	ck_assert(netaddr_to_in(&a, &sin));
	ck_assert_uint_eq(ntohl(sin.sin_addr.s_addr), 0xc6336405);
	ck_assert_uint_eq(ntohs(sin.sin_port), 5062);

	/* back to the dual-stack socket: v4-mapped again */
	ck_assert_uint_eq(netaddr_to_sockaddr(&a, AF_INET6, &ss), sizeof(struct sockaddr_in6));
	ck_assert(memcmp(&ss, &sin6, sizeof(sin6)) == 0);
	/* to an IPv4 socket: a sockaddr_in */
	ck_assert_uint_eq(netaddr_to_sockaddr(&a, AF_INET, &ss), sizeof(struct sockaddr_in));
	ck_assert(memcmp(&ss, &sin, sizeof(sin)) == 0);

	ck_assert_int_eq(inet_pton(AF_INET6, "fe80::5", &sin6.sin6_addr), 1);
	sin6.sin6_scope_id = 3;
	ck_assert(netaddr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6), &a));
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_uint_eq(a.scope_id, 3);
	ck_assert_str_eq(netaddr_print(&a, buf), "[fe80::5]:5062");
	ck_assert(!netaddr_to_in(&a, &sin));
	ck_assert_uint_eq(netaddr_to_sockaddr(&a, AF_INET, &ss), 0);
	ck_assert_uint_eq(netaddr_to_sockaddr(&a, AF_INET6, &ss), sizeof(sin6));
	ck_assert(netaddr_from_sockaddr((struct sockaddr *)&ss, sizeof(sin6), &b));
	ck_assert(netaddr_same(&a, &b));
	/* another zone is another address */
	b.scope_id = 4;
	ck_assert(!netaddr_same(&a, &b));

	/* short lengths and other families are refused */
	ck_assert(!netaddr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6) - 1, &a));
	ss.ss_family = AF_UNIX;
	ck_assert(!netaddr_from_sockaddr((struct sockaddr *)&ss, sizeof(ss), &a));
	ck_assert(!netaddr_from_sockaddr(NULL, 0, &a));
	memset(&a, 0, sizeof(a));
	ck_assert_uint_eq(netaddr_to_sockaddr(&a, AF_INET6, &ss), 0);
	ck_assert_str_eq(netaddr_print(&a, buf), "-");
}
END_TEST

/* Prefix match for both families. */
static const struct {
	const char *prefix, *addr;
	bool match;
} matches[] = {
	{ "2001:db8:1::/48", "2001:db8:1:ffff::1", true },
	{ "2001:db8:1::/48", "2001:db8:2::1", false },
	{ "2001:db8:1:2::/63", "2001:db8:1:3::1", true },
	{ "2001:db8:1:2::/63", "2001:db8:1:4::1", false },
	{ "fc00::/7", "fd12:3456::1", true },
	{ "fc00::/7", "fe00::1", false },
	{ "fe80::/10", "febf::1", true },
	{ "fe80::/10", "fec0::1", false },
	{ "2001:db8::1/128", "2001:db8::1", true },
	{ "2001:db8::1/128", "2001:db8::2", false },
	{ "192.168.0.0/24", "192.168.0.200", true },
	{ "192.168.0.0/24", "192.168.1.1", false },
	{ "10.0.0.0/255.0.0.0", "10.200.0.1", true },
	/* families never match each other, v4-mapped is IPv4 */
	{ "::/1", "10.0.0.1", false },
	{ "0.0.0.0/1", "::1", false },
	{ "10.0.0.0/8", "::ffff:10.1.1.1", true },
	{ "::ffff:10.0.0.0/104", "10.1.1.1", true },
};

START_TEST(prefix_match)
{
	struct netaddr_prefix p;
	struct netaddr a;

	ck_assert_msg(netaddr_prefix_parse(matches[_i].prefix, &p), "%s", matches[_i].prefix);
	ck_assert(netaddr_parse_ip(matches[_i].addr, &a));
	ck_assert_msg(netaddr_prefix_match(&p, &a) == matches[_i].match, "%s in %s", matches[_i].addr,
		      matches[_i].prefix);
}
END_TEST

/* netaddr_prefix_of: the scope of one address, clamped to its family. */
static const struct {
	const char *addr;
	unsigned len;
	const char *want;
} scopes[] = {
	{ "2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2:3:4:5:6", 56, "2001:db8:1::/56" },
	{ "2001:db8:1:2ff:3:4:5:6", 60, "2001:db8:1:2f0::/60" },
	{ "2001:db8:1:2ff:3:4:5:6", 55, "2001:db8:1:200::/55" },
	{ "2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6/128" },
	{ "2001:db8:1:2:3:4:5:6", 200, "2001:db8:1:2:3:4:5:6/128" },
	{ "203.0.113.77", 64, "203.0.113.77/32" },
	{ "203.0.113.77", 25, "203.0.113.0/25" },
};

START_TEST(prefix_of)
{
	struct netaddr a;
	struct netaddr_prefix p;
	char buf[NETADDR_TEXT_MAX];

	ck_assert(netaddr_parse_ip(scopes[_i].addr, &a));
	a.port = 5060; /* a prefix has none */
	p = netaddr_prefix_of(&a, scopes[_i].len);
	ck_assert_str_eq(netaddr_prefix_print(&p, buf), scopes[_i].want);
	ck_assert_uint_eq(p.net.port, 0);
	ck_assert(netaddr_prefix_match(&p, &a));
}
END_TEST

START_TEST(specified)
{
	static const struct {
		const char *text;
		bool specified;
	} t[] = { { "0.0.0.0", false }, { "::", false }, { "192.0.2.1", true }, { "::1", true } };
	struct netaddr a;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert(netaddr_parse_ip(t[i].text, &a));
		ck_assert_int_eq(netaddr_is_specified(&a), t[i].specified);
	}
	memset(&a, 0, sizeof(a));
	ck_assert(!netaddr_is_specified(&a));
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
	tcase_add_test(tc, ipv4_str_matches_inet_ntop);
	tcase_add_test(tc, ipv4_parse_matches_inet_pton);
	tcase_add_loop_test(tc, parse_any, 0, sizeof(parsed) / sizeof(parsed[0]));
	tcase_add_loop_test(tc, parse_ip_only, 0, sizeof(ips) / sizeof(ips[0]));
	tcase_add_test(tc, parse_null);
	tcase_add_test(tc, print_longest);
	tcase_add_loop_test(tc, compare, 0, sizeof(compared) / sizeof(compared[0]));
	tcase_add_test(tc, sockaddr_round_trip);
	tcase_add_loop_test(tc, prefix_match, 0, sizeof(matches) / sizeof(matches[0]));
	tcase_add_loop_test(tc, prefix_of, 0, sizeof(scopes) / sizeof(scopes[0]));
	tcase_add_test(tc, specified);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(netaddr_suite)
