/*
 * A fault through the real daemon: the state file's disk full or read-only. Prints what
 * it measured ("faults: ..."); the loopback network and the PBX and trunk it plays:
 * tests/support/faultnet.h.
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

/* ---- the state file's disk full or read-only ---- */

enum state_fault { STATE_DISK_FULL, STATE_READ_ONLY };

/* Make dir unwritable in the way asked; says how. Mounts are made in a mount
 * namespace of this test process's own (the daemon, its child, shares it),
 * so they vanish with the processes, whatever happens to the test. */
static const char *break_state_dir(const char *dir, enum state_fault kind)
{
	bool own_ns = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;

	if (kind == STATE_DISK_FULL) {
		if (own_ns && mount("tmpfs", dir, "tmpfs", 0, "size=4k") == 0) {
			/* fill it */
			char path[700], block[4096];
			snprintf(path, sizeof(path), "%s/filler", dir);
			memset(block, 'x', sizeof(block));
			FILE *f = fopen(path, "w");
			ck_assert_ptr_nonnull(f);
			while (fwrite(block, 1, sizeof(block), f) == sizeof(block) && fflush(f) == 0)
				;
			fclose(f);
			return "a full 4 KiB tmpfs";
		}
		char tmp[700];
		snprintf(tmp, sizeof(tmp), "%s/registrations.tmp", dir);
		ck_assert_int_eq(symlink("/dev/full", tmp), 0);
		return "registrations.tmp -> /dev/full (no tmpfs: one failed save only)";
	}
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(dir, 0555), 0);
		return "a directory with mode 0555";
	}
	if (own_ns && mount(dir, dir, NULL, MS_BIND, NULL) == 0 &&
	    mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0)
		return "a read-only bind mount";
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "chattr +i '%s' 2>/dev/null", dir);
	if (system(cmd) == 0)
		return "chattr +i";
	return NULL;
}

static void mend_state_dir(const char *dir, enum state_fault kind, const char *how)
{
	char cmd[700];

	if (strcmp(how, "chattr +i") == 0) {
		snprintf(cmd, sizeof(cmd), "chattr -i '%s'", dir);
		ck_assert_int_eq(system(cmd), 0);
	} else if (strcmp(how, "a directory with mode 0555") == 0) {
		chmod(dir, 0755);
	} else if (kind == STATE_DISK_FULL && strncmp(how, "a full", 6) == 0) {
		snprintf(cmd, sizeof(cmd), "%s/filler", dir);
		unlink(cmd);
	} else if (kind == STATE_READ_ONLY) {
		ck_assert_int_eq(mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL), 0);
	}
}

static void state_file_fault(enum state_fault kind)
{
	char dir[600], state[700];
	struct client alice;
	int pbx = harness_udp(PBX_IP, PBX_PORT), trunk = harness_udp(TRUNK_IP, TRUNK_PORT);
	const char *what = kind == STATE_DISK_FULL ? "disk full" : "read-only";

	snprintf(dir, sizeof(dir), "%s/state", harness_tmpdir());
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(state, sizeof(state), "%s/registrations", dir);
	const char *how = break_state_dir(dir, kind);
	if (!how) {
		harness_report("faults", "state file %s: SKIPPED: root, but no way to make a directory read-only here "
		       "(no mount namespace, no chattr)", what);
		close(pbx);
		close(trunk);
		return;
	}
	faultnet_start(&(struct faultnet_conf){ .statefile = state });
	client_open(&alice, ALICE_IP, "reg-fault", SN_IP, SN_PORT);
	long reg_ms = faultnet_register_peer(&alice, "alice", "s3cret");
	ck_assert_msg(harness_wait_log(&faultnet_daemon, "cannot save registrations", 3000),
		      "the failed save was not logged; log %s", faultnet_daemon.log_path);
	char line[512] = "";
	FILE *f = fopen(faultnet_daemon.log_path, "r");
	while (f && fgets(line, sizeof(line), f) && !strstr(line, "cannot save registrations"))
		;
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = '\0';
	/* the service goes on: registrations, calls both ways */
	long rereg_ms = faultnet_register_peer(&alice, "alice", "s3cret");
	ck_assert_msg(faultnet_pbx_calls(pbx, "alice", alice.fd, "fault-to-alice", 1000),
		      "the PBX could not reach alice with the state file %s", what);
	ck_assert_int_eq(faultnet_trunk_call(trunk, pbx, "fault-from-trunk"), 200);
	ck_assert_msg(harness_alive(&faultnet_daemon), "sipnatd died");
	harness_report("faults", "state file %s (%s): REGISTER answered 200 in %ld ms, again in %ld ms; calls both ways go "
	       "through; logged: \"%s\"",
	       what, how, reg_ms, rereg_ms, strstr(line, "cannot") ? strstr(line, "cannot") : line);

	/* mended: the next change is saved */
	mend_state_dir(dir, kind, how);
	faultnet_register_peer(&alice, "alice", "s3cret");
	long t0 = harness_now_ms();
	bool saved = false;
	while (!saved && harness_now_ms() - t0 < 3000) {
		FILE *s = fopen(state, "r");
		char buf[4096];
		if (s) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, s);
			buf[n] = '\0';
			saved = strstr(buf, "alice\t") != NULL;
			fclose(s);
		}
		usleep(100 * 1000);
	}
	ck_assert_msg(saved, "after the fault was mended, the bindings were not saved");
	/* the mount goes with this process's namespace anyway; unmount now so
	 * that the teardown can remove the directory */
	if (strcmp(how, "a full 4 KiB tmpfs") == 0 || strcmp(how, "a read-only bind mount") == 0) {
		ck_assert_int_eq(harness_stop(&faultnet_daemon, SIGTERM, 5000), 0);
		ck_assert_int_eq(umount2(dir, MNT_DETACH), 0);
	}
	close(alice.fd);
	close(pbx);
	close(trunk);
}

START_TEST(state_file_disk_full)
{
	state_file_fault(STATE_DISK_FULL);
}
END_TEST

START_TEST(state_file_read_only)
{
	state_file_fault(STATE_READ_ONLY);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { state_file_disk_full, state_file_read_only, NULL };
	return faultnet_run("fault_statefile", tests);
}
