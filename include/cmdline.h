/*
 * cmdline: the command line of design section 4, parsed into a plain struct so
 * that it can be tested without starting anything.
 *
 *   sipnatd [-f] [-d]... [-c FILE] [-p PIDFILE] [-t] [-V] [-h]
 */
#ifndef SIPNATD_CMDLINE_H
#define SIPNATD_CMDLINE_H

#include <stdbool.h>

#define CMDLINE_DEFAULT_PIDFILE "/run/sipnatd/sipnatd.pid"

enum cmdline_action {
	CMDLINE_RUN,     /* start the daemon */
	CMDLINE_CHECK,   /* -t: check the configuration and exit */
	CMDLINE_VERSION, /* -V */
	CMDLINE_HELP,    /* -h */
	CMDLINE_ERROR,   /* bad usage: message in cmdline.error */
};

struct cmdline {
	enum cmdline_action action;
	bool foreground;      /* -f */
	int debug;            /* number of -d */
	const char *conf_path;  /* -c, points into argv or a default */
	const char *pid_path;   /* -p */
	char error[256];
};

/* Parse argv. Never exits and never prints; resets getopt state so that it can
 * be called more than once (tests). */
void cmdline_parse(int argc, char *const argv[], struct cmdline *out);

/* The usage text, for -h and errors. */
const char *cmdline_usage(void);

#endif
