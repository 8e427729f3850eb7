/* call_media.c: the worker side of a call. Each function here posts a job
 * to the call's worker; the job owns the leg's rtc_pc / rtc_rtp and the
 * call's bridge, and reports back with call_post_event. Also the pure
 * helper that reads what a leg negotiated from its two SDPs. */
#include <stdlib.h>
#include <string.h>

#include "server/call_int.h"
#include "server/workers.h"
#include "util/log.h"

#define JN_LOG_TAG "call"

/* ---- what a leg negotiated ---- */

static const sdp_media *first_audio(const sdp_session *s)
{
	for (size_t i = 0; s && i < s->n_media; i++)
		if (s->media[i].type == SDP_MEDIA_AUDIO && s->media[i].port && s->media[i].n_fmts)
			return &s->media[i];
	return NULL;
}

/* The answer's first format is the codec in use; its fmtp is taken from
 * the remote's SDP (how the remote wants to receive it); our SSRC from our
 * a=ssrc (browsers map it to the m-line's receiver). */
bool media_desc_from_sdp(call_leg *l, const char *ours, const char *theirs)
{
	sdp_session *o = NULL, *t = NULL;
	bool ok = false;
	if (!ours || !theirs || sdp_parse(ours, strlen(ours), &o, NULL) || sdp_parse(theirs, strlen(theirs), &t, NULL))
		goto out;
	const sdp_media *mo = first_audio(o), *mt = first_audio(t);
	if (!mo || !mt)
		goto out;
	const sdp_media *ans = l->role == LEG_UAS ? mo : mt;
	const sdp_fmt *f = &ans->fmts[0];
	g_snprintf(l->codec, sizeof l->codec, "%.*s", (int)f->name.l, f->name.p);
	const sdp_fmt *rf = sdp_media_fmt(mt, f->pt);
	g_snprintf(l->fmtp, sizeof l->fmtp, "%.*s", rf ? (int)rf->fmtp.l : 0, rf ? rf->fmtp.p : "");
	l->desc = (media_bridge_leg){ .codec = l->codec, .pt = (uint8_t)f->pt, .clock_rate = f->rate,
				      .channels = f->channels, .fmtp = *l->fmtp ? l->fmtp : NULL,
				      .te_pt = -1, .cn_pt = -1, .ssrc = g_random_int(),
				      .seq_start = (uint16_t)g_random_int(), .ts_start = g_random_int(),
				      .dtmf_as_digits = l->dtmf_info, .send_silence = l->media == LM_RTP,
				      .ptime_ms = mt->ptime == 30 ? 30 : 0 };
	if (mo->n_ssrcs)
		l->desc.ssrc = mo->ssrcs[0].ssrc;
	for (size_t k = 1; k < ans->n_fmts; k++)
		if (sdp_str_ieq(ans->fmts[k].name, "telephone-event") && ans->fmts[k].rate == f->rate)
			l->desc.te_pt = ans->fmts[k].pt;
	l->have_desc = true;
	ok = true;
out:
	sdp_unref(o);
	sdp_unref(t);
	return ok;
}

/* ---- worker jobs ---- */

typedef struct {
	call_leg *l;
	call *c;
	bool echo, sdes, srtp_required, trickle;
	rtc_pc_opts po;
	rtc_rtp_opts ro;
	char *sdp;
	sdp_session *offer;
	call_leg *x, *y;
	media_bridge_leg dx, dy;
	char cx[16], cy[16], fx[256], fy[256];
	char digit;
	unsigned duration;
} job;

static job *job_new(call *c, call_leg *l)
{
	job *j = g_new0(job, 1);
	j->c = call_ref(c);
	j->l = l;
	return j;
}

static void job_free(job *j)
{
	g_free(j->sdp);
	sdp_unref(j->offer);
	call_unref(j->c);
	g_free(j);
}

/* Browser RTP goes into the bridge once the leg is part of one. */
static void pc_rtp(void *user, const uint8_t *buf, size_t len)
{
	call_leg *l = user;
	if (l->w_mb && l->w_side >= 0)
		jn_mbridge_rx(l->w_mb, l->w_side, buf, len);
}

static void pc_answer(void *user, const char *sdp)
{
	call_leg *l = user;
	call_post_event(l->c, l, EV_ANSWER, sdp);
}

static void pc_offer(void *user, const char *sdp)
{
	call_leg *l = user;
	call_post_event(l->c, l, EV_OFFER, sdp);
}

static void pc_candidate(void *user, const char *cand)
{
	call_leg *l = user;
	call_post_event(l->c, l, EV_CANDIDATE, cand);
}

static void pc_state(void *user, rtc_pc_state st, const char *reason)
{
	call_leg *l = user;
	if (st == RTC_PC_CONNECTED)
		jn_info(l->c->id, "leg %s: browser media connected", l->name);
	else if (st == RTC_PC_CLOSED)
		call_post_event(l->c, l, EV_CLOSED, reason);
}

/* A plain SIP phone calling echo: every packet goes back to where it came
 * from (the leg latches onto its source). */
static void rtp_echo(void *user, uint8_t *buf, size_t len, size_t cap)
{
	call_leg *l = user;
	if (l->rtp)
		rtc_rtp_send(l->rtp, buf, len, cap);
}

static gboolean w_start(gpointer data)
{
	job *j = data;
	call_leg *l = j->l;
	call *c = j->c;
	if (!c->stopped && !l->w_stopped) {
		char *err = NULL;
		int rc;
		if (l->media == LM_WEBRTC) {
			rc = l->role == LEG_UAS ? rtc_pc_new_from_offer(&j->po, l->offer, &l->pc, &err)
						: rtc_pc_new_offer(&j->po, &l->pc, &err);
			if (rc)
				call_post_event(c, l, EV_FAILED, err ? err : "cannot make the peer connection");
			else if (l->role == LEG_UAS && !j->trickle)
				rtc_pc_add_remote_candidate(l->pc, NULL); /* SIP offers carry every candidate */
		} else {
			rc = rtc_rtp_new(&j->ro, &l->rtp, &err);
			if (rc) {
				call_post_event(c, l, EV_FAILED, err ? err : "cannot open an RTP port");
			} else {
				if (j->echo)
					rtc_rtp_set_receiver(l->rtp, rtp_echo, l);
				/* "PORT" or "PORT KEY-LINE" when this leg may use SDES */
				char txt[160], line[128] = "";
				if (j->sdes && rtc_rtp_crypto_local(l->rtp, 1, RTC_RTP_AES_CM_128_HMAC_SHA1_80, line,
								    sizeof line))
					line[0] = 0;
				g_snprintf(txt, sizeof txt, "%u%s%s", rtc_rtp_local_port(l->rtp), *line ? " " : "", line);
				call_post_event(c, l, EV_RTP_READY, txt);
			}
		}
		g_free(err);
	}
	job_free(j);
	return G_SOURCE_REMOVE;
}

void media_start(call_leg *l, bool echo)
{
	call *c = l->c;
	jn_call_layer *cl = c->cl;
	job *j = job_new(c, l);
	j->echo = echo;
	j->sdes = l->srtp != CALL_SRTP_OFF;
	j->trickle = l->trickle;
	j->po = (rtc_pc_opts){
		.cert = cl->cert, .context = jn_worker_context(c->wk),
		.local_addresses = (const char *const *)cl->addrs, .port_min = cl->port_min,
		.port_max = cl->port_max, .stun_server = cl->stun, .turn_server = cl->turn,
		.turn_username = cl->turn_user, .turn_password = cl->turn_pass,
		.consent_timeout = cl->consent_timeout, .echo = echo, .id = c->id,
		.answer = pc_answer, .offer = pc_offer, .rtp = pc_rtp, .state = pc_state,
		.candidate = l->ext ? pc_candidate : NULL, .user = l,
	};
	j->ro = (rtc_rtp_opts){ .context = jn_worker_context(c->wk), .address = cl->rtp_addr,
				.port_min = cl->rtp_port_min, .port_max = cl->rtp_port_max,
				.latching = true, .id = c->id };
	jn_worker_post(c->wk, w_start, j);
}

/* The peer's SDES key for what it sends us (the first suite we have), or
 * plain RTP when it gave none (refused if SRTP is required). */
static void set_crypto(call *c, call_leg *l, const sdp_media *m, bool required)
{
	for (size_t i = 0; i < m->n_cryptos; i++) {
		const sdp_crypto *k = &m->cryptos[i];
		char v[256];
		g_snprintf(v, sizeof v, "%u %.*s inline:%.*s%s%.*s%s%.*s%s%.*s", k->tag, (int)k->suite.l, k->suite.p,
			   (int)k->key.l, k->key.p, k->lifetime.l ? "|" : "", (int)k->lifetime.l, k->lifetime.p,
			   k->mki.l ? "|" : "", (int)k->mki.l, k->mki.p, k->params.l ? " " : "", (int)k->params.l,
			   k->params.p);
		unsigned tag;
		rtc_rtp_suite suite;
		if (rtc_rtp_crypto_remote(l->rtp, v, &tag, &suite) == 0)
			return;
	}
	if (required)
		call_post_event(c, l, EV_FAILED, "no usable SDES key (srtp = required)");
	else
		rtc_rtp_crypto_off(l->rtp);
}

static gboolean w_set_remote(gpointer data)
{
	job *j = data;
	call_leg *l = j->l;
	call *c = j->c;
	if (!c->stopped && !l->w_stopped) {
		sdp_session *s = NULL;
		sdp_error se;
		char *err = NULL;
		int rc = sdp_parse(j->sdp, strlen(j->sdp), &s, &se);
		if (rc) {
			call_post_event(c, l, EV_FAILED, se.reason);
		} else if (l->pc) {
			/* Only answers to our offers (first or re-offer) come here. */
			if (rtc_pc_set_answer(l->pc, s, &err))
				call_post_event(c, l, EV_FAILED, err ? err : "answer refused");
		} else if (l->rtp) {
			const sdp_media *m = first_audio(s);
			if (m) {
				sdp_conn cn = m->conn.addr.l ? m->conn : s->conn;
				char ip[64];
				g_snprintf(ip, sizeof ip, "%.*s", (int)cn.addr.l, cn.addr.p);
				jn_addr a, rc_addr;
				if (!jn_addr_parse(ip, m->port, &a)) {
					bool have_rtcp = false;
					if (!m->rtcp_mux) {
						rc_addr = a;
						jn_addr_set_port(&rc_addr, m->rtcp_port ? m->rtcp_port : (uint16_t)(m->port + 1));
						have_rtcp = true;
					}
					rtc_rtp_set_remote(l->rtp, &a, have_rtcp ? &rc_addr : NULL, m->rtcp_mux);
				}
				if (m->n_fmts)
					rtc_rtp_set_clock_rate(l->rtp, m->fmts[0].rate);
				/* a peer that is sendonly or inactive receives nothing from us */
				rtc_rtp_set_send(l->rtp, m->dir == SDP_DIR_SENDRECV || m->dir == SDP_DIR_RECVONLY);
				set_crypto(c, l, m, j->srtp_required);
			}
		}
		g_free(err);
		sdp_unref(s);
	}
	job_free(j);
	return G_SOURCE_REMOVE;
}

void media_set_remote(call_leg *l, const char *sdp)
{
	job *j = job_new(l->c, l);
	j->sdes = l->srtp != CALL_SRTP_OFF;
	j->srtp_required = l->srtp == CALL_SRTP_REQUIRED;
	j->sdp = g_strdup(sdp);
	jn_worker_post(l->c->wk, w_set_remote, j);
}

static void mb_digit(void *user, int from_side, char digit, bool end, unsigned duration_ms)
{
	call *c = user;
	call_leg *to = from_side == 0 || from_side == 1 ? c->w_leg[1 - from_side] : NULL;
	if (!end || !to)
		return;
	/* The key goes to the other side's leg, which wants SIP INFO. */
	char t[24];
	g_snprintf(t, sizeof t, "%c %u", digit, duration_ms);
	call_post_event(c, to, EV_DIGIT, t);
}

/* Worker: the bridge goes, its legs are told where the stream we send
 * them stands, so a later bridge continues it (no sequence jump back: a
 * peer drops those as late or duplicate). */
static void w_unbridge(call *c)
{
	uint64_t now = (uint64_t)g_get_monotonic_time();
	for (int s = 0; s < 2; s++)
		if (c->w_leg[s]) {
			if (c->mb) {
				media_bridge_resume_point(jn_mbridge_media(c->mb), s, now, &c->w_leg[s]->w_seq,
							  &c->w_leg[s]->w_ts);
				c->w_leg[s]->w_resume = true;
			}
			c->w_leg[s]->w_mb = NULL;
			c->w_leg[s]->w_side = -1;
			c->w_leg[s] = NULL;
		}
	c->mb = jn_mbridge_free(c->mb);
}

static void attach(call *c, call_leg *l, int side, unsigned clock_rate)
{
	l->w_side = side;
	l->w_mb = c->mb;
	c->w_leg[side] = l;
	if (l->pc) {
		jn_mbridge_attach_pc(c->mb, side, l->pc);
	} else if (l->rtp) {
		jn_mbridge_attach_rtp(c->mb, side, l->rtp);
		rtc_rtp_set_clock_rate(l->rtp, clock_rate ? clock_rate : 8000);
	}
}

static gboolean w_bridge(gpointer data)
{
	job *j = data;
	call *c = j->c;
	if (!c->stopped && !j->x->w_stopped && !j->y->w_stopped) {
		w_unbridge(c);
		jn_mbridge_opts mo = { .context = jn_worker_context(c->wk), .id = c->id,
				       .side = { j->dx, j->dy }, .digit = mb_digit, .user = c };
		mo.side[0].codec = j->cx;
		mo.side[1].codec = j->cy;
		mo.side[0].fmtp = *j->fx ? j->fx : NULL;
		mo.side[1].fmtp = *j->fy ? j->fy : NULL;
		call_leg *xy[2] = { j->x, j->y };
		for (int s = 0; s < 2; s++)
			if (xy[s]->w_resume) {
				mo.side[s].seq_start = xy[s]->w_seq;
				mo.side[s].ts_start = xy[s]->w_ts;
			}
		if (jn_mbridge_new(&mo, &c->mb)) {
			call_post_event(c, j->x, EV_FAILED, "cannot bridge the media");
		} else {
			attach(c, j->x, 0, j->dx.clock_rate);
			attach(c, j->y, 1, j->dy.clock_rate);
		}
	}
	job_free(j);
	return G_SOURCE_REMOVE;
}

void media_bridge_legs(call *c, call_leg *x, call_leg *y)
{
	job *j = job_new(c, x);
	j->x = x;
	j->y = y;
	j->dx = x->desc;
	j->dy = y->desc;
	g_strlcpy(j->cx, x->codec, sizeof j->cx);
	g_strlcpy(j->cy, y->codec, sizeof j->cy);
	g_strlcpy(j->fx, x->fmtp, sizeof j->fx);
	g_strlcpy(j->fy, y->fmtp, sizeof j->fy);
	jn_info(c->id, "bridge %s (%s) <-> %s (%s)", x->name, x->codec, y->name, y->codec);
	jn_worker_post(c->wk, w_bridge, j);
}

static gboolean w_pc_update(gpointer data)
{
	job *j = data;
	char *err = NULL;
	if (!j->l->pc || rtc_pc_update(j->l->pc, j->offer, &err))
		call_post_event(j->c, j->l, EV_FAILED, err ? err : "no media");
	g_free(err);
	job_free(j);
	return G_SOURCE_REMOVE;
}

void media_pc_update(call_leg *l, sdp_session *offer)
{
	job *j = job_new(l->c, l);
	j->offer = offer;
	jn_worker_post(l->c->wk, w_pc_update, j);
}

static gboolean w_reoffer(gpointer data)
{
	job *j = data;
	call_leg *l = j->l;
	char *sdp = NULL, *err = NULL;
	if (l->pc && !l->w_stopped) {
		rtc_pc_set_dir(l->pc, (sdp_dir)j->duration);
		if (rtc_pc_reoffer(l->pc, (sdp_dir)j->duration, &sdp, &err))
			jn_info(j->c->id, "leg %s: no re-offer: %s", l->name, err ? err : "?");
	}
	call_post_event(j->c, l, EV_REOFFER, sdp);
	g_free(sdp);
	g_free(err);
	job_free(j);
	return G_SOURCE_REMOVE;
}

void media_reoffer(call_leg *l, sdp_dir dir)
{
	job *j = job_new(l->c, l);
	j->duration = (unsigned)dir;
	jn_worker_post(l->c->wk, w_reoffer, j);
}

static gboolean w_reoffer_cancel(gpointer data)
{
	job *j = data;
	if (j->l->pc && !j->l->w_stopped)
		rtc_pc_reoffer_cancel(j->l->pc);
	job_free(j);
	return G_SOURCE_REMOVE;
}

void media_reoffer_cancel(call_leg *l)
{
	jn_worker_post(l->c->wk, w_reoffer_cancel, job_new(l->c, l));
}

static gboolean w_candidate(gpointer data)
{
	job *j = data;
	if (j->l->pc && !j->l->w_stopped && rtc_pc_add_remote_candidate(j->l->pc, j->sdp))
		jn_debug(j->c->id, "leg %s: remote candidate ignored", j->l->name);
	job_free(j);
	return G_SOURCE_REMOVE;
}

void media_add_candidate(call_leg *l, const char *cand)
{
	job *j = job_new(l->c, l);
	j->sdp = g_strdup(cand);
	jn_worker_post(l->c->wk, w_candidate, j);
}

static gboolean w_digit(gpointer data)
{
	job *j = data;
	if (j->l->w_mb && j->l->w_side >= 0 && jn_mbridge_send_digit(j->l->w_mb, j->l->w_side, j->digit, j->duration))
		jn_info(j->c->id, "leg %s: key %c not sent (no telephone-event)", j->l->name, j->digit);
	job_free(j);
	return G_SOURCE_REMOVE;
}

void media_send_digit(call *c, call_leg *l, char digit, unsigned duration_ms)
{
	job *j = job_new(c, l);
	j->digit = digit;
	j->duration = duration_ms;
	jn_worker_post(c->wk, w_digit, j);
}

/* Counters for the record, then the media goes. */
static void w_free_leg(call *c, call_leg *l)
{
	if (l->w_stopped)
		return;
	l->w_stopped = true;
	if (l->w_mb && l->w_mb == c->mb)
		w_unbridge(c);
	if (l->pc) {
		rtc_pc_stats st;
		rtc_pc_get_stats(l->pc, &st);
		g_strlcpy(l->st_codec, st.codec ? st.codec : "", sizeof l->st_codec);
		l->st = (jn_cdr_leg){ .kind = "webrtc", .packets_sent = st.rtp_out, .packets_received = st.rtp_in,
				      .bytes_sent = st.bytes_out, .bytes_received = st.bytes_in };
		l->have_stats = true;
		rtc_pc_free(l->pc);
		l->pc = NULL;
	}
	if (l->rtp) {
		rtc_rtp_stats st;
		rtc_rtp_get_stats(l->rtp, &st);
		l->st = (jn_cdr_leg){ .kind = st.srtp ? "srtp" : "rtp", .packets_sent = st.rtp_out,
				      .packets_received = st.rtp_in, .bytes_sent = st.bytes_out,
				      .bytes_received = st.bytes_in,
				      .packets_lost = st.lost > 0 ? (uint64_t)st.lost : 0 };
		l->have_stats = true;
		rtc_rtp_free(l->rtp);
		l->rtp = NULL;
	}
}

static gboolean w_stop_leg(gpointer data)
{
	job *j = data;
	w_free_leg(j->c, j->l);
	job_free(j);
	return G_SOURCE_REMOVE;
}

void media_stop_leg(call_leg *l)
{
	jn_worker_post(l->c->wk, w_stop_leg, job_new(l->c, l));
}

static gboolean w_unbridge_job(gpointer data)
{
	call *c = data;
	w_unbridge(c);
	call_unref(c);
	return G_SOURCE_REMOVE;
}

void media_unbridge(call *c)
{
	jn_worker_post(c->wk, w_unbridge_job, call_ref(c));
}

static gboolean w_stop_call(gpointer data)
{
	call *c = data;
	c->stopped = true;
	if (c->mb) {
		jn_mbridge_get_stats(c->mb, &c->mst);
		for (int s = 0; s < 2; s++) {
			g_strlcpy(c->mcodec[s], c->mst.codec[s] ? c->mst.codec[s] : "", sizeof c->mcodec[s]);
			c->mst.codec[s] = NULL;
		}
		c->have_mst = true;
		w_unbridge(c);
	}
	for (size_t i = 0; i < c->n_legs; i++)
		w_free_leg(c, c->legs[i]);
	jn_worker_add_load(c->wk, -1);
	call_post_event(c, NULL, EV_FINISHED, NULL);
	call_unref(c);
	return G_SOURCE_REMOVE;
}

void media_stop_call(call *c)
{
	jn_worker_post(c->wk, w_stop_call, call_ref(c));
}
