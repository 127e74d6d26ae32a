/*
 * unit_main: the main() of a unit suite (one Check suite per src module):
 * run the suite, exit 0 when every test passed. Header only because each
 * unit test is an executable of its own linked to sipnatd_core alone.
 *
 *   static Suite *relay_suite(void) { ... }
 *   UNIT_MAIN(relay_suite)
 *   UNIT_MAIN_INIT(sipmsg_suite, sipmsg_global_init())   (once, before the run)
 */
#ifndef SIPNATD_TEST_UNIT_MAIN_H
#define SIPNATD_TEST_UNIT_MAIN_H

#include <check.h>
#include <stdlib.h>

#define UNIT_MAIN(suite_fn) UNIT_MAIN_INIT(suite_fn, (void)0)

#define UNIT_MAIN_INIT(suite_fn, init)                               \
	int main(void)                                               \
	{                                                            \
		SRunner *sr;                                         \
		int failed;                                          \
                                                                     \
		init;                                                \
		sr = srunner_create(suite_fn());                     \
		srunner_run_all(sr, CK_NORMAL);                      \
		failed = srunner_ntests_failed(sr);                  \
		srunner_free(sr);                                    \
		return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;    \
	}

#endif
