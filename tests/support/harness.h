/*
 * harness: what integration tests need to drive the real sipnatd binary on
 * loopback: temporary files, starting and stopping the daemon, reading its
 * log, and plain UDP sockets that play phones and PBXs.
 */
#ifndef SIPNATD_TEST_HARNESS_H
#define SIPNATD_TEST_HARNESS_H

#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A fresh temporary directory for one test (removed by harness_cleanup). */
const char *harness_tmpdir(void);
void harness_cleanup(void);

/* Write text to name inside the tmpdir; returns the full path (static buffer
 * per call slot: copy it if you need it after the next call). */
char *harness_write_file(const char *name, const char *text);

struct daemon_proc {
	pid_t pid;
	char log_path[512];
	size_t log_seen;   /* how far harness_wait_log has read */
};

/* Start sipnatd with the given arguments (argv without the program name,
 * NULL-terminated); stderr and stdout go to a log file. With wait_ready,
 * wait until "listening on" appears (or fail the test). */
void harness_start(struct daemon_proc *p, const char *const args[], bool wait_ready);

/* Wait until text appears in the log after what earlier waits consumed.
 * Returns true when it did within timeout_ms. */
bool harness_wait_log(struct daemon_proc *p, const char *text, int timeout_ms);

/* Does the whole log contain text? */
bool harness_log_contains(const struct daemon_proc *p, const char *text);

/* Send sig and wait up to timeout_ms for the exit. Returns the exit status,
 * 128+signal if killed, or -1 on timeout (the process is then killed). */
int harness_stop(struct daemon_proc *p, int sig, int timeout_ms);

/* True while the process is alive. */
bool harness_alive(struct daemon_proc *p);

/* Run a program to completion, capturing its output into out (NUL
 * terminated, truncated to out_len). Returns its exit status. */
int harness_run(const char *const argv[], char *out, size_t out_len);

/* A UDP socket bound to ip:port (port 0 = any). */
int harness_udp(const char *ip, unsigned port);
unsigned harness_udp_port(int fd);
void harness_udp_send(int fd, const char *ip, unsigned port, const char *data, size_t len);
/* Receive one datagram within timeout_ms into buf (NUL terminated); returns
 * its length or -1 on timeout. from may be NULL. */
ssize_t harness_udp_recv(int fd, char *buf, size_t len, int timeout_ms, struct sockaddr_in *from);

/* Like harness_udp_recv, but sipnatd's own OPTIONS pings (qualify; their
 * branch starts z9hG4bKsno) are passed over: a socket playing the PBX or a
 * trunk gets them every so often, and a test waiting for something else must
 * not mistake them for it. */
ssize_t harness_sip_recv(int fd, char *buf, size_t len, int timeout_ms, struct sockaddr_in *from);

/* The value of header name in a SIP message (first one, case-insensitive),
 * copied into out; false when absent. */
bool harness_sip_header(const char *msg, const char *name, char *out, size_t out_len);

/* The first line of a SIP message. */
void harness_sip_first_line(const char *msg, char *out, size_t out_len);

/* Every Via line of msg, in order, each ending in CRLF, into out. */
void harness_sip_copy_vias(const char *msg, char *out, size_t len);

/* The monotonic clock in milliseconds. */
long harness_now_ms(void);

/* How many lines of p's log contain text. */
long harness_log_count(const struct daemon_proc *p, const char *text);

/* One counter from `sipnatctl stats --json` over <tmpdir>/control: the number
 * after "key": inside the object "section" (-1 when absent). */
long harness_stat(const char *section, const char *key);

/* CPU time (user + system) process pid has used, in clock ticks. */
long harness_cpu_ticks(pid_t pid);

/* The share of one CPU that ticks (from harness_cpu_ticks) are over ms. */
double harness_cpu_share(long ticks, long ms);

/* Format the configuration fmt, write it to name in the tmpdir and start sipnatd on it in the
 * foreground (-f -c), waiting until it listens. */
__attribute__((format(printf, 3, 4)))
void harness_start_conf(struct daemon_proc *p, const char *name, const char *fmt, ...);

/* Stop a started daemon with SIGTERM (the test fails unless it exits 0 within 5 s), forget
 * its pid and remove the tmpdir. */
void harness_stop_daemon(struct daemon_proc *p);

/* A test case name in s with a timeout and (when either is given) a checked fixture. */
TCase *harness_tcase(Suite *s, const char *name, int timeout_s, void (*setup)(void), void (*teardown)(void));

/* Add the tests of a NULL-terminated list to tc, in order. */
void harness_add_tests(TCase *tc, const TTest *const tests[]);

/* Run s; 0 when every test passed, else 1 (the exit status for main). */
int harness_run_suite(Suite *s);

/* Print one measurement line "who: ..." and flush it (ctest keeps it in the output). */
__attribute__((format(printf, 2, 3))) void harness_report(const char *who, const char *fmt, ...);

/* A suite of one test case (harness_tcase) with the NULL-terminated tests, run; the exit
 * status for main. */
int harness_main(const char *suite, const char *tcase, int timeout_s, void (*setup)(void),
		 void (*teardown)(void), const TTest *const tests[]);

#endif
