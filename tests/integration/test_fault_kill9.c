/*
 * A fault through the real daemon: kill -9 with many bindings, and the PBX calling at
 * once. Prints what it measured ("faults: ..."); the loopback network and the PBX and
 * trunk it plays: tests/support/faultnet.h.
 */
#include "faultnet.h"
#include "harness.h"
#include "sipclient.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- kill -9 with many bindings, and the PBX calling at once ---- */

#define MANY 20

START_TEST(kill_9_many_bindings)
{
	struct client phones[MANY + 5];
	char name[16], pw[16], cid[64], ip[32];
	int pbx = harness_udp(PBX_IP, PBX_PORT);

	faultnet_start(&(struct faultnet_conf){ .extra_peers = MANY + 5 });
	for (int i = 0; i < MANY; i++) {
		snprintf(ip, sizeof(ip), "127.0.12.%d", 10 + i);
		snprintf(cid, sizeof(cid), "reg-many-%d", i);
		snprintf(name, sizeof(name), "p%02d", i + 1);
		snprintf(pw, sizeof(pw), "pw%d", i + 1);
		client_open(&phones[i], strdup(ip), cid, SN_IP, SN_PORT);
		faultnet_register_peer(&phones[i], name, pw);
	}
	/* the state file is written a second after the last change */
	usleep(1500 * 1000);
	/* five more register just before the kill: they may be lost (the
	 * phone's next REGISTER brings them back); counted, not required */
	for (int i = MANY; i < MANY + 5; i++) {
		snprintf(ip, sizeof(ip), "127.0.12.%d", 10 + i);
		snprintf(cid, sizeof(cid), "reg-late-%d", i);
		snprintf(name, sizeof(name), "p%02d", i + 1);
		snprintf(pw, sizeof(pw), "pw%d", i + 1);
		client_open(&phones[i], strdup(ip), cid, SN_IP, SN_PORT);
		faultnet_register_peer(&phones[i], name, pw);
	}
	usleep(100 * 1000);
	ck_assert_int_eq(harness_stop(&faultnet_daemon, SIGKILL, 5000), 128 + SIGKILL);

	const char *args[] = { "-f", "-c", faultnet_conf_path, NULL };
	long t0 = harness_now_ms();
	harness_start(&faultnet_daemon, args, true);
	long up = harness_now_ms() - t0, first = -1;
	int reached = 0, late = 0;
	for (int i = 0; i < MANY + 5; i++) {
		snprintf(name, sizeof(name), "p%02d", i + 1);
		snprintf(cid, sizeof(cid), "after-kill-%d", i);
		bool ok = faultnet_pbx_calls(pbx, name, phones[i].fd, cid, i < MANY ? 1000 : 300);
		if (i < MANY) {
			ck_assert_msg(ok, "the PBX's INVITE to %s (registered before kill -9) did not arrive", name);
			reached++;
			if (first < 0)
				first = harness_now_ms() - t0;
		} else {
			late += ok;
		}
	}
	long restored = -1;
	FILE *f = fopen(faultnet_daemon.log_path, "r");
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "restored ");
		if (p)
			restored = strtol(p + 9, NULL, 10);
	}
	if (f)
		fclose(f);
	harness_report("faults", "kill -9: restarted in %ld ms, %ld bindings restored; the PBX reached %d of %d peers at once "
	       "(first INVITE delivered %ld ms after the restart began); of 5 registered 100 ms before the "
	       "kill (inside the 1 s write delay), %d survived",
	       up, restored, reached, MANY, first, late);
	ck_assert_int_ge(restored, MANY);
	for (int i = 0; i < MANY + 5; i++) {
		free((char *)phones[i].ip);
		close(phones[i].fd);
	}
	close(pbx);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { kill_9_many_bindings, NULL };
	return faultnet_run("fault_kill9", tests);
}
