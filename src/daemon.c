/*
 * daemon: start, run, reload, stop. Modules are started in dependency order
 * (configuration, DNS, external address, SIP socket) and freed in reverse.
 * Signals arrive through libevent (evsignal), so their work runs in the loop,
 * never inside a signal handler.
 */
#include "daemon.h"

#include "advertise.h"
#include "classify.h"
#include "control.h"
#include "control_reply.h"
#include "dnscache.h"
#include "trunks.h"
#include "qualify.h"
#include "auth.h"
#include "bans.h"
#include "dialogs.h"
#include "registrar.h"
#include "statefile.h"
#include "media.h"
#include "natdetect.h"
#include "externaddr.h"
#include "portmap.h"
#include "log.h"
#include "netaddr.h"
#include "notify.h"
#include "secret.h"
#include "sip_dispatch.h"
#include "sip_edge.h"
#include "sip_env.h"
#include "sip_reply.h"
#include "sip_socket.h"
#include "version.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PBX_QUALIFY_S 30
#define HOUSEKEEPING_S 5
#define BANS_CAPACITY 8192
#define DIALOGS_CAPACITY 32768

struct daemon {
	struct event_base *base;
	struct evdns_base *dns;
	struct conf *conf;          /* the configuration in force; replaced on reload */
	const char *conf_path;
	int debug;                  /* -d count */

	struct sip_socket *sip;
	struct sip_edge *edge;      /* TCP/TLS listeners; picks each message's way out */
	struct externaddr *external;
	struct portmap *portmap;    /* the router's port mappings (general.portmap) */
	struct advertise *advertise;
	struct dnscache *dnscache;
	struct trunks *trunks;
	struct qualify *qualify;
	struct auth *auth;
	struct bans *bans;
	struct dialogs *dialogs;
	struct registrar *registrar;
	struct media *media;
	struct statefile_writer *state;
	struct sip_env env;         /* the SIP path's view of the above */
	struct sip_dispatch *dispatch;
	struct control_view view;   /* the control socket's view */
	struct control *control;    /* NULL when the socket could not be made */
	struct event *housekeeping; /* expiry of bindings and dialogs */

	struct event *sig_hup, *sig_term, *sig_int;
	struct event *watchdog;
	bool stopping;
	unsigned long reloads, reload_failures;
	char reload_error[CONF_ERR_MAX];  /* why the last failed reload failed */
};

static int effective_level(const struct conf *conf, int debug)
{
	int level = (int)conf->log_level + debug;
	return level > LOG_DEBUG ? LOG_DEBUG : level;
}

static void apply_logging(const struct daemon *d)
{
	log_set_level(effective_level(d->conf, d->debug));
	sip_socket_set_trace(d->conf->siptrace || d->debug >= 2);
}

static void watch_peers(struct daemon *d);

/* The bindings changed: save them soon, and ping where phones now are. */
static void registrations_changed(void *arg)
{
	struct daemon *d = arg;

	watch_peers(d);
	statefile_writer_changed(d->state);
}

static void binding_expired(void *arg, const struct binding *b)
{
	char addr[NETADDR_TEXT_MAX];

	log_notice("registration of %s from %s expired", b->peer, netaddr_print(&b->nat, addr));
}

static void housekeeping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	time_t now = time(NULL);

	if (registrar_expire(d->registrar, now, binding_expired, NULL) > 0)
		registrations_changed(d);
	watch_peers(d);
	dialogs_expire(d->dialogs, now);
}

static bool peer_still_dynamic(void *arg, const char *name)
{
	const struct conf_peer *p = conf_peer_find(arg, name);
	return p && !p->host;
}

static void load_state(struct daemon *d)
{
	char err[512] = "";
	size_t bad = 0;
	long n = statefile_load(d->conf->statefile, d->registrar, time(NULL), &bad, err, sizeof(err));

	if (n < 0)
		log_warn("cannot read registrations: %s; starting with none", err);
	else if (n == 0 && err[0])
		log_notice("no saved registrations (%s); starting with none", err);
	else
		log_notice("restored %ld registration%s from %s", n, n == 1 ? "" : "s",
			   d->conf->statefile);
	if (bad)
		log_warn("%s: %zu malformed line%s skipped", d->conf->statefile, bad, bad == 1 ? "" : "s");
	if (registrar_retain(d->registrar, peer_still_dynamic, d->conf) > 0)
		registrations_changed(d);
}

/* The PBX is pinged like a peer: "is Asterisk running?" is the first thing an
 * admin wants to know when calls fail. */
/* A reload that removed a peer stops its pings. */
static bool still_watched(void *arg, const char *name)
{
	return strcmp(name, "PBX") == 0 || conf_peer_find(arg, name) != NULL;
}

static void watch_pbx(struct daemon *d)
{
	qualify_watch(d->qualify, "PBX", NULL, &d->conf->pbxaddr, PBX_QUALIFY_S);
}

/* Peers with qualify = true are pinged where sipnatd would send to them: a
 * trunk at its host, a phone at the NAT address of its registration, addressed
 * to its own Contact (R35). The pings also keep the phone's NAT mapping open
 * between registrations (design section 9). */
static void watch_peers(struct daemon *d)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < d->conf->peer_count; i++) {
		const struct conf_peer *p = &d->conf->peers[i];
		struct netaddr addr;
		const char *ruri = NULL;
		bool known = false;
		if (p->qualify && p->host) {
			if (netaddr_parse_ip(p->host, &addr) || trunks_addr_cb(d->trunks, p, &addr)) {
				addr.port = p->port;
				known = true;
			}
		} else if (p->qualify) {
			const struct binding *b = registrar_lookup(d->registrar, p->name, now);
			if (b) {
				addr = b->nat;
				ruri = b->contact;
				known = true;
			}
		}
		if (known)
			qualify_watch(d->qualify, p->name, ruri, &addr, p->qualifyfreq_s);
		else
			qualify_unwatch(d->qualify, p->name);
	}
}

/* libevent's own warnings (a name server that stopped answering) go to our
 * log, not to stderr unformatted. */
static void libevent_log_cb(int severity, const char *msg)
{
	int level = severity >= EVENT_LOG_ERR ? LOG_ERR
		    : severity >= EVENT_LOG_WARN ? LOG_INFO : LOG_DEBUG;
	log_msg(level, "libevent: %s", msg);
}

/* (Re)read the name servers; on reload the old ones are dropped first. */
static void use_resolv_conf(struct daemon *d, bool again)
{
	if (again)
		evdns_base_clear_nameservers_and_suspend(d->dns);
	int rc = evdns_base_resolv_conf_parse(d->dns, DNS_OPTIONS_ALL, d->conf->resolvconf);
	if (rc != 0)
		log_warn("cannot use %s for DNS (evdns error %d); names will not resolve until it is fixed and sipnatd reloaded",
			 d->conf->resolvconf, rc);
	if (again)
		evdns_base_resume(d->dns);
}

/* R3, AST-2011-013: a peer whose nat differs from the global rule is answered
 * on another port once authenticated, which tells a scanner the user exists.
 * Said once per load, naming the peers. */
static void warn_nat_settings(const struct conf *conf)
{
	char names[512] = "";
	size_t n = 0, used = 0;

	for (size_t i = 0; i < conf->peer_count; i++) {
		/* auto answers on the Via port only when it is the source port:
		 * the same port either way, nothing told */
		if (conf->peers[i].nat & (CONF_NAT_FORCE_RPORT | CONF_NAT_AUTO))
			continue;
		int k = snprintf(names + used, sizeof(names) - used, "%s%s", n ? ", " : "",
				 conf->peers[i].name);
		if (k > 0 && used + (size_t)k < sizeof(names))
			used += (size_t)k;
		n++;
	}
	if (n)
		log_warn("peers.nat: %s without force_rport: once authenticated %s answered on the Via port, which tells a scanner that %s (keep nat settings the same for all peers)",
			 names, n == 1 ? "it is" : "they are",
			 n == 1 ? "this user exists" : "these users exist");
}

/* What cannot give audio or calls to a phone behind NAT (issue 10), a line
 * per peer; sipnatd -t prints the same. */
static void warn_peer_nat(const struct conf *conf)
{
	char why[320];

	for (size_t i = 0; i < conf->peer_count; i++)
		if (natdetect_peer_warning(&conf->peers[i], why, sizeof(why)))
			log_warn("%s:%d: peers.%s: %s", conf->path, conf->peers[i].line,
				 conf->peers[i].name, why);
}

/* Log, for the admin, what a reload changed that only a restart applies. */
static void note_restart_only(const struct conf *old, const struct conf *new)
{
	if (old->bindaddr.s_addr != new->bindaddr.s_addr || old->bindport != new->bindport ||
	    old->has_bindaddr6 != new->has_bindaddr6 || !netaddr_same(&old->bindaddr6, &new->bindaddr6))
		log_warn("reload: general.bindaddr/bindport changed; this requires a restart (still listening on the old address)");
	if (strcmp(old->control, new->control) != 0)
		log_warn("reload: general.control changed; this requires a restart");
	if ((old->transports & ~new->transports) ||
	    memcmp(&old->tcpbind, &new->tcpbind, sizeof(old->tcpbind)) != 0 ||
	    memcmp(&old->tlsbind, &new->tlsbind, sizeof(old->tlsbind)) != 0 ||
	    !netaddr_same(&old->tcpbind6, &new->tcpbind6) || !netaddr_same(&old->tlsbind6, &new->tlsbind6))
		log_warn("reload: a TCP/TLS listener was disabled or moved; this requires a restart");
}

/* Re-read the configuration file: on error log and keep the old one. True
 * when the new file was swapped in (SIGHUP, and sipnatctl reload). */
static bool reload(struct daemon *d)
{
	char err[CONF_ERR_MAX];
	struct conf *next;

	notify_reloading();
	next = conf_load_file(d->conf_path, err);
	if (!next) {
		d->reload_failures++;
		snprintf(d->reload_error, sizeof(d->reload_error), "%s", err);
		log_err("reload failed, keeping the running configuration: %s", err);
		notify_ready("running (last reload failed)");
		return false;
	}
	note_restart_only(d->conf, next);
	warn_nat_settings(next);
	warn_peer_nat(next);
	char changed[1024];
	conf_diff(d->conf, next, changed, sizeof(changed));
	/* Swap first, then let each module adopt what changed: nothing may keep
	 * a pointer into the old configuration once it is freed below. */
	struct conf *old = d->conf;
	d->conf = next;
	apply_logging(d);
	use_resolv_conf(d, true);
	d->env.conf = d->conf;
	sip_reply_set_server(d->conf->useragent);
	statefile_writer_set_path(d->state, d->conf->statefile);
	externaddr_reconfigure(d->external, d->conf);
	portmap_reconfigure(d->portmap, d->conf);
	trunks_reconfigure(d->trunks, d->conf);
	advertise_reconfigure(d->advertise, d->conf);
	if (registrar_retain(d->registrar, peer_still_dynamic, d->conf) > 0)
		registrations_changed(d);
	qualify_retain(d->qualify, still_watched, d->conf);
	watch_pbx(d);
	watch_peers(d);
	if (d->conf->banafter == 0 || d->conf->bantime_s == 0)
		bans_clear(d->bans);
	media_reconfigure(d->media, d->conf);
	/* the certificate files are read again: a renewed certificate serves
	 * new connections from now on */
	if (sip_edge_reconfigure(d->edge, d->conf, err, sizeof(err)) != 0)
		log_err("reload: SIP over TCP/TLS: %s (the previous certificate and listeners stay)", err);
	d->view.streams = sip_edge_stream_counters(d->edge); /* a stream newly enabled */
	conf_free(old);
	d->reloads++;
	log_notice("configuration reloaded from %s: %s", d->conf_path, changed[0] ? changed : "no changes");
	notify_ready("running");
	return true;
}

static void sighup_cb(evutil_socket_t fd, short what, void *arg)
{
	reload(arg);
}

static bool reload_cb(void *arg)
{
	return reload(arg);
}

static void reloads_cb(void *arg, struct control_reloads *out)
{
	const struct daemon *d = arg;

	out->done = d->reloads;
	out->failed = d->reload_failures;
	out->last_error = d->reload_error;
}

/* The SIP path's ends in the daemon: the SIP socket, the DNS cache, the
 * clock. */
static void send_cb(void *arg, const char *buf, size_t len, const struct netaddr *dest)
{
	/* a failed send is counted and logged by sip_socket; UDP loses it */
	(void)sip_socket_send(arg, buf, len, dest);
}

static enum dnscache_answer resolve_cb(void *arg, const char *name, struct netaddr *addr,
				       dnscache_fn done, void *done_arg)
{
	return dnscache_lookup(arg, name, addr, done, done_arg);
}

static time_t wall_clock(void)
{
	return time(NULL);
}

/* What the SIP path and the control socket may see of the daemon. */
static void fill_views(struct daemon *d)
{
	d->env = (struct sip_env){
		.conf = d->conf,
		.advertise = d->advertise,
		.registrar = d->registrar,
		.dialogs = d->dialogs,
		.auth = d->auth,
		.bans = d->bans,
		.media = d->media,
		.trunks = d->trunks,
		.qualify = d->qualify,
		.send = d->edge ? sip_edge_send : send_cb,
		.send_arg = d->edge ? (void *)d->edge : (void *)d->sip,
		.transport_to = d->edge ? sip_edge_transport_to : NULL,
		.transport_arg = d->edge,
		.resolve = resolve_cb,
		.resolve_arg = d->dnscache,
		.registrations_changed = registrations_changed,
		.changed_arg = d,
		.now = wall_clock,
	};
	d->view = (struct control_view){
		.env = &d->env,
		.dispatch = d->dispatch,
		.sip = d->sip,
		.streams = sip_edge_stream_counters(d->edge),
		.conf_path = d->conf_path,
		.external = d->external,
		.portmap = d->portmap,
		.reload = reload_cb,
		.reloads = reloads_cb,
		.arg = d,
	};
}

static void sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	notify_stopping();
	sip_socket_stop_reading(d->sip);
	sip_edge_stop_listening(d->edge);
	/* Let events already due run (responses being sent), then leave. */
	event_base_loopexit(d->base, NULL);
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_watchdog();
}

static int start_signals(struct daemon *d)
{
	/* A peer closing on us must never kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	d->sig_hup = evsignal_new(d->base, SIGHUP, sighup_cb, d);
	d->sig_term = evsignal_new(d->base, SIGTERM, sigterm_cb, d);
	d->sig_int = evsignal_new(d->base, SIGINT, sigterm_cb, d);
	if (!d->sig_hup || !d->sig_term || !d->sig_int || evsignal_add(d->sig_hup, NULL) ||
	    evsignal_add(d->sig_term, NULL) || evsignal_add(d->sig_int, NULL)) {
		log_err("cannot install signal handlers");
		return -1;
	}
	uint64_t wd = notify_watchdog_usec();
	if (wd) {
		/* ping at half the interval, as sd_watchdog_enabled(3) advises */
		struct timeval tv = { .tv_sec = (time_t)(wd / 2000000),
				      .tv_usec = (suseconds_t)((wd / 2) % 1000000) };
		d->watchdog = event_new(d->base, -1, EV_PERSIST, watchdog_cb, d);
		if (!d->watchdog || event_add(d->watchdog, &tv) != 0) {
			log_err("cannot start the watchdog timer");
			return -1;
		}
	}
	return 0;
}

static int start(struct daemon *d, struct conf *conf, const struct cmdline *cmd)
{
	char err[256], bind[NETADDR_STRLEN];

	d->conf = conf;
	d->conf_path = cmd->conf_path;
	d->debug = cmd->debug;
	apply_logging(d);
	sip_reply_set_server(conf->useragent);

	if (secret_init() != 0) {
		log_err("cannot read random bytes for the process key: %s", strerror(errno));
		return -1;
	}
	event_set_log_callback(libevent_log_cb);
	d->base = event_base_new();
	if (!d->base) {
		log_err("cannot create the event loop");
		return -1;
	}
	d->dns = evdns_base_new(d->base, 0);
	if (!d->dns) {
		log_err("cannot create the DNS resolver");
		return -1;
	}
	use_resolv_conf(d, false);
	d->external = externaddr_new(d->base, d->dns, d->conf);
	d->dnscache = dnscache_new(d->dns);
	d->trunks = d->dnscache ? trunks_new(d->base, d->dnscache, d->conf) : NULL;
	d->advertise = d->external ? advertise_new(d->base, d->conf, d->external) : NULL;
	d->auth = auth_new();
	d->bans = bans_new(BANS_CAPACITY);
	d->dialogs = dialogs_new(DIALOGS_CAPACITY);
	d->registrar = registrar_new();
	if (d->conf->has_bindaddr6) {
		/* RTP over IPv6 beside IPv4 on the same ports (issue 20, decision 1) */
		struct sockaddr_in b4 = netaddr_make(d->conf->bindaddr, 0);
		struct netaddr bind4 = netaddr_from_in(&b4);
		d->media = media_new_bind(d->base, d->conf, &bind4, &d->conf->bindaddr6);
	} else {
		d->media = media_new(d->base, d->conf);
	}
	d->state = d->registrar ? statefile_writer_new(d->base, d->registrar, d->conf->statefile) : NULL;
	d->housekeeping = event_new(d->base, -1, EV_PERSIST, housekeeping_cb, d);
	if (!d->external || !d->trunks || !d->advertise || !d->auth || !d->bans || !d->dialogs ||
	    !d->registrar || !d->media || !d->state || !d->housekeeping) {
		log_err("out of memory at start");
		return -1;
	}
	fill_views(d);
	d->qualify = qualify_new(d->base, &d->env);
	d->dispatch = sip_dispatch_new(&d->env);
	if (!d->qualify || !d->dispatch) {
		log_err("out of memory at start");
		return -1;
	}

	struct sockaddr_in bind_addr = netaddr_make(conf->bindaddr, conf->bindport);
	struct netaddr bind4 = netaddr_from_in(&bind_addr), bind6 = conf->bindaddr6;
	bind6.port = conf->bindport;
	d->sip = sip_socket_open(d->base, &bind4, conf->has_bindaddr6 ? &bind6 : NULL,
				 sip_dispatch_datagram, d->dispatch, err, sizeof(err));
	if (!d->sip) {
		log_err("cannot listen for SIP: %s", err);
		return -1;
	}
	d->edge = sip_edge_new(d->base, d->sip, d->dispatch, conf, err, sizeof(err));
	if (!d->edge) {
		log_err("cannot listen for SIP over TCP/TLS: %s", err);
		return -1;
	}
	d->portmap = portmap_new(d->base, d->conf, d->external);
	if (!d->portmap) {
		log_err("cannot start the router's port mapping");
		return -1;
	}
	fill_views(d); /* again: now with the sockets and the router's mappings */
	struct timeval hk = { .tv_sec = HOUSEKEEPING_S };
	if (start_signals(d) != 0 || event_add(d->housekeeping, &hk) != 0)
		return -1;
	warn_nat_settings(d->conf);
	warn_peer_nat(d->conf);
	load_state(d);
	d->control = control_open(d->base, conf->control, &d->view);
	watch_pbx(d);
	watch_peers(d);

	log_notice("sipnatd %s listening on %s/udp; pbx %s; %zu peer(s); rtp %d-%d", SIPNATD_VERSION,
		   netaddr_format(&bind_addr, bind), netaddr_print(&conf->pbxaddr, err), conf->peer_count,
		   conf->rtpstart, conf->rtpend);
	if (conf->has_bindaddr6)
		log_notice("listening on %s/udp", netaddr_print(&bind6, err));
	if (!conf->externhost && !conf->has_externip && !conf->externip_auto)
		log_notice("no external IPv4 address (neither externhost nor externip): parties on the "
			   "IPv4 Internet are refused; IPv6 parties are given %s",
			   conf->has_externip6 ? "externip's IPv6 address" : "this host's own IPv6 address");
	if (conf->transports & CONF_TRANSPORT_TCP)
		log_notice("listening on %s/tcp", netaddr_format(&conf->tcpbind, bind));
	if ((conf->transports & CONF_TRANSPORT_TCP) && conf->tcpbind6.family)
		log_notice("listening on %s/tcp", netaddr_print(&conf->tcpbind6, err));
	if (conf->transports & CONF_TRANSPORT_TLS)
		log_notice("listening on %s/tls", netaddr_format(&conf->tlsbind, bind));
	if ((conf->transports & CONF_TRANSPORT_TLS) && conf->tlsbind6.family)
		log_notice("listening on %s/tls", netaddr_print(&conf->tlsbind6, err));
	notify_ready("running");
	return 0;
}

struct daemon *daemon_start(struct conf *conf, const struct cmdline *cmd)
{
	struct daemon *d = calloc(1, sizeof(*d));

	if (!d) {
		log_err("out of memory at start");
		conf_free(conf);
		return NULL;
	}
	if (start(d, conf, cmd) != 0) {
		daemon_free(d);
		return NULL;
	}
	return d;
}

int daemon_run(struct daemon *d)
{
	if (event_base_dispatch(d->base) < 0) {
		log_err("event loop failed");
		return 1;
	}
	return 0;
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	/* From here on a second SIGTERM (systemd, timeout(1)) must not kill the
	 * half-freed process with the default action when libevent restores it:
	 * block the stop signals; the process is leaving anyway. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);

	control_close(d->control);
	sip_edge_free(d->edge);
	sip_socket_close(d->sip);
	/* the router's mappings go before the daemon does (clean stop) */
	portmap_free(d->portmap);
	d->portmap = NULL;
	qualify_free(d->qualify);
	/* a pending write is done now, not lost */
	statefile_writer_free(d->state);
	if (d->housekeeping)
		event_free(d->housekeeping);
	media_free(d->media);
	registrar_free(d->registrar);
	dialogs_free(d->dialogs);
	bans_free(d->bans);
	auth_free(d->auth);
	if (d->sig_hup)
		event_free(d->sig_hup);
	if (d->sig_term)
		event_free(d->sig_term);
	if (d->sig_int)
		event_free(d->sig_int);
	if (d->watchdog)
		event_free(d->watchdog);
	advertise_free(d->advertise);
	/* Free the resolver without calling back into the modules below, then
	 * the modules that had lookups in flight (the dispatcher's waiting
	 * requests among them). */
	trunks_free(d->trunks);
	if (d->dns)
		evdns_base_free(d->dns, 0);
	sip_dispatch_free(d->dispatch);
	dnscache_free(d->dnscache);
	externaddr_free(d->external);
	if (d->base)
		event_base_free(d->base);
	conf_free(d->conf);
	secret_free();
	free(d);
}
