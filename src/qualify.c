/*
 * qualify: the one place sipnatd originates requests. Beside the SIP path:
 * pings leave through the environment's send (the SIP socket in the daemon)
 * with sipnatd's own branch, and their
 * responses come back through the dispatcher, which hands them here once it
 * has removed that Via.
 */
#include "qualify.h"

#include "advertise.h"
#include "log.h"
#include "netaddr.h"
#include "secret.h"
#include "sip_branch.h"
#include "sip_reply.h"
#include "sipmsg.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T1_MS 500
#define T2_MS 4000
#define TIMER_F_MS (64 * T1_MS)

struct target {
	char name[64];
	char ruri[512];          /* Request-URI; "" = sip:<addr> */
	struct netaddr addr;     /* either family */
	int freq_s;
	enum qualify_status status;
	int rtt_ms;
	char call_id[64];
	char from_tag[24];
	unsigned cseq;
	long sent_ms;           /* when the current ping was first sent; 0 = none out */
	int interval_ms;        /* current retransmission interval */
	struct event *timer;
	struct qualify *q;
	struct target *next;
};

struct qualify {
	struct event_base *base;
	const struct sip_env *env;
	struct target *targets;
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void arm(struct target *t, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	evtimer_add(t->timer, &tv);
}

/* The top Via: sipnatd's own address and branch (rport: RFC 3581 section 3). */
static int add_via(osip_message_t *msg, const char *ip, const char *port, const char *branch,
		   enum sip_transport transport)
{
	osip_via_t *via = NULL;

	if (osip_via_init(&via) != 0)
		return -1;
	via_set_version(via, osip_strdup("2.0"));
	via_set_protocol(via, osip_strdup(sip_transport_via_name(transport)));
	via_set_host(via, osip_strdup(ip));
	via_set_port(via, osip_strdup(port));
	if (osip_via_param_add(via, osip_strdup("rport"), NULL) != 0 ||
	    osip_via_param_add(via, osip_strdup("branch"), osip_strdup(branch)) != 0 ||
	    osip_list_add(&msg->vias, via, -1) < 0) {
		osip_via_free(via);
		return -1;
	}
	return 0;
}

/* From <sip:sipnatd@ip:port>;tag=..., To <target>. */
static int add_from_to(osip_message_t *msg, const struct target *t, const char *ip, const char *port)
{
	osip_uri_t *uri = NULL;

	if (osip_from_init(&msg->from) != 0 || osip_uri_init(&uri) != 0)
		return -1;
	osip_from_set_url(msg->from, uri);
	osip_uri_set_scheme(uri, osip_strdup("sip"));
	osip_uri_set_username(uri, osip_strdup("sipnatd"));
	osip_uri_set_host(uri, osip_strdup(ip));
	osip_uri_set_port(uri, osip_strdup(port));
	if (osip_from_set_tag(msg->from, osip_strdup(t->from_tag)) != 0)
		return -1;
	if (osip_to_init(&msg->to) != 0 || osip_uri_clone(msg->req_uri, &uri) != 0)
		return -1;
	osip_to_set_url(msg->to, uri);
	return 0;
}

/* The configured Request-URI, or sip:<addr>:<port> of the target. */
static int set_request_uri(osip_uri_t *uri, const struct target *t)
{
	char host[NETADDR_HOST_MAX], port[8];

	if (*t->ruri)
		return osip_uri_parse(uri, t->ruri) == 0 ? 0 : -1;
	/* libosip2 brackets an IPv6 host itself when it writes the URI */
	netaddr_ip_text(&t->addr, host);
	snprintf(port, sizeof(port), "%u", t->addr.port);
	osip_uri_set_scheme(uri, osip_strdup("sip"));
	osip_uri_set_host(uri, osip_strdup(host));
	osip_uri_set_port(uri, osip_strdup(port));
	return 0;
}

/* The ping as a libosip2 message (caller frees), or NULL: out of memory or a
 * Request-URI that does not parse. */
static osip_message_t *build_ping(const struct target *t, const struct netaddr *dest,
				  const struct netaddr *adv)
{
	const struct conf *conf = t->q->env->conf;
	char ip[NETADDR_HOST_MAX], port[8], cseq[16], branch[BRANCH_MAX];
	osip_message_t *msg = NULL;
	osip_uri_t *ruri = NULL;

	/* a phone on TCP/TLS is pinged over its connection: the Via says so,
	 * with that listener's port (issue 15) */
	enum sip_transport transport = t->q->env->transport_to
		? t->q->env->transport_to(t->q->env->transport_arg, dest) : SIP_TRANSPORT_UDP;
	uint16_t own_port = transport == SIP_TRANSPORT_TCP ? ntohs(conf->tcpbind.sin_port)
			  : transport == SIP_TRANSPORT_TLS ? ntohs(conf->tlsbind.sin_port) : conf->bindport;

	netaddr_ip_text(adv, ip); /* bare: libosip2 brackets an IPv6 host (v6sip call site) */
	snprintf(port, sizeof(port), "%u", own_port);
	snprintf(cseq, sizeof(cseq), "%u", t->cseq);
	if (sip_branch_make_own(t->call_id, cseq, branch, sizeof(branch)) != 0)
		return NULL;
	if (osip_message_init(&msg) != 0)
		return NULL;
	osip_message_set_method(msg, osip_strdup("OPTIONS"));
	osip_message_set_version(msg, osip_strdup("SIP/2.0"));
	if (osip_uri_init(&ruri) != 0)
		goto fail;
	osip_message_set_uri(msg, ruri);
	if (set_request_uri(ruri, t) != 0 || add_via(msg, ip, port, branch, transport) != 0 ||
	    osip_message_set_max_forwards(msg, "70") != 0 || add_from_to(msg, t, ip, port) != 0)
		goto fail;
	if (osip_call_id_init(&msg->call_id) != 0)
		goto fail;
	osip_call_id_set_number(msg->call_id, osip_strdup(t->call_id));
	if (osip_cseq_init(&msg->cseq) != 0)
		goto fail;
	osip_cseq_set_number(msg->cseq, osip_strdup(cseq));
	osip_cseq_set_method(msg->cseq, osip_strdup("OPTIONS"));
	if (osip_message_set_user_agent(msg, conf->useragent ? conf->useragent : SIP_SERVER_NAME) != 0)
		goto fail;
	return msg;
fail:
	osip_message_free(msg);
	return NULL;
}

static void send_ping(struct target *t)
{
	const struct sip_env *env = t->q->env;
	struct netaddr adv;
	char *buf = NULL;
	size_t len = 0;

	/* sipnatd's address of the target's family (issue 20) */
	if (!advertise_toward(env->advertise, &t->addr, &adv))
		return; /* nothing to say who we are yet; the timeout will tell */
	osip_message_t *msg = build_ping(t, &t->addr, &adv);
	if (!msg) {
		log_debug("cannot build the OPTIONS ping for %s", t->name);
		return; /* the timeout will tell */
	}
	if (sipmsg_serialize(msg, &buf, &len) == 0)
		env->send(env->send_arg, buf, len, &t->addr);
	osip_free(buf);
	osip_message_free(msg);
}

static void set_status(struct target *t, enum qualify_status status)
{
	char addr[NETADDR_TEXT_MAX];

	if (status == t->status)
		return;
	if (status == QUALIFY_OK)
		log_notice("%s at %s is reachable (%d ms)", t->name, netaddr_print(&t->addr, addr),
			   t->rtt_ms);
	else
		log_warn("%s at %s is UNREACHABLE: no answer to OPTIONS within %d s", t->name,
			 netaddr_print(&t->addr, addr), TIMER_F_MS / 1000);
	t->status = status;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct target *t = arg;
	long now = now_ms();

	if (!t->sent_ms) {
		/* time for a new ping: a new transaction */
		t->cseq++;
		t->sent_ms = now;
		t->interval_ms = T1_MS;
		send_ping(t);
		arm(t, t->interval_ms);
		return;
	}
	if (now - t->sent_ms >= TIMER_F_MS) {
		t->sent_ms = 0;
		set_status(t, QUALIFY_UNREACHABLE);
		arm(t, (long)t->freq_s * 1000);
		return;
	}
	send_ping(t);
	t->interval_ms = t->interval_ms * 2 > T2_MS ? T2_MS : t->interval_ms * 2;
	long left = TIMER_F_MS - (now - t->sent_ms);
	arm(t, t->interval_ms < left ? t->interval_ms : left);
}

struct qualify *qualify_new(struct event_base *base, const struct sip_env *env)
{
	struct qualify *q = calloc(1, sizeof(*q));

	if (q) {
		q->base = base;
		q->env = env;
	}
	return q;
}

static struct target *find(const struct qualify *q, const char *name)
{
	for (struct target *t = q->targets; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

int qualify_watch(struct qualify *q, const char *name, const char *ruri,
		  const struct netaddr *addr, int freq_s)
{
	struct target *t = find(q, name);
	char token[17];

	if (t && netaddr_same(&t->addr, addr) && t->freq_s == freq_s &&
	    strcmp(t->ruri, ruri ? ruri : "") == 0)
		return 0;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -1;
		t->q = q;
		t->timer = evtimer_new(q->base, timer_cb, t);
		if (!t->timer) {
			free(t);
			return -1;
		}
		snprintf(t->name, sizeof(t->name), "%s", name);
		const char *parts[] = { "qualify", name };
		secret_token(parts, 2, token, 16);
		/* no "@host": libosip2 splits the Call-ID there, and the branch is
		 * made from the whole of it */
		snprintf(t->call_id, sizeof(t->call_id), "%s-sipnatd-qualify", token);
		snprintf(t->from_tag, sizeof(t->from_tag), "%.10s", token + 6);
		t->next = q->targets;
		q->targets = t;
	}
	snprintf(t->ruri, sizeof(t->ruri), "%s", ruri ? ruri : "");
	t->addr = *addr;
	t->freq_s = freq_s;
	t->status = QUALIFY_UNKNOWN;
	t->sent_ms = 0;
	evtimer_del(t->timer);
	arm(t, 0);
	return 0;
}

void qualify_unwatch(struct qualify *q, const char *name)
{
	for (struct target **pp = &q->targets; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			struct target *t = *pp;
			*pp = t->next;
			event_free(t->timer);
			free(t);
			return;
		}
	}
}

void qualify_retain(struct qualify *q, bool (*keep)(void *arg, const char *name), void *arg)
{
	for (struct target **pp = &q->targets; *pp;) {
		struct target *t = *pp;
		if (keep(arg, t->name)) {
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		event_free(t->timer);
		free(t);
	}
}

bool qualify_response(struct qualify *q, const osip_message_t *resp)
{
	if (!resp->call_id || !resp->call_id->number || !resp->cseq || !resp->cseq->number)
		return false;
	for (struct target *t = q->targets; t; t = t->next) {
		if (strcmp(t->call_id, resp->call_id->number) != 0)
			continue;
		if ((unsigned)strtoul(resp->cseq->number, NULL, 10) != t->cseq || !t->sent_ms)
			return true; /* a late answer to an older ping */
		if (resp->status_code < 200)
			return true; /* provisional: keep waiting */
		t->rtt_ms = (int)(now_ms() - t->sent_ms);
		t->sent_ms = 0;
		set_status(t, QUALIFY_OK);
		evtimer_del(t->timer);
		arm(t, (long)t->freq_s * 1000);
		return true;
	}
	return false;
}

enum qualify_status qualify_status_of(const struct qualify *q, const char *name, int *rtt_ms)
{
	const struct target *t = find(q, name);

	if (!t)
		return QUALIFY_UNKNOWN;
	if (rtt_ms)
		*rtt_ms = t->rtt_ms;
	return t->status;
}

const char *qualify_status_name(enum qualify_status status)
{
	switch (status) {
	case QUALIFY_UNKNOWN: return "UNKNOWN";
	case QUALIFY_OK: return "OK";
	case QUALIFY_UNREACHABLE: return "UNREACHABLE";
	}
	return "?";
}

void qualify_free(struct qualify *q)
{
	if (!q)
		return;
	while (q->targets) {
		struct target *t = q->targets;
		q->targets = t->next;
		event_free(t->timer);
		free(t);
	}
	free(q);
}

void qualify_foreach(const struct qualify *q, void (*fn)(void *arg, const struct qualify_info *info),
		     void *arg)
{
	for (const struct target *t = q->targets; t; t = t->next) {
		struct qualify_info info = { .name = t->name, .addr = t->addr, .status = t->status,
					     .rtt_ms = t->rtt_ms, .freq_s = t->freq_s };
		fn(arg, &info);
	}
}
