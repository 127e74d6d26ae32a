/*
 * daemon: start, run, reload, stop. Modules are started in dependency order
 * (configuration, DNS, external address, SIP socket) and freed in reverse.
 * Signals arrive through libevent (evsignal), so their work runs in the loop,
 * never inside a signal handler.
 */
#include "daemon.h"

#include "classify.h"
#include "control.h"
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
#include "sip_socket.h"
#include "version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LAN_ADDR_RETRY_S 10
#define PBX_QUALIFY_S 30
#define HOUSEKEEPING_S 5
#define STATE_SAVE_DELAY_MS 1000
#define STATE_RETRY_S 10
#define BANS_CAPACITY 8192
#define DIALOGS_CAPACITY 32768

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

/* The address the kernel would use to reach the PBX: connect() on a UDP
 * socket sends nothing and needs no netlink. */
static bool route_source_to(const struct sockaddr_in *dest, struct in_addr *out)
{
	struct sockaddr_in local;
	socklen_t len = sizeof(local);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = false;

	if (fd < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)dest, sizeof(*dest)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&local, &len) == 0 && local.sin_addr.s_addr != 0) {
		*out = local.sin_addr;
		ok = true;
	}
	close(fd);
	return ok;
}

static void find_lan_addr(struct daemon *d)
{
	const struct conf *conf = d->conf;
	char pbx[NETADDR_STRLEN], ip[INET_ADDRSTRLEN];
	bool had = d->have_lan_addr;
	struct in_addr before = d->lan_addr;

	if (conf->has_localaddr) {
		d->lan_addr = conf->localaddr;
		d->have_lan_addr = true;
	} else if (conf->bindaddr.s_addr != htonl(INADDR_ANY)) {
		d->lan_addr = conf->bindaddr;
		d->have_lan_addr = true;
	} else {
		d->have_lan_addr = route_source_to(&conf->pbx, &d->lan_addr);
	}
	if (!d->have_lan_addr) {
		log_warn("no route to the PBX at %s: cannot tell which LAN address to advertise; set general.localaddr or fix the route (retrying every %d s)",
			 netaddr_format(&conf->pbx, pbx), LAN_ADDR_RETRY_S);
		struct timeval tv = { .tv_sec = LAN_ADDR_RETRY_S };
		evtimer_add(d->lan_addr_retry, &tv);
		return;
	}
	evtimer_del(d->lan_addr_retry);
	if (!had || before.s_addr != d->lan_addr.s_addr) {
		inet_ntop(AF_INET, &d->lan_addr, ip, sizeof(ip));
		log_info("advertising %s toward the LAN", ip);
	}
}

static void lan_addr_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	find_lan_addr(arg);
}

/* Write the bindings if they changed. False when the write failed (logged;
 * the bindings stay in memory and the service goes on). */
static bool save_state_now(struct daemon *d)
{
	char err[512];

	if (!d->state_dirty)
		return true;
	d->state_dirty = false;
	if (statefile_save(d->conf->statefile, d->registrar, err, sizeof(err)) == 0)
		return true;
	log_warn("cannot save registrations: %s; retrying every %d s", err, STATE_RETRY_S);
	d->state_dirty = true;
	return false;
}

static void save_state_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { .tv_sec = STATE_RETRY_S };

	/* a full disk gets freed, a read-only mount remounted: try again */
	d->state_retrying = !save_state_now(d);
	if (d->state_retrying)
		evtimer_add(d->state_save, &tv);
}

static void watch_peers(struct daemon *d);

void daemon_registrations_changed(struct daemon *d)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = STATE_SAVE_DELAY_MS * 1000 };

	watch_peers(d);
	d->state_dirty = true;
	/* At most one write a second; a pending retry after a failure is
	 * brought forward, since a change is a good moment to try again. */
	if (d->state_retrying) {
		evtimer_del(d->state_save);
		d->state_retrying = false;
	}
	if (!evtimer_pending(d->state_save, NULL))
		evtimer_add(d->state_save, &tv);
}

static void binding_expired(void *arg, const struct binding *b)
{
	char addr[NETADDR_STRLEN];

	log_notice("registration of %s from %s expired", b->peer, netaddr_format(&b->nat, addr));
}

static void housekeeping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	time_t now = time(NULL);

	if (registrar_expire(d->registrar, now, binding_expired, NULL) > 0)
		daemon_registrations_changed(d);
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
		daemon_registrations_changed(d);
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
	qualify_watch(d->qualify, "PBX", NULL, &d->conf->pbx, PBX_QUALIFY_S);
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
		struct sockaddr_in addr;
		const char *ruri = NULL;
		bool known = false;
		if (p->qualify && p->host) {
			struct in_addr ip;
			if (netaddr_parse_ipv4(p->host, &ip) || trunks_addr_cb(d->trunks, p, &ip)) {
				addr = netaddr_make(ip, p->port);
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

bool daemon_advertised_addr(const struct daemon *d, struct in_addr dest, struct in_addr *out)
{
	if (classify_is_local(d->conf, dest)) {
		if (!d->have_lan_addr)
			return false;
		*out = d->lan_addr;
		return true;
	}
	return externaddr_get(d->external, out);
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
	if (old->bindaddr.s_addr != new->bindaddr.s_addr || old->bindport != new->bindport)
		log_warn("reload: general.bindaddr/bindport changed; this requires a restart (still listening on the old address)");
	if (strcmp(old->control, new->control) != 0)
		log_warn("reload: general.control changed; this requires a restart");
}

bool daemon_reload(struct daemon *d)
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
	externaddr_reconfigure(d->external, d->conf);
	portmap_reconfigure(d->portmap, d->conf);
	trunks_reconfigure(d->trunks, d->conf);
	find_lan_addr(d);
	if (registrar_retain(d->registrar, peer_still_dynamic, d->conf) > 0)
		daemon_registrations_changed(d);
	qualify_retain(d->qualify, still_watched, d->conf);
	watch_pbx(d);
	watch_peers(d);
	if (d->conf->banafter == 0 || d->conf->bantime_s == 0)
		bans_clear(d->bans);
	media_reconfigure(d->media, d->conf);
	sip_dispatch_reconfigure(d);
	conf_free(old);
	d->reloads++;
	log_notice("configuration reloaded from %s: %s", d->conf_path, changed[0] ? changed : "no changes");
	notify_ready("running");
	return true;
}

static void sighup_cb(evutil_socket_t fd, short what, void *arg)
{
	daemon_reload(arg);
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

int daemon_start(struct daemon *d, struct conf *conf, const struct cmdline *cmd)
{
	char err[256], bind[NETADDR_STRLEN];

	memset(d, 0, sizeof(*d));
	d->conf = conf;
	d->conf_path = cmd->conf_path;
	d->debug = cmd->debug;
	apply_logging(d);

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
	d->lan_addr_retry = evtimer_new(d->base, lan_addr_retry_cb, d);
	if (!d->external || !d->trunks || !d->lan_addr_retry) {
		log_err("out of memory at start");
		return -1;
	}
	find_lan_addr(d);

	struct sockaddr_in bind_addr = netaddr_make(conf->bindaddr, conf->bindport);
	d->sip = sip_socket_open(d->base, &bind_addr, sip_dispatch_datagram, d, err, sizeof(err));
	if (!d->sip) {
		log_err("cannot listen for SIP: %s", err);
		return -1;
	}
	if (sip_dispatch_start(d) != 0 || start_signals(d) != 0)
		return -1;
	d->portmap = portmap_new(d->base, d->conf, d->external);
	if (!d->portmap) {
		log_err("cannot start the router's port mapping");
		return -1;
	}
	d->qualify = qualify_new(d);
	d->auth = auth_new();
	d->bans = bans_new(BANS_CAPACITY);
	d->dialogs = dialogs_new(DIALOGS_CAPACITY);
	d->registrar = registrar_new();
	d->media = media_new(d->base, d->conf);
	d->housekeeping = event_new(d->base, -1, EV_PERSIST, housekeeping_cb, d);
	d->state_save = evtimer_new(d->base, save_state_cb, d);
	struct timeval hk = { .tv_sec = HOUSEKEEPING_S };
	if (!d->qualify || !d->auth || !d->bans || !d->dialogs || !d->registrar || !d->media ||
	    !d->housekeeping ||
	    !d->state_save || event_add(d->housekeeping, &hk) != 0) {
		log_err("out of memory at start");
		return -1;
	}
	warn_nat_settings(d->conf);
	warn_peer_nat(d->conf);
	load_state(d);
	d->control = control_open(d, conf->control);
	watch_pbx(d);
	watch_peers(d);

	log_notice("sipnatd %s listening on %s/udp; pbx %s; %zu peer(s); rtp %d-%d", SIPNATD_VERSION,
		   netaddr_format(&bind_addr, bind), netaddr_format(&conf->pbx, err), conf->peer_count,
		   conf->rtpstart, conf->rtpend);
	notify_ready("running");
	return 0;
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
	/* From here on a second SIGTERM (systemd, timeout(1)) must not kill the
	 * half-freed process with the default action when libevent restores it:
	 * block the stop signals; the process is leaving anyway. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);

	control_close(d->control);
	sip_dispatch_stop(d);
	/* the router's mappings go before the daemon does (clean stop) */
	portmap_free(d->portmap);
	d->portmap = NULL;
	if (d->state_save) {
		/* a pending write is done now, not lost */
		save_state_now(d);
		event_free(d->state_save);
	}
	if (d->housekeeping)
		event_free(d->housekeeping);
	media_free(d->media);
	registrar_free(d->registrar);
	dialogs_free(d->dialogs);
	bans_free(d->bans);
	auth_free(d->auth);
	qualify_free(d->qualify);
	sip_socket_close(d->sip);
	if (d->sig_hup)
		event_free(d->sig_hup);
	if (d->sig_term)
		event_free(d->sig_term);
	if (d->sig_int)
		event_free(d->sig_int);
	if (d->watchdog)
		event_free(d->watchdog);
	if (d->lan_addr_retry)
		event_free(d->lan_addr_retry);
	/* Free the resolver without calling back into the modules below, then
	 * the modules that had lookups in flight. */
	trunks_free(d->trunks);
	if (d->dns)
		evdns_base_free(d->dns, 0);
	dnscache_free(d->dnscache);
	externaddr_free(d->external);
	if (d->base)
		event_base_free(d->base);
	conf_free(d->conf);
	secret_free();
	memset(d, 0, sizeof(*d));
}
