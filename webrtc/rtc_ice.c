#include "webrtc/rtc_ice.h"

#include <errno.h>
#include <nice/agent.h>
#include <string.h>

#include "util/log.h"

#define JN_LOG_TAG "ice"

struct rtc_ice {
	rtc_ice_opts o;
	char *id;
	NiceAgent *agent;
	guint stream;
	char *ufrag, *pwd;
	rtc_ice_state st;
	gulong sig[3];
	/* Scratch: libnice's buffer is const to us; packets are decrypted in place. */
	uint8_t rx[1500 + 512];
};

const char *rtc_ice_state_name(rtc_ice_state st)
{
	static const char *const names[] = { "new", "checking", "connected", "failed" };
	return st <= RTC_ICE_FAILED ? names[st] : "?";
}

static void set_state(rtc_ice *ice, rtc_ice_state st)
{
	if (ice->st == st)
		return;
	ice->st = st;
	jn_debug(ice->id, "ICE %s", rtc_ice_state_name(st));
	if (ice->o.state)
		ice->o.state(ice->o.user, st);
}

static void on_recv(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf, gpointer data)
{
	rtc_ice *ice = data;
	(void)agent; (void)stream; (void)comp;
	if (len > sizeof ice->rx)
		return;
	memcpy(ice->rx, buf, len);
	ice->o.recv(ice->o.user, ice->rx, len, sizeof ice->rx);
}

static void on_candidate(NiceAgent *agent, NiceCandidate *c, gpointer data)
{
	rtc_ice *ice = data;
	char *s = nice_agent_generate_local_candidate_sdp(agent, c);
	if (!s)
		return;
	const char *v = g_str_has_prefix(s, "a=") ? s + 2 : s;
	jn_debug(ice->id, "local %s", v);
	if (ice->o.candidate)
		ice->o.candidate(ice->o.user, v);
	g_free(s);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	rtc_ice *ice = data;
	(void)agent; (void)stream;
	if (ice->o.candidate)
		ice->o.candidate(ice->o.user, NULL);
}

static void on_state(NiceAgent *agent, guint stream, guint comp, guint state, gpointer data)
{
	rtc_ice *ice = data;
	(void)agent; (void)stream; (void)comp;
	switch (state) {
	case NICE_COMPONENT_STATE_CONNECTING: set_state(ice, RTC_ICE_CHECKING); break;
	case NICE_COMPONENT_STATE_CONNECTED:
	case NICE_COMPONENT_STATE_READY: set_state(ice, RTC_ICE_CONNECTED); break;
	case NICE_COMPONENT_STATE_FAILED: set_state(ice, RTC_ICE_FAILED); break;
	default: break;
	}
}

static int split_host_port(const char *hp, char **host, guint *port)
{
	const char *c = strrchr(hp, ':');
	if (!c || c == hp)
		return EINVAL;
	guint64 p = g_ascii_strtoull(c + 1, NULL, 10);
	if (!p || p > 65535)
		return EINVAL;
	if (hp[0] == '[' && c[-1] == ']')
		*host = g_strndup(hp + 1, (gsize)(c - hp - 2));
	else
		*host = g_strndup(hp, (gsize)(c - hp));
	*port = (guint)p;
	return 0;
}

int rtc_ice_new(const rtc_ice_opts *o, rtc_ice **out)
{
	if (!o->recv || !o->context)
		return EINVAL;
	rtc_ice *ice = g_new0(rtc_ice, 1);
	int rc = EINVAL;
	ice->o = *o;
	ice->id = g_strdup(o->id);
	ice->o.id = ice->id;
	ice->agent = nice_agent_new_full(o->context, NICE_COMPATIBILITY_RFC5245,
					 NICE_AGENT_OPTION_ICE_TRICKLE | NICE_AGENT_OPTION_CONSENT_FRESHNESS);
	if (!ice->agent) {
		rc = EIO;
		goto fail;
	}
	g_object_set(ice->agent, "controlling-mode", (gboolean)o->controlling, "upnp", FALSE,
		     /* UDP only: browsers reach a media server over UDP, and TCP
		      * candidates would only lengthen the answer. */
		     "ice-tcp", FALSE, NULL);
	for (const char *const *a = o->local_addresses; a && *a; a++) {
		NiceAddress na;
		nice_address_init(&na);
		if (!nice_address_set_from_string(&na, *a)) {
			jn_warn(ice->id, "local address \"%s\" is not an IP literal", *a);
			goto fail;
		}
		nice_agent_add_local_address(ice->agent, &na);
	}
	if (o->stun_server && *o->stun_server) {
		char *h = NULL;
		guint p = 0;
		if (split_host_port(o->stun_server, &h, &p))
			goto fail;
		g_object_set(ice->agent, "stun-server", h, "stun-server-port", p, NULL);
		g_free(h);
	}
	ice->stream = nice_agent_add_stream(ice->agent, 1);
	if (!ice->stream) {
		rc = EIO;
		goto fail;
	}
	if (o->port_min && o->port_max >= o->port_min)
		nice_agent_set_port_range(ice->agent, ice->stream, 1, o->port_min, o->port_max);
	if (o->turn_server && *o->turn_server) {
		char *h = NULL;
		guint p = 0;
		if (split_host_port(o->turn_server, &h, &p))
			goto fail;
		nice_agent_set_relay_info(ice->agent, ice->stream, 1, h, p, o->turn_username ? o->turn_username : "",
					  o->turn_password ? o->turn_password : "", NICE_RELAY_TYPE_TURN_UDP);
		g_free(h);
	}
	nice_agent_get_local_credentials(ice->agent, ice->stream, &ice->ufrag, &ice->pwd);
	ice->sig[0] = g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(on_candidate), ice);
	ice->sig[1] = g_signal_connect(ice->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), ice);
	ice->sig[2] = g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(on_state), ice);
	nice_agent_attach_recv(ice->agent, ice->stream, 1, o->context, on_recv, ice);
	*out = ice;
	return 0;
fail:
	rtc_ice_free(ice);
	return rc;
}

void rtc_ice_free(rtc_ice *ice)
{
	if (!ice)
		return;
	if (ice->agent) {
		for (size_t i = 0; i < G_N_ELEMENTS(ice->sig); i++)
			if (ice->sig[i])
				g_signal_handler_disconnect(ice->agent, ice->sig[i]);
		if (ice->stream) {
			nice_agent_attach_recv(ice->agent, ice->stream, 1, ice->o.context, NULL, NULL);
			nice_agent_remove_stream(ice->agent, ice->stream);
		}
		g_object_unref(ice->agent);
	}
	g_free(ice->ufrag);
	g_free(ice->pwd);
	g_free(ice->id);
	g_free(ice);
}

int rtc_ice_gather(rtc_ice *ice)
{
	return nice_agent_gather_candidates(ice->agent, ice->stream) ? 0 : EIO;
}

const char *rtc_ice_local_ufrag(const rtc_ice *ice)
{
	return ice->ufrag;
}

const char *rtc_ice_local_pwd(const rtc_ice *ice)
{
	return ice->pwd;
}

int rtc_ice_set_remote_credentials(rtc_ice *ice, const char *ufrag, const char *pwd)
{
	return nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd) ? 0 : EINVAL;
}

int rtc_ice_add_remote_candidate(rtc_ice *ice, const char *cand)
{
	char *line = g_str_has_prefix(cand, "a=") ? g_strdup(cand) : g_strconcat("a=", cand, NULL);
	g_strchomp(line);
	NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(ice->agent, ice->stream, line);
	int rc = EINVAL;
	if (c && c->transport == NICE_CANDIDATE_TRANSPORT_UDP) {
		GSList l = { .data = c, .next = NULL };
		rc = nice_agent_set_remote_candidates(ice->agent, ice->stream, 1, &l) >= 0 ? 0 : EINVAL;
	}
	jn_debug(ice->id, "remote %s: %s", line, rc ? "ignored" : "added");
	if (c)
		nice_candidate_free(c);
	g_free(line);
	return rc;
}

void rtc_ice_remote_gathering_done(rtc_ice *ice)
{
	nice_agent_peer_candidate_gathering_done(ice->agent, ice->stream);
}

int rtc_ice_send(rtc_ice *ice, const uint8_t *buf, size_t len)
{
	/* No state check: as the DTLS server we answer a ClientHello that
	 * arrives on a pair the peer nominated before our state says so. */
	return nice_agent_send(ice->agent, ice->stream, 1, (guint)len, (const gchar *)buf) == (gint)len ? 0 : EIO;
}

int rtc_ice_restart(rtc_ice *ice)
{
	if (!nice_agent_restart_stream(ice->agent, ice->stream))
		return EIO;
	g_free(ice->ufrag);
	g_free(ice->pwd);
	ice->ufrag = ice->pwd = NULL;
	nice_agent_get_local_credentials(ice->agent, ice->stream, &ice->ufrag, &ice->pwd);
	jn_info(ice->id, "ICE restart");
	return 0;
}

rtc_ice_state rtc_ice_get_state(const rtc_ice *ice)
{
	return ice->st;
}

void rtc_ice_selected_pair(rtc_ice *ice, char *buf, size_t cap)
{
	NiceCandidate *l = NULL, *r = NULL;
	buf[0] = '\0';
	if (!nice_agent_get_selected_pair(ice->agent, ice->stream, 1, &l, &r))
		return;
	static const char *const types[] = { "host", "srflx", "prflx", "relay" };
	char la[NICE_ADDRESS_STRING_LEN], ra[NICE_ADDRESS_STRING_LEN];
	nice_address_to_string(&l->addr, la);
	nice_address_to_string(&r->addr, ra);
	g_snprintf(buf, cap, "%s:%u <-> %s:%u (%s/%s)", la, nice_address_get_port(&l->addr), ra,
		   nice_address_get_port(&r->addr), types[l->type & 3], types[r->type & 3]);
}
