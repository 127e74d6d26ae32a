/*
 * sipnatctl: the admin's view of a running sipnatd (design section 10). It
 * sends one request line to the control socket, reads the JSON reply and
 * prints it as aligned tables in the manner of `asterisk -rx "sip show
 * peers"`, or as it came with --json. Not part of the daemon: it links only
 * jansson.
 */
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/sipnatd/control"
#define REPLY_TIMEOUT_S 30             /* a reload reads a file; nothing takes longer */
#define REPLY_MAX (64u * 1024 * 1024)  /* far above any real reply */
#define MAX_COLS 12 /* the widest table: calls, 11 */

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
	"usage: sipnatctl [-s SOCKET] [--json] COMMAND\n"
	"  peers           configured peers and the PBX: status, round trip, bindings\n"
	"  registrations   bindings of registered peers\n"
	"  calls           calls with relayed media: ports, packets and bytes each way\n"
	"  stats           counters since start\n"
	"  bans            addresses banned after failed logins\n"
	"  status          the external address and where it comes from; the router's\n"
	"                  port mappings (general.portmap) with their lease time left\n"
	"  reload          re-read the configuration file (like SIGHUP)\n"
	"options:\n"
	"  -s, --socket SOCKET  control socket (default " DEFAULT_SOCKET ")\n"
	"  -j, --json           print the daemon's JSON reply as it is\n"
	"  -h, --help           this text        -V, --version   version\n";

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* One line on stderr, the usage text after it for a usage error, then exit. */
static void die(int code, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0), noreturn));

static void die(int code, const char *fmt, va_list ap)
{
	fputs("sipnatctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (code == EXIT_USAGE)
		fputs(usage_text, stderr);
	exit(code);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die(EXIT_ERROR, fmt, ap);
}

/* ---- talking to the daemon ---- */

static int connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		fail("socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int err = errno;
		if (err == ENOENT || err == ECONNREFUSED)
			fail("cannot connect to %s: %s (is sipnatd running?)", path, strerror(err));
		if (err == EACCES)
			fail("cannot connect to %s: %s (run as root or as a member of group sipnatd)", path,
			     strerror(err));
		fail("cannot connect to %s: %s", path, strerror(err));
	}
	return fd;
}

/* Send the request, read the reply to the end; returns it NUL-terminated. */
static char *exchange(const char *path, const char *command, size_t *len)
{
	char line[64];
	int fd = connect_to(path);
	int n = snprintf(line, sizeof(line), "%s\n", command);
	size_t size = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		fail("out of memory");
	if (write(fd, line, (size_t)n) != n)
		fail("cannot send to %s: %s", path, strerror(errno));
	for (;;) {
		if (size + 1 == cap) {
			if (cap >= REPLY_MAX)
				fail("reply from sipnatd larger than %u bytes", REPLY_MAX);
			char *bigger = realloc(buf, cap * 2);
			if (!bigger)
				fail("out of memory");
			buf = bigger;
			cap *= 2;
		}
		ssize_t got = read(fd, buf + size, cap - size - 1);
		if (got == 0)
			break;
		if (got < 0 && errno == EINTR)
			continue;
		/* the daemon closed with input of ours unread: what came is all */
		if (got < 0 && errno == ECONNRESET && size > 0)
			break;
		if (got < 0)
			fail("no reply from sipnatd on %s: %s", path,
			     errno == EAGAIN ? "timed out" : strerror(errno));
		size += (size_t)got;
	}
	close(fd);
	if (size == 0)
		fail("sipnatd closed %s without answering", path);
	buf[size] = '\0';
	*len = size;
	return buf;
}

/* ---- reading the reply ---- */

static const json_t *member(const json_t *obj, const char *path)
{
	char key[64];

	/* "a.b.c": one level per dot */
	while (obj && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		obj = json_object_get(obj, key);
		path += n + (path[n] == '.');
	}
	return obj;
}

static const char *str_of(const json_t *obj, const char *path)
{
	const char *s = json_string_value(member(obj, path));
	return s ? s : "-";
}

static long long int_of(const json_t *obj, const char *path)
{
	const json_t *v = member(obj, path);
	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* A number, or "-" for a null or missing one. */
static const char *num(char *buf, size_t len, const json_t *obj, const char *path, const char *suffix)
{
	const json_t *v = member(obj, path);

	if (!json_is_integer(v))
		return "-";
	snprintf(buf, len, "%lld%s", (long long)json_integer_value(v), suffix);
	return buf;
}

static const char *duration(char *buf, size_t len, long long s)
{
	if (s < 0)
		return "-";
	if (s >= 86400)
		snprintf(buf, len, "%lldd %02lld:%02lld:%02lld", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
	return buf;
}

static const json_t *array_of(const json_t *reply, const char *key)
{
	const json_t *a = json_object_get(reply, key);

	if (!json_is_array(a))
		fail("unexpected reply from sipnatd: no \"%s\" list", key);
	return a;
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* ---- aligned tables ---- */

struct column {
	const char *head;
	bool right;   /* numbers are right-aligned */
};

struct table {
	const struct column *cols;
	size_t ncols;
	char **cells;   /* row-major, rows * ncols */
	size_t rows, cap;
};

static void table_row(struct table *t, ...)
{
	va_list ap;

	if (t->rows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof(*t->cells));
		if (!t->cells)
			fail("out of memory");
	}
	va_start(ap, t);
	for (size_t c = 0; c < t->ncols; c++) {
		const char *text = va_arg(ap, const char *);
		t->cells[t->rows * t->ncols + c] = strdup(text ? text : "-");
		if (!t->cells[t->rows * t->ncols + c])
			fail("out of memory");
	}
	va_end(ap);
	t->rows++;
}

static void print_cells(const struct table *t, const size_t *width, const char *const *cells)
{
	for (size_t c = 0; c < t->ncols; c++) {
		bool last = c + 1 == t->ncols;
		if (t->cols[c].right)
			printf("%*s", (int)width[c], cells[c]);
		else
			printf("%-*s", last ? 0 : (int)width[c], cells[c]);
		fputs(last ? "\n" : "  ", stdout);
	}
}

static void table_print(struct table *t)
{
	size_t width[MAX_COLS];
	const char *head[MAX_COLS];

	for (size_t c = 0; c < t->ncols; c++) {
		head[c] = t->cols[c].head;
		width[c] = strlen(head[c]);
		for (size_t r = 0; r < t->rows; r++) {
			size_t w = strlen(t->cells[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	}
	print_cells(t, width, head);
	for (size_t r = 0; r < t->rows; r++)
		print_cells(t, width, (const char *const *)&t->cells[r * t->ncols]);
	for (size_t i = 0; i < t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->rows = t->cap = 0;
}

#define TABLE(cols_) { .cols = (cols_), .ncols = sizeof(cols_) / sizeof((cols_)[0]) }

/* ---- the commands ---- */

static void print_peers(const json_t *reply)
{
	static const struct column cols[] = {
		{ "Name", false }, { "Kind", false }, { "Host", false },
		{ "Status", false }, { "RTT", true }, { "Bindings", true },
	};
	struct table t = TABLE(cols);
	const json_t *peers = array_of(reply, "peers"), *p;
	size_t i, ok = 0, down = 0, unknown = 0, unmonitored = 0, configured = 0;
	char rtt[32], bindings[32];

	json_array_foreach(peers, i, p) {
		const char *status = str_of(p, "status");
		table_row(&t, str_of(p, "name"), str_of(p, "kind"), str_of(p, "host"), status,
			  num(rtt, sizeof(rtt), p, "rtt_ms", " ms"), num(bindings, sizeof(bindings), p, "bindings", ""));
		if (strcmp(str_of(p, "kind"), "pbx") != 0)
			configured++;
		if (strcmp(status, "OK") == 0)
			ok++;
		else if (strcmp(status, "UNREACHABLE") == 0)
			down++;
		else if (strcmp(status, "UNMONITORED") == 0)
			unmonitored++;
		else
			unknown++;
	}
	table_print(&t);
	printf("%zu %s and the PBX [monitored: %zu OK, %zu UNREACHABLE, %zu UNKNOWN; unmonitored: %zu]\n",
	       configured, plural(configured, "peer", "peers"), ok, down, unknown, unmonitored);
}

static void print_registrations(const json_t *reply)
{
	static const struct column cols[] = {
		{ "Peer", false }, { "Contact", false }, { "NAT address", false },
		{ "Expires", true }, { "Age", true },
	};
	struct table t = TABLE(cols);
	const json_t *list = array_of(reply, "registrations"), *b;
	size_t i, peers = 0;
	char expires[32], age[32];
	const char *last = NULL;

	json_array_foreach(list, i, b) {
		const char *peer = str_of(b, "peer");
		table_row(&t, peer, str_of(b, "contact"), str_of(b, "nat"),
			  num(expires, sizeof(expires), b, "expires_s", " s"), num(age, sizeof(age), b, "age_s", " s"));
		/* the daemon sorts by peer */
		if (!last || strcmp(last, peer) != 0)
			peers++;
		last = peer;
	}
	table_print(&t);
	size_t n = json_array_size(list);
	printf("%zu %s of %zu %s\n", n, plural(n, "registration", "registrations"), peers,
	       plural(peers, "peer", "peers"));
}

static void print_calls(const json_t *reply)
{
	static const struct column cols[] = {
		{ "Call-ID", false }, { "State", false }, { "Age", true }, { "Port", true },
		/* received from each side and forwarded to the other */
		{ "LAN pkts", true }, { "LAN bytes", true }, { "Net pkts", true },
		{ "Net bytes", true }, { "Dropped", true }, { "Idle", true },
		/* why the latest packet was refused, and who sent it */
		{ "Last drop", false },
	};
	struct table t = TABLE(cols);
	const json_t *calls = array_of(reply, "calls"), *call, *st;
	size_t i, j, up = 0, held = 0, streams = 0;
	char state[32], age[32], port[16], lp[32], lb[32], rp[32], rb[32], drop[32], idle[32];
	char last[128];

	json_array_foreach(calls, i, call) {
		bool hold = json_is_true(json_object_get(call, "hold"));
		snprintf(state, sizeof(state), "%s%s", str_of(call, "state"), hold ? ",hold" : "");
		up += strcmp(str_of(call, "state"), "up") == 0;
		held += hold;
		duration(age, sizeof(age), int_of(call, "age_s"));
		const json_t *list = json_object_get(call, "streams");
		if (json_array_size(list) == 0)
			table_row(&t, str_of(call, "call_id"), state, age, "-", "-", "-", "-", "-", "-", "-", "-");
		json_array_foreach(list, j, st) {
			long long dropped = int_of(st, "from_local.dropped") + int_of(st, "from_remote.dropped");
			snprintf(drop, sizeof(drop), "%lld", dropped);
			if (json_is_object(member(st, "last_drop"))) {
				bool from = json_is_string(member(st, "last_drop.from"));
				snprintf(last, sizeof(last), "%s%s%s", from ? str_of(st, "last_drop.from") : "",
					 from ? " " : "", str_of(st, "last_drop.why"));
			}
			else
				snprintf(last, sizeof(last), "-");
			/* the call's own columns only on its first stream */
			table_row(&t, j ? "" : str_of(call, "call_id"), j ? "" : state, j ? "" : age,
				  num(port, sizeof(port), st, "port", ""),
				  num(lp, sizeof(lp), st, "from_local.packets", ""),
				  num(lb, sizeof(lb), st, "from_local.bytes", ""),
				  num(rp, sizeof(rp), st, "from_remote.packets", ""),
				  num(rb, sizeof(rb), st, "from_remote.bytes", ""), drop,
				  num(idle, sizeof(idle), st, "idle_s", " s"), last);
			streams++;
		}
	}
	table_print(&t);
	size_t n = json_array_size(calls);
	printf("%zu %s (%zu up, %zu on hold), %zu relayed %s\n", n, plural(n, "call", "calls"), up, held,
	       streams, plural(streams, "stream", "streams"));
}

static void print_bans(const json_t *reply)
{
	static const struct column cols[] = {
		{ "Address", false }, { "Seconds left", true }, { "Failures", true },
	};
	struct table t = TABLE(cols);
	const json_t *bans = array_of(reply, "bans"), *b;
	size_t i;
	char left[32], failures[32];

	json_array_foreach(bans, i, b)
		table_row(&t, str_of(b, "address"), num(left, sizeof(left), b, "seconds_left", ""),
			  num(failures, sizeof(failures), b, "failures", ""));
	table_print(&t);
	size_t n = json_array_size(bans);
	printf("%zu banned %s\n", n, plural(n, "address", "addresses"));
}

/* stats: sections of "label  value", then the relay as a table. */
struct stat_line {
	const char *label;   /* NULL: a section title */
	const char *path;
};

static const struct stat_line stat_lines[] = {
	{ NULL, "SIP messages" },
	{ "received", "sip.received" },
	{ "requests", "sip.requests" },
	{ "responses", "sip.responses" },
	{ "forwarded", "sip.forwarded" },
	{ "answered locally", "sip.answered_locally" },
	{ "keep-alives", "sip.keepalives" },
	{ "malformed", "sip.malformed" },
	{ "too big", "sip.too_big" },
	{ "invalid (400)", "sip.invalid" },
	{ "stray responses", "sip.stray_responses" },
	{ "failed DNS lookups", "sip.lookups_failed" },
	{ "dropped", "sip.dropped" },
	{ "from banned addresses", "sip.banned" },
	{ "receive overflows", "sip.rx_overflows" },
	{ "send errors", "sip.send_errors" },
	{ NULL, "SIP over TCP/TLS" },
	{ "connections open", "streams.open" },
	{ "accepted", "streams.accepted" },
	{ "refused (per address)", "streams.refused_per_addr" },
	{ "refused (all full)", "streams.refused_total" },
	{ "messages", "streams.messages" },
	{ "CRLF pings", "streams.pings" },
	{ "framing errors", "streams.framing_errors" },
	{ "too slow (closed)", "streams.timed_out" },
	{ "idle (closed)", "streams.idle_closed" },
	{ "not reading (closed)", "streams.send_dropped" },
	{ NULL, "Authentication" },
	{ "failures", "auth.failures" },
	{ "bans", "auth.bans" },
	{ "banned now", "auth.bans_active" },
	{ "digest computations", "auth.digest_computations" },
	{ NULL, "Registrations" },
	{ "bindings", "registrations.bindings" },
	{ "peers configured", "registrations.peers" },
	{ NULL, "Calls" },
	{ "active", "calls.active" },
	{ "set up", "calls.set_up" },
	{ "failed", "calls.failed" },
	{ "ended", "calls.ended" },
	{ NULL, "Port pool (RTP/RTCP pairs)" },
	{ "pairs", "pool.pairs" },
	{ "in use", "pool.in_use" },
	{ "free", "pool.free" },
	{ NULL, "Reloads" },
	{ "done", "reloads.done" },
	{ "failed", "reloads.failed" },
};

static void print_stats(const json_t *reply)
{
	static const struct column cols[] = {
		{ "Relay", false }, { "Packets", true }, { "Bytes", true }, { "Dropped", true },
	};
	struct table relay = TABLE(cols);
	size_t label_w = 0, value_w = 0;
	char value[32], up[32], p[32], b[32], d[32];

	for (size_t i = 0; i < sizeof(stat_lines) / sizeof(stat_lines[0]); i++) {
		const struct stat_line *l = &stat_lines[i];
		if (!l->label)
			continue;
		if (strlen(l->label) > label_w)
			label_w = strlen(l->label);
		num(value, sizeof(value), reply, l->path, "");
		if (strlen(value) > value_w)
			value_w = strlen(value);
	}
	printf("sipnatd %s, up %s\n", str_of(reply, "version"), duration(up, sizeof(up), int_of(reply, "uptime_s")));
	for (size_t i = 0; i < sizeof(stat_lines) / sizeof(stat_lines[0]); i++) {
		const struct stat_line *l = &stat_lines[i];
		if (!l->label)
			printf("%s\n", l->path);
		else
			printf("  %-*s  %*s\n", (int)label_w, l->label, (int)value_w,
			       num(value, sizeof(value), reply, l->path, ""));
	}
	table_row(&relay, "  from LAN", num(p, sizeof(p), reply, "relay.from_local.packets", ""),
		  num(b, sizeof(b), reply, "relay.from_local.bytes", ""),
		  num(d, sizeof(d), reply, "relay.from_local.dropped", ""));
	table_row(&relay, "  from Internet", num(p, sizeof(p), reply, "relay.from_remote.packets", ""),
		  num(b, sizeof(b), reply, "relay.from_remote.bytes", ""),
		  num(d, sizeof(d), reply, "relay.from_remote.dropped", ""));
	table_print(&relay);
}

/* status: the external address, then the router's mappings as a table. */
static const char *lease_left(char *buf, size_t len, const json_t *run)
{
	long long lo = int_of(run, "lease_left_min_s"), hi = int_of(run, "lease_left_max_s");

	if (!json_is_true(json_object_get(run, "mapped")))
		return "-";
	if (lo < 0 && hi < 0)
		return "permanent";
	if (lo == hi)
		snprintf(buf, len, "%lld s", lo);
	else
		snprintf(buf, len, "%lld-%lld s", lo, hi);
	return buf;
}

static void print_status(const json_t *reply)
{
	static const struct column cols[] = {
		{ "Ports (UDP)", false }, { "State", false }, { "Public", false }, { "Lease left", true },
	};
	static const char *const sources[][2] = {
		{ "router", "from the router, externip = \"auto\"" },
		{ "externip", "externip" },
		{ "externhost", "externhost" },
		{ "none", "none yet" },
	};
	struct table t = TABLE(cols);
	const char *source = str_of(reply, "external.source"), *why = source;
	const json_t *pm = json_object_get(reply, "portmap"), *runs, *r;
	char ports[32], pub[32], left[32];
	size_t i;

	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(source, sources[i][0]) == 0)
			why = sources[i][1];
	printf("External address: %s (%s)\n", str_of(reply, "external.address"), why);
	const char *source6 = str_of(reply, "external.source6");
	if (strcmp(source6, "host") == 0)
		printf("External IPv6 address: this host's own, toward each party\n");
	else if (strcmp(source6, "externip") == 0 || strcmp(source6, "externhost") == 0)
		printf("External IPv6 address: %s (%s)\n", str_of(reply, "external.address6"), source6);
	if (!json_is_object(pm))
		fail("unexpected reply from sipnatd: no \"portmap\" object");
	if (strcmp(str_of(pm, "mode"), "off") == 0) {
		printf("Port mapping: off (general.portmap)\n");
		return;
	}
	printf("Port mapping: portmap = \"%s\": %s", str_of(pm, "mode"), str_of(pm, "state"));
	if (json_is_string(json_object_get(pm, "protocol")))
		printf(", %s at %s", str_of(pm, "protocol"), str_of(pm, "router"));
	printf("; %lld of %lld ports mapped, lease %lld s\n", int_of(pm, "mapped"), int_of(pm, "ports"),
	       int_of(pm, "lease_s"));
	if (json_is_string(json_object_get(pm, "router_address")))
		printf("Router's external address: %s%s\n", str_of(pm, "router_address"),
		       json_is_true(json_object_get(pm, "router_address_usable")) ? ""
		       : " (private or shared: not advertised)");
	if (*str_of(pm, "last_error") && strcmp(str_of(pm, "last_error"), "-") != 0)
		printf("Last failure: %s\n", str_of(pm, "last_error"));
	runs = array_of(pm, "mappings");
	json_array_foreach(runs, i, r) {
		long long first = int_of(r, "first"), last = int_of(r, "last"), pfirst = int_of(r, "public_first");
		if (first == last)
			snprintf(ports, sizeof(ports), "%lld", first);
		else
			snprintf(ports, sizeof(ports), "%lld-%lld", first, last);
		bool mapped = json_is_true(json_object_get(r, "mapped"));
		if (!mapped)
			snprintf(pub, sizeof(pub), "-");
		else if (pfirst == first)
			snprintf(pub, sizeof(pub), "same");
		else
			snprintf(pub, sizeof(pub), "%lld", pfirst);
		table_row(&t, ports, mapped ? "mapped" : "not mapped", pub, lease_left(left, sizeof(left), r));
	}
	table_print(&t);
}

static void print_reload(const json_t *reply)
{
	printf("configuration reloaded from %s\n", str_of(reply, "config"));
}

static const struct command {
	const char *name;
	void (*print)(const json_t *reply);
} commands[] = {
	{ "peers", print_peers },
	{ "registrations", print_registrations },
	{ "calls", print_calls },
	{ "stats", print_stats },
	{ "bans", print_bans },
	{ "status", print_status },
	{ "reload", print_reload },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die(EXIT_USAGE, fmt, ap);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_SOCKET;
	bool raw = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:jhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'j':
			raw = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			printf("sipnatctl %s\n", SIPNATD_VERSION);
			return EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		usage_error("no command given");
	if (optind + 1 < argc)
		usage_error("one command at a time (extra \"%s\")", argv[optind + 1]);
	const struct command *cmd = find_command(argv[optind]);
	if (!cmd)
		usage_error("unknown command \"%s\"", argv[optind]);

	size_t len;
	char *text = exchange(path, cmd->name, &len);
	json_error_t jerr;
	json_t *reply = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(reply))
		fail("malformed reply from sipnatd: %s", reply ? "not an object" : jerr.text);
	const char *error = json_string_value(json_object_get(reply, "error"));
	if (raw)
		fputs(text, stdout);
	if (error) {
		if (strcmp(cmd->name, "reload") == 0)
			fail("reload failed, sipnatd keeps the running configuration: %s", error);
		fail("%s", error);
	}
	if (!raw)
		cmd->print(reply);
	json_decref(reply);
	free(text);
	if (fflush(stdout) != 0 || ferror(stdout))
		fail("cannot write the output: %s", strerror(errno));
	return EXIT_OK;
}
