/*
 * sip_contact: masquerade Contact on the way across the NAT, restore the
 * target on the way back. Part of the rewrite step.
 */
#include "sip_contact.h"

#include "base32.h"
#include "secret.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_LEN 8
#define HDR_LEN (1 + 4 + 2) /* flags, IPv4, port */
#define FLAG_NAT 0x01
#define TOKEN_RAW_MAX (MAC_LEN + HDR_LEN + sizeof(((struct contact_target *)0)->uri))

static void token_mac(const uint8_t *body, size_t len, uint8_t mac[MAC_LEN])
{
	uint8_t buf[1 + TOKEN_RAW_MAX], full[32];

	buf[0] = 'c'; /* a namespace of its own: branch MACs never verify here */
	memcpy(buf + 1, body, len);
	secret_hmac(buf, len + 1, full);
	memcpy(mac, full, MAC_LEN);
}

/* Encode the token for uri_text (+nat) into out. */
static int token_encode(const char *uri_text, const struct sockaddr_in *nat, char *out,
			size_t out_cap)
{
	uint8_t raw[TOKEN_RAW_MAX];
	size_t ulen = strlen(uri_text);

	if (ulen >= sizeof(((struct contact_target *)0)->uri) ||
	    BASE32_LEN(MAC_LEN + HDR_LEN + ulen) + 1 > out_cap)
		return -1;
	uint8_t *body = raw + MAC_LEN;
	memset(body, 0, HDR_LEN);
	if (nat) {
		body[0] = FLAG_NAT;
		memcpy(body + 1, &nat->sin_addr.s_addr, 4);
		memcpy(body + 5, &nat->sin_port, 2);
	}
	memcpy(body + HDR_LEN, uri_text, ulen);
	token_mac(body, HDR_LEN + ulen, raw);
	base32_encode(raw, MAC_LEN + HDR_LEN + ulen, out);
	return 0;
}

static int rewrite_uri(osip_uri_t *url, struct in_addr host, uint16_t port, const char *token)
{
	char ip[INET_ADDRSTRLEN], portbuf[8];

	inet_ntop(AF_INET, &host, ip, sizeof(ip));
	snprintf(portbuf, sizeof(portbuf), "%u", port);
	osip_free(url->host);
	osip_free(url->port);
	url->host = osip_strdup(ip);
	url->port = osip_strdup(portbuf);
	/* The original parameters and headers live in the token; what is shown
	 * is sipnatd's own UDP address. */
	osip_uri_param_freelist(&url->url_params);
	osip_uri_header_freelist(&url->url_headers);
	osip_free(url->password);
	url->password = NULL;
	if (!url->host || !url->port)
		return -1;
	return osip_uri_uparam_add(url, osip_strdup(CONTACT_TOKEN_PARAM), osip_strdup(token)) == 0 ? 0 : -1;
}

int contact_masquerade(osip_message_t *msg, struct in_addr host, uint16_t port,
		       const struct sockaddr_in *nat)
{
	osip_contact_t *contact;

	for (int i = 0; (contact = osip_list_get(&msg->contacts, i)) != NULL; i++) {
		char *text = NULL, token[BASE32_LEN(TOKEN_RAW_MAX) + 1];
		if (!contact->url)
			continue; /* Contact: * */
		if (osip_uri_to_str(contact->url, &text) != 0)
			return -1;
		int rc = token_encode(text, nat, token, sizeof(token));
		osip_free(text);
		if (rc != 0 || rewrite_uri(contact->url, host, port, token) != 0)
			return -1;
	}
	return 0;
}

bool contact_token_decode(const osip_uri_t *uri, struct contact_target *out)
{
	osip_uri_param_t *param = NULL;
	uint8_t raw[TOKEN_RAW_MAX], mac[MAC_LEN];

	if (!uri || osip_uri_param_get_byname((osip_list_t *)&uri->url_params,
					      (char *)CONTACT_TOKEN_PARAM, &param) != 0 ||
	    !param || !param->gvalue)
		return false;
	long n = base32_decode(param->gvalue, strlen(param->gvalue), raw, sizeof(raw));
	if (n < MAC_LEN + HDR_LEN + 1)
		return false;
	const uint8_t *body = raw + MAC_LEN;
	size_t body_len = (size_t)n - MAC_LEN;
	token_mac(body, body_len, mac);
	if (CRYPTO_memcmp(mac, raw, MAC_LEN) != 0)
		return false;

	memset(out, 0, sizeof(*out));
	out->has_nat = body[0] & FLAG_NAT;
	if (out->has_nat) {
		out->nat.sin_family = AF_INET;
		memcpy(&out->nat.sin_addr.s_addr, body + 1, 4);
		memcpy(&out->nat.sin_port, body + 5, 2);
	}
	size_t ulen = body_len - HDR_LEN;
	if (ulen >= sizeof(out->uri))
		return false;
	memcpy(out->uri, body + HDR_LEN, ulen);
	out->uri[ulen] = '\0';
	return true;
}

int contact_restore_request_uri(osip_message_t *msg, struct contact_target *out)
{
	osip_uri_param_t *param = NULL;
	osip_uri_t *orig = NULL;

	if (!msg->req_uri ||
	    osip_uri_param_get_byname(&msg->req_uri->url_params, (char *)CONTACT_TOKEN_PARAM,
				      &param) != 0 || !param)
		return 0;
	if (!contact_token_decode(msg->req_uri, out))
		return -1;
	if (osip_uri_init(&orig) != 0)
		return -1;
	if (osip_uri_parse(orig, out->uri) != 0) {
		osip_uri_free(orig);
		return -1;
	}
	osip_uri_free(msg->req_uri);
	msg->req_uri = orig;
	return 1;
}
