/*
 * notify: the service manager's side channel (sd_notify), a no-op where
 * libsystemd is absent or NOTIFY_SOCKET is not set.
 */
#ifndef SIPNATD_NOTIFY_H
#define SIPNATD_NOTIFY_H

#include <stdint.h>

void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
/* The watchdog interval asked for by WatchdogSec, in microseconds; 0 = none. */
uint64_t notify_watchdog_usec(void);

#endif
