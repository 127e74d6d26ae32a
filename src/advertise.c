/*
 * advertise: sipnatd's own address per destination. The LAN side is found
 * here; the external side is externaddr.c's, asked at each use so that a
 * new externhost answer applies to the next message.
 */
#include "advertise.h"

#include "classify.h"
#include "externaddr.h"
#include "log.h"
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

/* The address the kernel would use to reach dest: connect() on a UDP socket
 * sends nothing and needs no netlink. */
static bool route_source_to(const struct sockaddr_in *dest, struct in_addr *out)
{
	struct sockaddr_in local;
	socklen_t len = sizeof(local);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = false;

	if (fd < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)dest, sizeof(*dest)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&local, &len) == 0 && local.sin_addr.s_addr != 0) {
		*out = local.sin_addr;
		ok = true;
	}
	close(fd);
	return ok;
}

static void find_lan(struct advertise *a)
{
	const struct conf *conf = a->conf;
	char pbx[NETADDR_STRLEN], ip[INET_ADDRSTRLEN];
	bool had = a->have_lan;
	struct in_addr before = a->lan;

	if (conf->has_localaddr) {
		a->lan = conf->localaddr;
		a->have_lan = true;
	} else if (conf->bindaddr.s_addr != htonl(INADDR_ANY)) {
		a->lan = conf->bindaddr;
		a->have_lan = true;
	} else {
		a->have_lan = route_source_to(&conf->pbx, &a->lan);
	}
	if (!a->have_lan) {
		log_warn("no route to the PBX at %s: cannot tell which LAN address to advertise; set general.localaddr or fix the route (retrying every %d s)",
			 netaddr_format(&conf->pbx, pbx), ADVERTISE_LAN_RETRY_S);
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

bool advertise_lan(const struct advertise *a, struct in_addr *out)
{
	if (a->have_lan)
		*out = a->lan;
	return a->have_lan;
}

bool advertise_external(const struct advertise *a, struct in_addr *out)
{
	return a->external && externaddr_get(a->external, out);
}

bool advertise_toward(const struct advertise *a, struct in_addr dest, struct in_addr *out)
{
	if (classify_is_local(a->conf, dest))
		return advertise_lan(a, out);
	return advertise_external(a, out);
}

void advertise_free(struct advertise *a)
{
	if (!a)
		return;
	event_free(a->retry);
	free(a);
}
