/*
 * portmap_natpmp: NAT-PMP (RFC 6886) through libnatpmp, for portmap.c's
 * worker thread. Also what general.portmap = "pcp" speaks: PCP (RFC 6887)
 * has no maintained C library in Debian, and a PCP server answers NAT-PMP's
 * version-0 requests (RFC 6887 section 9), so "pcp" asks in NAT-PMP's form.
 *
 * libnatpmp retries a request itself on a doubling timer (250 ms, 500 ms,
 * ...) for up to a minute; this file waits at most NATPMP_WAIT_MS per
 * request, so that a router that does not answer costs two seconds, not one.
 */
#include "portmap_natpmp.h"

#include "portmap_plan.h"

#include <arpa/inet.h>
#include <errno.h>
#define ENABLE_STRNATPMPERR 1 /* strnatpmperr(): Debian's library has it */
#include <natpmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#define NATPMP_WAIT_MS 3000
/* libnatpmp sends again after 250 ms; a router that writes its firewall on
 * each request (miniupnpd on iptables: 50-250 ms) would get every request
 * twice. An answer gets this long before the first resend. */
#define NATPMP_PATIENCE_MS 1000
/* NAT-PMP has no permanent mapping (lifetime 0 deletes): "permanent" asks
 * for the lifetime RFC 6886 section 3.3 recommends, renewed at half. */
#define NATPMP_LONG_LEASE_S 7200

struct natpmp_ctx {
	natpmp_t np;
	char router[64];
	bool have_epoch;
	uint32_t epoch;
	time_t epoch_at;
};

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Wait for the answer to the pending request, NATPMP_WAIT_MS at most. */
static int natpmp_wait(struct natpmp_ctx *c, natpmpresp_t *resp)
{
	struct timespec start, now;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct timeval tv;
		fd_set fds;
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = NATPMP_WAIT_MS - ms_between(&start, &now);
		if (left <= 0)
			return NATPMP_TRYAGAIN;
		if (getnatpmprequesttimeout(&c->np, &tv) < 0)
			tv = (struct timeval){ 0, 250000 };
		if (c->np.try_number == 0 && tv.tv_sec * 1000 + tv.tv_usec / 1000 < NATPMP_PATIENCE_MS)
			tv = (struct timeval){ NATPMP_PATIENCE_MS / 1000, (NATPMP_PATIENCE_MS % 1000) * 1000 };
		if (tv.tv_sec * 1000 + tv.tv_usec / 1000 > left)
			tv = (struct timeval){ left / 1000, (left % 1000) * 1000 };
		FD_ZERO(&fds);
		FD_SET(c->np.s, &fds);
		if (select(c->np.s + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
			return NATPMP_ERR_RECVFROM;
		r = readnatpmpresponseorretry(&c->np, resp);
		if (r != NATPMP_TRYAGAIN)
			return r;
	}
}

/* Errors the router sent back are a refusal; anything else means no answer. */
static enum portmap_result natpmp_result(int r, const char *what, char why[PORTMAP_WHY_MAX])
{
	if (r >= 0)
		return PORTMAP_OK;
	if (r == NATPMP_TRYAGAIN) {
		snprintf(why, PORTMAP_WHY_MAX, "%s: no answer within %d ms", what, NATPMP_WAIT_MS);
		return PORTMAP_UNREACHABLE;
	}
	snprintf(why, PORTMAP_WHY_MAX, "%s: %s", what, strnatpmperr(r));
	if (r <= NATPMP_ERR_UNDEFINEDERROR && r >= NATPMP_ERR_OUTOFRESOURCES)
		return PORTMAP_REFUSED;
	return PORTMAP_UNREACHABLE;
}

static bool epoch_check(struct natpmp_ctx *c, uint32_t epoch, time_t now)
{
	bool lost = c->have_epoch && portmap_plan_epoch_lost(c->epoch, c->epoch_at, epoch, now);

	c->have_epoch = true;
	c->epoch = epoch;
	c->epoch_at = now;
	return lost;
}

static enum portmap_result natpmp_external(void *ctx, time_t now, struct in_addr *out, bool *lost,
					   char why[PORTMAP_WHY_MAX])
{
	struct natpmp_ctx *c = ctx;
	natpmpresp_t resp;
	int r = sendpublicaddressrequest(&c->np);

	if (r >= 0)
		r = natpmp_wait(c, &resp);
	if (r < 0)
		return natpmp_result(r, "public address request", why);
	*out = resp.pnu.publicaddress.addr;
	*lost = epoch_check(c, resp.epoch, now);
	return PORTMAP_OK;
}

/* The default gateway, where NAT-PMP is spoken (RFC 6886 section 3). Read
 * here rather than by libnatpmp, which reads /proc/net/route: the systemd
 * unit's ProcSubset=pid hides that name, but not /proc/self/net. */
bool portmap_natpmp_gateway(const char *route_path, struct in_addr *gw)
{
	FILE *f = fopen(route_path, "r");
	char line[256], ifname[64];
	unsigned dest, gateway, flags;
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %x %x %x", ifname, &dest, &gateway, &flags) == 4 && dest == 0 &&
		    (flags & 0x2) /* RTF_GATEWAY */ && gateway != 0) {
			gw->s_addr = gateway; /* the file holds it in network order, as hex */
			found = true;
		}
	fclose(f);
	return found;
}

static void *natpmp_open(struct in_addr lan, char why[PORTMAP_WHY_MAX])
{
	struct in_addr gw;

	(void)lan; /* the kernel picks the source toward the gateway */
	if (!portmap_natpmp_gateway("/proc/self/net/route", &gw)) {
		snprintf(why, PORTMAP_WHY_MAX, "no default route: no gateway to ask");
		return NULL;
	}
	return portmap_natpmp_open_at(gw, why);
}

void *portmap_natpmp_open_at(struct in_addr gw, char why[PORTMAP_WHY_MAX])
{
	struct natpmp_ctx *c = calloc(1, sizeof(*c));
	struct in_addr addr;
	struct timespec ts;
	bool lost;
	int r;

	if (!c) {
		snprintf(why, PORTMAP_WHY_MAX, "out of memory");
		return NULL;
	}
	r = initnatpmp(&c->np, 1, gw.s_addr);
	if (r < 0) {
		snprintf(why, PORTMAP_WHY_MAX, "cannot start NAT-PMP: %s", strnatpmperr(r));
		free(c);
		return NULL;
	}
	char gwtext[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &gw, gwtext, sizeof(gwtext));
	snprintf(c->router, sizeof(c->router), "gateway %s:5351", gwtext);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (natpmp_external(c, ts.tv_sec, &addr, &lost, why) != PORTMAP_OK) {
		char inner[PORTMAP_WHY_MAX];
		snprintf(inner, sizeof(inner), "%s", why);
		if (snprintf(why, PORTMAP_WHY_MAX, "%s: %s", c->router, inner) >= PORTMAP_WHY_MAX)
			why[PORTMAP_WHY_MAX - 1] = '\0';
		closenatpmp(&c->np);
		free(c);
		return NULL;
	}
	return c;
}

static const char *natpmp_router(void *ctx)
{
	return ((struct natpmp_ctx *)ctx)->router;
}

static enum portmap_result natpmp_request(struct natpmp_ctx *c, uint16_t port, uint32_t lifetime,
					  natpmpresp_t *resp, const char *what,
					  char why[PORTMAP_WHY_MAX])
{
	int r = sendnewportmappingrequest(&c->np, NATPMP_PROTOCOL_UDP, port, port, lifetime);

	if (r >= 0)
		r = natpmp_wait(c, resp);
	return natpmp_result(r, what, why);
}

static enum portmap_result natpmp_map(void *ctx, uint16_t port, int lease_s, int *granted_s,
				      uint16_t *public_port, char why[PORTMAP_WHY_MAX])
{
	struct natpmp_ctx *c = ctx;
	natpmpresp_t resp;
	enum portmap_result r = natpmp_request(c, port, lease_s > 0 ? (uint32_t)lease_s : NATPMP_LONG_LEASE_S,
					       &resp, "mapping request", why);

	if (r != PORTMAP_OK)
		return r;
	*granted_s = resp.pnu.newportmapping.lifetime > 0x7fffffff
		? 0x7fffffff : (int)resp.pnu.newportmapping.lifetime;
	*public_port = resp.pnu.newportmapping.mappedpublicport;
	if (*granted_s == 0) {
		snprintf(why, PORTMAP_WHY_MAX, "the router granted a lifetime of 0 s");
		return PORTMAP_REFUSED;
	}
	return PORTMAP_OK;
}

static enum portmap_result natpmp_unmap(void *ctx, uint16_t port, char why[PORTMAP_WHY_MAX])
{
	natpmpresp_t resp;

	/* lifetime 0 removes the mapping (RFC 6886 section 3.4) */
	return natpmp_request(ctx, port, 0, &resp, "removal request", why);
}

/* RFC 6886 section 3.4: internal port, external port and lifetime 0 remove
 * all of this host's UDP mappings at once. A router that writes its firewall
 * on each request takes a tenth of a second or more per port, so one by one
 * a 500-port pool would hold up the stop for a minute. Other NAT-PMP clients
 * on the same host lose theirs too, until their next renewal. */
static enum portmap_result natpmp_unmap_all(void *ctx, char why[PORTMAP_WHY_MAX])
{
	natpmpresp_t resp;

	return natpmp_request(ctx, 0, 0, &resp, "removal of all mappings", why);
}

static void natpmp_close(void *ctx)
{
	struct natpmp_ctx *c = ctx;

	closenatpmp(&c->np);
	free(c);
}

const struct portmap_proto_ops portmap_natpmp_ops = {
	.name = "NAT-PMP",
	.open = natpmp_open,
	.router = natpmp_router,
	.external = natpmp_external,
	.present = NULL,
	.map = natpmp_map,
	.unmap = natpmp_unmap,
	.unmap_all = natpmp_unmap_all,
	.close = natpmp_close,
};
