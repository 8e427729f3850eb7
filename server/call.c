#include "server/call.h"
#include "server/call_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "media/sdp.h"
#include "server/cdr.h"
#include "server/route.h"
#include "sip/sip_dialog.h"
#include "sip/sip_uri.h"
#include "util/log.h"
#include "webrtc/rtc_pc.h"

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
	call_trunk_free(c->t);
	sdp_unref(c->offer);
	sip_msg_unref(c->inv);
	if (c->flow)
		sip_flow_unref(c->flow);
	sip_dialog_free(c->dlg);
	g_free(c->key);
	g_free(c->caller_number);
	g_free(c->dialled);
	g_free(c->route_name);
	g_free(c->number);
	g_free(c->reason);
	g_free(c);
}

static char *dialog_key(sip_pl call_id, sip_pl from_tag)
{
	return g_strdup_printf("%.*s|%.*s", (int)call_id.l, call_id.p, (int)from_tag.l, from_tag.p);
}

/* ---- call records ---- */

static void write_cdr(jn_call_layer *cl, const char *id, int64_t answer_us, const char *user, const char *caller_number,
		      const char *dialled, const char *route, const char *target, const char *number, int64_t start_us,
		      jn_cdr_cause cause, int code, const char *reason, const rtc_pc_stats *st,
		      const call *c)
{
	char caller[80];
	if (user && *user)
		g_snprintf(caller, sizeof caller, "user:%s", user);
	else
		g_strlcpy(caller, "anonymous", sizeof caller);
	jn_cdr_record r = {
		.call_id = id, .caller = caller, .caller_number = caller_number,
		.callee = dialled, .route = route, .target = target, .number = number,
		.start_us = start_us, .answer_us = answer_us, .end_us = g_get_real_time(),
		.cause = cause, .sip_code = code, .reason = reason,
	};
	if (st) {
		r.media = JN_CDR_MEDIA_RELAY;
		r.legs[0] = (jn_cdr_leg){ .kind = "webrtc", .codec = st->codec, .packets_sent = st->rtp_out,
					  .packets_received = st->rtp_in, .bytes_sent = st->bytes_out,
					  .bytes_received = st->bytes_in };
	}
	if (c && c->t)
		call_trunk_cdr(c, &r);
	jn_cdr_write(cl->cdr, &r);
}

/* ---- worker side ---- */

typedef struct {
	call *c;
	int kind; /* EV_* */
	char *text;
} event;

static gboolean on_core_event(gpointer data);

void call_post_event(call *c, int kind, const char *text)
{
	if (c->shutdown)
		return;
	event *ev = g_new0(event, 1);
	ev->c = call_ref(c);
	ev->kind = kind;
	ev->text = g_strdup(text);
	jn_core_post(on_core_event, ev);
}

void call_pc_answer(void *user, const char *sdp)
{
	call_post_event(user, EV_ANSWER, sdp);
}

void call_pc_state(void *user, rtc_pc_state st, const char *reason)
{
	call *c = user;
	if (st == RTC_PC_CONNECTED)
		jn_info(c->id, "browser media connected");
	else if (st == RTC_PC_CLOSED)
		call_post_event(c, EV_CLOSED, reason);
}

typedef struct {
	call *c;
	rtc_pc_opts po;
} start_job;

static gboolean w_start(gpointer data)
{
	start_job *j = data;
	call *c = j->c;
	if (!c->stopped) {
		char *err = NULL;
		if (rtc_pc_new_from_offer(&j->po, c->offer, &c->pc, &err)) {
			call_post_event(c, EV_FAILED, err ? err : "cannot answer the offer");
			g_free(err);
		} else {
			/* The SIP offer carries every candidate (no trickle). */
			rtc_pc_add_remote_candidate(c->pc, NULL);
		}
	}
	call_unref(c);
	g_free(j);
	return G_SOURCE_REMOVE;
}

static gboolean w_stop(gpointer data)
{
	call *c = data;
	c->stopped = true;
	call_trunk_w_stop(c);
	if (c->pc) {
		rtc_pc_get_stats(c->pc, &c->st);
		g_strlcpy(c->codec, c->st.codec ? c->st.codec : "", sizeof c->codec);
		c->st.codec = c->codec[0] ? c->codec : NULL;
		c->st.ice_state = c->st.dtls_state = c->st.srtp_profile = NULL;
		c->have_stats = true;
		rtc_pc_free(c->pc);
		c->pc = NULL;
	}
	jn_worker_add_load(c->wk, -1);
	call_post_event(c, EV_FINISHED, NULL);
	call_unref(c);
	return G_SOURCE_REMOVE;
}

typedef struct {
	call *c;
	sdp_session *offer;
} offer_job;

static gboolean w_update(gpointer data)
{
	offer_job *j = data;
	char *err = NULL;
	if (!j->c->pc || rtc_pc_update(j->c->pc, j->offer, &err))
		call_post_event(j->c, EV_FAILED, err ? err : "no media");
	g_free(err);
	sdp_unref(j->offer);
	call_unref(j->c);
	g_free(j);
	return G_SOURCE_REMOVE;
}

/* ---- core side ---- */

static void check_drained(jn_call_layer *cl);

void call_respond(jn_call_layer *cl, sip_tx *tx, uint16_t code, const char *reason)
{
	int rc = sip_stack_respond(cl->sip, tx, code, reason, NULL);
	if (rc)
		jn_debug(NULL, "cannot answer %u: %s", code, strerror(rc));
}

/* Sends our BYE in the dialog (best effort: no answer is awaited). */
void call_send_bye(jn_call_layer *cl, call *c)
{
	if (!c->dlg)
		return;
	sip_req_opts o = { 0 };
	g_string_truncate(cl->scratch, 0);
	sip_dialog_fill_request(c->dlg, SIP_METHOD_BYE, &o, cl->scratch);
	int rc = sip_stack_send_request(cl->sip, c->kind, c->flow, &c->remote, &o, NULL, NULL, NULL);
	if (rc)
		jn_warn(c->id, "cannot send BYE: %s", strerror(rc));
}

/* Ends a call on the core side: the SIP side is already settled by the
 * caller (BYE answered, 487 or an error sent); the worker frees the media
 * and posts EV_FINISHED, which writes the CDR. */
void call_end(jn_call_layer *cl, call *c, jn_cdr_cause cause, int code, const char *reason)
{
	if (c->state == CS_ENDED)
		return;
	c->state = CS_ENDED;
	c->cause = cause;
	c->sip_code = code;
	c->reason = g_strdup(reason);
	c->inv_tx = NULL;
	c->reinv_tx = NULL;
	if (c->ack_timer) {
		g_source_remove(c->ack_timer);
		c->ack_timer = 0;
	}
	g_hash_table_remove(cl->calls, c->key);
	if (c->t)
		call_trunk_end(cl, c);
	if (c->limit_held)
		jn_route_limits_release(cl->limits, JN_ROUTE_USER, c->user);
	c->limit_held = false;
	jn_info(c->id, "call ended: %s%s%s", jn_cdr_cause_str(cause), reason ? ": " : "", reason ? reason : "");
	jn_worker_post(c->wk, w_stop, c); /* takes the table's reference */
}

/* Our address for the Contact: an IPv4-mapped IPv6 address (a dual-stack
 * WebSocket listener) is written as plain IPv4. */
static const char *contact_addr(const jn_addr *a, char *buf, size_t size)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
	if (a->ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof ip);
		g_snprintf(buf, size, "%s:%u", ip, ntohs(s6->sin6_port));
		return buf;
	}
	return jn_addr_str(a, buf, size);
}

/* No ACK for our 200 within 64*T1: the dialog is dead (RFC 3261
 * §13.3.1.4), so end it with a BYE rather than wait for media to stop. */
static gboolean ack_timeout(gpointer data)
{
	call *c = data;
	c->ack_timer = 0;
	if (c->state == CS_ANSWERED && c->cl) {
		jn_warn(c->id, "no ACK for the 200 after %u ms", c->cl->ack_wait_ms);
		call_send_bye(c->cl, c);
		call_end(c->cl, c, JN_CDR_FAILED, 408, "no ACK for the 200");
	}
	return G_SOURCE_REMOVE;
}

static int respond_sdp(jn_call_layer *cl, call *c, sip_tx *tx, uint16_t code, const char *sdp)
{
	char contact[200], ab[80];
	g_snprintf(contact, sizeof contact, "Contact: <sip:junction@%s%s%s>\r\n",
		   contact_addr(&c->local, ab, sizeof ab),
		   c->kind == SIP_TP_UDP ? "" : ";transport=", c->kind == SIP_TP_UDP ? "" :
		   c->kind == SIP_TP_WS ? "ws" : c->kind == SIP_TP_WSS ? "wss" :
		   c->kind == SIP_TP_TLS ? "tls" : "tcp");
	sip_resp_opts ro = { .record_route = c->state == CS_INVITED, .extra = contact,
			     .content_type = "application/sdp",
			     .body = { sdp, strlen(sdp) } };
	return sip_stack_respond(cl->sip, tx, code, NULL, &ro);
}

bool call_progress_browser(jn_call_layer *cl, call *c, const char *sdp)
{
	if (c->state != CS_INVITED || !c->inv_tx)
		return false;
	int rc = respond_sdp(cl, c, c->inv_tx, 183, sdp);
	if (rc)
		jn_warn(c->id, "cannot send 183: %s", strerror(rc));
	return rc == 0;
}

bool call_answer_browser(jn_call_layer *cl, call *c, const char *sdp)
{
	sip_tx *tx = c->state == CS_INVITED ? c->inv_tx : c->reinv_tx;
	if (!tx)
		return false;
	int rc = respond_sdp(cl, c, tx, 200, sdp);
	if (rc) {
		jn_warn(c->id, "cannot send 200: %s", strerror(rc));
		call_end(cl, c, JN_CDR_FAILED, 500, "cannot send the answer");
		return false;
	}
	if (c->state == CS_INVITED) {
		/* The dialog exists from our 2xx on: a BYE may be needed
		 * before any in-dialog request arrives (no ACK). */
		if (!c->dlg && *sip_stack_tx_to_tag(tx))
			c->dlg = sip_dialog_new_uas(c->inv, sip_stack_tx_to_tag(tx));
		c->state = CS_ANSWERED;
		c->answer_us = g_get_real_time();
		c->ack_timer = g_timeout_add_full(G_PRIORITY_DEFAULT, cl->ack_wait_ms, ack_timeout,
						  call_ref(c), (GDestroyNotify)call_unref);
		c->inv_tx = NULL;
		jn_info(c->id, "answered");
	} else {
		c->reinv_tx = NULL;
	}
	return true;
}

static gboolean on_core_event(gpointer data)
{
	event *ev = data;
	call *c = ev->c;
	jn_call_layer *cl = c->cl;
	if (cl && ev->kind == EV_FINISHED) {
		write_cdr(cl, c->id, c->answer_us, c->user, c->caller_number, c->dialled, c->route_name,
			  c->route_name ? "echo" : NULL, c->number, c->start_us, c->cause, c->sip_code, c->reason,
			  c->have_stats ? &c->st : NULL, c);
		cl->live--;
		check_drained(cl);
	} else if (cl && c->state != CS_ENDED && c->t && call_trunk_event(cl, c, ev->kind, ev->text)) {
		/* handled by the trunk leg */
	} else if (cl && c->state != CS_ENDED) {
		switch (ev->kind) {
		case EV_ANSWER:
			call_answer_browser(cl, c, ev->text);
			break;
		case EV_FAILED:
			if (c->state == CS_INVITED && c->inv_tx) {
				char reason[160];
				g_snprintf(reason, sizeof reason, "Not Acceptable Here (%s)", ev->text);
				for (char *p = reason; *p; p++)
					if (*p == '\r' || *p == '\n')
						*p = ' ';
				call_respond(cl, c->inv_tx, 488, reason);
				call_end(cl, c, JN_CDR_REJECTED, 488, ev->text);
			} else if (c->reinv_tx) {
				call_respond(cl, c->reinv_tx, 488, NULL);
				c->reinv_tx = NULL;
			}
			break;
		case EV_CLOSED:
			/* Media ended under us (consent lost, DTLS closed). */
			if (c->state == CS_INVITED && c->inv_tx)
				call_respond(cl, c->inv_tx, 500, "Media failed");
			else
				call_send_bye(cl, c);
			call_end(cl, c, JN_CDR_BROWSER_GONE, 0, ev->text);
			break;
		}
	}
	g_free(ev->text);
	call_unref(c);
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

/* A refusal before any media exists: answer and write its record. */
static void refuse(jn_call_layer *cl, sip_tx *tx, const char *id, const char *user, const char *caller_number,
		   const char *dialled, const char *route, const char *target, const char *number, int64_t start_us,
		   uint16_t code, const char *reason, jn_cdr_cause cause)
{
	call_respond(cl, tx, code, reason);
	jn_info(id, "refused %u %s", code, reason);
	write_cdr(cl, id, 0, user, caller_number, dialled, route, target, number, start_us, cause, code, reason, NULL, NULL);
}

static void on_invite(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req, const sip_peer *from)
{
	jn_call_layer *cl = user;
	(void)s;
	if (cl->draining) {
		call_respond(cl, tx, 503, "Draining");
		return;
	}
	char who[65];
	if (sip_stack_authenticate(cl->sip, tx, req, who, sizeof who))
		return;
	int64_t start_us = g_get_real_time();
	char id[24];
	g_snprintf(id, sizeof id, "c%08x%04x", g_random_int(), g_random_int() & 0xffff);
	char dialled[JN_ROUTE_DIALLED_MAX + 1] = "";
	size_t dl = 0;
	if (!req->ruri_parsed || sip_uri_unescape(req->ruri.user, dialled, sizeof dialled, &dl))
		dl = 0;
	dialled[dl] = 0;
	char *caller_number = sip_pl_strdup(req->from.uri.user);
	jn_route_result rr;
	int rc = jn_route_lookup(cl->routes, JN_ROUTE_USER, who, dialled, (gssize)dl, &rr);
	if (rc) {
		int code = jn_route_sip_status(rc);
		refuse(cl, tx, id, who, caller_number, dialled, NULL, NULL, NULL, start_us, (uint16_t)code,
		       rc == JN_ROUTE_EFORBIDDEN ? "Forbidden" : "Not Found", JN_CDR_REJECTED);
		g_free(caller_number);
		return;
	}
	char tgt[JN_ROUTE_NAME_MAX + 16];
	if (rr.kind == JN_ROUTE_TO_ECHO)
		g_strlcpy(tgt, "echo", sizeof tgt);
	else
		g_snprintf(tgt, sizeof tgt, "%s:%s", jn_route_target_str(rr.kind), rr.name);
	if (rr.kind != JN_ROUTE_TO_ECHO && rr.kind != JN_ROUTE_TO_TRUNK) {
		refuse(cl, tx, id, who, caller_number, dialled, rr.route, tgt, rr.number, start_us, 480,
		       "Target not supported yet", JN_CDR_REJECTED);
		g_free(caller_number);
		return;
	}
	if (!req->body.l) {
		refuse(cl, tx, id, who, caller_number, dialled, rr.route, tgt, rr.number, start_us, 488,
		       "Not Acceptable Here (an INVITE without an SDP offer)", JN_CDR_REJECTED);
		g_free(caller_number);
		return;
	}
	sdp_session *offer = NULL;
	sdp_error serr;
	if (sdp_parse(req->body.p, req->body.l, &offer, &serr)) {
		char reason[160];
		g_snprintf(reason, sizeof reason, "Not Acceptable Here (bad SDP: %s)", serr.reason);
		refuse(cl, tx, id, who, caller_number, dialled, rr.route, tgt, rr.number, start_us, 488, reason,
		       JN_CDR_REJECTED);
		g_free(caller_number);
		return;
	}
	rc = jn_route_limits_acquire(cl->limits, JN_ROUTE_USER, who);
	if (rc) {
		sdp_unref(offer);
		refuse(cl, tx, id, who, caller_number, dialled, rr.route, tgt, rr.number, start_us,
		       rc == EBUSY ? 486 : 403, rc == EBUSY ? "Busy Here (call limit)" : "Forbidden",
		       rc == EBUSY ? JN_CDR_BUSY : JN_CDR_REJECTED);
		g_free(caller_number);
		return;
	}
	call *c = g_new0(call, 1);
	c->ref = 1;
	c->cl = cl;
	g_strlcpy(c->id, id, sizeof c->id);
	c->key = dialog_key(req->call_id, req->from.tag);
	c->inv_tx = tx;
	c->inv = sip_msg_ref((sip_msg *)req);
	c->kind = from->tp->kind;
	c->flow = from->flow ? sip_flow_ref(from->flow) : NULL;
	c->remote = from->remote;
	c->local = from->local;
	g_strlcpy(c->user, who, sizeof c->user);
	c->caller_number = caller_number;
	c->dialled = g_strdup(dialled);
	c->route_name = g_strdup(rr.route);
	c->number = g_strdup(rr.number);
	c->start_us = start_us;
	c->limit_held = true;
	c->offer = offer;
	if (g_hash_table_contains(cl->calls, c->key)) {
		/* A second INVITE with the same Call-ID and From tag (a new branch):
		 * the first one already owns the dialog. */
		jn_route_limits_release(cl->limits, JN_ROUTE_USER, who);
		refuse(cl, tx, id, who, caller_number, dialled, rr.route, tgt, rr.number, start_us, 482,
		       "Loop Detected", JN_CDR_REJECTED);
		call_unref(c);
		return;
	}
	g_hash_table_insert(cl->calls, c->key, c);
	cl->live++;
	c->wk = jn_workers_pick(cl->workers);
	jn_worker_add_load(c->wk, 1);
	jn_info(c->id, "call from user:%s to %s (route %s) on worker %u", who, dialled, rr.route,
		jn_worker_index(c->wk));
	if (rr.kind == JN_ROUTE_TO_TRUNK) {
		call_trunk_start(cl, c, rr.name);
		return;
	}
	start_job *j = g_new0(start_job, 1);
	j->c = call_ref(c);
	j->po = (rtc_pc_opts){
		.cert = cl->cert, .context = jn_worker_context(c->wk),
		.local_addresses = (const char *const *)cl->addrs, .port_min = cl->port_min,
		.port_max = cl->port_max, .stun_server = cl->stun, .turn_server = cl->turn,
		.turn_username = cl->turn_user, .turn_password = cl->turn_pass,
		.consent_timeout = cl->consent_timeout, .echo = true, .id = c->id,
		.answer = call_pc_answer, .state = call_pc_state, .user = c,
	};
	jn_worker_post(c->wk, w_start, j);
}

static call *find_call(jn_call_layer *cl, const sip_msg *req)
{
	char *k = dialog_key(req->call_id, req->from.tag);
	call *c = g_hash_table_lookup(cl->calls, k);
	g_free(k);
	return c;
}

/* The dialog's local tag is the one the stack put in our 2xx: learn it from
 * the first in-dialog request (the ACK, or a BYE that overtook it). */
static void ensure_dialog(call *c, const sip_msg *req)
{
	if (c->dlg || !sip_pl_isset(req->to.tag))
		return;
	char *tag = sip_pl_strdup(req->to.tag);
	c->dlg = sip_dialog_new_uas(c->inv, tag);
	g_free(tag);
}

static void on_dialog_request(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req, const sip_peer *from)
{
	jn_call_layer *cl = user;
	(void)s;
	(void)from;
	if (call_trunk_request(cl, tx, req))
		return;
	call *c = find_call(cl, req);
	if (!c || c->state == CS_INVITED) {
		if (tx)
			call_respond(cl, tx, 481, NULL);
		return;
	}
	ensure_dialog(c, req);
	if (req->method == SIP_METHOD_ACK) {
		if (c->state == CS_ANSWERED) {
			c->state = CS_CONFIRMED;
			if (c->ack_timer) {
				g_source_remove(c->ack_timer);
				c->ack_timer = 0;
			}
			jn_info(c->id, "confirmed");
		}
		return;
	}
	if (!tx)
		return;
	if (c->dlg && sip_dialog_receive(c->dlg, req)) {
		call_respond(cl, tx, 500, "CSeq out of order");
		return;
	}
	switch (req->method) {
	case SIP_METHOD_BYE:
		call_respond(cl, tx, 200, NULL);
		call_end(cl, c, JN_CDR_NORMAL, 0, "caller hung up");
		break;
	case SIP_METHOD_INVITE: {
		if (c->reinv_tx) {
			call_respond(cl, tx, 491, NULL);
			break;
		}
		sdp_session *offer = NULL;
		sdp_error serr;
		if (!req->body.l || sdp_parse(req->body.p, req->body.l, &offer, &serr)) {
			call_respond(cl, tx, 488, req->body.l ? "Not Acceptable Here (bad SDP)"
							 : "Not Acceptable Here (re-INVITE without an offer)");
			break;
		}
		c->reinv_tx = tx;
		offer_job *j = g_new0(offer_job, 1);
		j->c = call_ref(c);
		j->offer = offer;
		jn_worker_post(c->wk, w_update, j);
		break;
	}
	default:
		call_respond(cl, tx, 501, NULL);
		break;
	}
}

static void on_cancel(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req, const sip_peer *from)
{
	jn_call_layer *cl = user;
	(void)s;
	(void)from;
	call *c = find_call(cl, req);
	call_respond(cl, tx, 487, NULL);
	if (c && c->state == CS_INVITED)
		call_end(cl, c, JN_CDR_CANCELLED, 487, "caller cancelled");
}

/* ---- life ---- */

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
	cl->addrs = jn_config_list(cfg, "webrtc", "local_addresses");
	cl->stun = g_strdup(jn_config_str(cfg, "webrtc", "stun_server"));
	cl->turn = g_strdup(jn_config_str(cfg, "webrtc", "turn_server"));
	cl->turn_user = g_strdup(jn_config_str(cfg, "webrtc", "turn_username"));
	cl->turn_pass = g_strdup(jn_config_str(cfg, "webrtc", "turn_password"));
	cl->port_min = (unsigned)jn_config_int(cfg, "webrtc", "port_min");
	cl->port_max = (unsigned)jn_config_int(cfg, "webrtc", "port_max");
	cl->consent_timeout = (unsigned)jn_config_int(cfg, "webrtc", "consent_timeout");
	cl->cfg = cfg;
	cl->rtp_addr = g_strdup(jn_config_str(cfg, "media", "rtp_address"));
	cl->rtp_port_min = (unsigned)jn_config_int(cfg, "media", "rtp_port_min");
	cl->rtp_port_max = (unsigned)jn_config_int(cfg, "media", "rtp_port_max");
	cl->calls = g_hash_table_new(g_str_hash, g_str_equal);
	cl->scratch = g_string_new(NULL);
	sip_stack_on_invite(cl->sip, on_invite, cl);
	sip_stack_on_dialog_request(cl->sip, on_dialog_request, cl);
	sip_stack_on_cancel(cl->sip, on_cancel, cl);
	jn_info(NULL, "call layer: %u routes, records to %s", jn_route_table_size(rt),
		*cdr_file ? cdr_file : "(off)");
	return cl;
}

void jn_call_shutdown(jn_call_layer *cl)
{
	if (!cl || !cl->sip)
		return;
	GList *calls = g_hash_table_get_values(cl->calls);
	for (GList *l = calls; l; l = l->next) {
		call *c = l->data;
		if (c->state == CS_ENDED)
			continue; /* a trunk call is in the table twice */
		if (c->state == CS_INVITED && c->inv_tx)
			call_respond(cl, c->inv_tx, 503, "Shutting down");
		else
			call_send_bye(cl, c);
		/* Written now: the worker's EV_FINISHED will not run any more. */
		call_ref(c);
		c->shutdown = true; /* before the worker sees the stop */
		call_end(cl, c, JN_CDR_SHUTDOWN, 0, "daemon stopping");
		write_cdr(cl, c->id, c->answer_us, c->user, c->caller_number, c->dialled, c->route_name,
			  c->route_name ? "echo" : NULL, c->number, c->start_us, c->cause, c->sip_code, c->reason,
			  NULL, c);
		c->cl = NULL;
		call_unref(c);
	}
	g_list_free(calls);
	sip_stack_on_invite(cl->sip, NULL, NULL);
	sip_stack_on_dialog_request(cl->sip, NULL, NULL);
	sip_stack_on_cancel(cl->sip, NULL, NULL);
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
	jn_route_table_free(cl->routes);
	jn_route_limits_free(cl->limits);
	jn_cdr_close(cl->cdr);
	rtc_dtls_cert_unref(cl->cert);
	g_strfreev(cl->addrs);
	g_free(cl->stun);
	g_free(cl->turn);
	g_free(cl->turn_user);
	g_free(cl->turn_pass);
	g_free(cl->rtp_addr);
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
