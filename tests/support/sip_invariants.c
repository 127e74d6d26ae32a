/*
 * sip_invariants: the wire checks of the SIP path harness (see the header).
 * Black-box: only the bytes that came in and the bytes that went out.
 */
#include "sip_invariants.h"

#include "sip_branch.h"
#include "sip_contact.h"
#include "sip_reply.h"
#include "sipmsg.h"

#include <stdlib.h>
#include <string.h>

/* Does the datagram, as libosip2 reads it, survive being written and read
 * again without any change of sipnatd's? libosip2 accepts some text that it
 * then writes in a form it refuses (a URI "sip:a@host:" with an empty port
 * becomes "<sip:a@host:>"); such garbage in is garbage out, not a fault of
 * the rewrite step. Its Vias must also read back as as many Vias: libosip2
 * writes some odd ones (a quote in the protocol name) so that a comma list
 * merges. */
static bool input_round_trips(const char *in, size_t in_len)
{
	osip_message_t *msg = NULL, *again = NULL;
	const char *why;
	char *buf = NULL;
	size_t len = 0;
	bool ok = false;

	if (sipmsg_parse(in, in_len, &msg, &why) != SIPMSG_OK)
		goto out;
	if (sipmsg_serialize(msg, &buf, &len) != 0)
		goto out;
	ok = sipmsg_parse(buf, len, &again, &why) == SIPMSG_OK &&
	     osip_list_size(&again->vias) == osip_list_size(&msg->vias);
out:
	if (msg)
		osip_message_free(msg);
	if (again)
		osip_message_free(again);
	if (buf)
		osip_free(buf);
	return ok;
}

/* The sent bytes parse, and their Content-Length is their body's length.
 * *parsed gets the message read back (caller frees) when it parses. */
static const char *check_wire(const char *in, size_t in_len, const char *buf, size_t len,
			      osip_message_t **parsed)
{
	osip_message_t *again = NULL;
	const char *why;
	enum sipmsg_status st = sipmsg_parse(buf, len, &again, &why);

	*parsed = NULL;
	if (st != SIPMSG_OK) {
		if (again)
			osip_message_free(again);
		return input_round_trips(in, in_len) ? "a message sipnatd sends does not parse again"
						     : NULL;
	}
	const char *end = NULL;
	for (size_t i = 0; i + 3 < len; i++) {
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end = buf + i + 4;
			break;
		}
	}
	long declared = again->content_length && again->content_length->value
				? strtol(again->content_length->value, NULL, 10)
				: -1;
	*parsed = again;
	if (!end || declared != (long)(buf + len - end))
		return "Content-Length of a sent message differs from its body";
	return NULL;
}

/* A token that opens to a URI libosip2 cannot read: the Contact that came
 * in was one that libosip2 writes in a form it refuses (garbage in). */
static bool garbage_uri_sealed(const osip_uri_t *masqueraded)
{
	struct contact_target target;
	osip_uri_t *uri = NULL;
	bool garbage;

	if (!sip_contact_token_decode(masqueraded, &target))
		return false;
	garbage = osip_uri_init(&uri) != 0 || osip_uri_parse(uri, target.uri) != 0;
	osip_uri_free(uri);
	return garbage;
}

/* The way back: a response to the forwarded request must find sipnatd's
 * Via and get the request's Vias back, and a masqueraded Contact must lead
 * back to where it pointed. */
static const char *check_return_leg(const char *in, size_t in_len, osip_message_t *fwd,
				    size_t vias_in, bool masqueraded)
{
	osip_contact_t *c;

	if (!MSG_IS_ACK(fwd)) {
		osip_message_t *resp = sip_reply_build(fwd, 200, NULL);
		const char *broken = NULL;
		if (resp) {
			/* a Via libosip2 cannot read back came in that way */
			if (!sip_branch_pop_ours(resp))
				broken = "a response to a forwarded request is not recognised as ours";
			else if ((size_t)osip_list_size(&resp->vias) != vias_in)
				broken = "the Vias of a response are not those of the request";
			osip_message_free(resp);
		}
		if (broken && input_round_trips(in, in_len))
			return broken;
	}
	/* a token that came in from the sender is not sipnatd's to restore */
	for (int i = 0; masqueraded && (c = osip_list_get(&fwd->contacts, i)) != NULL; i++) {
		struct contact_target target;
		osip_message_t *back = NULL;
		osip_uri_param_t *param = NULL;
		bool broken;

		if (!c->url ||
		    osip_uri_param_get_byname(&c->url->url_params, (char *)CONTACT_TOKEN_PARAM, &param) != 0)
			continue;
		if (osip_message_init(&back) != 0)
			return NULL;
		broken = osip_uri_clone(c->url, &back->req_uri) == 0 &&
			 sip_contact_restore_request_uri(back, &target) != 1 && !garbage_uri_sealed(c->url);
		osip_message_free(back);
		if (broken)
			return "a masqueraded Contact does not restore";
	}
	return NULL;
}

const char *sip_invariants_check_forwarded(const char *in, size_t in_len, const char *out,
					   size_t out_len, size_t vias_in, bool masqueraded,
					   bool request)
{
	osip_message_t *again = NULL;
	const char *broken = check_wire(in, in_len, out, out_len, &again);

	if (!broken && again && request)
		broken = check_return_leg(in, in_len, again, vias_in, masqueraded);
	if (again)
		osip_message_free(again);
	return broken;
}

const char *sip_invariants_check_answer(const char *in, size_t in_len, const char *out,
					size_t out_len)
{
	osip_message_t *again = NULL;
	const char *broken = check_wire(in, in_len, out, out_len, &again);

	if (again)
		osip_message_free(again);
	return broken;
}
