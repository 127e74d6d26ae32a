/*
 * sip_dispatch: the SIP path, top to bottom, for one message. The context
 * below is the only per-message state; it is freed at the single exit of
 * sip_dispatch_message. Nothing here knows a socket or a global: the world
 * is the sip_env, the counters and waiting lookups are the dispatcher's.
 */
#include "sip_dispatch.h"

#include "classify.h"
#include "advertise.h"
#include "log.h"
#include "netaddr.h"
#include "sip_branch.h"
#include "sip_hide.h"
#include "sip_forward.h"
#include "sip_reply.h"
#include "sip_route.h"
#include "sip_splice.h"
#include "trunks.h"
#include "qualify.h"
#include "media.h"
#include "natdetect.h"
#include "peerlimit.h"
#include "auth.h"
#include "bans.h"
#include "registrar.h"
#include "sip_authenticate.h"
#include "sip_via.h"
#include "sipmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sip_ctx {
	struct sip_dispatch *sd;
	const struct sip_env *env;
	struct netaddr src;   /* either family */
	const char *datagram; /* the bytes as received, for the authenticate step */
	size_t len;
	osip_message_t *msg;
	enum source_kind kind;
	const struct conf_peer *peer;
};

/* A request waiting for the address of its next hop. It owns the message. */
struct pending_lookup {
	struct sip_dispatch *sd;
	osip_message_t *msg;
	struct netaddr src;
	enum source_kind kind;
	uint16_t port;
	char host[256];
	char peer[64];  /* by name: a reload may free the conf meanwhile */
	struct pending_lookup *prev, *next;
};

struct sip_dispatch {
	const struct sip_env *env;
	struct sip_counters counters;
	struct sip_auth_counters auth_counters;
	struct pending_lookup *lookups;  /* requests waiting for a name */
	size_t pending;
};

/* An address for a log line: an IPv4 one as it always was, without stdio
 * (the arguments of a debug line are worked out on every message, logged
 * or not: the IPv4 path keeps its cost), an IPv6 one bracketed. */
static const char *addr_text(const struct netaddr *a, char buf[NETADDR_TEXT_MAX])
{
	struct sockaddr_in sin;

	if (netaddr_to_in(a, &sin))
		return netaddr_format(&sin, buf);
	return netaddr_print(a, buf);
}

/* Log budgets are per process on purpose: two dispatchers (a test's) share
 * the one log. */
static struct log_limit malformed_limit = LOG_LIMIT_INIT(60, 10);
static struct log_limit noaddr_limit = LOG_LIMIT_INIT(60, 3);

struct sip_dispatch *sip_dispatch_new(const struct sip_env *env)
{
	struct sip_dispatch *sd = calloc(1, sizeof(*sd));

	if (sd)
		sd->env = env;
	return sd;
}

void sip_dispatch_free(struct sip_dispatch *sd)
{
	if (!sd)
		return;
	while (sd->lookups) {
		struct pending_lookup *p = sd->lookups;
		sd->lookups = p->next;
		osip_message_free(p->msg);
		free(p);
	}
	free(sd);
}

const struct sip_counters *sip_dispatch_counters(const struct sip_dispatch *sd)
{
	return &sd->counters;
}

const struct sip_auth_counters *sip_dispatch_auth_counters(const struct sip_dispatch *sd)
{
	return &sd->auth_counters;
}

size_t sip_dispatch_pending(const struct sip_dispatch *sd)
{
	return sd->pending;
}

/* Answer the request in ctx ourselves, to where its top Via says (already
 * stamped with received/rport). */
static void respond(struct sip_ctx *ctx, int status, const char *reason)
{
	struct netaddr to;
	char addr[NETADDR_TEXT_MAX];
	osip_message_t *resp;

	if (MSG_IS_ACK(ctx->msg))
		return; /* ACK is never answered */
	if (!sip_via_response_target(ctx->msg, &to)) {
		log_limited(&malformed_limit, LOG_INFO, "no usable Via to answer %s from %s",
			    sipmsg_method(ctx->msg), addr_text(&ctx->src, addr));
		return;
	}
	resp = sip_reply_build(ctx->msg, status, reason);
	if (!resp) {
		log_err("out of memory answering %s", sipmsg_method(ctx->msg));
		return;
	}
	/* R13: tell the client when to try again rather than letting it guess */
	if (status == 503)
		sip_reply_add_header(resp, "Retry-After", "10");
	if (status == 200 && MSG_IS_OPTIONS(ctx->msg)) {
		sip_reply_add_header(resp, "Allow", SIP_ALLOW_METHODS);
		sip_reply_add_header(resp, "Accept", "application/sdp");
	}
	ctx->sd->counters.answered_locally++;
	sip_forward_send(ctx->env, resp, &to);
	osip_message_free(resp);
}

/* An OPTIONS with no user part is a ping of sipnatd itself (qualify from the
 * PBX or a trunk, a monitoring probe). */
static bool is_options_to_self(const osip_message_t *msg)
{
	return MSG_IS_OPTIONS(msg) && msg->req_uri &&
	       (!msg->req_uri->username || !*msg->req_uri->username);
}

/* An INVITE outside any dialog (no To tag): a new call. */
static bool is_new_call(const osip_message_t *msg)
{
	osip_generic_param_t *tag = NULL;

	return MSG_IS_INVITE(msg) && msg->to &&
	       (osip_from_get_tag(msg->to, &tag) != 0 || !tag);
}

/* 503 for a request that cannot go on now; a new call counts as failed. */
static void refuse_unavailable(struct sip_ctx *ctx)
{
	if (is_new_call(ctx->msg))
		media_count_refused(ctx->env->media);
	respond(ctx, 503, NULL);
}

static bool source_is_local(const struct sip_ctx *ctx)
{
	return ctx->kind == SOURCE_PBX || ctx->kind == SOURCE_LAN;
}

static bool binding_of_cb(void *arg, const struct conf_peer *peer, const char **contact,
			  struct netaddr *nat)
{
	const struct sip_env *env = arg;
	const struct binding *b = registrar_lookup(env->registrar, peer->name, env->now());

	if (!b)
		return false;
	if (b->transport != SIP_TRANSPORT_UDP &&
	    (!env->transport_to || env->transport_to(env->transport_arg, &b->nat) != b->transport)) {
		/* Registered over a connection that is gone: the phone's NAT
		 * lets nothing else in, so it is unreachable until it connects
		 * and registers again (answered 480 at once, not after Timer B). */
		char addr[NETADDR_TEXT_MAX];
		log_debug("%s registered over %s from %s, which is closed now", peer->name,
			  sip_transport_via_name(b->transport), addr_text(&b->nat, addr));
		return false;
	}
	*contact = b->contact;
	*nat = b->nat;
	if (b->transport == SIP_TRANSPORT_UDP && !(peer->nat & CONF_NAT_FORCE_RPORT)) {
		/* nat without force_rport: the Contact is where it is (when it
		 * names an address; a name is not looked up here). With auto,
		 * only when the registration came from there: a Contact that is
		 * not the source is behind NAT (auto_force_rport). */
		osip_uri_t *uri = NULL;
		struct netaddr ip;
		uint16_t port = 5060;
		/* a Contact of the binding's family only: a leg is one family */
		if (osip_uri_init(&uri) == 0 && osip_uri_parse(uri, b->contact) == 0 &&
		    netaddr_parse_ip(uri->host, &ip) && ip.family == b->nat.family &&
		    (!uri->port || netaddr_parse_port(uri->port, &port)) &&
		    !((peer->nat & CONF_NAT_AUTO) &&
		      natdetect_claim(&b->nat, uri->host, uri->port, NATDETECT_CONTACT))) {
			*nat = ip;
			nat->port = port;
		}
		osip_uri_free(uri);
	}
	return true;
}

static bool unreachable_cb(void *arg, const struct conf_peer *peer)
{
	return peer->qualify && qualify_status_of(arg, peer->name, NULL) == QUALIFY_UNREACHABLE;
}

static void route_self_of(const struct sip_env *env, struct route_self *self)
{
	memset(self, 0, sizeof(*self));
	self->conf = env->conf;
	self->have_lan_addr = advertise_lan(env->advertise, &self->lan_addr);
	self->have_ext_addr = advertise_external(env->advertise, AF_INET, &self->ext_addr);
	self->have_ext6_addr = advertise_external(env->advertise, AF_INET6, &self->ext6_addr);
	self->port = env->conf->bindport;
	if (env->trunks) {
		self->trunk_addr = trunks_addr_cb;
		self->trunk_arg = env->trunks;
	}
	self->binding_of = binding_of_cb;
	self->binding_arg = (void *)env;
	if (env->qualify) {
		self->unreachable = unreachable_cb;
		self->unreachable_arg = env->qualify;
	}
}

/* The host of the identity asserted to the PBX: sipnatd's LAN address, of
 * the PBX's family (an IPv6 PBX gets sipnatd's IPv6 address toward it). */
static struct netaddr identity_host(const struct sip_env *env, const struct route_self *self)
{
	struct netaddr host = { .family = AF_INET, .port = self->port, .ip.v4 = self->lan_addr.ip.v4 };

	if (env->conf->pbxaddr.family == AF_INET6 &&
	    advertise_toward(env->advertise, &env->conf->pbxaddr, &host))
		host.port = self->port;
	return host;
}

static void forward_to(struct sip_ctx *ctx, const struct netaddr *dest)
{
	struct forward_source fsrc = { .addr = ctx->src, .local = source_is_local(ctx),
				       .peer = ctx->peer };
	char from[NETADDR_TEXT_MAX], to[NETADDR_TEXT_MAX];

	bool to_internet = !classify_is_local(ctx->env->conf, dest);
	switch (sip_forward_request(ctx->env, ctx->msg, &fsrc, dest)) {
	case FORWARD_SENT:
		ctx->sd->counters.forwarded++;
		/* A trunk is an Internet party too: its BYE must end the dialog
		 * that the responses sent to it confirmed, or the entry lives
		 * DIALOGS_IDLE_S and a busy trunk fills the table. */
		if (to_internet || ctx->kind == SOURCE_INTERNET || ctx->kind == SOURCE_TRUNK)
			sip_authenticate_note_dialog(ctx->env, ctx->msg, to_internet, ctx->peer);
		log_debug("%s %s from %s forwarded to %s", sipmsg_method(ctx->msg),
			  sipmsg_call_id(ctx->msg), addr_text(&ctx->src, from),
			  addr_text(dest, to));
		break;
	case FORWARD_NO_ADDRESS:
		log_limited(&noaddr_limit, LOG_WARNING,
			    "%s from %s needs the external address, which is not known yet; answered 503",
			    sipmsg_method(ctx->msg), addr_text(&ctx->src, from));
		refuse_unavailable(ctx);
		break;
	case FORWARD_CALL_LIMIT:
		respond(ctx, peerlimit_status(PEERLIMIT_CALLS), peerlimit_reason(PEERLIMIT_CALLS));
		break;
	case FORWARD_RELAY_LIMIT:
		respond(ctx, peerlimit_status(PEERLIMIT_RELAYS), peerlimit_reason(PEERLIMIT_RELAYS));
		break;
	case FORWARD_NO_PORTS:
		respond(ctx, 503, NULL);
		break;
	case FORWARD_BAD_SDP:
		log_limited(&malformed_limit, LOG_NOTICE, "%s %s from %s has SDP that cannot be relayed; answered 488",
			    sipmsg_method(ctx->msg), sipmsg_call_id(ctx->msg), addr_text(&ctx->src, from));
		respond(ctx, 488, NULL);
		break;
	case FORWARD_FAILED:
		respond(ctx, 500, NULL);
		break;
	}
	media_note(ctx->env->media, ctx->msg);
}

static void pending_unlink(struct pending_lookup *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		p->sd->lookups = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->sd->pending--;
}

static void lookup_done_cb(void *arg, bool ok, const struct netaddr *addr)
{
	struct pending_lookup *p = arg;
	struct sip_ctx ctx = { .sd = p->sd, .env = p->sd->env, .src = p->src, .msg = p->msg,
			       .kind = p->kind };

	if (p->peer[0])
		ctx.peer = conf_peer_find(ctx.env->conf, p->peer);

	pending_unlink(p);
	if (ok && addr->family) {
		struct netaddr dest = *addr;
		dest.port = p->port;
		forward_to(&ctx, &dest);
	} else {
		ctx.sd->counters.lookups_failed++;
		log_limited(&noaddr_limit, LOG_WARNING, "cannot resolve %s for %s %s; answered 503",
			    p->host, sipmsg_method(p->msg), sipmsg_call_id(p->msg));
		refuse_unavailable(&ctx);
	}
	osip_message_free(p->msg);
	free(p);
}

/* Resolve host (through the cache) and forward; the message moves out of ctx
 * while the lookup runs. */
static void lookup_then_forward(struct sip_ctx *ctx, const char *host, uint16_t port)
{
	struct netaddr addr;
	struct pending_lookup *p = calloc(1, sizeof(*p));

	if (!p) {
		respond(ctx, 503, NULL);
		return;
	}
	switch (ctx->env->resolve(ctx->env->resolve_arg, host, &addr, lookup_done_cb, p)) {
	case DNSCACHE_HIT:
		if (addr.family) {
			addr.port = port;
			free(p);
			forward_to(ctx, &addr);
			return;
		}
		/* fall through */
	case DNSCACHE_NEGATIVE:
	case DNSCACHE_BUSY:
		free(p);
		ctx->sd->counters.lookups_failed++;
		log_limited(&noaddr_limit, LOG_WARNING, "cannot resolve %s for %s %s; answered 503", host,
			    sipmsg_method(ctx->msg), sipmsg_call_id(ctx->msg));
		refuse_unavailable(ctx);
		return;
	case DNSCACHE_PENDING:
		break;
	}
	p->sd = ctx->sd;
	p->msg = ctx->msg;
	/* the datagram is gone by the time it is sent */
	if (sip_splice_detach(p->msg) != 0)
		log_err("out of memory keeping the headers of %s %s", sipmsg_method(p->msg), sipmsg_call_id(p->msg));
	ctx->msg = NULL;
	p->src = ctx->src;
	p->kind = ctx->kind;
	p->port = port;
	snprintf(p->host, sizeof(p->host), "%s", host);
	if (ctx->peer)
		snprintf(p->peer, sizeof(p->peer), "%s", ctx->peer->name);
	p->next = ctx->sd->lookups;
	if (p->next)
		p->next->prev = p;
	ctx->sd->lookups = p;
	ctx->sd->pending++;
}

static void send_answer(struct sip_ctx *ctx, osip_message_t *answer)
{
	struct netaddr to;

	if (sip_via_response_target(ctx->msg, &to)) {
		ctx->sd->counters.answered_locally++;
		sip_forward_send(ctx->env, answer, &to);
	}
	osip_message_free(answer);
}

static void handle_request(struct sip_ctx *ctx)
{
	char addr[NETADDR_TEXT_MAX];
	/* Before a peer is authenticated only the global rule counts (AST-2011-013):
	 * anything from outside the LAN is answered to its source port. */
	bool force_rport = !source_is_local(ctx);
	struct route_self self;
	struct route_decision route;

	ctx->sd->counters.requests++;
	log_debug("%s %s from %s (%s)", sipmsg_method(ctx->msg), sipmsg_call_id(ctx->msg),
		  addr_text(&ctx->src, addr), classify_source_name(ctx->kind));
	bool asked_rport = false;
	osip_via_t *top = osip_list_get(&ctx->msg->vias, 0);
	if (top)
		sip_via_param(top, "rport", &asked_rport);
	if (sip_via_stamp_received(ctx->msg, &ctx->src, force_rport) != 0) {
		log_limited(&malformed_limit, LOG_INFO, "request from %s has an unusable Via, dropped",
			    addr_text(&ctx->src, addr));
		return;
	}
	if (is_options_to_self(ctx->msg)) {
		respond(ctx, 200, NULL);
		return;
	}
	if (ctx->kind == SOURCE_INTERNET) {
		osip_message_t *answer = NULL;
		switch (sip_authenticate(ctx->env, &ctx->sd->auth_counters, ctx->msg, &ctx->src,
					 ctx->datagram, ctx->len, &ctx->peer, &answer)) {
		case ADMIT:
			break;
		case ANSWERED:
			send_answer(ctx, answer);
			return;
		case DROPPED:
			ctx->sd->counters.dropped++;
			return;
		}
	}
	/* Once the peer is known its own nat setting counts (Asterisk's nat=no):
	 * the answers go to its Via port unless it asked for rport itself, or
	 * (nat = "auto") came from elsewhere than its sent-by. */
	if (ctx->peer && !asked_rport && top &&
	    !natdetect_force_rport(ctx->peer->nat, &ctx->src, top->host, top->port))
		sip_via_param_remove(top, "rport");
	int max_forwards = sip_forward_max_forwards(ctx->msg);
	if (max_forwards < 0) {
		respond(ctx, 400, "Bad Max-Forwards");
		return;
	}
	if (max_forwards == 0) {
		respond(ctx, 483, NULL);
		return;
	}
	if (sip_branch_seen_before(ctx->msg)) {
		log_limited(&malformed_limit, LOG_NOTICE, "loop: %s %s from %s has been here before",
			    sipmsg_method(ctx->msg), sipmsg_call_id(ctx->msg),
			    addr_text(&ctx->src, addr));
		respond(ctx, 482, NULL);
		return;
	}

	route_self_of(ctx->env, &self);
	sip_route_request(&self, ctx->kind, ctx->msg, &route);
	struct netaddr ident = identity_host(ctx->env, &self);
	if (ctx->peer && route.action != ROUTE_RESPOND &&
	    auth_assert_identity(ctx->msg, ctx->peer, &ident) != 0) {
		respond(ctx, 500, NULL);
		return;
	}
	if (ctx->kind == SOURCE_PBX)
		ctx->peer = route.peer; /* the party called: its settings apply */
	switch (route.action) {
	case ROUTE_FORWARD:
		forward_to(ctx, &route.dest);
		break;
	case ROUTE_LOOKUP:
		lookup_then_forward(ctx, route.host, route.port);
		break;
	case ROUTE_RESPOND:
		log_debug("%s %s from %s: %d (%s)", sipmsg_method(ctx->msg), sipmsg_call_id(ctx->msg),
			  addr_text(&ctx->src, addr), route.status, route.why);
		respond(ctx, route.status, NULL);
		break;
	}
}

static void handle_response(struct sip_ctx *ctx)
{
	char addr[NETADDR_TEXT_MAX];
	struct forward_source fsrc = { .addr = ctx->src, .local = source_is_local(ctx) };

	ctx->sd->counters.responses++;
	if (!sip_branch_pop_ours(ctx->msg)) {
		/* R6: a response whose top Via is not ours is never passed on */
		ctx->sd->counters.stray_responses++;
		log_limited(&malformed_limit, LOG_INFO, "%d response from %s is not for sipnatd, dropped",
			    ctx->msg->status_code, addr_text(&ctx->src, addr));
		return;
	}
	if (osip_list_size(&ctx->msg->vias) == 0) {
		/* the answer to a request of sipnatd's own */
		if (ctx->env->qualify)
			qualify_response(ctx->env->qualify, ctx->msg);
		return;
	}
	struct netaddr to;
	bool to_internet = sip_via_response_target(ctx->msg, &to) &&
			   !classify_is_local(ctx->env->conf, &to);
	enum forward_result fr = sip_forward_response(ctx->env, ctx->msg, &fsrc);
	if (fr == FORWARD_SENT) {
		ctx->sd->counters.forwarded++;
		if (to_internet || ctx->kind == SOURCE_INTERNET)
			sip_authenticate_note_dialog(ctx->env, ctx->msg, to_internet, NULL);
	}
	/* a response that could not be relayed still ends what it ends */
	media_note(ctx->env->media, ctx->msg);
	if (fr != FORWARD_SENT)
		log_limited(&malformed_limit, LOG_INFO, "could not pass on a %d response from %s",
			    ctx->msg->status_code, addr_text(&ctx->src, addr));
}

/* libosip2 parses the headers the SIP path reads; the lines of the others
 * are not handed to it, and go out as they came, as does everything that
 * did not change (sip_splice, issue 13). A datagram the splice cannot
 * describe is parsed and later written whole. */
static enum sipmsg_status parse_datagram(struct sip_ctx *ctx, struct sip_splice *splice, const char *buf,
					 size_t len, const char **why)
{
	enum sipmsg_status st;
	char *text = NULL;

	if (!sip_splice_lines(splice, buf, len, true) || (splice->nskipped && !(text = malloc(len))))
		return sipmsg_parse(buf, len, &ctx->msg, why);
	if (text) {
		st = sipmsg_parse(text, sip_splice_parsed_text(splice, text), &ctx->msg, why);
		free(text);
	} else {
		st = sipmsg_parse(buf, len, &ctx->msg, why);
	}
	if (st != SIPMSG_OK || sip_splice_snapshot(splice, ctx->msg)) {
		if (st == SIPMSG_OK)
			sip_splice_attach(ctx->msg, splice);
		return st;
	}
	/* parsed, but not something the splice describes: whole, then */
	osip_message_free(ctx->msg);
	ctx->msg = NULL;
	return sipmsg_parse(buf, len, &ctx->msg, why);
}

void sip_dispatch_message(struct sip_dispatch *sd, const char *buf, size_t len,
			  const struct netaddr *src)
{
	struct sip_ctx ctx = { .sd = sd, .env = sd->env, .src = *src, .datagram = buf, .len = len };
	struct sip_counters *counters = &sd->counters;
	struct sip_splice splice;
	char addr[NETADDR_TEXT_MAX];
	const char *why;

	counters->received++;
	/* A banned address costs no parsing (section 6); the LAN is never banned.
	 * An IPv6 source is banned per banprefix6 prefix (one host owns a /64). */
	if (bans_is_banned(ctx.env->bans, src, (unsigned)ctx.env->conf->banprefix6, ctx.env->now()) &&
	    !classify_is_local(ctx.env->conf, src)) {
		counters->banned++;
		return;
	}
	enum sipmsg_status st = parse_datagram(&ctx, &splice, buf, len, &why);
	switch (st) {
	case SIPMSG_OK:
		break;
	case SIPMSG_KEEPALIVE:
	case SIPMSG_STUN:
		/* RFC 5626 4.4: keep-alives on UDP get no answer and no log line */
		counters->keepalives++;
		return;
	case SIPMSG_TOO_BIG:
		counters->too_big++;
		log_limited(&malformed_limit, LOG_NOTICE, "dropped a datagram from %s: %s",
			    addr_text(src, addr), why);
		return;
	case SIPMSG_MALFORMED:
	case SIPMSG_INCOMPLETE:
		counters->malformed++;
		log_limited(&malformed_limit, LOG_NOTICE, "dropped a malformed datagram from %s (%zu bytes): %s",
			    addr_text(src, addr), len, why);
		return;
	case SIPMSG_INVALID:
		counters->invalid++;
		log_limited(&malformed_limit, LOG_NOTICE, "bad request from %s: %s; answered 400",
			    addr_text(src, addr), why);
		if (sip_via_stamp_received(ctx.msg, src, true) == 0)
			respond(&ctx, 400, NULL);
		osip_message_free(ctx.msg);
		return;
	}

	ctx.kind = classify_source(ctx.env->conf, src, ctx.env->trunks ? trunks_match_cb : NULL,
				   ctx.env->trunks, &ctx.peer);
	/* the PBX's own Call-ID back, before anything looks it up (sip_hide) */
	if (!source_is_local(&ctx))
		sip_hide_restore_call_id(ctx.msg);
	if (MSG_IS_REQUEST(ctx.msg))
		handle_request(&ctx);
	else
		handle_response(&ctx);
	osip_message_free(ctx.msg);
}

void sip_dispatch_datagram(void *arg, const char *buf, size_t len, const struct netaddr *src)
{
	sip_dispatch_message(arg, buf, len, src);
}
