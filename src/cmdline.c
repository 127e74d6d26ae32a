/*
 * cmdline: turn argv into a struct cmdline. main.c decides what to do with it.
 */
#include "cmdline.h"

#include "conf.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
	"usage: sipnatd [-f] [-d]... [-c FILE] [-p PIDFILE] [-t] [-V] [-h]\n"
	"  -f          foreground: do not detach, log to stderr (what systemd runs)\n"
	"  -d          more detail; repeat for more (-dd traces every SIP message)\n"
	"  -c FILE     configuration file (default " CONF_DEFAULT_PATH ")\n"
	"  -p PIDFILE  pid file in background mode (default " CMDLINE_DEFAULT_PIDFILE ")\n"
	"  -t          check the configuration file and exit (0 good, 1 bad)\n"
	"  -V          print the version and exit\n"
	"  -h          print this help and exit\n";

const char *cmdline_usage(void)
{
	return usage_text;
}

void cmdline_parse(int argc, char *const argv[], struct cmdline *out)
{
	int opt;

	memset(out, 0, sizeof(*out));
	out->action = CMDLINE_RUN;
	out->conf_path = CONF_DEFAULT_PATH;
	out->pid_path = CMDLINE_DEFAULT_PIDFILE;

	optind = 0; /* glibc: 0 re-initialises getopt completely */
	opterr = 0;
	while ((opt = getopt(argc, argv, ":fdc:p:tVh")) != -1) {
		switch (opt) {
		case 'f':
			out->foreground = true;
			break;
		case 'd':
			out->debug++;
			break;
		case 'c':
			out->conf_path = optarg;
			break;
		case 'p':
			out->pid_path = optarg;
			break;
		case 't':
			if (out->action == CMDLINE_RUN)
				out->action = CMDLINE_CHECK;
			break;
		case 'V':
			out->action = CMDLINE_VERSION;
			break;
		case 'h':
			out->action = CMDLINE_HELP;
			break;
		case ':':
			snprintf(out->error, sizeof(out->error), "option -%c needs an argument", optopt);
			out->action = CMDLINE_ERROR;
			return;
		default:
			snprintf(out->error, sizeof(out->error), "unknown option -%c", optopt);
			out->action = CMDLINE_ERROR;
			return;
		}
	}
	if (optind < argc) {
		snprintf(out->error, sizeof(out->error), "unexpected argument '%s'", argv[optind]);
		out->action = CMDLINE_ERROR;
	}
}
