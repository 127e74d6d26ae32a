/*
 * fuzz_conf: a configuration file through conf_load_string, which either
 * returns a whole validated configuration or NULL with a one-line message
 * (conf.h). A finding is a sanitizer report, a NULL without a message, or a
 * message that is not one line within CONF_ERR_MAX.
 */
#include "conf.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONF_ERR_MAX];
	char *text = malloc(size + 1);
	struct conf *conf;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	log_set_level(LOG_CRIT);
	memset(err, 0x55, sizeof(err));
	err[sizeof(err) - 1] = '\0';
	conf = conf_load_string(text, "fuzz.conf", err);
	if (conf) {
		(void)conf_peer_find(conf, "alice");
		conf_free(conf);
	} else {
		size_t n = strnlen(err, sizeof(err));
		if (n == 0 || n == sizeof(err) || memchr(err, '\n', n)) {
			fprintf(stderr, "conf: bad error message \"%.*s\"\n", (int)n, err);
			abort();
		}
	}
	free(text);
	return 0;
}
