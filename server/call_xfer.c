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
 * Attended transfer (Refer-To with Replaces) is answered 501 for now: the
 * two calls' media live on different workers. See docs/calls.md. */
#include <string.h>

#include "server/call_int.h"
#include "sip/sip_stack.h"
#include "sip/sip_uri.h"
#include "sip/sip_xfer.h"
#include "util/log.h"

#define JN_LOG_TAG "call"

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
		call_respond(cl, tx, 501, "Not Implemented (attended transfer)");
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
	if (!c->xfer_best || (status >= 600) || (status == 486 && c->xfer_best < 600) ||
	    (status < c->xfer_best && c->xfer_best != 486 && c->xfer_best < 600))
		c->xfer_best = status;
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
