/* call_trunk.c: calls from a browser to a trunk:NAME target.
 *
 * The browser's INVITE stays unanswered while we call the trunk: the
 * browser leg (rtc_pc, not in echo mode) and an RTP leg (rtc_rtp) are made
 * on the call's worker, then an INVITE with an RTP/AVP offer goes to the
 * trunk. Its 200 is ACKed, its answer sets the RTP leg's remote and a
 * jn_mbridge joins the legs (relay or transcode); only then does the
 * browser get its 200. A failure from the trunk goes back to the browser
 * with the trunk's code; BYE from either side goes to the other; a CANCEL
 * from the browser cancels the trunk's INVITE. See docs/calls.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/sdp.h"
#include "server/call_int.h"
#include "server/mbridge.h"
#include "server/workers.h"
#include "sip/sip_auth.h"
#include "sip/sip_stack.h"
#include "util/log.h"
#include "webrtc/rtc_rtp.h"

#define JN_LOG_TAG "call"

#define TRUNK_MAX_CODECS 4

typedef enum {
	TS_NEW = 0,   /* legs being made on the worker */
	TS_CALLING,   /* INVITE sent */
	TS_UP,	      /* 200 received and ACKed */
	TS_DONE,      /* failed, cancelled or hung up */
} trunk_state;

struct call_trunk {
	char name[JN_ROUTE_NAME_MAX + 1];
	char *target;	   /* "trunk:NAME" for the CDR */
	sip_tp_kind kind;
	jn_addr to;
	char *host;
	char *username, *password;
	char *ruri, *from, *to_hdr, *call_id, *contact;
	uint32_t cseq;
	bool auth_tried;
	char *auth_line;
	sip_tx *tx;	   /* the pending INVITE */
	bool cancel_wanted;
	trunk_state state;
	sip_dialog *dlg;
	char *key;	   /* the trunk leg's key in cl->calls */
	uint16_t rtp_port;
	sdp_codec codecs[TRUNK_MAX_CODECS];
	size_t n_codecs;
	char *pc_sdp;	   /* the browser's answer, kept until the trunk answers */
	bool trunk_hung_up;
	bool limit_held;   /* a slot of the trunk's max_calls */
	/* worker side */
	rtc_rtp *rtp;
	jn_mbridge *mb;
	jn_mbridge_stats mst;
	rtc_rtp_stats rst;
	bool have_mst;
	char codec_a[16], codec_b[16];
};

void call_trunk_free(call_trunk *t)
{
	if (!t)
		return;
	g_free(t->target);
	g_free(t->host);
	g_free(t->username);
	g_free(t->password);
	g_free(t->ruri);
	g_free(t->from);
	g_free(t->to_hdr);
	g_free(t->call_id);
	g_free(t->contact);
	g_free(t->auth_line);
	g_free(t->key);
	g_free(t->pc_sdp);
	sip_dialog_free(t->dlg);
	g_free(t);
}

/* ---- worker side ---- */

/* Browser RTP goes into the bridge once it exists (dropped before). */
static void pc_rtp(void *user, const uint8_t *buf, size_t len)
{
	call *c = user;
	if (c->t->mb)
		jn_mbridge_rx(c->t->mb, 0, buf, len);
}

typedef struct {
	call *c;
	rtc_pc_opts po;
	rtc_rtp_opts ro;
} start_job;

static gboolean w_start(gpointer data)
{
	start_job *j = data;
	call *c = j->c;
	if (!c->stopped) {
		char *err = NULL;
		if (rtc_pc_new_from_offer(&j->po, c->offer, &c->pc, &err)) {
			call_post_event(c, EV_FAILED, err ? err : "cannot answer the offer");
		} else if (rtc_rtp_new(&j->ro, &c->t->rtp, &err)) {
			call_post_event(c, EV_FAILED, err ? err : "cannot open an RTP port");
		} else {
			rtc_pc_add_remote_candidate(c->pc, NULL);
			char port[8];
			g_snprintf(port, sizeof port, "%u", rtc_rtp_local_port(c->t->rtp));
			call_post_event(c, EV_RTP_READY, port);
		}
		g_free(err);
	}
	call_unref(c);
	g_free(j);
	return G_SOURCE_REMOVE;
}

typedef struct {
	call *c;
	jn_addr remote;
	bool rtcp_mux;
	jn_mbridge_opts mo;
	char codec[2][16];
	char fmtp[2][256];
} connect_job;

static gboolean w_connect(gpointer data)
{
	connect_job *j = data;
	call *c = j->c;
	call_trunk *t = c->t;
	if (!c->stopped && c->pc && t->rtp) {
		int rc = rtc_rtp_set_remote(t->rtp, &j->remote, NULL, j->rtcp_mux);
		if (!rc)
			rc = jn_mbridge_new(&j->mo, &t->mb);
		if (rc) {
			call_post_event(c, EV_FAILED, "cannot bridge the media");
		} else {
			jn_mbridge_attach_pc(t->mb, 0, c->pc);
			jn_mbridge_attach_rtp(t->mb, 1, t->rtp);
			rtc_rtp_set_clock_rate(t->rtp, j->mo.side[1].clock_rate);
		}
	}
	call_unref(c);
	g_free(j);
	return G_SOURCE_REMOVE;
}

void call_trunk_w_stop(call *c)
{
	call_trunk *t = c->t;
	if (!t)
		return;
	if (t->mb) {
		jn_mbridge_get_stats(t->mb, &t->mst);
		g_strlcpy(t->codec_a, t->mst.codec[0] ? t->mst.codec[0] : "", sizeof t->codec_a);
		g_strlcpy(t->codec_b, t->mst.codec[1] ? t->mst.codec[1] : "", sizeof t->codec_b);
		t->mst.codec[0] = t->mst.codec[1] = NULL;
		t->have_mst = true;
		t->mb = jn_mbridge_free(t->mb);
	}
	if (t->rtp) {
		rtc_rtp_get_stats(t->rtp, &t->rst);
		rtc_rtp_free(t->rtp);
		t->rtp = NULL;
	}
}

/* ---- core side: the SIP leg toward the trunk ---- */

static void send_invite(jn_call_layer *cl, call *c);

static void codec_from_name(const char *n, sdp_codec *out)
{
	if (!g_ascii_strcasecmp(n, "pcmu"))
		*out = (sdp_codec){ "PCMU", 8000, 1, 0, NULL };
	else if (!g_ascii_strcasecmp(n, "pcma"))
		*out = (sdp_codec){ "PCMA", 8000, 1, 8, NULL };
	else if (!g_ascii_strcasecmp(n, "g722"))
		*out = (sdp_codec){ "G722", 8000, 1, 9, NULL };
	else
		*out = (sdp_codec){ "opus", 48000, 2, 111, "minptime=10;useinbandfec=1" };
}

static void local_desc(jn_call_layer *cl, call *c, sdp_local *l)
{
	*l = (sdp_local){ .codecs = c->t->codecs, .n_codecs = c->t->n_codecs, .telephone_event = true,
			  .te_pt = 101, .ptime = 20, .transport = SDP_TRANSPORT_RTP, .addr = cl->rtp_addr,
			  .port = c->t->rtp_port, .origin_user = "junction", .sess_id = 1,
			  .sess_version = 1 };
}

static const char *tp_param(sip_tp_kind k)
{
	return k == SIP_TP_TCP ? ";transport=tcp" : k == SIP_TP_TLS ? ";transport=tls" : "";
}

void call_trunk_start(jn_call_layer *cl, call *c, const char *trunk)
{
	call_trunk *t = g_new0(call_trunk, 1);
	c->t = t;
	g_strlcpy(t->name, trunk, sizeof t->name);
	t->target = g_strdup_printf("trunk:%s", trunk);
	char sec[80];
	g_snprintf(sec, sizeof sec, "trunk:%s", trunk);
	const jn_config *cfg = cl->cfg;
	t->host = g_strdup(jn_config_str(cfg, sec, "host"));
	const char *tps = jn_config_str(cfg, sec, "transport");
	if (!sip_tp_parse(tps, strlen(tps), &t->kind))
		t->kind = SIP_TP_UDP;
	unsigned port = (unsigned)jn_config_int(cfg, sec, "port");
	if (!port)
		port = t->kind == SIP_TP_TLS ? 5061 : 5060;
	t->username = g_strdup(jn_config_str(cfg, sec, "username"));
	t->password = g_strdup(jn_config_str(cfg, sec, "password"));
	char **codecs = jn_config_list(cfg, sec, "codecs");
	for (size_t i = 0; codecs && codecs[i] && t->n_codecs < TRUNK_MAX_CODECS; i++)
		codec_from_name(codecs[i], &t->codecs[t->n_codecs++]);
	g_strfreev(codecs);
	if (jn_addr_parse(t->host, (uint16_t)port, &t->to)) {
		/* Trunks named by DNS are not called yet (IP literals only). */
		call_respond(cl, c->inv_tx, 503, "Service Unavailable (trunk host is not an address)");
		call_end(cl, c, JN_CDR_FAILED, 503, "trunk host is not an address");
		return;
	}
	int lrc = jn_route_limits_acquire(cl->limits, JN_ROUTE_TRUNK, trunk);
	if (lrc) {
		call_respond(cl, c->inv_tx, 503, lrc == EBUSY ? "Service Unavailable (trunk call limit)" : NULL);
		call_end(cl, c, JN_CDR_REJECTED, 503, "trunk call limit");
		return;
	}
	t->limit_held = true;
	const char *from_user = jn_config_str(cfg, sec, "from_user");
	const char *from_domain = jn_config_str(cfg, sec, "from_domain");
	char tag[17], cid[25];
	sip_build_token(tag, 16);
	sip_build_token(cid, 24);
	char hp[300];
	g_snprintf(hp, sizeof hp, "%s:%u", t->host, port);
	if (strchr(t->host, ':'))
		g_snprintf(hp, sizeof hp, "[%s]:%u", t->host, port);
	t->ruri = g_strdup_printf("sip:%s@%s%s", c->number, hp, tp_param(t->kind));
	t->to_hdr = g_strdup_printf("<%s>", t->ruri);
	t->from = g_strdup_printf("<sip:%s@%s>;tag=%s", *from_user ? from_user : c->caller_number,
				  *from_domain ? from_domain : t->host, tag);
	t->call_id = g_strdup(cid);
	sip_transport *tp = sip_stack_transport(cl->sip, t->kind);
	char local[80] = "127.0.0.1";
	if (tp)
		jn_addr_str(&tp->local, local, sizeof local);
	t->contact = g_strdup_printf("<sip:junction@%s%s>", local, tp_param(t->kind));

	start_job *j = g_new0(start_job, 1);
	j->c = call_ref(c);
	j->po = (rtc_pc_opts){
		.cert = cl->cert, .context = jn_worker_context(c->wk),
		.local_addresses = (const char *const *)cl->addrs, .port_min = cl->port_min,
		.port_max = cl->port_max, .stun_server = cl->stun, .turn_server = cl->turn,
		.turn_username = cl->turn_user, .turn_password = cl->turn_pass,
		.consent_timeout = cl->consent_timeout, .echo = false, .id = c->id,
		.answer = call_pc_answer, .rtp = pc_rtp, .state = call_pc_state, .user = c,
	};
	j->ro = (rtc_rtp_opts){ .context = jn_worker_context(c->wk), .address = cl->rtp_addr,
				.port_min = cl->rtp_port_min, .port_max = cl->rtp_port_max,
				.latching = true, .id = c->id };
	jn_worker_post(c->wk, w_start, j);
}

/* Picks what each side negotiated: the browser's from our answer to it
 * (its first format), the trunk's from the answer it sent. */
static bool browser_side(const char *sdp, media_bridge_leg *leg, char *codec, size_t cs, char *fmtp, size_t fs)
{
	sdp_session *s = NULL;
	if (sdp_parse(sdp, strlen(sdp), &s, NULL))
		return false;
	bool ok = false;
	for (size_t i = 0; i < s->n_media && !ok; i++) {
		const sdp_media *m = &s->media[i];
		if (m->type != SDP_MEDIA_AUDIO || !m->port || !m->n_fmts)
			continue;
		const sdp_fmt *f = &m->fmts[0];
		g_snprintf(codec, cs, "%.*s", (int)f->name.l, f->name.p);
		g_snprintf(fmtp, fs, "%.*s", (int)f->fmtp.l, f->fmtp.p);
		*leg = (media_bridge_leg){ .codec = codec, .pt = f->pt, .clock_rate = f->rate,
					   .channels = f->channels, .fmtp = *fmtp ? fmtp : NULL,
					   .te_pt = -1, .cn_pt = -1, .ssrc = g_random_int(),
					   .seq_start = (uint16_t)g_random_int(), .ts_start = g_random_int() };
		/* Our SSRC as announced in the answer: the browser maps it to the
		 * receiver of this m-line (there is no mid extension). */
		if (m->n_ssrcs)
			leg->ssrc = m->ssrcs[0].ssrc;
		for (size_t k = 1; k < m->n_fmts; k++)
			if (sdp_str_ieq(m->fmts[k].name, "telephone-event") && m->fmts[k].rate == f->rate)
				leg->te_pt = m->fmts[k].pt;
		ok = true;
	}
	sdp_unref(s);
	return ok;
}

static void trunk_failed(jn_call_layer *cl, call *c, int status, const char *why)
{
	call_trunk *t = c->t;
	t->state = TS_DONE;
	if (c->state == CS_INVITED && c->inv_tx) {
		uint16_t code = status >= 300 && status < 700 ? (uint16_t)status : 502;
		/* 401/407 from the trunk are ours to answer, not the browser's. */
		if (code == 401 || code == 407)
			code = 403;
		call_respond(cl, c->inv_tx, code, NULL);
		call_end(cl, c, status == 486 || status == 600 ? JN_CDR_BUSY :
				status == 408 || status == 480 ? JN_CDR_NO_ANSWER : JN_CDR_REJECTED,
			 code, why);
	} else {
		call_send_bye(cl, c);
		call_end(cl, c, JN_CDR_FAILED, status, why);
	}
}

/* Answers a 401/407 once with the trunk's credentials. */
static bool answer_challenge(call_trunk *t, const sip_msg *m, bool proxy)
{
	sip_auth_client_opts ao = { .username = t->username, .password = t->password, .method = "INVITE",
				    .uri = t->ruri };
	char *line = sip_stack_auth_line(m, proxy, &ao);
	if (!line)
		return false;
	g_free(t->auth_line);
	t->auth_line = line;
	return true;
}

/* The request we sent, parsed, for sip_dialog_new_uac. */
static sip_msg *sent_request(call_trunk *t)
{
	char *txt = g_strdup_printf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\n"
				    "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %u INVITE\r\nContact: %s\r\n"
				    "Content-Length: 0\r\n\r\n", t->ruri, t->from, t->to_hdr, t->call_id,
				    t->cseq, t->contact);
	sip_msg *m = NULL;
	sip_parse_err pe;
	if (sip_msg_parse(txt, strlen(txt), &m, &pe))
		m = NULL;
	g_free(txt);
	return m;
}

static void send_ack(jn_call_layer *cl, call *c)
{
	call_trunk *t = c->t;
	sip_req_opts o = { .cseq = t->cseq };
	g_string_truncate(cl->scratch, 0);
	sip_dialog_fill_request(t->dlg, SIP_METHOD_ACK, &o, cl->scratch);
	o.cseq = t->cseq;
	jn_addr to = t->to;
	sip_dialog_next_hop(t->dlg, &to);
	if (sip_stack_send_stateless(cl->sip, t->kind, NULL, &to, &o))
		jn_warn(c->id, "cannot send ACK to trunk %s", t->name);
}

static void send_trunk_bye(jn_call_layer *cl, call *c)
{
	call_trunk *t = c->t;
	if (!t->dlg)
		return;
	sip_req_opts o = { 0 };
	g_string_truncate(cl->scratch, 0);
	sip_dialog_fill_request(t->dlg, SIP_METHOD_BYE, &o, cl->scratch);
	jn_addr to = t->to;
	sip_dialog_next_hop(t->dlg, &to);
	if (sip_stack_send_request(cl->sip, t->kind, NULL, &to, &o, NULL, NULL, NULL))
		jn_warn(c->id, "cannot send BYE to trunk %s", t->name);
}

/* Both answers are in: the browser gets its 200. */
static void maybe_answer(jn_call_layer *cl, call *c)
{
	call_trunk *t = c->t;
	if (t->state == TS_UP && t->pc_sdp && c->state == CS_INVITED) {
		char *sdp = t->pc_sdp;
		t->pc_sdp = NULL;
		call_answer_browser(cl, c, sdp);
		g_free(sdp);
	}
}

static void on_200(jn_call_layer *cl, call *c, const sip_msg *m)
{
	call_trunk *t = c->t;
	sip_msg *req = sent_request(t);
	t->dlg = req ? sip_dialog_new_uac(req, m) : NULL;
	sip_msg_unref(req);
	if (!t->dlg) {
		trunk_failed(cl, c, 502, "trunk 200 without To tag or Contact");
		return;
	}
	t->state = TS_UP;
	send_ack(cl, c);
	t->key = g_strdup_printf("%s|%s", t->call_id, sip_dialog_remote_tag(t->dlg));
	g_hash_table_insert(cl->calls, t->key, c);
	sdp_session *ans = NULL;
	sdp_neg neg;
	sdp_error se;
	sdp_local l;
	local_desc(cl, c, &l);
	if (!m->body.l || sdp_parse(m->body.p, m->body.l, &ans, &se) ||
	    sdp_process_answer(ans, &l, &neg, &se) || neg.audio < 0) {
		sdp_unref(ans);
		jn_warn(c->id, "trunk %s: unusable SDP answer", t->name);
		send_trunk_bye(cl, c);
		t->state = TS_DONE;
		trunk_failed(cl, c, 488, "trunk answer not usable");
		return;
	}
	const sdp_neg_media *nm = &neg.media[neg.audio];
	connect_job *j = g_new0(connect_job, 1);
	j->c = call_ref(c);
	char ip[64];
	g_snprintf(ip, sizeof ip, "%.*s", (int)nm->remote_addr.l, nm->remote_addr.p);
	jn_addr_parse(ip, nm->remote_port, &j->remote);
	j->rtcp_mux = nm->rtcp_mux;
	if (!t->pc_sdp || !browser_side(t->pc_sdp, &j->mo.side[0], j->codec[0], sizeof j->codec[0], j->fmtp[0],
					 sizeof j->fmtp[0]))
		j->mo.side[0] = (media_bridge_leg){ .codec = "opus", .pt = 111, .clock_rate = 48000, .channels = 2,
						    .te_pt = -1, .cn_pt = -1, .ssrc = g_random_int() };
	g_snprintf(j->codec[1], sizeof j->codec[1], "%.*s", (int)nm->codec.l, nm->codec.p);
	j->mo.side[1] = (media_bridge_leg){ .codec = j->codec[1], .pt = (uint8_t)nm->pt, .clock_rate = nm->rate,
					    .channels = nm->channels, .te_pt = nm->te_pt, .cn_pt = -1,
					    .ssrc = g_random_int(), .seq_start = (uint16_t)g_random_int(),
					    .ts_start = g_random_int(), .send_silence = true };
	j->mo.context = jn_worker_context(c->wk);
	j->mo.id = c->id;
	sdp_unref(ans);
	jn_info(c->id, "trunk %s answered (%s/%u)", t->name, j->codec[1], nm->rate);
	jn_worker_post(c->wk, w_connect, j);
	maybe_answer(cl, c);
}

static void on_response(void *user, sip_tx *tx, int status, const char *data, size_t len)
{
	call *c = user;
	jn_call_layer *cl = c->cl;
	call_trunk *t = c->t;
	(void)tx;
	if (status < 200) {
		if (t->cancel_wanted && t->tx && status > 100) {
			sip_stack_cancel(cl->sip, t->tx, NULL, NULL);
			t->cancel_wanted = false;
		}
		return;
	}
	t->tx = NULL;
	sip_msg *m = NULL;
	sip_parse_err pe;
	if (data && sip_msg_parse(data, len, &m, &pe))
		m = NULL;
	if (!cl || c->state == CS_ENDED || t->state == TS_DONE) {
		/* The browser left: a late 200 still needs its ACK and a BYE. */
		if (cl && status < 300 && m) {
			sip_msg *req = sent_request(t);
			t->dlg = req ? sip_dialog_new_uac(req, m) : NULL;
			sip_msg_unref(req);
			if (t->dlg) {
				send_ack(cl, c);
				send_trunk_bye(cl, c);
			}
		}
	} else if (status < 300 && m) {
		on_200(cl, c, m);
	} else if ((status == 401 || status == 407) && m && !t->auth_tried && *t->username &&
		   answer_challenge(t, m, status == 407)) {
		t->auth_tried = true;
		send_invite(cl, c);
	} else {
		jn_info(c->id, "trunk %s answered %d", t->name, status);
		char why[80];
		g_snprintf(why, sizeof why, "trunk %s answered %d", t->name, status);
		trunk_failed(cl, c, status, why);
	}
	sip_msg_unref(m);
	call_unref(c);
}

static void send_invite(jn_call_layer *cl, call *c)
{
	call_trunk *t = c->t;
	sdp_local l;
	local_desc(cl, c, &l);
	GString *sdp = g_string_new(NULL);
	sdp_error se;
	if (sdp_offer(&l, sdp, &se)) {
		g_string_free(sdp, TRUE);
		trunk_failed(cl, c, 500, "cannot build the trunk offer");
		return;
	}
	t->cseq++;
	sip_req_opts q = { .method = SIP_METHOD_INVITE, .ruri = t->ruri, .from = t->from, .to = t->to_hdr,
			   .call_id = t->call_id, .cseq = t->cseq, .contact = t->contact,
			   .extra = t->auth_line, .content_type = "application/sdp",
			   .body = { sdp->str, sdp->len } };
	int rc = sip_stack_send_request(cl->sip, t->kind, NULL, &t->to, &q, on_response, call_ref(c), &t->tx);
	g_string_free(sdp, TRUE);
	if (rc) {
		call_unref(c);
		trunk_failed(cl, c, 503, "cannot send the INVITE to the trunk");
		return;
	}
	t->state = TS_CALLING;
	jn_info(c->id, "INVITE to trunk %s (%s)", t->name, t->ruri);
}

bool call_trunk_event(jn_call_layer *cl, call *c, int kind, const char *text)
{
	call_trunk *t = c->t;
	if (kind == EV_RTP_READY) {
		t->rtp_port = (uint16_t)atoi(text);
		if (t->state == TS_NEW)
			send_invite(cl, c);
		return true;
	}
	if (kind == EV_ANSWER && c->state == CS_INVITED) {
		g_free(t->pc_sdp);
		t->pc_sdp = g_strdup(text);
		/* The browser checks ICE only once it has our answer: give it
		 * in a 183 so the browser leg is up while the trunk rings (its
		 * ICE would give up otherwise). The 200 repeats it. */
		if (t->state != TS_UP)
			call_progress_browser(cl, c, text);
		maybe_answer(cl, c);
		return true;
	}
	return false;
}

void call_trunk_end(jn_call_layer *cl, call *c)
{
	call_trunk *t = c->t;
	if (t->key)
		g_hash_table_remove(cl->calls, t->key);
	if (t->limit_held)
		jn_route_limits_release(cl->limits, JN_ROUTE_TRUNK, t->name);
	t->limit_held = false;
	if (t->trunk_hung_up) {
		t->state = TS_DONE;
		return;
	}
	if (t->state == TS_CALLING && t->tx) {
		/* A CANCEL needs a provisional first (§9.1): else it waits for one. */
		if (sip_stack_cancel(cl->sip, t->tx, NULL, NULL))
			t->cancel_wanted = true;
	} else if (t->state == TS_UP) {
		send_trunk_bye(cl, c);
	}
	t->state = TS_DONE;
}

bool call_trunk_request(jn_call_layer *cl, sip_tx *tx, const sip_msg *req)
{
	char *k = g_strdup_printf("%.*s|%.*s", (int)req->call_id.l, req->call_id.p, (int)req->from.tag.l,
				  req->from.tag.p);
	call *c = g_hash_table_lookup(cl->calls, k);
	g_free(k);
	if (!c || !c->t || !c->t->key || !c->t->dlg || !sip_dialog_matches(c->t->dlg, req))
		return false;
	if (!tx)
		return true; /* an ACK: we never answer the trunk's INVITEs with 2xx */
	if (sip_dialog_receive(c->t->dlg, req)) {
		call_respond(cl, tx, 500, "CSeq out of order");
		return true;
	}
	if (req->method == SIP_METHOD_BYE) {
		call_respond(cl, tx, 200, NULL);
		c->t->trunk_hung_up = true;
		if (c->state == CS_INVITED && c->inv_tx)
			call_respond(cl, c->inv_tx, 480, "Temporarily Unavailable (trunk hung up)");
		else
			call_send_bye(cl, c);
		call_end(cl, c, JN_CDR_NORMAL, 0, "callee hung up");
	} else {
		call_respond(cl, tx, 501, NULL);
	}
	return true;
}

void call_trunk_cdr(const call *c, jn_cdr_record *r)
{
	const call_trunk *t = c->t;
	r->target = t->target;
	if (!t->have_mst)
		return;
	r->media = t->mst.relay ? JN_CDR_MEDIA_RELAY : JN_CDR_MEDIA_TRANSCODE;
	if (r->legs[0].kind)
		r->legs[0].codec = *t->codec_a ? t->codec_a : r->legs[0].codec;
	r->legs[1] = (jn_cdr_leg){ .kind = "rtp", .codec = *t->codec_b ? t->codec_b : NULL,
				   .packets_sent = t->rst.rtp_out, .packets_received = t->rst.rtp_in,
				   .bytes_sent = t->rst.bytes_out, .bytes_received = t->rst.bytes_in,
				   .packets_lost = t->rst.lost > 0 ? (uint64_t)t->rst.lost : 0 };
}
