/*
 * portmap_upnp: UPnP-IGD (WANIPConnection) through miniupnpc, for portmap.c's
 * worker thread. Discovery is SSDP multicast on the LAN with a short wait;
 * the requests are SOAP over HTTP to the router, each bounded by miniupnpc's
 * own socket timeouts. IGD has no lifetime that tells a restart, so portmap.c
 * asks whether the SIP port's mapping is still there (present).
 */
#include "portmap_upnp.h"

#include <arpa/inet.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPNP_DISCOVER_MS 1500
#define UPNP_DESCRIPTION "sipnatd"
/* UPnP's own error codes (UPnP IGD WANIPConnection:1) */
#define UPNP_ERR_NO_SUCH_ENTRY 714
#define UPNP_ERR_ONLY_PERMANENT 725

struct upnp_ctx {
	struct UPNPUrls urls;
	struct IGDdatas data;
	char lan[INET_ADDRSTRLEN];   /* the internal client of every mapping */
	char router[160];
};

/* A negative miniupnpc code means the conversation failed (no answer, bad
 * HTTP); a positive one is the router's UPnP error. */
static enum portmap_result upnp_result(int r, const char *what, char why[PORTMAP_WHY_MAX])
{
	const char *text;

	if (r == UPNPCOMMAND_SUCCESS)
		return PORTMAP_OK;
	text = strupnperror(r);
	snprintf(why, PORTMAP_WHY_MAX, "%s: %s (%d)", what, text ? text : "error", r);
	return r > 0 ? PORTMAP_REFUSED : PORTMAP_UNREACHABLE;
}

/* The device is found: whom the mappings point at, and its name. */
static void upnp_found(struct upnp_ctx *c, struct in_addr lan, const char *lanaddr, bool not_connected)
{
	if (lan.s_addr != htonl(INADDR_ANY))
		inet_ntop(AF_INET, &lan, c->lan, sizeof(c->lan));
	else
		snprintf(c->lan, sizeof(c->lan), "%s", lanaddr);
	snprintf(c->router, sizeof(c->router), "%s%s", c->urls.rootdescURL ? c->urls.rootdescURL : "?",
		 not_connected ? " (its WAN reported not connected)" : "");
}

static void *upnp_open(struct in_addr lan, char why[PORTMAP_WHY_MAX])
{
	struct upnp_ctx *c = calloc(1, sizeof(*c));
	struct UPNPDev *devs;
	char lanaddr[64] = "";
	int err = 0, igd;

	if (!c) {
		snprintf(why, PORTMAP_WHY_MAX, "out of memory");
		return NULL;
	}
	devs = upnpDiscover(UPNP_DISCOVER_MS, NULL, NULL, UPNP_LOCAL_PORT_ANY, 0, 2, &err);
	if (!devs) {
		snprintf(why, PORTMAP_WHY_MAX, "no UPnP device answered the SSDP search within %d ms",
			 UPNP_DISCOVER_MS);
		free(c);
		return NULL;
	}
	igd = UPNP_GetValidIGD(devs, &c->urls, &c->data, lanaddr, sizeof(lanaddr));
	freeUPNPDevlist(devs);
	/* 2: an IGD that calls its WAN not connected. miniupnpd says so of a
	 * WAN address in a reserved range even when it forwards (STUN showed
	 * nothing filters in front of it); whether mappings work shows when
	 * they are asked for. */
	if (igd != 1 && igd != 2) {
		snprintf(why, PORTMAP_WHY_MAX, "%s",
			 igd == 0 ? "no Internet gateway device among the UPnP devices that answered"
			 : "the UPnP device that answered is not an Internet gateway device");
		if (igd != 0)
			FreeUPNPUrls(&c->urls);
		free(c);
		return NULL;
	}
	upnp_found(c, lan, lanaddr, igd == 2);
	return c;
}

void *portmap_upnp_open_url(const char *rootdesc_url, struct in_addr lan, char why[PORTMAP_WHY_MAX])
{
	struct upnp_ctx *c = calloc(1, sizeof(*c));
	char lanaddr[64] = "";

	if (!c) {
		snprintf(why, PORTMAP_WHY_MAX, "out of memory");
		return NULL;
	}
	if (UPNP_GetIGDFromUrl(rootdesc_url, &c->urls, &c->data, lanaddr, sizeof(lanaddr)) != 1) {
		snprintf(why, PORTMAP_WHY_MAX, "no Internet gateway device at %s", rootdesc_url);
		FreeUPNPUrls(&c->urls);
		free(c);
		return NULL;
	}
	upnp_found(c, lan, lanaddr, false);
	return c;
}

static const char *upnp_router(void *ctx)
{
	return ((struct upnp_ctx *)ctx)->router;
}

static enum portmap_result upnp_external(void *ctx, time_t now, struct in_addr *out, bool *lost,
					 char why[PORTMAP_WHY_MAX])
{
	struct upnp_ctx *c = ctx;
	char ip[40] = "";
	int r = UPNP_GetExternalIPAddress(c->urls.controlURL, c->data.first.servicetype, ip);

	(void)now;
	*lost = false;
	if (r != UPNPCOMMAND_SUCCESS)
		return upnp_result(r, "GetExternalIPAddress", why);
	if (inet_pton(AF_INET, ip, out) != 1) {
		snprintf(why, PORTMAP_WHY_MAX, "GetExternalIPAddress: the router has no external IPv4 address");
		return PORTMAP_REFUSED;
	}
	return PORTMAP_OK;
}

static enum portmap_result upnp_present(void *ctx, uint16_t port, bool *present,
					char why[PORTMAP_WHY_MAX])
{
	struct upnp_ctx *c = ctx;
	char ext[8], client[40] = "", inport[8] = "", desc[80], enabled[8], lease[16];
	int r;

	snprintf(ext, sizeof(ext), "%u", port);
	r = UPNP_GetSpecificPortMappingEntry(c->urls.controlURL, c->data.first.servicetype, ext, "UDP",
					     NULL, client, inport, desc, enabled, lease);
	if (r == UPNP_ERR_NO_SUCH_ENTRY) {
		*present = false;
		return PORTMAP_OK;
	}
	if (r != UPNPCOMMAND_SUCCESS)
		return upnp_result(r, "GetSpecificPortMappingEntry", why);
	/* someone else's mapping of the port is not ours */
	*present = strcmp(client, c->lan) == 0 && strcmp(inport, ext) == 0;
	return PORTMAP_OK;
}

static enum portmap_result upnp_map(void *ctx, uint16_t port, int lease_s, int *granted_s,
				    uint16_t *public_port, char why[PORTMAP_WHY_MAX])
{
	struct upnp_ctx *c = ctx;
	char p[8], lease[16];
	int r;

	snprintf(p, sizeof(p), "%u", port);
	snprintf(lease, sizeof(lease), "%d", lease_s > 0 ? lease_s : 0);
	r = UPNP_AddPortMapping(c->urls.controlURL, c->data.first.servicetype, p, p, c->lan,
				UPNP_DESCRIPTION, "UDP", NULL, lease);
	if (r == UPNP_ERR_ONLY_PERMANENT && lease_s > 0) {
		/* IGD v1 routers that keep no timers: a permanent mapping,
		 * refreshed now and then and removed at stop all the same */
		lease_s = 0;
		r = UPNP_AddPortMapping(c->urls.controlURL, c->data.first.servicetype, p, p, c->lan,
					UPNP_DESCRIPTION, "UDP", NULL, "0");
	}
	if (r != UPNPCOMMAND_SUCCESS)
		return upnp_result(r, "AddPortMapping", why);
	*granted_s = lease_s > 0 ? lease_s : 0;
	*public_port = port;
	return PORTMAP_OK;
}

static enum portmap_result upnp_unmap(void *ctx, uint16_t port, char why[PORTMAP_WHY_MAX])
{
	struct upnp_ctx *c = ctx;
	char p[8];
	int r;

	snprintf(p, sizeof(p), "%u", port);
	r = UPNP_DeletePortMapping(c->urls.controlURL, c->data.first.servicetype, p, "UDP", NULL);
	if (r == UPNP_ERR_NO_SUCH_ENTRY)
		return PORTMAP_OK; /* gone already (expired, or the router restarted) */
	return upnp_result(r, "DeletePortMapping", why);
}

static void upnp_close(void *ctx)
{
	struct upnp_ctx *c = ctx;

	FreeUPNPUrls(&c->urls);
	free(c);
}

const struct portmap_proto_ops portmap_upnp_ops = {
	.name = "UPnP-IGD",
	.open = upnp_open,
	.router = upnp_router,
	.external = upnp_external,
	.present = upnp_present,
	.map = upnp_map,
	.unmap = upnp_unmap,
	.unmap_all = NULL,
	.close = upnp_close,
};
