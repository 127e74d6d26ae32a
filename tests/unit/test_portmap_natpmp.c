/*
 * Unit tests for portmap_natpmp.c (issue 14): the default gateway read from a
 * route table, and the NAT-PMP conversation (RFC 6886) with a server this
 * file runs on 127.0.0.1:5351: the public address and the epoch that shows a
 * restart, a mapping with the lifetime and port the server grants, a refusal,
 * the removal of one mapping and of all, and a server that is not there.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "portmap_natpmp.h"

#define NATPMP_PORT 5351

/* ---- the server ---- */

static struct server {
	pthread_mutex_t mu;
	int fd;
	pthread_t thread;
	bool stop;
	uint32_t epoch;
	uint16_t result;          /* the result code of every answer */
	uint32_t max_lifetime;    /* grants at most this */
	uint16_t port_offset;     /* gives public port = asked + this */
	unsigned requests;
	unsigned char last[12];   /* the last mapping request */
} S = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void put16(unsigned char *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(unsigned char *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const unsigned char *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static void *server_main(void *arg)
{
	for (;;) {
		struct pollfd pfd = { .fd = S.fd, .events = POLLIN };
		unsigned char in[64], out[16];
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		ssize_t n;
		size_t len;

		pthread_mutex_lock(&S.mu);
		bool stop = S.stop;
		pthread_mutex_unlock(&S.mu);
		if (stop)
			return NULL;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvfrom(S.fd, in, sizeof(in), 0, (struct sockaddr *)&from, &fromlen);
		if (n < 2 || in[0] != 0)
			continue;
		pthread_mutex_lock(&S.mu);
		S.requests++;
		memset(out, 0, sizeof(out));
		out[1] = (unsigned char)(128 + in[1]);
		put16(out + 2, S.result);
		put32(out + 4, S.epoch);
		if (in[1] == 0 && n == 2) {
			inet_pton(AF_INET, "203.0.113.1", out + 8);
			len = 12;
		} else if ((in[1] == 1 || in[1] == 2) && n == 12) {
			uint32_t life = get32(in + 8);
			memcpy(S.last, in, sizeof(S.last));
			put16(out + 8, get16(in + 4));
			put16(out + 10, get16(in + 4) ? (uint16_t)(get16(in + 4) + S.port_offset) : 0);
			put32(out + 12, life < S.max_lifetime ? life : S.max_lifetime);
			len = 16;
		} else {
			pthread_mutex_unlock(&S.mu);
			continue;
		}
		pthread_mutex_unlock(&S.mu);
		sendto(S.fd, out, len, 0, (struct sockaddr *)&from, fromlen);
	}
}

static void server_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(NATPMP_PORT) };
	int one = 1;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	S.fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(S.fd, 0);
	setsockopt(S.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_msg(bind(S.fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind 127.0.0.1:5351: %s",
		      strerror(errno));
	S.stop = false;
	S.epoch = 1000;
	S.result = 0;
	S.max_lifetime = 86400;
	S.port_offset = 0;
	S.requests = 0;
	ck_assert_int_eq(pthread_create(&S.thread, NULL, server_main, NULL), 0);
}

static void server_stop(void)
{
	pthread_mutex_lock(&S.mu);
	S.stop = true;
	pthread_mutex_unlock(&S.mu);
	pthread_join(S.thread, NULL);
	close(S.fd);
}

static void server_set(uint32_t epoch, uint16_t result, uint32_t max_lifetime, uint16_t offset)
{
	pthread_mutex_lock(&S.mu);
	S.epoch = epoch;
	S.result = result;
	S.max_lifetime = max_lifetime;
	S.port_offset = offset;
	pthread_mutex_unlock(&S.mu);
}

static struct in_addr loopback(void)
{
	struct in_addr a;

	inet_pton(AF_INET, "127.0.0.1", &a);
	return a;
}

/* ---- the tests ---- */

START_TEST(gateway_from_route_table)
{
	char path[] = "/tmp/test_portmap_natpmp.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct in_addr gw;

	ck_assert_ptr_nonnull(f);
	fputs("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	      "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	      "garbage line\n"
	      "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", f);
	fclose(f);
	ck_assert(portmap_natpmp_gateway(path, &gw));
	ck_assert_str_eq(inet_ntoa(gw), "192.0.2.1");

	/* a default route without a gateway (a point-to-point link) is none */
	f = fopen(path, "w");
	fputs("Iface\tDestination\tGateway \tFlags\n"
	      "ppp0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n", f);
	fclose(f);
	ck_assert(!portmap_natpmp_gateway(path, &gw));
	unlink(path);
	ck_assert(!portmap_natpmp_gateway("/nonexistent/route", &gw));
}
END_TEST

START_TEST(address_epoch_and_mappings)
{
	char why[PORTMAP_WHY_MAX] = "";
	const struct portmap_proto_ops *ops = &portmap_natpmp_ops;
	struct in_addr addr;
	bool lost = true;
	int granted = 0;
	uint16_t public_port = 0;
	void *c;

	server_start();
	c = portmap_natpmp_open_at(loopback(), why);
	ck_assert_msg(c != NULL, "%s", why);
	ck_assert_str_eq(ops->router(c), "gateway 127.0.0.1:5351");

	/* the epoch kept pace with the clock, then went back: a restart */
	server_set(1010, 0, 86400, 0);
	ck_assert_int_eq(ops->external(c, 10, &addr, &lost, why), PORTMAP_OK);
	ck_assert_str_eq(inet_ntoa(addr), "203.0.113.1");
	server_set(1020, 0, 86400, 0);
	ck_assert_int_eq(ops->external(c, 20, &addr, &lost, why), PORTMAP_OK);
	ck_assert(!lost);
	server_set(3, 0, 86400, 0);
	ck_assert_int_eq(ops->external(c, 30, &addr, &lost, why), PORTMAP_OK);
	ck_assert(lost);

	/* the lifetime and the port the server grants */
	server_set(40, 0, 120, 0);
	ck_assert_int_eq(ops->map(c, 5060, 3600, &granted, &public_port, why), PORTMAP_OK);
	ck_assert_int_eq(granted, 120);
	ck_assert_uint_eq(public_port, 5060);
	ck_assert_uint_eq(S.last[1], 1);              /* UDP */
	ck_assert_uint_eq(get16(S.last + 4), 5060);  /* internal port */
	ck_assert_uint_eq(get16(S.last + 6), 5060);  /* the same port outside */
	ck_assert_uint_eq(get32(S.last + 8), 3600);
	/* "permanent": NAT-PMP has none; RFC 6886's recommended 7200 s */
	server_set(41, 0, 86400, 7);
	ck_assert_int_eq(ops->map(c, 10000, 0, &granted, &public_port, why), PORTMAP_OK);
	ck_assert_int_eq(granted, 7200);
	ck_assert_uint_eq(public_port, 10007);

	/* removal: lifetime 0; all at once: ports 0 too (RFC 6886 3.4) */
	ck_assert_int_eq(ops->unmap(c, 10000, why), PORTMAP_OK);
	ck_assert_uint_eq(get16(S.last + 4), 10000);
	ck_assert_uint_eq(get32(S.last + 8), 0);
	ck_assert_int_eq(ops->unmap_all(c, why), PORTMAP_OK);
	ck_assert_uint_eq(get16(S.last + 4), 0);
	ck_assert_uint_eq(get16(S.last + 6), 0);
	ck_assert_uint_eq(get32(S.last + 8), 0);

	/* a refusal (2: not authorized) is the router's no, not its absence */
	server_set(42, 2, 86400, 0);
	ck_assert_int_eq(ops->map(c, 10002, 3600, &granted, &public_port, why), PORTMAP_REFUSED);
	ck_assert_ptr_nonnull(strstr(why, "mapping request"));
	ops->close(c);
	server_stop();
}
END_TEST

START_TEST(nobody_there)
{
	char why[PORTMAP_WHY_MAX] = "";
	struct timespec t0, t1;
	void *c;

	/* nothing listens on 127.0.0.1:5351: the port is closed, said at once
	 * (ICMP), or the wait ends after a few seconds */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = portmap_natpmp_open_at(loopback(), why);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(why, "gateway 127.0.0.1:5351: public address request"));
	ck_assert_int_le(t1.tv_sec - t0.tv_sec, 4);
}
END_TEST

START_TEST(silent_server)
{
	char why[PORTMAP_WHY_MAX] = "";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(NATPMP_PORT) };
	struct timespec t0, t1;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	void *c;

	/* bound but never answering: the wait is bounded */
	a.sin_addr = loopback();
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = portmap_natpmp_open_at(loopback(), why);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(why, "no answer within"));
	ck_assert_int_ge(t1.tv_sec - t0.tv_sec, 2);
	ck_assert_int_le(t1.tv_sec - t0.tv_sec, 4);
}
END_TEST

static Suite *portmap_natpmp_suite(void)
{
	Suite *s = suite_create("portmap_natpmp");
	TCase *tc = tcase_create("natpmp");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, gateway_from_route_table);
	tcase_add_test(tc, address_epoch_and_mappings);
	tcase_add_test(tc, nobody_there);
	tcase_add_test(tc, silent_server);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(portmap_natpmp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
