/*
 * sip_contact: masquerade Contact on the way across the NAT, restore the
 * target on the way back. Part of the rewrite step.
 */
#include "sip_contact.h"

#include "base32.h"
#include "secret.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_LEN (1 + 1 + 4 + 2) /* kind, flags, IPv4, port */
#define KIND_CONTACT 'c'       /* sealed Via stacks start otherwise: never confused */
#define FLAG_NAT 0x01
#define TOKEN_PLAIN_MAX (HDR_LEN + sizeof(((struct contact_target *)0)->uri))
#define TOKEN_RAW_MAX (SECRET_SEAL_OVERHEAD + TOKEN_PLAIN_MAX)

/* Encode the token for uri_text (+nat) into out. */
static int token_encode(const char *uri_text, const struct sockaddr_in *nat, char *out,
			size_t out_cap)
{
	uint8_t body[TOKEN_PLAIN_MAX], raw[TOKEN_RAW_MAX];
	size_t ulen = strlen(uri_text);

	if (ulen >= sizeof(((struct contact_target *)0)->uri) ||
	    BASE32_LEN(SECRET_SEAL_OVERHEAD + HDR_LEN + ulen) + 1 > out_cap)
		return -1;
	memset(body, 0, HDR_LEN);
	body[0] = KIND_CONTACT;
	if (nat) {
		body[1] = FLAG_NAT;
		memcpy(body + 2, &nat->sin_addr.s_addr, 4);
		memcpy(body + 6, &nat->sin_port, 2);
	}
	memcpy(body + HDR_LEN, uri_text, ulen);
	/* sealed, not just signed: the URI and the NAT address are the LAN's and
	 * the party's business, not the other side's (design section 1) */
	if (secret_seal(body, HDR_LEN + ulen, raw) != 0)
		return -1;
	base32_encode(raw, SECRET_SEAL_OVERHEAD + HDR_LEN + ulen, out);
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

int sip_contact_masquerade(osip_message_t *msg, struct in_addr host, uint16_t port,
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

int sip_contact_set_transport(osip_message_t *msg, const char *param)
{
	osip_contact_t *contact;

	for (int i = 0; (contact = osip_list_get(&msg->contacts, i)) != NULL; i++) {
		osip_uri_param_t *old = NULL;

		if (!contact->url)
			continue;
		if (osip_uri_param_get_byname(&contact->url->url_params, (char *)"transport", &old) == 0 &&
		    old) {
			osip_free(old->gvalue);
			old->gvalue = osip_strdup(param);
			if (!old->gvalue)
				return -1;
			continue;
		}
		if (osip_uri_uparam_add(contact->url, osip_strdup("transport"), osip_strdup(param)) != 0)
			return -1;
	}
	return 0;
}

bool sip_contact_token_decode(const osip_uri_t *uri, struct contact_target *out)
{
	osip_uri_param_t *param = NULL;
	uint8_t raw[TOKEN_RAW_MAX], body[TOKEN_RAW_MAX];

	if (!uri || osip_uri_param_get_byname((osip_list_t *)&uri->url_params,
					      (char *)CONTACT_TOKEN_PARAM, &param) != 0 ||
	    !param || !param->gvalue)
		return false;
	long n = base32_decode(param->gvalue, strlen(param->gvalue), raw, sizeof(raw));
	if (n < SECRET_SEAL_OVERHEAD + HDR_LEN + 1)
		return false;
	long opened = secret_open(raw, (size_t)n, body);
	if (opened < HDR_LEN + 1 || body[0] != KIND_CONTACT)
		return false;
	size_t body_len = (size_t)opened;

	memset(out, 0, sizeof(*out));
	out->has_nat = body[1] & FLAG_NAT;
	if (out->has_nat) {
		out->nat.sin_family = AF_INET;
		memcpy(&out->nat.sin_addr.s_addr, body + 2, 4);
		memcpy(&out->nat.sin_port, body + 6, 2);
	}
	size_t ulen = body_len - HDR_LEN;
	if (ulen >= sizeof(out->uri))
		return false;
	memcpy(out->uri, body + HDR_LEN, ulen);
	out->uri[ulen] = '\0';
	return true;
}

int sip_contact_restore_request_uri(osip_message_t *msg, struct contact_target *out)
{
	osip_uri_param_t *param = NULL;
	osip_uri_t *orig = NULL;

	if (!msg->req_uri ||
	    osip_uri_param_get_byname(&msg->req_uri->url_params, (char *)CONTACT_TOKEN_PARAM,
				      &param) != 0 || !param)
		return 0;
	if (!sip_contact_token_decode(msg->req_uri, out))
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
