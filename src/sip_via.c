/*
 * sip_via: received/rport on the way in, the response target on the way out.
 * The source address of the datagram is the truth; what a Via claims is only
 * used where RFC 3261 says so and never sends anything toward a name.
 */
#include "sip_via.h"

#include "netaddr.h"
#include "sipmsg.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sip_via_param(const osip_via_t *via, const char *name, bool *present)
{
	osip_generic_param_t *param = NULL;

	if (present)
		*present = false;
	if (osip_generic_param_get_byname((osip_list_t *)&via->via_params, (char *)name, &param) != 0 ||
	    !param)
		return NULL;
	if (present)
		*present = true;
	return param->gvalue;
}

/* The first parameter named received and the first named rport (either
 * NULL when absent), found in one walk; names compare as sip_via_param
 * compares them. */
static void received_and_rport(const osip_via_t *via, osip_generic_param_t **received,
			       osip_generic_param_t **rport)
{
	osip_list_iterator_t it;

	*received = *rport = NULL;
	for (osip_generic_param_t *p = osip_list_get_first(&via->via_params, &it); p;
	     p = osip_list_get_next(&it)) {
		size_t len = p->gname ? strlen(p->gname) : 0;
		if (len == 8 && !*received && osip_strncasecmp(p->gname, "received", 8) == 0)
			*received = p;
		else if (len == 5 && !*rport && osip_strncasecmp(p->gname, "rport", 5) == 0)
			*rport = p;
	}
}

/* sip_via_param_set for a parameter already looked up (found, or NULL to
 * add it); value NULL for a flag parameter. */
static int param_put(osip_via_t *via, osip_generic_param_t *found, const char *name,
		     const char *value)
{
	char *copy = value ? osip_strdup(value) : NULL;

	if (value && !copy)
		return -1;
	if (found) {
		osip_free(found->gvalue);
		found->gvalue = copy;
		return 0;
	}
	char *pname = osip_strdup(name);
	if (!pname || osip_generic_param_add(&via->via_params, pname, copy) != 0) {
		osip_free(pname);
		osip_free(copy);
		return -1;
	}
	return 0;
}

int sip_via_param_set(osip_via_t *via, const char *name, const char *value)
{
	osip_generic_param_t *param = NULL;

	if (osip_generic_param_get_byname(&via->via_params, (char *)name, &param) != 0)
		param = NULL;
	return param_put(via, param, name, value);
}

/* A value with a quote is a whole quoted-string (sipmsg_quoted_string_ok):
 * with an unbalanced one ("branresponse=\"-ref;rport"), once sipnatd adds
 * received and rport after it, the Via reads back as other parameters, and
 * the response would find neither sipnatd's branch check nor the sender.
 * Such a Via is unusable. */
static bool quoted_value_ok(const char *v)
{
	return !v || !strchr(v, '"') || sipmsg_quoted_string_ok(v);
}

static bool params_well_formed(const osip_via_t *via)
{
	osip_generic_param_t *p;

	for (int i = 0; (p = osip_list_get(&via->via_params, i)) != NULL; i++)
		if ((p->gname && strchr(p->gname, '"')) || !quoted_value_ok(p->gvalue))
			return false;
	return true;
}


int sip_via_stamp_received(osip_message_t *req, const struct netaddr *src, bool force_rport)
{
	osip_via_t *via = osip_list_get(&req->vias, 0);
	char ip[NETADDR_HOST_MAX], port[8];
	struct netaddr sent_by;
	osip_generic_param_t *received, *rport;

	if (!via || !via->host || (src->family != AF_INET && src->family != AF_INET6) ||
	    !params_well_formed(via))
		return -1;
	/* RFC 3261 25.1: via-received is IPv4address / IPv6address, the
	 * address without brackets (RFC 5118 4.5) */
	netaddr_ip_text(src, ip);
	netaddr_port_str(src->port, port);
	received_and_rport(via, &received, &rport);

	if (rport || force_rport) {
		if (param_put(via, received, "received", ip) != 0 || param_put(via, rport, "rport", port) != 0)
			return -1;
		return 0;
	}
	/* RFC 3261 18.2.1: received only when sent-by differs from the source;
	 * drop any received= the client wrote itself. libosip2 gives the
	 * sent-by of "[2001:db8::1]:5060" without its brackets; a name is
	 * never the source. */
	if (!netaddr_parse_ip(via->host, &sent_by) || !netaddr_same_ip(&sent_by, src))
		return param_put(via, received, "received", ip);
	if (received) {
		osip_free(received->gvalue);
		received->gvalue = osip_strdup(ip);
	}
	return 0;
}

bool sip_via_response_target(const osip_message_t *resp, struct netaddr *out)
{
	const osip_via_t *via = osip_list_get(&resp->vias, 0);
	struct netaddr ip;
	uint16_t port = 5060;

	if (!via || !via->host)
		return false;
	osip_generic_param_t *received_param, *rport_param;
	received_and_rport(via, &received_param, &rport_param);
	/* received bare or bracketed (RFC 5118 4.5: accept both) */
	const char *received = received_param ? received_param->gvalue : NULL;
	if (!netaddr_parse_ip(received ? received : via->host, &ip))
		return false;
	const char *rport = rport_param ? rport_param->gvalue : NULL;
	if (rport && netaddr_parse_port(rport, &port)) {
		/* rport with a value: the source port of the request (RFC 3581 4) */
	} else if (via->port && !netaddr_parse_port(via->port, &port)) {
		return false;
	}
	*out = ip;
	out->port = port;
	return true;
}

void sip_via_param_remove(osip_via_t *via, const char *name)
{
	osip_generic_param_t *param;

	for (int i = 0; (param = osip_list_get(&via->via_params, i)) != NULL; i++) {
		if (param->gname && osip_strcasecmp(param->gname, name) == 0) {
			osip_list_remove(&via->via_params, i);
			osip_generic_param_free(param);
			return;
		}
	}
}
