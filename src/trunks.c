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

static void refresh(struct trunks *t)
{
	struct in_addr ignored;

	for (size_t i = 0; i < t->conf->peer_count; i++) {
		const struct conf_peer *p = &t->conf->peers[i];
		if (p->host && !netaddr_parse_ipv4(p->host, &ignored))
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

const struct conf_peer *trunks_match_cb(void *arg, struct in_addr addr)
{
	struct trunks *t = arg;
	struct in_addr a;

	if (!t)
		return NULL;
	for (size_t i = 0; i < t->conf->peer_count; i++) {
		const struct conf_peer *p = &t->conf->peers[i];
		if (p->host && !netaddr_parse_ipv4(p->host, &a) &&
		    dnscache_last_good(t->cache, p->host, &a) && a.s_addr == addr.s_addr)
			return p;
	}
	return NULL;
}

bool trunks_addr_cb(void *arg, const struct conf_peer *peer, struct in_addr *out)
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
