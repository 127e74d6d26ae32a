/*
 * fuzz_sip_path: one datagram through the daemon's own SIP path
 * (sip_dispatch.c over the stand-ins of tests/support/sip_path.c), once from
 * each kind of source. A crash, a sanitizer report or a broken wire
 * invariant (tests/support/sip_invariants.h: a sent message that does not
 * parse again, a wrong Content-Length, a response that does not find
 * sipnatd's branch, a Contact that does not restore) is a finding.
 */
#include "sip_path.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct sip_path *path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	sip_path_global_init();
	path = sip_path_new();
	if (!path)
		abort();
	return 0;
}

/* FUZZ_INVARIANTS=report: an invariant of the path that breaks is printed
 * (each distinct one once) and fuzzing goes on; by default it aborts like a
 * crash. Memory errors, leaks and undefined behaviour abort either way. */
static bool report_only(void)
{
	static int mode = -1;

	if (mode < 0) {
		const char *v = getenv("FUZZ_INVARIANTS");
		mode = v && strcmp(v, "report") == 0;
	}
	return mode == 1;
}

static bool first_time(const char *what)
{
	static const char *seen[32];
	static size_t n;

	for (size_t i = 0; i < n; i++)
		if (seen[i] == what)
			return false;
	if (n < sizeof(seen) / sizeof(seen[0]))
		seen[n++] = what;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int from = 0; from < SIP_PATH_SOURCES; from++) {
		struct sip_path_result res;

		sip_path_run(path, (const char *)data, size, (enum sip_path_source)from, &res);
		if (res.violation && report_only()) {
			if (first_time(res.violation))
				fprintf(stderr, "sip_path invariant finding (from %s): %s\n--- input ---\n%.*s\n---\n",
					sip_path_source_name((enum sip_path_source)from), res.violation,
					(int)size, (const char *)data);
		} else if (res.violation) {
			fprintf(stderr, "sip_path invariant broken (from %s, %s: %s): %s\n",
				sip_path_source_name((enum sip_path_source)from),
				sip_path_outcome_name(res.outcome), res.why ? res.why : "",
				res.violation);
			if (res.out)
				fprintf(stderr, "--- sent ---\n%.*s\n---\n", (int)res.out_len, res.out);
			abort();
		}
		sip_path_result_clear(&res);
	}
	return 0;
}
