/*
 * sip_uri: URI comparison for the authenticate step (see sip_uri.h). Works on
 * libosip2's parsed URIs, whose parser has decoded the %-escapes.
 */
#include "sip_uri.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* libosip2 has decoded the %-escapes of the user, password, parameters and
 * headers already (not the host, where none belong): compare what it gives,
 * never decode twice ("%2561" is "%61", not "a"). NULL is "". */
static bool same_text(const char *a, const char *b, bool ignore_case)
{
	a = a ? a : "";
	b = b ? b : "";
	return ignore_case ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

static bool is_sips(const osip_uri_t *u)
{
	return strcasecmp(u->scheme, "sips") == 0;
}

/* Decimal digits only, as a number (leading zeros are legal); -1 otherwise. */
static long port_number(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return -1;
	}
	return v;
}

static bool same_port(const osip_uri_t *a, const osip_uri_t *b)
{
	const char *def = is_sips(a) ? "5061" : "5060";
	long pa = port_number(a->port && *a->port ? a->port : def);
	long pb = port_number(b->port && *b->port ? b->port : def);

	return pa >= 0 && pa == pb;
}

static const osip_uri_param_t *param_of(const osip_list_t *list, const char *name)
{
	osip_uri_param_t *p;

	for (int i = 0; (p = osip_list_get(list, i)) != NULL; i++)
		if (p->gname && same_text(p->gname, name, true))
			return p;
	return NULL;
}

/* The value of a parameter as it counts: transport at its default when
 * absent; a parameter without a value ("lr") is "". */
static const char *param_value(const osip_uri_t *u, const char *name, bool *present)
{
	const osip_uri_param_t *p = param_of(&u->url_params, name);

	*present = p != NULL;
	if (p)
		return p->gvalue ? p->gvalue : "";
	if (strcasecmp(name, "transport") == 0) {
		*present = true;
		return is_sips(u) ? "tcp" : "udp";
	}
	return NULL;
}

/* RFC 3261 19.1.4: these must match when either URI has them. */
static const char *const strict_params[] = { "user", "ttl", "method", "maddr", "transport" };

static bool is_strict(const char *name)
{
	for (size_t i = 0; i < sizeof(strict_params) / sizeof(strict_params[0]); i++)
		if (same_text(name, strict_params[i], true))
			return true;
	return false;
}

static bool same_params(const osip_uri_t *a, const osip_uri_t *b)
{
	for (size_t i = 0; i < sizeof(strict_params) / sizeof(strict_params[0]); i++) {
		bool in_a, in_b;
		const char *va = param_value(a, strict_params[i], &in_a);
		const char *vb = param_value(b, strict_params[i], &in_b);
		if (in_a != in_b || (in_a && !same_text(va, vb, true)))
			return false;
	}
	/* others: only where both have them */
	osip_uri_param_t *p;
	for (int i = 0; (p = osip_list_get(&a->url_params, i)) != NULL; i++) {
		if (!p->gname || is_strict(p->gname))
			continue;
		const osip_uri_param_t *q = param_of(&b->url_params, p->gname);
		if (q && !same_text(p->gvalue ? p->gvalue : "", q->gvalue ? q->gvalue : "", true))
			return false;
	}
	return true;
}

/* Every header of a is in b with the same value. */
static bool headers_within(const osip_uri_t *a, const osip_uri_t *b)
{
	osip_uri_header_t *h;

	for (int i = 0; (h = osip_list_get(&a->url_headers, i)) != NULL; i++) {
		osip_uri_header_t *k;
		bool found = false;
		for (int j = 0; !found && (k = osip_list_get(&b->url_headers, j)) != NULL; j++)
			found = h->gname && k->gname && same_text(h->gname, k->gname, true) &&
				same_text(h->gvalue, k->gvalue, false);
		if (!found)
			return false;
	}
	return true;
}

static bool is_sip_scheme(const osip_uri_t *u)
{
	return strcasecmp(u->scheme, "sip") == 0 || strcasecmp(u->scheme, "sips") == 0;
}

bool sip_uri_same(const osip_uri_t *a, const osip_uri_t *b)
{
	if (!a || !b || !a->scheme || !b->scheme || strcasecmp(a->scheme, b->scheme) != 0)
		return false;
	if (!is_sip_scheme(a))
		return a->string && b->string && strcmp(a->string, b->string) == 0;
	if (!a->host || !b->host)
		return false;
	return same_text(a->username, b->username, false) &&
	       same_text(a->password, b->password, false) &&
	       same_text(a->host, b->host, true) && same_port(a, b) && same_params(a, b) &&
	       headers_within(a, b) && headers_within(b, a);
}

bool sip_uri_text_same(const char *a, const osip_uri_t *b)
{
	osip_uri_t *parsed = NULL;
	bool same;

	if (!a || osip_uri_init(&parsed) != 0)
		return false;
	same = osip_uri_parse(parsed, a) == 0 && sip_uri_same(parsed, b);
	osip_uri_free(parsed);
	return same;
}
