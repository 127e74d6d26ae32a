/*
 * sip_register: the REGISTER branch of the route step. The message side of the
 * registrar; the rules themselves are registrar.c's.
 */
#include "sip_register.h"

#include "log.h"
#include "netaddr.h"
#include "sip_reply.h"
#include "sipmsg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A non-negative decimal delta-seconds, -1 otherwise (RFC 3261 20.19). */
static int delta_seconds(const char *text)
{
	long v = 0;

	if (!text)
		return -1;
	while (*text == ' ')
		text++;
	if (!isdigit((unsigned char)*text))
		return -1;
	for (; isdigit((unsigned char)*text); text++) {
		v = v * 10 + (*text - '0');
		if (v > 0x7fffffff / 10)
			v = 0x7fffffff / 10; /* "very long" is clamped later anyway */
	}
	return (int)v;
}

static char call_id_buf[SIPMSG_CALLID_MAX];

static bool extract(const osip_message_t *req, const struct conf_peer *peer,
		    const struct netaddr *src, struct register_request *rr, char uris[][REGISTRAR_URI_MAX],
		    const char **why)
{
	osip_header_t *exp = NULL;
	osip_contact_t *c;

	memset(rr, 0, sizeof(*rr));
	rr->peer = peer->name;
	rr->call_id = sipmsg_call_id_full(req, call_id_buf);
	char *end = NULL;
	unsigned long cseq = strtoul(req->cseq->number, &end, 10);
	if (!isdigit((unsigned char)req->cseq->number[0]) || *end || cseq > 0xffffffffUL) {
		*why = "bad CSeq";
		return false;
	}
	rr->cseq = (uint32_t)cseq;
	rr->nat = *src;
	rr->expires = -1;
	if (osip_message_get_expires(req, 0, &exp) >= 0 && exp)
		rr->expires = delta_seconds(exp->hvalue);

	for (int i = 0; (c = osip_list_get(&req->contacts, i)) != NULL; i++) {
		if (!c->url) {
			if (c->displayname && strcmp(c->displayname, "*") == 0) {
				rr->star = true;
				continue;
			}
			*why = "unparsable Contact";
			return false;
		}
		if (rr->contact_count >= REGISTRAR_MAX_CONTACTS) {
			*why = "too many contacts";
			return false;
		}
		char *text = NULL;
		if (osip_uri_to_str(c->url, &text) != 0 || strlen(text) >= REGISTRAR_URI_MAX) {
			osip_free(text);
			*why = "contact URI too long";
			return false;
		}
		strcpy(uris[rr->contact_count], text);
		osip_free(text);
		osip_generic_param_t *p = NULL;
		int e = -1;
		if (osip_contact_param_get_byname(c, (char *)"expires", &p) == 0 && p)
			e = delta_seconds(p->gvalue);
		rr->contacts[rr->contact_count].uri = uris[rr->contact_count];
		rr->contacts[rr->contact_count].expires = e;
		rr->contact_count++;
	}
	return true;
}

static int add_bindings(osip_message_t *resp, const struct registrar *r, const char *peer,
			time_t now)
{
	const struct binding *list[REGISTRAR_MAX_CONTACTS];
	size_t n = registrar_bindings(r, peer, now, list, REGISTRAR_MAX_CONTACTS);
	char value[REGISTRAR_URI_MAX + 32];

	for (size_t i = 0; i < n; i++) {
		snprintf(value, sizeof(value), "<%s>;expires=%ld", list[i]->contact,
			 (long)(list[i]->expires - now));
		if (osip_message_set_contact(resp, value) != 0)
			return -1;
	}
	return 0;
}

osip_message_t *sip_register_handle(struct registrar *r, const struct conf *conf,
				const osip_message_t *req, const struct conf_peer *peer,
				const struct netaddr *src, enum sip_transport transport,
				time_t now, bool *changed)
{
	static char uris[REGISTRAR_MAX_CONTACTS][REGISTRAR_URI_MAX];
	struct register_request rr;
	const char *why = "";
	char addr[NETADDR_TEXT_MAX], buf[32];
	osip_message_t *resp;

	*changed = false;
	if (!extract(req, peer, src, &rr, uris, &why)) {
		log_info("REGISTER of %s from %s refused: %s", peer->name, netaddr_print(src, addr), why);
		return sip_reply_build(req, strcmp(why, "too many contacts") == 0 ? 403 : 400, NULL);
	}
	rr.transport = transport;
	struct register_limits limits = { conf->minexpiry_s, conf->maxexpiry_s, conf->defaultexpiry_s };
	const struct binding *list[REGISTRAR_MAX_CONTACTS];
	size_t before = registrar_bindings(r, peer->name, now, list, REGISTRAR_MAX_CONTACTS);
	switch (registrar_apply(r, &rr, &limits, now, changed)) {
	case REGISTER_OK:
		break;
	case REGISTER_TOO_BRIEF:
		resp = sip_reply_build(req, 423, NULL);
		snprintf(buf, sizeof(buf), "%d", conf->minexpiry_s);
		if (resp && sip_reply_add_header(resp, "Min-Expires", buf) != 0) {
			osip_message_free(resp);
			return NULL;
		}
		return resp;
	case REGISTER_OUT_OF_ORDER:
		return sip_reply_build(req, 500, NULL);
	case REGISTER_BAD_REQUEST:
		return sip_reply_build(req, 400, NULL);
	case REGISTER_TOO_MANY:
		return sip_reply_build(req, 403, NULL);
	}
	size_t after = registrar_bindings(r, peer->name, now, list, REGISTRAR_MAX_CONTACTS);
	if (after > before)
		log_notice("%s registered from %s (%zu contact%s)", peer->name,
			   netaddr_print(src, addr), after, after == 1 ? "" : "s");
	else if (after == 0 && before > 0)
		log_notice("%s unregistered (from %s)", peer->name, netaddr_print(src, addr));
	else if (*changed)
		log_info("%s refreshed its registration from %s", peer->name, netaddr_print(src, addr));
	resp = sip_reply_build(req, 200, NULL);
	if (resp && add_bindings(resp, r, peer->name, now) != 0) {
		osip_message_free(resp);
		return NULL;
	}
	return resp;
}
