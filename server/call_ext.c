/* call_ext.c: calls whose caller is not a SIP dialog: a browser on the
 * JSON channel (server/channel.c). The caller's leg is a browser peer
 * connection like a JsSIP caller's, made from the page's offer (with
 * trickled candidates); what a SIP caller would get as 18x / 200 / BYE /
 * INFO goes to the channel's callbacks instead. Routing, limits, callee
 * legs, bridge and record are the SIP path's. */
#include <string.h>

#include "server/call_int.h"
#include "sip/sip_stack.h"
#include "util/log.h"

#define JN_LOG_TAG "call"

struct jn_call_ext {
	call *c;
	call_leg *l;
};

void ext_progress(call_leg *l, uint16_t code, const char *sdp)
{
	const jn_call_ext_ops *o = &l->ext_ops;
	if (sdp && !l->ext_answered) {
		l->ext_answered = true;
		if (o->answer)
			o->answer(o->user, l->c->id, sdp);
	}
	if (o->progress && (code == 180 || code == 200))
		o->progress(o->user, l->c->id, code == 180 ? "ringing" : "answered");
}

void ext_ended(call_leg *l, int code, const char *reason)
{
	const jn_call_ext_ops *o = &l->ext_ops;
	if (o->ended)
		o->ended(o->user, l->c->id, l->c->answer_us ? 0 : code, reason ? reason : l->c->reason);
}

void ext_direction(call_leg *l, sdp_dir dir)
{
	const jn_call_ext_ops *o = &l->ext_ops;
	if (o->progress)
		o->progress(o->user, l->c->id, dir == SDP_DIR_SENDRECV ? "resumed" : "held");
}

void ext_dtmf(call_leg *l, char digit)
{
	const jn_call_ext_ops *o = &l->ext_ops;
	if (o->dtmf)
		o->dtmf(o->user, l->c->id, digit);
}

static int fail(const char **code, char **msg, int status, const char *c, char *m)
{
	*code = c;
	*msg = m;
	return status;
}

int jn_call_ext_place(jn_call_layer *cl, const char *user, const char *dialled, const char *sdp,
		      const jn_call_ext_ops *ops, jn_call_ext **out, const char **code, char **msg)
{
	*out = NULL;
	if (cl->draining || !cl->sip)
		return fail(code, msg, 503, "unavailable", g_strdup("junction is draining"));
	jn_route_result rr;
	int rc = jn_route_lookup(cl->routes, JN_ROUTE_USER, user, dialled, -1, &rr);
	if (rc)
		return fail(code, msg, jn_route_http_status(rc), jn_route_error_code(rc),
			    g_strdup_printf("no route to \"%.64s\" for user %s", dialled, user));
	if (rr.kind != JN_ROUTE_TO_TRUNK && rr.kind != JN_ROUTE_TO_USER)
		return fail(code, msg, 501, "unsupported_target",
			    g_strdup_printf("\"%.64s\" routes to %s, not served on this channel yet", dialled,
					    jn_route_target_str(rr.kind)));
	sdp_session *offer = NULL;
	sdp_error se;
	if (sdp_parse(sdp, strlen(sdp), &offer, &se))
		return fail(code, msg, 400, "bad_sdp", g_strdup_printf("line %u: %s", se.line, se.reason));
	bool webrtc = false, eoc = false;
	for (size_t i = 0; i < offer->n_media; i++)
		if (offer->media[i].type == SDP_MEDIA_AUDIO && offer->media[i].port) {
			webrtc = offer->media[i].fingerprint.present;
			eoc = offer->media[i].end_of_candidates;
			break;
		}
	if (!webrtc) {
		sdp_unref(offer);
		return fail(code, msg, 400, "bad_sdp", g_strdup("not a WebRTC audio offer (no DTLS fingerprint)"));
	}
	uint64_t now = (uint64_t)(g_get_monotonic_time() / G_USEC_PER_SEC);
	if (rr.kind == JN_ROUTE_TO_USER && !sip_reg_lookup(sip_stack_registrar(cl->sip), rr.name, now, NULL, 0)) {
		sdp_unref(offer);
		return fail(code, msg, 480, "unavailable", g_strdup_printf("%s is not registered", rr.name));
	}
	if (jn_route_limits_acquire(cl->limits, JN_ROUTE_USER, user)) {
		sdp_unref(offer);
		return fail(code, msg, 486, "busy", g_strdup_printf("user %s has no call left (max_calls)", user));
	}
	bool callee_held = false;
	if (rr.kind == JN_ROUTE_TO_USER) {
		if (jn_route_limits_acquire(cl->limits, JN_ROUTE_USER, rr.name)) {
			jn_route_limits_release(cl->limits, JN_ROUTE_USER, user);
			sdp_unref(offer);
			return fail(code, msg, 486, "busy", g_strdup_printf("%s is busy", rr.name));
		}
		callee_held = true;
	}
	char id[24];
	g_snprintf(id, sizeof id, "c%08x%04x", g_random_int(), g_random_int() & 0xffff);
	call *c = call_new_from(cl, id, JN_ROUTE_USER, user, user, dialled, &rr, callee_held, LM_WEBRTC,
				g_get_real_time());
	call_leg *a = c->a;
	a->ext = true;
	a->ext_ops = *ops;
	a->offer = offer;
	a->offer_text = g_strdup(sdp);
	a->trickle = !eoc;
	jn_call_ext *x = g_new0(jn_call_ext, 1);
	x->c = call_ref(c);
	x->l = a;
	*out = x;
	call_start(c);
	return 0;
}

void jn_call_ext_candidate(jn_call_ext *x, const char *cand)
{
	if (x->c->cl && x->c->state != CS_ENDED && x->l->state != LS_DONE)
		media_add_candidate(x->l, cand);
}

void jn_call_ext_dtmf(jn_call_ext *x, char digit)
{
	call *c = x->c;
	call_leg *o = c->state == CS_UP ? call_other(c, x->l) : NULL;
	if (!c->cl || !o)
		return;
	jn_info(c->id, "key %c from the page", digit);
	if (o->dtmf_info)
		leg_send_info_digit(o, digit, 160);
	else
		media_send_digit(c, o, digit, 160);
}

void jn_call_ext_hangup(jn_call_ext *x)
{
	if (!x)
		return;
	call *c = x->c;
	memset(&x->l->ext_ops, 0, sizeof x->l->ext_ops);
	if (c->cl && c->state != CS_ENDED)
		call_end(c, x->l, c->state == CS_SETUP ? JN_CDR_CANCELLED : JN_CDR_NORMAL, c->state == CS_SETUP ? 487 : 0,
			 "caller hung up");
	call_unref(c);
	g_free(x);
}
