/*
 * sdp_rewrite: the SDP part of the rewrite step on the SIP path (design
 * section 8; R14-R19, R47). A body is read with libosip2's SDP parser and
 * written back by libosip2 once, untouched (the check below); the rewritten
 * body is that writing with the lines the relay changes (o=, c=, m=, a=rtcp,
 * ICE) written anew from the parse, in libosip2's own form, walked in step
 * with the parse: the bytes sdp_message_to_str would give after changing
 * the parse, at a fraction of the cost of changing it and writing it all
 * again (issue 13). Which lines change and how is decided on the parsed
 * values, never on how a line is spelled.
 *
 * libosip2 (5.3) is a loose reader, so a body is only accepted when writing
 * the untouched structure back gives every line of the body again: that is
 * what guarantees that every line we do not mean to change passes through.
 * (A plain body is compared with the parse without libosip2 writing it:
 * sdp_writes_as.)
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
	bool heap;  /* buf was allocated (else the caller's buffer) */
};

/* A usual body is copied on the stack: no allocation per body. */
#define SDP_TEXT_STACK 4096

static void sdp_text_free(struct sdp_text *t)
{
	if (t->heap)
		free(t->buf);
	t->buf = NULL;
}

/* The blanks in line: an m= line's words are one more. */
static size_t sdp_blanks(const char *line, size_t len)
{
	size_t n = 0;

	for (const char *p = line, *end = line + len; (p = memchr(p, ' ', (size_t)(end - p))); p++)
		n++;
	return n;
}

/* t->buf is stack (SDP_TEXT_STACK bytes) when the copy fits in it. */
static int sdp_text_make(const char *body, size_t len, struct sdp_text *t, char *stack)
{
	size_t lines = 0, media = 0, i = 0;

	t->buf = NULL;
	t->len = 0;
	t->heap = false;
	if (!body || len == 0 || len > SDP_MAX_SIZE || memchr(body, '\0', len))
		return -1;
	/* a lone LF per byte doubles; a last line without one gains two */
	if (2 * len + 2 + SDP_PAD <= SDP_TEXT_STACK) {
		t->buf = stack;
	} else {
		t->buf = malloc(2 * len + 2 + SDP_PAD);
		if (!t->buf)
			return -1;
		t->heap = true;
	}
	while (i < len) {
		/* the line ends at the first CR or LF */
		const char *lf = memchr(body + i, '\n', len - i);
		size_t stop = lf ? (size_t)(lf - body) : len;
		const char *cr = memchr(body + i, '\r', stop - i);
		size_t start = i;

		i = cr ? (size_t)(cr - body) : stop;
		if (i - start >= 2 && body[start] == 'm' && body[start + 1] == '=') {
			/* m=media port proto fmt...: formats are words - 3 */
			if (++media > SDP_MAX_MEDIA || sdp_blanks(body + start, i - start) + 1 > SDP_MAX_FORMATS + 3)
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
	memset(t->buf + t->len, 0, SDP_PAD); /* the end, and what trimming left behind */
	return 0;
fail:
	sdp_text_free(t);
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

/*
 * The round trip without the writing, for the plain bodies phones send:
 * whether libosip2 would write sdp as text, line for line and byte for
 * byte, answered by walking text in step with the parse the way
 * sdp_message_to_str walks it (v o s c t a, then per m= line m c a; each
 * line its fields with single blanks, "a=field[:value]"). Only a parse of
 * those lines, every field present and not empty and no multicast suffix,
 * is answered here; for anything else (i=, u=, e=, p=, b=, r=, z=, k=, a
 * port count, an empty value, trailing blanks, ...) it says false and
 * libosip2 writes the body as before. A true answer is never a guess.
 */
static bool sdp_take(const char **p, const char *field)
{
	size_t n;

	if (!field || !*field)
		return false;
	n = strlen(field);
	if (strncmp(*p, field, n) != 0)
		return false;
	*p += n;
	return true;
}

/* "<x>=" at *p, then the line's fields (sep before each but the first),
 * then CRLF. */
static bool sdp_take_line(const char **p, const char *head, const char *const *fields, size_t n,
			  char sep)
{
	if (strncmp(*p, head, 2) != 0)
		return false;
	*p += 2;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && *(*p)++ != sep)
			return false;
		if (!sdp_take(p, fields[i]))
			return false;
	}
	return sdp_take(p, "\r\n");
}

static bool sdp_take_conn(const char **p, const sdp_connection_t *c)
{
	const char *f[] = { c->c_nettype, c->c_addrtype, c->c_addr };

	return !c->c_addr_multicast_ttl && !c->c_addr_multicast_int && sdp_take_line(p, "c=", f, 3, ' ');
}

static bool sdp_take_attrs(const char **p, const osip_list_t *attrs)
{
	osip_list_iterator_t it;

	for (sdp_attribute_t *a = osip_list_get_first(attrs, &it); osip_list_iterator_has_elem(it);
	     a = osip_list_get_next(&it)) {
		const char *f[] = { a->a_att_field, a->a_att_value };

		if (!sdp_take_line(p, "a=", f, a->a_att_value ? 2 : 1, ':'))
			return false;
	}
	return true;
}

static bool sdp_take_media(const char **p, const sdp_media_t *m)
{
	osip_list_iterator_t it;

	if (m->m_number_of_port || m->i_info || m->k_key || !osip_list_eol(&m->b_bandwidths, 0) ||
	    osip_list_eol(&m->m_payloads, 0) || strncmp(*p, "m=", 2) != 0)
		return false;
	*p += 2;
	if (!sdp_take(p, m->m_media) || !sdp_take(p, " ") || !sdp_take(p, m->m_port) ||
	    !sdp_take(p, " ") || !sdp_take(p, m->m_proto))
		return false;
	for (char *fmt = osip_list_get_first(&m->m_payloads, &it); osip_list_iterator_has_elem(it);
	     fmt = osip_list_get_next(&it))
		if (!sdp_take(p, " ") || !sdp_take(p, fmt))
			return false;
	if (!sdp_take(p, "\r\n"))
		return false;
	for (sdp_connection_t *c = osip_list_get_first(&m->c_connections, &it);
	     osip_list_iterator_has_elem(it); c = osip_list_get_next(&it))
		if (!sdp_take_conn(p, c))
			return false;
	return sdp_take_attrs(p, &m->a_attributes);
}

static bool sdp_writes_as(const sdp_message_t *sdp, const char *text)
{
	const char *p = text;
	const char *v[] = { sdp->v_version }, *sname[] = { sdp->s_name };
	const char *o[] = { sdp->o_username, sdp->o_sess_id, sdp->o_sess_version,
			    sdp->o_nettype, sdp->o_addrtype, sdp->o_addr };
	osip_list_iterator_t it;

	if (sdp->i_info || sdp->u_uri || sdp->z_adjustments || sdp->k_key ||
	    !osip_list_eol(&sdp->e_emails, 0) || !osip_list_eol(&sdp->p_phones, 0) ||
	    !osip_list_eol(&sdp->b_bandwidths, 0) || osip_list_eol(&sdp->t_descrs, 0))
		return false;
	if (!sdp_take_line(&p, "v=", v, 1, ' ') || !sdp_take_line(&p, "o=", o, 6, ' ') ||
	    !sdp_take_line(&p, "s=", sname, 1, ' ') ||
	    (sdp->c_connection && !sdp_take_conn(&p, sdp->c_connection)))
		return false;
	for (sdp_time_descr_t *t = osip_list_get_first(&sdp->t_descrs, &it); osip_list_iterator_has_elem(it);
	     t = osip_list_get_next(&it)) {
		const char *f[] = { t->t_start_time, t->t_stop_time };

		if (!osip_list_eol(&t->r_repeats, 0) || !sdp_take_line(&p, "t=", f, 2, ' '))
			return false;
	}
	if (!sdp_take_attrs(&p, &sdp->a_attributes))
		return false;
	for (sdp_media_t *m = osip_list_get_first(&sdp->m_medias, &it); osip_list_iterator_has_elem(it);
	     m = osip_list_get_next(&it))
		if (!sdp_take_media(&p, m))
			return false;
	return *p == '\0';
}

/* Parse body; NULL unless libosip2 read every line of it (see the top).
 * *written is libosip2's writing of the parse (osip_free), the body's
 * lines with CRLF: what the rewrite starts from. */
static sdp_message_t *sdp_load(const char *body, size_t len, char **written)
{
	struct sdp_text text;
	sdp_message_t *sdp = NULL;
	char *again = NULL, stack[SDP_TEXT_STACK];

	*written = NULL;
	if (sdp_text_make(body, len, &text, stack) != 0)
		return NULL;
	if (sdp_message_init(&sdp) != 0) {
		sdp_text_free(&text);
		return NULL;
	}
	if (sdp_message_parse(sdp, text.buf) != 0) {
		sdp_message_free(sdp);
		sdp_text_free(&text);
		return NULL;
	}
	if (sdp_writes_as(sdp, text.buf)) {
		/* libosip2 would write text: that is its writing */
		again = osip_malloc(text.len + 1);
		if (again)
			memcpy(again, text.buf, text.len + 1);
	} else if (sdp_message_to_str(sdp, &again) != 0 || (again && !sdp_same_lines(text.buf, again))) {
		osip_free(again);
		again = NULL;
	}
	if (!again) {
		sdp_message_free(sdp);
		sdp = NULL;
	}
	*written = again;
	sdp_text_free(&text);
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

/* What every c=, o= and a=rtcp is set to. */
struct sdp_target {
	const char *addrtype;       /* "IP4" or "IP6" */
	char addr[NETADDR_HOST_MAX];
};

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

/*
 * The rewritten body is written from libosip2's own writing of the parse
 * (sdp_body.text, which sdp_load checked against the body line by line),
 * walked in step with the parse: a line the rewrite does not touch is
 * copied as libosip2 wrote it, a changed one is written as libosip2 writes
 * that line with the changed fields (its writer puts single blanks between
 * the fields of o=, c= and m=, and "a=field[:value]"). That is the body
 * sdp_message_to_str would give after the changes, without changing the
 * parse and writing all of it out again.
 */
struct sdp_out {
	char *buf;
	size_t len, cap;
};

static int sdp_out_put(struct sdp_out *o, const char *text, size_t len)
{
	if (len > o->cap - o->len) {
		size_t cap = o->cap * 2 + len;
		char *buf = realloc(o->buf, cap);

		if (!buf)
			return -1;
		o->buf = buf;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, text, len);
	o->len += len;
	return 0;
}

static int sdp_out_str(struct sdp_out *o, const char *text)
{
	return sdp_out_put(o, text, strlen(text));
}

/* The decimal digits of value into buf (at least 6 bytes); their count. */
static size_t sdp_port_text(unsigned value, char *buf)
{
	char rev[5];
	size_t n = 0, i = 0;

	do {
		rev[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value && n < sizeof(rev));
	while (n)
		buf[i++] = rev[--n];
	buf[i] = '\0';
	return i;
}

/* What becomes of a c= line (RFC 2543 hold, R19: 0.0.0.0 or an IN IP6 ::
 * stays a hold address, in the target's family; anything else becomes the
 * target). */
enum sdp_conn_change {
	SDP_CONN_KEEP,    /* the line as it was */
	SDP_CONN_HOLD4,   /* c=IN IP4 0.0.0.0 */
	SDP_CONN_HOLD6,   /* c=IN IP6 :: */
	SDP_CONN_TARGET,  /* c=IN <target> */
};

static enum sdp_conn_change sdp_conn_change(const sdp_connection_t *c, bool to_ip6)
{
	struct in_addr was;
	struct netaddr was6;

	if (c->c_addr && sdp_parse_ipv4(c->c_addr, &was) && was.s_addr == INADDR_ANY)
		return to_ip6 ? SDP_CONN_HOLD6 : SDP_CONN_KEEP;
	if (c->c_addr && c->c_addrtype && strcasecmp(c->c_addrtype, "IP6") == 0 &&
	    sdp_parse_ipv6(c->c_addr, &was6) && !netaddr_is_specified(&was6))
		return to_ip6 ? SDP_CONN_KEEP : SDP_CONN_HOLD4;
	return SDP_CONN_TARGET;
}

static int sdp_out_conn(struct sdp_out *o, const sdp_connection_t *c, const struct sdp_target *t,
			const char *line, size_t len)
{
	switch (sdp_conn_change(c, t->addrtype[2] == '6')) {
	case SDP_CONN_KEEP:
		return sdp_out_put(o, line, len);
	case SDP_CONN_HOLD4:
		return sdp_out_str(o, "c=IN IP4 0.0.0.0\r\n");
	case SDP_CONN_HOLD6:
		return sdp_out_str(o, "c=IN IP6 ::\r\n");
	case SDP_CONN_TARGET:
		break;
	}
	/* the multicast TTL and count go with the address */
	if (sdp_out_str(o, "c=IN ") != 0 || sdp_out_str(o, t->addrtype) != 0 ||
	    sdp_out_put(o, " ", 1) != 0 || sdp_out_str(o, t->addr) != 0)
		return -1;
	return sdp_out_put(o, "\r\n", 2);
}

/* o=: the address only; session id and version pass (R18). The line is
 * "o=<username> <sess-id> <sess-version> <nettype> <addrtype> <addr>"
 * and the first three have no blanks (libosip2 reads them blank-separated). */
static int sdp_out_origin(struct sdp_out *o, const struct sdp_target *t, const char *line,
			  size_t len)
{
	size_t keep = 0, blanks = 0;

	while (keep < len && blanks < 3)
		if (line[keep++] == ' ')
			blanks++;
	if (blanks != 3)
		return -1;
	if (sdp_out_put(o, line, keep) != 0 || sdp_out_str(o, "IN ") != 0 ||
	    sdp_out_str(o, t->addrtype) != 0 || sdp_out_put(o, " ", 1) != 0 ||
	    sdp_out_str(o, t->addr) != 0)
		return -1;
	return sdp_out_put(o, "\r\n", 2);
}

/* m=<media> <port>[/<count>] <proto> <fmt>...: the relay's port in place
 * of the port and count. m=<media> <port>/<count> (layered coding) would
 * promise ports the relay does not hold: one stream, one port. */
static int sdp_out_media(struct sdp_out *o, const sdp_media_t *m, uint16_t port, const char *line,
			 size_t len)
{
	size_t head = 2 + strlen(m->m_media) + 1, rest = head;
	char digits[8];

	if (head > len || line[head - 1] != ' ')
		return -1;
	while (rest < len && line[rest] != ' ' && line[rest] != '\r')
		rest++;
	if (sdp_out_put(o, line, head) != 0 ||
	    sdp_out_put(o, digits, sdp_port_text(port, digits)) != 0)
		return -1;
	return sdp_out_put(o, line + rest, len - rest);
}

/* a=<field>[:<value>]: ICE goes (the relay is the path); a=rtcp gets
 * rtcp_value, or goes when it is NULL. */
static int sdp_out_attr(struct sdp_out *o, const sdp_attribute_t *a, const char *rtcp_value,
			const char *line, size_t len)
{
	size_t field;

	if (sdp_attr_is_ice(a))
		return 0;
	if (!sdp_attr_is(a, "rtcp"))
		return sdp_out_put(o, line, len);
	if (!rtcp_value)
		return 0;
	field = 2 + strlen(a->a_att_field);
	if (field > len)
		return -1;
	if (sdp_out_put(o, line, field) != 0 || sdp_out_put(o, ":", 1) != 0 ||
	    sdp_out_str(o, rtcp_value) != 0)
		return -1;
	return sdp_out_put(o, "\r\n", 2);
}

/* "<port> IN <addrtype> <addr>" for a=rtcp (RFC 3605): the relay's RTCP
 * port, P+1, or P itself when it muxes (RFC 5761 section 5.1.3). */
static void sdp_rtcp_value(unsigned port, const struct sdp_target *t, char *buf)
{
	size_t n = sdp_port_text(port, buf), a = strlen(t->addr);

	memcpy(buf + n, " IN ", 4);
	memcpy(buf + n + 4, t->addrtype, 3);
	buf[n + 7] = ' ';
	memcpy(buf + n + 8, t->addr, a + 1);
}

/* Every attribute (and, in a media section, every c=) of the section that
 * ends met its line. */
static bool sdp_section_done(const sdp_media_t *m, osip_list_iterator_t ait, osip_list_iterator_t cit)
{
	return !osip_list_iterator_has_elem(ait) && !(m && osip_list_iterator_has_elem(cit));
}

struct sdp_body {
	sdp_message_t *sdp;
	char *text;            /* libosip2's writing of sdp, the body's lines (osip_free) */
	size_t count;          /* m= lines */
	bool has_port[SDP_MAX_MEDIA]; /* the stream is not rejected (port 0) */
};

static int sdp_write(const struct sdp_body *b, const struct sdp_rewrite_params *params,
		     struct sdp_out *o)
{
	const sdp_message_t *sdp = b->sdp;
	const char *text = b->text;
	struct sdp_target t;
	osip_list_iterator_t mit, ait, cit;
	const sdp_media_t *m = NULL;
	const sdp_attribute_t *a;
	const sdp_connection_t *c;
	const osip_list_t *attrs = &sdp->a_attributes;
	char rtcp[24 + NETADDR_HOST_MAX];
	const char *rtcp_value = NULL; /* a=rtcp is media-level (RFC 3605 section 2.1):
					* at session level it could only point around the relay */
	size_t i = 0;
	bool conn_done = false;

	if (sdp_target_of(params, &t) != 0)
		return -1;
	memset(&cit, 0, sizeof(cit));
	a = osip_list_get_first(attrs, &ait);
	c = NULL;
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		int rc = 0;

		if (line[len] != '\n' || line[1] != '=')
			return -1; /* not libosip2's writing */
		len++;
		switch (line[0]) {
		case 'o':
			rc = m ? sdp_out_put(o, line, len) : sdp_out_origin(o, &t, line, len);
			break;
		case 'c':
			if (!m) {
				if (conn_done || !sdp->c_connection)
					return -1;
				conn_done = true;
				rc = sdp_out_conn(o, sdp->c_connection, &t, line, len);
				break;
			}
			if (!osip_list_iterator_has_elem(cit))
				return -1;
			rc = sdp_out_conn(o, c, &t, line, len);
			c = osip_list_get_next(&cit);
			break;
		case 'm':
			if (!sdp_section_done(m, ait, cit))
				return -1;
			m = m ? osip_list_get_next(&mit) : osip_list_get_first(&sdp->m_medias, &mit);
			if (!m || !osip_list_iterator_has_elem(mit) || i >= b->count)
				return -1;
			if (b->has_port[i]) {
				rc = sdp_out_media(o, m, params->ports[i], line, len);
				sdp_rtcp_value(params->ports[i] + (params->rtcp_mux[i] ? 0u : 1u), &t, rtcp);
				rtcp_value = rtcp;
			} else {
				/* a rejected stream keeps port 0 and loses a=rtcp: there is
				 * no relay port to name and the old one is the party's
				 * private one */
				rc = sdp_out_put(o, line, len);
				rtcp_value = NULL;
			}
			i++;
			attrs = &m->a_attributes;
			a = osip_list_get_first(attrs, &ait);
			c = osip_list_get_first(&m->c_connections, &cit);
			break;
		case 'a':
			if (!osip_list_iterator_has_elem(ait))
				return -1;
			rc = sdp_out_attr(o, a, rtcp_value, line, len);
			a = osip_list_get_next(&ait);
			break;
		default:
			rc = sdp_out_put(o, line, len);
			break;
		}
		if (rc != 0)
			return -1;
		line += len;
	}
	/* every part of the parse met its line */
	if (!sdp_section_done(m, ait, cit) || i != b->count || (sdp->c_connection && !conn_done))
		return -1;
	return 0;
}

struct sdp_body *sdp_rewrite_body_load(const char *body, size_t len, unsigned families,
				       struct sdp_info *info)
{
	struct sdp_body *b;

	if (!info)
		return NULL;
	memset(info, 0, sizeof(*info));
	b = malloc(sizeof(*b));
	if (!b)
		return NULL;
	b->text = NULL;
	b->sdp = sdp_load(body, len, &b->text);
	if (!b->sdp || sdp_collect(b->sdp, families, info) != 0) {
		memset(info, 0, sizeof(*info));
		sdp_rewrite_body_free(b);
		return NULL;
	}
	b->count = info->count;
	for (size_t i = 0; i < info->count; i++)
		b->has_port[i] = info->streams[i].port != 0;
	return b;
}

int sdp_rewrite_body_rewrite(struct sdp_body *b, const struct sdp_rewrite_params *params, char **out,
		     size_t *out_len)
{
	struct sdp_out o = { NULL, 0, 0 };
	int rc = -1;

	if (!out || !out_len)
		return -1;
	*out = NULL;
	*out_len = 0;
	if (!b || !b->sdp || !b->text || !params)
		return -1;
	/* the changed lines rarely grow by more than this; sdp_out grows if so */
	o.cap = strlen(b->text) + 2 * NETADDR_HOST_MAX + 64;
	o.buf = malloc(o.cap);
	if (o.buf && sdp_write(b, params, &o) == 0 &&
	    sdp_out_put(&o, "", 1) == 0) {
		*out = o.buf;
		*out_len = o.len - 1;
		o.buf = NULL;
		rc = 0;
	}
	free(o.buf);
	/* once per load, as the contract says */
	sdp_message_free(b->sdp);
	b->sdp = NULL;
	osip_free(b->text);
	b->text = NULL;
	return rc;
}

void sdp_rewrite_body_free(struct sdp_body *b)
{
	if (!b)
		return;
	if (b->sdp)
		sdp_message_free(b->sdp);
	osip_free(b->text);
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
