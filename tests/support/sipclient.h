/*
 * sipclient: a tiny SIP user agent over a plain UDP socket, for integration
 * tests that must see every byte: REGISTER/INVITE/... with a private Contact,
 * and digest credentials computed with sipnatd's own auth_digest module.
 */
#ifndef SIPNATD_TEST_SIPCLIENT_H
#define SIPNATD_TEST_SIPCLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct client {
	int fd;
	const char *ip;
	unsigned port;
	unsigned cseq;
	char call_id[64];
	char server[64];   /* "ip:port" of sipnatd */
	char server_ip[32];
	unsigned server_port;
};

/* A client bound on ip (any port) talking to sipnatd at server_ip:server_port. */
void client_open(struct client *c, const char *ip, const char *call_id, const char *server_ip,
		 unsigned server_port);

/* Send method as user (REGISTER to sipnatd itself, anything else to
 * sip:100@sipnatd), with an optional credentials header line and Expires. */
void client_send(struct client *c, const char *method, const char *user, const char *auth_line,
		 const char *expires);

/* Receive one SIP message (sipnatd's pings are passed over). */
bool client_recv(struct client *c, char *buf, size_t len, int timeout_ms);

/* The credentials line answering the MD5 challenge in resp. */
void client_answer_challenge(const struct client *c, const char *resp, const char *method,
			     const char *user, const char *password, char *line, size_t len);

/* Challenge, then credentials; the final answer lands in out. */
void client_auth_request(struct client *c, const char *method, const char *user,
			 const char *password, const char *expires, char *out, size_t len);

/* Answer a request received in req (e.g. sipnatd's OPTIONS ping) with status,
 * copying its Via, From, To, Call-ID and CSeq. */
void client_reply(struct client *c, const char *req, int status, const char *reason);

#endif
