/*
 * sipmsg: datagram in, osip_message_t out, and back. First step of the SIP path
 * (receive -> parse -> classify -> ...). Everything a remote party can put in a
 * datagram is judged here: keep-alives, size, framing (RFC 3261 18.3) and the
 * mandatory headers (RFC 3261 8.1.1), so that later steps may rely on them.
 */
#include "sipmsg.h"

#include "sip_splice.h"

#include "secret.h"

#include "log.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* libosip2 (Debian's 5.3 build at least) prints "| ERROR |" lines to stdout
 * for every message it cannot parse, even when nobody initialised its trace:
 * one line per datagram a stranger sends, past any rate limit. Its words are
 * kept for -d at debug level; the verdict is logged by the caller. */
__attribute__((format(printf, 4, 0)))
static void osip_trace_cb(const char *file, int line, osip_trace_level_t level, const char *fmt,
			  va_list ap)
{
	char text[256];
	size_t n;

	if (!log_enabled(LOG_DEBUG))
		return;
	vsnprintf(text, sizeof(text), fmt, ap);
	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	log_debug("libosip2 %s:%d: %s", file, line, text);
}

void sipmsg_global_init(void)
{
	parser_init();
	osip_trace_initialize_func(OSIP_INFO1, osip_trace_cb); /* FATAL..WARNING */
}

static bool is_keepalive(const char *buf, size_t len)
{
	static const char zeros[4];

	if ((len == 2 && memcmp(buf, "\r\n", 2) == 0) ||
	    (len == 4 && memcmp(buf, "\r\n\r\n", 4) == 0) ||
	    (len == 4 && memcmp(buf, zeros, 4) == 0))
		return true;
	/* Some stacks send a lone LF or a few CRLFs: whitespace only is a ping. */
	for (size_t i = 0; i < len; i++)
		if (buf[i] != '\r' && buf[i] != '\n')
			return false;
	return len > 0;
}

/* RFC 5389 6: first two bits zero, length a multiple of 4, magic cookie. */
static bool is_stun(const unsigned char *buf, size_t len)
{
	if (len < 20 || (buf[0] & 0xc0) != 0)
		return false;
	size_t body = ((size_t)buf[2] << 8) | buf[3];
	return body % 4 == 0 && body + 20 == len && buf[4] == 0x21 && buf[5] == 0x12 &&
	       buf[6] == 0xa4 && buf[7] == 0x42;
}

/* Where the body starts: after the first empty line (CRLFCRLF, or LFLF from
 * sloppy stacks). Returns len when there is no empty line. */
static size_t body_offset(const char *buf, size_t len)
{
	const char *nl = buf, *end = buf + len;

	/* from line end to line end (memchr), not byte by byte */
	while ((nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL) {
		size_t i = (size_t)(nl - buf);
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i >= 1 && i + 2 < len && buf[i - 1] == '\r' && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
		nl++;
	}
	return len;
}

/* Content-Length as a strict decimal; -1 for anything else (negative, junk,
 * absurdly long). */
static long content_length_value(const osip_message_t *msg)
{
	const char *v = msg->content_length ? msg->content_length->value : NULL;
	long n = 0;

	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (!isdigit((unsigned char)*v))
		return -1;
	for (; isdigit((unsigned char)*v); v++) {
		n = n * 10 + (*v - '0');
		if (n > SIPMSG_MAX_SIZE)
			return -1;
	}
	while (*v == ' ' || *v == '\t')
		v++;
	return *v ? -1 : n;
}

/* needle (lower case) somewhere in buf[0..len), ignoring case. */
static bool contains_nocase(const char *buf, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	/* the first letter compared inline: this runs over every datagram's
	 * headers, and a call per position cost 4 % of a call's instructions */
	for (size_t i = 0; i + n <= len; i++)
		if ((buf[i] | 0x20) == needle[0] && strncasecmp(buf + i, needle, n) == 0)
			return true;
	return false;
}

/* libosip2 (5.3) leaks memory on a MIME part with two Content-Type headers:
 * osip_body_set_contenttype() puts the second over the first without
 * freeing it, so a stranger could make the daemon grow with every datagram.
 * Such a multipart body is refused before libosip2 reads it. libosip2 cuts
 * parts at "--boundary" anywhere in a line, so this check is coarser than
 * its splitting on purpose: two lines that mention Content-Type without an
 * empty line between them are enough. */
static bool mime_part_with_two_types(const char *buf, size_t body_at, size_t len)
{
	unsigned seen = 0;
	size_t i = body_at;

	if (body_at >= len || !contains_nocase(buf, body_at, "multipart"))
		return false;
	while (i < len) {
		size_t start = i;

		while (i < len && buf[i] != '\r' && buf[i] != '\n')
			i++;
		if (i == start)
			seen = 0; /* an empty line ends a header block */
		else if (contains_nocase(buf + start, i - start, "content-type") && ++seen > 1)
			return true;
		if (i < len && buf[i] == '\r')
			i++;
		if (i < len && buf[i] == '\n')
			i++;
	}
	return false;
}

static bool has_mandatory_headers(const osip_message_t *msg, const char **why)
{
	if (osip_list_size(&msg->vias) == 0) {
		*why = "no Via";
		return false;
	}
	if (!msg->from || !msg->from->url) {
		*why = "no From";
		return false;
	}
	if (!msg->to || !msg->to->url) {
		*why = "no To";
		return false;
	}
	if (!msg->call_id || !msg->call_id->number) {
		*why = "no Call-ID";
		return false;
	}
	if (!msg->cseq || !msg->cseq->method || !msg->cseq->number) {
		*why = "no CSeq";
		return false;
	}
	return true;
}

/* Step 2: libosip2 parses the first len bytes. */
static enum sipmsg_status parse_framed(const char *buf, size_t len, size_t body_at,
				       osip_message_t **out, const char **why)
{
	osip_message_t *msg = NULL;

	if (osip_message_init(&msg) != 0) {
		*why = "out of memory";
		return SIPMSG_MALFORMED;
	}
	if (osip_message_parse(msg, buf, len) != 0) {
		/* libosip2 refuses a body shorter than Content-Length, but only after
		 * it has read the headers: RFC 3261 18.3 calls that incomplete (a
		 * datagram cut short), not garbage. */
		long cl = msg->content_length ? content_length_value(msg) : -1;
		bool short_body = cl >= 0 && (size_t)cl > len - body_at;
		osip_message_free(msg);
		*why = short_body ? "body shorter than Content-Length" : "libosip2 could not parse it";
		return short_body ? SIPMSG_INCOMPLETE : SIPMSG_MALFORMED;
	}
	*out = msg;
	return SIPMSG_OK;
}

/* Step 1, before libosip2 sees anything: what the datagram is by its bytes
 * alone. SIPMSG_OK = worth parsing, and *body_at is where its body starts. */
static enum sipmsg_status screen_datagram(const char *buf, size_t len, size_t *body_at,
					  const char **why)
{
	if (len > SIPMSG_MAX_SIZE) {
		*why = "datagram too big";
		return SIPMSG_TOO_BIG;
	}
	if (is_keepalive(buf, len)) {
		*why = "keep-alive";
		return SIPMSG_KEEPALIVE;
	}
	if (is_stun((const unsigned char *)buf, len)) {
		*why = "STUN";
		return SIPMSG_STUN;
	}
	/* SIP is text: a NUL before the body means garbage, and libosip2 works on
	 * C strings in places. */
	*body_at = body_offset(buf, len);
	if (*body_at == len && (len < 4 || memchr(buf, '\n', len) == NULL)) {
		*why = "no SIP header block";
		return SIPMSG_MALFORMED;
	}
	if (memchr(buf, '\0', *body_at) != NULL) {
		*why = "NUL byte in the headers";
		return SIPMSG_MALFORMED;
	}
	if (mime_part_with_two_types(buf, *body_at, len)) {
		*why = "a MIME part with two Content-Type headers";
		return SIPMSG_MALFORMED;
	}
	return SIPMSG_OK;
}

/* Step 3, on the parsed message: what a message must say to be passed on.
 * SIPMSG_INVALID = a request to answer 400; SIPMSG_MALFORMED = drop. */
static enum sipmsg_status check_parsed(const osip_message_t *msg, const char **why)
{
	if (!has_mandatory_headers(msg, why))
		/* A request we can answer gets a 400; anything else is dropped. */
		return MSG_IS_REQUEST(msg) && osip_list_size(&msg->vias) > 0 ? SIPMSG_INVALID
									      : SIPMSG_MALFORMED;
	if (MSG_IS_REQUEST(msg) && osip_strcasecmp(msg->sip_method, msg->cseq->method) != 0) {
		*why = "CSeq method differs from the request method";
		return SIPMSG_INVALID;
	}
	/* RFC 4475 3.1.2.16 (badvers): only SIP/2.0 is spoken here, and a
	 * message in another version is never passed on as it is. */
	if (!msg->sip_version || osip_strcasecmp(msg->sip_version, "SIP/2.0") != 0) {
		*why = "unsupported SIP version";
		return MSG_IS_REQUEST(msg) ? SIPMSG_INVALID : SIPMSG_MALFORMED;
	}
	/* RFC 3261 7.2: a Status-Code is three digits, 100 to 699; libosip2
	 * reads "1%0080" as 1, and such a response is passed on to no one */
	if (MSG_IS_RESPONSE(msg) && (msg->status_code < 100 || msg->status_code > 699)) {
		*why = "status code out of range";
		return SIPMSG_MALFORMED;
	}
	/* RFC 3261 19.1.5, RFC 4475 3.1.2.11 (escruri): headers in a
	 * Request-URI are malformed and must not reach the next hop. */
	if (MSG_IS_REQUEST(msg) && msg->req_uri && osip_list_size(&msg->req_uri->url_headers) > 0) {
		*why = "headers in the Request-URI";
		return SIPMSG_INVALID;
	}
	return SIPMSG_OK;
}

/* Step 4, RFC 3261 18.3 framing over UDP: the body is what Content-Length
 * says. *msg may be replaced by a parse of the datagram cut to that length. */
static enum sipmsg_status frame_body(const char *buf, size_t len, size_t body_at,
				     osip_message_t **msg, const char **why)
{
	size_t body_len = len - body_at;

	if (!(*msg)->content_length)
		return SIPMSG_OK;
	long cl = content_length_value(*msg);
	if (cl < 0) {
		*why = "bad Content-Length";
		return MSG_IS_REQUEST(*msg) ? SIPMSG_INVALID : SIPMSG_MALFORMED;
	}
	if ((size_t)cl > body_len) {
		*why = "body shorter than Content-Length";
		return SIPMSG_INCOMPLETE;
	}
	if ((size_t)cl < body_len) {
		/* Extra bytes after the body are not ours to interpret (a second
		 * message smuggled in the datagram): cut them and parse again. */
		osip_message_free(*msg);
		*msg = NULL;
		enum sipmsg_status st = parse_framed(buf, body_at + (size_t)cl, body_at, msg, why);
		if (st != SIPMSG_OK)
			return st;
		if (!has_mandatory_headers(*msg, why))
			return SIPMSG_MALFORMED;
	}
	return SIPMSG_OK;
}

enum sipmsg_status sipmsg_parse(const char *buf, size_t len, osip_message_t **out,
				const char **why)
{
	osip_message_t *msg = NULL;
	size_t body_at = 0;

	*out = NULL;
	*why = "";
	enum sipmsg_status st = screen_datagram(buf, len, &body_at, why);
	if (st == SIPMSG_OK)
		st = parse_framed(buf, len, body_at, &msg, why);
	if (st == SIPMSG_OK)
		st = check_parsed(msg, why);
	if (st == SIPMSG_OK)
		st = frame_body(buf, len, body_at, &msg, why);
	/* The message goes out with OK, and with INVALID so it can be answered. */
	if (st == SIPMSG_OK || st == SIPMSG_INVALID)
		*out = msg;
	else if (msg)
		osip_message_free(msg);
	return st;
}

static int set_content_length(osip_message_t *msg, size_t n)
{
	char cl[24];

	osip_content_length_free(msg->content_length);
	msg->content_length = NULL;
	snprintf(cl, sizeof(cl), "%zu", n);
	return osip_message_set_content_length(msg, cl);
}

/* libosip2 keeps the names of headers it has no struct for in lower case.
 * Header names are case-insensitive (RFC 3261 7.3.1), but admins read traces
 * and some stacks are picky: write them the way RFCs spell them. */
static void canonical_header_names(osip_message_t *msg)
{
	static const char *const special[] = { "RAck", "RSeq", "SIP-ETag", "SIP-If-Match", "Min-SE",
						"WWW-Authenticate", "CSeq", "Call-ID" };
	osip_header_t *h;

	for (int i = 0; (h = osip_list_get(&msg->headers, i)) != NULL; i++) {
		if (!h->hname)
			continue;
		bool done = false;
		for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++) {
			if (osip_strcasecmp(h->hname, special[k]) == 0 && strlen(h->hname) == strlen(special[k])) {
				memcpy(h->hname, special[k], strlen(special[k]));
				done = true;
			}
		}
		if (done || strlen(h->hname) <= 1)
			continue; /* compact forms stay as they are */
		for (char *p = h->hname; *p; p++)
			if (p == h->hname || p[-1] == '-')
				*p = (char)toupper((unsigned char)*p);
	}
}

static enum sipmsg_splice_check check_splices;
static unsigned splice_mismatches;

void sipmsg_check_splices(enum sipmsg_splice_check mode)
{
	check_splices = mode;
}

unsigned sipmsg_splice_mismatches(void)
{
	unsigned n = splice_mismatches;

	splice_mismatches = 0;
	return n;
}

/* Headers of different names may come in any order (RFC 3261 7.3.1), and
 * the lines libosip2 did not see are put back after the others: for the
 * comparison, the unknown headers in order of name, each name's in its own
 * order (a stable insertion sort of the few there are). */
static void sort_unknown_headers(osip_message_t *msg)
{
	int n = osip_list_size(&msg->headers);

	for (int i = 1; i < n; i++) {
		osip_header_t *h = osip_list_get(&msg->headers, i);
		int j = i;
		while (j > 0) {
			osip_header_t *prev = osip_list_get(&msg->headers, j - 1);
			if (!prev->hname || !h->hname || strcasecmp(prev->hname, h->hname) <= 0)
				break;
			j--;
		}
		if (j != i) {
			osip_list_remove(&msg->headers, i);
			osip_list_add(&msg->headers, h, j);
		}
	}
}

/* text read by libosip2 and written back in full; NULL when unreadable */
static char *reparsed(const char *text, size_t len)
{
	osip_message_t *m = NULL;
	char *out = NULL;
	size_t n;

	if (osip_message_init(&m) != 0)
		return NULL;
	if (osip_message_parse(m, text, len) == 0) {
		sort_unknown_headers(m);
		if (sipmsg_serialize(m, &out, &n) != 0)
			out = NULL;
	}
	osip_message_free(m);
	return out;
}

/* Tests only: the splice must say what the message says. Either the spliced
 * text, read by libosip2 and written back in full, is the full serialisation
 * of msg (libosip2 writes some received values lossily, a %00 in a URI for
 * one, where the splice passes the bytes on), or both texts read back alike
 * (libosip2 writes some values it does not read back the same, an
 * Authorization of an unknown scheme for one, in both). */
static void check_splice(osip_message_t *msg, const char *spliced, size_t spliced_len)
{
	struct sip_splice *splice = sip_splice_of(msg);
	osip_message_t *whole = NULL;
	char *full = NULL, *a = NULL, *b = NULL;
	size_t full_len;

	/* a copy with the lines libosip2 did not see put back, written in full */
	bool ok = osip_message_clone(msg, &whole) == 0 && whole;
	if (ok) {
		whole->application_data = NULL; /* whatever the clone copied */
		ok = sip_splice_restore(splice, whole) == 0;
	}
	if (ok) {
		sort_unknown_headers(whole);
		ok = sipmsg_serialize(whole, &full, &full_len) == 0;
	}
	if (!ok && check_splices == SIPMSG_SPLICE_RECORD) {
		splice_mismatches++;
		osip_message_free(whole);
		return;
	}
	if (!ok) {
		fprintf(stderr, "sipmsg: spliced a message that cannot be serialised:\n%s\n", spliced);
		abort();
	}
	osip_message_free(whole);
	a = reparsed(spliced, spliced_len);
	if (!a || strcmp(a, full) != 0) {
		b = reparsed(full, full_len);
		if ((!a || !b || strcmp(a, b) != 0) && check_splices == SIPMSG_SPLICE_RECORD) {
			splice_mismatches++;
		} else if (!a || !b || strcmp(a, b) != 0) {
			fprintf(stderr, "sipmsg: the spliced message differs from the serialised one\n"
					"--- spliced:\n%s\n--- serialised:\n%s\n--- both read and written again:\n%s\n%s\n",
				spliced, full, a ? a : "(unreadable)", b ? b : "(unreadable)");
			abort();
		}
	}
	osip_free(a);
	osip_free(b);
	osip_free(full);
}

int sipmsg_serialize(osip_message_t *msg, char **buf, size_t *len)
{
	osip_body_t *body = NULL;
	size_t guess = 0;
	struct sip_splice *splice = sip_splice_of(msg);

	if (splice && sip_splice_write(splice, msg, buf, len) == 0) {
		if (check_splices != SIPMSG_SPLICE_UNCHECKED)
			check_splice(msg, *buf, *len);
		return 0;
	}
	/* changed beyond what the splice writes: in full, with every line */
	if (splice && sip_splice_detach(msg) != 0)
		return -1;

	/* One body: its length. Several (multipart): libosip2 adds boundaries, so
	 * the true figure is known only after writing; write, measure, and write
	 * again in that rare case. */
	canonical_header_names(msg);
	for (int i = 0; osip_message_get_body(msg, i, &body) >= 0; i++)
		guess += body->length;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (set_content_length(msg, guess) != 0)
			return -1;
		osip_message_force_update(msg);
		if (osip_message_to_str(msg, buf, len) != 0)
			return -1;
		size_t actual = *len - body_offset(*buf, *len);
		if (actual == guess)
			return 0;
		osip_free(*buf);
		*buf = NULL;
		guess = actual;
	}
	return -1;
}

const char *sipmsg_status_name(enum sipmsg_status status)
{
	switch (status) {
	case SIPMSG_OK: return "ok";
	case SIPMSG_KEEPALIVE: return "keep-alive";
	case SIPMSG_STUN: return "STUN";
	case SIPMSG_TOO_BIG: return "too big";
	case SIPMSG_MALFORMED: return "malformed";
	case SIPMSG_INCOMPLETE: return "incomplete";
	case SIPMSG_INVALID: return "invalid";
	}
	return "?";
}

const char *sipmsg_method(const osip_message_t *msg)
{
	if (MSG_IS_REQUEST(msg))
		return msg->sip_method ? msg->sip_method : "";
	return msg->cseq && msg->cseq->method ? msg->cseq->method : "";
}

const char *sipmsg_call_id(const osip_message_t *msg)
{
	return msg->call_id && msg->call_id->number ? msg->call_id->number : "";
}

const char *sipmsg_call_id_full(const osip_message_t *msg, char buf[SIPMSG_CALLID_MAX])
{
	const osip_call_id_t *c = msg->call_id;

	if (!c || !c->number) {
		buf[0] = '\0';
		return buf;
	}
	/* copied, not printed: this runs for several lookups of every message */
	size_t nl = strlen(c->number), hl = c->host ? strlen(c->host) : 0;
	if (nl + (c->host ? 1 + hl : 0) < SIPMSG_CALLID_MAX) {
		memcpy(buf, c->number, nl);
		if (c->host) {
			buf[nl] = '@';
			memcpy(buf + nl + 1, c->host, hl);
			nl += 1 + hl;
		}
		buf[nl] = '\0';
		return buf;
	}
	snprintf(buf, SIPMSG_CALLID_MAX, "%s%s%s", c->number, c->host ? "@" : "", c->host ? c->host : "");
	/* RFC 3261 sets no limit: a longer Call-ID keeps its head for the logs
	 * and ends in a keyed digest of the whole, so that two calls sharing
	 * their first bytes never share a dialog, a binding or a session. */
	char digest[SIPMSG_CALLID_DIGEST + 1];
	const char *parts[] = { "call-id", c->number, c->host ? c->host : "" };
	secret_token(parts, 3, digest, SIPMSG_CALLID_DIGEST);
	snprintf(buf + SIPMSG_CALLID_MAX - SIPMSG_CALLID_DIGEST - 2, SIPMSG_CALLID_DIGEST + 2, "~%s", digest);
	return buf;
}

bool sipmsg_quoted_string_ok(const char *v)
{
	size_t len = strlen(v);

	if (len < 2 || v[0] != '"' || v[len - 1] != '"')
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		if (v[i] == '\\')
			i++; /* a quoted-pair: the escaped character is not a quote */
		else if (v[i] == '"')
			return false;
	}
	/* the closing quote must not be the escaped one */
	size_t backslashes = 0;
	for (size_t i = len - 1; i > 1 && v[i - 1] == '\\'; i--)
		backslashes++;
	return backslashes % 2 == 0;
}
