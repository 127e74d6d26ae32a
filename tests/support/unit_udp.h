/*
 * unit_udp: real UDP sockets on loopback and a bounded turn of the event
 * loop, for the unit suites of modules that own sockets (relay, media,
 * sip_socket, the DNS stand-in). Header only (static inline) because each
 * unit test is an executable of its own linked to sipnatd_core alone.
 */
#ifndef SIPNATD_TEST_UNIT_UDP_H
#define SIPNATD_TEST_UNIT_UDP_H

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ip:port (host order port) as a sockaddr. */
static inline struct sockaddr_in uu_addr(const char *ip, uint16_t port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	sa.sin_port = htons(port);
	return sa;
}

/* A non-blocking UDP socket bound to ip:port (0 = ephemeral); *bound gets
 * the real address when not NULL. */
static inline int uu_bind(const char *ip, uint16_t port, struct sockaddr_in *bound)
{
	struct sockaddr_in sa = uu_addr(ip, port);
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s:%u: %s", ip,
		      port, strerror(errno));
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	if (bound)
		*bound = sa;
	return fd;
}

static inline void uu_send(int fd, const void *buf, size_t len, const struct sockaddr_in *to)
{
	ck_assert_int_eq(sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof(*to)), (ssize_t)len);
}

static inline uint64_t uu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Turn base (non-blocking) until cond(arg) holds or ms pass; whether it held.
 * Between turns it waits on the loop itself for at most 5 ms (a one-shot
 * timer), so timers and sockets of the module under test both run. */
static inline bool uu_pump_until(struct event_base *base, bool (*cond)(void *), void *arg, int ms)
{
	uint64_t end = uu_now_ms() + (uint64_t)ms;
	struct timeval tick = { 0, 5000 };

	for (;;) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (cond(arg))
			return true;
		if (uu_now_ms() >= end)
			return false;
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
}

struct uu_recv_wait {
	int fd;
	void *buf;
	size_t cap;
	ssize_t got;
	struct sockaddr_in from;
};

static inline bool uu_recv_ready(void *arg)
{
	struct uu_recv_wait *w = arg;
	socklen_t len = sizeof(w->from);

	w->got = recvfrom(w->fd, w->buf, w->cap, MSG_DONTWAIT, (struct sockaddr *)&w->from, &len);
	return w->got >= 0;
}

/* One datagram on fd within ms while base turns: its length, -1 if none. */
static inline ssize_t uu_recv(struct event_base *base, int fd, void *buf, size_t cap,
			      struct sockaddr_in *from, int ms)
{
	struct uu_recv_wait w = { .fd = fd, .buf = buf, .cap = cap, .got = -1 };

	if (!uu_pump_until(base, uu_recv_ready, &w, ms))
		return -1;
	if (from)
		*from = w.from;
	return w.got;
}

/* Whether fd has a datagram waiting right now (without taking it). */
static inline bool uu_pending(int fd)
{
	char b;

	return recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
}

/* Drain fd; how many datagrams it held. */
static inline int uu_drain(int fd)
{
	char b[4096];
	int n = 0;

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

#endif
