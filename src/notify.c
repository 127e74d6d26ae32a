/*
 * notify: READY/RELOADING/STOPPING/WATCHDOG through libsystemd's sd_notify.
 */
#include "notify.h"

#include <stdio.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

void notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "running");
}

void notify_reloading(void)
{
	struct timespec ts;

	/* MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match the
	 * READY=1 that ends the reload; older versions ignore it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

uint64_t notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}
#else
void notify_ready(const char *status) { (void)status; }
void notify_reloading(void) {}
void notify_stopping(void) {}
void notify_watchdog(void) {}
uint64_t notify_watchdog_usec(void) { return 0; }
#endif
