/*
 * faultnet: the loopback network the fault tests (test_fault_*.c) share; test_hostile_rtp.c
 * uses its addresses and its PBX and trunk too.
 *
 *   LAN (localnet 127.0.11.0/24): sipnatd 127.0.11.10:25160, PBX 127.0.11.20:25180,
 *        a DNS server the test plays at 127.0.11.53:25153
 *   Internet: a trunk peer at 127.0.12.5:5070 (known by address), phones with
 *        digest on 127.0.12.6 and up, attackers on 127.0.13.x
 *   Relay pool 32000-32099 (50 pairs)
 */
#ifndef SIPNATD_TEST_FAULTNET_H
#define SIPNATD_TEST_FAULTNET_H

#include "harness.h"
#include "sipclient.h"

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#define SN_IP "127.0.11.10"
#define SN_PORT 25160
#define PBX_IP "127.0.11.20"
#define PBX_PORT 25180
#define TRUNK_IP "127.0.12.5"
#define TRUNK_PORT 5070
#define ALICE_IP "127.0.12.6"
#define DNS_IP "127.0.11.53"
#define DNS_PORT 25153
#define EXT1 "198.51.100.1"
#define EXT2 "198.51.100.2"

/* The daemon under test and its configuration file. */
extern struct daemon_proc faultnet_daemon;
extern char faultnet_conf_path[512];

/* The PBX's SDP answer (audio at PBX_IP:20000). */
extern const char faultnet_pbx_sdp[];

struct faultnet_conf {
	const char *ext;        /* externip/externhost line(s); default externip */
	const char *statefile;  /* default <tmp>/registrations */
	int rtpend;             /* default 32099 */
	const char *trunk_extra;
	const char *alice_secret;
	int extra_peers;        /* p01.. with secret "pw<n>" */
	const char *level;
};

/* The configuration text for o into text. */
void faultnet_conf_text(const struct faultnet_conf *o, char *text, size_t len);

/* Write the configuration file whole (rename), so that a reload never reads half of it. */
void faultnet_write_conf(const struct faultnet_conf *o);

/* Write the configuration and start sipnatd in the foreground, waiting until it listens. */
void faultnet_start(const struct faultnet_conf *o);

/* The checked fixture: a fresh daemon slot; stop sipnatd (exit 0) and remove the tmpdir. */
void faultnet_setup(void);
void faultnet_teardown(void);

/* Answer the request req (received on fd from sipnatd) with code; to_tag and sdp may be NULL. */
void faultnet_reply(int fd, const char *req, int code, const char *reason, const char *to_tag,
		    const char *sdp);

/* Wait on fd for a message whose first line starts with prefix and, when call_id is given, of
 * that call; sipnatd's OPTIONS pings are answered meanwhile. */
bool faultnet_wait_for(int fd, const char *prefix, const char *call_id, char *buf, size_t len,
		       int timeout_ms);

/* A final response (>= 200) for call_id on fd; returns its code or 0. */
int faultnet_wait_final(int fd, const char *call_id, char *buf, size_t len, int timeout_ms);

/* A trunk request inside or outside a dialog into buf; to_line is the To header value. */
int faultnet_trunk_request(char *buf, size_t len, const char *method, const char *call_id,
			   unsigned cseq, const char *branch, const char *to_line, bool sdp);

/* The trunk sends an INVITE with SDP for call_id to sipnatd. */
void faultnet_trunk_send_invite(int trunk, const char *call_id);

/* A whole call trunk -> PBX (INVITE, 200, ACK, BYE, 200): the INVITE's status (200 when all
 * went through), -1 when ACK or BYE went astray, 0 when nothing came back. */
int faultnet_trunk_call(int trunk, int pbx, const char *call_id);

/* The PBX calls a registered peer; true when the INVITE reaches the phone. */
bool faultnet_pbx_calls(int pbx, const char *peer, int phone_fd, const char *call_id, int timeout_ms);

/* Register with digest; the ms the exchange took (fails the test unless 200). */
long faultnet_register_peer(struct client *c, const char *user, const char *password);

/* Run the NULL-terminated tests as one Check suite name under the fixture; the exit status. */
int faultnet_run(const char *name, const TTest *const tests[]);

#endif
