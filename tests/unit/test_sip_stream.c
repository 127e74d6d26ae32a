/*
 * Unit tests for sip_stream.c on real loopback sockets (port 0, so nothing
 * collides): messages framed across split writes and pipelined in one,
 * pings answered, answers sent back on the connection found by its peer,
 * and each limit enforced: a framing error, connections per address and in
 * all, a message too slow (slowloris), an idle connection, a peer that reads
 * nothing. Then TLS, with certificates made at test time: a round trip, and
 * TLS 1.1 refused by the server while 1.2 and 1.3 are accepted.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sip_stream.h"
#include "test_certs.h"
#include "tls_context.h"

#define MSG(body) "OPTIONS sip:a@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK1\r\n" \
	"Call-ID: c@h\r\nCSeq: 1 OPTIONS\r\nContent-Length: %zu\r\n\r\n" body

struct got {
	int count;
	char last[4096];
	size_t last_len;
	struct netaddr src;
	enum sip_transport transport;
	uint64_t conn;
	struct sip_stream *s;
	bool echo;       /* answer each message on its connection */
};

static struct event_base *base;
static struct sip_stream *stream;
static struct got got;

static const struct sip_stream_limits default_limits = {
	.max_header = 2048, .max_message = 65535, .max_per_addr = 4, .max_total = 6,
	.idle_timeout_s = 30, .msg_timeout_s = 5, .max_output = 65536,
};

static void msg_cb(void *arg, const char *buf, size_t len, const struct netaddr *src,
		   enum sip_transport transport, uint64_t conn)
{
	struct got *g = arg;

	g->count++;
	g->last_len = len < sizeof(g->last) ? len : sizeof(g->last) - 1;
	memcpy(g->last, buf, g->last_len);
	g->last[g->last_len] = '\0';
	g->src = *src;
	g->transport = transport;
	g->conn = conn;
	if (g->echo)
		ck_assert_int_eq(sip_stream_send(g->s, conn, "SIP/2.0 200 OK\r\n", 16), 0);
}

static void start(const struct sip_stream_limits *lim)
{
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct netaddr any = netaddr_from_in(&lo);
	char err[256];

	memset(&got, 0, sizeof(got));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	stream = sip_stream_new(base, lim, msg_cb, &got);
	ck_assert_ptr_nonnull(stream);
	got.s = stream;
	ck_assert_msg(sip_stream_listen(stream, SIP_TRANSPORT_TCP, &any, err, sizeof(err)) == 0, "%s", err);
}

static void stop(void)
{
	sip_stream_free(stream);
	event_base_free(base);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run the loop until cond holds or timeout_s passes; returns cond. */
static bool run_until(bool (*cond)(void *), void *arg, double timeout_s)
{
	double end = now_s() + timeout_s;

	while (!cond(arg) && now_s() < end) {
		struct timeval tv = { 0, 20000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return cond(arg);
}

static bool count_reaches(void *arg)
{
	return got.count >= *(int *)arg;
}

/* The IPv4 listener's address for transport t. */
static struct sockaddr_in local4(enum sip_transport t)
{
	struct netaddr a;
	struct sockaddr_in out = { 0 };

	ck_assert(sip_stream_local(stream, t, AF_INET, &a) && netaddr_to_in(&a, &out));
	return out;
}

/* A client socket connected to the TCP listener (non-blocking once up). */
static int client(enum sip_transport t)
{
	struct sockaddr_in to = local4(t);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void put(int fd, const char *text)
{
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

/* Closed by the server: read gives 0 (or ECONNRESET). */
static bool closed(void *arg)
{
	char c;
	ssize_t n = read(*(int *)arg, &c, 1);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static bool readable(void *arg)
{
	struct pollfd p = { .fd = *(int *)arg, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static int one = 1;

START_TEST(split_and_pipelined)
{
	char m[512];
	int fd, want, n;

	start(&default_limits);
	fd = client(SIP_TRANSPORT_TCP);
	n = snprintf(m, sizeof(m), MSG("hello"), (size_t)5);
	/* in three pieces, the last cutting the body */
	for (int cut = 0, pieces[] = { 10, n - 3, n }, i = 0; i < 3; cut = pieces[i++]) {
		char part[512];

		snprintf(part, sizeof(part), "%.*s", pieces[i] - cut, m + cut);
		put(fd, part);
		want = 1;
		if (i < 2)
			ck_assert(!run_until(count_reaches, &want, 0.1));
	}
	ck_assert(run_until(count_reaches, &one, 2));
	ck_assert_uint_eq(got.last_len, (size_t)n);
	ck_assert_str_eq(got.last, m);
	ck_assert_int_eq(got.transport, SIP_TRANSPORT_TCP);
	ck_assert_int_eq(got.src.family, AF_INET);
	ck_assert_uint_eq(got.src.ip.v4.s_addr, htonl(INADDR_LOOPBACK));
	/* the connection is found again by its peer, for answers */
	ck_assert(got.conn != 0);
	{
		enum sip_transport t = SIP_TRANSPORT_UDP;
		struct netaddr other = got.src;

		ck_assert(sip_stream_find(stream, &got.src, &t) == got.conn);
		ck_assert_int_eq(t, SIP_TRANSPORT_TCP);
		other.port = (uint16_t)(other.port + 1);
		ck_assert(sip_stream_find(stream, &other, &t) == 0);
	}

	/* two messages in one write, with CRLF between them */
	{
		char two[1200];

		snprintf(two, sizeof(two), "%s\r\n%s", m, m);
		put(fd, two);
	}
	want = 3;
	ck_assert(run_until(count_reaches, &want, 2));
	ck_assert_uint_eq(sip_stream_counters(stream)->messages, 3);
	close(fd);
	stop();
}
END_TEST

/* Issue 20: a listener per family (the IPv6 one IPV6_V6ONLY); a message
 * over IPv6 arrives with its IPv6 peer, the connection is found by that
 * address, and an answer goes back on it. */
START_TEST(ipv6_listener)
{
	struct netaddr any6, at;
	char err[256], buf[64];

	start(&default_limits);
	got.echo = true;
	ck_assert(netaddr_parse_ip("::1", &any6));
	ck_assert_msg(sip_stream_listen(stream, SIP_TRANSPORT_TCP, &any6, err, sizeof(err)) == 0, "%s", err);
	/* one per family: a second IPv6 one is refused */
	ck_assert(sip_stream_listen(stream, SIP_TRANSPORT_TCP, &any6, err, sizeof(err)) != 0);
	ck_assert(sip_stream_local(stream, SIP_TRANSPORT_TCP, AF_INET6, &at));
	ck_assert_uint_ne(at.port, 0);
	struct sockaddr_storage ss;
	socklen_t sl = netaddr_to_sockaddr(&at, AF_INET6, &ss);
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&ss, sl), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	char m[600];
	int n = snprintf(m, sizeof(m), MSG(""), (size_t)0);
	ck_assert_int_eq(write(fd, m, (size_t)n), n);
	int want = 1;
	ck_assert(run_until(count_reaches, &want, 2));
	ck_assert_int_eq(got.src.family, AF_INET6);
	enum sip_transport t = SIP_TRANSPORT_UDP;
	ck_assert(sip_stream_find(stream, &got.src, &t) == got.conn);
	ck_assert_int_eq(t, SIP_TRANSPORT_TCP);
	ssize_t r = -1;
	for (double end = now_s() + 2; r <= 0 && now_s() < end;) {
		struct timeval tv = { 0, 20000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		r = read(fd, buf, sizeof(buf));
	}
	ck_assert_int_eq(r, 16);
	close(fd);
	stop();
}
END_TEST

START_TEST(ping_pong_and_answer)
{
	char m[512], buf[64];
	int fd;
	ssize_t n;

	start(&default_limits);
	got.echo = true;
	fd = client(SIP_TRANSPORT_TCP);
	put(fd, "\r\n\r\n");
	ck_assert(run_until(readable, &fd, 2));
	n = read(fd, buf, sizeof(buf));
	ck_assert_int_eq(n, 2);
	ck_assert(memcmp(buf, "\r\n", 2) == 0);
	ck_assert_uint_eq(sip_stream_counters(stream)->pings, 1);
	snprintf(m, sizeof(m), MSG(""), (size_t)0);
	put(fd, m);
	ck_assert(run_until(readable, &fd, 2));
	n = read(fd, buf, sizeof(buf));
	ck_assert_int_eq(n, 16);
	ck_assert(memcmp(buf, "SIP/2.0 200 OK\r\n", 16) == 0);
	/* a gone connection cannot be sent to */
	close(fd);
	{
		uint64_t id = got.conn;

		for (int i = 0; i < 50 && sip_stream_counters(stream)->open; i++) {
			struct timeval tv = { 0, 20000 };

			event_base_loopexit(base, &tv);
			event_base_dispatch(base);
		}
		ck_assert_uint_eq(sip_stream_counters(stream)->open, 0);
		ck_assert_int_eq(sip_stream_send(stream, id, "x", 1), -1);
	}
	stop();
}
END_TEST

START_TEST(framing_error_closes)
{
	int fd;

	start(&default_limits);
	fd = client(SIP_TRANSPORT_TCP);
	put(fd, "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n");
	ck_assert(run_until(closed, &fd, 2));
	ck_assert_int_eq(got.count, 0);
	ck_assert_uint_eq(sip_stream_counters(stream)->framing_errors, 1);
	close(fd);
	stop();
}
END_TEST

START_TEST(oversize_header_closes)
{
	char pad[3000];
	int fd;

	start(&default_limits);
	fd = client(SIP_TRANSPORT_TCP);
	memset(pad, 'a', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	put(fd, "OPTIONS sip:a@b SIP/2.0\r\nX-Pad: ");
	put(fd, pad);
	ck_assert(run_until(closed, &fd, 2));
	ck_assert_uint_eq(sip_stream_counters(stream)->framing_errors, 1);
	close(fd);
	stop();
}
END_TEST

START_TEST(per_address_and_total_limits)
{
	struct sip_stream_limits lim = default_limits;
	int fds[4], extra;

	lim.max_per_addr = 3;
	lim.max_total = 3;
	start(&lim);
	for (int i = 0; i < 3; i++)
		fds[i] = client(SIP_TRANSPORT_TCP);
	extra = client(SIP_TRANSPORT_TCP);
	ck_assert(run_until(closed, &extra, 2));
	ck_assert_uint_eq(sip_stream_counters(stream)->accepted, 3);
	ck_assert_uint_eq(sip_stream_counters(stream)->refused_total +
			  sip_stream_counters(stream)->refused_per_addr, 1);
	close(extra);

	/* with room in all, the address's own limit refuses */
	lim.max_total = 10;
	sip_stream_set_limits(stream, &lim);
	fds[3] = client(SIP_TRANSPORT_TCP);
	ck_assert(run_until(closed, &fds[3], 2));
	ck_assert_uint_eq(sip_stream_counters(stream)->refused_per_addr, 1);
	ck_assert_uint_eq(sip_stream_counters(stream)->open, 3);
	/* the three first still work */
	for (int i = 0; i < 3; i++) {
		char m[512];
		int want = i + 1;

		snprintf(m, sizeof(m), MSG(""), (size_t)0);
		put(fds[i], m);
		ck_assert(run_until(count_reaches, &want, 2));
	}
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	stop();
}
END_TEST

/* One byte every 200 ms never completes a message: closed at the message
 * timeout (1 s), not kept alive by the trickle. */
START_TEST(slowloris)
{
	struct sip_stream_limits lim = default_limits;
	const char *m = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
	double t0;
	int fd;
	size_t i;

	lim.msg_timeout_s = 1;
	start(&lim);
	fd = client(SIP_TRANSPORT_TCP);
	t0 = now_s();
	for (i = 0; m[i] && !closed(&fd); i++) {
		char c[2] = { m[i], 0 };

		put(fd, c);
		run_until(closed, &fd, 0.2);
	}
	ck_assert_msg(closed(&fd) || run_until(closed, &fd, 2), "still open after %zu bytes", i);
	ck_assert(now_s() - t0 < 2.5);
	ck_assert(now_s() - t0 > 0.9);
	ck_assert_uint_eq(sip_stream_counters(stream)->timed_out, 1);
	ck_assert_int_eq(got.count, 0);
	close(fd);
	stop();
}
END_TEST

/* After a message, nothing: closed at the idle timeout; a silent new
 * connection at the message timeout. */
START_TEST(idle_and_silent)
{
	struct sip_stream_limits lim = default_limits;
	char m[512];
	int fd, silent;

	lim.idle_timeout_s = 1;
	lim.msg_timeout_s = 1;
	start(&lim);
	fd = client(SIP_TRANSPORT_TCP);
	silent = client(SIP_TRANSPORT_TCP);
	snprintf(m, sizeof(m), MSG(""), (size_t)0);
	put(fd, m);
	ck_assert(run_until(count_reaches, &one, 2));
	ck_assert(run_until(closed, &silent, 3));
	ck_assert(run_until(closed, &fd, 3));
	ck_assert_uint_eq(sip_stream_counters(stream)->idle_closed, 1);
	ck_assert_uint_eq(sip_stream_counters(stream)->timed_out, 1);
	close(fd);
	close(silent);
	stop();
}
END_TEST

/* More than max_output queued toward one peer: refused, the peer dropped. */
START_TEST(back_pressure)
{
	struct sip_stream_limits lim = default_limits;
	static char big[8192];
	char m[512];
	int fd;

	lim.max_output = 4096;
	start(&lim);
	fd = client(SIP_TRANSPORT_TCP);
	snprintf(m, sizeof(m), MSG(""), (size_t)0);
	put(fd, m);
	ck_assert(run_until(count_reaches, &one, 2));
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(sip_stream_send(stream, got.conn, big, 1000), 0);
	ck_assert_int_eq(sip_stream_send(stream, got.conn, big, sizeof(big)), -1);
	ck_assert_uint_eq(sip_stream_counters(stream)->send_dropped, 1);
	ck_assert_int_eq(sip_stream_send(stream, got.conn, big, 10), -1);
	close(fd);
	stop();
}
END_TEST

/* ---- TLS: a child process is the client, the loop runs here ---- */

static struct test_certs certs;

/* Connect with versions [min, max]; send a message, read the answer.
 * Exit 0 on the answer, 2 when the server refused the handshake with a
 * protocol_version alert, 1 otherwise. */
static void tls_child(struct sockaddr_in to, int min, int max)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char m[512], buf[64];
	SSL *ssl;
	int n;

	/* security level 0: the client itself must be willing to speak 1.1,
	 * so that a refusal is the server's */
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_max_proto_version(ctx, max);
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0)
		_exit(1);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		unsigned long e = ERR_peek_last_error();

		_exit(ERR_GET_REASON(e) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ? 2 : 1);
	}
	n = snprintf(m, sizeof(m), MSG(""), (size_t)0);
	if (SSL_write(ssl, m, n) != n)
		_exit(1);
	n = SSL_read(ssl, buf, sizeof(buf));
	_exit(n == 16 && memcmp(buf, "SIP/2.0 200 OK\r\n", 16) == 0 ? 0 : 1);
}

struct child {
	pid_t pid;
	int status;
	bool done;
};

static bool child_done(void *arg)
{
	struct child *c = arg;

	if (!c->done && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->done = true;
	return c->done;
}

static int run_tls_client(int min, int max)
{
	struct child c = { 0 };

	c.pid = fork();
	ck_assert_int_ge(c.pid, 0);
	if (c.pid == 0)
		tls_child(local4(SIP_TRANSPORT_TLS), min, max);
	if (!run_until(child_done, &c, 10)) {
		kill(c.pid, SIGKILL);
		waitpid(c.pid, &c.status, 0);
		return -1;
	}
	return WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1;
}

static void tls_start(void)
{
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct netaddr any = netaddr_from_in(&lo);
	enum tls_context_file bad;
	char err[256];
	SSL_CTX *ctx;

	test_certs_make(&certs);
	start(&default_limits);
	got.echo = true;
	ctx = tls_context_new(certs.cert, certs.key, NULL, &bad, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	sip_stream_set_tls(stream, ctx);
	SSL_CTX_free(ctx);  /* the stream holds its own reference */
	ck_assert_msg(sip_stream_listen(stream, SIP_TRANSPORT_TLS, &any, err, sizeof(err)) == 0, "%s", err);
}

static void tls_stop(void)
{
	stop();
	test_certs_remove(&certs);
}

START_TEST(tls_round_trip)
{
	tls_start();
	ck_assert_int_eq(run_tls_client(TLS1_2_VERSION, TLS1_3_VERSION), 0);
	ck_assert_int_eq(got.count, 1);
	ck_assert_int_eq(got.transport, SIP_TRANSPORT_TLS);
	tls_stop();
}
END_TEST

START_TEST(tls_versions)
{
	tls_start();
	ck_assert_int_eq(run_tls_client(TLS1_2_VERSION, TLS1_2_VERSION), 0);
	ck_assert_int_eq(run_tls_client(TLS1_3_VERSION, TLS1_3_VERSION), 0);
	ck_assert_int_eq(run_tls_client(TLS1_1_VERSION, TLS1_1_VERSION), 2);
	ck_assert_int_eq(run_tls_client(TLS1_VERSION, TLS1_VERSION), 2);
	ck_assert_int_eq(got.count, 2);
	tls_stop();
}
END_TEST

/* A new context (reload) serves new connections; the stream keeps working
 * after the caller dropped both contexts. */
START_TEST(tls_context_swap)
{
	enum tls_context_file bad;
	char err[256];
	SSL_CTX *ctx;

	tls_start();
	ck_assert_int_eq(run_tls_client(TLS1_2_VERSION, TLS1_3_VERSION), 0);
	ctx = tls_context_new(certs.combined, NULL, NULL, &bad, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	sip_stream_set_tls(stream, ctx);
	SSL_CTX_free(ctx);
	ck_assert_int_eq(run_tls_client(TLS1_2_VERSION, TLS1_3_VERSION), 0);
	ck_assert_int_eq(got.count, 2);
	tls_stop();
}
END_TEST

static Suite *sip_stream_suite(void)
{
	Suite *s = suite_create("sip_stream");
	TCase *tc = tcase_create("tcp");
	TCase *tls = tcase_create("tls");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, split_and_pipelined);
	tcase_add_test(tc, ping_pong_and_answer);
	tcase_add_test(tc, ipv6_listener);
	tcase_add_test(tc, framing_error_closes);
	tcase_add_test(tc, oversize_header_closes);
	tcase_add_test(tc, per_address_and_total_limits);
	tcase_add_test(tc, slowloris);
	tcase_add_test(tc, idle_and_silent);
	tcase_add_test(tc, back_pressure);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tls, 60);
	tcase_add_test(tls, tls_round_trip);
	tcase_add_test(tls, tls_versions);
	tcase_add_test(tls, tls_context_swap);
	suite_add_tcase(s, tls);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sip_stream_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
