/*
 * main: command line, configuration check, detaching, then the daemon.
 */
#include "cmdline.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "natdetect.h"
#include "sipmsg.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_pid_file(const char *path)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Detach, but let the parent's exit status say whether the daemon came up:
 * the child reports over a pipe once its sockets are bound (or failed). */
static int detach(int *report_fd)
{
	int fds[2];
	char status = 1;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		fprintf(stderr, "sipnatd: pipe: %s\n", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sipnatd: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		if (status != 0)
			fprintf(stderr, "sipnatd: failed to start; see the system log\n");
		_exit(status);
	}
	close(fds[0]);
	setsid();
	if (fork() > 0)
		_exit(0); /* the grandchild can never reacquire a terminal */
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	umask(027);
	if (chdir("/") != 0)
		return -1;
	*report_fd = fds[1];
	return 0;
}

static void report(int fd, char status)
{
	if (fd >= 0) {
		if (write(fd, &status, 1) != 1) {
			/* the parent is gone; nobody to tell */
		}
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct cmdline cmd;
	char err[CONF_ERR_MAX];
	struct daemon *d;
	int report_fd = -1, rc;

	cmdline_parse(argc, argv, &cmd);
	switch (cmd.action) {
	case CMDLINE_ERROR:
		fprintf(stderr, "sipnatd: %s\n%s", cmd.error, cmdline_usage());
		return 2;
	case CMDLINE_HELP:
		fputs(cmdline_usage(), stdout);
		return 0;
	case CMDLINE_VERSION:
		printf("sipnatd %s\n", SIPNATD_VERSION);
		return 0;
	case CMDLINE_CHECK:
	case CMDLINE_RUN:
		break;
	}

	sipmsg_global_init();
	/* the test suites run the daemon so: every spliced message is checked
	 * against a full serialisation, and a difference aborts (sipmsg.h) */
	if (getenv("SIPNATD_CHECK_SPLICES"))
		sipmsg_check_splices(SIPMSG_SPLICE_ABORT);
	struct conf *conf = conf_load_file(cmd.conf_path, err);
	if (!conf) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (cmd.action == CMDLINE_CHECK) {
		/* valid, but some settings cannot work for a phone behind NAT */
		char why[320];
		for (size_t i = 0; i < conf->peer_count; i++)
			if (natdetect_peer_warning(&conf->peers[i], why, sizeof(why)))
				fprintf(stderr, "%s:%d: peers.%s: warning: %s\n", cmd.conf_path,
					conf->peers[i].line, conf->peers[i].name, why);
		printf("%s: configuration OK\n", cmd.conf_path);
		conf_free(conf);
		return 0;
	}

	if (!cmd.foreground && detach(&report_fd) != 0) {
		conf_free(conf);
		return 1;
	}
	log_open(cmd.foreground);
	if (!cmd.foreground && write_pid_file(cmd.pid_path) != 0) {
		log_err("cannot write pid file %s: %s", cmd.pid_path, strerror(errno));
		report(report_fd, 1);
		conf_free(conf);
		return 1;
	}
	d = daemon_start(conf, &cmd);
	if (!d) {
		report(report_fd, 1);
		if (!cmd.foreground)
			unlink(cmd.pid_path);
		log_close();
		return 1;
	}
	report(report_fd, 0);
	rc = daemon_run(d);
	daemon_free(d);
	if (!cmd.foreground)
		unlink(cmd.pid_path);
	log_notice("stopped");
	log_close();
	return rc;
}
