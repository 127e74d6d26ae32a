/*
 * sipclient: see sipclient.h.
 */
#include "sipclient.h"

#include "auth_digest.h"
#include "harness.h"

#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void client_open(struct client *c, const char *ip, const char *call_id, const char *server_ip,
		 unsigned server_port)
{
	memset(c, 0, sizeof(*c));
	c->fd = harness_udp(ip, 0);
	c->ip = ip;
	c->port = harness_udp_port(c->fd);
	snprintf(c->call_id, sizeof(c->call_id), "%s", call_id);
	snprintf(c->server_ip, sizeof(c->server_ip), "%s", server_ip);
	c->server_port = server_port;
	snprintf(c->server, sizeof(c->server), "%s:%u", server_ip, server_port);
}

static void request_uri(const struct client *c, const char *method, char *out, size_t len)
{
	if (strcmp(method, "REGISTER") == 0)
		snprintf(out, len, "sip:%s", c->server);
	else
		snprintf(out, len, "sip:100@%s", c->server);
}

void client_send(struct client *c, const char *method, const char *user, const char *auth_line,
		 const char *expires)
{
	char msg[4096], ruri[128], extra[1200] = "";

	c->cseq++;
	request_uri(c, method, ruri, sizeof(ruri));
	if (expires)
		snprintf(extra, sizeof(extra), "Expires: %s\r\n", expires);
	if (auth_line) {
		strncat(extra, auth_line, sizeof(extra) - strlen(extra) - 3);
		strcat(extra, "\r\n");
	}
	int n = snprintf(msg, sizeof(msg),
			 "%s %s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.168.1.5:5060;branch=z9hG4bK%s%u\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:%s@%s>;tag=ft%s\r\n"
			 "To: <sip:%s@%s>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u %s\r\n"
			 "Contact: <sip:%s@192.168.1.5:5060>\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 method, ruri, c->call_id, c->cseq, user, c->server_ip, c->call_id,
			 strcmp(method, "REGISTER") == 0 ? user : "100", c->server_ip, c->call_id, c->cseq,
			 method, user, extra);
	harness_udp_send(c->fd, c->server_ip, c->server_port, msg, (size_t)n);
}

bool client_recv(struct client *c, char *buf, size_t len, int timeout_ms)
{
	return harness_sip_recv(c->fd, buf, len, timeout_ms, NULL) > 0;
}

void client_answer_challenge(const struct client *c, const char *resp, const char *method,
			     const char *user, const char *password, char *line, size_t len)
{
	const char *hdr = strstr(resp, "uthenticate: Digest");
	ck_assert_ptr_nonnull(hdr);
	const char *n = strstr(hdr, "nonce=\"");
	ck_assert_ptr_nonnull(n);
	n += 7;
	char nonce[128], uri[128];
	size_t k = 0;
	while (n[k] && n[k] != '"' && k + 1 < sizeof(nonce)) {
		nonce[k] = n[k];
		k++;
	}
	nonce[k] = '\0';
	bool proxy = strncmp(resp, "SIP/2.0 407", 11) == 0;
	request_uri(c, method, uri, sizeof(uri));
	struct digest_credentials cred;
	memset(&cred, 0, sizeof(cred));
	cred.alg = DIGEST_MD5;
	snprintf(cred.username, sizeof(cred.username), "%s", user);
	snprintf(cred.realm, sizeof(cred.realm), "sipnatd");
	snprintf(cred.nonce, sizeof(cred.nonce), "%s", nonce);
	snprintf(cred.uri, sizeof(cred.uri), "%s", uri);
	cred.has_qop = true;
	snprintf(cred.cnonce, sizeof(cred.cnonce), "c0ffee");
	snprintf(cred.nc, sizeof(cred.nc), "00000001");
	char ha1[DIGEST_HEX_MAX], expect[DIGEST_HEX_MAX];
	auth_digest_ha1(DIGEST_MD5, user, "sipnatd", password, ha1);
	auth_digest_expected(&cred, method, ha1, expect);
	snprintf(line, len,
		 "%s: Digest username=\"%s\", realm=\"sipnatd\", nonce=\"%s\", uri=\"%s\", "
		 "response=\"%s\", algorithm=MD5, cnonce=\"c0ffee\", qop=auth, nc=00000001",
		 proxy ? "Proxy-Authorization" : "Authorization", user, nonce, uri, expect);
}

void client_auth_request(struct client *c, const char *method, const char *user,
			 const char *password, const char *expires, char *out, size_t len)
{
	char line[1024];

	client_send(c, method, user, NULL, expires);
	ck_assert(client_recv(c, out, len, 2000));
	ck_assert_msg(strncmp(out, "SIP/2.0 401", 11) == 0 || strncmp(out, "SIP/2.0 407", 11) == 0,
		      "expected a challenge, got %s", out);
	client_answer_challenge(c, out, method, user, password, line, sizeof(line));
	client_send(c, method, user, line, expires);
	ck_assert(client_recv(c, out, len, 2000));
}

void client_reply(struct client *c, const char *req, int status, const char *reason)
{
	char via[1024], from[512], to[512], cid[256], cseq[64], msg[4096];

	ck_assert(harness_sip_header(req, "Via", via, sizeof(via)));
	ck_assert(harness_sip_header(req, "From", from, sizeof(from)));
	ck_assert(harness_sip_header(req, "To", to, sizeof(to)));
	ck_assert(harness_sip_header(req, "Call-ID", cid, sizeof(cid)));
	ck_assert(harness_sip_header(req, "CSeq", cseq, sizeof(cseq)));
	int n = snprintf(msg, sizeof(msg),
			 "SIP/2.0 %d %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s;tag=uas%u\r\nCall-ID: %s\r\n"
			 "CSeq: %s\r\nContent-Length: 0\r\n\r\n",
			 status, reason, via, from, to, c->port, cid, cseq);
	harness_udp_send(c->fd, c->server_ip, c->server_port, msg, (size_t)n);
}
