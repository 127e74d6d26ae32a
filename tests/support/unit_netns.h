/*
 * unit_netns: a unit test of its own network namespace, with addresses of
 * both families on its loopback, and UDP sockets of either family (struct
 * netaddr). Loopback has one IPv6 address (::1), so a test that needs two
 * IPv6 parties, or two addresses of one /64, makes a namespace for itself:
 * Check runs every test in a child process of its own (CK_FORK), which is
 * what enters the namespace, so nothing outside it changes and parallel
 * suites cannot collide on ports. As root the namespace is a plain network
 * namespace; otherwise a user namespace is made around it (uid 0 inside).
 * Addresses are IPv6 documentation ones (2001:db8::/32) and 127/8.
 * Header only (static inline), like unit_udp.h.
 */
#ifndef SIPNATD_TEST_UNIT_NETNS_H
#define SIPNATD_TEST_UNIT_NETNS_H

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netaddr.h"
#include "unit_udp.h"

static inline void un_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Enter a new network namespace whose loopback is up and also holds each
 * IPv6 address of addrs (NULL-terminated, "2001:db8:1::5"). */
static inline void un_netns_enter(const char *const *addrs)
{
	char cmd[1024];
	size_t o;

	if (unshare(CLONE_NEWNET) != 0) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		char map[64];

		ck_assert_msg(unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0,
			      "cannot make a network namespace: %s", strerror(errno));
		un_write_file("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		un_write_file("/proc/self/uid_map", map);
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		un_write_file("/proc/self/gid_map", map);
	}
	o = (size_t)snprintf(cmd, sizeof(cmd), "ip link set lo up");
	for (size_t i = 0; addrs && addrs[i]; i++)
		o += (size_t)snprintf(cmd + o, sizeof(cmd) - o, " && ip -6 addr add %s/128 dev lo nodad",
				      addrs[i]);
	ck_assert_uint_lt(o, sizeof(cmd));
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

/* An address literal of either family with a port. */
static inline struct netaddr un_addr(const char *ip, uint16_t port)
{
	struct netaddr a;

	ck_assert_msg(netaddr_parse_ip(ip, &a), "not an address: %s", ip);
	a.port = port;
	return a;
}

/* A non-blocking UDP socket of ip's family bound to ip:port (0 =
 * ephemeral); *bound gets the real address when not NULL. */
static inline int un_bind(const char *ip, uint16_t port, struct netaddr *bound)
{
	struct netaddr a = un_addr(ip, port);
	struct sockaddr_storage ss;
	socklen_t len = netaddr_to_sockaddr(&a, a.family, &ss);
	int one = 1;
	int fd = socket(a.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	if (a.family == AF_INET6)
		ck_assert_int_eq(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&ss, len) == 0, "bind %s:%u: %s", ip, port,
		      strerror(errno));
	len = sizeof(ss);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (bound)
		ck_assert(netaddr_from_sockaddr((struct sockaddr *)&ss, len, bound));
	return fd;
}

static inline void un_send(int fd, const void *buf, size_t len, const struct netaddr *to)
{
	struct sockaddr_storage ss;
	socklen_t sl = netaddr_to_sockaddr(to, to->family, &ss);

	ck_assert_uint_gt(sl, 0);
	ck_assert_int_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl), (ssize_t)len);
}

struct un_recv_wait {
	int fd;
	void *buf;
	size_t cap;
	ssize_t got;
	struct sockaddr_storage from;
	socklen_t len;
};

static inline bool un_recv_ready(void *arg)
{
	struct un_recv_wait *w = arg;

	w->len = sizeof(w->from);
	w->got = recvfrom(w->fd, w->buf, w->cap, MSG_DONTWAIT, (struct sockaddr *)&w->from, &w->len);
	return w->got >= 0;
}

/* One datagram on fd within ms while base turns: its length, -1 if none;
 * *from its source. */
static inline ssize_t un_recv(struct event_base *base, int fd, void *buf, size_t cap,
			      struct netaddr *from, int ms)
{
	struct un_recv_wait w = { .fd = fd, .buf = buf, .cap = cap, .got = -1 };

	if (!uu_pump_until(base, un_recv_ready, &w, ms))
		return -1;
	if (from)
		ck_assert(netaddr_from_sockaddr((struct sockaddr *)&w.from, w.len, from));
	return w.got;
}

#endif
