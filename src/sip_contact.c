/*
 * sip_contact: masquerade Contact on the way across the NAT, restore the
 * target on the way back. Part of the rewrite step.
 */
#include "sip_contact.h"

#include "base32.h"
#include "netaddr.h"
#include "secret.h"
#include "sipmsg.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_LEN (1 + 1 + 4 + 2) /* kind, flags, IPv4, port */
#define HDR6_LEN (1 + 1 + 16 + 2) /* kind, flags, IPv6, port (FLAG_V6) */
#define KIND_CONTACT 'c'       /* sealed Via stacks start otherwise: never confused */
#define FLAG_NAT 0x01
#define FLAG_V6 0x02           /* the NAT address is IPv6 (issue 20); tokens
				* without it keep the IPv4 form of before */
#define TOKEN_PLAIN_MAX (HDR6_LEN + sizeof(((struct contact_target *)0)->uri))
#define TOKEN_RAW_MAX (SECRET_SEAL_OVERHEAD + TOKEN_PLAIN_MAX)

/*
 * Sealing is deterministic (secret.h), so a dialog's Contact seals to the same
 * token on every message that carries it (INVITE, 18x, 200, re-INVITE), and
 * each in-dialog request brings that token back. A small cache keeps recent
 * tokens with what they seal: the same (URI, NAT address) is not sealed
 * again, and a token the cache holds is opened by comparing it with the one
 * sipnatd made (exactly what secret_open would have returned). Only short
 * URIs are cached; a longer one is simply sealed every time.
 */
#define CACHE_SLOTS 512            /* power of two */
#define CACHE_PLAIN_MAX (HDR_LEN + 200)
#define CACHE_TOKEN_MAX BASE32_LEN(SECRET_SEAL_OVERHEAD + CACHE_PLAIN_MAX)

struct token_entry {
	uint16_t plain_len;        /* 0: empty */
	uint16_t token_len;
	uint8_t plain[CACHE_PLAIN_MAX];
	char token[CACHE_TOKEN_MAX + 1];
};

static struct token_entry cache[CACHE_SLOTS];         /* by hash of plain; untouched pages cost no memory */
static struct token_entry *by_token[CACHE_SLOTS];   /* by hash of token */
static uint32_t cache_epoch;

static uint32_t fnv(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* The cache belongs to the key: forget it when the key changes. */
static void cache_check_key(void)
{
	uint32_t epoch = secret_epoch();

	if (epoch != cache_epoch) {
		for (size_t i = 0; i < CACHE_SLOTS; i++)
			cache[i].plain_len = 0;
		memset(by_token, 0, sizeof(by_token));
		cache_epoch = epoch;
	}
}

static void cache_put(const uint8_t *plain, size_t plain_len, const char *token)
{
	size_t tlen = strlen(token);

	if (plain_len > CACHE_PLAIN_MAX || tlen > CACHE_TOKEN_MAX)
		return;
	cache_check_key();
	struct token_entry *e = &cache[fnv(plain, plain_len) & (CACHE_SLOTS - 1)];
	struct token_entry **old = &by_token[fnv(e->token, e->token_len) & (CACHE_SLOTS - 1)];
	if (e->plain_len && *old == e)
		*old = NULL;
	memcpy(e->plain, plain, plain_len);
	e->plain_len = (uint16_t)plain_len;
	memcpy(e->token, token, tlen + 1);
	e->token_len = (uint16_t)tlen;
	by_token[fnv(token, tlen) & (CACHE_SLOTS - 1)] = e;
}

static const char *cache_token(const uint8_t *plain, size_t plain_len)
{
	if (plain_len > CACHE_PLAIN_MAX)
		return NULL;
	cache_check_key();
	const struct token_entry *e = &cache[fnv(plain, plain_len) & (CACHE_SLOTS - 1)];
	return e->plain_len == plain_len && memcmp(e->plain, plain, plain_len) == 0 ? e->token : NULL;
}

static const struct token_entry *cache_open(const char *token, size_t tlen)
{
	if (tlen > CACHE_TOKEN_MAX)
		return NULL;
	cache_check_key();
	const struct token_entry *e = by_token[fnv(token, tlen) & (CACHE_SLOTS - 1)];
	return e && e->token_len == tlen && memcmp(e->token, token, tlen) == 0 ? e : NULL;
}

/* Encode the token for uri_text (+nat) into out. */
static int token_encode(const char *uri_text, const struct netaddr *nat, char *out,
			size_t out_cap)
{
	uint8_t body[TOKEN_PLAIN_MAX], raw[TOKEN_RAW_MAX];
	size_t ulen = strlen(uri_text);
	bool v6 = nat && nat->family == AF_INET6;
	size_t hdr = v6 ? HDR6_LEN : HDR_LEN;
	uint16_t port = nat ? htons(nat->port) : 0;

	if (ulen >= sizeof(((struct contact_target *)0)->uri) ||
	    BASE32_LEN(SECRET_SEAL_OVERHEAD + hdr + ulen) + 1 > out_cap ||
	    (nat && nat->family != AF_INET && nat->family != AF_INET6))
		return -1;
	memset(body, 0, hdr);
	body[0] = KIND_CONTACT;
	if (v6) {
		/* the zone is not sealed: a link-local party is never behind NAT */
		body[1] = FLAG_NAT | FLAG_V6;
		memcpy(body + 2, nat->ip.v6.s6_addr, 16);
		memcpy(body + 18, &port, 2);
	} else if (nat) {
		body[1] = FLAG_NAT;
		memcpy(body + 2, &nat->ip.v4.s_addr, 4);
		memcpy(body + 6, &port, 2);
	}
	memcpy(body + hdr, uri_text, ulen);
	const char *cached = cache_token(body, hdr + ulen);
	if (cached) {
		strcpy(out, cached); /* the same length: the same plaintext */
		return 0;
	}
	/* sealed, not just signed: the URI and the NAT address are the LAN's and
	 * the party's business, not the other side's (design section 1) */
	if (secret_seal(body, hdr + ulen, raw) != 0)
		return -1;
	base32_encode(raw, SECRET_SEAL_OVERHEAD + hdr + ulen, out);
	cache_put(body, hdr + ulen, out);
	return 0;
}

static int rewrite_uri(osip_uri_t *url, const struct netaddr *host, uint16_t port, const char *token)
{
	char ip[NETADDR_HOST_MAX], portbuf[6];

	/* bare: libosip2 writes an IPv6 host in brackets itself */
	if (host->family == AF_INET)
		netaddr_ipv4_str(host->ip.v4, ip);
	else
		netaddr_ip_text(host, ip);
	netaddr_port_str(port, portbuf);
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

/* A Contact parameter value sipnatd can write back as it came: a quoted
 * string with balanced quotes, or a value without quote or comma. libosip2
 * keeps what a stray quote made of the rest of the line
 * (`expires=600nce="0a4f", nc=1`); once the URI before it is masqueraded,
 * that comma would split the Contact in two when read again. */
static bool param_value_ok(const char *v)
{
	if (!v)
		return true;
	return v[0] == '"' ? sipmsg_quoted_string_ok(v) : !strpbrk(v, "\",");
}

static bool params_ok(const osip_contact_t *contact)
{
	osip_generic_param_t *p;

	for (int i = 0; (p = osip_list_get(&contact->gen_params, i)) != NULL; i++)
		if ((p->gname && strpbrk(p->gname, "\",")) || !param_value_ok(p->gvalue))
			return false;
	return true;
}

/* Characters that osip_uri_to_str copies as they are in every part of a
 * URI (alphanumerics and RFC 3261's "mark"): a URI made of nothing else is
 * its parts joined, with no escaping to decide. */
static bool plain_chars(const char *s, const char *more)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("-_.!~*'()", c) || (more && strchr(more, c))))
			return false;
	}
	return true;
}

static bool put_text(char *out, size_t cap, size_t *n, const char *s)
{
	size_t len = strlen(s);

	if (len >= cap - *n)
		return false;
	memcpy(out + *n, s, len + 1);
	*n += len;
	return true;
}

/*
 * The text osip_uri_to_str writes for url, into out, for the common URI:
 * a scheme, no URI headers, and user, password, host, port and parameters of
 * plain characters only (none of them escaped or dropped by libosip2). The
 * text seals into the Contact token, so it must be osip_uri_to_str's to the
 * byte; returns false for anything else (or when it does not fit), and the
 * caller asks libosip2. Masquerading every Contact spent more in
 * osip_uri_to_str's allocations and stdio than in the rest of the rewrite.
 */
static bool uri_text_fast(const osip_uri_t *url, char *out, size_t cap)
{
	osip_list_iterator_t it;
	size_t n = 0;

	out[0] = '\0';
	if (url->string || !url->scheme || !url->host || osip_list_size(&url->url_headers) > 0 ||
	    !plain_chars(url->scheme, "+") || !plain_chars(url->host, ":") ||
	    (url->port && !plain_chars(url->port, NULL)) ||
	    (url->username && !plain_chars(url->username, NULL)) ||
	    (url->password && !plain_chars(url->password, NULL)))
		return false;
	if (!put_text(out, cap, &n, url->scheme) || !put_text(out, cap, &n, ":"))
		return false;
	if (url->username) {
		if (!put_text(out, cap, &n, url->username) ||
		    (url->password && (!put_text(out, cap, &n, ":") ||
				       !put_text(out, cap, &n, url->password))) ||
		    !put_text(out, cap, &n, "@"))
			return false;
	}
	bool v6 = strchr(url->host, ':') != NULL;
	if ((v6 && !put_text(out, cap, &n, "[")) || !put_text(out, cap, &n, url->host) ||
	    (v6 && !put_text(out, cap, &n, "]")))
		return false;
	if (url->port && (!put_text(out, cap, &n, ":") || !put_text(out, cap, &n, url->port)))
		return false;
	for (osip_uri_param_t *p = osip_list_get_first(&url->url_params, &it); p;
	     p = osip_list_get_next(&it)) {
		/* x-obr and x-obp are dropped by some libosip2 versions: ask it */
		if (!p->gname || !plain_chars(p->gname, NULL) || (p->gvalue && !plain_chars(p->gvalue, NULL)) ||
		    osip_strcasecmp(p->gname, "x-obr") == 0 || osip_strcasecmp(p->gname, "x-obp") == 0)
			return false;
		if (!put_text(out, cap, &n, ";") || !put_text(out, cap, &n, p->gname) ||
		    (p->gvalue && (!put_text(out, cap, &n, "=") || !put_text(out, cap, &n, p->gvalue))))
			return false;
	}
	return true;
}

int sip_contact_masquerade(osip_message_t *msg, const struct netaddr *host, uint16_t port,
			   const struct netaddr *nat)
{
	osip_contact_t *contact;

	for (int i = 0; (contact = osip_list_get(&msg->contacts, i)) != NULL; i++) {
		char *text = NULL, token[BASE32_LEN(TOKEN_RAW_MAX) + 1];
		char fast[sizeof(((struct contact_target *)0)->uri)];
		if (!contact->url)
			continue; /* Contact: * */
		if (!params_ok(contact))
			return -1;
		if (uri_text_fast(contact->url, fast, sizeof(fast)))
			text = fast;
		else if (osip_uri_to_str(contact->url, &text) != 0)
			return -1;
		if (strchr(text, '"')) {
			/* a URI holds no raw quote (RFC 3261 25.1: escaped) */
			if (text != fast)
				osip_free(text);
			return -1;
		}
		int rc = token_encode(text, nat, token, sizeof(token));
		if (text != fast)
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
	size_t tlen = strlen(param->gvalue);
	const struct token_entry *e = cache_open(param->gvalue, tlen);
	size_t body_len;
	if (e) {
		memcpy(body, e->plain, e->plain_len);
		body_len = e->plain_len;
	} else {
		long n = base32_decode(param->gvalue, tlen, raw, sizeof(raw));
		if (n < SECRET_SEAL_OVERHEAD + HDR_LEN + 1)
			return false;
		long opened = secret_open(raw, (size_t)n, body);
		if (opened < HDR_LEN + 1 || body[0] != KIND_CONTACT)
			return false;
		body_len = (size_t)opened;
	}

	bool v6 = body[1] & FLAG_V6;
	size_t hdr = v6 ? HDR6_LEN : HDR_LEN;
	uint16_t port;
	if (body_len < hdr + 1 || (v6 && !(body[1] & FLAG_NAT)))
		return false;
	memset(out, 0, sizeof(*out));
	out->has_nat = body[1] & FLAG_NAT;
	if (v6) {
		out->nat.family = AF_INET6;
		memcpy(out->nat.ip.v6.s6_addr, body + 2, 16);
		memcpy(&port, body + 18, 2);
		out->nat.port = ntohs(port);
	} else if (out->has_nat) {
		out->nat.family = AF_INET;
		memcpy(&out->nat.ip.v4.s_addr, body + 2, 4);
		memcpy(&port, body + 6, 2);
		out->nat.port = ntohs(port);
	}
	size_t ulen = body_len - hdr;
	if (ulen >= sizeof(out->uri))
		return false;
	memcpy(out->uri, body + hdr, ulen);
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
