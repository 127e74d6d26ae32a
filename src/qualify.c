/*
 * qualify: the one place sipnatd originates requests. Beside the SIP path:
 * pings leave through the SIP socket with sipnatd's own branch, and their
 * responses come back through the dispatcher, which hands them here once it
 * has removed that Via.
 */
#include "qualify.h"

#include "daemon.h"
#include "log.h"
#include "netaddr.h"
#include "secret.h"
#include "sip_branch.h"
#include "sip_reply.h"
#include "sip_socket.h"

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
	struct sockaddr_in addr;
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
	struct daemon *d;
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

static void send_ping(struct target *t)
{
	struct daemon *d = t->q->d;
	struct in_addr adv;
	char ip[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN], cseq[16], branch[BRANCH_MAX], msg[3072];

	if (!daemon_advertised_addr(d, t->addr.sin_addr, &adv))
		return; /* nothing to say who we are yet; the timeout will tell */
	inet_ntop(AF_INET, &adv, ip, sizeof(ip));
	inet_ntop(AF_INET, &t->addr.sin_addr, dst, sizeof(dst));
	snprintf(cseq, sizeof(cseq), "%u", t->cseq);
	if (branch_make_own(t->call_id, cseq, branch, sizeof(branch)) != 0)
		return;
	char target[600];
	if (*t->ruri)
		snprintf(target, sizeof(target), "%s", t->ruri);
	else
		snprintf(target, sizeof(target), "sip:%s:%u", dst, ntohs(t->addr.sin_port));
	int n = snprintf(msg, sizeof(msg),
			 "OPTIONS %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:%u;rport;branch=%s\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:sipnatd@%s:%u>;tag=%s\r\n"
			 "To: <%s>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u OPTIONS\r\n"
			 "User-Agent: %s\r\n"
			 "Content-Length: 0\r\n\r\n",
			 target, ip, d->conf->bindport, branch, ip, d->conf->bindport, t->from_tag, target,
			 t->call_id, t->cseq, d->conf->useragent ? d->conf->useragent : SIP_SERVER_NAME);
	if (n > 0 && (size_t)n < sizeof(msg))
		sip_socket_send(d->sip, msg, (size_t)n, &t->addr);
}

static void set_status(struct target *t, enum qualify_status status)
{
	char addr[NETADDR_STRLEN];

	if (status == t->status)
		return;
	if (status == QUALIFY_OK)
		log_notice("%s at %s is reachable (%d ms)", t->name, netaddr_format(&t->addr, addr),
			   t->rtt_ms);
	else
		log_warn("%s at %s is UNREACHABLE: no answer to OPTIONS within %d s", t->name,
			 netaddr_format(&t->addr, addr), TIMER_F_MS / 1000);
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

struct qualify *qualify_new(struct daemon *d)
{
	struct qualify *q = calloc(1, sizeof(*q));

	if (q)
		q->d = d;
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
		  const struct sockaddr_in *addr, int freq_s)
{
	struct target *t = find(q, name);
	char token[17];

	if (t && netaddr_equal(&t->addr, addr) && t->freq_s == freq_s &&
	    strcmp(t->ruri, ruri ? ruri : "") == 0)
		return 0;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -1;
		t->q = q;
		t->timer = evtimer_new(q->d->base, timer_cb, t);
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
