/*
 * media: the SDP side of the relay. Sits in the rewrite step of the SIP path:
 * the forward step hands it every SDP body crossing the NAT, it keeps one
 * session per Call-ID with a relay stream per m= line, and it decides when the
 * session ends. The RTP path itself is relay.c's.
 */
#include "media.h"

#include "log.h"
#include "natdetect.h"
#include "netaddr.h"
#include "peerlimit.h"
#include "relay.h"
#include "sdp_rewrite.h"
#include "sipmsg.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SWEEP_S 2
/* Learning a NATed phone's source drops its first few packets (probation,
 * early RTCP): normal, not worth a line of its own while the call runs. */
#define DROPS_WORTH_A_LINE 16
/* Call-ID hash buckets: every SIP message looks its session up, so the lookup
 * must not grow with the number of calls in progress. */
#define SESSION_BUCKETS 4096

struct session {
	char *call_id;             /* whole: Call-IDs have no length limit */
	struct relay_stream *streams[SDP_MAX_MEDIA];
	size_t count;              /* m= lines seen */
	bool confirmed;            /* a 2xx to the INVITE passed */
	bool answered;             /* any response to the INVITE passed */
	bool hold;                 /* the last SDP put every stream on hold */
	bool direct;               /* directmedia peer: signalling only, no relay */
	bool comedia;              /* the peer's nat asks to learn the remote media source */
	unsigned nat_evidence;     /* natdetect bits seen in the remote party's messages */
	bool drops_reported;       /* the live drop line was logged for this call */
	char *peer;                /* the Internet party's peer name, NULL when none */
	int maxrelays;             /* its relay cap when the session was made (0 = none) */
	unsigned invite_cseq;      /* of the INVITE that made it (R21) */
	uint64_t created_ms;
	struct session *next, *prev;  /* every session, newest first */
	struct session *bucket_next;  /* same Call-ID hash bucket */
};

_Static_assert(SDP_MAX_MEDIA_INFO == SDP_MAX_MEDIA, "media_call_info holds every stream");

struct media {
	struct relay *relay;
	struct media_totals ended;   /* what sessions carried before they ended */
	struct event *sweep;
	bool strict;
	int timeout_s, hold_timeout_s;
	struct session *sessions;
	struct session *buckets[SESSION_BUCKETS];
	size_t count;
};

static struct log_limit pool_limit = LOG_LIMIT_INIT(60, 5);
static struct log_limit limit_limit = LOG_LIMIT_INIT(60, 5);
static struct log_limit drop_limit = LOG_LIMIT_INIT(60, 10);
static struct log_limit natdetect_limit = LOG_LIMIT_INIT(60, 10);

static void end_session(struct media *m, struct session *s, const char *why);

static struct session **bucket_of(struct media *m, const char *call_id)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *c = call_id; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return &m->buckets[h % SESSION_BUCKETS];
}

static struct session *find(struct media *m, const char *call_id)
{
	for (struct session *s = *bucket_of(m, call_id); s; s = s->bucket_next)
		if (strcmp(s->call_id, call_id) == 0)
			return s;
	return NULL;
}

/* The session joins the table (at the head of the list, as before). */
static void add_session(struct media *m, struct session *s)
{
	struct session **bucket = bucket_of(m, s->call_id);

	s->prev = NULL;
	s->next = m->sessions;
	if (m->sessions)
		m->sessions->prev = s;
	m->sessions = s;
	s->bucket_next = *bucket;
	*bucket = s;
	m->count++;
}

static void remove_session(struct media *m, struct session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		m->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	for (struct session **pp = bucket_of(m, s->call_id); *pp; pp = &(*pp)->bucket_next) {
		if (*pp == s) {
			*pp = s->bucket_next;
			break;
		}
	}
	m->count--;
}

/* " (last from 203.0.113.50:40312: not from the signalled IP)", or "";
 * an IPv6 source as "[2001:db8::5]:40312". */
static const char *format_drop(const struct relay_stream_stats *st, char *buf, size_t len)
{
	char from[NETADDR_TEXT_MAX];

	if (st->drop_why == RELAY_DROP_NONE) {
		buf[0] = '\0';
		return buf;
	}
	if (st->drop_from.family)
		snprintf(buf, len, " (last from %s: %s)", netaddr_print(&st->drop_from, from),
			 relay_drop_name(st->drop_why));
	else
		snprintf(buf, len, " (last: %s)", relay_drop_name(st->drop_why));
	return buf;
}

/* While a call runs, the first time one of its streams drops packets
 * because of their source, say so (rate-limited): an admin listening to
 * dead air should not have to wait for the hang-up to learn why. */
static void report_drops(struct session *s, const struct relay_stream_stats *st)
{
	char why[128];

	if (s->drops_reported || st->source_dropped < DROPS_WORTH_A_LINE)
		return;
	s->drops_reported = true;
	log_limited(&drop_limit, LOG_NOTICE, "call %s: relay port %u drops packets%s", s->call_id,
		    st->port, format_drop(st, why, sizeof(why)));
}

/* Media timeouts and unanswered offers, checked every few seconds. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct media *m = arg;
	uint64_t now = relay_now_ms();

	for (struct session *s = m->sessions, *next; s; s = next) {
		next = s->next;
		if (!s->confirmed) {
			/* no response at all within Timer B: the far end is not there
			 * (a dead PBX gives no ICMP we see) and the pair is wanted */
			if (!s->answered && now - s->created_ms > MEDIA_NO_RESPONSE_S * 1000u)
				end_session(m, s, "no response (Timer B)");
			else if (now - s->created_ms > MEDIA_ANSWER_TIMEOUT_S * 1000u)
				end_session(m, s, "never answered");
			continue;
		}
		if (s->direct)
			continue; /* no media here to time out; BYE ends it */
		uint64_t last = s->created_ms;
		for (size_t i = 0; i < s->count; i++) {
			struct relay_stream_stats st;
			if (!s->streams[i])
				continue;
			relay_stream_get_stats(s->streams[i], &st);
			if (st.last_packet_ms > last)
				last = st.last_packet_ms;
			report_drops(s, &st);
		}
		uint64_t limit = (uint64_t)(s->hold ? m->hold_timeout_s : m->timeout_s) * 1000u;
		if (now - last > limit)
			end_session(m, s, s->hold ? "no media on hold (rtpholdtimeout)"
						  : "no media (rtptimeout)");
	}
}

struct media *media_new_bind(struct event_base *base, const struct conf *conf,
			     const struct netaddr *bind4, const struct netaddr *bind6)
{
	struct media *m = calloc(1, sizeof(*m));
	struct timeval tv = { .tv_sec = SWEEP_S };
	char text[NETADDR_TEXT_MAX];

	if (!m)
		return NULL;
	m->relay = relay_new(base, bind4, bind6, conf->rtpstart, conf->rtpend);
	m->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, m);
	if (!m->relay || !m->sweep || event_add(m->sweep, &tv) != 0) {
		media_free(m);
		return NULL;
	}
	if (bind6 && !relay_has_ipv6(m->relay))
		log_warn("the RTP relay cannot bind IPv6 on %s: relaying IPv4 media only",
			 netaddr_print(bind6, text));
	media_reconfigure(m, conf);
	return m;
}

struct media *media_new_at(struct event_base *base, const struct conf *conf,
			   const struct netaddr *bindaddr)
{
	struct netaddr bind4;

	/* decision 1 of issue 20: an IPv4 literal binds IPv4 alone, as
	 * always; "::" or an IPv6 literal binds it and IPv4 on 0.0.0.0 (the
	 * PBX is IPv4) */
	memset(&bind4, 0, sizeof(bind4));
	bind4.family = AF_INET;
	if (bindaddr->family == AF_INET)
		bind4.ip.v4 = bindaddr->ip.v4;
	return media_new_bind(base, conf, &bind4, bindaddr->family == AF_INET6 ? bindaddr : NULL);
}

struct media *media_new(struct event_base *base, const struct conf *conf)
{
	struct netaddr bind4;

	memset(&bind4, 0, sizeof(bind4));
	bind4.family = AF_INET;
	bind4.ip.v4 = conf->bindaddr;
	return media_new_at(base, conf, &bind4);
}

void media_reconfigure(struct media *m, const struct conf *conf)
{
	m->strict = conf->strictrtp;
	m->timeout_s = conf->rtptimeout_s;
	m->hold_timeout_s = conf->rtpholdtimeout_s;
	if (relay_resize(m->relay, conf->rtpstart, conf->rtpend) != 0)
		log_err("cannot adopt the RTP range %d-%d; keeping the old one", conf->rtpstart,
			conf->rtpend);
}

static void free_session(struct media *m, struct session *s)
{
	for (size_t i = 0; i < s->count; i++)
		relay_stream_close(m->relay, s->streams[i]);
	free(s->call_id);
	free(s->peer);
	free(s);
}

/* "10002,10004" for the log lines; "-" when no stream has ports. */
static const char *format_ports(const struct session *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->count && o + 8 < len; i++)
		if (s->streams[i])
			o += (size_t)snprintf(buf + o, len - o, "%s%u", o ? "," : "",
					      relay_stream_port(s->streams[i]));
	return o ? buf : "-";
}

static void end_session(struct media *m, struct session *s, const char *why)
{
	char ports[128], drop[128] = "";
	unsigned long in = 0, out = 0, dropped = 0;
	bool have_drop = false, drop_is_source = false;

	for (size_t i = 0; i < s->count; i++) {
		struct relay_stream_stats st;
		if (!s->streams[i])
			continue;
		relay_stream_get_stats(s->streams[i], &st);
		in += st.remote.packets;
		out += st.local.packets;
		dropped += st.local.dropped + st.remote.dropped;
		/* the first stream with a reason speaks for the call, a source
		 * reason before any other */
		if (st.drop_why != RELAY_DROP_NONE &&
		    (!have_drop || (relay_drop_is_source(st.drop_why) && !drop_is_source))) {
			format_drop(&st, drop, sizeof(drop));
			have_drop = true;
			drop_is_source = relay_drop_is_source(st.drop_why);
		}
	}
	for (size_t i = 0; i < s->count; i++) {
		struct relay_stream_stats st;
		if (!s->streams[i])
			continue;
		relay_stream_get_stats(s->streams[i], &st);
		m->ended.local_packets += st.local.packets;
		m->ended.local_bytes += st.local.bytes;
		m->ended.local_dropped += st.local.dropped;
		m->ended.remote_packets += st.remote.packets;
		m->ended.remote_bytes += st.remote.bytes;
		m->ended.remote_dropped += st.remote.dropped;
	}
	if (s->confirmed)
		m->ended.calls_ended++;
	else
		m->ended.calls_failed++;
	if (log_enabled(LOG_NOTICE)) /* the ports are not printed for nothing */
		log_notice("call %s ended (%s): relay port%s %s, packets %lu in / %lu out, %lu dropped%s",
			   s->call_id, why, s->count == 1 ? "" : "s", format_ports(s, ports, sizeof(ports)),
			   in, out, dropped, drop);
	remove_session(m, s);
	free_session(m, s);
}

void media_free(struct media *m)
{
	if (!m)
		return;
	while (m->sessions) {
		struct session *s = m->sessions;
		m->sessions = s->next;
		free_session(m, s);
	}
	if (m->sweep)
		event_free(m->sweep);
	relay_free(m->relay);
	free(m);
}

/* An SDP inside a multipart body (RFC 5621 and friends) cannot be relayed
 * here: refusing it is better than letting the private address through (R47). */
static bool sdp_in_multipart(const osip_message_t *msg)
{
	osip_body_t *b;

	if (osip_list_size(&msg->bodies) < 2 &&
	    !(msg->content_type && msg->content_type->type &&
	      strcasecmp(msg->content_type->type, "multipart") == 0))
		return false;
	for (int i = 0; (b = osip_list_get(&msg->bodies, i)) != NULL; i++) {
		const osip_content_type_t *ct = b->content_type;
		if (ct && ct->type && ct->subtype && strcasecmp(ct->type, "application") == 0 &&
		    strcasecmp(ct->subtype, "sdp") == 0)
			return true;
	}
	return false;
}

static bool is_sdp_body(const osip_message_t *msg, osip_body_t **body)
{
	const osip_content_type_t *ct = msg->content_type;

	if (osip_list_size(&msg->bodies) != 1 || !ct || !ct->type || !ct->subtype ||
	    strcasecmp(ct->type, "application") != 0 || strcasecmp(ct->subtype, "sdp") != 0)
		return false;
	*body = osip_list_get(&msg->bodies, 0);
	return *body && (*body)->body && (*body)->length > 0;
}

/* Each leg is of its SDP's family (st->conn): an IPv6 phone's media goes to
 * it over IPv6 while the PBX's stays IPv4. */
static void update_legs(struct media *m, struct session *s, const struct sdp_info *info,
			bool from_local, const struct netaddr *signal_src)
{
	for (size_t i = 0; i < info->count && i < s->count; i++) {
		const struct sdp_stream *st = &info->streams[i];
		if (!s->streams[i])
			continue;
		if (from_local) {
			relay_stream_set_local(s->streams[i], &st->conn, &st->rtcp_conn, st->rtcp_mux);
		} else if (!s->comedia && !s->nat_evidence) {
			/* nat without comedia, and a party that shows no sign of NAT:
			 * its SDP is the truth (Asterisk's nat=no); hold stops sending
			 * to it. One that does show NAT is latched whatever its nat
			 * says (auto_comedia): its SDP cannot be reached. */
			relay_stream_set_remote_fixed(s->streams[i], &st->conn, &st->rtcp_conn,
						      st->rtcp_mux);
		} else {
			/* a private SDP address cannot be where a remote party's
			 * media comes from: only its signalling IP is a candidate */
			bool private = natdetect_is_private(&st->conn);
			bool reachable = netaddr_same_ip(&st->conn, signal_src) || !private;
			/* hold (c=0.0.0.0 or c=::) is no new address: the lock stays */
			bool live = netaddr_is_specified(&st->conn);
			if (live)
				relay_stream_set_remote(s->streams[i], m->strict, signal_src,
							private ? NULL : &st->conn, st->port,
							st->rtcp_mux);
			/* latched because it is evidently behind NAT while its nat
			 * trusts its SDP: until its first packets, its SDP, when that
			 * can be reached (early media need not wait) */
			bool fallback = !s->comedia && live && reachable;
			relay_stream_set_remote_fallback(s->streams[i], fallback ? &st->conn : NULL,
							 fallback ? &st->rtcp_conn : NULL);
		}
	}
}

/* The single SDP body of msg (is_sdp_body) takes text in place: what
 * osip_body_free and osip_message_set_body would do, without a new body
 * and a second copy. The body owns its copy (osip_malloc, freed with the
 * message); the caller keeps text. */
static int replace_body(osip_message_t *msg, osip_body_t *body, const char *text, size_t len)
{
	char *copy = osip_malloc(len + 1);

	if (!copy)
		return -1;
	memcpy(copy, text, len);
	copy[len] = '\0';
	osip_free(body->body);
	body->body = copy;
	/* a new body would have neither (a part's own headers) */
	if (body->content_type) {
		osip_content_type_free(body->content_type);
		body->content_type = NULL;
	}
	if (body->headers)
		osip_list_special_free(body->headers, (void (*)(void *))osip_header_free);
	body->length = len;
	msg->message_property = 2; /* changed: serialised anew, as set_body marks it */
	return 0;
}

static struct session *new_session(const osip_message_t *msg, const char *call_id,
				   const struct conf_peer *peer)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (!(s->call_id = strdup(call_id)) || (peer && !(s->peer = strdup(peer->name)))) {
		free(s->call_id);
		free(s);
		return NULL;
	}
	s->maxrelays = peer ? peer->maxrelays : 0;
	s->created_ms = relay_now_ms();
	if (MSG_IS_INVITE(msg) && msg->cseq && msg->cseq->number)
		s->invite_cseq = (unsigned)strtoul(msg->cseq->number, NULL, 10);
	/* who the Internet party is decides for the whole call */
	s->direct = peer && peer->directmedia;
	s->comedia = !peer || (peer->nat & CONF_NAT_COMEDIA);
	return s;
}

/* What the peer of a session holds now: calls and relay pairs. Only asked
 * for a peer with a limit, so a scan of the sessions is fine here. */
static void peer_usage(const struct media *m, const char *peer, size_t *calls, size_t *relays)
{
	*calls = *relays = 0;
	for (const struct session *s = m->sessions; s; s = s->next) {
		if (!s->peer || strcmp(s->peer, peer) != 0)
			continue;
		(*calls)++;
		for (size_t i = 0; i < s->count; i++)
			if (s->streams[i])
				(*relays)++;
	}
}

/* The per-peer limits, before anything is allocated or forwarded. */
static enum media_result check_limits(const struct media *m, const char *call_id,
				      const char *peer, int calllimit, int maxrelays, bool new_call,
				      size_t wanted)
{
	size_t calls, relays;

	if (!peer || (calllimit <= 0 && maxrelays <= 0))
		return MEDIA_DONE;
	peer_usage(m, peer, &calls, &relays);
	switch (peerlimit_check(calllimit, maxrelays, calls, relays, new_call, wanted)) {
	case PEERLIMIT_OK:
		return MEDIA_DONE;
	case PEERLIMIT_CALLS:
		log_limited(&limit_limit, LOG_NOTICE, "peer %s has %zu call(s), its calllimit: refusing call %s (486)",
			    peer, calls, call_id);
		return MEDIA_CALL_LIMIT;
	case PEERLIMIT_RELAYS:
		log_limited(&limit_limit, LOG_NOTICE,
			    "peer %s holds %zu relay pair(s) and wants %zu more, over its maxrelays %d: refusing %s (503)",
			    peer, relays, wanted, maxrelays, call_id);
		break;
	}
	return MEDIA_RELAY_LIMIT;
}

/* Evidence that the Internet party is behind NAT, from each of its messages
 * (auto_comedia). Said once per call when it changes what nat asked for. */
static void note_evidence(struct session *s, unsigned reasons)
{
	char why[160];

	if (!reasons || (s->nat_evidence & reasons) == reasons)
		return;
	bool first = s->nat_evidence == 0;
	s->nat_evidence |= reasons;
	if (first && !s->comedia && !s->direct)
		log_limited(&natdetect_limit, LOG_INFO,
			    "call %s: %s is behind NAT (%s): its media is latched whatever its nat says",
			    s->call_id, s->peer ? s->peer : "the remote party",
			    natdetect_describe(reasons, why, sizeof(why)));
}

static unsigned sdp_evidence(const struct sdp_info *info, const struct netaddr *src)
{
	unsigned reasons = 0;

	for (size_t i = 0; i < info->count; i++)
		if (info->streams[i].port != 0)
			reasons |= natdetect_sdp(&info->streams[i].conn, src);
	return reasons;
}

/* A new INVITE that the media step refuses is a call that failed. */
static enum media_result refuse_new(struct media *m, bool new_call, enum media_result why)
{
	if (new_call)
		m->ended.calls_failed++;
	return why;
}

/* A message without SDP: an INVITE that opens a call (its offer will come
 * in the 2xx) gets its session now; anything else only adds NAT evidence. */
static enum media_result without_sdp(struct media *m, const osip_message_t *msg, struct session *s,
				     const char *call_id, bool new_call, const struct conf_peer *peer,
				     bool from_local, const struct netaddr *signal_src)
{
	if (new_call) {
		/* a late offer will want a pair for its audio at least */
		bool direct = peer && peer->directmedia;
		enum media_result limit = check_limits(m, call_id, peer ? peer->name : NULL,
						       peer ? peer->calllimit : 0,
						       peer ? peer->maxrelays : 0, true, direct ? 0 : 1);
		if (limit != MEDIA_DONE)
			return refuse_new(m, true, limit);
		s = new_session(msg, call_id, peer);
		if (!s)
			return MEDIA_FAILED;
		add_session(m, s);
	}
	if (s && !from_local)
		note_evidence(s, natdetect_signalling(msg, signal_src));
	return MEDIA_DONE;
}

/* The relay pairs this SDP adds to the session s (NULL = a new one). */
static size_t pairs_wanted(const struct session *s, const struct sdp_info *info)
{
	size_t wanted = 0;

	for (size_t i = 0; i < info->count; i++)
		if (info->streams[i].port != 0 && !(s && i < s->count && s->streams[i]))
			wanted++;
	return wanted;
}

/* The per-peer limits for this SDP, and for a call not yet known a new
 * session (*created), not yet in the table. */
static enum media_result admit_sdp(struct media *m, const osip_message_t *msg, const char *call_id,
				   const struct conf_peer *peer, size_t wanted, struct session **s,
				   bool *created)
{
	if (*s)
		return (*s)->direct ? MEDIA_DONE
				    : check_limits(m, call_id, (*s)->peer, 0, (*s)->maxrelays, false, wanted);
	bool direct = peer && peer->directmedia;
	enum media_result limit = check_limits(m, call_id, peer ? peer->name : NULL,
					       peer ? peer->calllimit : 0, peer ? peer->maxrelays : 0,
					       true, direct ? 0 : wanted);
	if (limit != MEDIA_DONE)
		return limit;
	*s = new_session(msg, call_id, peer);
	if (!*s)
		return MEDIA_FAILED;
	*created = true;
	return MEDIA_DONE;
}

/* A stream per m= line with a port, kept for the life of the session: a
 * re-offer gets the same ports (R18). */
static enum media_result open_streams(struct media *m, struct session *s, const struct sdp_info *info,
				      const char *call_id)
{
	for (size_t i = 0; i < info->count; i++) {
		if (i < s->count && s->streams[i])
			continue;
		if (info->streams[i].port == 0)
			continue; /* rejected: no ports (R15) */
		struct relay_stream *rs = relay_stream_open(m->relay);
		if (!rs) {
			log_limited(&pool_limit, LOG_WARNING,
				    "RTP port pool exhausted (%zu pairs): refusing call %s", relay_ports_capacity(m->relay),
				    call_id);
			return MEDIA_NO_PORTS;
		}
		s->streams[i] = rs;
		if (i >= s->count)
			s->count = i + 1;
	}
	if (info->count > s->count)
		s->count = info->count;
	return MEDIA_DONE;
}

/* The SDP with the relay's address and ports in place of the party's, as
 * msg's new body: every c=, o= and a=rtcp in advertised's family, the family
 * of the leg the receiver is on. */
static enum media_result put_relay_in_sdp(osip_message_t *msg, osip_body_t *body,
					  const struct session *s, struct sdp_body *sdp, const struct sdp_info *info,
					  const struct netaddr *advertised)
{
	struct sdp_rewrite_params params;
	char *text = NULL;
	size_t len = 0;

	memset(&params, 0, sizeof(params));
	params.advertise = *advertised;
	params.advertise.port = 0;
	for (size_t i = 0; i < info->count; i++) {
		params.ports[i] = s->streams[i] ? relay_stream_port(s->streams[i]) : 0;
		/* the relay speaks to each side as that side speaks */
		params.rtcp_mux[i] = info->streams[i].rtcp_mux;
	}
	if (sdp_rewrite_body_rewrite(sdp, &params, &text, &len) != 0)
		return MEDIA_BAD_SDP;
	int rc = replace_body(msg, body, text, len);
	free(text);
	return rc == 0 ? MEDIA_DONE : MEDIA_FAILED;
}

/* The whole Call-ID of msg ("number@host"). Not cut at SIPMSG_CALLID_MAX:
 * two calls whose Call-IDs begin alike must never share a session (one's
 * BYE would end the other's, one's SDP move its media). Every message
 * crossing looks its session up, so a usual one is put together in the
 * caller's buffer (local, CALL_ID_LOCAL bytes) and only a longer one is
 * allocated (*heap, for the caller to free). NULL when out of memory. */
#define CALL_ID_LOCAL 256
static const char *call_id_text(const osip_message_t *msg, char *local, char **heap)
{
	const char *number = msg->call_id && msg->call_id->number ? msg->call_id->number : "";
	const char *host = msg->call_id ? msg->call_id->host : NULL;
	size_t nlen = strlen(number), hlen = host ? strlen(host) : 0;
	size_t len = nlen + (host ? 1 + hlen : 0) + 1;
	char *id = local;

	*heap = NULL;
	if (len > CALL_ID_LOCAL) {
		if (!(id = *heap = malloc(len)))
			return NULL;
	}
	memcpy(id, number, nlen);
	if (host) {
		id[nlen] = '@';
		memcpy(id + nlen + 1, host, hlen);
	}
	id[len - 1] = '\0';
	return id;
}

static enum media_result rewrite_call(struct media *m, osip_message_t *msg, const char *call_id,
				      bool from_local, const struct netaddr *signal_src,
				      const struct netaddr *advertised, const struct conf_peer *peer)
{
	osip_body_t *body;
	struct sdp_info info;
	bool created = false;

	struct session *s = find(m, call_id);
	bool new_call = !s && MSG_IS_REQUEST(msg) && MSG_IS_INVITE(msg);
	if (sdp_in_multipart(msg))
		return refuse_new(m, new_call, MEDIA_BAD_SDP);
	/* Sessions are made by requests only (an INVITE, even one without SDP
	 * whose offer will come in the 2xx): a response, or a 2xx retransmitted
	 * after the BYE, never takes a relay pair of its own. */
	if (!is_sdp_body(msg, &body))
		return without_sdp(m, msg, s, call_id, new_call, peer, from_local, signal_src);
	if (!s && !(MSG_IS_REQUEST(msg) && (MSG_IS_INVITE(msg) || MSG_IS_UPDATE(msg))))
		return MEDIA_BAD_SDP; /* SDP of a call sipnatd does not carry: never pass it raw */
	/* read once: the rewrite below works on this parse. IN IP6 media only
	 * when the relay can reach it (else refused as before, 488). */
	unsigned families = SDP_FAMILY_IP4 | (relay_has_ipv6(m->relay) ? SDP_FAMILY_IP6 : 0);
	struct sdp_body *sdp = sdp_rewrite_body_load(body->body, body->length, families, &info);
	if (!sdp)
		return refuse_new(m, new_call, MEDIA_BAD_SDP);

	enum media_result r = admit_sdp(m, msg, call_id, peer, pairs_wanted(s, &info), &s, &created);
	if (r == MEDIA_DONE && !s->direct && advertised->family == AF_INET6 &&
	    !relay_has_ipv6(m->relay)) {
		/* the receiver could not reach an IPv4-only relay */
		log_limited(&pool_limit, LOG_WARNING,
			    "call %s: IPv6 media toward an IPv6 party, but the relay has no IPv6 socket: refusing it",
			    call_id);
		r = MEDIA_NO_PORTS;
	}
	if (r == MEDIA_DONE && !s->direct) {
		r = open_streams(m, s, &info, call_id);
		if (r == MEDIA_DONE)
			r = put_relay_in_sdp(msg, body, s, sdp, &info, advertised);
	}
	/* directmedia: the parties' own SDP goes through untouched */
	sdp_rewrite_body_free(sdp);
	if (r != MEDIA_DONE) {
		if (created)
			free_session(m, s);
		return r == MEDIA_FAILED ? r : refuse_new(m, new_call, r);
	}
	if (created)
		add_session(m, s);
	if (s->direct)
		return MEDIA_DONE;
	s->hold = sdp_rewrite_is_hold(&info);
	if (!from_local)
		note_evidence(s, natdetect_signalling(msg, signal_src) | sdp_evidence(&info, signal_src));
	update_legs(m, s, &info, from_local, signal_src);
	return MEDIA_DONE;
}

enum media_result media_rewrite(struct media *m, osip_message_t *msg, bool from_local,
				const struct netaddr *signal_src, const struct netaddr *advertised,
				const struct conf_peer *peer)
{
	char local[CALL_ID_LOCAL], *heap;
	const char *call_id = call_id_text(msg, local, &heap);

	if (!call_id)
		return MEDIA_FAILED;
	enum media_result r = rewrite_call(m, msg, call_id, from_local, signal_src, advertised, peer);
	free(heap);
	return r;
}

static void note_call(struct media *m, const osip_message_t *msg, struct session *s)
{
	if (MSG_IS_REQUEST(msg)) {
		if (MSG_IS_BYE(msg))
			end_session(m, s, "BYE");
		else if (MSG_IS_CANCEL(msg) && !s->confirmed)
			end_session(m, s, "CANCEL");
		return;
	}
	if (!msg->cseq || !msg->cseq->method || strcasecmp(msg->cseq->method, "INVITE") != 0)
		return;
	s->answered = true;
	int code = msg->status_code;
	if (code >= 200 && code < 300) {
		if (!s->confirmed && log_enabled(LOG_NOTICE)) {
			char ports[128];
			log_notice("call %s set up: relay port%s %s", s->call_id, s->count == 1 ? "" : "s",
				   format_ports(s, ports, sizeof(ports)));
		}
		if (!s->confirmed)
			m->ended.calls_set_up++;
		s->confirmed = true;
	} else if (code >= 300 && !s->confirmed &&
		   (unsigned)strtoul(msg->cseq->number, NULL, 10) == s->invite_cseq) {
		/* only the answer to the INVITE that made the session ends it (R21) */
		end_session(m, s, "call failed");
	}
}

void media_note(struct media *m, const osip_message_t *msg)
{
	char local[CALL_ID_LOCAL], *heap;
	const char *call_id = call_id_text(msg, local, &heap);
	struct session *s = call_id ? find(m, call_id) : NULL;

	free(heap);
	if (s)
		note_call(m, msg, s);
}

size_t media_sessions(const struct media *m)
{
	return m->count;
}

size_t media_ports_free(const struct media *m)
{
	return relay_ports_free(m->relay);
}

size_t media_ports_capacity(const struct media *m)
{
	return relay_ports_capacity(m->relay);
}

void media_foreach(const struct media *m, void (*fn)(void *arg, const struct media_call_info *info),
		   void *arg)
{
	uint64_t now = relay_now_ms();

	for (const struct session *s = m->sessions; s; s = s->next) {
		struct media_call_info info;
		memset(&info, 0, sizeof(info));
		info.call_id = s->call_id;
		info.confirmed = s->confirmed;
		info.hold = s->hold;
		info.age_ms = now - s->created_ms;
		for (size_t i = 0; i < s->count; i++)
			if (s->streams[i])
				relay_stream_get_stats(s->streams[i], &info.stats[info.streams++]);
		fn(arg, &info);
	}
}

void media_count_refused(struct media *m)
{
	m->ended.calls_failed++;
}

void media_totals(const struct media *m, struct media_totals *out)
{
	*out = m->ended;
	for (const struct session *s = m->sessions; s; s = s->next) {
		for (size_t i = 0; i < s->count; i++) {
			struct relay_stream_stats st;
			if (!s->streams[i])
				continue;
			relay_stream_get_stats(s->streams[i], &st);
			out->local_packets += st.local.packets;
			out->local_bytes += st.local.bytes;
			out->local_dropped += st.local.dropped;
			out->remote_packets += st.remote.packets;
			out->remote_bytes += st.remote.bytes;
			out->remote_dropped += st.remote.dropped;
		}
	}
}
