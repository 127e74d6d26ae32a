/*
 * sip_authenticate: admission of Internet requests. Everything that reaches
 * the PBX from the Internet has passed here; nothing else decides it.
 */
#include "sip_authenticate.h"

#include "auth.h"
#include "bans.h"
#include "dialogs.h"
#include "log.h"
#include "netaddr.h"
#include "sip_register.h"
#include "sip_reply.h"
#include "sipmsg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct log_limit auth_log_limit = LOG_LIMIT_INIT(60, 20);

static const char *tag_of(const osip_from_t *h)
{
	osip_generic_param_t *tag = NULL;

	if (!h || osip_from_get_tag((osip_from_t *)h, &tag) != 0 || !tag)
		return NULL;
	return tag->gvalue;
}

static const char *user_of(const osip_from_t *h)
{
	return h && h->url && h->url->username ? h->url->username : "";
}

/* In-dialog (To tag), CANCEL and ACK belong to something sipnatd let through
 * before, or to nothing at all. */
static enum admission in_dialog(const struct sip_env *env, osip_message_t *req, osip_message_t **answer,
				time_t now)
{
	const char *from_tag = tag_of(req->from);
	char call_id[SIPMSG_CALLID_MAX];

	if (from_tag && dialogs_known(env->dialogs, sipmsg_call_id_full(req, call_id), from_tag, now, NULL))
		return ADMIT;
	if (MSG_IS_ACK(req))
		return DROPPED; /* the ACK of sipnatd's own 401/407/403: absorbed */
	*answer = sip_reply_build(req, 481, NULL);
	return *answer ? ANSWERED : DROPPED;
}

enum admission sip_authenticate(const struct sip_env *env, struct sip_auth_counters *counters,
				osip_message_t *req, const struct netaddr *src,
				const void *datagram, size_t len, const struct conf_peer **peer,
				osip_message_t **answer)
{
	const struct conf *conf = env->conf;
	time_t now = env->now();
	char addr[NETADDR_TEXT_MAX];
	struct auth_result res;
	unsigned prefix6 = (unsigned)conf->banprefix6;

	*peer = NULL;
	*answer = NULL;
	if (tag_of(req->to) || MSG_IS_ACK(req) || MSG_IS_CANCEL(req))
		return in_dialog(env, req, answer, now);

	/* One fixed answer whatever the Request-URI says: no extension shows
	 * (R31). Only the budget keeps it from being a free amplifier. */
	if (MSG_IS_OPTIONS(req)) {
		if (!bans_challenge_allowed(env->bans, src, prefix6, now))
			return DROPPED;
		*answer = sip_reply_build(req, 200, NULL);
		if (*answer) {
			sip_reply_add_header(*answer, "Allow", SIP_ALLOW_METHODS);
			sip_reply_add_header(*answer, "Accept", "application/sdp");
		}
		return *answer ? ANSWERED : DROPPED;
	}
	if (conf->allowguest && !MSG_IS_REGISTER(req))
		return ADMIT;

	auth_check(env->auth, conf, req, src, datagram, len, now, &res);
	if (res.verdict != AUTH_OK) {
		if (res.failed) {
			counters->failures++;
			log_limited(&auth_log_limit, LOG_NOTICE,
				    "authentication failed: %s for \"%s\" from %s", sipmsg_method(req),
				    user_of(req->from), netaddr_print(src, addr));
			if (bans_failure(env->bans, src, prefix6, now, conf->banafter, conf->bantime_s)) {
				counters->bans++;
				log_warn("banned %s for %d s after %d authentication failures",
					 netaddr_print(src, addr), conf->bantime_s, conf->banafter);
			}
		}
		if (!bans_challenge_allowed(env->bans, src, prefix6, now))
			return DROPPED;
		*answer = auth_answer(conf, req, res.verdict, src, now);
		return *answer ? ANSWERED : DROPPED;
	}

	if (MSG_IS_REGISTER(req)) {
		bool changed = false;
		/* a binding over TCP/TLS belongs to that connection (RFC 5626 ideas):
		 * requests for the phone may only go back over it */
		enum sip_transport transport = env->transport_to
			? env->transport_to(env->transport_arg, src) : SIP_TRANSPORT_UDP;
		*answer = sip_register_handle(env->registrar, conf, req, res.peer, src, transport, now,
					      &changed);
		if (changed && env->registrations_changed)
			env->registrations_changed(env->changed_arg);
		return *answer ? ANSWERED : DROPPED;
	}
	*peer = res.peer;
	return ADMIT;
}

void sip_authenticate_note_dialog(const struct sip_env *env, const osip_message_t *msg,
				  bool to_internet, const struct conf_peer *peer)
{
	time_t now = env->now();
	char call_id_buf[SIPMSG_CALLID_MAX];
	const char *call_id = sipmsg_call_id_full(msg, call_id_buf);
	const char *method = sipmsg_method(msg);
	const char *name = peer ? peer->name : NULL;

	if (MSG_IS_REQUEST(msg)) {
		/* The Internet party's tag: the sender's (From) on the way in, the
		 * receiver's (To) on the way out. */
		const char *party = to_internet ? tag_of(msg->to) : tag_of(msg->from);
		if (MSG_IS_BYE(msg) && party)
			dialogs_note(env->dialogs, call_id, party, NULL, DIALOG_ENDED, now);
		else if (!to_internet && !tag_of(msg->to) && !MSG_IS_ACK(msg) && !MSG_IS_CANCEL(msg) && party)
			/* an admitted out-of-dialog request: its CANCEL, ACK and
			 * early-dialog requests may follow */
			dialogs_note(env->dialogs, call_id, party, name, DIALOG_EARLY, now);
		return;
	}
	/* A response from the Internet party carries its tag in To; one going to
	 * it carries its tag in From. */
	const char *party = to_internet ? tag_of(msg->from) : tag_of(msg->to);
	int code = msg->status_code;
	if (!party || code < 101 || code >= 300)
		return;
	bool sets_up = strcmp(method, "INVITE") == 0 || strcmp(method, "SUBSCRIBE") == 0 ||
		       strcmp(method, "REFER") == 0 || strcmp(method, "NOTIFY") == 0;
	if (sets_up)
		dialogs_note(env->dialogs, call_id, party, name, code >= 200 ? DIALOG_CONFIRMED : DIALOG_EARLY,
			     now);
}
