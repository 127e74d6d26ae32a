/*
 * log: stderr or syslog, a level filter, and rate limiting for anything the
 * network can cause. Every other module logs through here and nowhere else.
 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static bool use_stderr = true;
static int max_level = LOG_NOTICE;
static FILE *out_stream;

static const char *const level_tag[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_open(bool to_stderr)
{
	use_stderr = to_stderr;
	if (!use_stderr)
		openlog("sipnatd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_close(void)
{
	if (!use_stderr)
		closelog();
}

void log_set_level(int level)
{
	if (level < LOG_EMERG)
		level = LOG_EMERG;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	max_level = level;
}

int log_get_level(void)
{
	return max_level;
}

bool log_enabled(int level)
{
	return level <= max_level;
}

void log_set_stream(void *file)
{
	out_stream = file;
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
	if (level < LOG_EMERG || level > LOG_DEBUG || !log_enabled(level))
		return;
	if (!use_stderr) {
		vsyslog(level, fmt, ap);
		return;
	}

	FILE *f = out_stream ? out_stream : stderr;
	struct timeval tv;
	struct tm tm;
	char stamp[32];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	/* One fprintf per piece, but stderr is unbuffered and lines are short:
	 * build the line first so that it reaches the journal in one write. */
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s.%03ld %s: ", stamp, (long)(tv.tv_usec / 1000),
			 level_tag[level]);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(f, "%s\n", line);
	fflush(f);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_limited(struct log_limit *limit, int level, const char *fmt, ...)
{
	time_t now = time(NULL);
	va_list ap;

	if (!log_enabled(level))
		return;
	if (now - limit->window_start >= limit->interval_s) {
		if (limit->suppressed)
			log_msg(level, "(%lu similar messages suppressed in the last %d s)",
				limit->suppressed, limit->interval_s);
		limit->window_start = now;
		limit->in_window = 0;
		limit->suppressed = 0;
	}
	if (limit->in_window >= limit->burst) {
		limit->suppressed++;
		return;
	}
	limit->in_window++;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
