/*
 * portmap: the router conversation of general.portmap, beside the SIP and
 * RTP paths (nothing here sees a datagram).
 *
 * Why a worker thread: miniupnpc's calls block (SSDP discovery waits up to
 * 1.5 s, every SOAP request is a TCP connection with seconds of socket
 * timeout), and a router that has gone away costs each request its full
 * timeout. Cut into timer-driven steps they would still block the loop for
 * as long as one call takes; in a thread they block nobody. The thread owns
 * the protocol instance and the table of ports; it takes the wanted state
 * from the loop under a mutex, hands back a copy of the table, its log lines
 * and the router's address, and wakes the loop through a pipe (libevent is
 * never touched from the thread). The loop does the logging and feeds
 * externaddr.
 *
 * Why the whole pool up front, not port by port per call: a call's media
 * then works from its first packet, with no router round trip on the call
 * path and no hook in the media code; NAT-PMP and UPnP-IGD have no ranges,
 * so the count is bounded (CONF_PORTMAP_MAX_PORTS, checked by conf.c) to keep
 * a router's table from being flooded.
 */
#include "portmap.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORTMAP_LOGQ 32             /* log lines the loop has not taken yet */
#define PORTMAP_LOG_MAX 512
#define PORTMAP_STOP_BUDGET_S 5     /* removing the mappings at stop takes at most this */
#define PORTMAP_PUBLISH_EVERY 32    /* requests between two copies of the table */

struct want {
	enum conf_portmap mode;
	int lease_s;
	uint16_t sip_port;
	int rtpstart, rtpend;
	struct in_addr lan;
};

/* The worker's own state; only the thread touches it. */
struct worker {
	struct want want;
	unsigned gen;
	const struct portmap_proto_ops *ops;
	void *ctx;
	struct portmap_table table;
	time_t open_at;                /* next discovery */
	unsigned open_fails;
	time_t check_at;               /* next question for the address */
	bool have_external;
	struct in_addr external;
	unsigned requests;             /* since the last copy to the loop */
	size_t renewed;                /* leases renewed in this round */
	bool in_round;                 /* a round of requests is under way */
	bool all_mapped_said;          /* "all N ports mapped" logged for this spell */
	bool refusal_said;             /* a refusal logged for this spell */
	char last_error[PORTMAP_WHY_MAX];
};

struct portmap {
	struct event_base *base;
	struct externaddr *ea;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int wake[2];
	struct event *wake_ev;

	/* loop -> worker, under mu */
	struct want want;
	unsigned want_gen;
	bool stop;

	/* worker -> loop, under mu */
	struct portmap_status st;
	struct portmap_entry *shown;
	size_t shown_count;
	struct {
		int level;
		char text[PORTMAP_LOG_MAX];
	} logq[PORTMAP_LOGQ];
	size_t logq_count;
	unsigned long logq_dropped;
	unsigned ext_gen;              /* bumped with each new address the router reports */
	struct in_addr ext_reported;

	const struct portmap_proto_ops *const *protocols; /* NULL: by the mode */

	/* the loop's own */
	bool externip_auto;
	unsigned ext_gen_seen;
	bool warned_addr_valid;
	struct in_addr warned_addr;    /* the unusable address last warned about */
};

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void wake_loop(struct portmap *pm)
{
	char c = 1;

	/* a full pipe already holds a wake-up */
	if (write(pm->wake[1], &c, 1) < 0 && errno != EAGAIN)
		return;
}

/* A log line from the worker, logged by the loop (wake_cb). */
static void wlog(struct portmap *pm, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void wlog(struct portmap *pm, int level, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&pm->mu);
	if (pm->logq_count < PORTMAP_LOGQ) {
		pm->logq[pm->logq_count].level = level;
		va_start(ap, fmt);
		vsnprintf(pm->logq[pm->logq_count].text, PORTMAP_LOG_MAX, fmt, ap);
		va_end(ap);
		pm->logq_count++;
	} else {
		pm->logq_dropped++;
	}
	pthread_mutex_unlock(&pm->mu);
	wake_loop(pm);
}

static const char *mode_text(enum conf_portmap mode)
{
	return mode == CONF_PORTMAP_PCP ? "pcp (asked as NAT-PMP)" : conf_portmap_name(mode);
}

/* The protocols tried, in order, for a mode; NULL-terminated. */
static const struct portmap_proto_ops *const *mode_protocols(enum conf_portmap mode)
{
	static const struct portmap_proto_ops *const upnp[] = { &portmap_upnp_ops, NULL };
	static const struct portmap_proto_ops *const natpmp[] = { &portmap_natpmp_ops, NULL };
	static const struct portmap_proto_ops *const both[] = { &portmap_upnp_ops,
								 &portmap_natpmp_ops, NULL };
	static const struct portmap_proto_ops *const none[] = { NULL };

	switch (mode) {
	case CONF_PORTMAP_UPNP:
		return upnp;
	case CONF_PORTMAP_NATPMP:
	case CONF_PORTMAP_PCP:
		return natpmp;
	case CONF_PORTMAP_AUTO:
		return both;
	case CONF_PORTMAP_OFF:
		break;
	}
	return none;
}

/* ---- the worker ---- */

static void publish(struct portmap *pm, struct worker *w, time_t now);

static void close_router(struct worker *w)
{
	if (w->ctx)
		w->ops->close(w->ctx);
	w->ctx = NULL;
	w->ops = NULL;
	w->in_round = false;
}

static void fail_note(struct worker *w, const char *why)
{
	snprintf(w->last_error, sizeof(w->last_error), "%s", why);
}

/* The router stopped answering: look for it again (from scratch: it may
 * have restarted on another port); the mappings are made again once found. */
static void lose_router(struct portmap *pm, struct worker *w, time_t now, const char *why)
{
	wlog(pm, LOG_WARNING, "portmap: the router (%s at %s) stopped answering: %s; looking for it again",
	     w->ops->name, w->ops->router(w->ctx), why);
	fail_note(w, why);
	close_router(w);
	w->open_at = now + PORTMAP_RETRY_MIN_S;
	w->open_fails = 0;
}

/* Remove every mapping made, within a time budget; the router keeps the
 * rest only until their leases run out. */
static void unmap_all(struct portmap *pm, struct worker *w, const char *why_removed)
{
	time_t deadline = mono_now() + PORTMAP_STOP_BUDGET_S;
	size_t removed = 0, left = 0;
	char why[PORTMAP_WHY_MAX] = "";

	if (!w->ctx)
		return;
	if (w->ops->unmap_all && w->ops->unmap_all(w->ctx, why) == PORTMAP_OK) {
		for (size_t i = 0; i < w->table.count; i++)
			if (w->table.entry[i].mapped) {
				w->table.entry[i].mapped = false;
				removed++;
			}
	}
	for (size_t i = 0; i < w->table.count; i++) {
		struct portmap_entry *e = &w->table.entry[i];
		if (!e->mapped)
			continue;
		if (mono_now() >= deadline) {
			left++;
			continue;
		}
		enum portmap_result r = w->ops->unmap(w->ctx, e->port, why);
		if (r == PORTMAP_OK) {
			e->mapped = false;
			removed++;
		} else if (r == PORTMAP_UNREACHABLE) {
			left++;
			deadline = 0; /* no answer: do not wait for the others either */
		} else {
			left++;
		}
	}
	if (left)
		wlog(pm, LOG_WARNING, "portmap: %s: removed %zu mappings from %s, %zu left to lapse with their lease (%s)",
		     why_removed, removed, w->ops->router(w->ctx), left, why[0] ? why : "out of time");
	else
		wlog(pm, LOG_NOTICE, "portmap: %s: removed %zu mappings from %s (%s)", why_removed,
		     removed, w->ops->router(w->ctx), w->ops->name);
}

static void describe_ports(const struct worker *w, char *buf, size_t len)
{
	snprintf(buf, len, "UDP %u and %d-%d (%zu ports)", w->want.sip_port, w->want.rtpstart,
		 w->want.rtpend, w->table.count);
}

/* Take a new wanted state: what changed decides what is done again. */
static void adopt(struct portmap *pm, struct worker *w, const struct want *want, time_t now)
{
	bool same_ports = w->want.mode == want->mode && w->want.sip_port == want->sip_port &&
			  w->want.rtpstart == want->rtpstart && w->want.rtpend == want->rtpend &&
			  w->want.lan.s_addr == want->lan.s_addr;

	if (same_ports && w->table.entry) {
		if (w->want.lease_s != want->lease_s) {
			w->want.lease_s = want->lease_s;
			for (size_t i = 0; i < w->table.count; i++)
				w->table.entry[i].due_at = now;
		}
		return;
	}
	if (w->ctx)
		unmap_all(pm, w, want->mode == CONF_PORTMAP_OFF ? "portmap turned off"
							      : "portmap settings changed");
	close_router(w);
	portmap_plan_table_free(&w->table);
	w->want = *want;
	w->have_external = false;
	w->open_at = now;
	w->open_fails = 0;
	w->all_mapped_said = false;
	w->last_error[0] = '\0';
	if (want->mode == CONF_PORTMAP_OFF)
		return;
	if (!portmap_plan_table_init(&w->table, want->sip_port, want->rtpstart, want->rtpend,
				     CONF_PORTMAP_MAX_PORTS, now))
		wlog(pm, LOG_ERR, "portmap: cannot keep the table of ports (out of memory or too many ports)");
}

static bool stopping(struct portmap *pm)
{
	bool stop;

	pthread_mutex_lock(&pm->mu);
	stop = pm->stop;
	pthread_mutex_unlock(&pm->mu);
	return stop;
}

static void find_router(struct portmap *pm, struct worker *w)
{
	const struct portmap_proto_ops *const *ops = pm->protocols ? pm->protocols
								 : mode_protocols(w->want.mode);
	char why[PORTMAP_WHY_MAX], all[2 * PORTMAP_WHY_MAX + 32] = "", ports[96];
	time_t now;

	for (; *ops && !stopping(pm); ops++) {
		void *ctx = (*ops)->open(w->want.lan, why);
		if (ctx) {
			w->ops = *ops;
			w->ctx = ctx;
			break;
		}
		size_t used = strlen(all);
		snprintf(all + used, sizeof(all) - used, "%s%s: %s", used ? "; " : "", (*ops)->name, why);
	}
	now = mono_now(); /* a search that found nothing may have taken seconds */
	if (!w->ctx) {
		w->open_fails++;
		int retry = portmap_plan_retry_s(w->open_fails);
		w->open_at = now + retry;
		fail_note(w, all);
		/* once per spell; the service goes on without the router */
		if (w->open_fails == 1)
			wlog(pm, LOG_WARNING, "portmap: no router answered for portmap = \"%s\" (%s); "
			     "sipnatd goes on, but the SIP port and the relay pool reach it from the Internet only if forwarded by hand; trying again in %d s, then less often",
			     conf_portmap_name(w->want.mode), all, retry);
		return;
	}
	describe_ports(w, ports, sizeof(ports));
	wlog(pm, LOG_NOTICE, "portmap: found a %s router at %s%s; mapping %s, lease %d s",
	     w->ops->name, w->ops->router(w->ctx),
	     w->want.mode == CONF_PORTMAP_PCP ? " (portmap = \"pcp\" asks in NAT-PMP's form)" : "",
	     ports, w->want.lease_s);
	w->open_fails = 0;
	w->check_at = now;
	w->all_mapped_said = false;
	w->refusal_said = false;
	portmap_plan_lost_all(&w->table, now);
}

/* Ask for the external address, which also shows a router that restarted. */
static void check_router(struct portmap *pm, struct worker *w, time_t now)
{
	char why[PORTMAP_WHY_MAX];
	struct in_addr addr;
	bool lost = false, present = true;
	enum portmap_result r = w->ops->external(w->ctx, now, &addr, &lost, why);

	if (r == PORTMAP_UNREACHABLE) {
		lose_router(pm, w, now, why);
		return;
	}
	w->check_at = now + portmap_plan_check_s(w->want.lease_s);
	if (r == PORTMAP_OK) {
		bool changed = w->have_external && addr.s_addr != w->external.s_addr;
		if (!w->have_external || changed) {
			pthread_mutex_lock(&pm->mu);
			pm->ext_gen++;
			pm->ext_reported = addr;
			pthread_mutex_unlock(&pm->mu);
			wake_loop(pm);
		}
		if (changed) {
			char was[INET_ADDRSTRLEN], is[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &w->external, was, sizeof(was));
			inet_ntop(AF_INET, &addr, is, sizeof(is));
			wlog(pm, LOG_NOTICE, "portmap: the router's external address changed from %s to %s; making the mappings again",
			     was, is);
			lost = true;
		}
		w->external = addr;
		w->have_external = true;
	} else {
		fail_note(w, why);
	}
	/* IGD answers tell no restart: is the SIP port's mapping still there? */
	if (!lost && w->ops->present && w->table.count && w->table.entry[0].mapped) {
		r = w->ops->present(w->ctx, w->table.entry[0].port, &present, why);
		if (r == PORTMAP_UNREACHABLE) {
			lose_router(pm, w, now, why);
			return;
		}
		lost = r == PORTMAP_OK && !present;
		if (lost)
			wlog(pm, LOG_WARNING, "portmap: the router no longer has sipnatd's mapping of UDP %u (restarted?); making the mappings again",
			     w->table.entry[0].port);
	} else if (lost && !w->ops->present) {
		wlog(pm, LOG_WARNING, "portmap: the router lost its mappings (its NAT-PMP epoch went back: restarted); making them again");
	}
	if (lost) {
		portmap_plan_lost_all(&w->table, now);
		w->all_mapped_said = false;
	}
	publish(pm, w, now); /* the address and the router's state, for sipnatctl at once */
}

static void map_one(struct portmap *pm, struct worker *w, struct portmap_entry *e, time_t now)
{
	char why[PORTMAP_WHY_MAX];
	int granted = 0;
	uint16_t public_port = 0;
	bool renewal = e->mapped;
	enum portmap_result r = w->ops->map(w->ctx, e->port, w->want.lease_s, &granted, &public_port, why);

	w->requests++;
	if (r == PORTMAP_UNREACHABLE) {
		lose_router(pm, w, now, why);
		return;
	}
	if (r == PORTMAP_REFUSED) {
		portmap_plan_failed(e, now);
		fail_note(w, why);
		if (!w->refusal_said)
			wlog(pm, LOG_WARNING, "portmap: the router refused UDP %u: %s (retrying in %d s; further refusals at debug level)",
			     e->port, why, portmap_plan_retry_s(e->fails));
		else
			wlog(pm, LOG_DEBUG, "portmap: the router refused UDP %u: %s", e->port, why);
		w->refusal_said = true;
		return;
	}
	portmap_plan_granted(e, now, granted, public_port);
	if (public_port != e->port)
		wlog(pm, LOG_WARNING, "portmap: the router mapped UDP %u to public port %u, not the same port: what sipnatd advertises does not reach it",
		     e->port, public_port);
	if (renewal)
		w->renewed++;
}

/* Log the end of a round: everything mapped, or renewed. */
static void round_done(struct portmap *pm, struct worker *w, time_t now)
{
	long min_left, max_left;
	size_t mapped = portmap_plan_mapped(&w->table, now, &min_left, &max_left);

	if (!w->all_mapped_said && mapped == w->table.count) {
		char ports[96];
		describe_ports(w, ports, sizeof(ports));
		wlog(pm, LOG_NOTICE, "portmap: mapped %s on %s to this host, %s",
		     ports, w->ops->router(w->ctx),
		     max_left < 0 ? "permanent (the router keeps no timers)" : "lease renewed at half its lifetime");
		w->all_mapped_said = true;
		w->refusal_said = false;
		w->renewed = 0;
	} else if (w->renewed) {
		wlog(pm, LOG_INFO, "portmap: renewed %zu leases on %s (%zu of %zu ports mapped, %ld-%ld s left)",
		     w->renewed, w->ops->router(w->ctx), mapped, w->table.count, min_left, max_left);
		w->renewed = 0;
	}
}

/* One step: at most one router conversation, so that a stop or a reload is
 * seen between two requests. */
static void step(struct portmap *pm, struct worker *w, time_t now)
{
	struct portmap_entry *e;

	if (w->want.mode == CONF_PORTMAP_OFF || !w->table.entry)
		return;
	if (!w->ctx) {
		if (now >= w->open_at)
			find_router(pm, w);
		return;
	}
	if (now >= w->check_at) {
		check_router(pm, w, now);
		return;
	}
	e = portmap_plan_due(&w->table, now, w->in_round ? portmap_plan_batch_s(w->want.lease_s) : 0);
	if (e) {
		w->in_round = true;
		map_one(pm, w, e, now);
		return;
	}
	if (w->in_round) {
		w->in_round = false;
		round_done(pm, w, now);
	}
}

static time_t next_wakeup(const struct worker *w, time_t now)
{
	time_t next = now + 3600;

	if (w->want.mode == CONF_PORTMAP_OFF || !w->table.entry)
		return next;
	if (!w->ctx)
		return w->open_at;
	if (w->in_round)
		return now; /* finish the round */
	next = portmap_plan_next_due(&w->table, next);
	return w->check_at < next ? w->check_at : next;
}

/* Hand the loop a copy of the state (under mu). */
static void publish(struct portmap *pm, struct worker *w, time_t now)
{
	long min_left, max_left;
	struct portmap_status *st = &pm->st;

	pthread_mutex_lock(&pm->mu);
	st->mode = w->want.mode;
	st->protocol = w->ctx ? w->ops->name : NULL;
	snprintf(st->router, sizeof(st->router), "%s", w->ctx ? w->ops->router(w->ctx) : "");
	st->have_external = w->have_external;
	st->external = w->external;
	st->external_kind = portmap_plan_addr_kind(w->external);
	st->lease_s = w->want.lease_s;
	st->ports = w->table.count;
	st->mapped = portmap_plan_mapped(&w->table, now, &min_left, &max_left);
	snprintf(st->last_error, sizeof(st->last_error), "%s", w->last_error);
	if (w->want.mode == CONF_PORTMAP_OFF)
		st->state = "off";
	else if (!w->ctx)
		st->state = w->open_fails ? "no router" : "searching";
	else
		st->state = st->mapped == st->ports ? "mapped" : "mapping";
	if (pm->shown_count != w->table.count) {
		free(pm->shown);
		pm->shown = w->table.count ? calloc(w->table.count, sizeof(*pm->shown)) : NULL;
		pm->shown_count = pm->shown ? w->table.count : 0;
	}
	if (pm->shown_count)
		memcpy(pm->shown, w->table.entry, pm->shown_count * sizeof(*pm->shown));
	pthread_mutex_unlock(&pm->mu);
	w->requests = 0;
	wake_loop(pm);
}

static void *worker_main(void *arg)
{
	struct portmap *pm = arg;
	struct worker w = { .want.mode = CONF_PORTMAP_OFF };
	struct want want;

	pthread_mutex_lock(&pm->mu);
	for (;;) {
		if (pm->stop)
			break;
		if (pm->want_gen != w.gen) {
			want = pm->want;
			w.gen = pm->want_gen;
			pthread_mutex_unlock(&pm->mu);
			adopt(pm, &w, &want, mono_now());
			publish(pm, &w, mono_now());
			pthread_mutex_lock(&pm->mu);
			continue;
		}
		pthread_mutex_unlock(&pm->mu);

		time_t now = mono_now();
		step(pm, &w, now);
		now = mono_now();
		time_t next = next_wakeup(&w, now);
		if (next > now || w.requests >= PORTMAP_PUBLISH_EVERY || !w.ctx)
			publish(pm, &w, now);

		pthread_mutex_lock(&pm->mu);
		if (next > now && !pm->stop && pm->want_gen == w.gen) {
			struct timespec until = { .tv_sec = next };
			pthread_cond_timedwait(&pm->cv, &pm->mu, &until);
		}
	}
	pthread_mutex_unlock(&pm->mu);
	unmap_all(pm, &w, "sipnatd stops");
	close_router(&w);
	w.have_external = false;
	publish(pm, &w, mono_now());
	portmap_plan_table_free(&w.table);
	return NULL;
}

/* ---- the loop's side ---- */

/* The router's address, for externaddr when externip = "auto". */
static void adopt_external(struct portmap *pm, struct in_addr addr, enum portmap_addr_kind kind)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	if (kind == PORTMAP_ADDR_PUBLIC) {
		pm->warned_addr_valid = false;
		if (pm->externip_auto)
			externaddr_set_router(pm->ea, addr);
		else
			log_info("portmap: the router reports the external address %s (not advertised: externip is not \"auto\")", ip);
		return;
	}
	if (pm->warned_addr_valid && pm->warned_addr.s_addr == addr.s_addr)
		return;
	pm->warned_addr_valid = true;
	pm->warned_addr = addr;
	log_warn("portmap: the router reports the external address %s, %s; %s", ip,
		 portmap_plan_addr_why(kind),
		 pm->externip_auto ? externaddr_router_unusable(pm->ea)
				   : "it is not advertised (externip is not \"auto\")");
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct portmap *pm = arg;
	char buf[64];
	struct {
		int level;
		char text[PORTMAP_LOG_MAX];
	} lines[PORTMAP_LOGQ];
	size_t n;
	unsigned long dropped;
	bool ext_new;
	struct in_addr ext;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&pm->mu);
	n = pm->logq_count;
	memcpy(lines, pm->logq, n * sizeof(lines[0]));
	pm->logq_count = 0;
	dropped = pm->logq_dropped;
	pm->logq_dropped = 0;
	ext_new = pm->ext_gen != pm->ext_gen_seen;
	pm->ext_gen_seen = pm->ext_gen;
	ext = pm->ext_reported;
	pthread_mutex_unlock(&pm->mu);

	for (size_t i = 0; i < n; i++)
		log_msg(lines[i].level, "%s", lines[i].text);
	if (dropped)
		log_warn("portmap: %lu log lines of the router conversation were dropped", dropped);
	if (ext_new)
		adopt_external(pm, ext, portmap_plan_addr_kind(ext));
}

static void want_from(struct want *want, const struct conf *conf)
{
	want->mode = conf->portmap;
	want->lease_s = conf->portmaplease_s;
	want->sip_port = conf->bindport;
	want->rtpstart = conf->rtpstart;
	want->rtpend = conf->rtpend;
	want->lan = conf->bindaddr;
}

struct portmap *portmap_new(struct event_base *base, const struct conf *conf, struct externaddr *ea)
{
	return portmap_new_with(base, conf, ea, NULL);
}

struct portmap *portmap_new_with(struct event_base *base, const struct conf *conf,
				 struct externaddr *ea,
				 const struct portmap_proto_ops *const *protocols)
{
	struct portmap *pm = calloc(1, sizeof(*pm));
	pthread_condattr_t ca;

	if (!pm)
		return NULL;
	pm->base = base;
	pm->ea = ea;
	pm->protocols = protocols;
	pm->wake[0] = pm->wake[1] = -1;
	pm->st.state = "off";
	pthread_mutex_init(&pm->mu, NULL);
	/* the worker's deadlines are on the monotonic clock */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pm->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pipe2(pm->wake, O_NONBLOCK | O_CLOEXEC) != 0)
		goto fail;
	pm->wake_ev = event_new(base, pm->wake[0], EV_READ | EV_PERSIST, wake_cb, pm);
	if (!pm->wake_ev || event_add(pm->wake_ev, NULL) != 0)
		goto fail;
	want_from(&pm->want, conf);
	pm->want_gen = 1;
	pm->externip_auto = conf->externip_auto;
	/* signals are the loop's (evsignal): the worker takes none */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&pm->thread, NULL, worker_main, pm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail;
	pm->thread_started = true;
	if (conf->portmap != CONF_PORTMAP_OFF)
		log_notice("portmap: asking the router for UDP %u and %d-%d (portmap = \"%s\")",
			   conf->bindport, conf->rtpstart, conf->rtpend, mode_text(conf->portmap));
	return pm;
fail:
	portmap_free(pm);
	return NULL;
}

void portmap_reconfigure(struct portmap *pm, const struct conf *conf)
{
	struct want was;

	pthread_mutex_lock(&pm->mu);
	was = pm->want;
	want_from(&pm->want, conf);
	/* the SIP socket stays where it is until a restart (daemon.c) */
	pm->want.sip_port = was.sip_port;
	pm->want.lan = was.lan;
	pm->want_gen++;
	pthread_cond_signal(&pm->cv);
	pthread_mutex_unlock(&pm->mu);
	if (pm->externip_auto != conf->externip_auto) {
		pm->externip_auto = conf->externip_auto;
		pthread_mutex_lock(&pm->mu);
		if (pm->ext_gen) /* the address is judged again on the next wake-up */
			pm->ext_gen_seen = pm->ext_gen - 1;
		pthread_mutex_unlock(&pm->mu);
		wake_loop(pm);
	}
}

void portmap_status(struct portmap *pm, struct portmap_status *st)
{
	pthread_mutex_lock(&pm->mu);
	*st = pm->st;
	pthread_mutex_unlock(&pm->mu);
}

size_t portmap_entries(struct portmap *pm, struct portmap_entry *out, size_t max, time_t *now)
{
	size_t n;

	pthread_mutex_lock(&pm->mu);
	n = pm->shown_count < max ? pm->shown_count : max;
	if (n)
		memcpy(out, pm->shown, n * sizeof(*out));
	pthread_mutex_unlock(&pm->mu);
	*now = mono_now();
	return n;
}

void portmap_free(struct portmap *pm)
{
	if (!pm)
		return;
	if (pm->thread_started) {
		pthread_mutex_lock(&pm->mu);
		pm->stop = true;
		pthread_cond_signal(&pm->cv);
		pthread_mutex_unlock(&pm->mu);
		pthread_join(pm->thread, NULL);
		/* what the worker said on its way out */
		wake_cb(pm->wake[0], EV_READ, pm);
	}
	if (pm->wake_ev)
		event_free(pm->wake_ev);
	if (pm->wake[0] >= 0)
		close(pm->wake[0]);
	if (pm->wake[1] >= 0)
		close(pm->wake[1]);
	pthread_cond_destroy(&pm->cv);
	pthread_mutex_destroy(&pm->mu);
	free(pm->shown);
	free(pm);
}
