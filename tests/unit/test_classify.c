/*
 * Unit tests for classify.c: localnet membership at the edges of the network
 * in both notations, and who a source address is (PBX, LAN, trunk, Internet)
 * from the address alone.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "conf.h"
#include "../support/unit_main.h"

#define GENERAL(localnet)                                                              \
	"general: {\n"                                                                 \
	"  externip = \"203.0.113.7\";\n"                                              \
	"  localnet = [ " localnet " ];\n"                                             \
	"  pbx = \"127.0.10.2:5080\";\n"                                               \
	"};\n"

/* One trunk by address (with a port that must not matter), one by name, one
 * phone that registers. */
#define PEERS                                                                          \
	"peers: (\n"                                                                   \
	"  { name = \"itsp\"; host = \"127.0.40.1:5070\"; },\n"                        \
	"  { name = \"carrier\"; host = \"sip.carrier.example\"; },\n"                 \
	"  { name = \"alice\"; secret = \"Wm4-t7Qz9pLx\"; },\n"                        \
	"  { name = \"lanphone\"; host = \"127.0.10.50\"; }\n"                          \
	");\n"

static struct conf *conf;

static struct conf *load(const char *text)
{
	char err[CONF_ERR_MAX] = "";
	struct conf *c = conf_load_string(text, "classify.conf", err);

	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

static void setup_prefix(void)
{
	conf = load(GENERAL("\"127.0.10.0/24\"") PEERS);
}

static void setup_mask(void)
{
	conf = load(GENERAL("\"127.0.10.0/255.255.255.0\"") PEERS);
}

static void teardown(void)
{
	conf_free(conf);
	conf = NULL;
}

static struct netaddr addr_of(const char *text)
{
	struct netaddr a;

	ck_assert_msg(netaddr_parse(text, &a), "%s", text);
	return a;
}

static bool is_local(const struct conf *c, const char *text)
{
	struct netaddr a = addr_of(text);

	return classify_is_local(c, &a);
}

/* The callback stands for the DNS cache: it knows the carrier's name and
 * that it resolved to `carrier`. */
struct resolver {
	const struct conf *conf;
	struct netaddr carrier;
	int calls;
	struct netaddr last_asked;
};

static const struct conf_peer *resolver_match_cb(void *arg, const struct netaddr *addr)
{
	struct resolver *r = arg;

	r->calls++;
	r->last_asked = *addr;
	return netaddr_same_ip(addr, &r->carrier) ? conf_peer_find(r->conf, "carrier") : NULL;
}

static enum source_kind source_of(const char *text, struct resolver *r,
				  const struct conf_peer **peer)
{
	struct netaddr a = addr_of(text);

	return classify_source(conf, &a, r ? resolver_match_cb : NULL, r, peer);
}

static const struct {
	const char *addr;
	bool local;
} edges[] = {
	{ "127.0.10.0", true },
	{ "127.0.10.1", true },
	{ "127.0.10.2", true },
	{ "127.0.10.255", true },
	{ "127.0.11.0", false },
	{ "127.0.9.255", false },
	{ "127.0.30.5", false },
	{ "203.0.113.7", false },
	{ "0.0.0.0", false },
	{ "255.255.255.255", false },
	/* no IPv6 prefix listed: the unique local and link-local nets are LAN */
	{ "fd00::10", true },
	{ "fe80::10", true },
	{ "2001:db8::10", false },
};

/* _i indexes edges; run once per notation of the same network. */
START_TEST(localnet_edges)
{
	ck_assert_msg(is_local(conf, edges[_i].addr) == edges[_i].local, "%s %s",
		      edges[_i].addr, edges[_i].local ? "should be local" : "should not be local");
}
END_TEST

/* Several networks: any of them counts, and a /32 is one host. */
START_TEST(localnet_several)
{
	struct conf *c = load(GENERAL("\"192.168.1.0/24\", \"10.0.0.0/8\", \"127.0.10.2/32\""));

	ck_assert(is_local(c, "192.168.1.77"));
	ck_assert(is_local(c, "10.255.255.255"));
	ck_assert(is_local(c, "127.0.10.2"));
	ck_assert(!is_local(c, "127.0.10.3"));
	ck_assert(!is_local(c, "11.0.0.0"));
	ck_assert(!is_local(c, "192.168.2.1"));
	conf_free(c);
}
END_TEST

static const struct conf_peer *sentinel = (const struct conf_peer *)&sentinel;

/* The PBX by its address, from any port (the port is not compared). */
START_TEST(source_pbx)
{
	const struct conf_peer *peer = sentinel;

	ck_assert_int_eq(source_of("127.0.10.2", NULL, &peer), SOURCE_PBX);
	ck_assert_ptr_null(peer);
	ck_assert_int_eq(source_of("127.0.10.2:4000", NULL, &peer), SOURCE_PBX);
	ck_assert_uint_eq(conf->pbxaddr.port, 5080);
}
END_TEST

START_TEST(source_lan)
{
	const struct conf_peer *peer = sentinel;

	ck_assert_int_eq(source_of("127.0.10.3", NULL, &peer), SOURCE_LAN);
	ck_assert_ptr_null(peer);
	ck_assert_int_eq(source_of("127.0.10.255", NULL, &peer), SOURCE_LAN);
}
END_TEST

/* A trunk whose host is an address literal, whatever port it was given. */
START_TEST(source_trunk_literal)
{
	const struct conf_peer *peer = NULL;

	ck_assert_int_eq(source_of("127.0.40.1", NULL, &peer), SOURCE_TRUNK);
	ck_assert_ptr_nonnull(peer);
	ck_assert_str_eq(peer->name, "itsp");
	ck_assert_ptr_eq(peer, conf_peer_find(conf, "itsp"));
	/* a peer with a LAN address is a trunk, not just LAN */
	ck_assert_int_eq(source_of("127.0.10.50", NULL, &peer), SOURCE_TRUNK);
	ck_assert_str_eq(peer->name, "lanphone");
	/* the next address is nobody */
	ck_assert_int_eq(source_of("127.0.40.2", NULL, &peer), SOURCE_INTERNET);
	ck_assert_ptr_null(peer);
}
END_TEST

START_TEST(source_trunk_callback)
{
	struct resolver r = { .conf = conf, .carrier = addr_of("198.51.100.20") };
	const struct conf_peer *peer = NULL;

	ck_assert_int_eq(source_of("198.51.100.20", &r, &peer), SOURCE_TRUNK);
	ck_assert_ptr_nonnull(peer);
	ck_assert_str_eq(peer->name, "carrier");
	ck_assert_int_eq(r.calls, 1);
	ck_assert(netaddr_same(&r.last_asked, &r.carrier));

	/* Unknown to the callback: Internet, no peer. */
	ck_assert_int_eq(source_of("198.51.100.21", &r, &peer), SOURCE_INTERNET);
	ck_assert_ptr_null(peer);
	ck_assert_int_eq(r.calls, 2);

	/* The PBX and literal trunks are decided before asking. */
	ck_assert_int_eq(source_of("127.0.10.2", &r, &peer), SOURCE_PBX);
	ck_assert_int_eq(source_of("127.0.40.1", &r, &peer), SOURCE_TRUNK);
	ck_assert_str_eq(peer->name, "itsp");
	ck_assert_int_eq(r.calls, 2);
}
END_TEST

START_TEST(source_internet)
{
	const struct conf_peer *peer = sentinel;

	ck_assert_int_eq(source_of("127.0.30.5", NULL, &peer), SOURCE_INTERNET);
	ck_assert_ptr_null(peer);
	ck_assert_int_eq(source_of("127.0.11.0", NULL, &peer), SOURCE_INTERNET);
	ck_assert_int_eq(source_of("127.0.9.255", NULL, &peer), SOURCE_INTERNET);
	/* our own external address is not trusted either */
	ck_assert_int_eq(source_of("203.0.113.7", NULL, &peer), SOURCE_INTERNET);
}
END_TEST

START_TEST(source_names)
{
	ck_assert_str_eq(classify_source_name(SOURCE_PBX), "pbx");
	ck_assert_str_eq(classify_source_name(SOURCE_LAN), "lan");
	ck_assert_str_eq(classify_source_name(SOURCE_TRUNK), "trunk");
	ck_assert_str_eq(classify_source_name(SOURCE_INTERNET), "internet");
}
END_TEST

/* ---- either family (issue 20) ---- */

/* Whether an address is local under two localnet lists: IPv4 only (the
 * IPv6 default applies: ULA and link-local), and one that names an IPv6
 * prefix (which replaces that default). */
static const struct {
	const char *addr;
	bool local_default, local_listed;
} local6[] = {
	{ "fd00::1", true, false },
	{ "fc00::1", true, false },
	{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, false },
	{ "fe80::1", true, false },
	{ "febf:ffff::1", true, false },
	{ "fec0::1", false, false },
	{ "fb00::1", false, false },
	{ "fe00::1", false, false },
	{ "2001:db8:10::5", false, true },
	{ "2001:db8:10:ffff:ffff:ffff:ffff:ffff", false, true },
	{ "2001:db8:11::5", false, false },
	{ "2001:db8::1", false, false },
	{ "::1", false, false },
	{ "::", false, false },
	/* IPv4 is decided by the IPv4 entries alone, in both lists */
	{ "127.0.10.9", true, true },
	{ "::ffff:127.0.10.9", true, true },
	{ "127.0.11.9", false, false },
	{ "8.8.8.8", false, false },
	{ "0.0.0.0", false, false },
};

START_TEST(localnet_ipv6)
{
	struct conf *listed = load(GENERAL("\"127.0.10.0/24\", \"2001:db8:10::/48\"") PEERS);
	struct netaddr a = addr_of(local6[_i].addr);

	ck_assert_msg(classify_is_local(conf, &a) == local6[_i].local_default, "%s, default",
		      local6[_i].addr);
	ck_assert_msg(classify_is_local(listed, &a) == local6[_i].local_listed, "%s, listed",
		      local6[_i].addr);
	conf_free(listed);
}
END_TEST

/* ULA can be listed back beside another IPv6 prefix. */
START_TEST(localnet_ipv6_ula_listed)
{
	struct conf *c = load(GENERAL("\"127.0.10.0/24\", \"fd12:3456:789a::/48\"") PEERS);
	struct netaddr own = addr_of("fd12:3456:789a:1::7"), other = addr_of("fd99::7");

	ck_assert(classify_is_local(c, &own));
	ck_assert(!classify_is_local(c, &other));
	conf_free(c);
}
END_TEST

static const struct {
	const char *addr;
	enum source_kind kind;
	const char *peer; /* NULL: none */
	int asked;        /* the callback is asked (PBX and literals come first) */
} sources6[] = {
	{ "[2001:db8:99::20]:5060", SOURCE_TRUNK, "carrier", 1 },
	{ "[2001:db8:99::21]:5060", SOURCE_INTERNET, NULL, 1 },
	{ "[fd00::5]:5060", SOURCE_LAN, NULL, 1 },
	{ "[fe80::5]:5060", SOURCE_LAN, NULL, 1 },
	{ "127.0.10.2:4000", SOURCE_PBX, NULL, 0 },
	{ "[::ffff:127.0.10.2]:4000", SOURCE_PBX, NULL, 0 },
	{ "127.0.40.1:5070", SOURCE_TRUNK, "itsp", 0 },
	{ "[::ffff:127.0.40.1]:5070", SOURCE_TRUNK, "itsp", 0 },
	{ "127.0.10.77:5060", SOURCE_LAN, NULL, 1 },
	{ "203.0.113.7:5060", SOURCE_INTERNET, NULL, 1 },
};

START_TEST(source_any_family)
{
	struct resolver r = { .conf = conf, .carrier = addr_of("2001:db8:99::20") };
	const struct conf_peer *peer = sentinel;
	struct netaddr a = addr_of(sources6[_i].addr);

	ck_assert_int_eq(classify_source(conf, &a, resolver_match_cb, &r, &peer),
			 sources6[_i].kind);
	if (sources6[_i].peer) {
		ck_assert_ptr_nonnull(peer);
		ck_assert_str_eq(peer->name, sources6[_i].peer);
	} else {
		ck_assert_ptr_null(peer);
	}
	ck_assert_int_eq(r.calls, sources6[_i].asked);
	if (r.calls)
		ck_assert(netaddr_same(&r.last_asked, &a));
	/* the same without a callback */
	ck_assert_int_eq(classify_source(conf, &a, NULL, NULL, &peer),
			 sources6[_i].kind == SOURCE_TRUNK && sources6[_i].asked ? SOURCE_INTERNET
										   : sources6[_i].kind);
}
END_TEST

static Suite *classify_suite(void)
{
	Suite *s = suite_create("classify");
	TCase *tc;
	size_t n_edges = sizeof(edges) / sizeof(edges[0]);

	tc = tcase_create("localnet_prefix");
	tcase_add_checked_fixture(tc, setup_prefix, teardown);
	tcase_add_loop_test(tc, localnet_edges, 0, (int)n_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("localnet_mask");
	tcase_add_checked_fixture(tc, setup_mask, teardown);
	tcase_add_loop_test(tc, localnet_edges, 0, (int)n_edges);
	tcase_add_test(tc, localnet_several);
	suite_add_tcase(s, tc);

	tc = tcase_create("source");
	tcase_add_checked_fixture(tc, setup_prefix, teardown);
	tcase_add_test(tc, source_pbx);
	tcase_add_test(tc, source_lan);
	tcase_add_test(tc, source_trunk_literal);
	tcase_add_test(tc, source_trunk_callback);
	tcase_add_test(tc, source_internet);
	tcase_add_test(tc, source_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("either_family");
	tcase_add_checked_fixture(tc, setup_prefix, teardown);
	tcase_add_loop_test(tc, localnet_ipv6, 0, sizeof(local6) / sizeof(local6[0]));
	tcase_add_test(tc, localnet_ipv6_ula_listed);
	tcase_add_loop_test(tc, source_any_family, 0, sizeof(sources6) / sizeof(sources6[0]));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(classify_suite)
