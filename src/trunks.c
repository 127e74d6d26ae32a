/*
 * trunks: keeps the resolved addresses of trunk peers, for the classify step
 * (a datagram from a trunk is trusted) and the route step (calls to a trunk).
 */
#include "trunks.h"

#include "netaddr.h"

#include <stdlib.h>
#include <string.h>

struct trunks {
	struct dnscache *cache;
	const struct conf *conf;
	struct event *timer;
};

/* A peer whose host is a name (an address literal needs no lookup). */
static bool by_name(const struct conf_peer *p)
{
	struct netaddr literal;

	return p->host && !netaddr_parse_ip(p->host, &literal);
}

static void refresh(struct trunks *t)
{
	struct netaddr ignored;

	for (size_t i = 0; i < t->conf->peer_count; i++) {
		const struct conf_peer *p = &t->conf->peers[i];
		if (by_name(p))
			dnscache_lookup(t->cache, p->host, &ignored, NULL, NULL);
	}
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	refresh(arg);
}

struct trunks *trunks_new(struct event_base *base, struct dnscache *cache, const struct conf *conf)
{
	struct trunks *t = calloc(1, sizeof(*t));
	struct timeval tv = { .tv_sec = TRUNKS_REFRESH_S };

	if (!t)
		return NULL;
	t->cache = cache;
	t->conf = conf;
	t->timer = event_new(base, -1, EV_PERSIST, refresh_cb, t);
	if (!t->timer || event_add(t->timer, &tv) != 0) {
		if (t->timer)
			event_free(t->timer);
		free(t);
		return NULL;
	}
	refresh(t);
	return t;
}

void trunks_reconfigure(struct trunks *t, const struct conf *conf)
{
	t->conf = conf;
	refresh(t);
}

const struct conf_peer *trunks_match_cb(void *arg, const struct netaddr *addr)
{
	struct trunks *t = arg;
	struct netaddr a;

	if (!t)
		return NULL;
	for (size_t i = 0; i < t->conf->peer_count; i++) {
		const struct conf_peer *p = &t->conf->peers[i];
		if (by_name(p) && dnscache_last_good(t->cache, p->host, &a) && netaddr_same_ip(&a, addr))
			return p;
	}
	return NULL;
}

bool trunks_addr_cb(void *arg, const struct conf_peer *peer, struct netaddr *out)
{
	struct trunks *t = arg;

	return t && peer->host && dnscache_last_good(t->cache, peer->host, out);
}

void trunks_free(struct trunks *t)
{
	if (!t)
		return;
	event_free(t->timer);
	free(t);
}
