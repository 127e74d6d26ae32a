/*
 * Unit tests for externaddr.c's router source (issue 14): a fixed externip, the
 * router's address with externip = "auto" (keep the last good one when the
 * router turns to a private address, unless externhost can serve), and a
 * reload between them. No name is resolved here: the evdns base has no
 * name servers, so externhost never answers.
 */
#include <arpa/inet.h>
#include <check.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "externaddr.h"

#define REQ "localnet = [ \"192.168.0.0/24\" ]; pbx = \"192.168.0.20\";"

struct fixture {
	struct event_base *base;
	struct evdns_base *dns;
	struct conf *conf;
	struct externaddr *ea;
};

static struct conf *load(const char *general)
{
	char text[512], err[CONF_ERR_MAX];
	struct conf *conf;

	snprintf(text, sizeof(text), "general: { " REQ " %s };\nrtp: { rtpend = 10099; };\n", general);
	conf = conf_load_string(text, "test.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	return conf;
}

static void start(struct fixture *f, const char *general)
{
	f->base = event_base_new();
	ck_assert_ptr_nonnull(f->base);
	f->dns = evdns_base_new(f->base, 0);
	ck_assert_ptr_nonnull(f->dns);
	f->conf = load(general);
	f->ea = externaddr_new(f->base, f->dns, f->conf);
	ck_assert_ptr_nonnull(f->ea);
}

static void finish(struct fixture *f)
{
	evdns_base_free(f->dns, 0);
	externaddr_free(f->ea);
	conf_free(f->conf);
	event_base_free(f->base);
}

static struct in_addr ip(const char *text)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, text, &a), 1);
	return a;
}

static void assert_addr(const struct externaddr *ea, const char *want)
{
	struct in_addr got;

	if (!want) {
		ck_assert(!externaddr_get(ea, &got));
		return;
	}
	ck_assert(externaddr_get(ea, &got));
	ck_assert_uint_eq(got.s_addr, ip(want).s_addr);
}

START_TEST(router_keeps_last_good)
{
	struct fixture f;

	start(&f, "externip = \"auto\"; portmap = \"natpmp\";");
	assert_addr(f.ea, NULL);
	ck_assert_str_eq(externaddr_source(f.ea), "none");
	/* before any public address: nothing to keep, and it says what to do */
	ck_assert_ptr_nonnull(strstr(externaddr_router_unusable(f.ea), "set externip or externhost"));
	assert_addr(f.ea, NULL);

	externaddr_set_router(f.ea, ip("203.0.113.1"));
	assert_addr(f.ea, "203.0.113.1");
	ck_assert_str_eq(externaddr_source(f.ea), "router");
	/* the router turns to a CGNAT address: the last good one stays */
	ck_assert_ptr_nonnull(strstr(externaddr_router_unusable(f.ea), "keeping the router's last public address"));
	assert_addr(f.ea, "203.0.113.1");
	/* a new public address replaces it */
	externaddr_set_router(f.ea, ip("198.51.100.9"));
	assert_addr(f.ea, "198.51.100.9");
	finish(&f);
}
END_TEST

START_TEST(router_then_externhost)
{
	struct fixture f;

	start(&f, "externip = \"auto\"; externhost = \"home.example\"; portmap = \"upnp\";");
	assert_addr(f.ea, NULL); /* the name never resolves here */
	externaddr_set_router(f.ea, ip("203.0.113.1"));
	assert_addr(f.ea, "203.0.113.1");
	ck_assert_str_eq(externaddr_source(f.ea), "router");
	/* a private address from the router: externhost serves from now on */
	ck_assert_ptr_nonnull(strstr(externaddr_router_unusable(f.ea), "falling back to externhost"));
	assert_addr(f.ea, NULL);
	ck_assert_str_eq(externaddr_source(f.ea), "none");
	finish(&f);
}
END_TEST

START_TEST(fixed_externip_wins)
{
	struct fixture f;

	start(&f, "externip = \"192.0.2.7\"; portmap = \"auto\";");
	assert_addr(f.ea, "192.0.2.7");
	ck_assert_str_eq(externaddr_source(f.ea), "externip");
	externaddr_set_router(f.ea, ip("203.0.113.1")); /* not "auto": ignored */
	assert_addr(f.ea, "192.0.2.7");
	ck_assert_str_eq(externaddr_source(f.ea), "externip");
	finish(&f);
}
END_TEST

START_TEST(reload_between_sources)
{
	struct fixture f;
	struct conf *next;

	start(&f, "externip = \"auto\"; portmap = \"natpmp\";");
	externaddr_set_router(f.ea, ip("203.0.113.1"));
	assert_addr(f.ea, "203.0.113.1");

	next = load("externip = \"192.0.2.7\"; portmap = \"natpmp\";");
	externaddr_reconfigure(f.ea, next);
	conf_free(f.conf);
	f.conf = next;
	assert_addr(f.ea, "192.0.2.7");
	ck_assert_str_eq(externaddr_source(f.ea), "externip");

	/* back to "auto": the old fixed address is no longer advertised */
	next = load("externip = \"auto\"; portmap = \"natpmp\";");
	externaddr_reconfigure(f.ea, next);
	conf_free(f.conf);
	f.conf = next;
	assert_addr(f.ea, NULL);
	externaddr_set_router(f.ea, ip("203.0.113.2"));
	assert_addr(f.ea, "203.0.113.2");
	finish(&f);
}
END_TEST

static Suite *externaddr_suite(void)
{
	Suite *s = suite_create("externaddr");
	TCase *tc = tcase_create("sources");

	tcase_add_test(tc, router_keeps_last_good);
	tcase_add_test(tc, router_then_externhost);
	tcase_add_test(tc, fixed_externip_wins);
	tcase_add_test(tc, reload_between_sources);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(externaddr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
