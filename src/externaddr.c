/*
 * externaddr: keeps the external address current. Sits beside the SIP path:
 * the rewrite steps ask it for the address to advertise toward non-local
 * parties. One lookup at a time; answers to a lookup made for an older
 * configuration are still good news about the same name only if the name is
 * unchanged, so each lookup carries the name it asked for.
 */
#include "externaddr.h"

#include "log.h"
#include "netaddr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

struct externaddr {
	struct event_base *base;
	struct evdns_base *dns;
	char *host;               /* NULL when a fixed externip is used */
	int refresh_s;
	bool have_addr;
	struct in_addr addr;
	struct event *timer;
	struct evdns_request *pending;
	char *asked;              /* the name the pending lookup asked for */
	bool router_on;           /* externip = "auto" */
	bool have_router;         /* the router gave an address that can be advertised */
	struct in_addr router;
	unsigned long failures;
	bool failing;             /* the last lookup failed (log once per spell) */
	/* IPv6 (issue 20): externip's IPv6 address, or externhost's AAAA,
	 * looked up beside the A record each time and kept the same way */
	bool have_addr6;
	struct netaddr addr6;
	struct evdns_request *pending6;
	char *asked6;
};

static void lookup6_done_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
	struct externaddr *ea = arg;
	char ip[NETADDR_HOST_MAX];
	bool stale = !ea->host || strcmp(ea->host, ea->asked6) != 0;

	ea->pending6 = NULL;
	free(ea->asked6);
	ea->asked6 = NULL;
	if (stale)
		return; /* the next refresh asks for the new name */
	if (result == DNS_ERR_NONE && type == DNS_IPv6_AAAA && count > 0) {
		struct netaddr found = { .family = AF_INET6 };
		memcpy(&found.ip.v6, addresses, sizeof(found.ip.v6)); /* first AAAA */
		if (!ea->have_addr6 || !netaddr_same(&found, &ea->addr6))
			log_notice("externhost %s has the IPv6 address %s", ea->host,
				   netaddr_ip_text(&found, ip));
		ea->addr6 = found;
		ea->have_addr6 = true;
	} else if (ea->have_addr6) {
		/* many names have no AAAA: only a change is news */
		log_info("externhost %s: no IPv6 address now (%s); keeping %s", ea->host,
			 evdns_err_to_string(result), netaddr_ip_text(&ea->addr6, ip));
	}
}

static void lookup6_start(struct externaddr *ea)
{
	if (ea->asked6)
		return;
	ea->asked6 = strdup(ea->host);
	if (!ea->asked6)
		return;
	ea->pending6 = evdns_base_resolve_ipv6(ea->dns, ea->host, DNS_QUERY_NO_SEARCH, lookup6_done_cb, ea);
	if (!ea->pending6 && ea->asked6) {
		free(ea->asked6);
		ea->asked6 = NULL;
	}
}

static void schedule(struct externaddr *ea)
{
	struct timeval tv = { .tv_sec = ea->refresh_s };

	if (ea->host)
		evtimer_add(ea->timer, &tv);
}

static void lookup_done_cb(int result, char type, int count, int ttl, void *addresses, void *arg)
{
	struct externaddr *ea = arg;
	char ip[INET_ADDRSTRLEN];
	bool stale = !ea->host || strcmp(ea->host, ea->asked) != 0;

	ea->pending = NULL;
	free(ea->asked);
	ea->asked = NULL;
	if (stale) {
		/* the configuration changed under this lookup: ask again */
		if (ea->host)
			event_active(ea->timer, EV_TIMEOUT, 0);
		return;
	}
	if (result == DNS_ERR_NONE && type == DNS_IPv4_A && count > 0) {
		struct in_addr found;
		memcpy(&found, addresses, sizeof(found)); /* first A record */
		inet_ntop(AF_INET, &found, ip, sizeof(ip));
		if (!ea->have_addr)
			log_notice("externhost %s resolved to %s", ea->host, ip);
		else if (found.s_addr != ea->addr.s_addr) {
			char old[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &ea->addr, old, sizeof(old));
			log_notice("external address changed: externhost %s now %s (was %s)", ea->host,
				   ip, old);
		} else if (ea->failing)
			log_notice("externhost %s resolves again (%s)", ea->host, ip);
		ea->addr = found;
		ea->have_addr = true;
		ea->failing = false;
	} else {
		ea->failures++;
		if (!ea->failing) {
			if (ea->have_addr) {
				inet_ntop(AF_INET, &ea->addr, ip, sizeof(ip));
				log_warn("cannot resolve externhost %s (%s); keeping the last good address %s",
					 ea->host, evdns_err_to_string(result), ip);
			} else {
				log_warn("cannot resolve externhost %s (%s); calls that need the external address get 503 until it resolves (retry every %d s)",
					 ea->host, evdns_err_to_string(result), ea->refresh_s);
			}
		}
		ea->failing = true;
	}
	schedule(ea);
}

static void refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	struct externaddr *ea = arg;

	if (!ea->host)
		return; /* nothing to look up */
	lookup6_start(ea);
	if (ea->asked)
		return; /* a lookup is under way */
	ea->asked = strdup(ea->host);
	if (!ea->asked) {
		log_err("out of memory looking up externhost");
		schedule(ea);
		return;
	}
	ea->pending = evdns_base_resolve_ipv4(ea->dns, ea->host, DNS_QUERY_NO_SEARCH, lookup_done_cb, ea);
	if (!ea->pending && ea->asked) {
		log_warn("cannot start a lookup of externhost %s", ea->host);
		free(ea->asked);
		ea->asked = NULL;
		schedule(ea);
	}
}

static void adopt(struct externaddr *ea, const struct conf *conf)
{
	if (!conf->externip_auto)
		ea->have_router = false;
	ea->router_on = conf->externip_auto;
	free(ea->host);
	ea->host = conf->externhost ? strdup(conf->externhost) : NULL;
	ea->refresh_s = conf->externrefresh_s;
	if (conf->has_externip6) {
		ea->addr6 = conf->externip6;
		ea->have_addr6 = true;
	} else if (!conf->externhost) {
		ea->have_addr6 = false;
	}
	if (conf->has_externip || conf->has_externip6) {
		ea->have_addr = conf->has_externip;
		if (conf->has_externip)
			ea->addr = conf->externip;
		ea->failing = false;
		evtimer_del(ea->timer);
	} else {
		if (!ea->host)
			ea->have_addr = false; /* a former externip: the router's comes */
		evtimer_del(ea->timer);
		event_active(ea->timer, EV_TIMEOUT, 0);
	}
}

struct externaddr *externaddr_new(struct event_base *base, struct evdns_base *dns,
				  const struct conf *conf)
{
	struct externaddr *ea = calloc(1, sizeof(*ea));

	if (!ea)
		return NULL;
	ea->base = base;
	ea->dns = dns;
	ea->timer = evtimer_new(base, refresh_cb, ea);
	if (!ea->timer) {
		free(ea);
		return NULL;
	}
	adopt(ea, conf);
	return ea;
}

void externaddr_reconfigure(struct externaddr *ea, const struct conf *conf)
{
	bool same_host = ea->host && conf->externhost && strcmp(ea->host, conf->externhost) == 0;

	if (!same_host && conf->externhost)
		ea->have_addr = ea->have_addr6 = false; /* an address of another name is no good */
	adopt(ea, conf);
}

void externaddr_set_router(struct externaddr *ea, struct in_addr addr)
{
	char ip[INET_ADDRSTRLEN], old[INET_ADDRSTRLEN];

	if (!ea->router_on)
		return;
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	if (!ea->have_router)
		log_notice("external address from the router: %s", ip);
	else if (ea->router.s_addr != addr.s_addr) {
		inet_ntop(AF_INET, &ea->router, old, sizeof(old));
		log_notice("external address changed: the router now reports %s (was %s)", ip, old);
	}
	ea->router = addr;
	ea->have_router = true;
}

const char *externaddr_router_unusable(struct externaddr *ea)
{
	if (ea->host) {
		ea->have_router = false;
		return "not advertised: falling back to externhost";
	}
	if (ea->have_router)
		return "not advertised: keeping the router's last public address";
	return "not advertised, and nothing else is configured: calls that need the external address get 503 (set externip or externhost)";
}

const char *externaddr_source(const struct externaddr *ea)
{
	if (ea->router_on && ea->have_router)
		return "router";
	if (!ea->have_addr)
		return "none";
	return ea->host ? "externhost" : "externip";
}

bool externaddr_get6(const struct externaddr *ea, struct netaddr *out)
{
	if (!ea->have_addr6)
		return false;
	*out = ea->addr6;
	return true;
}

bool externaddr_get(const struct externaddr *ea, struct in_addr *out)
{
	if (ea->router_on && ea->have_router) {
		*out = ea->router;
		return true;
	}
	if (!ea->have_addr)
		return false;
	*out = ea->addr;
	return true;
}

unsigned long externaddr_failures(const struct externaddr *ea)
{
	return ea->failures;
}

void externaddr_free(struct externaddr *ea)
{
	if (!ea)
		return;
	event_free(ea->timer);
	free(ea->asked);
	free(ea->asked6);
	free(ea->host);
	free(ea);
}
