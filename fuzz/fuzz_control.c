/*
 * fuzz_control: what a client writes to the control socket, through
 * control_parse_request, both as a partial read and as the whole request of
 * a client that has closed its side. A finding is a sanitizer report, or an
 * answer outside the contract of control.h (OK without a known command, an
 * error without a reason, "incomplete" for a client that has finished).
 */
#include "control.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size, bool ended)
{
	/* a copy of exactly size bytes, so that ASan sees any read past them */
	char *buf = malloc(size ? size : 1);
	enum control_command cmd = (enum control_command)-1;
	const char *why = NULL;

	if (!buf)
		return;
	memcpy(buf, data, size);
	switch (control_parse_request(buf, size, ended, &cmd, &why)) {
	case CONTROL_PARSE_OK:
		if (strcmp(control_command_name(cmd), "?") == 0) {
			fprintf(stderr, "control: OK with unknown command %d\n", (int)cmd);
			abort();
		}
		break;
	case CONTROL_PARSE_INCOMPLETE:
		if (ended) {
			fprintf(stderr, "control: incomplete although the client has finished\n");
			abort();
		}
		break;
	case CONTROL_PARSE_ERROR:
		if (!why || !*why) {
			fprintf(stderr, "control: error without a reason\n");
			abort();
		}
		break;
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, false);
	check(data, size, true);
	return 0;
}
