/*
 * sip_path: the daemon's SIP path (sip_dispatch.c) over stand-ins, for the
 * fuzzer, the torture test and test_sip_dispatch (see sip_path.h). Nothing
 * of the path is re-implemented here: this file builds an environment,
 * captures what the path sends, and judges it.
 */
#include "sip_path.h"

#include "advertise.h"
#include "auth.h"
#include "bans.h"
#include "classify.h"
#include "dialogs.h"
#include "externaddr.h"
#include "log.h"
#include "media.h"
#include "netaddr.h"
#include "registrar.h"
#include "secret.h"
#include "sip_contact.h"
#include "sip_dispatch.h"
#include "sip_env.h"
#include "sip_forward.h"
#include "sip_invariants.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char path_conf_text[] =
	"general: {\n"
	"  bindaddr = \"127.0.0.1\";\n"   /* where the relay's sockets are opened */
	"  bindport = 5060;\n"
	"  localaddr = \"" SIP_PATH_LAN_ADDR "\";\n"
	"  externip = \"" SIP_PATH_EXT_ADDR ", " SIP_PATH_EXT6_ADDR "\";\n"
	"  localnet = [ \"192.168.1.0/24\" ];\n"
	"  pbx = \"192.168.1.10:5060\";\n"
	"  realm = \"sipnatd\";\n"
	"  allowguest = false;\n"
	"  alwaysauthreject = true;\n"
	"  digestalgs = \"sha256,md5\";\n" /* both digest paths reachable */
	"  banafter = 5;\n"
	"};\n"
	"rtp: {\n"
	"  rtpstart = 47100;\n"
	"  rtpend = 47139;\n"
	"};\n"
	"peers: (\n"
	"  { name = \"alice\"; secret = \"alice-secret\"; },\n"
	"  { name = \"bob\"; secret = \"bob-secret\"; digestalgs = \"md5\"; },\n"
	"  { name = \"trunk\"; host = \"198.51.100.20\"; },\n"
	"  { name = \"trunk6\"; host = \"[2001:db8:20::20]:5060\"; },\n"
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
	[SIP_PATH_FROM_TRUNK6] = { "2001:db8:20::20", 5060, "trunk6" },
	[SIP_PATH_FROM_INTERNET6] = { "2001:db8:5::5", 40000, "internet6" },
};

struct sip_path {
	struct conf *conf;
	struct event_base *base;
	struct evdns_base *dns;      /* no name servers: externip is a literal */
	struct externaddr *external;
	struct advertise *advertise;
	struct registrar *registrar;
	struct dialogs *dialogs;
	struct auth *auth;
	struct bans *bans;
	struct media *media;
	struct sip_env env;
	struct sip_dispatch *dispatch;

	struct sip_path_result *capture; /* where sends go now */
	enum dnscache_answer resolver;
	struct netaddr stream_addr;      /* an address with an open connection */
	enum sip_transport stream_transport;
	dnscache_fn waiting_fn;          /* a lookup answered DNSCACHE_PENDING */
	void *waiting_arg;
};

static struct netaddr addr_of(const char *text, uint16_t port)
{
	struct netaddr a;

	if (!netaddr_parse_ip(text, &a))
		abort(); /* a constant of this file */
	a.port = port;
	return a;
}

void sip_path_global_init(void)
{
	uint8_t key[SECRET_KEY_LEN];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xa5 ^ (i * 7));
	log_set_level(LOG_CRIT); /* the path's notices are the verdicts it returns */
	sipmsg_global_init();
	sipmsg_check_splices(SIPMSG_SPLICE_RECORD); /* judged with the other invariants */
	secret_set_key(key);
}

struct netaddr sip_path_source_addr(enum sip_path_source from)
{
	return addr_of(sources[from].ip, sources[from].port);
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

/* ---- the stand-ins ---- */

static void capture_send(void *arg, const char *buf, size_t len, const struct netaddr *dest)
{
	struct sip_path *p = arg;
	struct sip_path_result *r = p->capture;

	if (!r)
		return;
	free(r->out);
	r->out = malloc(len ? len : 1);
	if (!r->out)
		abort();
	memcpy(r->out, buf, len);
	r->out_len = len;
	r->dest = *dest;
	r->sends++;
}

static enum dnscache_answer stand_in_resolve(void *arg, const char *name, struct netaddr *addr,
					     dnscache_fn done, void *done_arg)
{
	struct sip_path *p = arg;

	(void)name;
	switch (p->resolver) {
	case DNSCACHE_HIT:
		if (!netaddr_parse_ip(SIP_PATH_RESOLVED, addr))
			abort();
		break;
	case DNSCACHE_PENDING:
		if (p->waiting_fn)
			return DNSCACHE_BUSY; /* one at a time, like a full cache */
		p->waiting_fn = done;
		p->waiting_arg = done_arg;
		break;
	case DNSCACHE_NEGATIVE:
	case DNSCACHE_BUSY:
		break;
	}
	return p->resolver;
}

static enum sip_transport stand_in_transport(void *arg, const struct netaddr *dest)
{
	const struct sip_path *p = arg;

	return netaddr_same(dest, &p->stream_addr) ? p->stream_transport : SIP_TRANSPORT_UDP;
}

void sip_path_set_stream(struct sip_path *p, struct netaddr addr, enum sip_transport t)
{
	p->stream_addr = addr;
	p->stream_transport = t;
}

static time_t fixed_clock(void)
{
	return SIP_PATH_NOW;
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
	if (!netaddr_parse("203.0.113.5:40000", &b.nat))
		abort();
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

/* Bans, bindings and relay sessions as at the start. */
static bool start_afresh(struct sip_path *p)
{
	struct registrar *registrar = registrar_with_alice();
	struct bans *bans = bans_new(64);
	/* relay sockets of both families on loopback, as with bindaddr "::" */
	struct netaddr bind4 = addr_of("127.0.0.1", 0), bind6 = addr_of("::1", 0);
	struct media *media = media_new_bind(p->base, p->conf, &bind4, &bind6);

	if (!registrar || !bans || !media) {
		registrar_free(registrar);
		bans_free(bans);
		media_free(media);
		return false;
	}
	registrar_free(p->registrar);
	bans_free(p->bans);
	media_free(p->media);
	p->env.registrar = p->registrar = registrar;
	p->env.bans = p->bans = bans;
	p->env.media = p->media = media;
	return true;
}

struct sip_path *sip_path_new(void)
{
	struct sip_path *p = calloc(1, sizeof(*p));
	char err[CONF_ERR_MAX];

	if (!p)
		return NULL;
	p->conf = conf_load_string(path_conf_text, "sip_path.conf", err);
	if (!p->conf) {
		fprintf(stderr, "sip_path: %s\n", err);
		sip_path_free(p);
		return NULL;
	}
	p->base = event_base_new();
	p->dns = p->base ? evdns_base_new(p->base, 0) : NULL;
	p->external = p->dns ? externaddr_new(p->base, p->dns, p->conf) : NULL;
	p->advertise = p->external ? advertise_new(p->base, p->conf, p->external) : NULL;
	p->auth = auth_new();
	p->dialogs = dialogs_new(64);
	p->resolver = DNSCACHE_HIT;
	p->env = (struct sip_env){
		.conf = p->conf,
		.advertise = p->advertise,
		.dialogs = p->dialogs,
		.auth = p->auth,
		.send = capture_send,
		.send_arg = p,
		.transport_to = stand_in_transport,
		.transport_arg = p,
		.resolve = stand_in_resolve,
		.resolve_arg = p,
		.now = fixed_clock,
	};
	p->dispatch = sip_dispatch_new(&p->env);
	if (!p->advertise || !p->auth || !p->dialogs || !p->dispatch || !start_afresh(p)) {
		sip_path_free(p);
		return NULL;
	}
	return p;
}

void sip_path_free(struct sip_path *p)
{
	if (!p)
		return;
	sip_dispatch_free(p->dispatch);
	media_free(p->media);
	bans_free(p->bans);
	registrar_free(p->registrar);
	dialogs_free(p->dialogs);
	auth_free(p->auth);
	advertise_free(p->advertise);
	if (p->dns)
		evdns_base_free(p->dns, 0);
	externaddr_free(p->external);
	if (p->base)
		event_base_free(p->base);
	conf_free(p->conf);
	free(p);
}

const struct conf *sip_path_conf(const struct sip_path *p)
{
	return p->conf;
}

void sip_path_set_resolver(struct sip_path *p, enum dnscache_answer answer)
{
	p->resolver = answer;
}

struct sip_dispatch *sip_path_dispatch(struct sip_path *p) { return p->dispatch; }
struct media *sip_path_media(struct sip_path *p) { return p->media; }
struct registrar *sip_path_registrar(struct sip_path *p) { return p->registrar; }
struct dialogs *sip_path_dialogs(struct sip_path *p) { return p->dialogs; }
struct bans *sip_path_bans(struct sip_path *p) { return p->bans; }

void sip_path_result_clear(struct sip_path_result *r)
{
	free(r->out);
	memset(r, 0, sizeof(*r));
}

/* ---- judging a run ---- */

static bool is_response_text(const char *buf, size_t len)
{
	return len > 8 && memcmp(buf, "SIP/2.0 ", 8) == 0;
}

static int status_of(const char *buf, size_t len)
{
	int code = 0;

	for (size_t i = 8; i < len && i < 11 && buf[i] >= '0' && buf[i] <= '9'; i++)
		code = code * 10 + (buf[i] - '0');
	return code;
}

/* A response the path dropped as not sipnatd's (it cannot carry sipnatd's
 * HMAC branch) is passed to the response rewrite anyway, on a what-if
 * basis, so that the response side of the rewrite sees fuzzed input too. */
static const char *what_if_response(struct sip_path *p, const char *buf, size_t len,
				    const struct netaddr *src, bool src_local)
{
	struct sip_path_result what_if;
	struct sip_path_result *real = p->capture;
	osip_message_t *msg = NULL;
	const char *why, *broken = NULL;

	if (sipmsg_parse(buf, len, &msg, &why) != SIPMSG_OK || !MSG_IS_RESPONSE(msg)) {
		if (msg)
			osip_message_free(msg);
		return NULL;
	}
	memset(&what_if, 0, sizeof(what_if));
	p->capture = &what_if;
	struct forward_source fsrc = { .addr = *src, .local = src_local };
	if (sip_forward_response(&p->env, msg, &fsrc) == FORWARD_SENT && what_if.out)
		broken = sip_invariants_check_forwarded(buf, len, what_if.out, what_if.out_len, 0,
							false, false);
	p->capture = real;
	sip_path_result_clear(&what_if);
	osip_message_free(msg);
	return broken;
}

/* Issue 20, decision 2: what sipnatd says of itself toward a destination is
 * of the destination's family, never the other (Via sent-by, Contact host,
 * SDP c=). NULL when it holds. */
static const char *family_mixed(const struct sip_path *p, const struct sip_path_result *out,
				bool crossed)
{
	osip_message_t *msg = NULL;
	const char *why = "", *broken = NULL;

	if (sipmsg_parse(out->out, out->out_len, &msg, &why) != SIPMSG_OK)
		goto done;
	osip_via_t *via = osip_list_get(&msg->vias, 0);
	struct netaddr host;
	/* a request's top Via is sipnatd's own */
	if (MSG_IS_REQUEST(msg) && via && via->host && netaddr_parse_ip(via->host, &host) &&
	    host.family != out->dest.family)
		broken = "sipnatd's Via names the other family than its destination's";
	osip_contact_t *c;
	for (int i = 0; crossed && !broken && (c = osip_list_get(&msg->contacts, i)) != NULL; i++) {
		osip_uri_param_t *param = NULL;
		if (c->url && c->url->host &&
		    osip_uri_param_get_byname(&c->url->url_params, (char *)CONTACT_TOKEN_PARAM, &param) == 0 &&
		    param && netaddr_parse_ip(c->url->host, &host) && host.family != out->dest.family)
			broken = "a masqueraded Contact names the other family than its destination's";
	}
	/* an SDP body as the relay takes it (one body, application/sdp): any
	 * other body crosses untouched, whatever it holds */
	const osip_content_type_t *ct = msg->content_type;
	osip_body_t *body = osip_list_size(&msg->bodies) == 1 && ct && ct->type && ct->subtype &&
					    strcasecmp(ct->type, "application") == 0 &&
					    strcasecmp(ct->subtype, "sdp") == 0
				    ? osip_list_get(&msg->bodies, 0)
				    : NULL;
	if (crossed && !broken && body && body->body &&
	    strstr(body->body, out->dest.family == AF_INET6 ? "\nc=IN IP4 " : "\nc=IN IP6 "))
		broken = "the relayed SDP names the other family than its destination's";
done:
	if (msg)
		osip_message_free(msg);
	return broken;
}

static void judge(struct sip_path *p, const char *buf, size_t len, const struct netaddr *src,
		  struct sip_path_result *out)
{
	osip_message_t *in = NULL;
	const char *why = "";
	bool src_local = classify_is_local(p->conf, src);

	out->parse = sipmsg_parse(buf, len, &in, &why);
	bool request_in = in && MSG_IS_REQUEST(in);
	size_t vias_in = in ? (size_t)osip_list_size(&in->vias) : 0;
	if (in)
		osip_message_free(in);

	if (out->sends > 1)
		out->violation = "more than one message sent for one datagram";
	if (sipmsg_splice_mismatches() && !out->violation)
		out->violation = "a spliced message says other than its full serialisation";
	if (!out->out) {
		bool quiet = out->parse == SIPMSG_KEEPALIVE || out->parse == SIPMSG_STUN;
		out->outcome = quiet ? SIP_PATH_IGNORED : SIP_PATH_DROPPED;
		out->why = quiet ? why : out->parse == SIPMSG_OK ? "nothing sent" : why;
		if (out->parse == SIPMSG_OK && !request_in && !out->violation)
			out->violation = what_if_response(p, buf, len, src, src_local);
		return;
	}
	const char *broken;
	if (request_in && is_response_text(out->out, out->out_len)) {
		out->outcome = SIP_PATH_ANSWERED;
		out->status = status_of(out->out, out->out_len);
		out->why = "answered by sipnatd";
		broken = sip_invariants_check_answer(buf, len, out->out, out->out_len);
	} else if (out->parse == SIPMSG_INVALID) {
		/* an invalid request is only ever answered (400) */
		out->outcome = SIP_PATH_FORWARDED;
		out->why = "an invalid message was sent on";
		broken = "an invalid message was forwarded";
	} else {
		out->outcome = SIP_PATH_FORWARDED;
		out->why = request_in ? "request forwarded" : "response forwarded";
		bool dest_local = classify_is_local(p->conf, &out->dest);
		broken = sip_invariants_check_forwarded(buf, len, out->out, out->out_len, vias_in,
							src_local != dest_local, request_in);
		if (!broken)
			broken = family_mixed(p, out, src_local != dest_local);
	}
	if (!out->violation)
		out->violation = broken;
}

void sip_path_run_more(struct sip_path *p, const char *buf, size_t len, struct netaddr src,
		       struct sip_path_result *out)
{
	memset(out, 0, sizeof(*out));
	p->capture = out;
	sip_dispatch_message(p->dispatch, buf, len, &src);
	p->capture = NULL;
	judge(p, buf, len, &src, out);
}

void sip_path_run(struct sip_path *p, const char *buf, size_t len, enum sip_path_source from,
		  struct sip_path_result *out)
{
	if (!start_afresh(p))
		abort(); /* out of memory in a test */
	sip_path_run_more(p, buf, len, sip_path_source_addr(from), out);
}

bool sip_path_resolve_pending(struct sip_path *p, bool ok, struct sip_path_result *out)
{
	dnscache_fn fn = p->waiting_fn;

	memset(out, 0, sizeof(*out));
	if (!fn)
		return false;
	p->waiting_fn = NULL;
	p->capture = out;
	struct netaddr resolved;
	if (!netaddr_parse_ip(SIP_PATH_RESOLVED, &resolved))
		abort();
	fn(p->waiting_arg, ok, &resolved);
	p->capture = NULL;
	if (out->out) {
		out->outcome = is_response_text(out->out, out->out_len) ? SIP_PATH_ANSWERED
									: SIP_PATH_FORWARDED;
		if (out->outcome == SIP_PATH_ANSWERED)
			out->status = status_of(out->out, out->out_len);
	} else {
		out->outcome = SIP_PATH_DROPPED;
	}
	return true;
}
