/*
 * log: one place that decides where log lines go (stderr with timestamps in
 * the foreground, syslog in the background) and which levels pass.
 *
 * Anything a remote party can trigger must go through a struct log_limit, so
 * that a flood of bad datagrams produces a handful of lines, not a flood.
 */
#ifndef SIPNATD_LOG_H
#define SIPNATD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>
#include <time.h>

/* Start logging. to_stderr: foreground mode; otherwise openlog() to syslog. */
void log_open(bool to_stderr);
void log_close(void);

/* Lines above level are dropped. Levels are syslog's (LOG_ERR .. LOG_DEBUG). */
void log_set_level(int level);
int log_get_level(void);
bool log_enabled(int level);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* At most `burst` lines per `interval_s` seconds from one call site; the
 * first line after a quiet spell says how many were suppressed. Zero-initialise
 * with LOG_LIMIT_INIT. */
struct log_limit {
	int interval_s;
	int burst;
	time_t window_start;
	int in_window;
	unsigned long suppressed;
};
#define LOG_LIMIT_INIT(interval, burst_) { .interval_s = (interval), .burst = (burst_) }

void log_limited(struct log_limit *limit, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Test hook: where foreground lines go (NULL = stderr). */
void log_set_stream(void *file);

#endif
