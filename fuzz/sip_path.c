/*
 * sip_path: the SIP path of sip_dispatch.c for one datagram, run in process
 * for the fuzzer and the torture tests (see sip_path.h).
 *
 * sip_dispatch.c cannot be called as it is: its steps are static functions
 * that end in a socket (sip_forward_send), a DNS lookup or the daemon's timers.
 * So this file calls the same public module functions in the same order
 * (handle_request / handle_request's forward_to -> sip_forward_request, and
 * handle_response -> sip_forward_response), with these stand-ins:
 *  - authenticate: sip_authenticate()'s decision made with auth_check /
 *    auth_answer / sip_register_handle and the dialog table directly, at the fixed
 *    clock SIP_PATH_NOW (so that a seed may carry valid credentials); the
 *    bans budget is left out, it is rate policy, not parsing;
 *  - media: media_rewrite()'s SDP step (sdp_rewrite_inspect, sdp_rewrite, body
 *    replaced) with fixed relay ports instead of the relay's sockets;
 *  - a name to resolve resolves to SIP_PATH_RESOLVED;
 *  - sending is sipmsg_serialize into the result.
 * Keep it in step with sip_dispatch.c and sip_forward.c when they change.
 */
#include "sip_path.h"

#include "auth.h"
#include "classify.h"
#include "dialogs.h"
#include "log.h"
#include "netaddr.h"
#include "registrar.h"
#include "sdp_rewrite.h"
#include "secret.h"
#include "sip_branch.h"
#include "sip_contact.h"
#include "sip_forward.h"
#include "sip_register.h"
#include "sip_reply.h"
#include "sip_route.h"
#include "sip_via.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* sipnatd's own addresses and the parties around it. */
#define SIP_PATH_LAN_ADDR "192.168.1.2"
#define SIP_PATH_EXT_ADDR "203.0.113.1"
#define SIP_PATH_RESOLVED "198.51.100.53"
#define SIP_PATH_RTP_BASE 10000

static const char path_conf_text[] =
	"general: {\n"
	"  bindaddr = \"0.0.0.0\";\n"
	"  bindport = 5060;\n"
	"  externip = \"" SIP_PATH_EXT_ADDR "\";\n"
	"  localnet = [ \"192.168.1.0/24\" ];\n"
	"  pbx = \"192.168.1.10:5060\";\n"
	"  realm = \"sipnatd\";\n"
	"  allowguest = false;\n"
	"  alwaysauthreject = true;\n"
	"  digestalgs = \"sha256,md5\";\n" /* both digest paths reachable */
	"};\n"
	"rtp: {\n"
	"  rtpstart = 10000;\n"
	"  rtpend = 10200;\n"
	"};\n"
	"peers: (\n"
	"  { name = \"alice\"; secret = \"alice-secret\"; },\n"
	"  { name = \"bob\"; secret = \"bob-secret\"; digestalgs = \"md5\"; },\n"
	"  { name = \"trunk\"; host = \"198.51.100.20\"; },\n"
	"  { name = \"provider\"; host = \"sip.provider.example:5080\"; }\n"
	");\n"
	"logging: {\n"
	"  level = \"error\";\n"
	"};\n";

static const struct {
	const char *ip;
	uint16_t port;
	const char *name;
} sources[SIP_PATH_SOURCES] = {
	[SIP_PATH_FROM_PBX] = { "192.168.1.10", 5060, "pbx" },
	[SIP_PATH_FROM_LAN] = { "192.168.1.50", 5062, "lan" },
	[SIP_PATH_FROM_TRUNK] = { "198.51.100.20", 5060, "trunk" },
	[SIP_PATH_FROM_INTERNET] = { "203.0.113.5", 40000, "internet" },
};

struct sip_path {
	struct conf *conf;
	struct auth *auth;
	struct dialogs *dialogs;
	struct registrar *registrar;
	struct in_addr lan_addr, ext_addr;
};

/* The per-datagram context, as sip_dispatch.c's struct sip_ctx. */
struct path_ctx {
	struct sip_path *p;
	struct sockaddr_in src;
	enum source_kind kind;
	const struct conf_peer *peer;
	osip_message_t *msg;
	struct sip_path_result *res;
	const char *in;            /* the datagram */
	size_t in_len;
};

static struct in_addr ipv4(const char *text)
{
	struct in_addr a;

	if (!netaddr_parse_ipv4(text, &a))
		abort(); /* a constant of this file */
	return a;
}

void sip_path_global_init(void)
{
	uint8_t key[SECRET_KEY_LEN];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xa5 ^ (i * 7));
	log_set_level(LOG_CRIT); /* the path's notices are the verdicts it returns */
	sipmsg_global_init();
	secret_set_key(key);
}

struct sockaddr_in sip_path_source_addr(enum sip_path_source from)
{
	return netaddr_make(ipv4(sources[from].ip), sources[from].port);
}

const char *sip_path_source_name(enum sip_path_source s)
{
	return s < SIP_PATH_SOURCES ? sources[s].name : "?";
}

const char *sip_path_outcome_name(enum sip_path_outcome o)
{
	switch (o) {
	case SIP_PATH_IGNORED: return "ignored";
	case SIP_PATH_DROPPED: return "dropped";
	case SIP_PATH_ANSWERED: return "answered";
	case SIP_PATH_FORWARDED: return "forwarded";
	}
	return "?";
}

/* alice is registered from behind a NAT, so that the PBX can call her. */
static struct registrar *registrar_with_alice(void)
{
	struct registrar *r = registrar_new();
	struct binding b;

	if (!r)
		return NULL;
	memset(&b, 0, sizeof(b));
	snprintf(b.peer, sizeof(b.peer), "alice");
	snprintf(b.contact, sizeof(b.contact), "sip:alice@10.0.0.5:5060;transport=udp;line=x7");
	b.nat = netaddr_make(ipv4("203.0.113.5"), 40000);
	b.expires = SIP_PATH_NOW + 3600;
	b.registered = SIP_PATH_NOW - 60;
	snprintf(b.call_id, sizeof(b.call_id), "reg-alice@10.0.0.5");
	b.cseq = 7;
	if (!registrar_restore(r, &b, SIP_PATH_NOW)) {
		registrar_free(r);
		return NULL;
	}
	return r;
}

struct sip_path *sip_path_new(void)
{
	struct sip_path *p = calloc(1, sizeof(*p));
	char err[CONF_ERR_MAX];

	if (!p)
		return NULL;
	p->conf = conf_load_string(path_conf_text, "sip_path.conf", err);
	if (!p->conf)
		fprintf(stderr, "sip_path: %s\n", err);
	p->auth = auth_new();
	p->dialogs = dialogs_new(64);
	p->registrar = registrar_with_alice();
	p->lan_addr = ipv4(SIP_PATH_LAN_ADDR);
	p->ext_addr = ipv4(SIP_PATH_EXT_ADDR);
	if (!p->conf || !p->auth || !p->dialogs || !p->registrar) {
		sip_path_free(p);
		return NULL;
	}
	return p;
}

void sip_path_free(struct sip_path *p)
{
	if (!p)
		return;
	conf_free(p->conf);
	auth_free(p->auth);
	dialogs_free(p->dialogs);
	registrar_free(p->registrar);
	free(p);
}

const struct conf *sip_path_conf(const struct sip_path *p)
{
	return p->conf;
}

void sip_path_result_clear(struct sip_path_result *r)
{
	if (r->out)
		osip_free(r->out);
	memset(r, 0, sizeof(*r));
}

static bool source_is_local(const struct path_ctx *ctx)
{
	return ctx->kind == SOURCE_PBX || ctx->kind == SOURCE_LAN;
}

static void violation(struct path_ctx *ctx, const char *what)
{
	if (!ctx->res->violation)
		ctx->res->violation = what;
}

/* Serialise msg as what goes on the wire. */
static void emit(struct path_ctx *ctx, osip_message_t *msg, enum sip_path_outcome outcome,
		 const char *why)
{
	struct sip_path_result *res = ctx->res;

	if (res->out) {
		osip_free(res->out);
		res->out = NULL;
	}
	res->outcome = outcome;
	res->why = why;
	if (sipmsg_serialize(msg, &res->out, &res->out_len) != 0) {
		/* sip_forward_send logs and sends nothing */
		res->out = NULL;
		res->out_len = 0;
		res->outcome = SIP_PATH_DROPPED;
		res->why = "cannot serialise";
	}
}

static void drop(struct path_ctx *ctx, const char *why)
{
	ctx->res->outcome = SIP_PATH_DROPPED;
	ctx->res->why = why;
}

/* sip_dispatch.c respond(): answer to where the stamped top Via says. */
static void respond(struct path_ctx *ctx, int status, const char *why)
{
	struct sockaddr_in to;
	osip_message_t *resp;

	if (MSG_IS_ACK(ctx->msg)) {
		drop(ctx, "ACK is never answered");
		return;
	}
	if (!sip_via_response_target(ctx->msg, &to)) {
		drop(ctx, "no usable Via to answer");
		return;
	}
	resp = sip_reply_build(ctx->msg, status, NULL);
	if (!resp) {
		drop(ctx, "out of memory");
		return;
	}
	if (status == 503)
		sip_reply_add_header(resp, "Retry-After", "10");
	if (status == 200 && MSG_IS_OPTIONS(ctx->msg)) {
		sip_reply_add_header(resp, "Allow", SIP_ALLOW_METHODS);
		sip_reply_add_header(resp, "Accept", "application/sdp");
	}
	ctx->res->status = status;
	ctx->res->dest = to;
	emit(ctx, resp, SIP_PATH_ANSWERED, why);
	osip_message_free(resp);
}

/* sip_dispatch.c send_answer(): an answer built by the authenticate step. */
static void send_answer(struct path_ctx *ctx, osip_message_t *answer, const char *why)
{
	struct sockaddr_in to;

	if (!answer) {
		drop(ctx, "out of memory");
		return;
	}
	if (sip_via_response_target(ctx->msg, &to)) {
		ctx->res->status = answer->status_code;
		ctx->res->dest = to;
		emit(ctx, answer, SIP_PATH_ANSWERED, why);
	} else {
		drop(ctx, "no usable Via to answer");
	}
	osip_message_free(answer);
}

static const char *tag_of(const osip_from_t *h)
{
	osip_generic_param_t *tag = NULL;

	if (!h || osip_from_get_tag((osip_from_t *)h, &tag) != 0 || !tag)
		return NULL;
	return tag->gvalue;
}

enum admission_verdict { PATH_ADMIT, PATH_DONE };

/* sip_authenticate(): in-dialog requests only for known dialogs, OPTIONS one
 * fixed answer, everything else with credentials; REGISTER answered here. */
static enum admission_verdict authenticate(struct path_ctx *ctx)
{
	struct sip_path *p = ctx->p;
	osip_message_t *req = ctx->msg;
	struct auth_result res;

	if (tag_of(req->to) || MSG_IS_ACK(req) || MSG_IS_CANCEL(req)) {
		const char *from_tag = tag_of(req->from);
		char call_id[SIPMSG_CALLID_MAX];

		if (from_tag && dialogs_known(p->dialogs, sipmsg_call_id_full(req, call_id), from_tag,
					      SIP_PATH_NOW, NULL))
			return PATH_ADMIT;
		if (MSG_IS_ACK(req)) {
			drop(ctx, "ACK of an unknown dialog");
			return PATH_DONE;
		}
		send_answer(ctx, sip_reply_build(req, 481, NULL), "in-dialog, unknown dialog");
		return PATH_DONE;
	}
	if (MSG_IS_OPTIONS(req)) {
		osip_message_t *answer = sip_reply_build(req, 200, NULL);
		if (answer) {
			sip_reply_add_header(answer, "Allow", SIP_ALLOW_METHODS);
			sip_reply_add_header(answer, "Accept", "application/sdp");
		}
		send_answer(ctx, answer, "OPTIONS from the Internet");
		return PATH_DONE;
	}
	if (p->conf->allowguest && !MSG_IS_REGISTER(req))
		return PATH_ADMIT;
	auth_check(p->auth, p->conf, req, &ctx->src, ctx->in, ctx->in_len, SIP_PATH_NOW, &res);
	if (res.verdict != AUTH_OK) {
		send_answer(ctx, auth_answer(p->conf, req, res.verdict, ctx->src.sin_addr, SIP_PATH_NOW),
			    auth_verdict_name(res.verdict));
		return PATH_DONE;
	}
	if (MSG_IS_REGISTER(req)) {
		bool changed = false;
		send_answer(ctx, sip_register_handle(p->registrar, p->conf, req, res.peer, &ctx->src,
						 SIP_PATH_NOW, &changed),
			    "REGISTER");
		return PATH_DONE;
	}
	ctx->peer = res.peer;
	return PATH_ADMIT;
}

/* media.c is_sdp_body(). */
static bool sdp_body_of(const osip_message_t *msg, osip_body_t **body)
{
	const osip_content_type_t *ct = msg->content_type;

	if (osip_list_size(&msg->bodies) != 1 || !ct || !ct->type || !ct->subtype ||
	    strcasecmp(ct->type, "application") != 0 || strcasecmp(ct->subtype, "sdp") != 0)
		return false;
	*body = osip_list_get(&msg->bodies, 0);
	return *body && (*body)->body && (*body)->length > 0;
}

enum media_step { MEDIA_STEP_OK, MEDIA_STEP_BAD_SDP, MEDIA_STEP_FAILED };

/* media_rewrite()'s SDP step with fixed relay ports. */
static enum media_step rewrite_media(osip_message_t *msg, struct in_addr advertised)
{
	struct sdp_rewrite_params params;
	struct sdp_info info;
	osip_body_t *body;
	char *text = NULL;
	size_t len = 0;

	if (!sdp_body_of(msg, &body))
		return MEDIA_STEP_OK;
	if (sdp_rewrite_inspect(body->body, body->length, &info) != 0)
		return MEDIA_STEP_BAD_SDP;
	memset(&params, 0, sizeof(params));
	params.addr = advertised;
	for (size_t i = 0; i < info.count; i++) {
		params.ports[i] = info.streams[i].port ? (uint16_t)(SIP_PATH_RTP_BASE + 2 * i) : 0;
		params.rtcp_mux[i] = info.streams[i].rtcp_mux;
	}
	if (sdp_rewrite(body->body, body->length, &params, &text, &len) != 0)
		return MEDIA_STEP_BAD_SDP;
	osip_list_remove(&msg->bodies, 0);
	osip_body_free(body);
	int rc = osip_message_set_body(msg, text, len);
	free(text);
	return rc == 0 ? MEDIA_STEP_OK : MEDIA_STEP_FAILED;
}

/* sip_forward.c decrement_max_forwards(). */
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

/* sip_forward.c add_own_via(). */
static int add_own_via(osip_message_t *req, struct in_addr host, uint16_t port, const char *branch)
{
	char ip[INET_ADDRSTRLEN], value[BRANCH_MAX + 80];
	osip_via_t *via = NULL;

	inet_ntop(AF_INET, &host, ip, sizeof(ip));
	snprintf(value, sizeof(value), "SIP/2.0/UDP %s:%u;rport;branch=%s", ip, port, branch);
	if (osip_via_init(&via) != 0)
		return -1;
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

/* sip_forward.c masquerade(). */
static int masquerade(struct path_ctx *ctx, osip_message_t *msg, bool src_local, bool dest_local,
		      struct in_addr advertised)
{
	uint16_t port = ctx->p->conf->bindport;

	if (src_local && !dest_local)
		return sip_contact_masquerade(msg, advertised, port, NULL);
	if (!src_local && dest_local)
		return sip_contact_masquerade(msg, advertised, port, &ctx->src);
	return 0;
}

/* Does the datagram, as libosip2 reads it, survive being written and read
 * again without any change of sipnatd's? libosip2 accepts some text that it
 * then writes in a form it refuses (a URI "sip:a@host:" with an empty port
 * becomes "<sip:a@host:>"); such garbage in is garbage out, not a fault of
 * the rewrite step. */
static bool input_round_trips(const struct path_ctx *ctx)
{
	osip_message_t *msg = NULL, *again = NULL;
	const char *why;
	char *buf = NULL;
	size_t len = 0;
	bool ok = false;

	if (sipmsg_parse(ctx->in, ctx->in_len, &msg, &why) != SIPMSG_OK)
		goto out;
	if (sipmsg_serialize(msg, &buf, &len) != 0)
		goto out;
	/* and its Vias read back as as many Vias: libosip2 writes some odd ones
	 * (a quote in the protocol name) so that a comma list merges */
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

/* What the next hop must be able to rely on in a message sipnatd sends:
 * it parses (whenever what came in did), and its Content-Length is its
 * body's length (R46). */
static void check_wire(struct path_ctx *ctx, const char *buf, size_t len, osip_message_t **out)
{
	osip_message_t *again = NULL;
	const char *why;
	enum sipmsg_status st = sipmsg_parse(buf, len, &again, &why);

	*out = NULL;
	if (st != SIPMSG_OK) {
		if (again)
			osip_message_free(again);
		if (input_round_trips(ctx))
			violation(ctx, "a message sipnatd sends does not parse again");
		return;
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
	if (!end || declared != (long)(buf + len - end))
		violation(ctx, "Content-Length of a sent message differs from its body");
	*out = again;
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
 * Via, and a masqueraded Contact must lead back to where it pointed. */
static void check_return_leg(struct path_ctx *ctx, osip_message_t *fwd, size_t vias_before,
			     bool masqueraded)
{
	osip_contact_t *c;

	if (!MSG_IS_ACK(fwd)) {
		osip_message_t *resp = sip_reply_build(fwd, 200, NULL);
		if (resp) {
			/* the Vias are written and read again on the way: a
			 * Via libosip2 cannot read back came in that way */
			if (!sip_branch_pop_ours(resp)) {
				if (input_round_trips(ctx))
					violation(ctx, "a response to a forwarded request is not recognised as ours");
			} else if ((size_t)osip_list_size(&resp->vias) != vias_before &&
				   input_round_trips(ctx)) {
				violation(ctx, "the Vias of a response are not those of the request");
			}
			osip_message_free(resp);
		}
	}
	/* a token that came in from the sender is not sipnatd's to restore */
	for (int i = 0; masqueraded && (c = osip_list_get(&fwd->contacts, i)) != NULL; i++) {
		struct contact_target target;
		osip_message_t *back = NULL;
		osip_uri_param_t *param = NULL;

		if (!c->url ||
		    osip_uri_param_get_byname(&c->url->url_params, (char *)CONTACT_TOKEN_PARAM, &param) != 0)
			continue;
		if (osip_message_init(&back) != 0)
			return;
		if (osip_uri_clone(c->url, &back->req_uri) == 0 &&
		    sip_contact_restore_request_uri(back, &target) != 1 && !garbage_uri_sealed(c->url))
			violation(ctx, "a masqueraded Contact does not restore");
		osip_message_free(back);
	}
}

/* sip_dispatch.c forward_to() -> sip_forward.c sip_forward_request(). */
static void forward(struct path_ctx *ctx, const struct sockaddr_in *dest, const char *why)
{
	const struct conf *conf = ctx->p->conf;
	bool src_local = source_is_local(ctx);
	bool dest_local = classify_is_local(conf, dest->sin_addr);
	struct in_addr advertised = dest_local ? ctx->p->lan_addr : ctx->p->ext_addr;
	char branch[BRANCH_MAX];
	bool hidden = false;
	osip_message_t *req = ctx->msg;
	size_t vias_before = (size_t)osip_list_size(&req->vias);

	if (src_local != dest_local) {
		switch (rewrite_media(req, advertised)) {
		case MEDIA_STEP_OK:
			break;
		case MEDIA_STEP_BAD_SDP:
			respond(ctx, 488, "SDP that cannot be relayed");
			return;
		case MEDIA_STEP_FAILED:
			respond(ctx, 500, "media rewrite failed");
			return;
		}
	}
	decrement_max_forwards(req);
	if (masquerade(ctx, req, src_local, dest_local, advertised) != 0 ||
	    sip_branch_make(req, src_local && !dest_local, branch, sizeof(branch), &hidden) != 0) {
		respond(ctx, 500, "cannot rewrite for forwarding");
		return;
	}
	if (hidden)
		drop_vias(req);
	if (add_own_via(req, advertised, conf->bindport, branch) != 0) {
		respond(ctx, 500, "cannot add sipnatd's Via");
		return;
	}
	ctx->res->dest = *dest;
	emit(ctx, req, SIP_PATH_FORWARDED, why);
	if (ctx->res->outcome != SIP_PATH_FORWARDED)
		return;
	osip_message_t *again = NULL;
	check_wire(ctx, ctx->res->out, ctx->res->out_len, &again);
	if (again) {
		check_return_leg(ctx, again, vias_before, src_local != dest_local);
		osip_message_free(again);
	}
}

static bool binding_of_cb(void *arg, const struct conf_peer *peer, const char **contact,
			  struct sockaddr_in *nat)
{
	const struct binding *b = registrar_lookup(arg, peer->name, SIP_PATH_NOW);

	if (!b)
		return false;
	*contact = b->contact;
	*nat = b->nat;
	return true;
}

/* sip_dispatch.c handle_request(). */
static void handle_request(struct path_ctx *ctx)
{
	struct sip_path *p = ctx->p;
	struct route_self self;
	struct route_decision route;

	if (sip_via_stamp_received(ctx->msg, &ctx->src, !source_is_local(ctx)) != 0) {
		drop(ctx, "unusable Via");
		return;
	}
	if (MSG_IS_OPTIONS(ctx->msg) && ctx->msg->req_uri &&
	    (!ctx->msg->req_uri->username || !*ctx->msg->req_uri->username)) {
		respond(ctx, 200, "OPTIONS to sipnatd");
		return;
	}
	if (ctx->kind == SOURCE_INTERNET && authenticate(ctx) == PATH_DONE)
		return;
	int max_forwards = sip_forward_max_forwards(ctx->msg);
	if (max_forwards < 0) {
		respond(ctx, 400, "bad Max-Forwards");
		return;
	}
	if (max_forwards == 0) {
		respond(ctx, 483, "Max-Forwards 0");
		return;
	}
	if (sip_branch_seen_before(ctx->msg)) {
		respond(ctx, 482, "loop");
		return;
	}
	memset(&self, 0, sizeof(self));
	self.conf = p->conf;
	self.lan_addr = p->lan_addr;
	self.have_lan_addr = true;
	self.ext_addr = p->ext_addr;
	self.have_ext_addr = true;
	self.port = p->conf->bindport;
	self.binding_of = binding_of_cb;
	self.binding_arg = p->registrar;
	sip_route_request(&self, ctx->kind, ctx->msg, &route);
	if (ctx->peer && route.action != ROUTE_RESPOND &&
	    auth_assert_identity(ctx->msg, ctx->peer, self.lan_addr, self.port) != 0) {
		respond(ctx, 500, "cannot assert identity");
		return;
	}
	switch (route.action) {
	case ROUTE_FORWARD:
		forward(ctx, &route.dest, route.why);
		break;
	case ROUTE_LOOKUP: {
		/* the DNS cache's answer, as on a hit */
		struct sockaddr_in dest = netaddr_make(ipv4(SIP_PATH_RESOLVED), route.port);
		forward(ctx, &dest, route.why);
		break;
	}
	case ROUTE_RESPOND:
		respond(ctx, route.status, route.why);
		break;
	}
}

/* sip_forward.c sip_forward_response() after the branch pop. */
static void path_forward_response(struct path_ctx *ctx)
{
	osip_message_t *resp = ctx->msg;
	struct sockaddr_in dest;
	bool src_local = source_is_local(ctx);

	if (!sip_via_response_target(resp, &dest)) {
		drop(ctx, "response Via unusable");
		return;
	}
	bool dest_local = classify_is_local(ctx->p->conf, dest.sin_addr);
	if (src_local != dest_local) {
		struct in_addr advertised = dest_local ? ctx->p->lan_addr : ctx->p->ext_addr;
		if (rewrite_media(resp, advertised) != MEDIA_STEP_OK) {
			drop(ctx, "response SDP cannot be relayed");
			return;
		}
		if (masquerade(ctx, resp, src_local, dest_local, advertised) != 0) {
			drop(ctx, "cannot rewrite the Contact of a response");
			return;
		}
	}
	ctx->res->dest = dest;
	emit(ctx, resp, SIP_PATH_FORWARDED, "response");
	if (ctx->res->outcome == SIP_PATH_FORWARDED) {
		osip_message_t *again = NULL;
		check_wire(ctx, ctx->res->out, ctx->res->out_len, &again);
		if (again)
			osip_message_free(again);
	}
}

/* sip_dispatch.c handle_response(). A response the fuzzer made up never
 * carries a branch of ours (it is an HMAC), so it is dropped as the daemon
 * drops it; its rewrite is then run anyway, on a what-if basis, so that the
 * response side of the rewrite step sees fuzzed input too. */
static void handle_response(struct path_ctx *ctx)
{
	if (sip_branch_pop_ours(ctx->msg)) {
		if (osip_list_size(&ctx->msg->vias) == 0) {
			drop(ctx, "answer to sipnatd's own request");
			return;
		}
		path_forward_response(ctx);
		return;
	}
	struct sip_path_result what_if;
	struct sip_path_result *real = ctx->res;
	memset(&what_if, 0, sizeof(what_if));
	ctx->res = &what_if;
	path_forward_response(ctx);
	ctx->res = real;
	if (what_if.violation)
		violation(ctx, what_if.violation);
	sip_path_result_clear(&what_if);
	drop(ctx, "response not for sipnatd");
}

void sip_path_run(struct sip_path *p, const char *buf, size_t len, enum sip_path_source from,
		  struct sip_path_result *out)
{
	struct path_ctx ctx = { .p = p, .res = out, .in = buf, .in_len = len };
	const char *why = "";

	memset(out, 0, sizeof(*out));
	ctx.src = sip_path_source_addr(from);
	/* Bindings are the registrar's: a REGISTER in one run must not change
	 * where the next run's INVITE goes. */
	struct registrar *fresh = registrar_with_alice();
	if (fresh) {
		registrar_free(p->registrar);
		p->registrar = fresh;
	}
	out->parse = sipmsg_parse(buf, len, &ctx.msg, &why);
	switch (out->parse) {
	case SIPMSG_OK:
		break;
	case SIPMSG_KEEPALIVE:
	case SIPMSG_STUN:
		out->outcome = SIP_PATH_IGNORED;
		out->why = why;
		return;
	case SIPMSG_TOO_BIG:
	case SIPMSG_MALFORMED:
	case SIPMSG_INCOMPLETE:
		drop(&ctx, why);
		return;
	case SIPMSG_INVALID:
		if (sip_via_stamp_received(ctx.msg, &ctx.src, true) == 0)
			respond(&ctx, 400, why);
		else
			drop(&ctx, why);
		osip_message_free(ctx.msg);
		return;
	}
	/* as the dispatcher: a trunk's peer is asserted like an authenticated one */
	ctx.kind = classify_source(p->conf, ctx.src.sin_addr, NULL, NULL, &ctx.peer);
	if (MSG_IS_REQUEST(ctx.msg))
		handle_request(&ctx);
	else
		handle_response(&ctx);
	osip_message_free(ctx.msg);
}
