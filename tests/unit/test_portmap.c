/*
 * Unit tests for portmap.c (issue 14): the worker thread and the loop's side
 * together, against a router played by this file (a protocol of its own
 * through portmap_new_with): every port mapped, the router's address handed
 * to externaddr, a refused port retried, a router that restarted or went
 * away and came back, a reload to "off" and back, and every mapping removed
 * when the module is freed. The real protocols meet miniupnpd in
 * tests/nat/portmap.sh.
 */
#include <arpa/inet.h>
#include <check.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "externaddr.h"
#include "log.h"
#include "portmap.h"

#define LEASE_S 10
#define PORTS 11 /* 5060 and 10000-10009 */

/* ---- the router: what it holds, how it answers (under mu: the worker
 * thread asks, the test looks) ---- */

static struct router {
	pthread_mutex_t mu;
	bool answers;              /* false: every request goes unanswered */
	uint16_t refuse;           /* a port it refuses (0: none) */
	bool forget_next;          /* the next address answer says it restarted */
	struct in_addr external;
	bool held[65536];
	int lifetime[65536];
	unsigned opens, maps, unmaps, unmap_alls;
} R = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void router_reset(void)
{
	pthread_mutex_lock(&R.mu);
	R.answers = true;
	R.refuse = 0;
	R.forget_next = false;
	inet_pton(AF_INET, "203.0.113.1", &R.external);
	memset(R.held, 0, sizeof(R.held));
	memset(R.lifetime, 0, sizeof(R.lifetime));
	R.opens = R.maps = R.unmaps = R.unmap_alls = 0;
	pthread_mutex_unlock(&R.mu);
}

static size_t router_held(void)
{
	size_t n = 0;

	pthread_mutex_lock(&R.mu);
	for (size_t p = 0; p < 65536; p++)
		n += R.held[p];
	pthread_mutex_unlock(&R.mu);
	return n;
}

static void *fake_open(struct in_addr lan, char why[PORTMAP_WHY_MAX])
{
	bool up;

	pthread_mutex_lock(&R.mu);
	R.opens++;
	up = R.answers;
	pthread_mutex_unlock(&R.mu);
	if (!up) {
		snprintf(why, PORTMAP_WHY_MAX, "the test's router is down");
		return NULL;
	}
	return &R;
}

static const char *fake_router(void *ctx)
{
	return "the test's router";
}

static enum portmap_result fake_external(void *ctx, time_t now, struct in_addr *out, bool *lost,
					 char why[PORTMAP_WHY_MAX])
{
	enum portmap_result r = PORTMAP_OK;

	pthread_mutex_lock(&R.mu);
	if (!R.answers) {
		snprintf(why, PORTMAP_WHY_MAX, "no answer");
		r = PORTMAP_UNREACHABLE;
	} else {
		*out = R.external;
		*lost = R.forget_next;
		R.forget_next = false;
	}
	pthread_mutex_unlock(&R.mu);
	return r;
}

static enum portmap_result fake_map(void *ctx, uint16_t port, int lease_s, int *granted_s,
				    uint16_t *public_port, char why[PORTMAP_WHY_MAX])
{
	enum portmap_result r = PORTMAP_OK;

	pthread_mutex_lock(&R.mu);
	R.maps++;
	if (!R.answers) {
		snprintf(why, PORTMAP_WHY_MAX, "no answer");
		r = PORTMAP_UNREACHABLE;
	} else if (port == R.refuse) {
		snprintf(why, PORTMAP_WHY_MAX, "ConflictInMappingEntry (718)");
		r = PORTMAP_REFUSED;
	} else {
		R.held[port] = true;
		R.lifetime[port] = lease_s;
		*granted_s = lease_s;
		*public_port = port;
	}
	pthread_mutex_unlock(&R.mu);
	return r;
}

static enum portmap_result fake_unmap(void *ctx, uint16_t port, char why[PORTMAP_WHY_MAX])
{
	enum portmap_result r = PORTMAP_OK;

	pthread_mutex_lock(&R.mu);
	R.unmaps++;
	if (!R.answers) {
		snprintf(why, PORTMAP_WHY_MAX, "no answer");
		r = PORTMAP_UNREACHABLE;
	} else {
		R.held[port] = false;
	}
	pthread_mutex_unlock(&R.mu);
	return r;
}

static enum portmap_result fake_unmap_all(void *ctx, char why[PORTMAP_WHY_MAX])
{
	pthread_mutex_lock(&R.mu);
	R.unmap_alls++;
	memset(R.held, 0, sizeof(R.held));
	pthread_mutex_unlock(&R.mu);
	return PORTMAP_OK;
}

static void fake_close(void *ctx)
{
}

/* one like UPnP-IGD (no removal of all at once), one like NAT-PMP */
static const struct portmap_proto_ops one_by_one = {
	.name = "FAKE-IGD", .open = fake_open, .router = fake_router, .external = fake_external,
	.map = fake_map, .unmap = fake_unmap, .close = fake_close,
};
static const struct portmap_proto_ops all_at_once = {
	.name = "FAKE-PMP", .open = fake_open, .router = fake_router, .external = fake_external,
	.map = fake_map, .unmap = fake_unmap, .unmap_all = fake_unmap_all, .close = fake_close,
};
static const struct portmap_proto_ops *const igd[] = { &one_by_one, NULL };
static const struct portmap_proto_ops *const pmp[] = { &all_at_once, NULL };

/* ---- the daemon's side ---- */

struct fixture {
	struct event_base *base;
	struct evdns_base *dns;
	struct conf *conf;
	struct externaddr *ea;
	struct portmap *pm;
};

static struct conf *load(const char *portmap, const char *extra)
{
	char text[512], err[CONF_ERR_MAX];
	struct conf *conf;

	snprintf(text, sizeof(text),
		 "general: { localnet = [ \"192.168.0.0/24\" ]; pbx = \"192.168.0.20\";\n"
		 "  externip = \"%s\"; portmap = \"%s\"; portmaplease = %d; %s };\n"
		 "rtp: { rtpstart = 10000; rtpend = 10009; };\n",
		 strcmp(portmap, "off") == 0 ? "192.0.2.7" : "auto", portmap, LEASE_S, extra);
	conf = conf_load_string(text, "test.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	return conf;
}

/* Start sipnatd's side against the router as the test set it up: the worker
 * begins at once, so whatever the router should do from its first request
 * must be set before this. */
static void start_with_router(struct fixture *f, const struct portmap_proto_ops *const *protocols)
{
	f->base = event_base_new();
	f->dns = evdns_base_new(f->base, 0);
	ck_assert(f->base && f->dns);
	f->conf = load("natpmp", "");
	f->ea = externaddr_new(f->base, f->dns, f->conf);
	ck_assert_ptr_nonnull(f->ea);
	f->pm = portmap_new_with(f->base, f->conf, f->ea, protocols);
	ck_assert_ptr_nonnull(f->pm);
}

static void start(struct fixture *f, const struct portmap_proto_ops *const *protocols)
{
	router_reset();
	start_with_router(f, protocols);
}

static void finish(struct fixture *f)
{
	portmap_free(f->pm);
	evdns_base_free(f->dns, 0);
	externaddr_free(f->ea);
	conf_free(f->conf);
	event_base_free(f->base);
}

static void reload(struct fixture *f, const char *portmap)
{
	struct conf *next = load(portmap, "");

	externaddr_reconfigure(f->ea, next);
	portmap_reconfigure(f->pm, next);
	conf_free(f->conf);
	f->conf = next;
}

/* Run the loop until cond holds; false after seconds. */
static bool run_until(struct fixture *f, bool (*cond)(struct fixture *), int seconds)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		if (cond(f))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= seconds)
			return false;
		usleep(10000);
	}
}

static bool all_mapped(struct fixture *f)
{
	struct portmap_status st;

	portmap_status(f->pm, &st);
	return router_held() == PORTS && st.mapped == PORTS;
}

static bool none_held(struct fixture *f)
{
	struct portmap_status st;

	portmap_status(f->pm, &st);
	return router_held() == 0 && strcmp(st.state, "off") == 0;
}

static bool have_external(struct fixture *f)
{
	struct in_addr a;

	return externaddr_get(f->ea, &a);
}

static bool router_known_down(struct fixture *f)
{
	struct portmap_status st;

	portmap_status(f->pm, &st);
	return strcmp(st.state, "no router") == 0;
}

static bool nine_of_eleven(struct fixture *f)
{
	struct portmap_status st;

	portmap_status(f->pm, &st);
	return st.mapped == PORTS - 1 && st.last_error[0] && router_held() == PORTS - 1;
}

/* ---- the tests ---- */

START_TEST(maps_everything_and_removes_it_at_free)
{
	struct fixture f;
	struct portmap_status st;
	struct portmap_entry e[PORTS + 1];
	struct in_addr a;
	time_t now;

	start(&f, pmp);
	ck_assert(run_until(&f, all_mapped, 5));
	ck_assert(run_until(&f, have_external, 5));
	ck_assert(externaddr_get(f.ea, &a));
	ck_assert_uint_eq(a.s_addr, R.external.s_addr);
	ck_assert_str_eq(externaddr_source(f.ea), "router");

	portmap_status(f.pm, &st);
	ck_assert_str_eq(st.state, "mapped");
	ck_assert_str_eq(st.protocol, "FAKE-PMP");
	ck_assert_str_eq(st.router, "the test's router");
	ck_assert(st.have_external);
	ck_assert_int_eq(st.external_kind, PORTMAP_ADDR_PUBLIC);
	ck_assert_int_eq(st.lease_s, LEASE_S);
	ck_assert_uint_eq(st.ports, PORTS);
	ck_assert(R.held[5060] && R.held[10000] && R.held[10009] && !R.held[10010]);
	ck_assert_int_eq(R.lifetime[5060], LEASE_S);

	ck_assert_uint_eq(portmap_entries(f.pm, e, PORTS + 1, &now), PORTS);
	ck_assert_uint_eq(e[0].port, 5060);
	ck_assert(e[0].mapped);
	ck_assert_int_le(e[0].expires_at - now, LEASE_S);
	ck_assert_int_gt(e[0].expires_at - now, LEASE_S / 2 - 2);

	/* a clean stop: everything removed, in one request where the protocol can */
	portmap_free(f.pm);
	f.pm = NULL;
	ck_assert_uint_eq(router_held(), 0);
	ck_assert_uint_eq(R.unmap_alls, 1);
	ck_assert_uint_eq(R.unmaps, 0);
	finish(&f);
}
END_TEST

START_TEST(one_by_one_removal_and_reload_to_off)
{
	struct fixture f;

	start(&f, igd);
	ck_assert(run_until(&f, all_mapped, 5));
	reload(&f, "off");
	ck_assert(run_until(&f, none_held, 5));
	ck_assert_uint_eq(R.unmaps, PORTS);
	reload(&f, "upnp");
	ck_assert(run_until(&f, all_mapped, 5));
	finish(&f);
	ck_assert_uint_eq(router_held(), 0);
	ck_assert_uint_eq(R.unmaps, 2 * PORTS);
}
END_TEST

START_TEST(refused_port_is_retried)
{
	struct fixture f;

	router_reset();
	pthread_mutex_lock(&R.mu);
	R.refuse = 10003; /* before the worker's first request, or it may map it */
	pthread_mutex_unlock(&R.mu);
	start_with_router(&f, pmp);
	ck_assert(run_until(&f, nine_of_eleven, 5));
	struct portmap_status st;
	portmap_status(f.pm, &st);
	ck_assert_str_eq(st.state, "mapping");
	ck_assert_ptr_nonnull(strstr(st.last_error, "718"));
	pthread_mutex_lock(&R.mu);
	R.refuse = 0;
	pthread_mutex_unlock(&R.mu);
	/* retried PORTMAP_RETRY_MIN_S later */
	ck_assert(run_until(&f, all_mapped, PORTMAP_RETRY_MIN_S + 3));
	finish(&f);
}
END_TEST

START_TEST(router_restart_remaps)
{
	struct fixture f;
	unsigned maps;

	start(&f, pmp);
	ck_assert(run_until(&f, all_mapped, 5));
	/* the router restarts: it holds nothing, and its next answer says so */
	pthread_mutex_lock(&R.mu);
	memset(R.held, 0, sizeof(R.held));
	R.forget_next = true;
	maps = R.maps;
	pthread_mutex_unlock(&R.mu);
	/* asked twice a lease: within LEASE_S / 2 (+ slack) all are back */
	ck_assert(run_until(&f, all_mapped, LEASE_S / 2 + 3));
	ck_assert_uint_ge(R.maps, maps + PORTS);
	finish(&f);
}
END_TEST

START_TEST(router_gone_and_back)
{
	struct fixture f;

	start(&f, pmp);
	ck_assert(run_until(&f, all_mapped, 5));
	pthread_mutex_lock(&R.mu);
	R.answers = false;
	memset(R.held, 0, sizeof(R.held));
	pthread_mutex_unlock(&R.mu);
	/* the next question goes unanswered: searched for again, not found */
	ck_assert(run_until(&f, router_known_down, LEASE_S / 2 + 3 + PORTMAP_RETRY_MIN_S));
	ck_assert(have_external(&f)); /* the last good address stays */
	pthread_mutex_lock(&R.mu);
	R.answers = true;
	pthread_mutex_unlock(&R.mu);
	ck_assert(run_until(&f, all_mapped, 2 * PORTMAP_RETRY_MIN_S + 3));
	finish(&f);
}
END_TEST

START_TEST(no_router_at_all)
{
	struct fixture f;
	struct portmap_status st;

	router_reset();
	start(&f, pmp);
	pthread_mutex_lock(&R.mu);
	R.answers = false;
	pthread_mutex_unlock(&R.mu);
	/* start() may have found it before the switch: reload to find none */
	reload(&f, "off");
	reload(&f, "natpmp");
	ck_assert(run_until(&f, router_known_down, 5));
	portmap_status(f.pm, &st);
	ck_assert_ptr_nonnull(strstr(st.last_error, "the test's router is down"));
	ck_assert_uint_eq(st.mapped, 0);
	finish(&f);
	ck_assert_uint_eq(router_held(), 0);
}
END_TEST

static bool private_seen(struct fixture *f)
{
	struct portmap_status st;

	portmap_status(f->pm, &st);
	return st.have_external && st.external_kind == PORTMAP_ADDR_PRIVATE;
}

START_TEST(private_address_not_advertised)
{
	struct fixture f;

	router_reset();
	pthread_mutex_lock(&R.mu);
	inet_pton(AF_INET, "10.1.2.3", &R.external);
	pthread_mutex_unlock(&R.mu);
	f.base = event_base_new();
	f.dns = evdns_base_new(f.base, 0);
	f.conf = load("natpmp", "");
	f.ea = externaddr_new(f.base, f.dns, f.conf);
	f.pm = portmap_new_with(f.base, f.conf, f.ea, pmp);
	ck_assert_ptr_nonnull(f.pm);
	ck_assert(run_until(&f, private_seen, 5));
	ck_assert(run_until(&f, all_mapped, 5));
	ck_assert(!have_external(&f));
	ck_assert_str_eq(externaddr_source(f.ea), "none");
	finish(&f);
}
END_TEST

static Suite *portmap_suite(void)
{
	Suite *s = suite_create("portmap");
	TCase *tc = tcase_create("worker");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, maps_everything_and_removes_it_at_free);
	tcase_add_test(tc, one_by_one_removal_and_reload_to_off);
	tcase_add_test(tc, refused_port_is_retried);
	tcase_add_test(tc, router_restart_remaps);
	tcase_add_test(tc, router_gone_and_back);
	tcase_add_test(tc, no_router_at_all);
	tcase_add_test(tc, private_address_not_advertised);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(portmap_suite());
	int failed;

	log_open(true);
	log_set_level(LOG_WARNING);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
