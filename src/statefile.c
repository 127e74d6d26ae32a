/*
 * statefile: the registrar's bindings on disk (design section 7), written on
 * every change and read back once at start, so that a restart does not leave
 * phones unreachable until they next register.
 *
 * One binding per line after a header, fields separated by tabs:
 *
 *   peer  contact-URI  nat-ip:port  expires  registered  cseq  call-id
 *
 * (times in seconds since the epoch). Only bindings made over UDP are kept:
 * one made over TCP or TLS is reachable only through its connection, which
 * does not survive a restart (the phone reconnects and registers again).
 * Nothing is escaped: a binding with a tab, CR or LF in a field is not
 * written at all. The file may have been
 * edited or damaged, so reading is strict and bounded: a line that is not
 * exactly right is skipped and counted, never trusted in part.
 */
#include "statefile.h"

#include "log.h"
#include "netaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATEFILE_HEADER "# sipnatd registrations v1"
#define STATEFILE_LINE_MAX 2048   /* bytes, without the newline */
#define STATEFILE_FIELDS 7
#define STATEFILE_SIZE_MAX (16L * 1024 * 1024) /* far beyond any real table */

struct save_ctx {
	FILE *f;
	int error; /* errno of the first failed write, 0 if none */
};

static void set_err(char *err, size_t err_len, const char *file, int errnum)
{
	if (err && err_len)
		snprintf(err, err_len, "%s: %s", file, strerror(errnum));
}

static bool writable(const char *s)
{
	return *s && !strpbrk(s, "\t\r\n");
}

static void save_binding_cb(void *arg, const struct binding *b)
{
	struct save_ctx *ctx = arg;
	char nat[NETADDR_TEXT_MAX];

	if (ctx->error)
		return;
	if (!writable(b->peer) || !writable(b->contact) || !writable(b->call_id))
		return; /* cannot be a line; the phone's next REGISTER restores it */
	if (b->transport != SIP_TRANSPORT_UDP)
		return; /* bound to a TCP/TLS connection, which dies with the process */
	errno = 0;
	if (fprintf(ctx->f, "%s\t%s\t%s\t%jd\t%jd\t%" PRIu32 "\t%s\n", b->peer, b->contact,
		    netaddr_print(&b->nat, nat), (intmax_t)b->expires, (intmax_t)b->registered,
		    b->cseq, b->call_id) < 0)
		ctx->error = errno ? errno : EIO;
}

/* Make the rename itself durable; failing that is not worth an error, the
 * file's contents are already on disk. */
static void sync_directory(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		if ((size_t)(slash - path) >= sizeof(dir))
			return;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int statefile_save(const char *path, const struct registrar *r, char *err, size_t err_len)
{
	struct save_ctx ctx = { 0 };
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		set_err(err, err_len, path, ENAMETOOLONG);
		return -1;
	}
	ctx.f = fopen(tmp, "we");
	if (!ctx.f) {
		set_err(err, err_len, tmp, errno);
		return -1;
	}
	errno = 0;
	if (fprintf(ctx.f, "%s\n", STATEFILE_HEADER) < 0)
		ctx.error = errno ? errno : EIO;
	registrar_foreach(r, save_binding_cb, &ctx);
	if (!ctx.error && fflush(ctx.f) != 0)
		ctx.error = errno;
	if (!ctx.error && fsync(fileno(ctx.f)) != 0)
		ctx.error = errno;
	if (fclose(ctx.f) != 0 && !ctx.error)
		ctx.error = errno;
	if (ctx.error) {
		unlink(tmp);
		set_err(err, err_len, tmp, ctx.error);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		set_err(err, err_len, path, e);
		return -1;
	}
	sync_directory(path);
	return 0;
}

/* A decimal number of at most max, digits only. */
static bool parse_number(const char *s, uintmax_t max, uintmax_t *out)
{
	uintmax_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;
		if (*s < '0' || *s > '9')
			return false;
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static bool parse_time(const char *s, time_t *out)
{
	uintmax_t v;

	/* time_t is signed: the largest value is half its unsigned range */
	if (!parse_number(s, (((uintmax_t)1 << (sizeof(time_t) * 8 - 1)) - 1), &v))
		return false;
	*out = (time_t)v;
	return true;
}

/* "a.b.c.d:port" or "[2001:db8::1]:port", with a port */
static bool parse_nat(const char *s, struct netaddr *out)
{
	return netaddr_parse(s, out) && out->port != 0;
}

static bool copy_field(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n == 0 || n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* One line (NUL-terminated, without its newline) into b; false if malformed. */
static bool parse_line(char *line, struct binding *b)
{
	char *field[STATEFILE_FIELDS];
	size_t n = 0;
	uintmax_t cseq;
	char *p = line;

	if (strchr(line, '\r'))
		return false; /* never written (see writable) */
	for (;;) {
		char *tab = strchr(p, '\t');
		if (n == STATEFILE_FIELDS)
			return false;
		field[n++] = p;
		if (!tab)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	if (n != STATEFILE_FIELDS)
		return false;
	memset(b, 0, sizeof(*b));
	if (!copy_field(b->peer, sizeof(b->peer), field[0]) ||
	    !copy_field(b->contact, sizeof(b->contact), field[1]) || !parse_nat(field[2], &b->nat) ||
	    !parse_time(field[3], &b->expires) || !parse_time(field[4], &b->registered) ||
	    b->registered > b->expires || !parse_number(field[5], UINT32_MAX, &cseq) ||
	    !copy_field(b->call_id, sizeof(b->call_id), field[6]))
		return false;
	b->cseq = (uint32_t)cseq;
	return true;
}

long statefile_parse(const char *text, size_t len, struct registrar *r, time_t now, size_t *bad)
{
	char line[STATEFILE_LINE_MAX + 1];
	size_t ignored, pos = 0;
	long restored = 0;

	if (!bad)
		bad = &ignored;
	*bad = 0;
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		struct binding b;

		pos += n + (nl ? 1 : 0);
		if (n == 0)
			continue; /* blank line */
		if (n > STATEFILE_LINE_MAX || memchr(start, '\0', n)) {
			(*bad)++;
			continue;
		}
		memcpy(line, start, n);
		line[n] = '\0';
		if (strcmp(line, STATEFILE_HEADER) == 0)
			continue;
		if (!parse_line(line, &b)) {
			(*bad)++;
			continue;
		}
		if (b.expires <= now)
			continue; /* lapsed while we were down: not an error */
		if (registrar_restore(r, &b, now))
			restored++;
	}
	return restored;
}

long statefile_load(const char *path, struct registrar *r, time_t now, size_t *bad, char *err,
		    size_t err_len)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0, cap = 0;
	long restored;

	if (bad)
		*bad = 0;
	if (err && err_len)
		err[0] = '\0'; /* "" tells an empty file from a missing one */
	f = fopen(path, "re");
	if (!f) {
		int e = errno;
		set_err(err, err_len, path, e);
		return e == ENOENT ? 0 : -1;
	}
	for (;;) {
		size_t got, want;
		if (len == cap) {
			char *bigger;
			if (cap >= (size_t)STATEFILE_SIZE_MAX) {
				free(text);
				fclose(f);
				set_err(err, err_len, path, EFBIG);
				return -1;
			}
			cap = cap ? cap * 2 : 16384;
			bigger = realloc(text, cap);
			if (!bigger) {
				free(text);
				fclose(f);
				set_err(err, err_len, path, ENOMEM);
				return -1;
			}
			text = bigger;
		}
		want = cap - len;
		errno = 0;
		got = fread(text + len, 1, want, f);
		len += got;
		if (got < want)
			break; /* end of file or an error */
	}
	if (ferror(f)) {
		int e = errno ? errno : EIO;
		free(text);
		fclose(f);
		set_err(err, err_len, path, e);
		return -1;
	}
	fclose(f);
	restored = statefile_parse(text, len, r, now, bad);
	free(text);
	return restored;
}

/* ---- the coalescing writer ---- */

struct statefile_writer {
	const struct registrar *registrar;
	const char *path;
	struct event *timer;
	bool dirty;
	bool retrying;   /* the last write failed; the timer is the retry */
};

/* Write the bindings if they changed. False when the write failed (logged). */
static bool write_now(struct statefile_writer *w)
{
	char err[512];

	if (!w->dirty)
		return true;
	w->dirty = false;
	if (statefile_save(w->path, w->registrar, err, sizeof(err)) == 0)
		return true;
	log_warn("cannot save registrations: %s; retrying every %d s", err, STATEFILE_RETRY_S);
	w->dirty = true;
	return false;
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct statefile_writer *w = arg;
	struct timeval tv = { .tv_sec = STATEFILE_RETRY_S };

	/* a full disk gets freed, a read-only mount remounted: try again */
	w->retrying = !write_now(w);
	if (w->retrying)
		evtimer_add(w->timer, &tv);
}

struct statefile_writer *statefile_writer_new(struct event_base *base, const struct registrar *r,
					      const char *path)
{
	struct statefile_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->registrar = r;
	w->path = path;
	w->timer = evtimer_new(base, write_cb, w);
	if (!w->timer) {
		free(w);
		return NULL;
	}
	return w;
}

void statefile_writer_changed(struct statefile_writer *w)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = STATEFILE_WRITE_DELAY_MS * 1000 };

	w->dirty = true;
	if (w->retrying) {
		evtimer_del(w->timer);
		w->retrying = false;
	}
	if (!evtimer_pending(w->timer, NULL))
		evtimer_add(w->timer, &tv);
}

void statefile_writer_set_path(struct statefile_writer *w, const char *path)
{
	w->path = path;
}

void statefile_writer_free(struct statefile_writer *w)
{
	if (!w)
		return;
	write_now(w);
	event_free(w->timer);
	free(w);
}
