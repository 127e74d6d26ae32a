/*
 * The short soak (issue: proof under load): tests/soak/soak.py with 3 000
 * calls at 300 calls/s through the real daemon, sipp as a trunk peer and as
 * the PBX, every call with SDP and a relay pair. The driver checks 0 failed
 * calls, the pool whole and the descriptors back at the end, and VmRSS growth
 * under 1 MiB between 20 % and 100 % of the calls; it prints its figures,
 * shown here. `make soak` runs the same driver for 100 000 calls.
 *
 *   sipnatd 127.0.11.10:25160, PBX 127.0.11.20:25180, trunk 127.0.12.5:5070,
 *   relay pool 32000-32399
 */
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define SOAK_SCRIPT SIPNATD_SOURCE_DIR "/tests/soak/soak.py"

START_TEST(soak_3000_calls)
{
	static char out[65536];
	const char *argv[] = { "python3", SOAK_SCRIPT, "--sipnatd", SIPNATD_BINARY,
			       "--sipnatctl", SIPNATCTL_BINARY, "--calls", "3000", "--rate", "300",
			       NULL };
	int rc = harness_run(argv, out, sizeof(out));
	fputs(out, stdout);
	fflush(stdout);
	ck_assert_msg(rc != 77, "sipp is missing (scripts/install-deps.sh --test installs it)");
	ck_assert_msg(rc == 0, "soak failed (exit %d):\n%s", rc, out);
}
END_TEST

int main(void)
{
	const TTest *tests[] = { soak_3000_calls, NULL };
	return harness_main("soak", "soak", 180, NULL, NULL, tests);
}
