/*
 * conf_diff: the reload log line names what changed, and nothing else.
 */
#include "conf.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char base[] =
	"general: { externhost = \"home.example.net\"; localnet = [\"192.168.0.0/24\"];\n"
	"  pbx = \"192.168.0.20\"; };\n"
	"rtp: { rtptimeout = 60; };\n"
	"peers: ( { name = \"alice\"; secret = \"a\"; }, { name = \"carol\"; secret = \"c\"; } );\n";

static struct conf *load(const char *text)
{
	char err[CONF_ERR_MAX];
	struct conf *c = conf_load_string(text, "t.conf", err);
	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

START_TEST(nothing_changed)
{
	struct conf *a = load(base), *b = load(base);
	char buf[512];
	ck_assert_uint_eq(conf_diff(a, b, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	conf_free(a);
	conf_free(b);
}
END_TEST

START_TEST(keys_and_peers_named)
{
	struct conf *a = load(base);
	struct conf *b = load(
		"general: { externip = \"203.0.113.9\"; localnet = [\"192.168.0.0/24\"];\n"
		"  pbx = \"192.168.0.20\"; useragent = \"PBX\"; };\n"
		"rtp: { rtptimeout = 30; };\n"
		"peers: ( { name = \"alice\"; secret = \"new\"; }, { name = \"bob\"; secret = \"b\"; } );\n");
	char buf[512];
	conf_diff(a, b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "general.externhost, general.externip, general.useragent, rtp.rtptimeout, peer alice changed, "
			      "peer bob added, peer carol removed");
	conf_free(a);
	conf_free(b);
}
END_TEST

/* the router's keys (issue 14): portmap, its lease, externip turning "auto" */
START_TEST(portmap_named)
{
	struct conf *a = load(base);
	struct conf *b = load(
		"general: { externhost = \"home.example.net\"; externip = \"auto\"; portmap = \"upnp\";\n"
		"  portmaplease = 600; localnet = [\"192.168.0.0/24\"]; pbx = \"192.168.0.20\"; };\n"
		"rtp: { rtptimeout = 60; rtpend = 10099; };\n"
		"peers: ( { name = \"alice\"; secret = \"a\"; }, { name = \"carol\"; secret = \"c\"; } );\n");
	char buf[512];
	conf_diff(a, b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "general.externip, general.portmap, general.portmaplease, rtp.rtpend");
	conf_free(a);
	conf_free(b);
}
END_TEST

/* digestalgs: general's change is one key; a peer's own is that peer's
 * change, and a peer that inherits is not named when general's changes. */
START_TEST(digestalgs_named)
{
	struct conf *a = load(base);
	struct conf *b = load(
		"general: { externhost = \"home.example.net\"; localnet = [\"192.168.0.0/24\"];\n"
		"  pbx = \"192.168.0.20\"; digestalgs = \"sha256,md5\"; };\n"
		"rtp: { rtptimeout = 60; };\n"
		"peers: ( { name = \"alice\"; secret = \"a\"; digestalgs = \"sha256\"; },\n"
		"  { name = \"carol\"; secret = \"c\"; } );\n");
	struct conf *c = load(
		"general: { externhost = \"home.example.net\"; localnet = [\"192.168.0.0/24\"];\n"
		"  pbx = \"192.168.0.20\"; digestalgs = \"md5,sha256\"; };\n"
		"rtp: { rtptimeout = 60; };\n"
		"peers: ( { name = \"alice\"; secret = \"a\"; digestalgs = \"sha256\"; },\n"
		"  { name = \"carol\"; secret = \"c\"; } );\n");
	char buf[512];
	conf_diff(a, b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "general.digestalgs, peer alice changed");
	conf_diff(b, c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "general.digestalgs");
	conf_free(a);
	conf_free(b);
	conf_free(c);
}
END_TEST

/* A new limit or nat value is a change a reload must report (issue 10). */
START_TEST(peer_limits_are_changes)
{
	struct conf *a = load(base);
	struct conf *b = load(
		"general: { externhost = \"home.example.net\"; localnet = [\"192.168.0.0/24\"];\n"
		"  pbx = \"192.168.0.20\"; };\n"
		"rtp: { rtptimeout = 60; };\n"
		"peers: ( { name = \"alice\"; secret = \"a\"; calllimit = 2; },\n"
		"  { name = \"carol\"; secret = \"c\"; maxrelays = 4; } );\n");
	struct conf *c = load(
		"general: { externhost = \"home.example.net\"; localnet = [\"192.168.0.0/24\"];\n"
		"  pbx = \"192.168.0.20\"; };\n"
		"rtp: { rtptimeout = 60; };\n"
		"peers: ( { name = \"alice\"; secret = \"a\"; nat = \"auto\"; },\n"
		"  { name = \"carol\"; secret = \"c\"; } );\n");
	char buf[512];
	conf_diff(a, b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "peer alice changed, peer carol changed");
	conf_diff(a, c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "peer alice changed");
	conf_free(a);
	conf_free(b);
	conf_free(c);
}
END_TEST

START_TEST(truncates_safely)
{
	struct conf *a = load(base);
	struct conf *b = load(
		"general: { externip = \"203.0.113.9\"; localnet = [\"10.0.0.0/8\"];\n"
		"  pbx = \"192.168.0.21\"; realm = \"x\"; };\n"
		"peers: ( { name = \"dave\"; secret = \"d\"; } );\n");
	char buf[24];
	size_t n = conf_diff(a, b, buf, sizeof(buf));
	ck_assert_uint_lt(n, sizeof(buf));
	ck_assert_uint_eq(strlen(buf), n);
	conf_free(a);
	conf_free(b);
}
END_TEST

/* IPv6 localnet prefixes and banprefix6 are changes; the same prefix spelled
 * otherwise is none (issue 20). */
static const struct {
	const char *general; /* the general group's extra text, beside base's */
	const char *want;
} v6_changes[] = {
	{ "localnet = [\"192.168.0.0/24\", \"2001:db8:1::/48\"];", "general.localnet" },
	{ "localnet = [\"192.168.0.0/24\"]; banprefix6 = 56;", "general.banprefix6" },
	{ "localnet = [\"192.168.0.0/24\"]; banprefix6 = 64;", "" },
};

START_TEST(ipv6_keys_named)
{
	char text[512], buf[512];
	struct conf *a, *b, *c;

	snprintf(text, sizeof(text),
		 "general: { externhost = \"home.example.net\"; %s\n  pbx = \"192.168.0.20\"; };\n"
		 "rtp: { rtptimeout = 60; };\n"
		 "peers: ( { name = \"alice\"; secret = \"a\"; }, { name = \"carol\"; secret = \"c\"; } );\n",
		 v6_changes[_i].general);
	a = load(base);
	b = load(text);
	conf_diff(a, b, buf, sizeof(buf));
	ck_assert_str_eq(buf, v6_changes[_i].want);
	/* the same prefix written another way is the same configuration */
	c = load("general: { externhost = \"home.example.net\";\n"
		 "  localnet = [\"192.168.0.0/24\", \"2001:DB8:1:0::5/48\"];\n"
		 "  pbx = \"192.168.0.20\"; };\n"
		 "rtp: { rtptimeout = 60; };\n"
		 "peers: ( { name = \"alice\"; secret = \"a\"; }, { name = \"carol\"; secret = \"c\"; } );\n");
	if (_i == 0) {
		conf_diff(b, c, buf, sizeof(buf));
		ck_assert_str_eq(buf, "");
	}
	conf_free(a);
	conf_free(b);
	conf_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conf_diff");
	TCase *tc = tcase_create("diff");
	tcase_add_test(tc, nothing_changed);
	tcase_add_test(tc, keys_and_peers_named);
	tcase_add_test(tc, portmap_named);
	tcase_add_test(tc, digestalgs_named);
	tcase_add_loop_test(tc, ipv6_keys_named, 0, sizeof(v6_changes) / sizeof(v6_changes[0]));
	tcase_add_test(tc, peer_limits_are_changes);
	tcase_add_test(tc, truncates_safely);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
