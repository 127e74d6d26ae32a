/*
 * sip_frame: the message boundaries of a SIP byte stream, the first step of
 * the TCP/TLS path (sip_stream.c reads, this frames, sip_dispatch parses).
 */
#include "sip_frame.h"

#include <string.h>

static const char crlf2[] = "\r\n\r\n";

static bool is_lws(char c)
{
	return c == ' ' || c == '\t';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Does line[0..n) start with header name (case-insensitive) followed by
 * optional whitespace and a colon? Sets *value past the colon. */
static bool header_named(const char *line, size_t n, const char *name, const char **value)
{
	size_t i, k = strlen(name);

	if (n <= k)
		return false;
	for (i = 0; i < k; i++)
		if (lower(line[i]) != name[i])
			return false;
	while (i < n && is_lws(line[i]))
		i++;
	if (i == n || line[i] != ':')
		return false;
	*value = line + i + 1;
	return true;
}

/* The decimal value of a Content-Length (RFC 3261 20.14: 1*DIGIT, with LWS
 * around it); -1 for anything else, a sign included. */
static long long length_value(const char *v, const char *end)
{
	long long n = 0;
	int digits = 0;

	while (v < end && is_lws(*v))
		v++;
	for (; v < end && *v >= '0' && *v <= '9'; v++) {
		if (++digits > 9)   /* far beyond any message we take */
			return -1;
		n = n * 10 + (*v - '0');
	}
	while (v < end && is_lws(*v))
		v++;
	return digits && v == end ? n : -1;
}

/* The end of the first CRLFCRLF within buf[0..len), or 0. */
static size_t header_end(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	while ((p = memchr(p, '\r', (size_t)(end - p))) && end - p >= 4) {
		if (memcmp(p, crlf2, 4) == 0)
			return (size_t)(p - buf) + 4;
		p++;
	}
	return 0;
}

static void error(struct sip_frame *f, const char *why)
{
	f->kind = SIP_FRAME_ERROR;
	f->why = why;
}

void sip_frame_next(const char *buf, size_t len, size_t max_header, size_t max_message,
		    struct sip_frame *f)
{
	size_t head, pos;
	long long length = -1;

	memset(f, 0, sizeof(*f));
	f->kind = SIP_FRAME_MORE;
	if (len == 0) {
		f->blank = true;
		return;
	}
	/* CRLF before a message: a ping when doubled, else noise */
	if (buf[0] == '\r' || buf[0] == '\n') {
		size_t n = len < 4 ? len : 4;

		if (memcmp(buf, crlf2, n) == 0) {
			if (n == 4) {
				f->kind = SIP_FRAME_PING;
				f->len = 4;
			} else {
				f->blank = true;
			}
			return;
		}
		f->kind = SIP_FRAME_SKIP;
		f->len = (len >= 2 && buf[0] == '\r' && buf[1] == '\n') ? 2 : 1;
		return;
	}
	head = header_end(buf, len < max_header ? len : max_header);
	if (head == 0) {
		if (len >= max_header)
			error(f, "header section over the limit");
		return;
	}
	/* header lines: from after the start line to the empty line */
	for (pos = 0; pos < head - 2;) {
		const char *line = buf + pos, *eol = memchr(line, '\r', head - pos);
		size_t n = (size_t)(eol - line);
		const char *v;

		/* a folded continuation (RFC 3261 7.3.1) carries no name */
		if (pos > 0 && n > 0 && !is_lws(line[0]) &&
		    (header_named(line, n, "content-length", &v) || header_named(line, n, "l", &v))) {
			long long value = length_value(v, eol);

			if (value < 0) {
				error(f, "Content-Length is not a number");
				return;
			}
			if (length >= 0 && value != length) {
				error(f, "two Content-Length values");
				return;
			}
			length = value;
		}
		pos += n + 2;
	}
	if (length < 0) {
		error(f, "no Content-Length (RFC 3261 18.3)");
		return;
	}
	if ((unsigned long long)length > max_message || head + (size_t)length > max_message) {
		error(f, "message over the limit");
		return;
	}
	if (len < head + (size_t)length) {
		f->need = head + (size_t)length;
		return;
	}
	f->kind = SIP_FRAME_MESSAGE;
	f->len = head + (size_t)length;
}
