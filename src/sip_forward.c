/*
 * sip_forward: rewrite for the sides a message crosses, then send. The rules
 * of design section 5: toward a non-local party nothing of the LAN shows
 * (Contact, Via); toward the PBX nothing of a remote party's private network
 * shows (Contact points at sipnatd, with the NAT address sealed in a token).
 */
#include "sip_forward.h"

#include "classify.h"
#include "advertise.h"
#include "log.h"
#include "media.h"
#include "netaddr.h"
#include "sip_branch.h"
#include "sip_hide.h"
#include "sip_contact.h"
#include "sip_via.h"
#include "sipmsg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sip_forward_send(const struct sip_env *env, osip_message_t *msg, const struct netaddr *dest)
{
	char *buf = NULL;
	size_t len = 0;
	struct sip_hide_undo undo;
	struct netaddr external;
	bool hidden = false;

	/* Toward the Internet, the LAN's hosts in From/To/Call-ID are hidden on
	 * the wire only: whatever runs after this sees the message unchanged. */
	if (!classify_is_local(env->conf, dest) &&
	    advertise_toward(env->advertise, dest, &external)) {
		if (sip_hide_for_internet(msg, env->conf, &external, env->conf->bindport, &undo) != 0) {
			log_err("out of memory hiding the LAN in %s %s", sipmsg_method(msg), sipmsg_call_id(msg));
			return;
		}
		hidden = true;
	}
	int rc = sipmsg_serialize(msg, &buf, &len);
	if (hidden)
		sip_hide_undo(msg, &undo);
	if (rc != 0) {
		log_err("cannot serialise %s %s", sipmsg_method(msg), sipmsg_call_id(msg));
		return;
	}
	env->send(env->send_arg, buf, len, dest);
	osip_free(buf);
}

int sip_forward_max_forwards(osip_message_t *req)
{
	osip_header_t *mf = NULL;
	long v = 0;

	if (osip_message_get_max_forwards(req, 0, &mf) < 0 || !mf || !mf->hvalue) {
		osip_message_set_max_forwards(req, "70");
		return 70;
	}
	const char *p = mf->hvalue;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > 255)
			return -1;
	}
	return *p ? -1 : (int)v;
}

static void decrement_max_forwards(osip_message_t *req)
{
	osip_header_t *mf = NULL;
	int v = sip_forward_max_forwards(req);
	char buf[16];

	if (v <= 0 || osip_message_get_max_forwards(req, 0, &mf) < 0 || !mf)
		return;
	snprintf(buf, sizeof(buf), "%d", v - 1);
	osip_free(mf->hvalue);
	mf->hvalue = osip_strdup(buf);
}

/* Media for a message crossing the NAT: its SDP points at the relay. */
static enum forward_result relay_media(const struct sip_env *env, osip_message_t *msg,
				       const struct forward_source *src, bool dest_local,
				       const struct netaddr *advertised)
{
	if (src->local == dest_local)
		return FORWARD_SENT; /* LAN to LAN: no relay (design section 8) */
	switch (media_rewrite(env->media, msg, src->local, &src->addr, advertised, src->peer)) {
	case MEDIA_DONE:
		return FORWARD_SENT;
	case MEDIA_NO_PORTS:
		return FORWARD_NO_PORTS;
	case MEDIA_BAD_SDP:
		return FORWARD_BAD_SDP;
	case MEDIA_CALL_LIMIT:
		return FORWARD_CALL_LIMIT;
	case MEDIA_RELAY_LIMIT:
		return FORWARD_RELAY_LIMIT;
	case MEDIA_FAILED:
		break;
	}
	return FORWARD_FAILED;
}

/* The transport toward dest (issue 15): a phone's own TCP/TLS connection
 * when it has one open, else UDP (the LAN, trunks, UDP phones). */
static enum sip_transport transport_to(const struct sip_env *env, const struct netaddr *dest)
{
	return env->transport_to ? env->transport_to(env->transport_arg, dest) : SIP_TRANSPORT_UDP;
}

/* sipnatd's own port for a transport, as the Internet reaches it. */
static uint16_t own_port(const struct sip_env *env, enum sip_transport t)
{
	if (t == SIP_TRANSPORT_TCP)
		return ntohs(env->conf->tcpbind.sin_port);
	if (t == SIP_TRANSPORT_TLS)
		return ntohs(env->conf->tlsbind.sin_port);
	return env->conf->bindport;
}

/* Contact masquerading for a message crossing from src to dest. Toward a
 * phone on a stream the Contact names that transport and its port, so that
 * the phone's next request in the dialog comes back the same way (RFC 3261
 * 19.1.1; the phone reuses its connection, RFC 5923). Toward the PBX the
 * phone's transport is sealed in the token with the rest of its URI. */
static int masquerade(const struct sip_env *env, osip_message_t *msg, const struct forward_source *src,
		      bool dest_local, const struct netaddr *advertised, enum sip_transport t)
{
	if (src->local && !dest_local) {
		if (sip_contact_masquerade(msg, advertised, own_port(env, t), NULL) != 0)
			return -1;
		return t == SIP_TRANSPORT_UDP ? 0 : sip_contact_set_transport(msg, sip_transport_param(t));
	}
	if (!src->local && dest_local)
		return sip_contact_masquerade(msg, advertised, env->conf->bindport, &src->addr);
	return 0;
}

static int add_own_via(osip_message_t *req, const struct netaddr *host, uint16_t port,
		       const char *branch, enum sip_transport t)
{
	char ip[NETADDR_HOST_MAX], value[BRANCH_MAX + 80], port_text[8];
	osip_via_t *via = NULL;

	if (osip_via_init(&via) != 0)
		return -1;
	/* RFC 3261 18.1.1: the Via names the transport the request goes on */
	if (host->family == AF_INET) {
		/* built as libosip2 would read "SIP/2.0/UDP ip:port;rport;branch=":
		 * every request gets one, and printing it to parse it back cost
		 * more than the rest of the Via's work */
		netaddr_ipv4_str(host->ip.v4, ip);
		netaddr_port_str(port, port_text);
		via_set_version(via, osip_strdup("2.0"));
		via_set_protocol(via, osip_strdup(sip_transport_via_name(t)));
		via_set_host(via, osip_strdup(ip));
		via_set_port(via, osip_strdup(port_text));
		if (!via->version || !via->protocol || !via->host || !via->port ||
		    osip_via_param_add(via, osip_strdup("rport"), NULL) != 0 ||
		    osip_via_param_add(via, osip_strdup("branch"), osip_strdup(branch)) != 0 ||
		    osip_list_add(&req->vias, via, 0) < 0) {
			osip_via_free(via);
			return -1;
		}
		return 0;
	}
	/* sent-by: an IPv6 address in brackets (RFC 3261 25.1, RFC 5118 4.5),
	 * which libosip2 keeps its own way when it reads them */
	netaddr_sip_host(host, ip);
	snprintf(value, sizeof(value), "SIP/2.0/%s %s:%u;rport;branch=%s", sip_transport_via_name(t),
		 ip, port, branch);
	if (osip_via_parse(via, value) != 0 || osip_list_add(&req->vias, via, 0) < 0) {
		osip_via_free(via);
		return -1;
	}
	return 0;
}

static void drop_vias(osip_message_t *msg)
{
	osip_via_t *via;

	while ((via = osip_list_get(&msg->vias, 0)) != NULL) {
		osip_list_remove(&msg->vias, 0);
		osip_via_free(via);
	}
}

enum forward_result sip_forward_request(const struct sip_env *env, osip_message_t *req,
				    const struct forward_source *src, const struct netaddr *dest)
{
	bool dest_local = classify_is_local(env->conf, dest);
	enum sip_transport t = transport_to(env, dest);
	struct netaddr advertised;
	char branch[BRANCH_MAX];
	bool hidden;

	/* sipnatd's address of dest's family: a leg is one family (issue 20) */
	if (!advertise_toward(env->advertise, dest, &advertised))
		return FORWARD_NO_ADDRESS;
	/* Media first: a call the relay cannot carry is refused before anything
	 * else is touched (503 before forwarding, R20). */
	enum forward_result media = relay_media(env, req, src, dest_local, &advertised);
	if (media != FORWARD_SENT)
		return media;
	decrement_max_forwards(req);
	if (masquerade(env, req, src, dest_local, &advertised, t) != 0)
		goto fail;
	/* Leaving the LAN: the LAN's Vias go into the branch, not on the wire. */
	if (sip_branch_make(req, src->local && !dest_local, branch, sizeof(branch), &hidden) != 0)
		goto fail;
	if (hidden)
		drop_vias(req);
	if (add_own_via(req, &advertised, own_port(env, t), branch, t) != 0)
		goto fail;
	sip_forward_send(env, req, dest);
	return FORWARD_SENT;
fail:
	log_err("cannot rewrite %s %s for forwarding", sipmsg_method(req), sipmsg_call_id(req));
	return FORWARD_FAILED;
}

enum forward_result sip_forward_response(const struct sip_env *env, osip_message_t *resp,
				     const struct forward_source *src)
{
	struct netaddr dest;
	struct netaddr advertised;

	if (!sip_via_response_target(resp, &dest))
		return FORWARD_FAILED;
	bool dest_local = classify_is_local(env->conf, &dest);
	if (src->local != dest_local) {
		if (!advertise_toward(env->advertise, &dest, &advertised))
			return FORWARD_NO_ADDRESS;
		enum forward_result media = relay_media(env, resp, src, dest_local, &advertised);
		if (media != FORWARD_SENT)
			return media;
		if (masquerade(env, resp, src, dest_local, &advertised, transport_to(env, &dest)) != 0) {
			log_err("cannot rewrite the Contact of a %d response", resp->status_code);
			return FORWARD_FAILED;
		}
	}
	sip_forward_send(env, resp, &dest);
	return FORWARD_SENT;
}
