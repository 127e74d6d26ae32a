/*
 * portmap_plan: the decisions of router port mapping without the talking
 * (portmap.c talks, through portmap_upnp.c and portmap_natpmp.c). Beside the
 * SIP and RTP paths: nothing here sees a datagram.
 */
#include "portmap_plan.h"

#include <arpa/inet.h>
#include <stdlib.h>

static bool in_net(uint32_t a, uint32_t net, int bits)
{
	uint32_t mask = bits ? ~0u << (32 - bits) : 0;

	return (a & mask) == net;
}

enum portmap_addr_kind portmap_plan_addr_kind(struct in_addr addr)
{
	uint32_t a = ntohl(addr.s_addr);

	if (in_net(a, 0x0a000000, 8) || in_net(a, 0xac100000, 12) || in_net(a, 0xc0a80000, 16))
		return PORTMAP_ADDR_PRIVATE;                /* RFC 1918 */
	if (in_net(a, 0x64400000, 10))
		return PORTMAP_ADDR_SHARED;                 /* RFC 6598 */
	if (in_net(a, 0x00000000, 8) || in_net(a, 0x7f000000, 8) || in_net(a, 0xa9fe0000, 16) ||
	    in_net(a, 0xe0000000, 4) || in_net(a, 0xf0000000, 4))
		return PORTMAP_ADDR_UNUSABLE;  /* this network, loopback, link-local, multicast, reserved */
	return PORTMAP_ADDR_PUBLIC;
}

const char *portmap_plan_addr_why(enum portmap_addr_kind kind)
{
	switch (kind) {
	case PORTMAP_ADDR_PUBLIC:
		return "";
	case PORTMAP_ADDR_PRIVATE:
		return "a private address (RFC 1918): the router is behind another NAT (double NAT), so its mappings do not reach the Internet";
	case PORTMAP_ADDR_SHARED:
		return "a carrier-grade NAT address (RFC 6598, 100.64.0.0/10): the line has no public IPv4 address of its own";
	case PORTMAP_ADDR_UNUSABLE:
		return "not an address the Internet can reach (unspecified, loopback, link-local or multicast)";
	}
	return "";
}

int portmap_plan_retry_s(unsigned fails)
{
	int s = PORTMAP_RETRY_MIN_S;

	for (unsigned i = 1; i < fails && s < PORTMAP_RETRY_MAX_S; i++)
		s *= 2;
	return s < PORTMAP_RETRY_MAX_S ? s : PORTMAP_RETRY_MAX_S;
}

time_t portmap_plan_renew_at(time_t mapped_at, int granted_s)
{
	if (granted_s <= 0)
		return mapped_at + PORTMAP_PERMANENT_REFRESH_S;
	return mapped_at + (granted_s / 2 > 1 ? granted_s / 2 : 1);
}

int portmap_plan_check_s(int lease_s)
{
	int s = lease_s > 0 ? lease_s / 2 : PORTMAP_CHECK_MAX_S;

	if (s > PORTMAP_CHECK_MAX_S)
		s = PORTMAP_CHECK_MAX_S;
	return s > 0 ? s : 1;
}

int portmap_plan_batch_s(int lease_s)
{
	int s = lease_s > 0 ? lease_s / 8 : PORTMAP_PERMANENT_REFRESH_S / 8;

	return s < 1 ? 1 : s > 60 ? 60 : s;
}

bool portmap_plan_epoch_lost(uint32_t prev_epoch, time_t prev_at, uint32_t epoch, time_t now)
{
	long long elapsed = now > prev_at ? (long long)(now - prev_at) : 0;
	long long least = (long long)prev_epoch + elapsed * 7 / 8 - 2;

	return (long long)epoch < least;
}

bool portmap_plan_table_init(struct portmap_table *t, uint16_t sip_port, int rtpstart, int rtpend,
			     size_t max, time_t now)
{
	bool sip_in_pool = sip_port >= rtpstart && sip_port <= rtpend;
	size_t pool = rtpend >= rtpstart ? (size_t)(rtpend - rtpstart + 1) : 0;
	size_t n = pool + (sip_in_pool ? 0 : 1), i = 0;

	t->entry = NULL;
	t->count = 0;
	if (n > max || rtpstart < 1 || rtpend > 65535)
		return false;
	t->entry = calloc(n, sizeof(*t->entry));
	if (!t->entry)
		return false;
	if (!sip_in_pool)
		t->entry[i++].port = sip_port;
	for (int p = rtpstart; p <= rtpend && pool; p++)
		t->entry[i++].port = (uint16_t)p;
	for (i = 0; i < n; i++)
		t->entry[i].due_at = now;
	t->count = n;
	return true;
}

void portmap_plan_table_free(struct portmap_table *t)
{
	free(t->entry);
	t->entry = NULL;
	t->count = 0;
}

struct portmap_entry *portmap_plan_due(struct portmap_table *t, time_t now, int ahead_s)
{
	struct portmap_entry *first = NULL;

	for (size_t i = 0; i < t->count; i++) {
		struct portmap_entry *e = &t->entry[i];
		time_t until = e->mapped && e->fails == 0 ? now + ahead_s : now;
		if (e->due_at <= until && (!first || e->due_at < first->due_at))
			first = e;
	}
	return first;
}

time_t portmap_plan_next_due(const struct portmap_table *t, time_t none)
{
	time_t next = none;

	for (size_t i = 0; i < t->count; i++)
		if (i == 0 || t->entry[i].due_at < next)
			next = t->entry[i].due_at;
	return next;
}

void portmap_plan_granted(struct portmap_entry *e, time_t now, int granted_s, uint16_t public_port)
{
	e->mapped = true;
	e->public_port = public_port;
	e->granted_s = granted_s > 0 ? granted_s : 0;
	e->expires_at = granted_s > 0 ? now + granted_s : 0;
	e->due_at = portmap_plan_renew_at(now, granted_s);
	e->fails = 0;
}

void portmap_plan_failed(struct portmap_entry *e, time_t now)
{
	e->fails++;
	if (e->mapped && e->expires_at && e->expires_at <= now)
		e->mapped = false;
	e->due_at = now + portmap_plan_retry_s(e->fails);
	/* a renewal that fails is retried before the lease runs out where it can */
	if (e->mapped && e->expires_at && e->due_at >= e->expires_at)
		e->due_at = e->expires_at - 1 > now ? e->expires_at - 1 : now + 1;
}

void portmap_plan_lost_all(struct portmap_table *t, time_t now)
{
	for (size_t i = 0; i < t->count; i++) {
		t->entry[i].mapped = false;
		t->entry[i].due_at = now;
		t->entry[i].fails = 0;
	}
}

size_t portmap_plan_mapped(const struct portmap_table *t, time_t now, long *min_left,
			   long *max_left)
{
	size_t n = 0, leased = 0;

	*min_left = *max_left = 0;
	for (size_t i = 0; i < t->count; i++) {
		const struct portmap_entry *e = &t->entry[i];
		if (!e->mapped || (e->expires_at && e->expires_at <= now))
			continue;
		n++;
		if (!e->expires_at)
			continue;
		long left = (long)(e->expires_at - now);
		if (leased == 0 || left < *min_left)
			*min_left = left;
		if (leased == 0 || left > *max_left)
			*max_left = left;
		leased++;
	}
	if (n && !leased)
		*min_left = *max_left = -1;
	return n;
}
