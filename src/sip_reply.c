/*
 * sip_reply: build the responses sipnatd gives on its own behalf. Stateless:
 * the To tag is an HMAC of what identifies the request, so that a
 * retransmitted request gets a byte-identical answer.
 */
#include "sip_reply.h"

#include "secret.h"
#include "sipmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy, not a pointer into a configuration that a reload frees. */
static char server_name[128] = SIP_SERVER_NAME;

void sip_reply_set_server(const char *name)
{
	if (!name || strlen(name) >= sizeof(server_name))
		name = SIP_SERVER_NAME;
	memcpy(server_name, name, strlen(name) + 1);
}

const char *sip_reply_reason(int status)
{
	switch (status) {
	case 100: return "Trying";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 415: return "Unsupported Media Type";
	case 416: return "Unsupported URI Scheme";
	case 420: return "Bad Extension";
	case 423: return "Interval Too Brief";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 488: return "Not Acceptable Here";
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Server Time-out";
	case 513: return "Message Too Large";
	}
	return "Unknown";
}

int sip_reply_add_header(osip_message_t *msg, const char *name, const char *value)
{
	return osip_message_set_header(msg, name, value) == 0 ? 0 : -1;
}

static int copy_vias(const osip_message_t *req, osip_message_t *resp)
{
	osip_via_t *via, *copy;

	for (int i = 0; (via = osip_list_get(&req->vias, i)) != NULL; i++) {
		if (osip_via_clone(via, &copy) != 0)
			return -1;
		if (osip_list_add(&resp->vias, copy, -1) < 0) {
			osip_via_free(copy);
			return -1;
		}
	}
	return 0;
}

static int add_to_tag(const osip_message_t *req, osip_to_t *to)
{
	osip_generic_param_t *tag = NULL;
	osip_uri_param_t *from_tag = NULL;
	char token[17];

	if (osip_to_get_tag(to, &tag) == 0 && tag)
		return 0;
	if (req->from)
		osip_from_get_tag(req->from, &from_tag);
	char call_id[SIPMSG_CALLID_MAX];
	const char *parts[] = {
		"to-tag", sipmsg_call_id_full(req, call_id), from_tag && from_tag->gvalue ? from_tag->gvalue : "",
		req->cseq && req->cseq->number ? req->cseq->number : "",
	};
	secret_token(parts, 4, token, 16);
	char *value = osip_strdup(token);
	if (!value || osip_to_set_tag(to, value) != 0) {
		osip_free(value);
		return -1;
	}
	return 0;
}

osip_message_t *sip_reply_build(const osip_message_t *req, int status, const char *reason)
{
	osip_message_t *resp = NULL;

	if (osip_message_init(&resp) != 0)
		return NULL;
	osip_message_set_version(resp, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(resp, status);
	osip_message_set_reason_phrase(resp, osip_strdup(reason ? reason : sip_reply_reason(status)));

	if (copy_vias(req, resp) != 0)
		goto fail;
	if (req->from && osip_from_clone(req->from, &resp->from) != 0)
		goto fail;
	if (req->to && osip_to_clone(req->to, &resp->to) != 0)
		goto fail;
	if (resp->to && status > 100 && add_to_tag(req, resp->to) != 0)
		goto fail;
	if (req->call_id && osip_call_id_clone(req->call_id, &resp->call_id) != 0)
		goto fail;
	if (req->cseq && osip_cseq_clone(req->cseq, &resp->cseq) != 0)
		goto fail;
	if (sip_reply_add_header(resp, "Server", server_name) != 0)
		goto fail;
	return resp;
fail:
	osip_message_free(resp);
	return NULL;
}
