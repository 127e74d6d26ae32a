/*
 * advertise: sipnatd's own address per destination. The LAN side is found
 * here; the external side is externaddr.c's, asked at each use so that a
 * new externhost answer applies to the next message.
 */
#include "advertise.h"

#include "classify.h"
#include "externaddr.h"
#include "log.h"
#include "natdetect.h"
#include "netaddr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct advertise {
	const struct conf *conf;
	const struct externaddr *external;
	struct in_addr lan;
	bool have_lan;
	struct event *retry;
};

/* The address the kernel would use to reach dest (IPv4): connect() on a UDP
 * socket sends nothing and needs no netlink. */
static bool route_source_to(const struct netaddr *dest, struct in_addr *out)
{
	struct sockaddr_storage to;
	socklen_t to_len = netaddr_to_sockaddr(dest, AF_INET, &to);
	struct sockaddr_in local;
	socklen_t len = sizeof(local);
	int fd = to_len ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) : -1;
	bool ok = false;

	if (fd < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)&to, to_len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&local, &len) == 0 && local.sin_addr.s_addr != 0) {
		*out = local.sin_addr;
		ok = true;
	}
	close(fd);
	return ok;
}

/* The same for an IPv6 destination (issue 20, decision 2: IPv6 has no NAT,
 * so the kernel's source address toward the party is what it can reach). */
static bool route_source6_to(const struct netaddr *dest, struct netaddr *out)
{
	struct sockaddr_storage ss;
	socklen_t dlen = netaddr_to_sockaddr(dest, AF_INET6, &ss), len = sizeof(ss);
	int fd = dest->family == AF_INET6 ? socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0) : -1;
	bool ok = false;

	if (fd < 0)
		return false;
	if (dlen && connect(fd, (const struct sockaddr *)&ss, dlen) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    netaddr_from_sockaddr((const struct sockaddr *)&ss, len, out) && out->family == AF_INET6 &&
	    netaddr_is_specified(out)) {
		out->port = 0;
		ok = true;
	}
	close(fd);
	return ok;
}

static void find_lan(struct advertise *a)
{
	const struct conf *conf = a->conf;
	char pbx[NETADDR_TEXT_MAX], ip[INET_ADDRSTRLEN];
	bool had = a->have_lan;
	struct in_addr before = a->lan;

	if (conf->has_localaddr) {
		a->lan = conf->localaddr;
		a->have_lan = true;
	} else if (conf->bindaddr.s_addr != htonl(INADDR_ANY)) {
		a->lan = conf->bindaddr;
		a->have_lan = true;
	} else if (conf->pbxaddr.family == AF_INET) {
		a->have_lan = route_source_to(&conf->pbxaddr, &a->lan);
	} else {
		/* an IPv6 PBX: its leg is IPv6 (advertise_toward asks the
		 * kernel per destination); nothing IPv4 to find */
		a->have_lan = false;
		evtimer_del(a->retry);
		return;
	}
	if (!a->have_lan) {
		log_warn("no route to the PBX at %s: cannot tell which LAN address to advertise; set general.localaddr or fix the route (retrying every %d s)",
			 netaddr_print(&conf->pbxaddr, pbx), ADVERTISE_LAN_RETRY_S);
		struct timeval tv = { .tv_sec = ADVERTISE_LAN_RETRY_S };
		evtimer_add(a->retry, &tv);
		return;
	}
	evtimer_del(a->retry);
	if (!had || before.s_addr != a->lan.s_addr) {
		inet_ntop(AF_INET, &a->lan, ip, sizeof(ip));
		log_info("advertising %s toward the LAN", ip);
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	find_lan(arg);
}

struct advertise *advertise_new(struct event_base *base, const struct conf *conf,
				const struct externaddr *external)
{
	struct advertise *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->conf = conf;
	a->external = external;
	a->retry = evtimer_new(base, retry_cb, a);
	if (!a->retry) {
		free(a);
		return NULL;
	}
	find_lan(a);
	return a;
}

void advertise_reconfigure(struct advertise *a, const struct conf *conf)
{
	a->conf = conf;
	find_lan(a);
}

bool advertise_lan(const struct advertise *a, struct netaddr *out)
{
	if (a->have_lan) {
		struct sockaddr_in sin = netaddr_make(a->lan, 0);
		*out = netaddr_from_in(&sin);
	}
	return a->have_lan;
}

bool advertise_external(const struct advertise *a, int family, struct netaddr *out)
{
	if (family == AF_INET6) {
		if (a->external && externaddr_get6(a->external, out))
			return true;
		/* a specific global bindaddr is where the Internet reaches us */
		if (a->conf->has_bindaddr6 && netaddr_is_specified(&a->conf->bindaddr6) &&
		    !natdetect_is_private(&a->conf->bindaddr6)) {
			*out = a->conf->bindaddr6;
			out->port = 0;
			return true;
		}
		return false;
	}
	struct in_addr ip;
	if (!a->external || !externaddr_get(a->external, &ip))
		return false;
	struct sockaddr_in sin = netaddr_make(ip, 0);
	*out = netaddr_from_in(&sin);
	return true;
}

/* sipnatd's IPv6 address toward dest: localaddr6 or a specific bindaddr6
 * toward the LAN, the external IPv6 address (externip, externhost's AAAA)
 * toward the Internet; else the kernel's source address toward dest, but
 * toward the Internet only a global one (a ULA or link-local address would
 * mean the party cannot reach it). */
static bool toward6(const struct advertise *a, const struct netaddr *dest, struct netaddr *out)
{
	const struct conf *conf = a->conf;

	if (classify_is_local(conf, dest)) {
		if (conf->has_localaddr6) {
			*out = conf->localaddr6;
			return true;
		}
		if (conf->has_bindaddr6 && netaddr_is_specified(&conf->bindaddr6)) {
			*out = conf->bindaddr6;
			out->port = 0;
			return true;
		}
		return route_source6_to(dest, out);
	}
	if (advertise_external(a, AF_INET6, out))
		return true;
	return route_source6_to(dest, out) && !natdetect_is_private(out);
}

bool advertise_toward(const struct advertise *a, const struct netaddr *dest, struct netaddr *out)
{
	if (dest->family == AF_INET6)
		return toward6(a, dest, out);
	if (dest->family != AF_INET)
		return false;
	if (classify_is_local(a->conf, dest))
		return advertise_lan(a, out);
	return advertise_external(a, AF_INET, out);
}

void advertise_free(struct advertise *a)
{
	if (!a)
		return;
	event_free(a->retry);
	free(a);
}
