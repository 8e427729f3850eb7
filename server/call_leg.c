/* call_leg.c: the SIP side of one leg of a call (core thread).
 *
 * A UAS leg answers the caller's INVITE (18x / 200 with our SDP, Contact,
 * Record-Route copied) and waits for the ACK. A UAC leg places an INVITE
 * toward a trunk (host by IP literal or by DNS, RFC 3263) or toward one
 * registered contact of a user (over the contact's flow for WS/TCP), answers
 * one digest challenge with the trunk's credentials, ACKs the 2xx, and can
 * be cancelled. In dialog, either kind handles BYE, re-INVITE / UPDATE
 * (answered locally: the media is anchored here; a direction change is
 * passed to the other leg as a re-INVITE of ours, so hold maps across), INFO
 * (DTMF, passed across) and OPTIONS. Call-level decisions (which branch
 * wins, what the caller is told) are call.c's. See docs/calls.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/call_int.h"
#include "server/workers.h"
#include "sip/sip_auth.h"
#include "sip/sip_info.h"
#include "sip/sip_xfer.h"
#include "sip/sip_stack.h"
#include "sip/sip_tcp.h"
#include "util/log.h"

#define JN_LOG_TAG "call"

call_leg *leg_new(call *c, leg_role role, leg_media media, const char *name)
{
	if (c->n_legs >= G_N_ELEMENTS(c->legs))
		return NULL;
	call_leg *l = g_new0(call_leg, 1);
	l->c = c;
	l->role = role;
	l->media = media;
	g_strlcpy(l->name, name, sizeof l->name);
	l->w_side = -1;
	l->remote_dir = SDP_DIR_SENDRECV;
	l->local_dir = SDP_DIR_SENDRECV;
	l->pending_dir = SDP_DIR_SENDRECV;
	c->legs[c->n_legs++] = l;
	return l;
}

void leg_free(call_leg *l)
{
	if (!l)
		return;
	if (l->resolve)
		sip_resolve_cancel(l->resolve);
	if (l->ack_timer)
		g_source_remove(l->ack_timer);
	leg_timer_stop(l);
	g_free(l->st_resp);
	g_free(l->peer);
	if (l->flow)
		sip_flow_unref(l->flow);
	sip_dialog_free(l->dlg);
	g_free(l->key);
	sip_msg_unref(l->inv);
	g_free(l->ruri);
	g_free(l->from);
	g_free(l->to_hdr);
	g_free(l->call_id);
	g_free(l->contact);
	g_free(l->host);
	g_free(l->username);
	g_free(l->password);
	g_free(l->auth_line);
	sdp_unref(l->offer);
	g_free(l->offer_text);
	g_free(l->local_sdp);
	g_free(l);
}

const char *leg_kind_str(const call_leg *l)
{
	return l->media == LM_WEBRTC ? "webrtc" : "rtp";
}

void leg_start_media(call_leg *l)
{
	media_start(l, l->c->echo && l == l->c->a);
}

/* ---- codecs ---- */

static bool codec_from_name(const char *n, sdp_codec *out)
{
	if (!g_ascii_strcasecmp(n, "pcmu"))
		*out = (sdp_codec){ "PCMU", 8000, 1, 0, NULL };
	else if (!g_ascii_strcasecmp(n, "pcma"))
		*out = (sdp_codec){ "PCMA", 8000, 1, 8, NULL };
	else if (!g_ascii_strcasecmp(n, "g722"))
		*out = (sdp_codec){ "G722", 8000, 1, 9, NULL };
	else if (!g_ascii_strcasecmp(n, "opus"))
		*out = (sdp_codec){ "opus", 48000, 2, 111, "minptime=10;useinbandfec=1" };
	else
		return false;
	return true;
}

size_t call_codecs_from_list(char **names, sdp_codec *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; names && names[i] && n < cap; i++)
		if (codec_from_name(names[i], &out[n]))
			n++;
	return n;
}

/* Moves the codec named `first` to the front (relay beats transcoding). */
void leg_prefer(call_leg *l, const char *first)
{
	if (!first || !*first)
		return;
	for (size_t i = 1; i < l->n_codecs; i++)
		if (!g_ascii_strcasecmp(l->codecs[i].name, first)) {
			sdp_codec k = l->codecs[i];
			memmove(&l->codecs[1], &l->codecs[0], i * sizeof k);
			l->codecs[0] = k;
			return;
		}
}

/* The codec of the leg l will be bridged to goes first: its negotiated
 * one, else the first of its offer that we have (a SIP phone's answer is
 * made only once the callee answered). */
static void prefer_peer(call_leg *l, const call_leg *peer)
{
	if (!peer)
		return;
	if (peer->have_desc) {
		leg_prefer(l, peer->codec);
		return;
	}
	for (size_t i = 0; peer->offer && i < peer->offer->n_media; i++) {
		const sdp_media *m = &peer->offer->media[i];
		if (m->type != SDP_MEDIA_AUDIO || !m->port)
			continue;
		for (size_t k = 0; k < m->n_fmts; k++)
			for (size_t j = 0; j < l->n_codecs; j++)
				if (sdp_str_ieq(m->fmts[k].name, l->codecs[j].name)) {
					char name[16];
					g_snprintf(name, sizeof name, "%.*s", (int)m->fmts[k].name.l, m->fmts[k].name.p);
					leg_prefer(l, name);
					return;
				}
		return;
	}
}

char *leg_rtp_sdp(call_leg *l, const sdp_session *offer, sdp_dir dir, sdp_neg *neg, char **err)
{
	jn_call_layer *cl = l->c->cl;
	if (l->have_desc)
		leg_prefer(l, l->codec);
	sdp_local loc = { .codecs = l->codecs, .n_codecs = l->n_codecs, .telephone_event = true, .te_pt = 101,
			  .ptime = 20, .transport = SDP_TRANSPORT_RTP, .addr = cl->rtp_addr, .port = l->rtp_port,
			  .origin_user = "junction", .sess_id = 1 + (g_str_hash(l->c->id) & 0xffffff),
			  .sess_version = ++l->sdp_version, .dir = dir };
	sdp_sdes_key key = { "AES_CM_128_HMAC_SHA1_80", l->sdes_key };
	if (l->srtp != CALL_SRTP_OFF && *l->sdes_key) {
		/* required: RTP/SAVP; optional: keys on RTP/AVP (best effort) */
		loc.sdes = &key;
		loc.n_sdes = 1;
		loc.transport = l->srtp == CALL_SRTP_REQUIRED || offer ? SDP_TRANSPORT_SDES : SDP_TRANSPORT_RTP;
		loc.sdes_optional = l->srtp == CALL_SRTP_OPTIONAL;
	}
	GString *out = g_string_new(NULL);
	sdp_error se = { 0 };
	int rc = offer ? sdp_answer(offer, &loc, out, neg, &se) : sdp_offer(&loc, out, &se);
	if (rc) {
		*err = g_strdup(se.reason[0] ? se.reason : "no common codec");
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

/* ---- UAS side ---- */

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

static const char *tp_param(sip_tp_kind k)
{
	return k == SIP_TP_UDP ? "" : k == SIP_TP_WS ? ";transport=ws" : k == SIP_TP_WSS ? ";transport=wss" :
	       k == SIP_TP_TLS ? ";transport=tls" : ";transport=tcp";
}

static char *make_contact(sip_tp_kind kind, const jn_addr *local)
{
	char ab[80];
	return g_strdup_printf("<sip:junction@%s%s>", contact_addr(local, ab, sizeof ab), tp_param(kind));
}

static int respond_sdp(call_leg *l, sip_tx *tx, uint16_t code, const char *sdp, bool rr)
{
	char *contact = make_contact(l->kind, &l->local);
	char *extra = g_strdup_printf("Contact: %s\r\n%s", contact, code >= 200 && l->st_resp ? l->st_resp : "");
	sip_resp_opts ro = { .record_route = rr, .extra = extra, .content_type = sdp ? "application/sdp" : NULL,
			     .body = { sdp, sdp ? strlen(sdp) : 0 } };
	int rc = sip_stack_respond(l->c->cl->sip, tx, code, NULL, &ro);
	g_free(extra);
	g_free(contact);
	return rc;
}

void leg_respond_timer_error(call_leg *l, sip_tx *tx, const sip_msg *req)
{
	sip_timer_uas a;
	sip_timer_cfg cfg = l->st_cfg;
	uint16_t code = sip_timer_uas_decide(req, &cfg, &a) ? 400 : a.status ? a.status : 400;
	sip_resp_opts ro = { .extra = l->st_resp };
	int rc = sip_stack_respond(l->c->cl->sip, tx, code, code == 400 ? "Bad Request (Session-Expires)" : NULL, &ro);
	if (rc)
		jn_debug(l->c->id, "cannot answer %u: %s", code, strerror(rc));
}

bool leg_progress(call_leg *l, uint16_t code, const char *sdp)
{
	if (l->ext) {
		ext_progress(l, code, sdp);
		return true;
	}
	if (!l->inv_tx)
		return false;
	int rc = respond_sdp(l, l->inv_tx, code, sdp, true);
	if (rc)
		jn_warn(l->c->id, "cannot send %u: %s", code, strerror(rc));
	return rc == 0;
}

/* No ACK for our 200 within 64*T1: the dialog is dead (RFC 3261
 * §13.3.1.4), so end it with a BYE rather than wait for media to stop. */
static gboolean ack_timeout(gpointer data)
{
	call_leg *l = data;
	l->ack_timer = 0;
	call *c = l->c;
	if (l->state == LS_ANSWERED && c->cl) {
		jn_warn(c->id, "no ACK for the 200 after %u ms", c->cl->ack_wait_ms);
		call_end(c, NULL, JN_CDR_FAILED, 408, "no ACK for the 200");
	}
	return G_SOURCE_REMOVE;
}

static void ack_timer_unref(gpointer data)
{
	call_leg *l = data;
	call_unref(l->c);
}

bool leg_answer(call_leg *l, const char *sdp)
{
	call *c = l->c;
	if (l->ext) {
		ext_progress(l, 200, sdp);
		l->state = LS_UP;
		return true;
	}
	if (!l->inv_tx)
		return false;
	int rc = respond_sdp(l, l->inv_tx, 200, sdp, true);
	if (rc) {
		jn_warn(c->id, "cannot send 200: %s", strerror(rc));
		call_end(c, l, JN_CDR_FAILED, 500, "cannot send the answer");
		return false;
	}
	/* The dialog exists from our 2xx on: a BYE may be needed before any
	 * in-dialog request arrives (no ACK). */
	if (!l->dlg && *sip_stack_tx_to_tag(l->inv_tx))
		l->dlg = sip_dialog_new_uas(l->inv, sip_stack_tx_to_tag(l->inv_tx));
	l->state = LS_ANSWERED;
	l->inv_tx = NULL;
	l->ack_timer = g_timeout_add_full(G_PRIORITY_DEFAULT, c->cl->ack_wait_ms, ack_timeout, l, ack_timer_unref);
	call_ref(c);
	return true;
}

/* ---- sending in a dialog ---- */

static int send_in_dialog(call_leg *l, sip_method m, sip_req_opts *o, sip_tx_response_fn cb, void *user,
			  sip_tx **txp)
{
	jn_call_layer *cl = l->c->cl;
	if (!l->dlg || !cl)
		return ENOTCONN;
	g_string_truncate(cl->scratch, 0);
	sip_dialog_fill_request(l->dlg, m, o, cl->scratch);
	jn_addr to = l->remote;
	if (!l->flow && l->role == LEG_UAC)
		sip_dialog_next_hop(l->dlg, &to);
	return sip_stack_send_request(cl->sip, l->kind, l->flow, &to, o, cb, user, txp);
}

static void send_bye(call_leg *l)
{
	sip_req_opts o = { 0 };
	int rc = send_in_dialog(l, SIP_METHOD_BYE, &o, NULL, NULL, NULL);
	if (rc)
		jn_warn(l->c->id, "leg %s: cannot send BYE: %s", l->name, strerror(rc));
}

static void send_ack(call_leg *l, uint32_t cseq)
{
	jn_call_layer *cl = l->c->cl;
	sip_req_opts o = { .cseq = cseq };
	g_string_truncate(cl->scratch, 0);
	sip_dialog_fill_request(l->dlg, SIP_METHOD_ACK, &o, cl->scratch);
	o.cseq = cseq;
	jn_addr to = l->remote;
	if (!l->flow)
		sip_dialog_next_hop(l->dlg, &to);
	if (sip_stack_send_stateless(cl->sip, l->kind, l->flow, &to, &o))
		jn_warn(l->c->id, "leg %s: cannot send ACK", l->name);
}

void leg_hangup(call_leg *l, bool send, uint16_t code, const char *reason)
{
	jn_call_layer *cl = l->c->cl;
	if (!cl)
		return;
	if (send && l->state != LS_DONE) {
		if (l->ext) {
			ext_ended(l, code, reason);
		} else if (l->role == LEG_UAS) {
			if (l->inv_tx)
				call_respond(cl, l->inv_tx, code ? code : 480, reason);
			else if (l->dlg)
				send_bye(l);
		} else if (l->dlg && (!l->tx || l->reinvite)) {
			send_bye(l);
		} else if (l->tx) {
			/* A CANCEL needs a provisional first (§9.1): else it waits for one. */
			if (sip_stack_cancel(cl->sip, l->tx, NULL, NULL))
				l->cancel_wanted = true;
		}
	}
	l->inv_tx = NULL;
	l->upd_tx = NULL;
	if (l->resolve) {
		sip_resolve_cancel(l->resolve);
		l->resolve = NULL;
	}
	if (l->ack_timer) {
		g_source_remove(l->ack_timer);
		l->ack_timer = 0;
	}
	leg_timer_stop(l);
	if (l->key)
		g_hash_table_remove(cl->calls, l->key);
	if (l->limit_trunk)
		jn_route_limits_release(cl->limits, JN_ROUTE_TRUNK, l->trunk);
	l->limit_trunk = false;
	l->state = LS_DONE;
}

/* ---- UAC side ---- */

bool leg_setup_trunk(call_leg *l, const char *trunk, const char *number, const call_leg *peer)
{
	call *c = l->c;
	jn_call_layer *cl = c->cl;
	const jn_config *cfg = cl->cfg;
	char sec[80];
	g_snprintf(sec, sizeof sec, "trunk:%s", trunk);
	g_strlcpy(l->trunk, trunk, sizeof l->trunk);
	l->peer = g_strdup(sec);
	l->party = JN_ROUTE_TRUNK;
	g_strlcpy(l->who, trunk, sizeof l->who);
	l->host = g_strdup(jn_config_str(cfg, sec, "host"));
	const char *tps = jn_config_str(cfg, sec, "transport");
	if (!sip_tp_parse(tps, strlen(tps), &l->kind))
		l->kind = SIP_TP_UDP;
	unsigned port = (unsigned)jn_config_int(cfg, sec, "port");
	l->username = g_strdup(jn_config_str(cfg, sec, "username"));
	l->password = g_strdup(jn_config_str(cfg, sec, "password"));
	l->dtmf_info = !g_ascii_strcasecmp(jn_config_str(cfg, sec, "dtmf"), "info");
	l->tls_verify = jn_config_bool(cfg, sec, "tls_verify");
	l->st_cfg.session_expires = (uint32_t)jn_config_int(cfg, sec, "session_timer");
	const char *srtp = jn_config_str(cfg, sec, "srtp");
	l->srtp = !strcmp(srtp, "required") ? CALL_SRTP_REQUIRED : !strcmp(srtp, "optional") ? CALL_SRTP_OPTIONAL
											      : CALL_SRTP_OFF;
	char **codecs = jn_config_list(cfg, sec, "codecs");
	l->n_codecs = call_codecs_from_list(codecs, l->codecs, CALL_MAX_CODECS);
	g_strfreev(codecs);
	prefer_peer(l, peer);
	/* An IP literal is used as is; a name is resolved when the INVITE
	 * goes (RFC 3263: SRV when no port is set). */
	jn_addr_parse(l->host, (uint16_t)(port ? port : l->kind == SIP_TP_TLS ? 5061 : 5060), &l->remote);
	if (jn_route_limits_acquire(cl->limits, JN_ROUTE_TRUNK, trunk))
		return false;
	l->limit_trunk = true;
	const char *from_user = jn_config_str(cfg, sec, "from_user");
	const char *from_domain = jn_config_str(cfg, sec, "from_domain");
	char tag[17], cid[25];
	sip_build_token(tag, 16);
	sip_build_token(cid, 24);
	char hp[300];
	if (port)
		g_snprintf(hp, sizeof hp, strchr(l->host, ':') ? "[%s]:%u" : "%s:%u", l->host, port);
	else
		g_strlcpy(hp, l->host, sizeof hp);
	l->ruri = g_strdup_printf("sip:%s@%s%s", number, hp, tp_param(l->kind));
	l->to_hdr = g_strdup_printf("<%s>", l->ruri);
	l->from = g_strdup_printf("<sip:%s@%s>;tag=%s", *from_user ? from_user : c->caller_number,
				  *from_domain ? from_domain : l->host, tag);
	l->call_id = g_strdup(cid);
	sip_transport *tp = sip_stack_transport(cl->sip, l->kind);
	jn_addr local;
	memset(&local, 0, sizeof local);
	if (tp)
		local = tp->local;
	else
		jn_addr_parse("127.0.0.1", 5060, &local);
	l->local = local;
	l->contact = make_contact(l->kind, &local);
	return true;
}

void leg_setup_contact(call_leg *l, const char *user, const char *uri, sip_tp_kind kind, sip_flow *flow,
		       const jn_addr *to, const call_leg *peer)
{
	call *c = l->c;
	jn_call_layer *cl = c->cl;
	l->peer = g_strdup_printf("user:%s", user);
	l->party = JN_ROUTE_USER;
	g_strlcpy(l->who, user, sizeof l->who);
	l->kind = kind;
	l->flow = flow ? sip_flow_ref(flow) : NULL;
	l->remote = *to;
	l->dtmf_info = l->media == LM_WEBRTC; /* JsSIP reports only INFO (newDTMF) */
	if (l->media == LM_RTP) {
		l->n_codecs = G_N_ELEMENTS(l->codecs) < cl->n_codecs ? G_N_ELEMENTS(l->codecs) : cl->n_codecs;
		memcpy(l->codecs, cl->codecs, l->n_codecs * sizeof l->codecs[0]);
		prefer_peer(l, peer);
	}
	char tag[17], cid[25];
	sip_build_token(tag, 16);
	sip_build_token(cid, 24);
	l->ruri = g_strdup(uri);
	l->to_hdr = g_strdup_printf("<sip:%s@%s>", user, cl->domain);
	char *disp = c->display && *c->display ? g_strdup_printf("\"%s\" ", c->display) : g_strdup("");
	/* a quoted-string: no quote, backslash or line break from the config or the caller */
	for (char *p = *disp ? disp + 1 : disp; *p && p[1] && p[2]; p++)
		if (*p == '"' || *p == '\\' || *p == '\r' || *p == '\n')
			*p = ' ';
	l->from = g_strdup_printf("%s<sip:%s@%s>;tag=%s", disp, c->caller_number && *c->caller_number ?
				  c->caller_number : "anonymous", cl->domain, tag);
	g_free(disp);
	l->call_id = g_strdup(cid);
	jn_addr local = *to;
	sip_transport *tp = sip_stack_transport(cl->sip, kind);
	if (flow)
		local = *sip_flow_local(flow);
	else if (tp)
		local = tp->local;
	l->local = local; /* our Contact in responses to its re-INVITEs too */
	l->contact = make_contact(kind, &local);
}

/* The request we sent, parsed, for sip_dialog_new_uac. */
static sip_msg *sent_request(call_leg *l)
{
	char *txt = g_strdup_printf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\n"
				    "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %u INVITE\r\nContact: %s\r\n"
				    "Content-Length: 0\r\n\r\n", l->ruri, l->from, l->to_hdr, l->call_id,
				    l->cseq, l->contact);
	sip_msg *m = NULL;
	sip_parse_err pe;
	if (sip_msg_parse(txt, strlen(txt), &m, &pe))
		m = NULL;
	g_free(txt);
	return m;
}

/* Makes the UAC dialog from a response with a To tag (2xx, or 18x for
 * early media) and files the leg in the call table. */
static bool make_dialog(call_leg *l, const sip_msg *m)
{
	if (l->dlg)
		return true;
	sip_msg *req = sent_request(l);
	l->dlg = req ? sip_dialog_new_uac(req, m) : NULL;
	sip_msg_unref(req);
	if (!l->dlg)
		return false;
	jn_call_layer *cl = l->c->cl;
	l->key = g_strdup_printf("%s|%s", l->call_id, sip_dialog_remote_tag(l->dlg));
	g_hash_table_insert(cl->calls, l->key, l);
	return true;
}

static void on_invite_response(void *user, sip_tx *tx, int status, const char *data, size_t len);

/* Our INVITE transactions keep their call alive for as long as they live
 * (Timer M: a 2xx may be repeated after the first one), not only until
 * the first final response. */
static void hold_call(sip_tx *tx, call *c)
{
	if (tx)
		sip_tx_set_data(tx, call_ref(c), (GDestroyNotify)call_unref);
}

static void invite_now(call_leg *l)
{
	call *c = l->c;
	jn_call_layer *cl = c->cl;
	l->cseq++;
	GString *extra = g_string_new(l->auth_line);
	leg_timer_request_headers(l, extra);
	sip_req_opts q = { .method = SIP_METHOD_INVITE, .ruri = l->ruri, .from = l->from, .to = l->to_hdr,
			   .call_id = l->call_id, .cseq = l->cseq, .contact = l->contact,
			   .extra = extra->str, .content_type = "application/sdp",
			   .body = { l->local_sdp, strlen(l->local_sdp) } };
	if (l->kind == SIP_TP_TLS && l->host) {
		sip_transport *tls = sip_stack_transport(cl->sip, SIP_TP_TLS);
		if (tls)
			sip_tls_set_peer(tls, &l->remote, l->host, l->tls_verify,
					 jn_config_str(cl->cfg, "sip", "tls_ca_file"), l->peer);
	}
	int rc = sip_stack_send_request(cl->sip, l->kind, l->flow, &l->remote, &q, on_invite_response, c, &l->tx);
	g_string_free(extra, TRUE);
	if (!rc)
		hold_call(l->tx, c);
	if (rc) {
		l->tx = NULL;
		call_branch_failed(c, l, 503, "cannot send the INVITE");
		return;
	}
	l->reinvite = false;
	l->state = LS_CALLING;
	jn_info(c->id, "leg %s: INVITE to %s (%s)", l->name, l->peer, l->ruri);
}

static void on_resolved(void *user, int err, const sip_resolve_target *targets, size_t n)
{
	call_leg *l = user;
	l->resolve = NULL;
	if (err || !n) {
		char why[120];
		g_snprintf(why, sizeof why, "cannot resolve %s: %s", l->host, g_strerror(err ? err : ENOENT));
		call_branch_failed(l->c, l, 503, why);
		return;
	}
	l->remote = targets[0].addr;
	l->kind = targets[0].transport;
	invite_now(l);
}

void leg_send_invite(call_leg *l)
{
	if (l->state == LS_DONE || !l->c->cl)
		return;
	if (!l->remote.ss.ss_family && l->host) {
		jn_call_layer *cl = l->c->cl;
		char sec[80];
		g_snprintf(sec, sizeof sec, "trunk:%s", l->trunk);
		sip_resolve_opts ro = { .host = l->host, .port = (uint16_t)jn_config_int(cl->cfg, sec, "port"),
					.has_transport = true, .transport = l->kind };
		l->resolve = sip_resolve_start(&ro, on_resolved, l);
		return;
	}
	invite_now(l);
}

/* Answers a 401/407 once with the trunk's credentials. */
static bool answer_challenge(call_leg *l, const sip_msg *m, bool proxy)
{
	if (l->auth_tried || !l->username || !*l->username)
		return false;
	sip_auth_client_opts ao = { .username = l->username, .password = l->password, .method = "INVITE",
				    .uri = l->ruri };
	char *line = sip_stack_auth_line(m, proxy, &ao);
	if (!line)
		return false;
	g_free(l->auth_line);
	l->auth_line = line;
	l->auth_tried = true;
	return true;
}

/* A 3xx: the first Contact with a SIP URI becomes the new target (at most
 * 3 times; only IP literals: a redirect to a name is not followed). */
static bool follow_redirect(call_leg *l, const sip_msg *m)
{
	if (l->redirects >= 3 || !m->n_contact || !m->contact[0].addr.uri_parsed)
		return false;
	const sip_uri *u = &m->contact[0].addr.uri;
	char host[128];
	g_snprintf(host, sizeof host, "%.*s", (int)u->host.l, u->host.p);
	jn_addr to;
	if (jn_addr_parse(host, u->port ? u->port : 5060, &to))
		return false;
	l->redirects++;
	g_free(l->ruri);
	l->ruri = g_strdup_printf("%.*s", (int)m->contact[0].addr.uri_pl.l, m->contact[0].addr.uri_pl.p);
	g_free(l->to_hdr);
	l->to_hdr = g_strdup_printf("<%s>", l->ruri);
	l->remote = to;
	char cid[25];
	sip_build_token(cid, 24);
	g_free(l->call_id);
	l->call_id = g_strdup(cid);
	jn_info(l->c->id, "leg %s: redirected to %s", l->name, l->ruri);
	return true;
}

static void on_reinvite_response(call_leg *l, int status, const sip_msg *m);

static void on_invite_response(void *user, sip_tx *tx, int status, const char *data, size_t len)
{
	call *c = user;
	jn_call_layer *cl = c->cl;
	(void)len;
	call_leg *l = NULL;
	for (size_t i = 0; i < c->n_legs && !l; i++)
		if (c->legs[i]->tx == tx)
			l = c->legs[i];
	for (size_t i = 0; i < c->n_legs && !l; i++)
		if (c->legs[i]->acked_tx == tx && status >= 200)
			l = c->legs[i];
	sip_msg *m = NULL;
	sip_parse_err pe;
	if (data && sip_msg_parse(data, len, &m, &pe))
		m = NULL;
	if (!l || !cl) {
		sip_msg_unref(m);
		return;
	}
	if (l->acked_tx == tx && l->tx != tx) {
		/* The 2xx again: our ACK was lost (§13.2.2.4: ACK every 2xx). */
		if (status < 300 && l->dlg)
			send_ack(l, l->acked_cseq);
		sip_msg_unref(m);
		return;
	}
	if (status < 200) {
		if (l->cancel_wanted && status > 100) {
			sip_stack_cancel(cl->sip, l->tx, NULL, NULL);
			l->cancel_wanted = false;
		}
		if (m && !l->reinvite && l->state == LS_CALLING && status > 100)
			call_branch_progress(c, l, status, m);
		sip_msg_unref(m);
		return;
	}
	l->tx = NULL;
	if (status < 300) {
		l->acked_tx = tx;
		l->acked_cseq = l->cseq;
	}
	if (l->reinvite) {
		l->reinvite = false;
		on_reinvite_response(l, status, m);
	} else if (l->state == LS_DONE) {
		if (status < 300 && m && make_dialog(l, m)) {
			send_ack(l, l->cseq);
			send_bye(l);
			if (l->key)
				g_hash_table_remove(cl->calls, l->key);
		}
	} else if (status < 300 && m) {
		if (!make_dialog(l, m)) {
			call_branch_failed(c, l, 502, "2xx without To tag or Contact");
		} else {
			send_ack(l, l->cseq);
			l->state = LS_UP;
			leg_timer_after_2xx(l, m);
			call_branch_answered(c, l, m);
		}
	} else if ((status == 401 || status == 407) && m && answer_challenge(l, m, status == 407)) {
		invite_now(l);
	} else if (status >= 300 && status < 400 && m && follow_redirect(l, m)) {
		invite_now(l);
	} else if (status == 422 && m && leg_timer_after_422(l, m)) {
		invite_now(l);
	} else {
		char why[80];
		g_snprintf(why, sizeof why, "%s answered %d", l->peer ? l->peer : "callee", status);
		call_branch_failed(c, l, status, why);
	}
	sip_msg_unref(m);
}

/* ---- re-INVITEs of ours (hold passed across) ---- */

static gboolean retry_reinvite(gpointer data)
{
	call_leg *l = data;
	if (l->state == LS_UP && l->c->cl && l->c->state != CS_ENDED)
		leg_reinvite(l, l->pending_dir);
	return G_SOURCE_REMOVE;
}

static void on_reinvite_response(call_leg *l, int status, const sip_msg *m)
{
	call *c = l->c;
	if (status >= 200 && status < 300 && m) {
		send_ack(l, l->cseq);
		leg_timer_after_2xx(l, m);
		if (m->body.l) {
			char *sdp = g_strndup(m->body.p, m->body.l);
			media_set_remote(l, sdp);
			g_free(sdp);
		}
		if (l->pending_dir != l->local_dir)
			leg_reinvite(l, l->pending_dir);
	} else if (status == 491) {
		/* Glare (RFC 3261 §14.1): try again a little later. */
		call_ref(c);
		g_timeout_add_full(G_PRIORITY_DEFAULT, 2100 + (guint)g_random_int_range(0, 1900), retry_reinvite, l,
				   ack_timer_unref);
	} else {
		jn_info(c->id, "leg %s: re-INVITE answered %d", l->name, status);
	}
	if ((status < 200 || status >= 300) && l->media == LM_WEBRTC)
		media_reoffer_cancel(l);
}

void leg_reinvite(call_leg *l, sdp_dir dir)
{
	call *c = l->c;
	l->pending_dir = dir;
	if (l->ext) {
		/* No re-offer toward a JSON-channel page yet: it is told in a
		 * state message; the held side simply gets no audio. */
		if (dir != l->local_dir)
			ext_direction(l, dir);
		l->local_dir = dir;
		return;
	}
	if (l->state != LS_UP || l->tx || l->upd_tx || l->reoffer_wait)
		return; /* sent once the exchange in progress ends */
	if (l->media == LM_WEBRTC) {
		l->reoffer_wait = true;
		media_reoffer(l, dir); /* EV_REOFFER -> leg_send_reinvite */
		return;
	}
	char *err = NULL;
	char *sdp = leg_rtp_sdp(l, NULL, dir, NULL, &err);
	if (!sdp) {
		jn_warn(c->id, "leg %s: cannot build a re-offer: %s", l->name, err);
		g_free(err);
		return;
	}
	leg_send_reinvite(l, sdp, dir);
}

void leg_send_reinvite(call_leg *l, char *sdp, sdp_dir dir)
{
	call *c = l->c;
	g_free(l->local_sdp);
	l->local_sdp = sdp;
	l->local_dir = dir;
	l->pending_dir = dir;
	GString *extra = g_string_new(NULL);
	leg_timer_request_headers(l, extra);
	sip_req_opts o = { .contact = l->contact, .content_type = "application/sdp", .extra = extra->str,
			   .body = { sdp, strlen(sdp) } };
	int rc = send_in_dialog(l, SIP_METHOD_INVITE, &o, on_invite_response, c, &l->tx);
	g_string_free(extra, TRUE);
	if (!rc)
		hold_call(l->tx, c);
	if (rc) {
		l->tx = NULL;
		if (l->media == LM_WEBRTC)
			media_reoffer_cancel(l);
		jn_warn(c->id, "leg %s: cannot send re-INVITE: %s", l->name, strerror(rc));
		return;
	}
	l->cseq = o.cseq;
	l->reinvite = true;
	jn_info(c->id, "leg %s: re-INVITE (%s)", l->name, sdp_dir_name(dir));
}

/* ---- requests in the dialog ---- */

static sdp_dir audio_dir(const sdp_session *s)
{
	for (size_t i = 0; i < s->n_media; i++)
		if (s->media[i].type == SDP_MEDIA_AUDIO && s->media[i].port)
			return s->media[i].dir;
	return SDP_DIR_INACTIVE;
}

/* A direction change from l goes across as our re-INVITE to the other leg. */
static void pass_direction(call_leg *l, sdp_dir d)
{
	if (d == l->remote_dir)
		return;
	l->remote_dir = d;
	call_leg *o = call_other(l->c, l);
	jn_info(l->c->id, "leg %s: direction %s", l->name, sdp_dir_name(d));
	if (o)
		leg_reinvite(o, d);
}

void leg_update_answered(call_leg *l, const char *sdp)
{
	if (!l->upd_tx)
		return;
	int rc = respond_sdp(l, l->upd_tx, 200, sdp, false);
	if (rc)
		jn_warn(l->c->id, "leg %s: cannot answer the re-offer: %s", l->name, strerror(rc));
	l->upd_tx = NULL;
	if (l->pending_dir != l->local_dir)
		leg_reinvite(l, l->pending_dir);
}

static void handle_offer(call_leg *l, sip_tx *tx, const sip_msg *req)
{
	jn_call_layer *cl = l->c->cl;
	sdp_session *offer = NULL;
	sdp_error se;
	if (sdp_parse(req->body.p, req->body.l, &offer, &se)) {
		call_respond(cl, tx, 488, "Not Acceptable Here (bad SDP)");
		return;
	}
	sdp_dir d = audio_dir(offer);
	if (l->media == LM_WEBRTC) {
		l->upd_tx = tx;
		media_pc_update(l, offer); /* the answer comes back as EV_ANSWER */
		pass_direction(l, d);
		return;
	}
	char *err = NULL;
	sdp_neg neg;
	char *sdp = leg_rtp_sdp(l, offer, l->local_dir, &neg, &err);
	if (!sdp) {
		char reason[160];
		g_snprintf(reason, sizeof reason, "Not Acceptable Here (%s)", err);
		call_respond(cl, tx, 488, reason);
		g_free(err);
		sdp_unref(offer);
		return;
	}
	respond_sdp(l, tx, 200, sdp, false);
	g_free(l->local_sdp);
	l->local_sdp = sdp;
	char *theirs = g_strndup(req->body.p, req->body.l);
	media_set_remote(l, theirs);
	g_free(theirs);
	sdp_unref(offer);
	pass_direction(l, d);
}

/* DTMF in INFO (application/dtmf-relay or application/dtmf): the key goes
 * to the other leg, as INFO or as RFC 4733 as that leg wants. */
static void handle_info(call_leg *l, sip_tx *tx, const sip_msg *req)
{
	jn_call_layer *cl = l->c->cl;
	char digit = 0;
	uint32_t dur = 0;
	int rc = sip_info_parse(req->content_type, req->body, &digit, &dur);
	if (rc == ENOTSUP || !req->body.l) {
		call_respond(cl, tx, 200, NULL); /* other INFO packages: accepted, ignored */
		return;
	}
	if (rc || digit == 'R') {
		call_respond(cl, tx, rc ? 400 : 200, rc ? "Bad Request (no DTMF signal)" : NULL);
		return;
	}
	if (dur < 40 || dur > 5000)
		dur = dur ? (dur < 40 ? 40 : 5000) : 160;
	call_respond(cl, tx, 200, NULL);
	call_leg *o = call_other(l->c, l);
	jn_info(l->c->id, "leg %s: key %c (INFO)", l->name, digit);
	if (!o)
		return;
	if (o->dtmf_info)
		leg_send_info_digit(o, digit, dur);
	else
		media_send_digit(l->c, o, digit, dur);
}

void leg_send_info_digit(call_leg *l, char digit, unsigned duration_ms)
{
	if (l->ext) {
		ext_dtmf(l, digit);
		return;
	}
	sip_buf b;
	sip_buf_init(&b, 256);
	if (sip_info_put_relay(&b, digit, duration_ms)) {
		sip_buf_free(&b);
		return;
	}
	sip_req_opts o = { .content_type = "application/dtmf-relay", .body = { b.p, b.len } };
	int rc = send_in_dialog(l, SIP_METHOD_INFO, &o, NULL, NULL, NULL);
	if (rc)
		jn_warn(l->c->id, "leg %s: cannot send INFO: %s", l->name, strerror(rc));
	sip_buf_free(&b);
}

void leg_notify_sipfrag(call_leg *l, uint32_t refer_cseq, uint16_t code, const char *reason, bool terminated)
{
	sip_buf h, body;
	sip_buf_init(&h, 512);
	sip_buf_init(&body, 256);
	sip_xfer_put_notify_headers(&h, refer_cseq, terminated, 60);
	sip_xfer_put_sipfrag(&body, code, reason);
	char *extra = g_strndup(h.p, h.len);
	sip_req_opts o = { .extra = extra, .content_type = SIP_XFER_SIPFRAG_TYPE, .body = { body.p, body.len } };
	int rc = send_in_dialog(l, SIP_METHOD_NOTIFY, &o, NULL, NULL, NULL);
	if (rc)
		jn_warn(l->c->id, "leg %s: cannot send NOTIFY: %s", l->name, strerror(rc));
	g_free(extra);
	sip_buf_free(&h);
	sip_buf_free(&body);
}

void leg_request(call_leg *l, sip_tx *tx, const sip_msg *req)
{
	call *c = l->c;
	jn_call_layer *cl = c->cl;
	if (req->method == SIP_METHOD_ACK) {
		if (l->state == LS_ANSWERED) {
			l->state = LS_UP;
			if (l->ack_timer) {
				g_source_remove(l->ack_timer);
				l->ack_timer = 0;
			}
			jn_info(c->id, "leg %s: confirmed", l->name);
			/* a hold passed across while we waited for the ACK */
			if (l->pending_dir != l->local_dir)
				leg_reinvite(l, l->pending_dir);
		}
		return;
	}
	if (!tx)
		return;
	if (l->dlg && sip_dialog_receive(l->dlg, req)) {
		call_respond(cl, tx, 500, "CSeq out of order");
		return;
	}
	switch (req->method) {
	case SIP_METHOD_BYE:
		call_respond(cl, tx, 200, NULL);
		if (c->xfer_from == l) {
			/* A blind transferor leaves at once: the transfer goes on. */
			leg_hangup(l, false, 0, NULL);
			media_stop_leg(l);
			call_xfer_transferor_gone(c);
			break;
		}
		call_end(c, l, JN_CDR_NORMAL, 0, l == c->a ? "caller hung up" : "callee hung up");
		break;
	case SIP_METHOD_INVITE:
	case SIP_METHOD_UPDATE:
		if (l->upd_tx || (l->tx && l->reinvite)) {
			call_respond(cl, tx, 491, NULL);
		} else if (leg_timer_on_request(l, req)) {
			leg_respond_timer_error(l, tx, req);
		} else if (!req->body.l) {
			if (req->method == SIP_METHOD_UPDATE)
				call_respond(cl, tx, 200, NULL); /* a session refresh */
			else
				call_respond(cl, tx, 488, "Not Acceptable Here (re-INVITE without an offer)");
		} else {
			handle_offer(l, tx, req);
		}
		break;
	case SIP_METHOD_INFO:
		handle_info(l, tx, req);
		break;
	case SIP_METHOD_OPTIONS:
		call_respond(cl, tx, 200, NULL);
		break;
	case SIP_METHOD_REFER:
		call_xfer_refer(l, tx, req);
		break;
	case SIP_METHOD_NOTIFY:
		call_respond(cl, tx, 200, NULL); /* refer progress from a transferee: noted, not needed */
		break;
	default:
		call_respond(cl, tx, 501, NULL);
		break;
	}
}
