/*
 * Unit tests for sip_edge.c: which way each message the SIP path sends
 * leaves (a phone's own TCP connection when the destination is one, else the
 * UDP socket), what transport_to says about it, and that a stream message
 * reaches the dispatcher (the daemon's own, over tests/support/sip_path.c's
 * stand-ins). Loopback sockets on port 0.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "netaddr.h"
#include "sip_dispatch.h"
#include "sip_edge.h"
#include "sip_path.h"
#include "sip_socket.h"
#include "unit_main.h"

static const char conf_text[] =
	"general: {\n  bindaddr = \"127.0.0.1\"; externip = \"203.0.113.7\";\n"
	"  localnet = [ \"192.168.0.0/24\" ]; pbx = \"192.168.0.20\";\n"
	"  transport = \"udp,tcp\"; tcpbindaddr = \"127.0.0.1:5060\";\n};\n";

static struct event_base *base;
static struct sip_socket *udp;
static struct sip_path *path;
static struct conf *conf;

static void ignore_datagram(void *arg, const char *buf, size_t len, const struct netaddr *src)
{
}

/* netaddr of a sockaddr_in, by pointer for the calls below */
static const struct netaddr *na(const struct sockaddr_in *sin)
{
	static struct netaddr held;

	held = netaddr_from_in(sin);
	return &held;
}

/* The IPv4 TCP listener's address. */
static struct sockaddr_in tcp_local(struct sip_edge *e)
{
	struct netaddr local;
	struct sockaddr_in out = { 0 };

	if (sip_stream_local(sip_edge_stream(e), SIP_TRANSPORT_TCP, AF_INET, &local))
		ck_assert(netaddr_to_in(&local, &out));
	return out;
}

static void setup(void)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char err[CONF_ERR_MAX];

	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	udp = sip_socket_open(base, na(&any), NULL, ignore_datagram, NULL, err, sizeof(err));
	ck_assert_msg(udp != NULL, "%s", err);
	path = sip_path_new();
	ck_assert_ptr_nonnull(path);
	conf = conf_load_string(conf_text, "edge.conf", err);
	ck_assert_msg(conf != NULL, "%s", err);
	conf->tcpbind.sin_port = 0;  /* any free port: tests run side by side */
}

static void teardown(void)
{
	conf_free(conf);
	sip_path_free(path);
	sip_socket_close(udp);
	event_base_free(base);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void spin(double seconds)
{
	struct timeval tv = { 0, 10000 };

	for (double end = now_s() + seconds; now_s() < end;) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

/* Bytes waiting on fd within a second, into buf; their count (0: none). */
static ssize_t recv_within(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (double end = now_s() + 1; now_s() < end;) {
		spin(0.01);
		if (poll(&p, 1, 0) == 1)
			return recv(fd, buf, len, 0);
	}
	return 0;
}

/* Without a stream listener: UDP for everything, no counters. */
START_TEST(udp_only)
{
	char err[256], buf[64];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(to);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sip_edge *e;

	conf->transports = CONF_TRANSPORT_UDP;
	e = sip_edge_new(base, udp, sip_path_dispatch(path), conf, err, sizeof(err));
	ck_assert_msg(e != NULL, "%s", err);
	ck_assert_ptr_null(sip_edge_stream_counters(e));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&to, &len), 0);
	ck_assert_int_eq(sip_edge_transport_to(e, na(&to)), SIP_TRANSPORT_UDP);
	sip_edge_send(e, "over udp", 8, na(&to));
	ck_assert_int_eq(recv_within(fd, buf, sizeof(buf)), 8);
	ck_assert(memcmp(buf, "over udp", 8) == 0);
	sip_edge_free(e);
	close(fd);
}
END_TEST

/* A message in over TCP reaches the dispatcher; what is then sent to that
 * peer goes back over the connection, and only there. */
START_TEST(stream_in_and_back)
{
	static const char options[] =
		"OPTIONS sip:203.0.113.7 SIP/2.0\r\n"
		"Via: SIP/2.0/TCP 198.51.100.5:5060;branch=z9hG4bKedge1;rport\r\n"
		"From: <sip:probe@198.51.100.5>;tag=e1\r\nTo: <sip:203.0.113.7>\r\n"
		"Call-ID: edge-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
	char err[256], buf[2048];
	struct sockaddr_in at, me;
	socklen_t len = sizeof(me);
	struct sip_edge *e;
	int fd;

	e = sip_edge_new(base, udp, sip_path_dispatch(path), conf, err, sizeof(err));
	ck_assert_msg(e != NULL, "%s", err);
	at = tcp_local(e);
	ck_assert_uint_ne(at.sin_port, 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&at, sizeof(at)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&me, &len), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	ck_assert_int_eq(write(fd, options, strlen(options)), (ssize_t)strlen(options));
	for (double end = now_s() + 2; now_s() < end && sip_dispatch_counters(sip_path_dispatch(path))->received == 0;)
		spin(0.01);
	ck_assert_uint_eq(sip_dispatch_counters(sip_path_dispatch(path))->received, 1);
	ck_assert_uint_eq(sip_edge_stream_counters(e)->messages, 1);

	/* the peer is the connection: TCP, and the bytes arrive on it */
	ck_assert_int_eq(sip_edge_transport_to(e, na(&me)), SIP_TRANSPORT_TCP);
	sip_edge_send(e, "SIP/2.0 200 OK\r\n", 16, na(&me));
	ck_assert_int_eq(recv_within(fd, buf, sizeof(buf)), 16);
	ck_assert(memcmp(buf, "SIP/2.0 200 OK\r\n", 16) == 0);
	/* another port of the same address is not that connection */
	me.sin_port = htons(ntohs(me.sin_port) ^ 1);
	ck_assert_int_eq(sip_edge_transport_to(e, na(&me)), SIP_TRANSPORT_UDP);
	close(fd);
	sip_edge_free(e);
}
END_TEST

/* Issue 20: with an IPv6 TCP listener (tcpbind6, as bindaddr "::" gives)
 * beside the IPv4 one, a phone over IPv6 reaches the dispatcher and what is
 * sent to it goes back over its connection; the IPv4 listener is still
 * there. */
START_TEST(stream_over_ipv6)
{
	static const char options[] =
		"OPTIONS sip:[2001:db8:1::10] SIP/2.0\r\n"
		"Via: SIP/2.0/TCP [::1]:5060;branch=z9hG4bKedge6;rport\r\n"
		"From: <sip:probe@[::1]>;tag=e6\r\nTo: <sip:[2001:db8:1::10]>\r\n"
		"Call-ID: edge-6\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
	char err[256], buf[2048];
	struct netaddr at, me;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sip_edge *e;

	ck_assert(netaddr_parse_ip("::1", &conf->tcpbind6));
	e = sip_edge_new(base, udp, sip_path_dispatch(path), conf, err, sizeof(err));
	ck_assert_msg(e != NULL, "%s", err);
	ck_assert_uint_ne(tcp_local(e).sin_port, 0);
	ck_assert(sip_stream_local(sip_edge_stream(e), SIP_TRANSPORT_TCP, AF_INET6, &at));
	socklen_t sl = netaddr_to_sockaddr(&at, AF_INET6, &ss);
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&ss, sl), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	ck_assert(netaddr_from_sockaddr((struct sockaddr *)&ss, len, &me));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	ck_assert_int_eq(write(fd, options, strlen(options)), (ssize_t)strlen(options));
	for (double end = now_s() + 2; now_s() < end && sip_dispatch_counters(sip_path_dispatch(path))->received == 0;)
		spin(0.01);
	ck_assert_uint_eq(sip_dispatch_counters(sip_path_dispatch(path))->received, 1);
	ck_assert_int_eq(sip_edge_transport_to(e, &me), SIP_TRANSPORT_TCP);
	sip_edge_send(e, "SIP/2.0 200 OK\r\n", 16, &me);
	ck_assert_int_eq(recv_within(fd, buf, sizeof(buf)), 16);
	ck_assert(memcmp(buf, "SIP/2.0 200 OK\r\n", 16) == 0);
	close(fd);
	sip_edge_free(e);
}
END_TEST

/* A reload that enables TCP opens its listener; one without changes keeps it. */
START_TEST(reconfigure_opens_listener)
{
	char err[256];
	struct sip_edge *e;

	conf->transports = CONF_TRANSPORT_UDP;
	e = sip_edge_new(base, udp, sip_path_dispatch(path), conf, err, sizeof(err));
	ck_assert_msg(e != NULL, "%s", err);
	ck_assert_ptr_null(sip_edge_stream(e));
	conf->transports = CONF_TRANSPORT_UDP | CONF_TRANSPORT_TCP;
	ck_assert_msg(sip_edge_reconfigure(e, conf, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_nonnull(sip_edge_stream(e));
	ck_assert_uint_ne(tcp_local(e).sin_port, 0);
	ck_assert_msg(sip_edge_reconfigure(e, conf, err, sizeof(err)) == 0, "%s", err);
	sip_edge_free(e);
}
END_TEST

static Suite *sip_edge_suite(void)
{
	Suite *s = suite_create("sip_edge");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, udp_only);
	tcase_add_test(tc, stream_in_and_back);
	tcase_add_test(tc, stream_over_ipv6);
	tcase_add_test(tc, reconfigure_opens_listener);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN_INIT(sip_edge_suite, sip_path_global_init())
