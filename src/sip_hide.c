/*
 * sip_hide: the last rewrite before a message leaves for the Internet, and
 * the first after one arrives from there (see the header).
 */
#include "sip_hide.h"

#include "base32.h"
#include "classify.h"
#include "netaddr.h"
#include "secret.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longer Call-IDs are not sealed (and crossed as they are): a sealed one is
 * 1.6 times as long plus the SIV, and other stacks keep Call-IDs in buffers
 * of their own. chan_sip's are about 60 characters. */
#define CALL_ID_SEAL_MAX 200
#define CALL_ID_TOKEN_MAX (sizeof(HIDE_CALL_ID_PREFIX) + BASE32_LEN(SECRET_SEAL_OVERHEAD + CALL_ID_SEAL_MAX))

/* A host that is an address literal of the LAN (IPv6 bare, as libosip2
 * keeps it, or bracketed). */
static bool host_is_local(const struct conf *conf, const char *host)
{
	struct netaddr a;

	return netaddr_parse_ip(host, &a) && classify_is_local(conf, &a);
}

static int hide_uri(struct hide_uri *h, osip_uri_t *uri, const struct conf *conf, const char *external,
		    const char *port)
{
	char *host, *new_port = NULL;

	h->uri = NULL;
	if (!uri || !host_is_local(conf, uri->host))
		return 0;
	host = osip_strdup(external);
	if (uri->port)
		new_port = osip_strdup(port);
	if (!host || (uri->port && !new_port)) {
		osip_free(host);
		osip_free(new_port);
		return -1;
	}
	h->uri = uri;
	h->host = uri->host;
	h->port = uri->port;
	uri->host = host;
	uri->port = new_port;
	return 0;
}

static void undo_uri(struct hide_uri *h)
{
	if (!h->uri)
		return;
	osip_free(h->uri->host);
	osip_free(h->uri->port);
	h->uri->host = h->host;
	h->uri->port = h->port;
	h->uri = NULL;
}

/* "number@host" as one text; 0 when it does not fit. */
static size_t call_id_text(const osip_call_id_t *cid, char *out, size_t cap)
{
	/* no stdio on the per-message path */
	size_t nl = strlen(cid->number), hl = cid->host ? strlen(cid->host) + 1 : 0;

	if (nl + hl == 0 || nl + hl >= cap)
		return 0;
	memcpy(out, cid->number, nl);
	if (cid->host) {
		out[nl] = '@';
		memcpy(out + nl + 1, cid->host, hl - 1);
	}
	out[nl + hl] = '\0';
	return nl + hl;
}

static int hide_call_id(osip_message_t *msg, const struct conf *conf, struct sip_hide_undo *undo)
{
	osip_call_id_t *cid = msg->call_id;
	char text[CALL_ID_SEAL_MAX + 1], host[256];
	uint8_t sealed[SECRET_SEAL_OVERHEAD + CALL_ID_SEAL_MAX];
	size_t len;

	if (!cid || !cid->number || !cid->host)
		return 0;
	/* chan_sip writes "id@ip:port", pjsip a bare UUID; an IPv6 host is
	 * "[x:x::x]:port", or bare without a port */
	size_t hl = strnlen(cid->host, sizeof(host) - 1); /* cut as it always was */
	memcpy(host, cid->host, hl);
	host[hl] = '\0';
	char *colon = host[0] == '[' ? strchr(host, ']') : strchr(host, ':');
	if (host[0] == '[' && colon)
		colon[1] = '\0';
	else if (colon && !strchr(colon + 1, ':'))
		*colon = '\0';
	if (!host_is_local(conf, host) || !(len = call_id_text(cid, text, sizeof(text))))
		return 0;
	char *token = osip_malloc(CALL_ID_TOKEN_MAX);
	if (!token || secret_seal((const uint8_t *)text, len, sealed) != 0) {
		osip_free(token);
		return -1;
	}
	strcpy(token, HIDE_CALL_ID_PREFIX);
	base32_encode(sealed, SECRET_SEAL_OVERHEAD + len, token + strlen(HIDE_CALL_ID_PREFIX));
	undo->call_id_number = cid->number;
	undo->call_id_host = cid->host;
	cid->number = token;
	cid->host = NULL;
	return 0;
}

int sip_hide_for_internet(osip_message_t *msg, const struct conf *conf,
			  const struct netaddr *external, uint16_t port, struct sip_hide_undo *undo)
{
	char ext[NETADDR_HOST_MAX], port_text[8];

	memset(undo, 0, sizeof(*undo));
	/* bare: libosip2 brackets an IPv6 URI host itself */
	if (!netaddr_is_specified(external) || !netaddr_ip_text(external, ext))
		return -1;
	netaddr_port_str(port, port_text);
	if (hide_uri(&undo->from, msg->from ? msg->from->url : NULL, conf, ext, port_text) != 0 ||
	    hide_uri(&undo->to, msg->to ? msg->to->url : NULL, conf, ext, port_text) != 0 ||
	    hide_call_id(msg, conf, undo) != 0) {
		sip_hide_undo(msg, undo);
		return -1;
	}
	return 0;
}

void sip_hide_undo(osip_message_t *msg, struct sip_hide_undo *undo)
{
	undo_uri(&undo->from);
	undo_uri(&undo->to);
	if (undo->call_id_number) {
		osip_free(msg->call_id->number);
		msg->call_id->number = undo->call_id_number;
		msg->call_id->host = undo->call_id_host;
		undo->call_id_number = undo->call_id_host = NULL;
	}
}

bool sip_hide_restore_call_id(osip_message_t *msg)
{
	osip_call_id_t *cid = msg->call_id;
	const size_t plen = strlen(HIDE_CALL_ID_PREFIX);
	uint8_t raw[SECRET_SEAL_OVERHEAD + CALL_ID_SEAL_MAX];
	char plain[CALL_ID_SEAL_MAX + 1];

	if (!cid || !cid->number || cid->host || strncmp(cid->number, HIDE_CALL_ID_PREFIX, plen) != 0)
		return false;
	const char *enc = cid->number + plen;
	long n = base32_decode(enc, strlen(enc), raw, sizeof(raw));
	if (n <= SECRET_SEAL_OVERHEAD)
		return false;
	long len = secret_open(raw, (size_t)n, (uint8_t *)plain);
	if (len <= 0)
		return false;
	plain[len] = '\0';
	char *at = strchr(plain, '@');
	char *number = osip_strdup(plain);
	char *host = at ? osip_strdup(at + 1) : NULL;
	if (!number || (at && !host)) {
		osip_free(number);
		osip_free(host);
		return false;
	}
	if (at)
		number[at - plain] = '\0';
	osip_free(cid->number);
	cid->number = number;
	cid->host = host;
	return true;
}
