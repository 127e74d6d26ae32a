/*
 * Unit tests for sip_socket.c: the SIP UDP socket on 127.0.0.1 (an
 * ephemeral port) in a real event loop, with a client socket on 127.0.0.3.
 * Covered: datagrams handed over whole with their source, bursts larger
 * than one recvmmsg batch and than one wake-up, the largest UDP datagram,
 * replies leaving from the bound port (RFC 3581 4), bind failures with
 * their reason, send failures counted, receive queue overflows counted
 * exactly, reading stopped (also from inside the callback), and siptrace.
 */
#include <arpa/inet.h>
#include <check.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "netaddr.h"
#include "sip_socket.h"
#include "sipmsg.h"

#include "../support/unit_main.h"
#include "../support/unit_udp.h"

#define CLIENT_IP "127.0.0.3"
#define WAIT_MS 3000
#define SEEN_MAX 64

struct seen {
	int count;
	size_t len[SEEN_MAX];
	char first[SEEN_MAX][64];  /* the first bytes of each */
	struct netaddr src;
	struct sip_socket *stop_on_first;  /* stop reading from inside the callback */
	unsigned long total_bytes;
};

static struct event_base *base;
static struct seen seen;
static struct sip_socket *sock;
static struct sockaddr_in local;
static int client;
static struct sockaddr_in client_addr;

/* netaddr of a sockaddr_in, by pointer for the calls below */
static const struct netaddr *N(const struct sockaddr_in *sin)
{
	static struct netaddr held[2];
	static unsigned next;
	struct netaddr *a = &held[next++ % 2];

	*a = netaddr_from_in(sin);
	return a;
}

/* The IPv4 socket's address. */
static struct sockaddr_in local4(const struct sip_socket *s)
{
	struct netaddr a;
	struct sockaddr_in out = { 0 };

	ck_assert(sip_socket_local(s, AF_INET, &a) && netaddr_to_in(&a, &out));
	return out;
}

static void datagram_cb(void *arg, const char *buf, size_t len, const struct netaddr *src)
{
	struct seen *s = arg;

	if (s->count < SEEN_MAX) {
		s->len[s->count] = len;
		snprintf(s->first[s->count], sizeof(s->first[0]), "%.*s", (int)(len < 63 ? len : 63), buf);
	}
	s->count++;
	s->total_bytes += len;
	s->src = *src;
	if (s->stop_on_first)
		sip_socket_stop_reading(s->stop_on_first);
}

static void setup(void)
{
	char err[256] = "";
	struct sockaddr_in bind_addr = uu_addr("127.0.0.1", 0);

	memset(&seen, 0, sizeof(seen));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	sock = sip_socket_open(base, N(&bind_addr), NULL, datagram_cb, &seen, err, sizeof(err));
	ck_assert_msg(sock != NULL, "%s", err);
	local = local4(sock);
	client = uu_bind(CLIENT_IP, 0, &client_addr);
}

static void teardown(void)
{
	sip_socket_set_trace(false);
	log_set_stream(NULL);
	close(client);
	sip_socket_close(sock);
	event_base_free(base);
}

struct count_wait {
	int want;
};

static bool seen_reaches(void *arg)
{
	return seen.count >= ((struct count_wait *)arg)->want;
}

static void await_seen(int n)
{
	struct count_wait w = { n };

	ck_assert_msg(uu_pump_until(base, seen_reaches, &w, WAIT_MS), "%d datagrams, expected %d",
		      seen.count, n);
}

static void client_send(const char *text)
{
	uu_send(client, text, strlen(text), &local);
}

START_TEST(bound_with_its_real_port)
{
	ck_assert_int_eq(local.sin_family, AF_INET);
	ck_assert_str_eq(inet_ntoa(local.sin_addr), "127.0.0.1");
	ck_assert_uint_ne(ntohs(local.sin_port), 0);
	ck_assert_uint_eq(sip_socket_rx_overflows(sock), 0);
	ck_assert_uint_eq(sip_socket_send_errors(sock), 0);
}
END_TEST

START_TEST(datagram_with_its_source)
{
	client_send("OPTIONS sip:x SIP/2.0\r\n\r\n");
	await_seen(1);
	ck_assert_int_eq(seen.count, 1);
	ck_assert_uint_eq(seen.len[0], strlen("OPTIONS sip:x SIP/2.0\r\n\r\n"));
	ck_assert_str_eq(seen.first[0], "OPTIONS sip:x SIP/2.0\r\n\r\n");
	ck_assert(netaddr_same(&seen.src, N(&client_addr)));
}
END_TEST

/* Bursts around the batch (16) and the per-wake-up bound (256): all of
 * them arrive, in order. */
START_TEST(bursts_arrive_whole_and_in_order)
{
	static const int bursts[] = { 1, 15, 16, 17, 40, 255, 256, 257, 600 };

	for (size_t b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++) {
		char text[32];
		int n = bursts[b];

		memset(&seen, 0, sizeof(seen));
		for (int i = 0; i < n; i++) {
			snprintf(text, sizeof(text), "msg %05d", i);
			client_send(text);
		}
		await_seen(n);
		ck_assert_msg(seen.count == n, "burst of %d: %d arrived", n, seen.count);
		for (int i = 0; i < n && i < SEEN_MAX; i++) {
			snprintf(text, sizeof(text), "msg %05d", i);
			ck_assert_str_eq(seen.first[i], text);
		}
	}
}
END_TEST

START_TEST(largest_udp_datagram_whole)
{
	size_t len = 65507;  /* the most IPv4 UDP carries */
	char *big = malloc(len);

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', len);
	memcpy(big, "INVITE", 6);
	uu_send(client, big, len, &local);
	await_seen(1);
	ck_assert_uint_eq(seen.len[0], len);
	ck_assert_uint_le(seen.len[0], SIPMSG_MAX_SIZE);
	ck_assert_str_eq(seen.first[0], "INVITExxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	free(big);
}
END_TEST

START_TEST(reply_leaves_from_the_bound_port)
{
	char buf[256];
	struct sockaddr_in from;
	const char *reply = "SIP/2.0 200 OK\r\n\r\n";

	ck_assert_int_eq(sip_socket_send(sock, reply, strlen(reply), N(&client_addr)), 0);
	ssize_t n = uu_recv(base, client, buf, sizeof(buf), &from, WAIT_MS);
	ck_assert_int_eq(n, (ssize_t)strlen(reply));
	ck_assert(netaddr_same(N(&from), N(&local)));
	ck_assert_uint_eq(sip_socket_send_errors(sock), 0);
}
END_TEST

START_TEST(bind_failure_says_why)
{
	char err[256] = "";
	char want[128];
	struct sip_socket *again = sip_socket_open(base, N(&local), NULL, datagram_cb, &seen, err, sizeof(err));

	ck_assert_ptr_null(again);
	snprintf(want, sizeof(want), "bind 127.0.0.1:%u: Address already in use", ntohs(local.sin_port));
	ck_assert_str_eq(err, want);
	/* an address this host does not have */
	struct sockaddr_in foreign = uu_addr("192.0.2.1", 0);
	again = sip_socket_open(base, N(&foreign), NULL, datagram_cb, &seen, err, sizeof(err));
	ck_assert_ptr_null(again);
	ck_assert_str_eq(err, "bind 192.0.2.1:0: Cannot assign requested address");
}
END_TEST

START_TEST(send_failure_counted)
{
	static const struct {
		const char *to;
		uint16_t port;
		size_t len;
	} cases[] = {
		{ CLIENT_IP, 0, 10 },         /* port 0: the kernel refuses */
		{ CLIENT_IP, 5060, 70000 },   /* larger than UDP carries */
	};
	char *buf = calloc(1, 70000);

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_in to = uu_addr(cases[i].to, cases[i].port);
		ck_assert_int_eq(sip_socket_send(sock, buf, cases[i].len, N(&to)), -1);
		ck_assert_uint_eq(sip_socket_send_errors(sock), i + 1);
	}
	/* and the socket still works */
	ck_assert_int_eq(sip_socket_send(sock, "x", 1, N(&client_addr)), 0);
	ck_assert_uint_eq(sip_socket_send_errors(sock), 2);
	free(buf);
}
END_TEST

static bool tail_seen(void *arg)
{
	return seen.count > 0 && strcmp(seen.first[(seen.count - 1) % SEEN_MAX], "tail") == 0 &&
	       seen.len[(seen.count - 1) % SEEN_MAX] == 4 && arg;
}

static void ring_cb(void *arg, const char *buf, size_t len, const struct netaddr *src)
{
	struct seen *s = arg;
	int i = s->count % SEEN_MAX;

	s->len[i] = len;
	snprintf(s->first[i], sizeof(s->first[0]), "%.*s", (int)(len < 63 ? len : 63), buf);
	s->count++;
	s->src = *src;
}

/* A flood the receive queue cannot hold: what the kernel dropped is
 * counted, exactly (delivered + dropped = sent). */
START_TEST(overflow_counted_exactly)
{
	char err[256];
	struct sockaddr_in any = uu_addr("127.0.0.1", 0);
	struct sip_socket *s2 = sip_socket_open(base, N(&any), NULL, ring_cb, &seen, err, sizeof(err));
	struct sockaddr_in to = local4(s2);
	int sender = socket(AF_INET, SOCK_DGRAM, 0);  /* blocking: nothing lost on our side */
	char payload[1000];
	const int sent = 20000;

	ck_assert_ptr_nonnull(s2);
	memset(payload, 'f', sizeof(payload));
	for (int i = 0; i < sent; i++)
		ck_assert_int_eq(sendto(sender, payload, sizeof(payload), 0, (struct sockaddr *)&to,
					sizeof(to)), (ssize_t)sizeof(payload));
	/* the drop count rides on datagrams queued after the drops */
	ck_assert_int_eq(sendto(sender, "tail", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	ck_assert(uu_pump_until(base, tail_seen, &seen, 10000));
	int delivered = seen.count - 1;
	ck_assert_int_lt(delivered, sent);
	ck_assert_uint_eq(sip_socket_rx_overflows(s2), (unsigned long)(sent - delivered));
	close(sender);
	sip_socket_close(s2);
}
END_TEST

START_TEST(stop_reading_keeps_sending)
{
	char buf[64];

	sip_socket_stop_reading(sock);
	sip_socket_stop_reading(sock);  /* twice is harmless */
	client_send("after stop");
	struct count_wait w = { 1 };
	ck_assert(!uu_pump_until(base, seen_reaches, &w, 300));
	ck_assert_int_eq(seen.count, 0);
	ck_assert_int_eq(sip_socket_send(sock, "bye", 3, N(&client_addr)), 0);
	ck_assert_int_eq(uu_recv(base, client, buf, sizeof(buf), NULL, WAIT_MS), 3);
}
END_TEST

START_TEST(stop_reading_from_the_callback)
{
	seen.stop_on_first = sock;
	for (int i = 0; i < 5; i++)
		client_send("one of five");
	await_seen(1);
	/* the rest stay unread: the callback said stop (shutdown) */
	struct count_wait w = { 2 };
	ck_assert(!uu_pump_until(base, seen_reaches, &w, 300));
	ck_assert_int_eq(seen.count, 1);
}
END_TEST

START_TEST(siptrace_logs_in_and_out)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	char big[3000];

	ck_assert_ptr_nonnull(f);
	log_open(true);
	log_set_stream(f);
	/* off: nothing */
	ck_assert_int_eq(sip_socket_send(sock, "quiet", 5, N(&client_addr)), 0);
	fflush(f);
	ck_assert_uint_eq(size, 0);
	/* on: each message with its direction, peer and length */
	sip_socket_set_trace(true);
	ck_assert_int_eq(sip_socket_send(sock, "loud", 4, N(&client_addr)), 0);
	fflush(f);
	char want[128];
	snprintf(want, sizeof(want), "siptrace out to %s:%u (4 bytes):\nloud", CLIENT_IP,
		 ntohs(client_addr.sin_port));
	ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	/* a long one is cut, not flooded */
	memset(big, 'B', sizeof(big));
	sip_socket_trace("in from", N(&client_addr), big, sizeof(big));
	fflush(f);
	ck_assert_ptr_nonnull(strstr(text, "(3000 bytes)"));
	const char *b = strstr(text, "BBBB");
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(strspn(b, "B"), 1900);
	log_set_stream(NULL);
	fclose(f);
	free(text);
}
END_TEST

/* ---- issue 20: a socket per family ---- */

static struct netaddr ip6(const char *text, uint16_t port)
{
	struct netaddr a;

	ck_assert(netaddr_parse_ip(text, &a));
	a.port = port;
	return a;
}

/* With bindaddr "::" (here ::1) a second socket, IPv6 only, on the same
 * port: each family's datagrams arrive with their source, and a reply
 * leaves from the socket of its destination's family, from the bound port;
 * the same checks for an IPv4 and an IPv6 client. */
START_TEST(each_family_in_and_back)
{
	char err[256] = "", buf[256];
	struct netaddr b4 = ip6("127.0.0.1", 0), b6 = ip6("::1", 0), l4, l6;
	struct sip_socket *dual;
	struct seen got;

	memset(&got, 0, sizeof(got));
	/* the IPv4 port first, then the same one for IPv6 */
	struct sip_socket *probe = sip_socket_open(base, &b4, NULL, datagram_cb, &got, err, sizeof(err));
	ck_assert_msg(probe != NULL, "%s", err);
	ck_assert(sip_socket_local(probe, AF_INET, &l4));
	ck_assert(!sip_socket_local(probe, AF_INET6, &l6));
	sip_socket_close(probe);
	b4.port = b6.port = l4.port;
	dual = sip_socket_open(base, &b4, &b6, datagram_cb, &got, err, sizeof(err));
	ck_assert_msg(dual != NULL, "%s", err);
	ck_assert(sip_socket_local(dual, AF_INET, &l4) && sip_socket_local(dual, AF_INET6, &l6));
	ck_assert_uint_eq(l4.port, l6.port);

	for (int fam = 0; fam < 2; fam++) {
		const struct netaddr *to = fam ? &l6 : &l4;
		struct sockaddr_storage ss, from;
		socklen_t sl = netaddr_to_sockaddr(to, to->family, &ss), fl = sizeof(from);
		int fd = socket(to->family, SOCK_DGRAM, 0);
		struct netaddr me, back;

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(sendto(fd, "hello", 5, 0, (struct sockaddr *)&ss, sl), 5);
		int before = got.count;
		struct count_wait w = { before + 1 };
		(void)w;
		for (int i = 0; i < 300 && got.count == before; i++)
			event_base_loop(base, EVLOOP_NONBLOCK), usleep(10000);
		ck_assert_int_eq(got.count, before + 1);
		ck_assert_int_eq(got.src.family, to->family);
		ck_assert(getsockname(fd, (struct sockaddr *)&from, &fl) == 0 &&
			  netaddr_from_sockaddr((struct sockaddr *)&from, fl, &me));
		/* the client's port, from the loopback address of its family */
		ck_assert(got.src.port == me.port && netaddr_same_ip(&got.src, to));
		ck_assert_int_eq(sip_socket_send(dual, "reply", 5, &got.src), 0);
		fl = sizeof(from);
		struct timeval tv = { 3, 0 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ck_assert_int_eq(recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 5);
		ck_assert(netaddr_from_sockaddr((struct sockaddr *)&from, fl, &back));
		ck_assert(netaddr_same(&back, to)); /* from the bound address and port */
		close(fd);
	}
	ck_assert_uint_eq(sip_socket_send_errors(dual), 0);
	sip_socket_close(dual);
}
END_TEST

/* An IPv4-only socket has nothing to send IPv6 on: counted, not fatal. */
START_TEST(no_socket_of_that_family)
{
	struct netaddr to = ip6("2001:db8::5", 5060);

	ck_assert_int_eq(sip_socket_send(sock, "x", 1, &to), -1);
	ck_assert_uint_eq(sip_socket_send_errors(sock), 1);
	ck_assert_int_eq(sip_socket_send(sock, "x", 1, N(&client_addr)), 0);
}
END_TEST

static Suite *sip_socket_suite(void)
{
	Suite *s = suite_create("sip_socket");
	TCase *tc = tcase_create("sip_socket");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bound_with_its_real_port);
	tcase_add_test(tc, datagram_with_its_source);
	tcase_add_test(tc, bursts_arrive_whole_and_in_order);
	tcase_add_test(tc, largest_udp_datagram_whole);
	tcase_add_test(tc, reply_leaves_from_the_bound_port);
	tcase_add_test(tc, bind_failure_says_why);
	tcase_add_test(tc, send_failure_counted);
	tcase_add_test(tc, overflow_counted_exactly);
	tcase_add_test(tc, stop_reading_keeps_sending);
	tcase_add_test(tc, stop_reading_from_the_callback);
	tcase_add_test(tc, siptrace_logs_in_and_out);
	tcase_add_test(tc, each_family_in_and_back);
	tcase_add_test(tc, no_socket_of_that_family);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(sip_socket_suite)
