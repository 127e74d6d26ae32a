/*
 * harness: process and socket plumbing for the integration tests.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];

const char *harness_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/sipnatd-test-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	}
	return tmpdir;
}

void harness_cleanup(void)
{
	if (tmpdir[0]) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0) {
			/* best effort */
		}
		tmpdir[0] = '\0';
	}
}

char *harness_write_file(const char *name, const char *text)
{
	static char paths[8][512];
	static int slot;
	char *path = paths[slot++ % 8];
	FILE *f;

	snprintf(path, 512, "%s/%s", harness_tmpdir(), name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
	return path;
}

long harness_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void harness_start(struct daemon_proc *p, const char *const args[], bool wait_ready)
{
	static int seq;
	const char *argv[32];
	int n = 0;

	memset(p, 0, sizeof(*p));
	snprintf(p->log_path, sizeof(p->log_path), "%s/sipnatd-%d.log", harness_tmpdir(), seq++);
	argv[n++] = SIPNATD_BINARY;
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		/* a test that fails exits at once: its daemon must not outlive it
		 * and hold the addresses the next test needs */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		setenv("SIPNATD_CHECK_SPLICES", "1", 1); /* sipmsg_check_splices */
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (!wait_ready)
		return;
	/* A daemon of an earlier test (one that failed and left its child
	 * behind, or one still shutting down) may hold the address for a while:
	 * wait for it rather than fail this test too. */
	for (int attempt = 0; attempt < 30; attempt++) {
		if (harness_wait_log(p, "listening on", 10000))
			return;
		if (!harness_log_contains(p, "Address already in use"))
			break;
		harness_stop(p, SIGKILL, 2000);
		usleep(1000 * 1000);
		harness_start(p, args, false);
	}
	ck_abort_msg("sipnatd did not start; log %s", p->log_path);
}

static char *read_log(const struct daemon_proc *p, size_t *len)
{
	FILE *f = fopen(p->log_path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		*len = 0;
		return calloc(1, 1);
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
		}
		size_t got = fread(buf + n, 1, 4096, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

bool harness_log_contains(const struct daemon_proc *p, const char *text)
{
	size_t len;
	char *log = read_log(p, &len);
	bool found = strstr(log, text) != NULL;
	free(log);
	return found;
}

bool harness_wait_log(struct daemon_proc *p, const char *text, int timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;

	do {
		size_t len;
		char *log = read_log(p, &len);
		char *hit = p->log_seen <= len ? strstr(log + p->log_seen, text) : NULL;
		if (hit) {
			p->log_seen = (size_t)(hit - log) + strlen(text);
			free(log);
			return true;
		}
		free(log);
		usleep(20 * 1000);
	} while (harness_now_ms() < deadline);
	return false;
}

bool harness_alive(struct daemon_proc *p)
{
	int status;
	return p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == 0;
}

int harness_stop(struct daemon_proc *p, int sig, int timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;
	int status;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	do {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid) {
			p->pid = 0;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		usleep(10 * 1000);
	} while (harness_now_ms() < deadline);
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
	return -1;
}

int harness_run(const char *const argv[], char *out, size_t out_len)
{
	int fds[2], status;
	size_t n = 0;

	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char tmp[1024];
		ssize_t got = read(fds[0], tmp, sizeof(tmp));
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got && n + 1 < out_len; i++)
			out[n++] = tmp[i];
	}
	if (out_len)
		out[n] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int harness_udp(const char *ip, unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int one = 1;

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s:%u: %s", ip, port,
		      strerror(errno));
	return fd;
}

unsigned harness_udp_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	return ntohs(sa.sin_port);
}

void harness_udp_send(int fd, const char *ip, unsigned port, const char *data, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	ck_assert_int_eq(sendto(fd, data, len, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)len);
}

ssize_t harness_udp_recv(int fd, char *buf, size_t len, int timeout_ms, struct sockaddr_in *from)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	socklen_t flen = sizeof(*from);

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	ssize_t n = recvfrom(fd, buf, len - 1, 0, (struct sockaddr *)from, from ? &flen : NULL);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

ssize_t harness_sip_recv(int fd, char *buf, size_t len, int timeout_ms, struct sockaddr_in *from)
{
	long deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		long left = deadline - harness_now_ms();
		ssize_t n = harness_udp_recv(fd, buf, len, left > 0 ? (int)left : 0, from);
		if (n < 0)
			return n;
		if (strncmp(buf, "OPTIONS ", 8) == 0 && strstr(buf, "branch=z9hG4bKsno"))
			continue;
		return n;
	}
}

bool harness_sip_header(const char *msg, const char *name, char *out, size_t out_len)
{
	size_t nlen = strlen(name);
	const char *line = msg;

	while (line && *line && !(line[0] == '\r' && line[1] == '\n')) {
		const char *eol = strstr(line, "\r\n");
		if (!eol)
			break;
		if (strncasecmp(line, name, nlen) == 0 && (line[nlen] == ':' || line[nlen] == ' ')) {
			const char *v = line + nlen;
			while (*v == ' ' || *v == ':' || *v == '\t')
				v++;
			size_t vlen = (size_t)(eol - v);
			if (vlen >= out_len)
				vlen = out_len - 1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return true;
		}
		line = eol + 2;
	}
	return false;
}

void harness_sip_first_line(const char *msg, char *out, size_t out_len)
{
	const char *eol = strstr(msg, "\r\n");
	size_t n = eol ? (size_t)(eol - msg) : strlen(msg);
	if (n >= out_len)
		n = out_len - 1;
	memcpy(out, msg, n);
	out[n] = '\0';
}

long harness_log_count(const struct daemon_proc *p, const char *text)
{
	FILE *f = fopen(p->log_path, "r");
	char line[4096];
	long n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, text))
			n++;
	fclose(f);
	return n;
}

long harness_stat(const char *section, const char *key)
{
	static char out[16384];
	char sock[600], pat[128];

	snprintf(sock, sizeof(sock), "%s/control", harness_tmpdir());
	const char *argv[] = { SIPNATCTL_BINARY, "-s", sock, "stats", "--json", NULL };
	if (harness_run(argv, out, sizeof(out)) != 0)
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\":{", section);
	const char *p = strstr(out, pat);
	if (!p)
		return -1;
	const char *end = strchr(p + strlen(pat), '}');
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *v = strstr(p, pat);
	if (!v || (end && v > end))
		return -1;
	return strtol(v + strlen(pat), NULL, 10);
}

long harness_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	long utime = 0, stime = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
	const char *p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime), 2);
	return utime + stime;
}

double harness_cpu_share(long ticks, long ms)
{
	return ms > 0 ? (double)ticks * 1000.0 / (double)sysconf(_SC_CLK_TCK) / (double)ms : 0.0;
}

void harness_sip_copy_vias(const char *msg, char *out, size_t len)
{
	const char *end = strstr(msg, "\r\n\r\n");

	out[0] = '\0';
	for (const char *p = strstr(msg, "\r\nVia: "); p && (!end || p < end); p = strstr(p + 2, "\r\nVia: ")) {
		size_t l = strcspn(p + 2, "\r");
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%.*s\r\n", (int)l, p + 2);
	}
}

void harness_start_conf(struct daemon_proc *p, const char *name, const char *fmt, ...)
{
	static char text[16384];
	static char path[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ck_assert_int_lt(n, (int)sizeof(text));
	snprintf(path, sizeof(path), "%s", harness_write_file(name, text));
	const char *args[] = { "-f", "-c", path, NULL };
	harness_start(p, args, true);
}

void harness_stop_daemon(struct daemon_proc *p)
{
	if (p->pid > 0)
		ck_assert_int_eq(harness_stop(p, SIGTERM, 5000), 0);
	p->pid = 0;
	harness_cleanup();
}

TCase *harness_tcase(Suite *s, const char *name, int timeout_s, void (*setup)(void), void (*teardown)(void))
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout_s);
	if (setup || teardown)
		tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

int harness_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

void harness_report(const char *who, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void harness_add_tests(TCase *tc, const TTest *const tests[])
{
	for (size_t i = 0; tests[i]; i++)
		tcase_add_test(tc, tests[i]);
}

int harness_main(const char *suite, const char *tcase, int timeout_s, void (*setup)(void),
		 void (*teardown)(void), const TTest *const tests[])
{
	Suite *s = suite_create(suite);

	harness_add_tests(harness_tcase(s, tcase, timeout_s, setup, teardown), tests);
	return harness_run_suite(s);
}
