/*
 * fuzz_statefile: a state file (which may have been edited or damaged)
 * through statefile_parse into a fresh registrar. A finding is a sanitizer
 * report, or a registrar that holds more bindings than were restored.
 */
#include "registrar.h"
#include "statefile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The clock the file is read at: expiries in the corpus lie around it. */
#define FUZZ_NOW ((time_t)1700000000)

static void touch_cb(void *arg, const struct binding *b)
{
	size_t *n = arg;
	(*n)++;
	(void)b->contact[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registrar *r = registrar_new();
	size_t bad = 0, seen = 0;
	long restored;

	if (!r)
		return 0;
	restored = statefile_parse((const char *)data, size, r, FUZZ_NOW, &bad);
	registrar_foreach(r, touch_cb, &seen);
	if (restored < 0 || (size_t)restored != registrar_count(r) || seen != registrar_count(r)) {
		fprintf(stderr, "statefile: restored %ld, registrar holds %zu (%zu seen)\n", restored,
			registrar_count(r), seen);
		abort();
	}
	(void)registrar_lookup(r, "alice", FUZZ_NOW);
	(void)registrar_expire(r, FUZZ_NOW + 7200, NULL, NULL);
	registrar_free(r);
	return 0;
}
