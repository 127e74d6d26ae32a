/*
 * control_reply: the JSON behind every sipnatctl table. Each command reads
 * the modules through their accessors at the moment of the request and
 * changes nothing, except "reload", which is the daemon's reload itself. Names are
 * the ones an admin reads in sipnatctl(8); counters are totals since start.
 */
#include "control_reply.h"

#include "auth.h"
#include "bans.h"
#include "externaddr.h"
#include "media.h"
#include "netaddr.h"
#include "portmap.h"
#include "qualify.h"
#include "registrar.h"
#include "sip_authenticate.h"
#include "sip_dispatch.h"
#include "sip_socket.h"
#include "sip_stream.h"
#include "version.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PBX_NAME "PBX"   /* the name daemon.c watches the PBX under */

static json_t *count(unsigned long n)
{
	return json_integer((json_int_t)n);
}

/* Add key = value to obj; value may be NULL (out of memory) and then the
 * whole reply fails. Returns false on failure. */
static bool put(json_t *obj, const char *key, json_t *value)
{
	return value && json_object_set_new(obj, key, value) == 0;
}

/* Text a remote party chose (a Contact, a Call-ID) need not be UTF-8, which
 * JSON strings must be: such bytes are shown as '?'. */
static json_t *untrusted_text(const char *s)
{
	json_t *j = json_string(s);

	if (j)
		return j;
	char *copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* "a.b.c.d:port" or "[2001:db8::1]:port" */
static json_t *address(const struct netaddr *addr)
{
	char text[NETADDR_TEXT_MAX];

	return json_string(netaddr_print(addr, text));
}

json_t *control_reply_error(const char *why)
{
	return json_pack("{s:s}", "error", why);
}

/* ---- peers ---- */

static json_t *peer_status(const struct control_view *v, const char *name, bool monitored, json_t *obj)
{
	int rtt = 0;
	enum qualify_status st = qualify_status_of(v->env->qualify, name, &rtt);

	if (!monitored)
		st = QUALIFY_UNKNOWN;
	if (put(obj, "status", json_string(monitored ? qualify_status_name(st) : "UNMONITORED")) &&
	    put(obj, "rtt_ms", st == QUALIFY_OK ? json_integer(rtt) : json_null()))
		return obj;
	json_decref(obj);
	return NULL;
}

static json_t *peer_json(const struct control_view *v, const struct conf_peer *p, time_t now)
{
	const struct binding *b[REGISTRAR_MAX_CONTACTS];
	size_t bindings = p->host ? 0 : registrar_bindings(v->env->registrar, p->name, now, b, REGISTRAR_MAX_CONTACTS);
	json_t *host;

	if (p->host) {
		char text[300];
		snprintf(text, sizeof(text), "%s:%u", p->host, (unsigned)p->port);
		host = json_string(text);
	} else {
		/* where requests for it go: its freshest binding's NAT address */
		const struct binding *last = registrar_lookup(v->env->registrar, p->name, now);
		host = last ? address(&last->nat) : json_null();
	}
	json_t *o = json_pack("{s:s, s:s, s:o, s:b, s:I}", "name", p->name, "kind",
			      p->host ? "trunk" : "dynamic", "host", host, "qualify", p->qualify,
			      "bindings", (json_int_t)bindings);
	return o ? peer_status(v, p->name, p->qualify, o) : NULL;
}

static json_t *peers_reply(const struct control_view *v, time_t now)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < v->env->conf->peer_count; i++)
		if (json_array_append_new(list, peer_json(v, &v->env->conf->peers[i], now)) != 0)
			goto fail;
	json_t *pbx = json_pack("{s:s, s:s, s:o, s:b, s:n}", "name", PBX_NAME, "kind", "pbx", "host",
				address(&v->env->conf->pbxaddr), "qualify", 1, "bindings");
	if (!pbx || json_array_append_new(list, peer_status(v, PBX_NAME, true, pbx)) != 0)
		goto fail;
	return json_pack("{s:o}", "peers", list);
fail:
	json_decref(list);
	return NULL;
}

/* ---- registrations ---- */

struct binding_list {
	const struct binding **items;
	size_t count, cap;
	bool failed;
};

static void collect_binding(void *arg, const struct binding *b)
{
	struct binding_list *l = arg;

	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		const struct binding **items = realloc(l->items, cap * sizeof(*items));
		if (!items) {
			l->failed = true;
			return;
		}
		l->items = items;
		l->cap = cap;
	}
	l->items[l->count++] = b;
}

static int by_peer_then_contact(const void *a, const void *b)
{
	const struct binding *x = *(const struct binding *const *)a;
	const struct binding *y = *(const struct binding *const *)b;
	int c = strcmp(x->peer, y->peer);

	return c ? c : strcmp(x->contact, y->contact);
}

static json_t *registrations_reply(const struct control_view *v, time_t now)
{
	struct binding_list l = { 0 };
	json_t *list = json_array();

	registrar_foreach(v->env->registrar, collect_binding, &l);
	if (l.failed || !list)
		goto fail;
	if (l.count)
		qsort(l.items, l.count, sizeof(*l.items), by_peer_then_contact);
	for (size_t i = 0; i < l.count; i++) {
		const struct binding *b = l.items[i];
		json_t *o = json_pack("{s:s, s:o, s:o, s:I, s:I}", "peer", b->peer, "contact", untrusted_text(b->contact),
				      "nat", address(&b->nat), "expires_s",
				      (json_int_t)(b->expires > now ? b->expires - now : 0), "age_s",
				      (json_int_t)(now > b->registered ? now - b->registered : 0));
		if (json_array_append_new(list, o) != 0)
			goto fail;
	}
	free(l.items);
	return json_pack("{s:o}", "registrations", list);
fail:
	free(l.items);
	json_decref(list);
	return NULL;
}

/* ---- calls ---- */

static json_t *leg_json(const struct relay_leg_stats *leg)
{
	return json_pack("{s:o, s:o, s:o}", "packets", count(leg->packets), "bytes", count(leg->bytes),
			 "dropped", count(leg->dropped));
}

struct calls_walk {
	json_t *list;
	uint64_t now_ms;
	bool failed;
};

static void add_call(void *arg, const struct media_call_info *info)
{
	struct calls_walk *w = arg;
	json_t *streams = json_array();

	for (size_t i = 0; streams && i < info->streams; i++) {
		const struct relay_stream_stats *st = &info->stats[i];
		json_t *idle = st->last_packet_ms && w->now_ms >= st->last_packet_ms
				       ? json_integer((json_int_t)((w->now_ms - st->last_packet_ms) / 1000))
				       : json_null();
		/* the latest refused packet: from where and why (issue 10) */
		json_t *drop = st->drop_why == RELAY_DROP_NONE
				       ? json_null()
				       : json_pack("{s:o, s:s, s:o}", "from",
						   st->drop_from.family ? address(&st->drop_from) : json_null(),
						   "why", relay_drop_name(st->drop_why), "source_dropped",
						   count(st->source_dropped));
		json_t *o = json_pack("{s:i, s:o, s:o, s:o, s:o}", "port", (int)st->port, "from_local",
				      leg_json(&st->local), "from_remote", leg_json(&st->remote), "idle_s", idle,
				      "last_drop", drop);
		if (json_array_append_new(streams, o) != 0)
			w->failed = true;
	}
	json_t *call = json_pack("{s:o, s:s, s:b, s:I, s:o}", "call_id", untrusted_text(info->call_id), "state",
				 info->confirmed ? "up" : "setup", "hold", info->hold, "age_s",
				 (json_int_t)(info->age_ms / 1000), "streams", streams);
	if (json_array_append_new(w->list, call) != 0)
		w->failed = true;
}

static json_t *calls_reply(const struct control_view *v)
{
	struct calls_walk w = { .list = json_array(), .now_ms = relay_now_ms() };

	if (!w.list)
		return NULL;
	media_foreach(v->env->media, add_call, &w);
	if (w.failed) {
		json_decref(w.list);
		return NULL;
	}
	return json_pack("{s:o}", "calls", w.list);
}

/* ---- bans ---- */

static json_t *bans_reply(const struct control_view *v, time_t now)
{
	size_t max = bans_active(v->env->bans, now), n;
	struct ban_entry *e = calloc(max ? max : 1, sizeof(*e));
	json_t *list = json_array();
	char ip[NETADDR_TEXT_MAX];

	if (!e || !list)
		goto fail;
	n = bans_list(v->env->bans, now, e, max);
	for (size_t i = 0; i < n; i++) {
		/* an IPv4 host is banned alone, an IPv6 one with its prefix (a
		 * /64 by default: one host owns it), which is what is shown */
		if (e[i].scope.net.family == AF_INET6)
			netaddr_prefix_print(&e[i].scope, ip);
		else
			netaddr_ip_text(&e[i].scope.net, ip);
		json_t *o = json_pack("{s:s, s:I, s:I}", "address", ip, "seconds_left",
				      (json_int_t)(e[i].until - now), "failures", (json_int_t)e[i].failures);
		if (json_array_append_new(list, o) != 0)
			goto fail;
	}
	free(e);
	return json_pack("{s:o}", "bans", list);
fail:
	free(e);
	json_decref(list);
	return NULL;
}

/* ---- stats ---- */

static json_t *sip_stats(const struct control_view *v)
{
	static const struct sip_counters none;
	const struct sip_counters *s = v->dispatch ? sip_dispatch_counters(v->dispatch) : &none;
	json_t *o = json_object();

	if (o && put(o, "received", count(s->received)) && put(o, "requests", count(s->requests)) &&
	    put(o, "responses", count(s->responses)) && put(o, "forwarded", count(s->forwarded)) &&
	    put(o, "answered_locally", count(s->answered_locally)) &&
	    put(o, "keepalives", count(s->keepalives)) && put(o, "malformed", count(s->malformed)) &&
	    put(o, "too_big", count(s->too_big)) && put(o, "invalid", count(s->invalid)) &&
	    put(o, "stray_responses", count(s->stray_responses)) &&
	    put(o, "lookups_failed", count(s->lookups_failed)) && put(o, "dropped", count(s->dropped)) &&
	    put(o, "banned", count(s->banned)) &&
	    put(o, "rx_overflows", count(v->sip ? sip_socket_rx_overflows(v->sip) : 0)) &&
	    put(o, "send_errors", count(v->sip ? sip_socket_send_errors(v->sip) : 0)))
		return o;
	json_decref(o);
	return NULL;
}

/* SIP over TCP/TLS (issue 15): zeros while neither listener is enabled. */
static json_t *stream_stats(const struct control_view *v)
{
	static const struct sip_stream_counters none;
	const struct sip_stream_counters *c = v->streams ? v->streams : &none;

	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "open", count(c->open),
			 "accepted", count(c->accepted), "refused_per_addr", count(c->refused_per_addr),
			 "refused_total", count(c->refused_total), "messages", count(c->messages),
			 "pings", count(c->pings), "framing_errors", count(c->framing_errors),
			 "timed_out", count(c->timed_out), "idle_closed", count(c->idle_closed),
			 "send_dropped", count(c->send_dropped));
}

static json_t *leg_totals(unsigned long packets, unsigned long bytes, unsigned long dropped)
{
	return json_pack("{s:o, s:o, s:o}", "packets", count(packets), "bytes", count(bytes), "dropped",
			 count(dropped));
}

static json_t *stats_reply(const struct control_view *v, time_t now, time_t started)
{
	static const struct sip_auth_counters no_auth;
	const struct sip_auth_counters *a = v->dispatch ? sip_dispatch_auth_counters(v->dispatch) : &no_auth;
	struct control_reloads reloads = { .last_error = "" };
	size_t pairs = media_ports_capacity(v->env->media), free_pairs = media_ports_free(v->env->media);
	struct media_totals t;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (v->reloads)
		v->reloads(v->arg, &reloads);
	media_totals(v->env->media, &t);
	json_t *auth = json_pack("{s:o, s:o, s:I, s:o}", "failures", count(a->failures), "bans",
				 count(a->bans), "bans_active", (json_int_t)bans_active(v->env->bans, now),
				 "digest_computations", count(auth_digest_computations(v->env->auth)));
	json_t *calls = json_pack("{s:I, s:o, s:o, s:o}", "active", (json_int_t)media_sessions(v->env->media),
				  "set_up", count(t.calls_set_up), "failed", count(t.calls_failed),
				  "ended", count(t.calls_ended));
	json_t *relay = json_pack("{s:o, s:o}", "from_local",
				  leg_totals(t.local_packets, t.local_bytes, t.local_dropped), "from_remote",
				  leg_totals(t.remote_packets, t.remote_bytes, t.remote_dropped));
	json_t *pool = json_pack("{s:I, s:I, s:I}", "pairs", (json_int_t)pairs, "free",
				 (json_int_t)free_pairs, "in_use",
				 (json_int_t)(pairs > free_pairs ? pairs - free_pairs : 0));
	return json_pack("{s:s, s:I, s:o, s:o, s:o, s:{s:I, s:I}, s:o, s:o, s:o, s:{s:o, s:o}}",
			 "version", SIPNATD_VERSION, "uptime_s", (json_int_t)(ts.tv_sec - started),
			 "sip", sip_stats(v), "streams", stream_stats(v), "auth", auth,
			 "registrations", "bindings", (json_int_t)registrar_count(v->env->registrar), "peers",
			 (json_int_t)v->env->conf->peer_count,
			 "calls", calls, "relay", relay, "pool", pool,
			 "reloads", "done", count(reloads.done), "failed", count(reloads.failed));
}

/* ---- status: the external address and the router's mappings ---- */

static json_t *ip_or_null(bool have, struct in_addr addr)
{
	char ip[INET_ADDRSTRLEN];

	if (!have || !inet_ntop(AF_INET, &addr, ip, sizeof(ip)))
		return json_null();
	return json_string(ip);
}

/* Runs of neighbouring ports in the same state, as one row each. */
static json_t *mapping_runs(const struct portmap_entry *e, size_t n, time_t now)
{
	json_t *list = json_array();
	size_t i = 0;

	while (list && i < n) {
		size_t j = i;
		long min_left = 0, max_left = 0;
		while (j + 1 < n && e[j + 1].port == e[j].port + 1 && e[j + 1].mapped == e[i].mapped)
			j++;
		for (size_t k = i; k <= j; k++) {
			long left = e[k].expires_at ? (long)(e[k].expires_at - now) : -1;
			if (k == i || left < min_left)
				min_left = left;
			if (k == i || left > max_left)
				max_left = left;
		}
		json_t *o = json_pack("{s:i, s:i, s:b, s:I}", "first", e[i].port, "last", e[j].port,
				      "mapped", e[i].mapped, "public_first", (json_int_t)e[i].public_port);
		if (!o || (e[i].mapped && (!put(o, "lease_left_min_s", json_integer(min_left)) ||
					   !put(o, "lease_left_max_s", json_integer(max_left)))) ||
		    json_array_append_new(list, o) != 0) {
			json_decref(list);
			return NULL;
		}
		i = j + 1;
	}
	return list;
}

static json_t *status_reply(const struct control_view *v)
{
	struct portmap_status st = { .mode = CONF_PORTMAP_OFF, .state = "off" };
	struct portmap_entry *e = calloc(CONF_PORTMAP_MAX_PORTS, sizeof(*e));
	struct in_addr ext;
	bool have_ext = v->external && externaddr_get(v->external, &ext);
	time_t now = 0;
	size_t n = 0;

	if (!e)
		return NULL;
	if (v->portmap) {
		portmap_status(v->portmap, &st);
		n = portmap_entries(v->portmap, e, CONF_PORTMAP_MAX_PORTS, &now);
	}
	json_t *pm = json_pack("{s:s, s:s, s:o, s:s, s:o, s:b, s:i, s:I, s:I, s:s, s:o}",
			       "mode", conf_portmap_name(st.mode), "state", st.state,
			       "protocol", st.protocol ? json_string(st.protocol) : json_null(),
			       "router", st.router,
			       "router_address", ip_or_null(st.have_external, st.external),
			       "router_address_usable", st.have_external && st.external_kind == PORTMAP_ADDR_PUBLIC,
			       "lease_s", st.lease_s, "ports", (json_int_t)st.ports,
			       "mapped", (json_int_t)st.mapped, "last_error", st.last_error,
			       "mappings", mapping_runs(e, n, now));
	free(e);
	/* IPv6 (issue 20): externip's or externhost's AAAA, else the host's own
	 * address toward each party ("host", no single value to show) */
	const struct conf *conf = v->env->conf;
	struct netaddr ext6;
	char text6[NETADDR_HOST_MAX];
	bool have_ext6 = v->external && externaddr_get6(v->external, &ext6);
	const char *source6 = have_ext6 ? (conf->externhost ? "externhost" : "externip")
			    : conf->has_bindaddr6 ? "host" : "none";
	return json_pack("{s:{s:o, s:s, s:o, s:s}, s:o}", "external", "address", ip_or_null(have_ext, ext),
			 "source", v->external ? externaddr_source(v->external) : "none", "address6",
			 have_ext6 ? json_string(netaddr_ip_text(&ext6, text6)) : json_null(), "source6",
			 source6, "portmap", pm);
}

/* ---- reload ---- */

static json_t *reload_reply(const struct control_view *v)
{
	struct control_reloads reloads = { .last_error = "reload is not available" };

	if (v->reload && v->reload(v->arg))
		return json_pack("{s:b, s:s}", "reload", 1, "config", v->conf_path ? v->conf_path : "");
	if (v->reload && v->reloads)
		v->reloads(v->arg, &reloads);
	return json_pack("{s:b, s:s}", "reload", 0, "error", reloads.last_error);
}

json_t *control_reply(const struct control_view *v, enum control_command cmd, time_t started)
{
	time_t now = time(NULL);

	switch (cmd) {
	case CONTROL_PEERS:
		return peers_reply(v, now);
	case CONTROL_REGISTRATIONS:
		return registrations_reply(v, now);
	case CONTROL_CALLS:
		return calls_reply(v);
	case CONTROL_STATS:
		return stats_reply(v, now, started);
	case CONTROL_BANS:
		return bans_reply(v, now);
	case CONTROL_RELOAD:
		return reload_reply(v);
	case CONTROL_STATUS:
		return status_reply(v);
	}
	return control_reply_error("unknown command");
}
