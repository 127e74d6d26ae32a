/*
 * sdp_rewrite: the SDP part of the rewrite step on the SIP path (design
 * section 8; R14-R19, R47). A body is read with libosip2's SDP parser, the
 * relay's address and ports are put into the structure, and libosip2 writes
 * it out again; nothing here edits SDP as text.
 *
 * libosip2 (5.3) is a loose reader, so a body is only accepted when writing
 * the untouched structure back gives every line of the body again: that is
 * what guarantees that every line we do not mean to change passes through.
 * What it would do otherwise, and what we do about it:
 *  - it stops at the first empty line and reports success: the rest of the
 *    body would vanish. Trailing empty lines are dropped; any other -> -1.
 *  - it checks only the letter just before the first '=', so "xa=1" reads as
 *    "a=1" and a line without '=' is swallowed by the next one: -> -1.
 *  - it takes session-level s= before o= (an old phone's order) but writes
 *    o= first: -> -1 rather than a reordered body.
 *  - it fails on a last line without a line end, and reads past the end of
 *    the buffer after an m= line ending in a lone CR. Every line is given a
 *    CRLF (RFC 4566 section 5 lets a reader accept LF) and the copy is padded
 *    with NULs. The output always has CRLF.
 *  - it drops blanks at the end of an m= line: tolerated (ignored when the
 *    round trip is compared; the output has none).
 *  - its lists are singly linked and appended to by walking them, so parsing
 *    and writing are quadratic in the number of lines and of m= formats: a
 *    64 KB body of one-word lines costs over 100 ms each way. Lines and
 *    formats are counted and limited before libosip2 sees the body.
 * It accepts lines only in the RFC 4566 order, which is the order it writes,
 * and keeps i=, u=, e=, p=, b=, t=, r=, z=, k=, attributes in their order
 * (with or without a value) and several c= in one media section.
 */
#include "sdp_rewrite.h"

#include "netaddr.h"

#include <arpa/inet.h>
#include <osipparser2/osip_port.h>
#include <osipparser2/sdp_message.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Far above any real offer (a WebRTC offer with video and simulcast has a few
 * hundred lines, an RTP m= line at most 128 formats), far below where
 * libosip2's quadratic lists cost milliseconds. */
#define SDP_MAX_LINES 2048
#define SDP_MAX_FORMATS 512
#define SDP_PAD 8 /* NULs behind the copy given to libosip2 */

/* ICE (RFC 8839, RFC 8445 ice-pacing): the relay is the path, candidates
 * would let the parties try to reach each other around it. */
static const char *const ice_attributes[] = {
	"candidate",	     "ice-ufrag",	  "ice-pwd",
	"ice-options",	     "ice-lite",	  "ice-mismatch",
	"remote-candidates", "end-of-candidates", "ice-pacing",
};

/* The body as libosip2 may safely read it: CRLF after every line, no
 * trailing empty line, NUL padding. */
struct sdp_text {
	char *buf;
	size_t len;
};

static int sdp_text_make(const char *body, size_t len, struct sdp_text *t)
{
	size_t lines = 0, media = 0, i = 0;

	t->buf = NULL;
	t->len = 0;
	if (!body || len == 0 || len > SDP_MAX_SIZE || memchr(body, '\0', len))
		return -1;
	/* a lone LF per byte doubles; a last line without one gains two */
	t->buf = calloc(2 * len + 2 + SDP_PAD, 1);
	if (!t->buf)
		return -1;
	while (i < len) {
		size_t start = i, words = 1;

		while (i < len && body[i] != '\r' && body[i] != '\n') {
			if (body[i] == ' ')
				words++;
			i++;
		}
		if (i - start >= 2 && body[start] == 'm' && body[start + 1] == '=') {
			/* m=media port proto fmt...: formats are words - 3 */
			if (++media > SDP_MAX_MEDIA || words > SDP_MAX_FORMATS + 3)
				goto fail;
		}
		if (++lines > SDP_MAX_LINES)
			goto fail;
		memcpy(t->buf + t->len, body + start, i - start);
		t->len += i - start;
		t->buf[t->len++] = '\r';
		t->buf[t->len++] = '\n';
		if (i < len && body[i] == '\r') {
			i++;
			if (i < len && body[i] == '\n')
				i++;
		} else if (i < len) {
			i++; /* LF */
		}
	}
	while (t->len >= 4 && memcmp(t->buf + t->len - 4, "\r\n\r\n", 4) == 0)
		t->len -= 2;
	if (t->len <= 2)
		goto fail;
	memset(t->buf + t->len, 0, 2); /* what the trimming left behind */
	return 0;
fail:
	free(t->buf);
	t->buf = NULL;
	return -1;
}

/* Length of line without trailing blanks. */
static size_t sdp_trimmed(const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	return len;
}

/* The line after the one at p (lines end in CRLF). */
static const char *sdp_next_line(const char *p, size_t len)
{
	p += len;
	if (*p == '\r')
		p++;
	if (*p == '\n')
		p++;
	return p;
}

/* a and b (CRLF lines) have the same lines, trailing blanks aside. */
static bool sdp_same_lines(const char *a, const char *b)
{
	while (*a && *b) {
		size_t la = strcspn(a, "\r\n"), lb = strcspn(b, "\r\n");
		size_t ta = sdp_trimmed(a, la), tb = sdp_trimmed(b, lb);

		if (ta != tb || memcmp(a, b, ta) != 0)
			return false;
		a = sdp_next_line(a, la);
		b = sdp_next_line(b, lb);
	}
	return *a == '\0' && *b == '\0';
}

/* Parse body; NULL unless libosip2 read every line of it (see the top). */
static sdp_message_t *sdp_load(const char *body, size_t len)
{
	struct sdp_text text;
	sdp_message_t *sdp = NULL;
	char *again = NULL;

	if (sdp_text_make(body, len, &text) != 0)
		return NULL;
	if (sdp_message_init(&sdp) != 0) {
		free(text.buf);
		return NULL;
	}
	if (sdp_message_parse(sdp, text.buf) != 0 || sdp_message_to_str(sdp, &again) != 0 ||
	    !again || !sdp_same_lines(text.buf, again)) {
		sdp_message_free(sdp);
		sdp = NULL;
	}
	osip_free(again);
	free(text.buf);
	return sdp;
}

/* The attribute's name is name (case and trailing blanks aside). */
static bool sdp_attr_is(const sdp_attribute_t *attr, const char *name)
{
	size_t n = strlen(name);

	return attr->a_att_field && sdp_trimmed(attr->a_att_field, strlen(attr->a_att_field)) == n &&
	       strncasecmp(attr->a_att_field, name, n) == 0;
}

static sdp_attribute_t *sdp_attr_find(const osip_list_t *attrs, const char *name)
{
	osip_list_iterator_t it;

	for (sdp_attribute_t *a = osip_list_get_first(attrs, &it); osip_list_iterator_has_elem(it);
	     a = osip_list_get_next(&it))
		if (sdp_attr_is(a, name))
			return a;
	return NULL;
}

static bool sdp_attr_is_ice(const sdp_attribute_t *attr)
{
	for (size_t i = 0; i < sizeof(ice_attributes) / sizeof(ice_attributes[0]); i++)
		if (sdp_attr_is(attr, ice_attributes[i]))
			return true;
	return false;
}

/* The first direction attribute in attrs into *dir (RFC 3264 section 5.1);
 * *dir unchanged when there is none. */
static void sdp_attrs_direction(const osip_list_t *attrs, enum sdp_direction *dir)
{
	static const struct {
		const char *name;
		enum sdp_direction dir;
	} names[] = {
		{ "sendrecv", SDP_SENDRECV },
		{ "sendonly", SDP_SENDONLY },
		{ "recvonly", SDP_RECVONLY },
		{ "inactive", SDP_INACTIVE },
	};
	osip_list_iterator_t it;

	for (sdp_attribute_t *a = osip_list_get_first(attrs, &it); osip_list_iterator_has_elem(it);
	     a = osip_list_get_next(&it))
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (sdp_attr_is(a, names[i].name)) {
				*dir = names[i].dir;
				return;
			}
}

/* A unicast IPv4 literal (0.0.0.0, hold, included); trailing blanks allowed.
 * Multicast is refused: the relay sends to one party. */
static bool sdp_parse_ipv4(const char *text, struct in_addr *out)
{
	char buf[INET_ADDRSTRLEN];
	size_t n = sdp_trimmed(text, strlen(text));

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, text, n);
	buf[n] = '\0';
	return netaddr_parse_ipv4(buf, out) && !IN_MULTICAST(ntohl(out->s_addr));
}

/* A unicast IPv6 literal as RFC 4566 writes it (no brackets, no zone;
 * :: included, it is the IPv6 hold); trailing blanks allowed. A v4-mapped
 * one is the IPv4 address it maps. */
static bool sdp_parse_ipv6(const char *text, struct netaddr *out)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr v6;
	size_t n = sdp_trimmed(text, strlen(text));

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, &v6) != 1 || IN6_IS_ADDR_MULTICAST(&v6))
		return false;
	return netaddr_parse_ip(buf, out);
}

/* An address of addrtype ("IP4", "IP6") among families into out. */
static bool sdp_parse_addr(const char *addrtype, const char *text, unsigned families,
			   struct netaddr *out)
{
	memset(out, 0, sizeof(*out));
	if ((families & SDP_FAMILY_IP4) && strcasecmp(addrtype, "IP4") == 0) {
		if (!sdp_parse_ipv4(text, &out->ip.v4))
			return false;
		out->family = AF_INET;
		return true;
	}
	if ((families & SDP_FAMILY_IP6) && strcasecmp(addrtype, "IP6") == 0)
		return sdp_parse_ipv6(text, out);
	return false;
}

/* c=IN IP4 <unicast literal>, or IN IP6 when families allow */
static bool sdp_conn_addr(const sdp_connection_t *c, unsigned families, struct netaddr *out)
{
	return c->c_nettype && strcasecmp(c->c_nettype, "IN") == 0 && c->c_addrtype && c->c_addr &&
	       !c->c_addr_multicast_ttl && !c->c_addr_multicast_int &&
	       sdp_parse_addr(c->c_addrtype, c->c_addr, families, out);
}

/* m= port: 0 (rejected) or 1..65535. */
static bool sdp_parse_media_port(const char *text, uint16_t *out)
{
	if (strcmp(text, "0") == 0) {
		*out = 0;
		return true;
	}
	return netaddr_parse_port(text, out);
}

/* a=rtcp:<port> [IN IP4 <addr>] (RFC 3605) into s; IN IP6 when families allow. */
static int sdp_parse_rtcp(const char *value, unsigned families, struct sdp_stream *s)
{
	char buf[128], *save = NULL, *word[5];
	size_t n = 0;

	if (!value || strlen(value) >= sizeof(buf))
		return -1;
	strcpy(buf, value);
	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == 5)
			return -1;
		word[n++] = w;
	}
	if (n != 1 && n != 4)
		return -1;
	if (!netaddr_parse_port(word[0], &s->rtcp_port))
		return -1;
	if (n == 4) {
		if (strcasecmp(word[1], "IN") != 0 ||
		    !sdp_parse_addr(word[2], word[3], families, &s->rtcp_conn))
			return -1;
	}
	s->rtcp_conn.port = s->rtcp_port;
	return 0;
}

/* What the relay needs from a parsed body; -1 as sdp_rewrite_inspect. */
static int sdp_collect(sdp_message_t *sdp, unsigned families, struct sdp_info *info)
{
	enum sdp_direction session_dir = SDP_SENDRECV;
	osip_list_iterator_t it;

	memset(info, 0, sizeof(*info));
	if (osip_list_size(&sdp->m_medias) > SDP_MAX_MEDIA)
		return -1;
	sdp_attrs_direction(&sdp->a_attributes, &session_dir);
	for (sdp_media_t *m = osip_list_get_first(&sdp->m_medias, &it); osip_list_iterator_has_elem(it);
	     m = osip_list_get_next(&it)) {
		struct sdp_stream *s = &info->streams[info->count++];
		const sdp_connection_t *conn;
		const sdp_attribute_t *rtcp;
		size_t n;

		if (!m->m_media || !m->m_port || !sdp_parse_media_port(m->m_port, &s->port))
			return -1;
		n = strnlen(m->m_media, sizeof(s->media) - 1);
		memcpy(s->media, m->m_media, n);
		s->media[n] = '\0';
		s->direction = session_dir;
		sdp_attrs_direction(&m->a_attributes, &s->direction);
		s->rtcp_mux = sdp_attr_find(&m->a_attributes, "rtcp-mux") != NULL;
		if (s->port == 0)
			continue; /* rejected: no address, no RTCP (fields stay 0) */
		/* RFC 4566 section 5.7: a media-level c= overrides the session's */
		conn = osip_list_get(&m->c_connections, 0);
		if (!conn)
			conn = sdp->c_connection;
		if (!conn || !sdp_conn_addr(conn, families, &s->conn))
			return -1;
		s->conn.port = s->port;
		s->rtcp_port = (uint16_t)(s->port + 1);
		s->rtcp_conn = s->conn;
		s->rtcp_conn.port = s->rtcp_port;
		rtcp = sdp_attr_find(&m->a_attributes, "rtcp");
		if (rtcp && sdp_parse_rtcp(rtcp->a_att_value, families, s) != 0)
			return -1;
	}
	return 0;
}

/* Replace an osip-allocated string. */
static int sdp_set(char **field, const char *value)
{
	char *copy = osip_strdup(value);

	if (!copy)
		return -1;
	osip_free(*field);
	*field = copy;
	return 0;
}

/* What every c=, o= and a=rtcp is set to. */
struct sdp_target {
	const char *addrtype;       /* "IP4" or "IP6" */
	char addr[NETADDR_HOST_MAX];
};

static int sdp_conn_set(sdp_connection_t *c, const char *addrtype, const char *addr)
{
	osip_free(c->c_addr_multicast_ttl);
	c->c_addr_multicast_ttl = NULL;
	osip_free(c->c_addr_multicast_int);
	c->c_addr_multicast_int = NULL;
	if (sdp_set(&c->c_nettype, "IN") != 0 || sdp_set(&c->c_addrtype, addrtype) != 0 ||
	    sdp_set(&c->c_addr, addr) != 0)
		return -1;
	return 0;
}

/* c= to the target, unless it is a hold address (RFC 2543 hold, R19;
 * 0.0.0.0 or an IN IP6 ::): that stays, in the target's family. */
static int sdp_conn_rewrite(sdp_connection_t *c, const struct sdp_target *t)
{
	struct in_addr was;
	struct netaddr was6;
	bool to_ip6 = strcmp(t->addrtype, "IP6") == 0;

	if (c->c_addr && sdp_parse_ipv4(c->c_addr, &was) && was.s_addr == INADDR_ANY) {
		if (!to_ip6)
			return 0;
		return sdp_conn_set(c, "IP6", "::");
	}
	if (c->c_addr && c->c_addrtype && strcasecmp(c->c_addrtype, "IP6") == 0 &&
	    sdp_parse_ipv6(c->c_addr, &was6) && !netaddr_is_specified(&was6)) {
		if (to_ip6)
			return 0;
		return sdp_conn_set(c, "IP4", "0.0.0.0");
	}
	return sdp_conn_set(c, t->addrtype, t->addr);
}

/* The target of params: its advertise, which must have a family. */
static int sdp_target_of(const struct sdp_rewrite_params *params, struct sdp_target *t)
{
	memset(t, 0, sizeof(*t));
	if (params->advertise.family != AF_INET && params->advertise.family != AF_INET6)
		return -1;
	t->addrtype = params->advertise.family == AF_INET6 ? "IP6" : "IP4";
	netaddr_ip_text(&params->advertise, t->addr);
	return 0;
}

/* Remove ICE from attrs; a=rtcp gets rtcp_value, or goes when it is NULL. */
static int sdp_attrs_rewrite(osip_list_t *attrs, const char *rtcp_value)
{
	osip_list_iterator_t it;
	sdp_attribute_t *a = osip_list_get_first(attrs, &it);

	while (osip_list_iterator_has_elem(it)) {
		if (sdp_attr_is_ice(a) || (!rtcp_value && sdp_attr_is(a, "rtcp"))) {
			sdp_attribute_free(a);
			a = osip_list_iterator_remove(&it);
			continue;
		}
		if (sdp_attr_is(a, "rtcp") && sdp_set(&a->a_att_value, rtcp_value) != 0)
			return -1;
		a = osip_list_get_next(&it);
	}
	return 0;
}

static int sdp_apply(sdp_message_t *sdp, const struct sdp_info *info,
		     const struct sdp_rewrite_params *params)
{
	struct sdp_target t;
	osip_list_iterator_t it;
	size_t i = 0;

	if (sdp_target_of(params, &t) != 0)
		return -1;
	/* o=: the address only; session id and version pass (R18) */
	if (sdp_set(&sdp->o_nettype, "IN") != 0 || sdp_set(&sdp->o_addrtype, t.addrtype) != 0 ||
	    sdp_set(&sdp->o_addr, t.addr) != 0)
		return -1;
	if (sdp->c_connection && sdp_conn_rewrite(sdp->c_connection, &t) != 0)
		return -1;
	/* a=rtcp is media-level (RFC 3605 section 2.1); at session level it
	 * could only point around the relay */
	if (sdp_attrs_rewrite(&sdp->a_attributes, NULL) != 0)
		return -1;
	for (sdp_media_t *m = osip_list_get_first(&sdp->m_medias, &it); osip_list_iterator_has_elem(it);
	     m = osip_list_get_next(&it), i++) {
		const struct sdp_stream *s = &info->streams[i];
		char port[8], rtcp[24 + NETADDR_HOST_MAX];
		osip_list_iterator_t cit;

		if (s->port != 0) {
			/* RFC 3605: the relay's RTCP port, P+1, or P itself when it
			 * muxes (RFC 5761 section 5.1.3) */
			unsigned rtcp_port = params->ports[i] + (params->rtcp_mux[i] ? 0u : 1u);

			snprintf(port, sizeof(port), "%u", (unsigned)params->ports[i]);
			snprintf(rtcp, sizeof(rtcp), "%u IN %s %s", rtcp_port, t.addrtype, t.addr);
			if (sdp_set(&m->m_port, port) != 0)
				return -1;
			/* m=<media> <port>/<count> (layered coding) would promise
			 * ports the relay does not hold: one stream, one port */
			osip_free(m->m_number_of_port);
			m->m_number_of_port = NULL;
		}
		for (sdp_connection_t *c = osip_list_get_first(&m->c_connections, &cit);
		     osip_list_iterator_has_elem(cit); c = osip_list_get_next(&cit))
			if (sdp_conn_rewrite(c, &t) != 0)
				return -1;
		/* a rejected stream keeps port 0 and loses a=rtcp: there is no
		 * relay port to name and the old one is the party's private one */
		if (sdp_attrs_rewrite(&m->a_attributes, s->port != 0 ? rtcp : NULL) != 0)
			return -1;
	}
	return 0;
}

struct sdp_body {
	sdp_message_t *sdp;
	struct sdp_info info;
};

struct sdp_body *sdp_rewrite_body_load(const char *body, size_t len, unsigned families,
				       struct sdp_info *info)
{
	struct sdp_body *b;

	if (!info)
		return NULL;
	memset(info, 0, sizeof(*info));
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->sdp = sdp_load(body, len);
	if (!b->sdp || sdp_collect(b->sdp, families, &b->info) != 0) {
		sdp_rewrite_body_free(b);
		return NULL;
	}
	*info = b->info;
	return b;
}

int sdp_rewrite_body_rewrite(struct sdp_body *b, const struct sdp_rewrite_params *params, char **out,
		     size_t *out_len)
{
	char *text = NULL;
	int rc = -1;

	if (!out || !out_len)
		return -1;
	*out = NULL;
	*out_len = 0;
	if (!b || !b->sdp || !params)
		return -1;
	if (sdp_apply(b->sdp, &b->info, params) != 0 || sdp_message_to_str(b->sdp, &text) != 0 || !text)
		goto done;
	*out_len = strlen(text);
	*out = malloc(*out_len + 1);
	if (!*out) {
		*out_len = 0;
		goto done;
	}
	memcpy(*out, text, *out_len + 1);
	rc = 0;
done:
	osip_free(text);
	/* the parse now holds the rewritten body: no second rewrite from it */
	sdp_message_free(b->sdp);
	b->sdp = NULL;
	return rc;
}

void sdp_rewrite_body_free(struct sdp_body *b)
{
	if (!b)
		return;
	if (b->sdp)
		sdp_message_free(b->sdp);
	free(b);
}

int sdp_rewrite_inspect(const char *body, size_t len, unsigned families, struct sdp_info *info)
{
	struct sdp_body *b = sdp_rewrite_body_load(body, len, families, info);

	if (!b)
		return -1;
	sdp_rewrite_body_free(b);
	return 0;
}

int sdp_rewrite(const char *body, size_t len, unsigned families,
		const struct sdp_rewrite_params *params, char **out, size_t *out_len)
{
	struct sdp_info info;
	struct sdp_body *b;
	int rc;

	if (!out || !out_len)
		return -1;
	*out = NULL;
	*out_len = 0;
	if (!params)
		return -1;
	/* the same checks as sdp_rewrite_inspect: what it refuses is never forwarded */
	b = sdp_rewrite_body_load(body, len, families, &info);
	if (!b)
		return -1;
	rc = sdp_rewrite_body_rewrite(b, params, out, out_len);
	sdp_rewrite_body_free(b);
	return rc;
}

bool sdp_rewrite_is_hold(const struct sdp_info *info)
{
	size_t active = 0;

	if (!info)
		return false;
	for (size_t i = 0; i < info->count && i < SDP_MAX_MEDIA; i++) {
		const struct sdp_stream *s = &info->streams[i];

		if (s->port == 0)
			continue; /* a rejected stream is neither held nor live */
		active++;
		if (s->direction == SDP_SENDRECV && netaddr_is_specified(&s->conn))
			return false;
	}
	return active > 0;
}
