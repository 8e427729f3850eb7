/* call_timer.c: session timers (RFC 4028) on a call's legs.
 *
 * Toward a trunk with `session_timer = N` our INVITE asks for an interval
 * of N seconds (Supported: timer, Session-Expires, Min-SE); a 422 raises it
 * to the trunk's Min-SE and the INVITE goes again. The 2xx says who
 * refreshes: when it is us, a re-INVITE with our current SDP goes every
 * interval/2; when it is the peer, a call that sees no refresh for
 * interval - min(32, interval/3) s is ended with BYE both ways (CDR
 * "session timer expired"). A caller (trunk or phone) that asks for a
 * timer in its INVITE is answered the RFC 4028 way (422 below our Min-SE,
 * Session-Expires in the 200) and the same two timers run. */
#include <string.h>

#include "server/call_int.h"
#include "util/log.h"

#define JN_LOG_TAG "call"

void leg_timer_stop(call_leg *l)
{
	if (l->st_source) {
		g_source_remove(l->st_source);
		l->st_source = 0;
	}
}

static gboolean st_fire(gpointer data)
{
	call_leg *l = data;
	call *c = l->c;
	l->st_source = 0;
	if (!c->cl || c->state == CS_ENDED || l->state == LS_DONE)
		return G_SOURCE_REMOVE;
	if (l->st_we_refresh) {
		if (l->tx || l->upd_tx || l->reoffer_wait || !l->local_sdp) {
			/* an exchange is under way: it refreshes the session too */
			return G_SOURCE_REMOVE;
		}
		jn_info(c->id, "leg %s: session refresh", l->name);
		leg_send_reinvite(l, g_strdup(l->local_sdp), l->local_dir);
	} else {
		jn_warn(c->id, "leg %s: no session refresh in %u s", l->name, l->st_interval);
		call_end(c, NULL, JN_CDR_FAILED, 408, "session timer expired");
	}
	return G_SOURCE_REMOVE;
}

static void st_unref(gpointer data)
{
	call_unref(((call_leg *)data)->c);
}

static void st_schedule(call_leg *l, uint32_t interval, bool we_refresh)
{
	leg_timer_stop(l);
	l->st_interval = interval;
	l->st_we_refresh = we_refresh;
	if (!interval)
		return;
	uint64_t ms = we_refresh ? sip_timer_refresh_ms(interval) : sip_timer_expire_ms(interval);
	call_ref(l->c);
	l->st_source = g_timeout_add_full(G_PRIORITY_DEFAULT, (guint)ms, st_fire, l, st_unref);
}

void leg_timer_request_headers(call_leg *l, GString *extra)
{
	if (l->st_interval && l->st_we_refresh) {
		/* our refresh of a running session: the same interval, us refreshing */
		g_string_append_printf(extra, "Supported: timer\r\nSession-Expires: %u;refresher=uac\r\n",
				       l->st_interval);
		return;
	}
	if (!l->st_cfg.session_expires)
		return;
	sip_buf b;
	sip_buf_init(&b, 256);
	sip_timer_uac_put_headers(&b, &l->st_cfg);
	g_string_append(extra, "Supported: timer\r\n");
	g_string_append_len(extra, b.p, (gssize)b.len);
	sip_buf_free(&b);
}

void leg_timer_after_2xx(call_leg *l, const sip_msg *resp)
{
	sip_timer_session s;
	if (sip_timer_uac_result(resp, &s) || !s.active) {
		if (!l->st_interval || l->st_we_refresh)
			leg_timer_stop(l);
		return;
	}
	bool we = sip_timer_we_refresh(s.refresher, true);
	if (l->st_interval != s.interval || l->st_we_refresh != we || we || !l->st_source)
		jn_info(l->c->id, "leg %s: session timer %u s, refresher %s", l->name, s.interval, we ? "junction" : "peer");
	st_schedule(l, s.interval, we);
}

bool leg_timer_after_422(call_leg *l, const sip_msg *resp)
{
	if (!l->st_cfg.session_expires || l->st_422 >= 2 || sip_timer_uac_after_422(resp, &l->st_cfg))
		return false;
	l->st_422++;
	return true;
}

int leg_timer_on_request(call_leg *l, const sip_msg *req)
{
	sip_timer_cfg cfg = l->st_cfg;
	sip_timer_uas a;
	g_free(l->st_resp);
	l->st_resp = NULL;
	if (sip_timer_uas_decide(req, &cfg, &a))
		return 0;
	sip_buf b;
	sip_buf_init(&b, 256);
	sip_timer_uas_put_headers(&b, &a);
	l->st_resp = b.len ? g_strndup(b.p, b.len) : NULL;
	sip_buf_free(&b);
	if (a.status)
		return a.status;
	if (a.active)
		st_schedule(l, a.interval, sip_timer_we_refresh(a.refresher, false));
	else if (l->st_interval && !l->st_we_refresh)
		st_schedule(l, l->st_interval, false); /* any re-INVITE refreshes */
	return 0;
}

void leg_timer_restart(call_leg *l)
{
	if (l->st_interval)
		st_schedule(l, l->st_interval, l->st_we_refresh);
}
