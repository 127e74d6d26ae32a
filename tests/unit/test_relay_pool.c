/*
 * Unit tests for relay.c's socket pool (issue 13): a pair's sockets stay
 * bound across calls, what reaches a pair while no stream holds it never
 * reaches the next stream on it (R20), a reload closes only the pairs that
 * leave the range (a free one at once, a used one when its call ends), and
 * a stream forwards both ways once it knows its legs. Loopback only, on
 * 127.0.13.x (no other test uses it) and ports 47000-47003.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

#define RELAY_IP "127.0.13.1"
#define PBX_IP "127.0.13.2"
#define PHONE_IP "127.0.13.3"

static struct sockaddr_in addr(const char *ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	return sa;
}

/* A UDP socket on ip:port (0: any port), or -1 with errno. */
static int udp_on(const char *ip, uint16_t port)
{
	struct sockaddr_in sa = addr(ip, port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(fd, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Whether the relay holds ip:port bound (another bind fails). */
static bool held(uint16_t port)
{
	int fd = udp_on(RELAY_IP, port);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	ck_assert_int_eq(errno, EADDRINUSE);
	return true;
}

static struct sockaddr_in local_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return sa;
}

static void send_rtp(int fd, uint16_t port, uint16_t seq)
{
	uint8_t pkt[32] = { 0x80, 0x00, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 1, 1, 2, 3, 4 };
	struct sockaddr_in to = addr(RELAY_IP, port);

	ck_assert_int_eq(sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)sizeof(pkt));
}

/* Run the loop until fd has a datagram or ~1 s passed; the sequence number
 * received, or -1 when nothing came. */
static int pump_until(struct event_base *base, int fd)
{
	for (int i = 0; i < 100; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 10) == 1) {
			uint8_t buf[64];
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			ck_assert_int_ge(n, 12);
			return buf[2] << 8 | buf[3];
		}
	}
	return -1;
}

static struct relay *new_relay(struct event_base *base, int start, int end)
{
	struct netaddr ip;
	struct relay *r;

	ck_assert(netaddr_parse_ip(RELAY_IP, &ip));
	r = relay_new(base, &ip, NULL, start, end);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* The PBX leg at pbx, the phone leg fixed at phone (no learning). */
static void legs(struct relay_stream *s, int pbx, int phone)
{
	struct sockaddr_in a_in = local_of(pbx), b_in = local_of(phone);
	struct netaddr a = netaddr_from_in(&a_in), b = netaddr_from_in(&b_in);

	relay_stream_set_local(s, &a, &a, true);
	relay_stream_set_remote_fixed(s, &b, &b, true);
}

START_TEST(pair_stays_bound_across_calls)
{
	struct event_base *base = event_base_new();
	struct relay *r = new_relay(base, 47000, 47001);
	struct relay_stream *s = relay_stream_open(r);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(relay_stream_port(s), 47000);
	ck_assert(held(47000));
	ck_assert(held(47001));
	relay_stream_close(r, s);
	/* kept for the next call: no socket(), bind() or close() per call */
	ck_assert(held(47000));
	ck_assert(held(47001));
	s = relay_stream_open(r);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(relay_stream_port(s), 47000);
	relay_stream_close(r, s);
	relay_free(r);
	ck_assert(!held(47000));
	ck_assert(!held(47001));
	event_base_free(base);
}
END_TEST

START_TEST(forwards_both_ways)
{
	struct event_base *base = event_base_new();
	struct relay *r = new_relay(base, 47000, 47001);
	int pbx = udp_on(PBX_IP, 0), phone = udp_on(PHONE_IP, 0);
	struct relay_stream *s = relay_stream_open(r);

	ck_assert_ptr_nonnull(s);
	legs(s, pbx, phone);
	send_rtp(pbx, 47000, 7);
	ck_assert_int_eq(pump_until(base, phone), 7);
	send_rtp(phone, 47000, 8);
	ck_assert_int_eq(pump_until(base, pbx), 8);
	relay_stream_close(r, s);
	relay_free(r);
	close(pbx);
	close(phone);
	event_base_free(base);
}
END_TEST

/* A datagram that came while the pair was free, still queued when the next
 * stream takes the pair (the loop has not run since), never reaches it. */
START_TEST(stray_before_open_never_reaches_the_next_stream)
{
	struct event_base *base = event_base_new();
	struct relay *r = new_relay(base, 47000, 47001);
	int pbx = udp_on(PBX_IP, 0), phone = udp_on(PHONE_IP, 0);
	struct relay_stream *s = relay_stream_open(r);

	relay_stream_close(r, s);
	send_rtp(pbx, 47000, 1);                       /* queued on the free pair */
	s = relay_stream_open(r);                      /* the only pair: the same one */
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(relay_stream_port(s), 47000);
	legs(s, pbx, phone);
	send_rtp(pbx, 47000, 2);
	ck_assert_int_eq(pump_until(base, phone), 2);   /* the stray was not forwarded */
	ck_assert_int_eq(pump_until(base, phone), -1);
	relay_stream_close(r, s);
	relay_free(r);
	close(pbx);
	close(phone);
	event_base_free(base);
}
END_TEST

/* And one that comes while the pair is free and the loop runs is read and
 * thrown away: it neither piles up nor reaches a later stream. */
START_TEST(stray_while_free_is_discarded)
{
	struct event_base *base = event_base_new();
	struct relay *r = new_relay(base, 47000, 47001);
	int pbx = udp_on(PBX_IP, 0), phone = udp_on(PHONE_IP, 0);
	struct relay_stream *s = relay_stream_open(r);

	relay_stream_close(r, s);
	for (uint16_t i = 0; i < 100; i++)
		send_rtp(pbx, 47000, i);
	ck_assert_int_eq(pump_until(base, phone), -1);
	s = relay_stream_open(r);
	legs(s, pbx, phone);
	ck_assert_int_eq(pump_until(base, phone), -1);
	send_rtp(pbx, 47000, 500);
	ck_assert_int_eq(pump_until(base, phone), 500);
	relay_stream_close(r, s);
	relay_free(r);
	close(pbx);
	close(phone);
	event_base_free(base);
}
END_TEST

START_TEST(reload_closes_only_pairs_leaving_the_range)
{
	struct event_base *base = event_base_new();
	struct relay *r = new_relay(base, 47000, 47003);
	struct relay_stream *a = relay_stream_open(r), *b = relay_stream_open(r);
	uint16_t pa, pb;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	pa = relay_stream_port(a);
	pb = relay_stream_port(b);
	ck_assert_uint_ne(pa, pb);
	relay_stream_close(r, b);                      /* b's pair is free, still bound */
	ck_assert(held(pb));
	/* keep only a's pair */
	ck_assert_int_eq(relay_resize(r, pa, pa + 1), 0);
	ck_assert(!held(pb));
	ck_assert(!held((uint16_t)(pb + 1)));
	ck_assert(held(pa));
	/* now move the range away while a's call runs: its pair stays until the end */
	ck_assert_int_eq(relay_resize(r, 47010, 47011), 0);
	ck_assert(held(pa));
	relay_stream_close(r, a);
	ck_assert(!held(pa));
	ck_assert(!held((uint16_t)(pa + 1)));
	relay_free(r);
	event_base_free(base);
}
END_TEST

/* A port another program holds is skipped (and never offered again). */
START_TEST(port_held_elsewhere_is_skipped)
{
	struct event_base *base = event_base_new();
	int other = udp_on(RELAY_IP, 47001);           /* RTCP of the first pair */
	struct relay *r = new_relay(base, 47000, 47003);

	ck_assert_int_ge(other, 0);
	for (int i = 0; i < 4; i++) {
		struct relay_stream *s = relay_stream_open(r);
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(relay_stream_port(s), 47002);
		relay_stream_close(r, s);
	}
	ck_assert_uint_eq(relay_ports_capacity(r), 1);
	relay_free(r);
	close(other);
	event_base_free(base);
}
END_TEST

static Suite *relay_pool_suite(void)
{
	Suite *s = suite_create("relay_pool");
	TCase *tc = tcase_create("pool");

	tcase_add_test(tc, pair_stays_bound_across_calls);
	tcase_add_test(tc, forwards_both_ways);
	tcase_add_test(tc, stray_before_open_never_reaches_the_next_stream);
	tcase_add_test(tc, stray_while_free_is_discarded);
	tcase_add_test(tc, reload_closes_only_pairs_leaving_the_range);
	tcase_add_test(tc, port_held_elsewhere_is_skipped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(relay_pool_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
