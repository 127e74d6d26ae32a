/*
 * sip_dispatch: the SIP path, top to bottom, for one datagram. The context
 * below is the only per-datagram state; it is freed at the single exit of
 * sip_dispatch_datagram.
 */
#include "sip_dispatch.h"

#include "classify.h"
#include "daemon.h"
#include "log.h"
#include "netaddr.h"
#include "sip_reply.h"
#include "sip_socket.h"
#include "sip_via.h"
#include "sipmsg.h"

#include <string.h>

struct sip_ctx {
	struct daemon *d;
	struct sockaddr_in src;
	osip_message_t *msg;
	enum source_kind kind;
	const struct conf_peer *peer;
};

static struct sip_counters counters;
static struct log_limit malformed_limit = LOG_LIMIT_INIT(60, 10);

const struct sip_counters *sip_dispatch_counters(void)
{
	return &counters;
}

int sip_dispatch_start(struct daemon *d)
{
	memset(&counters, 0, sizeof(counters));
	return 0;
}

void sip_dispatch_reconfigure(struct daemon *d)
{
}

void sip_dispatch_stop(struct daemon *d)
{
}

static void send_message(struct sip_ctx *ctx, osip_message_t *msg, const struct sockaddr_in *to)
{
	char *buf = NULL;
	size_t len = 0;

	if (sipmsg_serialize(msg, &buf, &len) != 0) {
		log_err("cannot serialise a %s message for %s", sipmsg_method(msg), sipmsg_call_id(msg));
		return;
	}
	sip_socket_send(ctx->d->sip, buf, len, to);
	osip_free(buf);
}

/* Answer the request in ctx ourselves, to where its top Via says (already
 * stamped with received/rport). */
static void respond(struct sip_ctx *ctx, int status, const char *reason)
{
	struct sockaddr_in to;
	char addr[NETADDR_STRLEN];
	osip_message_t *resp;

	if (MSG_IS_ACK(ctx->msg))
		return; /* ACK is never answered */
	if (!via_response_target(ctx->msg, &to)) {
		log_limited(&malformed_limit, LOG_INFO, "no usable Via to answer %s from %s",
			    sipmsg_method(ctx->msg), netaddr_format(&ctx->src, addr));
		return;
	}
	resp = sip_reply_build(ctx->msg, status, reason);
	if (!resp) {
		log_err("out of memory answering %s", sipmsg_method(ctx->msg));
		return;
	}
	if (status == 200 && MSG_IS_OPTIONS(ctx->msg)) {
		sip_reply_add_header(resp, "Allow",
				     "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, SUBSCRIBE, NOTIFY, REFER, UPDATE, PRACK");
		sip_reply_add_header(resp, "Accept", "application/sdp");
	}
	counters.answered_locally++;
	send_message(ctx, resp, &to);
	osip_message_free(resp);
}

/* An OPTIONS with no user part is a ping of sipnatd itself (qualify from the
 * PBX or a trunk, a monitoring probe). */
static bool is_options_to_self(const osip_message_t *msg)
{
	return MSG_IS_OPTIONS(msg) && msg->req_uri &&
	       (!msg->req_uri->username || !*msg->req_uri->username);
}

static void handle_request(struct sip_ctx *ctx)
{
	char addr[NETADDR_STRLEN];
	/* Before a peer is authenticated only the global rule counts (AST-2011-013):
	 * anything from outside the LAN is answered to its source port. */
	bool force_rport = ctx->kind == SOURCE_INTERNET || ctx->kind == SOURCE_TRUNK;

	counters.requests++;
	log_debug("%s %s from %s (%s)", sipmsg_method(ctx->msg), sipmsg_call_id(ctx->msg),
		  netaddr_format(&ctx->src, addr), classify_source_name(ctx->kind));
	if (via_stamp_received(ctx->msg, &ctx->src, force_rport) != 0) {
		log_limited(&malformed_limit, LOG_INFO, "request from %s has an unusable Via, dropped",
			    netaddr_format(&ctx->src, addr));
		return;
	}
	if (is_options_to_self(ctx->msg)) {
		respond(ctx, 200, NULL);
		return;
	}
	log_debug("%s %s: no route yet", sipmsg_method(ctx->msg), sipmsg_call_id(ctx->msg));
}

static void handle_response(struct sip_ctx *ctx)
{
	char addr[NETADDR_STRLEN];

	counters.responses++;
	log_debug("%d response to %s %s from %s: not ours, dropped", ctx->msg->status_code,
		  sipmsg_method(ctx->msg), sipmsg_call_id(ctx->msg), netaddr_format(&ctx->src, addr));
}

void sip_dispatch_datagram(void *arg, const char *buf, size_t len, const struct sockaddr_in *src)
{
	struct sip_ctx ctx = { .d = arg, .src = *src };
	char addr[NETADDR_STRLEN];
	const char *why;

	counters.received++;
	sip_trace("in from", src, buf, len > SIPMSG_MAX_SIZE ? 0 : len);
	enum sipmsg_status st = sipmsg_parse(buf, len, &ctx.msg, &why);
	switch (st) {
	case SIPMSG_OK:
		break;
	case SIPMSG_KEEPALIVE:
	case SIPMSG_STUN:
		/* RFC 5626 4.4: keep-alives on UDP get no answer and no log line */
		counters.keepalives++;
		return;
	case SIPMSG_TOO_BIG:
		counters.too_big++;
		log_limited(&malformed_limit, LOG_NOTICE, "dropped a datagram from %s: %s",
			    netaddr_format(src, addr), why);
		return;
	case SIPMSG_MALFORMED:
	case SIPMSG_INCOMPLETE:
		counters.malformed++;
		log_limited(&malformed_limit, LOG_NOTICE, "dropped a malformed datagram from %s (%zu bytes): %s",
			    netaddr_format(src, addr), len, why);
		return;
	case SIPMSG_INVALID:
		counters.invalid++;
		log_limited(&malformed_limit, LOG_NOTICE, "bad request from %s: %s; answered 400",
			    netaddr_format(src, addr), why);
		if (via_stamp_received(ctx.msg, src, true) == 0)
			respond(&ctx, 400, NULL);
		osip_message_free(ctx.msg);
		return;
	}

	ctx.kind = classify_source(ctx.d->conf, src->sin_addr, NULL, NULL, &ctx.peer);
	if (MSG_IS_REQUEST(ctx.msg))
		handle_request(&ctx);
	else
		handle_response(&ctx);
	osip_message_free(ctx.msg);
}
