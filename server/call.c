/* call.c: the call layer. Admits INVITEs (a trunk by its address, a user by
 * digest), routes them, makes the caller's leg and the callee's legs (a
 * trunk, or every registered contact of a user), picks the branch that
 * answers, bridges the media and writes one record per call. The legs' SIP
 * is call_leg.c's, their media call_media.c's. See docs/calls.md. */
#include "server/call.h"
#include "server/call_int.h"

#include <errno.h>
#include <string.h>

#include "media/sdp.h"
#include "server/cdr.h"
#include "server/message.h"
#include "server/route.h"
#include "server/workers.h"
#include "sip/sip_dialog.h"
#include "sip/sip_uri.h"
#include "util/log.h"

#define JN_LOG_TAG "call"

call *call_ref(call *c)
{
	g_atomic_int_inc(&c->ref);
	return c;
}

void call_unref(call *c)
{
	if (!c || !g_atomic_int_dec_and_test(&c->ref))
		return;
	for (size_t i = 0; i < c->n_legs; i++)
		leg_free(c->legs[i]);
	g_free(c->caller_number);
	g_free(c->dialled);
	g_free(c->route_name);
	g_free(c->target);
	g_free(c->number);
	g_free(c->display);
	g_free(c->reason);
	g_free(c->transfer);
	g_free(c);
}

call_leg *call_other(call *c, call_leg *l)
{
	if (l == c->a)
		return c->b;
	if (l == c->b)
		return c->a;
	return NULL;
}

static char *dialog_key(sip_pl call_id, sip_pl tag)
{
	return g_strdup_printf("%.*s|%.*s", (int)call_id.l, call_id.p, (int)tag.l, tag.p);
}

void call_respond(jn_call_layer *cl, sip_tx *tx, uint16_t code, const char *reason)
{
	int rc = sip_stack_respond(cl->sip, tx, code, reason, NULL);
	if (rc)
		jn_debug(NULL, "cannot answer %u: %s", code, strerror(rc));
}

/* ---- call records ---- */

typedef struct {
	const char *id, *caller, *caller_number, *dialled, *route, *target, *number, *reason;
	int64_t start_us;
	jn_cdr_cause cause;
	int code;
} refusal;

static void write_record(jn_call_layer *cl, const refusal *f, const call *c)
{
	jn_cdr_record r = {
		.call_id = f->id, .caller = f->caller, .caller_number = f->caller_number, .callee = f->dialled,
		.route = f->route, .target = f->target, .number = f->number, .start_us = f->start_us,
		.end_us = g_get_real_time(), .cause = f->cause, .sip_code = f->code, .reason = f->reason,
	};
	if (c) {
		r.answer_us = c->answer_us;
		const call_leg *legs[2] = { c->a, c->b };
		for (int i = 0; i < 2; i++) {
			const call_leg *l = legs[i];
			if (!l || !l->have_stats)
				continue;
			r.legs[i] = l->st;
			r.legs[i].codec = c->have_mst && *c->mcodec[i] ? c->mcodec[i] :
					  *l->st_codec ? l->st_codec : l->have_desc ? l->codec : NULL;
		}
		if (c->have_mst)
			r.media = c->mst.relay ? JN_CDR_MEDIA_RELAY : JN_CDR_MEDIA_TRANSCODE;
		else if (c->echo && c->answer_us)
			r.media = JN_CDR_MEDIA_RELAY;
		r.transfer = c->transfer;
	}
	jn_cdr_write(cl->cdr, &r);
}

static void call_record(jn_call_layer *cl, call *c)
{
	char caller[80];
	g_snprintf(caller, sizeof caller, "%s:%s", c->party == JN_ROUTE_TRUNK ? "trunk" : "user", c->caller);
	refusal f = { .id = c->id, .caller = caller, .caller_number = c->caller_number, .dialled = c->dialled,
		      .route = c->route_name, .target = c->target, .number = c->number, .reason = c->reason,
		      .start_us = c->start_us, .cause = c->cause, .code = c->sip_code };
	write_record(cl, &f, c);
}

/* ---- a user's calls share a worker ----
 * An attended transfer joins two calls of one user: their media must be
 * on one worker for the legs to meet in one bridge without moving sockets
 * between threads. */

typedef struct {
	jn_worker *wk;
	guint n;
} call_pin;

static jn_worker *pinned_worker(jn_call_layer *cl, const char *a, const char *b)
{
	call_pin *p = a ? g_hash_table_lookup(cl->pins, a) : NULL;
	if (!p && b)
		p = g_hash_table_lookup(cl->pins, b);
	return p ? p->wk : NULL;
}

static void pin(jn_call_layer *cl, const char *user, jn_worker *wk)
{
	call_pin *p = g_hash_table_lookup(cl->pins, user);
	if (!p) {
		p = g_new0(call_pin, 1);
		p->wk = wk;
		g_hash_table_insert(cl->pins, g_strdup(user), p);
	}
	p->n++;
}

static void unpin(jn_call_layer *cl, const char *user)
{
	call_pin *p = g_hash_table_lookup(cl->pins, user);
	if (p && !--p->n)
		g_hash_table_remove(cl->pins, user);
}

/* ---- events from the worker ---- */

typedef struct {
	call *c;
	call_leg *l;
	int kind;
	char *text;
} event;

static gboolean on_core_event(gpointer data);

void call_post_event(call *c, call_leg *l, int kind, const char *text)
{
	if (c->shutdown)
		return;
	event *ev = g_new0(event, 1);
	ev->c = call_ref(c);
	ev->l = l;
	ev->kind = kind;
	ev->text = g_strdup(text);
	jn_core_post(on_core_event, ev);
}

static void check_drained(jn_call_layer *cl);
static void start_callee(call *c);

void call_end(call *c, call_leg *by, jn_cdr_cause cause, int code, const char *reason)
{
	jn_call_layer *cl = c->cl;
	if (c->state == CS_ENDED || !cl)
		return;
	c->state = CS_ENDED;
	g_hash_table_remove(cl->all, c);
	c->cause = cause;
	c->sip_code = code;
	c->reason = g_strdup(reason);
	if (c->ring_timer) {
		g_source_remove(c->ring_timer);
		c->ring_timer = 0;
	}
	if (c->gone_timer) {
		g_source_remove(c->gone_timer);
		c->gone_timer = 0;
	}
	uint16_t a_code = code >= 300 && code < 700 ? (uint16_t)code : 500;
	for (size_t i = 0; i < c->n_legs; i++)
		leg_hangup(c->legs[i], c->legs[i] != by, a_code, NULL);
	if (c->limit_caller)
		jn_route_limits_release(cl->limits, c->party, c->caller);
	if (c->limit_callee)
		jn_route_limits_release(cl->limits, JN_ROUTE_USER, c->callee_user);
	c->limit_caller = c->limit_callee = false;
	if (c->pin_caller)
		unpin(cl, c->caller);
	if (c->pin_callee)
		unpin(cl, c->callee_user);
	c->pin_caller = c->pin_callee = false;
	jn_info(c->id, "call ended: %s%s%s", jn_cdr_cause_str(cause), reason ? ": " : "", reason ? reason : "");
	media_stop_call(c);
	call_unref(c); /* the reference the call held on itself while live */
}

/* The caller's answer: a browser's comes from its peer connection; a SIP
 * phone's is made here, preferring the callee's codec (relay). */
static const char *a_answer(call *c)
{
	call_leg *a = c->a;
	if (a->local_sdp || a->media == LM_WEBRTC)
		return a->local_sdp;
	if (c->b && c->b->have_desc)
		leg_prefer(a, c->b->codec);
	char *err = NULL;
	a->local_sdp = leg_rtp_sdp(a, a->offer, SDP_DIR_SENDRECV, NULL, &err);
	if (!a->local_sdp) {
		jn_warn(c->id, "cannot answer the caller: %s", err);
		g_free(err);
		return NULL;
	}
	media_desc_from_sdp(a, a->local_sdp, a->offer_text);
	media_set_remote(a, a->offer_text);
	return a->local_sdp;
}

/* Applies a callee's SDP answer (from a 18x or the 2xx) once. */
bool call_apply_answer(call *c, call_leg *l, const sip_msg *m)
{
	if (l->answered_sdp)
		return true;
	if (!m->body.l)
		return false;
	char *theirs = g_strndup(m->body.p, m->body.l);
	bool ok = media_desc_from_sdp(l, l->local_sdp, theirs);
	if (ok) {
		l->answered_sdp = true;
		media_set_remote(l, theirs);
	}
	g_free(theirs);
	if (!ok)
		jn_warn(c->id, "leg %s: unusable SDP answer", l->name);
	return ok;
}

void call_branch_progress(call *c, call_leg *l, int status, const sip_msg *m)
{
	if (c->state != CS_SETUP || l->xfer)
		return;
	/* Early media: the first branch with an SDP is bridged to the caller. */
	if (m->body.l && (!c->b || c->b == l) && call_apply_answer(c, l, m)) {
		c->b = l;
		const char *sdp = a_answer(c);
		if (sdp && c->a->have_desc) {
			media_bridge_legs(c, c->a, l);
			leg_progress(c->a, 183, sdp);
			return;
		}
	}
	if (c->a->media == LM_RTP || status == 180)
		leg_progress(c->a, (uint16_t)(status == 183 ? 180 : status), NULL);
}

void call_branch_answered(call *c, call_leg *l, const sip_msg *m)
{
	jn_call_layer *cl = c->cl;
	if (l->xfer) {
		call_xfer_answered(c, l, m);
		return;
	}
	if (c->state != CS_SETUP) {
		leg_hangup(l, true, 0, NULL); /* another branch won: BYE */
		media_stop_leg(l);
		return;
	}
	if (!call_apply_answer(c, l, m)) {
		leg_hangup(l, true, 0, NULL);
		media_stop_leg(l);
		call_branch_failed(c, l, 488, "callee answer not usable");
		return;
	}
	for (size_t i = 0; i < c->n_legs; i++) {
		call_leg *x = c->legs[i];
		if (x != c->a && x != l && x->state != LS_DONE) {
			leg_hangup(x, true, 0, NULL);
			media_stop_leg(x);
		}
	}
	bool rebridge = c->b != l;
	c->b = l;
	const char *sdp = a_answer(c);
	if (!sdp || !c->a->have_desc) {
		call_end(c, NULL, JN_CDR_FAILED, 488, "cannot answer the caller");
		return;
	}
	if (rebridge)
		media_bridge_legs(c, c->a, l);
	if (c->ring_timer) {
		g_source_remove(c->ring_timer);
		c->ring_timer = 0;
	}
	jn_info(c->id, "leg %s answered (%s)", l->name, l->codec);
	if (leg_answer(c->a, sdp)) {
		c->state = CS_UP;
		c->answer_us = g_get_real_time();
	}
	(void)cl;
}

int call_better_status(int best, int status)
{
	if (!best || best >= 600)
		return best ? best : status;
	if (status >= 600 || status == 486 || (status < best && best != 486))
		return status;
	return best;
}

void call_branch_failed(call *c, call_leg *l, int status, const char *why)
{
	bool was_b = c->b == l;
	leg_hangup(l, false, 0, NULL);
	media_stop_leg(l);
	jn_info(c->id, "leg %s failed: %d %s", l->name, status, why);
	if (c->state == CS_ENDED)
		return;
	if (l->xfer) {
		call_xfer_failed(c, l, status);
		return;
	}
	if (c->state == CS_UP) {
		if (was_b)
			call_end(c, l, JN_CDR_FAILED, status, why);
		return;
	}
	if (was_b)
		c->b = NULL;
	/* a 6xx ends the fork at once */
	c->best_code = call_better_status(c->best_code, status);
	bool pending = false;
	for (size_t i = 0; i < c->n_legs; i++)
		if (c->legs[i] != c->a && !c->legs[i]->xfer && c->legs[i]->state != LS_DONE)
			pending = true;
	if (pending && status < 600)
		return;
	int code = c->best_code;
	/* 401/407 from a trunk are ours to answer, not the caller's. */
	if (code == 401 || code == 407)
		code = 403;
	if (code < 300 || code > 699)
		code = 502;
	call_end(c, NULL, code == 486 || code == 600 ? JN_CDR_BUSY :
			  code == 408 || code == 480 ? JN_CDR_NO_ANSWER : JN_CDR_REJECTED, code, why);
}

static gboolean ring_timeout(gpointer data)
{
	call *c = data;
	c->ring_timer = 0;
	if (c->state == CS_SETUP && c->cl)
		call_end(c, NULL, JN_CDR_NO_ANSWER, 480, "no answer");
	return G_SOURCE_REMOVE;
}

static gboolean gone_timeout(gpointer data)
{
	call *c = data;
	c->gone_timer = 0;
	if (c->cl && c->state != CS_ENDED)
		call_end(c, NULL, JN_CDR_BROWSER_GONE, 0, "peer closed DTLS");
	return G_SOURCE_REMOVE;
}

static void leg_event(call *c, call_leg *l, int kind, const char *text)
{
	jn_call_layer *cl = c->cl;
	switch (kind) {
	case EV_ANSWER: /* a browser leg answered an offer */
		if (l->upd_tx) {
			leg_update_answered(l, text);
		} else if (l == c->a && c->state == CS_SETUP && !l->local_sdp) {
			l->local_sdp = g_strdup(text);
			media_desc_from_sdp(l, text, l->offer_text);
			if (c->echo) {
				if (leg_answer(l, text)) {
					c->state = CS_UP;
					c->answer_us = g_get_real_time();
				}
			} else {
				/* The browser checks ICE only once it has our answer:
				 * give it in a 183 so its leg is up while the callee
				 * rings (its ICE would give up otherwise). */
				leg_progress(l, 183, text);
				start_callee(c);
			}
		}
		break;
	case EV_OFFER: /* a browser callee's offer is gathered */
		if (l->state == LS_NEW) {
			l->local_sdp = g_strdup(text);
			leg_send_invite(l);
		}
		break;
	case EV_RTP_READY: {
		char *end = NULL;
		l->rtp_port = (uint16_t)g_ascii_strtoull(text, &end, 10);
		const char *inl = strstr(end, "inline:");
		if (inl) {
			inl += strlen("inline:");
			size_t kl = strcspn(inl, "| ");
			g_snprintf(l->sdes_key, sizeof l->sdes_key, "%.*s", (int)kl, inl);
		}
		if (l == c->a) {
			if (c->echo) {
				const char *sdp = a_answer(c);
				if (!sdp) {
					call_end(c, NULL, JN_CDR_REJECTED, 488, "no common codec");
				} else if (leg_answer(l, sdp)) {
					c->state = CS_UP;
					c->answer_us = g_get_real_time();
				}
			} else {
				start_callee(c);
			}
		} else if (l->state == LS_NEW) {
			char *err = NULL;
			l->local_sdp = leg_rtp_sdp(l, NULL, SDP_DIR_SENDRECV, NULL, &err);
			if (!l->local_sdp) {
				call_branch_failed(c, l, 500, err);
				g_free(err);
			} else {
				leg_send_invite(l);
			}
		}
		break;
	}
	case EV_FAILED:
		if (l->upd_tx) {
			call_respond(cl, l->upd_tx, 488, NULL);
			l->upd_tx = NULL;
		} else if (l == c->a && c->state == CS_SETUP) {
			char reason[160];
			g_snprintf(reason, sizeof reason, "Not Acceptable Here (%s)", text);
			for (char *p = reason; *p; p++)
				if (*p == '\r' || *p == '\n')
					*p = ' ';
			if (l->inv_tx)
				call_respond(cl, l->inv_tx, 488, reason);
			l->inv_tx = NULL;
			/* a JSON-channel page hears of it through its leg's hangup */
			call_end(c, l->ext ? NULL : l, JN_CDR_REJECTED, 488, text);
		} else if (l != c->a && l->state != LS_DONE) {
			call_branch_failed(c, l, 500, text);
		} else if (l == c->a) {
			call_end(c, NULL, JN_CDR_FAILED, 500, text);
		}
		break;
	case EV_CLOSED: /* media ended under us (consent lost, DTLS closed) */
		if (l == c->a && c->state == CS_SETUP && l->inv_tx) {
			call_respond(cl, l->inv_tx, 500, "Media failed");
			l->inv_tx = NULL;
			call_end(c, l, JN_CDR_BROWSER_GONE, 0, text);
		} else if (l == c->a || l == c->b) {
			if (l == c->b && c->state == CS_SETUP) {
				call_branch_failed(c, l, 500, text);
			} else if (text && strstr(text, "peer closed DTLS") && !c->gone_timer && !l->ext) {
				/* A browser hanging up closes DTLS and sends BYE at about
				 * the same time: give the BYE a moment to say "normal". */
				c->gone_timer = g_timeout_add_full(G_PRIORITY_DEFAULT, 2000, gone_timeout, call_ref(c),
								   (GDestroyNotify)call_unref);
			} else {
				call_end(c, NULL, JN_CDR_BROWSER_GONE, 0, text);
			}
		} else if (l->state != LS_DONE) {
			call_branch_failed(c, l, 500, text);
		}
		break;
	case EV_REOFFER:
		l->reoffer_wait = false;
		if (text && l->state == LS_UP)
			leg_send_reinvite(l, g_strdup(text), l->pending_dir);
		break;
	case EV_CANDIDATE:
		if (l->ext && l->ext_ops.candidate)
			l->ext_ops.candidate(l->ext_ops.user, c->id, text);
		break;
	case EV_DIGIT:
		if (l->state == LS_UP && text && *text)
			leg_send_info_digit(l, text[0], (unsigned)g_ascii_strtoull(text + 1, NULL, 10));
		break;
	}
}

static gboolean on_core_event(gpointer data)
{
	event *ev = data;
	/* A leg may have moved to another call since (attended transfer): its
	 * current call is the one to tell. ev->c keeps the leg alive (it moves
	 * only into a call on the same worker, whose end is posted later). */
	call *c = ev->l ? ev->l->c : ev->c;
	jn_call_layer *cl = c->cl;
	if (cl && ev->kind == EV_FINISHED) {
		call_record(cl, c);
		cl->live--;
		check_drained(cl);
	} else if (cl && c->state != CS_ENDED && ev->l) {
		leg_event(c, ev->l, ev->kind, ev->text);
	}
	g_free(ev->text);
	call_unref(ev->c);
	g_free(ev);
	return G_SOURCE_REMOVE;
}

static gboolean drained_cb(gpointer data)
{
	jn_call_layer *cl = data;
	cl->drained_idle = 0;
	void (*fn)(void *) = cl->drained;
	cl->drained = NULL;
	if (fn)
		fn(cl->drained_user);
	return G_SOURCE_REMOVE;
}

static void check_drained(jn_call_layer *cl)
{
	if (cl->draining && cl->live == 0 && cl->drained && !cl->drained_idle)
		cl->drained_idle = g_idle_add(drained_cb, cl);
}

/* ---- placing the callee's legs ---- */

size_t call_place(call *c, jn_route_target kind, const char *name, const char *number, const call_leg *peer,
		  bool xfer, int *code, const char **why)
{
	jn_call_layer *cl = c->cl;
	size_t placed = 0;
	if (kind == JN_ROUTE_TO_TRUNK) {
		char lname[4];
		g_snprintf(lname, sizeof lname, "%c%zu", xfer ? 'x' : 'b', c->n_legs);
		call_leg *l = leg_new(c, LEG_UAC, LM_RTP, lname);
		if (!l) {
			*code = 503;
			*why = "too many legs";
			return 0;
		}
		l->xfer = xfer;
		if (!leg_setup_trunk(l, name, number, peer)) {
			l->state = LS_DONE;
			*code = 503;
			*why = "trunk call limit";
			return 0;
		}
		leg_start_media(l);
		return 1;
	}
	if (kind != JN_ROUTE_TO_USER) {
		*code = 480;
		*why = "target not supported here";
		return 0;
	}
	const sip_reg_binding *bs[CALL_MAX_BRANCHES];
	size_t n = sip_reg_lookup(sip_stack_registrar(cl->sip), name,
				  (uint64_t)(g_get_monotonic_time() / G_USEC_PER_SEC), bs, G_N_ELEMENTS(bs));
	if (n > G_N_ELEMENTS(bs))
		n = G_N_ELEMENTS(bs);
	/* Copied first: a send may close a flow and change the store. */
	struct {
		char *uri;
		sip_tp_kind kind;
		jn_addr to;
		sip_flow *flow;
	} d[CALL_MAX_BRANCHES];
	size_t nd = 0;
	for (size_t i = 0; i < n; i++) {
		if (!jn_binding_dest(bs[i], &d[nd].kind, &d[nd].to))
			continue;
		d[nd].uri = g_strdup(bs[i]->uri);
		d[nd].flow = bs[i]->flow ? sip_flow_ref(bs[i]->flow) : NULL;
		nd++;
	}
	for (size_t i = 0; i < nd; i++) {
		char lname[4];
		g_snprintf(lname, sizeof lname, "%c%zu", xfer ? 'x' : 'b', c->n_legs);
		bool ws = d[i].kind == SIP_TP_WS || d[i].kind == SIP_TP_WSS;
		call_leg *l = leg_new(c, LEG_UAC, ws ? LM_WEBRTC : LM_RTP, lname);
		if (l) {
			l->xfer = xfer;
			leg_setup_contact(l, name, d[i].uri, d[i].kind, d[i].flow, &d[i].to, peer);
			leg_start_media(l);
			placed++;
		}
		g_free(d[i].uri);
		if (d[i].flow)
			sip_flow_unref(d[i].flow);
	}
	if (!placed) {
		*code = 480;
		*why = "user not registered";
	}
	return placed;
}

static void start_callee(call *c)
{
	jn_call_layer *cl = c->cl;
	if (c->n_legs > 1 || c->state != CS_SETUP)
		return;
	int code = 0;
	const char *why = NULL;
	const char *name = c->tkind == JN_ROUTE_TO_TRUNK ? c->target + strlen("trunk:") : c->callee_user;
	if (!call_place(c, c->tkind, name, c->number, c->a, false, &code, &why)) {
		call_end(c, NULL, code == 480 ? JN_CDR_NO_ANSWER : JN_CDR_REJECTED, code, why);
		return;
	}
	if (cl->ring_ms)
		c->ring_timer = g_timeout_add_full(G_PRIORITY_DEFAULT, cl->ring_ms, ring_timeout, call_ref(c),
						   (GDestroyNotify)call_unref);
}

/* ---- INVITE ---- */

/* A request from a trunk is recognised by its source: the trunk's address
 * and port when the config sets a port, else its address alone. Never for
 * WebSocket flows (browsers). */
static const char *match_trunk(jn_call_layer *cl, const sip_peer *from)
{
	if (from->tp->kind == SIP_TP_WS || from->tp->kind == SIP_TP_WSS)
		return NULL;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < cl->n_trunks; i++) {
			const call_trunk_def *t = &cl->trunks[i];
			if (!t->have_addr || (pass == 0) != t->port_set)
				continue;
			jn_addr a = t->addr;
			if (!t->port_set)
				jn_addr_set_port(&a, jn_addr_port(&from->remote));
			if (jn_addr_equal(&a, &from->remote))
				return t->name;
		}
	return NULL;
}

/* WebRTC (a fingerprint or a DTLS profile on the audio line) or plain RTP. */
static bool is_webrtc(const sdp_session *s)
{
	for (size_t i = 0; i < s->n_media; i++) {
		const sdp_media *m = &s->media[i];
		if (m->type != SDP_MEDIA_AUDIO || !m->port)
			continue;
		return m->fingerprint.present || m->proto == SDP_PROTO_UDP_TLS_RTP_SAVPF;
	}
	return true;
}

static bool offer_has_crypto(const sdp_session *s)
{
	for (size_t i = 0; i < s->n_media; i++)
		if (s->media[i].type == SDP_MEDIA_AUDIO && s->media[i].n_cryptos)
			return true;
	return false;
}

/* A plain RTP offer we could answer (a codec in common, a transport we
 * speak): checked before anything is allocated. */
static bool rtp_acceptable(jn_call_layer *cl, const sdp_session *offer, char *reason, size_t size)
{
	/* a placeholder key: only whether an answer exists matters here */
	sdp_sdes_key key = { "AES_CM_128_HMAC_SHA1_80", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw" };
	sdp_local loc = { .codecs = cl->codecs, .n_codecs = cl->n_codecs, .telephone_event = true, .te_pt = 101,
			  .transport = SDP_TRANSPORT_SDES, .sdes_optional = true, .sdes = &key, .n_sdes = 1,
			  .addr = cl->rtp_addr, .port = 9, .origin_user = "junction", .sess_id = 1,
			  .sess_version = 1 };
	sdp_error se = { 0 };
	g_string_truncate(cl->scratch, 0);
	if (!sdp_answer(offer, &loc, cl->scratch, NULL, &se))
		return true;
	g_snprintf(reason, size, "Not Acceptable Here (%s)", se.reason[0] ? se.reason : "no common codec");
	return false;
}

static void refuse(jn_call_layer *cl, sip_tx *tx, const refusal *f, uint16_t code, const char *phrase)
{
	call_respond(cl, tx, code, phrase);
	jn_info(f->id, "refused %u %s", code, phrase ? phrase : sip_reason_phrase(code));
	write_record(cl, f, NULL);
}

/* A new call with its caller leg `a` (no signalling filled in yet). The
 * caller's limit slot (and the callee user's, when callee_held) are held
 * already and go back when the call ends. */
call *call_new_from(jn_call_layer *cl, const char *id, jn_route_party party, const char *who,
		    const char *caller_number, const char *dialled, const jn_route_result *rr, bool callee_held,
		    leg_media am, int64_t start_us)
{
	char tgt[JN_ROUTE_NAME_MAX + 16], caller[80];
	if (rr->kind == JN_ROUTE_TO_ECHO)
		g_strlcpy(tgt, "echo", sizeof tgt);
	else
		g_snprintf(tgt, sizeof tgt, "%s:%s", jn_route_target_str(rr->kind), rr->name);
	g_snprintf(caller, sizeof caller, "%s:%s", party == JN_ROUTE_TRUNK ? "trunk" : "user", who);
	call *c = g_new0(call, 1);
	c->ref = 1;
	c->cl = cl;
	g_strlcpy(c->id, id, sizeof c->id);
	c->party = party;
	g_strlcpy(c->caller, who, sizeof c->caller);
	c->caller_number = g_strdup(caller_number);
	c->dialled = g_strdup(dialled);
	c->route_name = g_strdup(rr->route);
	c->target = g_strdup(tgt);
	c->number = g_strdup(rr->number);
	c->tkind = rr->kind;
	c->echo = rr->kind == JN_ROUTE_TO_ECHO;
	c->start_us = start_us;
	c->limit_caller = true;
	c->limit_callee = callee_held;
	if (callee_held)
		g_strlcpy(c->callee_user, rr->name, sizeof c->callee_user);
	call_leg *a = leg_new(c, LEG_UAS, am, "a");
	c->a = a;
	a->peer = g_strdup(caller);
	a->party = party;
	g_strlcpy(a->who, who, sizeof a->who);
	a->state = LS_CALLING;
	a->dtmf_info = am == LM_WEBRTC; /* browsers report keys only from INFO (JsSIP newDTMF) */
	if (party == JN_ROUTE_TRUNK) {
		char sec[80];
		g_snprintf(sec, sizeof sec, "trunk:%s", who);
		g_strlcpy(a->trunk, who, sizeof a->trunk);
		a->dtmf_info = !g_ascii_strcasecmp(jn_config_str(cl->cfg, sec, "dtmf"), "info");
		a->st_cfg.session_expires = (uint32_t)jn_config_int(cl->cfg, sec, "session_timer");
	}
	if (party == JN_ROUTE_USER) {
		/* the name the callee sees, unless the caller's From gives one */
		char sec[80];
		g_snprintf(sec, sizeof sec, "user:%s", who);
		const char *dn = jn_config_str(cl->cfg, sec, "display_name");
		if (*dn)
			c->display = g_strdup(dn);
	}
	a->n_codecs = cl->n_codecs;
	memcpy(a->codecs, cl->codecs, cl->n_codecs * sizeof a->codecs[0]);
	cl->live++;
	g_hash_table_add(cl->all, c);
	c->wk = pinned_worker(cl, party == JN_ROUTE_USER ? who : NULL, callee_held ? rr->name : NULL);
	if (!c->wk)
		c->wk = jn_workers_pick(cl->workers);
	if (party == JN_ROUTE_USER) {
		pin(cl, who, c->wk);
		c->pin_caller = true;
	}
	if (callee_held) {
		pin(cl, rr->name, c->wk);
		c->pin_callee = true;
	}
	jn_worker_add_load(c->wk, 1);
	jn_info(c->id, "call from %s to %s (route %s -> %s, %s) on worker %u", caller, dialled, rr->route, tgt,
		am == LM_WEBRTC ? "webrtc" : "rtp", jn_worker_index(c->wk));
	return c;
}

void call_start(call *c)
{
	leg_start_media(c->a);
}

static void on_invite(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req, const sip_peer *from)
{
	jn_call_layer *cl = user;
	(void)s;
	if (cl->draining) {
		call_respond(cl, tx, 503, "Draining");
		return;
	}
	if (sip_pl_isset(req->replaces)) {
		/* RFC 3891 from outside (a party REFERred to us): not served yet.
		 * Our own attended transfers come as REFER (call_xfer.c). */
		call_respond(cl, tx, 501, "Not Implemented (INVITE with Replaces)");
		return;
	}
	char who[JN_ROUTE_NAME_MAX + 1];
	jn_route_party party = JN_ROUTE_USER;
	const char *trunk = match_trunk(cl, from);
	if (trunk) {
		party = JN_ROUTE_TRUNK;
		g_strlcpy(who, trunk, sizeof who);
	} else if (sip_stack_authenticate(cl->sip, tx, req, who, sizeof who)) {
		return;
	}
	char id[24], caller[80];
	g_snprintf(id, sizeof id, "c%08x%04x", g_random_int(), g_random_int() & 0xffff);
	g_snprintf(caller, sizeof caller, "%s:%s", party == JN_ROUTE_TRUNK ? "trunk" : "user", who);
	char dialled[JN_ROUTE_DIALLED_MAX + 1] = "";
	size_t dl = 0;
	if (!req->ruri_parsed || sip_uri_unescape(req->ruri.user, dialled, sizeof dialled, &dl))
		dl = 0;
	dialled[dl] = 0;
	char *caller_number = sip_pl_strdup(req->from.uri.user);
	refusal f = { .id = id, .caller = caller, .caller_number = caller_number, .dialled = dialled,
		      .start_us = g_get_real_time(), .cause = JN_CDR_REJECTED };
	jn_route_result rr;
	int rc = jn_route_lookup(cl->routes, party, who, dialled, (gssize)dl, &rr);
	if (rc) {
		f.code = jn_route_sip_status(rc);
		refuse(cl, tx, &f, (uint16_t)f.code, rc == JN_ROUTE_EFORBIDDEN ? "Forbidden" : "Not Found");
		g_free(caller_number);
		return;
	}
	char tgt[JN_ROUTE_NAME_MAX + 16];
	if (rr.kind == JN_ROUTE_TO_ECHO)
		g_strlcpy(tgt, "echo", sizeof tgt);
	else
		g_snprintf(tgt, sizeof tgt, "%s:%s", jn_route_target_str(rr.kind), rr.name);
	f.route = rr.route;
	f.target = tgt;
	f.number = rr.number;
	sdp_session *offer = NULL;
	sdp_error serr;
	char reason[160] = "";
	if (rr.kind == JN_ROUTE_TO_CONFERENCE) {
		f.code = 480;
		refuse(cl, tx, &f, 480, "Target not supported yet");
		g_free(caller_number);
		return;
	}
	if (!req->body.l) {
		f.code = 488;
		refuse(cl, tx, &f, 488, "Not Acceptable Here (an INVITE without an SDP offer)");
		g_free(caller_number);
		return;
	}
	if (sdp_parse(req->body.p, req->body.l, &offer, &serr)) {
		g_snprintf(reason, sizeof reason, "Not Acceptable Here (bad SDP: %s)", serr.reason);
		f.code = 488;
		refuse(cl, tx, &f, 488, reason);
		g_free(caller_number);
		return;
	}
	bool webrtc = is_webrtc(offer);
	if (!webrtc && !rtp_acceptable(cl, offer, reason, sizeof reason)) {
		f.code = 488;
		refuse(cl, tx, &f, 488, reason);
		sdp_unref(offer);
		g_free(caller_number);
		return;
	}
	/* Before anything is allocated: the callee must be reachable. */
	if (rr.kind == JN_ROUTE_TO_USER &&
	    !sip_reg_lookup(sip_stack_registrar(cl->sip), rr.name,
			    (uint64_t)(g_get_monotonic_time() / G_USEC_PER_SEC), NULL, 0)) {
		f.code = 480;
		f.cause = JN_CDR_NO_ANSWER;
		refuse(cl, tx, &f, 480, "Temporarily Unavailable (not registered)");
		sdp_unref(offer);
		g_free(caller_number);
		return;
	}
	rc = jn_route_limits_acquire(cl->limits, party, who);
	if (rc) {
		f.code = rc == EBUSY ? 486 : 403;
		f.cause = rc == EBUSY ? JN_CDR_BUSY : JN_CDR_REJECTED;
		refuse(cl, tx, &f, (uint16_t)f.code, rc == EBUSY ? "Busy Here (call limit)" : "Forbidden");
		sdp_unref(offer);
		g_free(caller_number);
		return;
	}
	bool callee_held = false;
	if (rr.kind == JN_ROUTE_TO_USER) {
		rc = jn_route_limits_acquire(cl->limits, JN_ROUTE_USER, rr.name);
		if (rc) {
			jn_route_limits_release(cl->limits, party, who);
			f.code = 486;
			f.cause = JN_CDR_BUSY;
			refuse(cl, tx, &f, 486, "Busy Here");
			sdp_unref(offer);
			g_free(caller_number);
			return;
		}
		callee_held = true;
	}
	char *key = dialog_key(req->call_id, req->from.tag);
	if (g_hash_table_contains(cl->calls, key)) {
		/* A second INVITE with the same Call-ID and From tag (a new
		 * branch): the first one already owns the dialog. */
		jn_route_limits_release(cl->limits, party, who);
		if (callee_held)
			jn_route_limits_release(cl->limits, JN_ROUTE_USER, rr.name);
		f.code = 482;
		refuse(cl, tx, &f, 482, "Loop Detected");
		g_free(key);
		sdp_unref(offer);
		g_free(caller_number);
		return;
	}
	call *c = call_new_from(cl, id, party, who, caller_number, dialled, &rr, callee_held,
				webrtc ? LM_WEBRTC : LM_RTP, f.start_us);
	g_free(caller_number);
	if (req->from.display.l) {
		g_free(c->display);
		c->display = sip_pl_strdup(req->from.display);
	}
	call_leg *a = c->a;
	a->inv_tx = tx;
	a->inv = sip_msg_ref((sip_msg *)req);
	a->offer_text = g_strndup(req->body.p, req->body.l);
	a->kind = from->tp->kind;
	a->flow = from->flow ? sip_flow_ref(from->flow) : NULL;
	a->remote = from->remote;
	a->local = from->local;
	a->offer = offer;
	if (!webrtc && offer_has_crypto(offer))
		a->srtp = CALL_SRTP_OPTIONAL;
	a->key = key;
	g_hash_table_insert(cl->calls, a->key, a);
	if (leg_timer_on_request(a, req)) {
		/* An interval below our Min-SE (422) or a bad Session-Expires. */
		leg_respond_timer_error(a, tx, req);
		a->inv_tx = NULL;
		call_end(c, a, JN_CDR_REJECTED, 422, "session interval too small");
		return;
	}
	call_start(c);
}

static void on_dialog_request(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req, const sip_peer *from)
{
	jn_call_layer *cl = user;
	(void)s;
	(void)from;
	char *k = dialog_key(req->call_id, req->from.tag);
	call_leg *l = g_hash_table_lookup(cl->calls, k);
	g_free(k);
	if (!l || l->state == LS_DONE || (l->role == LEG_UAS && l->state < LS_ANSWERED) ||
	    (l->role == LEG_UAC && l->dlg && !sip_dialog_matches(l->dlg, req))) {
		if (tx)
			call_respond(cl, tx, 481, NULL);
		return;
	}
	/* A UAS dialog's local tag is the one the stack put in our 2xx. */
	if (!l->dlg && l->role == LEG_UAS && sip_pl_isset(req->to.tag)) {
		char *tag = sip_pl_strdup(req->to.tag);
		l->dlg = sip_dialog_new_uas(l->inv, tag);
		g_free(tag);
	}
	leg_request(l, tx, req);
}

static void on_cancel(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req, const sip_peer *from)
{
	jn_call_layer *cl = user;
	(void)s;
	(void)from;
	char *k = dialog_key(req->call_id, req->from.tag);
	call_leg *l = g_hash_table_lookup(cl->calls, k);
	g_free(k);
	call_respond(cl, tx, 487, NULL);
	if (l && l == l->c->a && l->c->state == CS_SETUP) {
		l->inv_tx = NULL;
		call_end(l->c, l, JN_CDR_CANCELLED, 487, "caller cancelled");
	}
}

/* A connection closed (a browser tab gone, a phone's TCP dropped): every
 * call with a leg over it ends now rather than at the ICE consent timeout. */
static void on_flow_closed(void *user, sip_flow *flow)
{
	jn_call_layer *cl = user;
	GPtrArray *hit = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, cl->all);
	while (g_hash_table_iter_next(&it, &v, NULL)) {
		call *c = v;
		for (size_t i = 0; i < c->n_legs; i++)
			if (c->legs[i]->flow == flow && c->legs[i]->state != LS_DONE) {
				g_ptr_array_add(hit, c->legs[i]);
				break;
			}
	}
	for (guint i = 0; i < hit->len; i++) {
		call_leg *l = hit->pdata[i];
		call *c = l->c;
		jn_info(c->id, "leg %s: its connection closed", l->name);
		if (c->state == CS_ENDED)
			continue;
		if (l != c->a && c->state == CS_SETUP)
			call_branch_failed(c, l, 503, "connection closed");
		else
			call_end(c, l, JN_CDR_BROWSER_GONE, 0, "connection closed");
	}
	g_ptr_array_free(hit, TRUE);
}

/* ---- life ---- */

static void load_trunks(jn_call_layer *cl)
{
	char **names = jn_config_instances(cl->cfg, "trunk");
	size_t n = names ? g_strv_length(names) : 0;
	cl->trunks = g_new0(call_trunk_def, n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		char sec[80];
		g_snprintf(sec, sizeof sec, "trunk:%s", names[i]);
		call_trunk_def *t = &cl->trunks[cl->n_trunks++];
		t->name = g_strdup(names[i]);
		unsigned port = (unsigned)jn_config_int(cl->cfg, sec, "port");
		t->port_set = port != 0;
		t->have_addr = jn_addr_parse(jn_config_str(cl->cfg, sec, "host"), (uint16_t)(port ? port : 5060),
					     &t->addr) == 0;
	}
	g_strfreev(names);
}

jn_call_layer *jn_call_new(const jn_call_opts *o, char **err)
{
	const jn_config *cfg = o->cfg;
	GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
	jn_route_table *rt = jn_route_table_new(cfg, errors);
	if (!rt) {
		*err = g_strdup_printf("dial plan: %s", errors->len ? (char *)errors->pdata[0] : "invalid");
		g_ptr_array_free(errors, TRUE);
		return NULL;
	}
	g_ptr_array_free(errors, TRUE);
	jn_cdr *cdr = NULL;
	const char *cdr_file = jn_config_str(cfg, "general", "cdr_file");
	int rc = jn_cdr_open(cdr_file, &cdr);
	if (rc) {
		*err = g_strdup_printf("[general] cdr_file %s: %s", cdr_file, g_strerror(rc));
		jn_route_table_free(rt);
		return NULL;
	}
	jn_call_layer *cl = g_new0(jn_call_layer, 1);
	cl->sip = o->sip;
	cl->workers = o->workers;
	cl->routes = rt;
	cl->limits = jn_route_limits_new(cfg);
	cl->cdr = cdr;
	cl->cert = rtc_dtls_cert_ref(o->cert);
	cl->ack_wait_ms = 64 * (guint)jn_config_int(cfg, "sip", "t1");
	cl->ring_ms = 1000 * (guint)jn_config_int(cfg, "sip", "ring_timeout");
	cl->addrs = jn_config_list(cfg, "webrtc", "local_addresses");
	cl->stun = g_strdup(jn_config_str(cfg, "webrtc", "stun_server"));
	cl->turn = g_strdup(jn_config_str(cfg, "webrtc", "turn_server"));
	cl->turn_user = g_strdup(jn_config_str(cfg, "webrtc", "turn_username"));
	cl->turn_pass = g_strdup(jn_config_str(cfg, "webrtc", "turn_password"));
	cl->port_min = (unsigned)jn_config_int(cfg, "webrtc", "port_min");
	cl->port_max = (unsigned)jn_config_int(cfg, "webrtc", "port_max");
	cl->consent_timeout = (unsigned)jn_config_int(cfg, "webrtc", "consent_timeout");
	cl->cfg = cfg;
	cl->domain = g_strdup(jn_config_str(cfg, "sip", "domain"));
	cl->rtp_addr = g_strdup(jn_config_str(cfg, "media", "rtp_address"));
	cl->rtp_port_min = (unsigned)jn_config_int(cfg, "media", "rtp_port_min");
	cl->rtp_port_max = (unsigned)jn_config_int(cfg, "media", "rtp_port_max");
	char **codecs = jn_config_list(cfg, "media", "codecs");
	cl->n_codecs = call_codecs_from_list(codecs, cl->codecs, CALL_MAX_CODECS);
	g_strfreev(codecs);
	load_trunks(cl);
	cl->calls = g_hash_table_new(g_str_hash, g_str_equal);
	cl->all = g_hash_table_new(NULL, NULL);
	cl->pins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	cl->scratch = g_string_new(NULL);
	sip_stack_on_invite(cl->sip, on_invite, cl);
	sip_stack_on_dialog_request(cl->sip, on_dialog_request, cl);
	sip_stack_on_cancel(cl->sip, on_cancel, cl);
	sip_stack_on_flow_closed(cl->sip, on_flow_closed, cl);
	jn_info(NULL, "call layer: %u routes, %zu trunks, records to %s", jn_route_table_size(rt), cl->n_trunks,
		*cdr_file ? cdr_file : "(off)");
	return cl;
}

void jn_call_shutdown(jn_call_layer *cl)
{
	if (!cl || !cl->sip)
		return;
	GPtrArray *calls = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, cl->all);
	while (g_hash_table_iter_next(&it, &v, NULL))
		g_ptr_array_add(calls, call_ref(v));
	for (guint i = 0; i < calls->len; i++) {
		call *c = calls->pdata[i];
		if (c->state != CS_ENDED) {
			c->shutdown = true; /* before the worker sees the stop */
			call_end(c, NULL, JN_CDR_SHUTDOWN, 503, "daemon stopping");
			/* Written now: the worker's EV_FINISHED will not run any more. */
			call_record(cl, c);
		}
		c->cl = NULL;
		call_unref(c);
	}
	g_ptr_array_free(calls, TRUE);
	sip_stack_on_invite(cl->sip, NULL, NULL);
	sip_stack_on_dialog_request(cl->sip, NULL, NULL);
	sip_stack_on_cancel(cl->sip, NULL, NULL);
	sip_stack_on_flow_closed(cl->sip, NULL, NULL);
	cl->sip = NULL;
	jn_cdr_flush(cl->cdr);
}

void jn_call_free(jn_call_layer *cl)
{
	if (!cl)
		return;
	if (cl->drained_idle)
		g_source_remove(cl->drained_idle);
	g_hash_table_unref(cl->calls);
	g_hash_table_unref(cl->all);
	g_hash_table_unref(cl->pins);
	jn_route_table_free(cl->routes);
	jn_route_limits_free(cl->limits);
	jn_cdr_close(cl->cdr);
	rtc_dtls_cert_unref(cl->cert);
	g_strfreev(cl->addrs);
	g_free(cl->stun);
	g_free(cl->turn);
	g_free(cl->turn_user);
	g_free(cl->turn_pass);
	g_free(cl->domain);
	g_free(cl->rtp_addr);
	for (size_t i = 0; i < cl->n_trunks; i++)
		g_free(cl->trunks[i].name);
	g_free(cl->trunks);
	g_string_free(cl->scratch, TRUE);
	g_free(cl);
}

void jn_call_drain(jn_call_layer *cl, void (*done)(void *user), void *user)
{
	cl->draining = true;
	cl->drained = done;
	cl->drained_user = user;
	jn_info(NULL, "draining: %u calls left", cl->live);
	check_drained(cl);
}

guint jn_call_count(const jn_call_layer *cl)
{
	return cl ? cl->live : 0;
}
