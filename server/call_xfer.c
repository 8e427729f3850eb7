/* call_xfer.c: blind transfer (REFER, RFC 3515) from either side of a call.
 *
 * The leg that sends REFER (the transferor, x) asks us to connect the other
 * leg (the transferee, y) to the Refer-To target. We route the target as if
 * x dialled it (same dial plan, same `from` rules: a user can only transfer
 * to what it could call), answer 202, NOTIFY "100 Trying", and place the
 * new legs ourselves (a trunk, or every contact of a user). The first to
 * answer is bridged to y, x gets NOTIFY "200 OK" and our BYE; if none
 * answers, x gets the failure in a NOTIFY and the call goes on as it was.
 * A transferor that hangs up at once (common after a blind transfer) does
 * not stop it; if the transfer then fails, y is hung up.
 *
 * Attended transfer: the Refer-To carries Replaces naming another dialog of
 * the same transferor (its second call, RFC 3891). The far leg of that call
 * (z) moves into this call and is bridged to y; both of the transferor's
 * legs are hung up. A user's calls share a media worker (call.c pins
 * them), so the move is a re-bridge on that worker, not a socket hand-over
 * between threads. See docs/calls.md. */
#include <string.h>

#include "server/call_int.h"
#include "sip/sip_stack.h"
#include "sip/sip_uri.h"
#include "sip/sip_xfer.h"
#include "util/log.h"

#define JN_LOG_TAG "call"

/* Our leg of the dialog a Replaces names: legs are keyed by Call-ID and
 * the remote's tag, which is the transferor's own (from-tag) from where it
 * stands; the to-tag is tried too. */
static call_leg *replaced_leg(jn_call_layer *cl, const sip_replaces *r)
{
	sip_pl tags[2] = { r->from_tag, r->to_tag };
	for (int i = 0; i < 2; i++) {
		char *k = g_strdup_printf("%.*s|%.*s", (int)r->call_id.l, r->call_id.p, (int)tags[i].l, tags[i].p);
		call_leg *l = g_hash_table_lookup(cl->calls, k);
		g_free(k);
		if (l)
			return l;
	}
	return NULL;
}

static void attended(call_leg *x, call_leg *y, sip_tx *tx, const sip_msg *req, const sip_refer_to *rt)
{
	call *c = x->c;
	jn_call_layer *cl = c->cl;
	call_leg *x2 = replaced_leg(cl, &rt->replaces);
	call *c2 = x2 ? x2->c : NULL;
	call_leg *z = c2 ? call_other(c2, x2) : NULL;
	if (!x2 || x2->state == LS_DONE || c2 == c) {
		call_respond(cl, tx, 481, "Call/Transaction Does Not Exist (Replaces names no call of yours)");
		return;
	}
	/* Only the transferor's own calls: the same user (or trunk) on both. */
	if (x2->party != x->party || strcmp(x2->who, x->who)) {
		call_respond(cl, tx, 403, "Forbidden (Replaces names another party's call)");
		return;
	}
	if (c2->state != CS_UP || !z || z->state != LS_UP || c->n_legs >= G_N_ELEMENTS(c->legs)) {
		call_respond(cl, tx, 488, "Not Acceptable Here (the other call is not answered)");
		return;
	}
	if (c2->wk != c->wk) {
		call_respond(cl, tx, 501, "Not Implemented (the two calls run on different media workers)");
		return;
	}
	call_respond(cl, tx, 202, NULL);
	uint32_t cseq = req->cseq.num;
	leg_notify_sipfrag(x, cseq, 100, "Trying", false);
	jn_info(c->id, "attended transfer: leg %s (%s) joins leg %s of call %s", y->name, y->peer, z->name, c2->id);
	/* z moves from c2 to c: its timers hold references on its call. */
	leg_timer_stop(z);
	size_t k = 0;
	for (size_t i = 0; i < c2->n_legs; i++)
		if (c2->legs[i] != z)
			c2->legs[k++] = c2->legs[i];
	c2->n_legs = k;
	if (c2->a == z)
		c2->a = NULL;
	if (c2->b == z)
		c2->b = NULL;
	g_snprintf(z->name, sizeof z->name, "t%zu", c->n_legs);
	z->c = c;
	c->legs[c->n_legs++] = z;
	leg_timer_restart(z);
	/* On the worker, in this order: c2's bridge lets z go, then c's new
	 * bridge takes y and z, then the transferor's media goes. */
	media_unbridge(c2);
	if (x == c->a)
		c->a = y;
	c->b = z;
	media_bridge_legs(c, y, z);
	leg_notify_sipfrag(x, cseq, 200, "OK", true);
	leg_hangup(x, true, 0, NULL);
	media_stop_leg(x);
	g_free(c->transfer);
	c->transfer = g_strdup_printf("attended by %s: joined %s (%s)", x->peer ? x->peer : "?", c2->id,
				      z->peer ? z->peer : "?");
	g_free(c2->transfer);
	c2->transfer = g_strdup_printf("attended by %s: %s went to call %s", x->peer ? x->peer : "?",
				       z->peer ? z->peer : "?", c->id);
	call_end(c2, NULL, JN_CDR_TRANSFERRED, 0, "attended transfer");
	if (y->local_dir != SDP_DIR_SENDRECV)
		leg_reinvite(y, SDP_DIR_SENDRECV);
	if (z->local_dir != SDP_DIR_SENDRECV)
		leg_reinvite(z, SDP_DIR_SENDRECV);
}

void call_xfer_refer(call_leg *x, sip_tx *tx, const sip_msg *req)
{
	call *c = x->c;
	jn_call_layer *cl = c->cl;
	call_leg *y = call_other(c, x);
	if (c->state != CS_UP || !y || y->state != LS_UP) {
		call_respond(cl, tx, 403, "Forbidden (no answered call to transfer)");
		return;
	}
	if (c->xfer_from) {
		call_respond(cl, tx, 491, NULL);
		return;
	}
	char buf[SIP_XFER_MAX];
	sip_refer_to rt;
	if (!sip_pl_isset(req->refer_to) || sip_xfer_parse_refer_to(req->refer_to, &rt, buf, sizeof buf)) {
		call_respond(cl, tx, 400, sip_pl_isset(req->refer_to) ? "Bad Request (bad Refer-To)"
								       : "Bad Request (no Refer-To)");
		return;
	}
	if (rt.has_replaces) {
		attended(x, y, tx, req, &rt);
		return;
	}
	sip_uri u;
	char dialled[JN_ROUTE_DIALLED_MAX + 1];
	size_t dl = 0;
	if (sip_uri_parse(rt.target, &u) || !u.user.l || sip_uri_unescape(u.user, dialled, sizeof dialled - 1, &dl)) {
		call_respond(cl, tx, 400, "Bad Request (Refer-To has no user part)");
		return;
	}
	dialled[dl] = 0;
	jn_route_result rr;
	int rc = jn_route_lookup(cl->routes, x->party, x->who, dialled, (gssize)dl, &rr);
	if (rc) {
		call_respond(cl, tx, (uint16_t)jn_route_sip_status(rc), NULL);
		return;
	}
	if (rr.kind != JN_ROUTE_TO_TRUNK && rr.kind != JN_ROUTE_TO_USER) {
		call_respond(cl, tx, 488, "Not Acceptable Here (not a transfer target)");
		return;
	}
	call_respond(cl, tx, 202, NULL);
	c->xfer_from = x;
	c->xfer_from_gone = false;
	c->xfer_cseq = req->cseq.num;
	c->xfer_best = 0;
	g_strlcpy(c->xfer_number, dialled, sizeof c->xfer_number);
	jn_info(c->id, "leg %s transfers leg %s to %s (%s:%s)", x->name, y->name, dialled,
		jn_route_target_str(rr.kind), rr.name);
	leg_notify_sipfrag(x, c->xfer_cseq, 100, "Trying", false);
	int code = 0;
	const char *why = NULL;
	if (!call_place(c, rr.kind, rr.name, rr.number, y, true, &code, &why)) {
		jn_info(c->id, "transfer failed: %s", why);
		leg_notify_sipfrag(x, c->xfer_cseq, (uint16_t)code, NULL, true);
		c->xfer_from = NULL;
	}
}

void call_xfer_answered(call *c, call_leg *l, const sip_msg *m)
{
	call_leg *x = c->xfer_from;
	call_leg *y = x ? call_other(c, x) : NULL;
	if (c->state != CS_UP || !x || !y || y->state != LS_UP || !call_apply_answer(c, l, m)) {
		leg_hangup(l, true, 0, NULL); /* too late, or unusable: BYE */
		media_stop_leg(l);
		if (x && c->state == CS_UP)
			call_xfer_failed(c, l, 488);
		return;
	}
	for (size_t i = 0; i < c->n_legs; i++) {
		call_leg *o = c->legs[i];
		if (o->xfer && o != l && o->state != LS_DONE) {
			leg_hangup(o, true, 0, NULL);
			media_stop_leg(o);
		}
	}
	/* y stays; l takes x's place. The bridge is made before x's media
	 * goes, so the worker never frees the new one. */
	if (x == c->a)
		c->a = y;
	c->b = l;
	l->xfer = false;
	media_bridge_legs(c, y, l);
	if (!c->xfer_from_gone) {
		leg_notify_sipfrag(x, c->xfer_cseq, 200, "OK", true);
		leg_hangup(x, true, 0, NULL);
		media_stop_leg(x);
	}
	g_free(c->transfer);
	c->transfer = g_strdup_printf("blind by %s to %s (%s)", x->peer ? x->peer : "?", c->xfer_number,
				      l->peer ? l->peer : "?");
	c->xfer_from = NULL;
	jn_info(c->id, "transfer done: leg %s <-> leg %s (%s)", y->name, l->name, l->peer);
	/* The transferor may have held y first: the new party talks. */
	if (y->local_dir != SDP_DIR_SENDRECV)
		leg_reinvite(y, SDP_DIR_SENDRECV);
}

void call_xfer_failed(call *c, call_leg *l, int status)
{
	(void)l;
	if (!c->xfer_from)
		return;
	c->xfer_best = call_better_status(c->xfer_best, status);
	for (size_t i = 0; i < c->n_legs; i++)
		if (c->legs[i]->xfer && c->legs[i]->state != LS_DONE)
			return; /* other branches still ring */
	int code = c->xfer_best >= 300 && c->xfer_best < 700 ? c->xfer_best : 500;
	jn_info(c->id, "transfer failed: %d", code);
	if (c->xfer_from_gone) {
		c->xfer_from = NULL;
		call_end(c, NULL, JN_CDR_FAILED, code, "transfer failed");
		return;
	}
	leg_notify_sipfrag(c->xfer_from, c->xfer_cseq, (uint16_t)code, NULL, true);
	c->xfer_from = NULL;
}

void call_xfer_transferor_gone(call *c)
{
	c->xfer_from_gone = true;
	jn_info(c->id, "the transferor hung up; the transfer goes on");
}
