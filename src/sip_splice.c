/*
 * sip_splice: the received bytes out again, with sipnatd's changes written in
 * (see the header for what is written anew and why).
 */
#include "sip_splice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum kind {
	K_OTHER,          /* a header passed on as it came, or an unknown one */
	K_VIA,            /* written by libosip2, all of the kind at its first place */
	K_ROUTE,
	K_RECORD_ROUTE,
	K_CONTACT,
	K_AUTHORIZATION,
	K_PROXY_AUTHORIZATION,
	K_CONTENT_LENGTH, /* written last, from the body */
	K_FROM,           /* passed on unless its values changed */
	K_TO,
	K_CALL_ID,
	K_CSEQ,
	K_COUNT
};

#define SNAPPED_FIRST K_FROM

static const struct {
	const char *name;
	enum kind kind;
} names[] = {
	{ "via", K_VIA },       { "v", K_VIA },
	{ "route", K_ROUTE },   { "record-route", K_RECORD_ROUTE },
	{ "contact", K_CONTACT }, { "m", K_CONTACT },
	{ "authorization", K_AUTHORIZATION }, { "proxy-authorization", K_PROXY_AUTHORIZATION },
	{ "content-length", K_CONTENT_LENGTH }, { "l", K_CONTENT_LENGTH },
	{ "from", K_FROM },     { "f", K_FROM },
	{ "to", K_TO },         { "t", K_TO },
	{ "call-id", K_CALL_ID }, { "i", K_CALL_ID },
	{ "cseq", K_CSEQ },
};

static enum kind kind_of(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len && strncasecmp(names[i].name, name, len) == 0)
			return names[i].kind;
	return K_OTHER;
}

/* The lists libosip2 fills that sipnatd never edits: their lines are passed
 * on as they came, as long as no entry was added or removed. */
static void list_sizes(const osip_message_t *msg, int out[12])
{
	const osip_list_t *lists[12] = {
		&msg->accepts, &msg->accept_encodings, &msg->accept_languages, &msg->alert_infos,
		&msg->allows, &msg->authentication_infos, &msg->call_infos, &msg->content_encodings,
		&msg->error_infos, &msg->proxy_authenticates, &msg->proxy_authentication_infos,
		&msg->www_authenticates,
	};
	for (int i = 0; i < 12; i++)
		out[i] = osip_list_size(lists[i]);
}

/* ---- values in flat form: what a header says, to compare before and after */

struct flat {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void flat_put(struct flat *f, const char *s, size_t n)
{
	if (f->overflow || f->cap - f->len < n) {
		f->overflow = true;
		return;
	}
	memcpy(f->p + f->len, s, n);
	f->len += n;
}

/* A value and its end; absent and empty differ. */
static void flat_str(struct flat *f, const char *s)
{
	if (s)
		flat_put(f, s, strlen(s));
	flat_put(f, s ? "\x01" : "\x02", 1);
}

static void flat_params(struct flat *f, const osip_list_t *params)
{
	const osip_generic_param_t *p;

	for (int i = 0; (p = osip_list_get(params, i)) != NULL; i++) {
		flat_str(f, p->gname);
		flat_str(f, p->gvalue);
	}
	flat_put(f, "\x03", 1);
}

static void flat_uri(struct flat *f, const osip_uri_t *u)
{
	if (!u) {
		flat_put(f, "\x04", 1);
		return;
	}
	flat_str(f, u->scheme);
	flat_str(f, u->username);
	flat_str(f, u->password);
	flat_str(f, u->host);
	flat_str(f, u->port);
	flat_str(f, u->string);
	flat_params(f, &u->url_params);
	flat_params(f, &u->url_headers);
}

static void flat_from(struct flat *f, const osip_from_t *from)
{
	if (!from) {
		flat_put(f, "\x04", 1);
		return;
	}
	flat_str(f, from->displayname);
	flat_uri(f, from->url);
	flat_params(f, &from->gen_params);
}

static void flat_via(struct flat *f, const osip_via_t *v)
{
	flat_str(f, v->version);
	flat_str(f, v->protocol);
	flat_str(f, v->host);
	flat_str(f, v->port);
	flat_str(f, v->comment);
	flat_params(f, &v->via_params);
}

/* The kinds written per entry, in list[] order. */
#define LIST_KINDS 4
static const osip_list_t *list_of(const osip_message_t *msg, int li)
{
	switch (li) {
	case 0: return &msg->vias;
	case 1: return &msg->routes;
	case 2: return &msg->record_routes;
	default: return &msg->contacts;
	}
}

static int list_index(enum kind k)
{
	return k == K_VIA ? 0 : k == K_ROUTE ? 1 : k == K_RECORD_ROUTE ? 2 : k == K_CONTACT ? 3 : -1;
}

/* Routes, Record-Routes and Contacts are name-addrs as From is. */
static void flat_entry(struct flat *f, int li, const void *e)
{
	if (li == 0)
		flat_via(f, e);
	else
		flat_from(f, e);
}

static void flat_kind(struct flat *f, const osip_message_t *msg, enum kind k)
{
	switch (k) {
	case K_FROM:
		flat_from(f, msg->from);
		break;
	case K_TO:
		flat_from(f, msg->to);
		break;
	case K_CALL_ID:
		flat_str(f, msg->call_id ? msg->call_id->number : NULL);
		flat_str(f, msg->call_id ? msg->call_id->host : NULL);
		break;
	case K_CSEQ:
		flat_str(f, msg->cseq ? msg->cseq->number : NULL);
		flat_str(f, msg->cseq ? msg->cseq->method : NULL);
		break;
	default:
		break;
	}
}

static void flat_start(struct flat *f, const osip_message_t *msg)
{
	flat_str(f, msg->sip_method);
	flat_str(f, msg->sip_version);
	flat_put(f, (const char *)&msg->status_code, sizeof(msg->status_code));
	flat_str(f, msg->reason_phrase);
	flat_uri(f, msg->req_uri);
}

/* Whether what msg says for k (or the start line) is what was snapped. */
static bool same_as_snap(const struct sip_splice *s, const osip_message_t *msg, int k)
{
	char buf[SIP_SPLICE_ARENA];
	struct flat f = { .p = buf, .cap = sizeof(buf) };
	uint16_t at, len;

	if (k < 0) {
		flat_start(&f, msg);
		at = s->start_snap;
		len = s->start_snap_len;
	} else {
		flat_kind(&f, msg, (enum kind)k);
		at = s->snap[k - SNAPPED_FIRST];
		len = s->snap_len[k - SNAPPED_FIRST];
	}
	return !f.overflow && f.len == len && memcmp(buf, s->arena + at, len) == 0;
}

/* ---- the index */

static bool snap(struct sip_splice *s, const osip_message_t *msg, int k, uint16_t *at, uint16_t *len)
{
	struct flat f = { .p = s->arena + s->used, .cap = sizeof(s->arena) - s->used };

	if (k < 0)
		flat_start(&f, msg);
	else
		flat_kind(&f, msg, (enum kind)k);
	if (f.overflow)
		return false;
	*at = s->used;
	*len = (uint16_t)f.len;
	s->used += (uint16_t)f.len;
	return true;
}

static bool arena_copy(struct sip_splice *s, const char *text, uint16_t *at, uint16_t *len)
{
	size_t n = text ? strlen(text) : 0;

	if (n > sizeof(s->arena) - s->used)
		return false;
	if (n)
		memcpy(s->arena + s->used, text, n);
	*at = s->used;
	*len = (uint16_t)n;
	s->used += (uint16_t)n;
	return true;
}

/* RFC 3261 20: a URI with a '?' (or ',' or ';') outside angle brackets
 * reads differently (RFC 4475 3.1.2.6, regbadct): such a line is never
 * passed on as it came, libosip2 writes it with the brackets. */
static bool ambiguous(const struct sip_splice_line *l, const char *text)
{
	switch (l->kind) {
	case K_FROM:
	case K_TO:
	case K_CONTACT:
	case K_ROUTE:
	case K_RECORD_ROUTE:
		return !memchr(text, '<', l->len) && memchr(text, '?', l->len);
	default:
		return false;
	}
}

/* The headers the SIP path reads (or drops, or must see to frame the body):
 * libosip2 parses these. Any other line is not handed to it at all when the
 * dispatcher parses through sip_splice_lines, and goes out as it came. A
 * module that starts reading another header adds its name here (lower case,
 * compact forms too). */
static const char *const read_names[] = {
	"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "contact", "m", "route",
	"record-route", "max-forwards", "content-type", "c", "content-length", "l",
	"mime-version", "authorization", "proxy-authorization", "expires",
	"p-asserted-identity", "p-preferred-identity", "remote-party-id",
};

bool sip_splice_reads(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(read_names) / sizeof(read_names[0]); i++)
		if (strlen(read_names[i]) == len && strncasecmp(read_names[i], name, len) == 0)
			return true;
	return false;
}

/* The header lines, each "name: value" on one CRLF-terminated line; false
 * for anything else (folding, bare LF, a space before the colon: the full
 * serialisation handles those as libosip2 read them). */
static bool index_lines(struct sip_splice *s, const char *buf, size_t len, bool skip_unread)
{
	const char *end = buf + len, *p = buf;
	const char *nl = memchr(p, '\n', len);
	int counts[K_COUNT] = { 0 };

	/* a CR alone ends a line for libosip2: inside a line that goes out
	 * as it came, it would make two of it for the next reader */
	if (!nl || nl == p || nl[-1] != '\r' || nl - 1 - p > UINT16_MAX || memchr(p, '\r', (size_t)(nl - 1 - p)))
		return false;
	s->start_len = (uint16_t)(nl - 1 - p);
	for (p = nl + 1; p < end; p = nl + 1) {
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			s->body_at = (uint16_t)(p + 2 - buf);
			s->len = (uint16_t)len;
			return true; /* the empty line: the body follows */
		}
		if (*p == ' ' || *p == '\t' || s->nlines == SIP_SPLICE_LINES)
			return false;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || nl[-1] != '\r' || memchr(p, '\r', (size_t)(nl - 1 - p)))
			return false;
		const char *colon = memchr(p, ':', (size_t)(nl - 1 - p));
		if (!colon || colon == p || colon - p > UINT8_MAX)
			return false;
		for (const char *c = p; c < colon; c++)
			if (*c == ' ' || *c == '\t')
				return false;
		struct sip_splice_line *l = &s->line[s->nlines++];
		l->off = (uint16_t)(p - buf);
		l->len = (uint16_t)(nl - 1 - p);
		l->name_len = (uint8_t)(colon - p);
		l->kind = (uint8_t)kind_of(p, l->name_len);
		if (ambiguous(l, p))
			s->never_raw_line[s->nlines - 1] = true;
		l->skipped = skip_unread && l->kind == K_OTHER && !sip_splice_reads(p, l->name_len);
		s->nskipped += l->skipped;
		/* two From lines (or To, ...) are not something to pass on half */
		if (l->kind >= SNAPPED_FIRST && ++counts[l->kind] > 1)
			return false;
	}
	return false; /* no end of the headers */
}

/* Each line of the kind one entry (no comma on any of them: libosip2 splits
 * a line at its commas), as many lines as entries: then each entry is
 * snapped and its line can go out again when the entry did not change.
 * Otherwise the kind is written anew as a whole. */
static bool snap_list(struct sip_splice *s, const osip_message_t *msg, int li)
{
	const osip_list_t *list = list_of(msg, li);
	uint16_t lines[SIP_SPLICE_LINES], n = 0;
	const void *e;

	s->list[li].first = s->nentries;
	s->list[li].count = 0;
	s->list[li].whole = true;
	for (uint16_t i = 0; i < s->nlines; i++) {
		const struct sip_splice_line *l = &s->line[i];
		if (list_index((enum kind)l->kind) != li)
			continue;
		if (memchr(s->buf + l->off, ',', l->len) || s->never_raw_line[i])
			return true;
		lines[n++] = i;
	}
	if (n != osip_list_size(list))
		return true;
	for (int i = 0; (e = osip_list_get(list, i)) != NULL; i++) {
		struct flat f = { .p = s->arena + s->used, .cap = sizeof(s->arena) - s->used };
		flat_entry(&f, li, e);
		if (f.overflow)
			return false;
		s->entry[s->nentries].at = s->used;
		s->entry[s->nentries].len = (uint16_t)f.len;
		s->entry[s->nentries].line = lines[i];
		s->used += (uint16_t)f.len;
		s->nentries++;
	}
	s->list[li].count = n;
	s->list[li].whole = false;
	return true;
}

bool sip_splice_lines(struct sip_splice *s, const char *buf, size_t len, bool skip_unread)
{
	s->buf = buf;
	s->nlines = s->ngeneric = s->nskipped = 0;
	memset(s->never_raw_line, 0, sizeof(s->never_raw_line));
	memset(s->never_raw, 0, sizeof(s->never_raw));
	s->used = 0;
	/* a NUL in the headers is screened by sipmsg_parse on the whole
	 * datagram: a line libosip2 does not see must not hide one */
	return len <= UINT16_MAX && index_lines(s, buf, len, skip_unread) &&
	       !memchr(buf, '\0', s->body_at);
}

size_t sip_splice_parsed_text(const struct sip_splice *s, char *out)
{
	size_t n = s->start_len + 2;

	memcpy(out, s->buf, n);
	for (uint16_t i = 0; i < s->nlines; i++) {
		const struct sip_splice_line *l = &s->line[i];
		if (l->skipped)
			continue;
		memcpy(out + n, s->buf + l->off, (size_t)l->len + 2);
		n += (size_t)l->len + 2;
	}
	memcpy(out + n, s->buf + s->body_at - 2, (size_t)(s->len - s->body_at) + 2);
	return n + (size_t)(s->len - s->body_at) + 2;
}

int sip_splice_restore(const struct sip_splice *s, osip_message_t *msg)
{
	char name[256], *value;

	for (uint16_t i = 0; i < s->nlines; i++) {
		const struct sip_splice_line *l = &s->line[i];
		if (!l->skipped)
			continue;
		const char *v = s->buf + l->off + l->name_len + 1, *end = s->buf + l->off + l->len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		memcpy(name, s->buf + l->off, l->name_len);
		name[l->name_len] = '\0';
		osip_tolower(name); /* as libosip2 keeps the names it reads */
		if (!(value = osip_malloc((size_t)(end - v) + 1)))
			return -1;
		memcpy(value, v, (size_t)(end - v));
		value[end - v] = '\0';
		int rc = osip_message_set_header(msg, name, value);
		osip_free(value);
		if (rc != 0)
			return -1;
	}
	return 0;
}

bool sip_splice_snapshot(struct sip_splice *s, const osip_message_t *msg)
{
	const osip_header_t *h;

	/* a MIME body is kept by libosip2 in parts, without its boundaries:
	 * only libosip2 writes it whole again */
	if (osip_list_size(&msg->bodies) > 1 ||
	    (msg->content_type && msg->content_type->type &&
	     osip_strcasecmp(msg->content_type->type, "multipart") == 0))
		return false;
	if (!snap(s, msg, -1, &s->start_snap, &s->start_snap_len))
		return false;
	for (int k = SNAPPED_FIRST; k < K_COUNT; k++)
		if (!snap(s, msg, k, &s->snap[k - SNAPPED_FIRST], &s->snap_len[k - SNAPPED_FIRST]))
			return false;
	for (int i = 0; (h = osip_list_get(&msg->headers, i)) != NULL; i++) {
		struct sip_splice_generic *g = &s->generic[s->ngeneric];
		if (s->ngeneric == SIP_SPLICE_LINES || !h->hname ||
		    !arena_copy(s, h->hname, &g->name, &g->name_len) ||
		    !arena_copy(s, h->hvalue, &g->value, &g->value_len))
			return false;
		g->null_value = h->hvalue == NULL;
		s->ngeneric++;
	}
	s->nentries = 0;
	for (int li = 0; li < LIST_KINDS; li++)
		if (!snap_list(s, msg, li))
			return false;
	for (uint16_t i = 0; i < s->nlines; i++)
		if (s->never_raw_line[i] && s->line[i].kind >= SNAPPED_FIRST)
			s->never_raw[s->line[i].kind - SNAPPED_FIRST] = true;
	list_sizes(msg, s->lists);
	s->content_type = msg->content_type;
	s->mime_version = msg->mime_version;
	return true;
}

bool sip_splice_index(struct sip_splice *s, const char *buf, size_t len, const osip_message_t *msg)
{
	return sip_splice_lines(s, buf, len, false) && sip_splice_snapshot(s, msg);
}

void sip_splice_attach(osip_message_t *msg, struct sip_splice *s)
{
	msg->application_data = s;
}

struct sip_splice *sip_splice_of(const osip_message_t *msg)
{
	return msg->application_data;
}

int sip_splice_detach(osip_message_t *msg)
{
	struct sip_splice *s = msg->application_data;

	msg->application_data = NULL;
	return s ? sip_splice_restore(s, msg) : 0;
}

/* ---- writing */

struct out {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->cap - o->len < n) {
		size_t cap = o->cap * 2 > o->len + n ? o->cap * 2 : o->len + n + 256;
		char *p = osip_realloc(o->p, cap);
		if (!p) {
			o->failed = true;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* "Name: " + what libosip2 writes for one entry + CRLF; text is freed. */
static void put_header(struct out *o, const char *name, char *text, int rc)
{
	if (rc != 0 || !text) {
		osip_free(text);
		o->failed = true;
		return;
	}
	puts_(o, name);
	put(o, ": ", 2);
	puts_(o, text);
	put(o, "\r\n", 2);
	osip_free(text);
}

typedef int (*to_str_fn)(const void *, char **);

/* The first count entries of list (all: -1), each as libosip2 writes it. */
static void put_list(struct out *o, const char *name, const osip_list_t *list, to_str_fn fn, int count)
{
	const void *e;

	for (int i = 0; (count < 0 || i < count) && (e = osip_list_get(list, i)) != NULL; i++) {
		char *text = NULL;
		int rc = fn(e, &text);
		put_header(o, name, text, rc);
	}
}

static int via_str(const void *e, char **s) { return osip_via_to_str(e, s); }
static int route_str(const void *e, char **s) { return osip_route_to_str(e, s); }
static int record_route_str(const void *e, char **s) { return osip_record_route_to_str(e, s); }
static int contact_str(const void *e, char **s) { return osip_contact_to_str(e, s); }
static int authorization_str(const void *e, char **s) { return osip_authorization_to_str(e, s); }

/* The entries of a kind libosip2 writes. */
static void put_kind(struct out *o, const osip_message_t *msg, enum kind k)
{
	switch (k) {
	case K_VIA:
		put_list(o, "Via", &msg->vias, via_str, -1);
		break;
	case K_ROUTE:
		put_list(o, "Route", &msg->routes, route_str, -1);
		break;
	case K_RECORD_ROUTE:
		put_list(o, "Record-Route", &msg->record_routes, record_route_str, -1);
		break;
	case K_CONTACT:
		put_list(o, "Contact", &msg->contacts, contact_str, -1);
		break;
	case K_AUTHORIZATION:
		put_list(o, "Authorization", &msg->authorizations, authorization_str, -1);
		break;
	case K_PROXY_AUTHORIZATION:
		put_list(o, "Proxy-Authorization", &msg->proxy_authorizations, authorization_str, -1);
		break;
	default: /* From, To, Call-ID and CSeq: put_single */
		break;
	}
}
/* One kind as libosip2 writes it, whatever the kind. */
static void put_single(struct out *o, const osip_message_t *msg, enum kind k)
{
	char *text = NULL;
	int rc = 0;
	const char *name = "";

	switch (k) {
	case K_FROM:
		if (!msg->from)
			return;
		rc = osip_from_to_str(msg->from, &text);
		name = "From";
		break;
	case K_TO:
		if (!msg->to)
			return;
		rc = osip_to_to_str(msg->to, &text);
		name = "To";
		break;
	case K_CALL_ID:
		if (!msg->call_id)
			return;
		rc = osip_call_id_to_str(msg->call_id, &text);
		name = "Call-ID";
		break;
	case K_CSEQ:
		if (!msg->cseq)
			return;
		rc = osip_cseq_to_str(msg->cseq, &text);
		name = "CSeq";
		break;
	default:
		put_kind(o, msg, k);
		return;
	}
	put_header(o, name, text, rc);
}

static bool entry_same(const struct sip_splice *s, int li, const void *e, uint16_t snapped)
{
	char buf[SIP_SPLICE_ARENA];
	struct flat f = { .p = buf, .cap = sizeof(buf) };

	flat_entry(&f, li, e);
	return !f.overflow && f.len == s->entry[snapped].len &&
	       memcmp(buf, s->arena + s->entry[snapped].at, f.len) == 0;
}

/* A list kind: the entries sipnatd added or changed on top (Vias are pushed
 * and popped there) written anew, then the lines of the unchanged entries
 * below them as they came. */
static void put_list_kind(struct out *o, const struct sip_splice *s, const osip_message_t *msg, enum kind k)
{
	int li = list_index(k);
	const osip_list_t *list = list_of(msg, li);
	int n = osip_list_size(list);
	int m = s->list[li].count, kept = 0;

	if (!s->list[li].whole)
		while (kept < n && kept < m &&
		       entry_same(s, li, osip_list_get(list, n - 1 - kept), (uint16_t)(s->list[li].first + m - 1 - kept)))
			kept++;
	if (kept == 0) {
		put_kind(o, msg, k);
		return;
	}
	static const struct {
		const char *name;
		to_str_fn fn;
	} writer[LIST_KINDS] = { { "Via", via_str }, { "Route", route_str },
				 { "Record-Route", record_route_str }, { "Contact", contact_str } };
	put_list(o, writer[li].name, list, writer[li].fn, n - kept);
	for (int j = m - kept; j < m; j++) {
		const struct sip_splice_line *l = &s->line[s->entry[s->list[li].first + j].line];
		put(o, s->buf + l->off, l->len);
		put(o, "\r\n", 2);
	}
}

static bool name_is(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && strncasecmp(a, b, alen) == 0;
}

/* Whether the unknown headers called name are the ones snapped, in order. */
static bool generic_group_same(const struct sip_splice *s, const osip_message_t *msg, const char *name,
			       size_t nlen)
{
	const osip_header_t *h;
	int i = 0;

	for (uint16_t g = 0; g < s->ngeneric; g++) {
		const struct sip_splice_generic *sg = &s->generic[g];
		if (!name_is(s->arena + sg->name, sg->name_len, name, nlen))
			continue;
		/* the next current header of that name */
		while ((h = osip_list_get(&msg->headers, i)) != NULL &&
		       !(h->hname && name_is(h->hname, strlen(h->hname), name, nlen)))
			i++;
		if (!h || (h->hvalue == NULL) != sg->null_value ||
		    (h->hvalue && (strlen(h->hvalue) != sg->value_len ||
				   memcmp(h->hvalue, s->arena + sg->value, sg->value_len) != 0)))
			return false;
		i++;
	}
	while ((h = osip_list_get(&msg->headers, i)) != NULL) {
		if (h->hname && name_is(h->hname, strlen(h->hname), name, nlen))
			return false; /* one more than there was */
		i++;
	}
	return true;
}

static bool snapped_generic_name(const struct sip_splice *s, const char *name, size_t nlen)
{
	for (uint16_t g = 0; g < s->ngeneric; g++)
		if (name_is(s->arena + s->generic[g].name, s->generic[g].name_len, name, nlen))
			return true;
	return false;
}

/* The current unknown headers called name, under the name as spelt. */
static void put_generic_group(struct out *o, const osip_message_t *msg, const char *name, size_t nlen)
{
	const osip_header_t *h;

	for (int i = 0; (h = osip_list_get(&msg->headers, i)) != NULL; i++) {
		if (!h->hname || !name_is(h->hname, strlen(h->hname), name, nlen))
			continue;
		put(o, name, nlen);
		put(o, ": ", 2);
		if (h->hvalue)
			puts_(o, h->hvalue);
		put(o, "\r\n", 2);
	}
}

/* An unknown header sipnatd added: libosip2 keeps names in lower case, the
 * wire gets them as RFCs spell most (Max-Forwards). */
static void put_new_generic(struct out *o, const osip_header_t *h)
{
	size_t n = strlen(h->hname);

	for (size_t i = 0; i < n; i++) {
		char c = h->hname[i];
		if ((i == 0 || h->hname[i - 1] == '-') && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		put(o, &c, 1);
	}
	put(o, ": ", 2);
	if (h->hvalue)
		puts_(o, h->hvalue);
	put(o, "\r\n", 2);
}

static void put_start_line(struct out *o, const struct sip_splice *s, const osip_message_t *msg)
{
	char *uri = NULL, code[16];

	/* a status line goes out as it came only when it reads one way:
	 * "SIP/2.0 " and three digits, then a space */
	const char *b = s->buf;
	bool plain_status = MSG_IS_REQUEST(msg) ||
			    (s->start_len >= 12 && b[7] == ' ' && b[8] >= '1' && b[8] <= '6' && b[9] >= '0' &&
			     b[9] <= '9' && b[10] >= '0' && b[10] <= '9' && b[11] == ' ');
	if (plain_status && same_as_snap(s, msg, -1)) {
		put(o, s->buf, s->start_len);
	} else if (MSG_IS_REQUEST(msg)) {
		if (!msg->sip_method || !msg->sip_version || osip_uri_to_str(msg->req_uri, &uri) != 0) {
			o->failed = true;
			return;
		}
		puts_(o, msg->sip_method);
		put(o, " ", 1);
		puts_(o, uri);
		put(o, " ", 1);
		puts_(o, msg->sip_version);
		osip_free(uri);
	} else {
		if (!msg->sip_version) {
			o->failed = true;
			return;
		}
		snprintf(code, sizeof(code), " %d ", msg->status_code);
		puts_(o, msg->sip_version);
		puts_(o, code);
		if (msg->reason_phrase)
			puts_(o, msg->reason_phrase);
	}
	put(o, "\r\n", 2);
}

int sip_splice_write(const struct sip_splice *s, osip_message_t *msg, char **out, size_t *len)
{
	struct out o = { 0 };
	bool done[K_COUNT] = { false };
	int lists[12];
	const osip_body_t *body = osip_list_get(&msg->bodies, 0);
	const osip_header_t *h;
	char cl[48];

	list_sizes(msg, lists);
	if (memcmp(lists, s->lists, sizeof(lists)) != 0 || msg->content_type != s->content_type ||
	    msg->mime_version != s->mime_version || osip_list_size(&msg->bodies) > 1)
		return -1;
	bool same[K_COUNT] = { false };
	for (int k = SNAPPED_FIRST; k < K_COUNT; k++)
		same[k] = !s->never_raw[k - SNAPPED_FIRST] && same_as_snap(s, msg, k);

	o.cap = (size_t)s->line[s->nlines ? s->nlines - 1 : 0].off + 1024 + (body ? body->length : 0);
	if (!(o.p = osip_malloc(o.cap)))
		return -1;
	put_start_line(&o, s, msg);
	for (uint16_t i = 0; i < s->nlines; i++) {
		const struct sip_splice_line *l = &s->line[i];
		const char *text = s->buf + l->off;
		enum kind k = (enum kind)l->kind;

		if (k == K_OTHER) {
			if (l->skipped || !snapped_generic_name(s, text, l->name_len) ||
			    generic_group_same(s, msg, text, l->name_len)) {
				put(&o, text, l->len);
				put(&o, "\r\n", 2);
			} else {
				/* the first line of the name writes the group; later ones
				 * of the same name were written with it */
				bool first = true;
				for (uint16_t j = 0; j < i && first; j++)
					first = !(s->line[j].kind == K_OTHER && !s->line[j].skipped &&
						  name_is(s->buf + s->line[j].off, s->line[j].name_len, text,
							  l->name_len));
				if (first)
					put_generic_group(&o, msg, text, l->name_len);
			}
			continue;
		}
		if (k == K_CONTENT_LENGTH || done[k])
			continue;
		done[k] = true;
		if (k >= SNAPPED_FIRST && same[k]) {
			put(&o, text, l->len);
			put(&o, "\r\n", 2);
			continue;
		}
		if (list_index(k) >= 0)
			put_list_kind(&o, s, msg, k);
		else
			put_single(&o, msg, k);
		if (k == K_VIA) {
			/* a Record-Route or Route sipnatd adds goes next to the Vias */
			for (enum kind r = K_ROUTE; r <= K_RECORD_ROUTE; r++)
				if (!done[r]) {
					bool in_raw = false;
					for (uint16_t j = 0; j < s->nlines; j++)
						in_raw = in_raw || s->line[j].kind == r;
					if (!in_raw) {
						put_single(&o, msg, r);
						done[r] = true;
					}
				}
		}
	}
	/* whatever had no line of its own: kinds that were absent, and unknown
	 * headers sipnatd added (Max-Forwards where there was none) */
	for (int k = K_VIA; k < K_COUNT; k++)
		if (k != K_CONTENT_LENGTH && !done[k])
			put_single(&o, msg, (enum kind)k);
	for (int i = 0; (h = osip_list_get(&msg->headers, i)) != NULL; i++) {
		bool seen = false;
		if (!h->hname)
			continue;
		for (uint16_t j = 0; j < s->nlines && !seen; j++)
			seen = s->line[j].kind == K_OTHER && !s->line[j].skipped &&
			       name_is(s->buf + s->line[j].off, s->line[j].name_len, h->hname, strlen(h->hname));
		if (!seen)
			put_new_generic(&o, h);
	}
	/* digits written backwards into the end of cl: no printf per message */
	size_t v = body ? body->length : 0, at = sizeof(cl);
	do {
		cl[--at] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts_(&o, "Content-Length: ");
	put(&o, cl + at, sizeof(cl) - at);
	put(&o, "\r\n\r\n", 4);
	if (body && body->length)
		put(&o, body->body, body->length);
	put(&o, "", 1); /* a C string, as osip_message_to_str gives */
	if (o.failed) {
		osip_free(o.p);
		return -1;
	}
	*out = o.p;
	*len = o.len - 1;
	return 0;
}
