/*
 * conf_diff: what a reload changed, in the words of the file, for the one log
 * line an admin reads after `systemctl reload sipnatd`.
 */
#include "conf.h"

#include <stdio.h>
#include <string.h>

struct out {
	char *buf;
	size_t len, used;
};

static void add(struct out *o, const char *what)
{
	if (o->used >= o->len)
		return;
	int n = snprintf(o->buf + o->used, o->len - o->used, "%s%s", o->used ? ", " : "", what);
	if (n > 0 && o->used + (size_t)n < o->len)
		o->used += (size_t)n;
	else
		o->buf[o->used] = '\0'; /* what does not fit is left out whole */
}

static bool str_differs(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool digestalgs_same(const struct conf_digestalgs *a, const struct conf_digestalgs *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (a->alg[i] != b->alg[i])
			return false;
	return true;
}

static bool peer_differs(const struct conf_peer *a, const struct conf_peer *b)
{
	return str_differs(a->secret, b->secret) || str_differs(a->host, b->host) ||
	       a->port != b->port || a->nat != b->nat || a->qualify != b->qualify ||
	       a->qualifyfreq_s != b->qualifyfreq_s || a->directmedia != b->directmedia ||
	       a->calllimit != b->calllimit || a->maxrelays != b->maxrelays ||
	       !digestalgs_same(&a->digestalgs, &b->digestalgs);
}

#define CHANGED(field, name)                                                                       \
	do {                                                                                       \
		if (old->field != new->field)                                                      \
			add(&o, name);                                                             \
	} while (0)

size_t conf_diff(const struct conf *old, const struct conf *new, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };
	char item[96];

	if (len)
		buf[0] = '\0';
	if (old->bindaddr.s_addr != new->bindaddr.s_addr || old->has_bindaddr6 != new->has_bindaddr6 ||
	    !netaddr_same(&old->bindaddr6, &new->bindaddr6))
		add(&o, "general.bindaddr");
	CHANGED(bindport, "general.bindport");
	if (str_differs(old->externhost, new->externhost))
		add(&o, "general.externhost");
	CHANGED(externrefresh_s, "general.externrefresh");
	if (old->has_externip != new->has_externip || old->externip.s_addr != new->externip.s_addr ||
	    old->externip_auto != new->externip_auto || old->has_externip6 != new->has_externip6 ||
	    !netaddr_same(&old->externip6, &new->externip6))
		add(&o, "general.externip");
	CHANGED(portmap, "general.portmap");
	CHANGED(portmaplease_s, "general.portmaplease");
	if (old->localnet_count != new->localnet_count ||
	    memcmp(old->localnet, new->localnet, old->localnet_count * sizeof(*old->localnet)) != 0)
		add(&o, "general.localnet");
	if (!netaddr_same(&old->pbxaddr, &new->pbxaddr))
		add(&o, "general.pbx");
	if (old->has_localaddr != new->has_localaddr || old->localaddr.s_addr != new->localaddr.s_addr ||
	    old->has_localaddr6 != new->has_localaddr6 || !netaddr_same(&old->localaddr6, &new->localaddr6))
		add(&o, "general.localaddr");
	if (str_differs(old->realm, new->realm))
		add(&o, "general.realm");
	CHANGED(allowguest, "general.allowguest");
	CHANGED(alwaysauthreject, "general.alwaysauthreject");
	if (!digestalgs_same(&old->digestalgs, &new->digestalgs))
		add(&o, "general.digestalgs");
	CHANGED(banafter, "general.banafter");
	CHANGED(bantime_s, "general.bantime");
	CHANGED(banprefix6, "general.banprefix6");
	CHANGED(maxexpiry_s, "general.maxexpiry");
	CHANGED(minexpiry_s, "general.minexpiry");
	CHANGED(defaultexpiry_s, "general.defaultexpiry");
	if (str_differs(old->statefile, new->statefile))
		add(&o, "general.statefile");
	if (str_differs(old->control, new->control))
		add(&o, "general.control");
	if (str_differs(old->resolvconf, new->resolvconf))
		add(&o, "general.resolvconf");
	if (str_differs(old->useragent, new->useragent))
		add(&o, "general.useragent");
	CHANGED(transports, "general.transport");
	if (memcmp(&old->tcpbind, &new->tcpbind, sizeof(old->tcpbind)) != 0 ||
	    !netaddr_same(&old->tcpbind6, &new->tcpbind6))
		add(&o, "general.tcpbindaddr");
	if (memcmp(&old->tlsbind, &new->tlsbind, sizeof(old->tlsbind)) != 0 ||
	    !netaddr_same(&old->tlsbind6, &new->tlsbind6))
		add(&o, "general.tlsbindaddr");
	/* the same names may hold renewed files: a reload always reloads them */
	if (str_differs(old->tlscertfile, new->tlscertfile))
		add(&o, "general.tlscertfile");
	if (str_differs(old->tlsprivatekey, new->tlsprivatekey))
		add(&o, "general.tlsprivatekey");
	if (str_differs(old->tlscafile, new->tlscafile))
		add(&o, "general.tlscafile");
	CHANGED(tcpmaxheadersize, "general.tcpmaxheadersize");
	CHANGED(tcpmaxperaddr, "general.tcpmaxperaddr");
	CHANGED(tcpmaxconnections, "general.tcpmaxconnections");
	CHANGED(tcpidletimeout_s, "general.tcpidletimeout");
	CHANGED(tcpmsgtimeout_s, "general.tcpmsgtimeout");
	CHANGED(rtpstart, "rtp.rtpstart");
	CHANGED(rtpend, "rtp.rtpend");
	CHANGED(rtptimeout_s, "rtp.rtptimeout");
	CHANGED(rtpholdtimeout_s, "rtp.rtpholdtimeout");
	CHANGED(strictrtp, "rtp.strictrtp");
	CHANGED(log_level, "logging.level");
	CHANGED(siptrace, "logging.siptrace");
	for (size_t i = 0; i < new->peer_count; i++) {
		const struct conf_peer *was = conf_peer_find(old, new->peers[i].name);
		if (!was || peer_differs(was, &new->peers[i])) {
			snprintf(item, sizeof(item), "peer %s %s", new->peers[i].name, was ? "changed" : "added");
			add(&o, item);
		}
	}
	for (size_t i = 0; i < old->peer_count; i++) {
		if (!conf_peer_find(new, old->peers[i].name)) {
			snprintf(item, sizeof(item), "peer %s removed", old->peers[i].name);
			add(&o, item);
		}
	}
	return o.used;
}
