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
	struct sockaddr_in src;
	struct sip_socket *stop_on_first;  /* stop reading from inside the callback */
	unsigned long total_bytes;
};

static struct event_base *base;
static struct seen seen;
static struct sip_socket *sock;
static struct sockaddr_in local;
static int client;
static struct sockaddr_in client_addr;

static void datagram_cb(void *arg, const char *buf, size_t len, const struct sockaddr_in *src)
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
	sock = sip_socket_open(base, &bind_addr, datagram_cb, &seen, err, sizeof(err));
	ck_assert_msg(sock != NULL, "%s", err);
	local = sip_socket_local(sock);
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
	ck_assert(netaddr_equal(&seen.src, &client_addr));
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

	ck_assert_int_eq(sip_socket_send(sock, reply, strlen(reply), &client_addr), 0);
	ssize_t n = uu_recv(base, client, buf, sizeof(buf), &from, WAIT_MS);
	ck_assert_int_eq(n, (ssize_t)strlen(reply));
	ck_assert(netaddr_equal(&from, &local));
	ck_assert_uint_eq(sip_socket_send_errors(sock), 0);
}
END_TEST

START_TEST(bind_failure_says_why)
{
	char err[256] = "";
	char want[128];
	struct sip_socket *again = sip_socket_open(base, &local, datagram_cb, &seen, err, sizeof(err));

	ck_assert_ptr_null(again);
	snprintf(want, sizeof(want), "bind 127.0.0.1:%u: Address already in use", ntohs(local.sin_port));
	ck_assert_str_eq(err, want);
	/* an address this host does not have */
	struct sockaddr_in foreign = uu_addr("192.0.2.1", 0);
	again = sip_socket_open(base, &foreign, datagram_cb, &seen, err, sizeof(err));
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
		ck_assert_int_eq(sip_socket_send(sock, buf, cases[i].len, &to), -1);
		ck_assert_uint_eq(sip_socket_send_errors(sock), i + 1);
	}
	/* and the socket still works */
	ck_assert_int_eq(sip_socket_send(sock, "x", 1, &client_addr), 0);
	ck_assert_uint_eq(sip_socket_send_errors(sock), 2);
	free(buf);
}
END_TEST

static bool tail_seen(void *arg)
{
	return seen.count > 0 && strcmp(seen.first[(seen.count - 1) % SEEN_MAX], "tail") == 0 &&
	       seen.len[(seen.count - 1) % SEEN_MAX] == 4 && arg;
}

static void ring_cb(void *arg, const char *buf, size_t len, const struct sockaddr_in *src)
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
	struct sip_socket *s2 = sip_socket_open(base, &any, ring_cb, &seen, err, sizeof(err));
	struct sockaddr_in to = sip_socket_local(s2);
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
	ck_assert_int_eq(sip_socket_send(sock, "bye", 3, &client_addr), 0);
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
	ck_assert_int_eq(sip_socket_send(sock, "quiet", 5, &client_addr), 0);
	fflush(f);
	ck_assert_uint_eq(size, 0);
	/* on: each message with its direction, peer and length */
	sip_socket_set_trace(true);
	ck_assert_int_eq(sip_socket_send(sock, "loud", 4, &client_addr), 0);
	fflush(f);
	char want[128];
	snprintf(want, sizeof(want), "siptrace out to %s:%u (4 bytes):\nloud", CLIENT_IP,
		 ntohs(client_addr.sin_port));
	ck_assert_msg(strstr(text, want) != NULL, "%s", text);
	/* a long one is cut, not flooded */
	memset(big, 'B', sizeof(big));
	sip_socket_trace("in from", &client_addr, big, sizeof(big));
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
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(sip_socket_suite)
