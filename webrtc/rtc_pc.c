#include "webrtc/rtc_pc.h"

#include <errno.h>
#include <string.h>

#include "media/rtp.h"
#include "util/log.h"
#include "webrtc/rtc_ice.h"
#include "webrtc/rtc_int.h"
#include "webrtc/rtc_srtp.h"

#define JN_LOG_TAG "pc"

struct rtc_pc {
	rtc_pc_opts o;
	char *id;
	sdp_session *remote; /* the peer's last description: offer or answer */
	rtc_pc_state st;
	rtc_ice *ice;
	rtc_dtls *dtls;
	rtc_srtp *srtp;
	GPtrArray *cands; /* every local candidate (re-offers repeat them) */
	bool answered;	  /* our first description (answer or offer) went out */
	bool gathered;
	GSource *early; /* STUN/TURN: answer with host candidates, trickle the rest */
	bool offerer; /* we sent the first offer (ICE controlling) */
	bool offer_pending; /* an offer of ours waits for rtc_pc_set_answer */
	size_t offer_n_media; /* m-lines of that offer */
	sdp_dir dir_before;   /* what we wanted before a pending re-offer */
	bool dtls_client;
	/* The last exchange: what the audio section negotiated (slices into
	 * remote) and the directions as in each side's SDP. */
	sdp_neg_media neg;
	size_t neg_audio;
	bool have_neg;
	sdp_dir local_dir, remote_dir;
	/* The peer's DTLS identity from its first description: later ones
	 * must repeat it (a new certificate means a new DTLS association). */
	uint8_t remote_fp[SDP_MAX_FINGERPRINT];
	size_t remote_fp_len;
	rtc_seq seq; /* outbound sequence continuity across holds */
	uint32_t ssrc;
	char codec[32];
	GSource *tick;
	gint64 created_us, last_rx_us;
	rtc_pc_stats stats;
	/* RTCP: reception statistics of the peer's stream, its last SR. */
	rtp_rx_stats rx;
	uint32_t clock_rate;
	uint32_t lsr;	   /* middle 32 bits of the peer's last SR NTP time */
	gint64 lsr_at_us;  /* when that SR arrived */
	unsigned rr_tick;
	uint8_t rtcp_tx[256 + RTC_SRTP_MAX_TRAILER];
	/* answer inputs kept until gathering is done */
	sdp_local local;
	sdp_codec codecs[3];
	char fingerprint[128];
	char *msid;
	char *remote_ufrag;
	char answer_addr[64];
};

static const char *const opus_fmtp = "minptime=10;useinbandfec=1";

rtc_pc_state rtc_pc_get_state(const rtc_pc *pc)
{
	return pc->st;
}

void rtc_pc_close(rtc_pc *pc, const char *reason)
{
	if (pc->st == RTC_PC_CLOSED)
		return;
	pc->st = RTC_PC_CLOSED;
	if (pc->dtls)
		rtc_dtls_close(pc->dtls);
	jn_info(pc->id, "peer connection closed: %s", reason);
	if (pc->o.state)
		pc->o.state(pc->o.user, RTC_PC_CLOSED, reason);
}

/* ---- packet path ---- */

static bool may_send(const rtc_pc *pc)
{
	return pc->local_dir == SDP_DIR_UNSET || pc->local_dir == SDP_DIR_SENDRECV ||
	       pc->local_dir == SDP_DIR_SENDONLY;
}

/* Protects and sends one RTP packet in place. While the negotiated
 * direction forbids sending (held: recvonly or inactive) packets are
 * dropped and counted; RTCP and consent go on. Sequence numbers go on
 * from the last one sent after such a pause (rtc_int.h says why). */
static int send_rtp(rtc_pc *pc, uint8_t *buf, size_t len, size_t cap)
{
	if (len < 12)
		return EINVAL;
	if (!may_send(pc)) {
		pc->stats.rtp_held++;
		rtc_seq_pause(&pc->seq);
		return 0;
	}
	uint16_t in = (uint16_t)(buf[2] << 8 | buf[3]);
	uint16_t out = rtc_seq_out(&pc->seq, in);
	if (out != in)
		rtp_set_seq(buf, out);
	int rc = rtc_srtp_protect(pc->srtp, buf, cap, &len);
	if (rc)
		return rc;
	if ((rc = rtc_ice_send(pc->ice, buf, len)))
		return rc;
	rtc_seq_sent(&pc->seq, out);
	pc->stats.rtp_out++;
	pc->stats.bytes_out += len;
	return 0;
}

static void on_rtp(rtc_pc *pc, uint8_t *buf, size_t len, size_t cap)
{
	if (!pc->srtp || rtc_srtp_unprotect(pc->srtp, buf, &len)) {
		pc->stats.srtp_errors++;
		return;
	}
	pc->stats.rtp_in++;
	pc->stats.bytes_in += len;
	/* Only authenticated packets count as the peer being there. */
	pc->last_rx_us = g_get_monotonic_time();
	rtp_hdr h;
	if (rtp_parse(buf, len, &h) == 0) {
		if (!pc->rx.started || pc->rx.ssrc != h.ssrc)
			rtp_rx_stats_init(&pc->rx, h.ssrc);
		/* arrival in the RTP clock's units, for the jitter estimate */
		uint32_t arrival = (uint32_t)(pc->last_rx_us * (gint64)pc->clock_rate / G_USEC_PER_SEC);
		rtp_rx_stats_update(&pc->rx, h.seq, h.ts, arrival);
	}
	if (!pc->o.echo) {
		if (pc->o.rtp)
			pc->o.rtp(pc->o.user, buf, len);
		return;
	}
	/* Our own SSRC (announced in the answer): the browser then maps the
	 * echo to the receiver it created for our m-line. */
	rtp_set_ssrc(buf, pc->ssrc);
	send_rtp(pc, buf, len, cap);
}

static void on_rtcp(rtc_pc *pc, uint8_t *buf, size_t len)
{
	if (!pc->srtp || rtc_srtp_unprotect_rtcp(pc->srtp, buf, &len)) {
		pc->stats.srtp_errors++;
		return;
	}
	pc->last_rx_us = g_get_monotonic_time();
	rtcp_iter it;
	rtcp_pkt p;
	rtcp_iter_init(&it, buf, len);
	while (rtcp_iter_next(&it, &p) == 0) {
		rtcp_report r;
		if (p.pt == RTCP_BYE) {
			jn_debug(pc->id, "RTCP BYE from the peer");
		} else if (p.pt == RTCP_SR && rtcp_report_parse(&p, &r) == 0 && r.has_sender_info) {
			pc->lsr = (uint32_t)(r.ntp >> 16);
			pc->lsr_at_us = pc->last_rx_us;
		}
	}
	pc->stats.rtcp_in++;
}

static void on_ice_recv(void *user, uint8_t *buf, size_t len, size_t cap)
{
	rtc_pc *pc = user;
	if (pc->st == RTC_PC_CLOSED)
		return;
	switch (rtp_demux(buf, len)) {
	case RTP_DEMUX_DTLS:
		pc->stats.dtls_in++;
		pc->last_rx_us = g_get_monotonic_time();
		if (pc->dtls)
			rtc_dtls_feed(pc->dtls, buf, len);
		break;
	case RTP_DEMUX_RTP: on_rtp(pc, buf, len, cap); break;
	case RTP_DEMUX_RTCP: on_rtcp(pc, buf, len); break;
	default: break;
	}
}

/* ---- DTLS ---- */

static void on_dtls_send(void *user, const uint8_t *buf, size_t len)
{
	rtc_pc *pc = user;
	rtc_ice_send(pc->ice, buf, len);
}

static void on_dtls_state(void *user, rtc_dtls_state st, const char *reason)
{
	rtc_pc *pc = user;
	if (pc->st == RTC_PC_CLOSED)
		return;
	if (st == RTC_DTLS_CONNECTED) {
		rtc_srtp_profile prof;
		uint8_t tx[RTC_SRTP_MAX_KEY], rx[RTC_SRTP_MAX_KEY];
		int rc = rtc_dtls_srtp_keys(pc->dtls, &prof, tx, rx);
		if (!rc)
			rc = rtc_srtp_new(prof, tx, rx, &pc->srtp);
		memset(tx, 0, sizeof tx);
		memset(rx, 0, sizeof rx);
		if (rc) {
			rtc_pc_close(pc, "cannot key SRTP");
			return;
		}
		char pair[160];
		rtc_ice_selected_pair(pc->ice, pair, sizeof pair);
		jn_info(pc->id, "connected: %s, %s, %s", pair, rtc_srtp_profile_name(prof), pc->codec);
		pc->st = RTC_PC_CONNECTED;
		if (pc->o.state)
			pc->o.state(pc->o.user, RTC_PC_CONNECTED, NULL);
	} else if (st == RTC_DTLS_FAILED) {
		char *r = g_strdup_printf("DTLS failed: %s", reason ? reason : "?");
		rtc_pc_close(pc, r);
		g_free(r);
	} else if (st == RTC_DTLS_CLOSED && reason && strstr(reason, "peer")) {
		rtc_pc_close(pc, "peer closed DTLS");
	}
}

/* ---- ICE ---- */

static void send_answer(rtc_pc *pc)
{
	GString *out = g_string_new(NULL);
	sdp_error err;
	pc->local.candidates = (const char *const *)pc->cands->pdata;
	pc->local.n_candidates = pc->cands->len;
	pc->local.end_of_candidates = pc->gathered;
	/* c= and m= carry the first candidate's address (RFC 8839 §4.2.1.2). */
	char *addr = pc->answer_addr;
	unsigned port = 9;
	if (pc->cands->len) {
		char **f = g_strsplit(g_ptr_array_index(pc->cands, 0), " ", 8);
		if (g_strv_length(f) >= 6 && strlen(f[4]) < sizeof pc->answer_addr) {
			g_strlcpy(addr, f[4], sizeof pc->answer_addr);
			port = (unsigned)g_ascii_strtoull(f[5], NULL, 10);
		}
		g_strfreev(f);
	}
	if (addr[0]) {
		pc->local.addr = addr;
		pc->local.port = (uint16_t)port;
	}
	bool offer = pc->offerer && !pc->remote;
	int rc = offer ? sdp_offer(&pc->local, out, &err) : sdp_answer(pc->remote, &pc->local, out, NULL, &err);
	pc->answered = true;
	if (offer && !rc) {
		pc->offer_pending = true;
		pc->offer_n_media = 1;
	}
	if (rc)
		rtc_pc_close(pc, err.reason);
	else if (offer && pc->o.offer)
		pc->o.offer(pc->o.user, out->str);
	else if (!offer && pc->o.answer)
		pc->o.answer(pc->o.user, out->str);
	g_string_free(out, TRUE);
}

static void on_ice_candidate(void *user, const char *cand)
{
	rtc_pc *pc = user;
	if (pc->st == RTC_PC_CLOSED)
		return;
	if (!cand)
		pc->gathered = true;
	else
		g_ptr_array_add(pc->cands, g_strdup(cand));
	if (!pc->answered) {
		if (!cand)
			send_answer(pc);
		return;
	}
	if (pc->o.candidate)
		pc->o.candidate(pc->o.user, cand);
}

/* With STUN or TURN, gathering waits on servers that may be slow or gone:
 * answer after 300 ms with what we have and trickle the rest. */
static gboolean on_early_answer(gpointer data)
{
	rtc_pc *pc = data;
	g_source_unref(pc->early);
	pc->early = NULL;
	if (!pc->answered && pc->st != RTC_PC_CLOSED && pc->cands->len)
		send_answer(pc);
	return G_SOURCE_REMOVE;
}

static void arm_early_answer(rtc_pc *pc)
{
	const rtc_pc_opts *o = &pc->o;
	if ((!o->stun_server || !*o->stun_server) && (!o->turn_server || !*o->turn_server))
		return;
	pc->early = g_timeout_source_new(300);
	g_source_set_callback(pc->early, on_early_answer, pc, NULL);
	g_source_attach(pc->early, o->context);
}

static void on_ice_state(void *user, rtc_ice_state st)
{
	rtc_pc *pc = user;
	if (pc->st == RTC_PC_CLOSED)
		return;
	if (st == RTC_ICE_CONNECTED && pc->dtls_client && pc->dtls)
		rtc_dtls_start(pc->dtls);
	else if (st == RTC_ICE_FAILED)
		rtc_pc_close(pc, pc->st == RTC_PC_CONNECTED ? "ICE consent lost" : "ICE failed");
}

/* A receiver report (one block for the peer's stream, with LSR/DLSR so it
 * can measure round-trip time) plus SDES CNAME, as RFC 3550 wants in every
 * compound packet. Sent every 5 s while connected. */
static void send_rr(rtc_pc *pc, gint64 now)
{
	uint8_t *b = pc->rtcp_tx;
	rtcp_report_block blk;
	unsigned n = 0;
	if (pc->rx.started) {
		rtp_rx_stats_report(&pc->rx, &blk);
		if (pc->lsr_at_us) {
			blk.lsr = pc->lsr;
			blk.dlsr = (uint32_t)((now - pc->lsr_at_us) * 65536 / G_USEC_PER_SEC);
		}
		n = 1;
	}
	size_t len = rtcp_write_rr(b, 256, pc->ssrc, &blk, n);
	static const char cname[] = "junction";
	size_t sdes = 4 + 4 + 2 + sizeof cname - 1 + 1; /* header, ssrc, item, END */
	size_t padded = (sdes + 3) & ~(size_t)3;
	if (!len || len + padded > 256)
		return;
	uint8_t *d = b + len;
	memset(d, 0, padded);
	d[0] = 0x81;
	d[1] = RTCP_SDES;
	d[2] = 0;
	d[3] = (uint8_t)(padded / 4 - 1);
	d[4] = (uint8_t)(pc->ssrc >> 24);
	d[5] = (uint8_t)(pc->ssrc >> 16);
	d[6] = (uint8_t)(pc->ssrc >> 8);
	d[7] = (uint8_t)pc->ssrc;
	d[8] = RTCP_SDES_CNAME;
	d[9] = sizeof cname - 1;
	memcpy(d + 10, cname, sizeof cname - 1);
	len += padded;
	if (rtc_srtp_protect_rtcp(pc->srtp, b, sizeof pc->rtcp_tx, &len) == 0 && rtc_ice_send(pc->ice, b, len) == 0)
		pc->stats.rtcp_out++;
}

static gboolean on_tick(gpointer data)
{
	rtc_pc *pc = data;
	gint64 now = g_get_monotonic_time();
	gint64 limit = (gint64)(pc->o.consent_timeout ? pc->o.consent_timeout : 30) * G_USEC_PER_SEC;
	if (pc->st == RTC_PC_CONNECTED && now - pc->last_rx_us > limit)
		rtc_pc_close(pc, "consent expired: nothing from the peer");
	else if (pc->st == RTC_PC_CONNECTED && ++pc->rr_tick % 5 == 0)
		send_rr(pc, now);
	else if (pc->st == RTC_PC_CONNECTING && now - pc->created_us > limit)
		rtc_pc_close(pc, "ICE/DTLS did not connect in time");
	return G_SOURCE_CONTINUE;
}

/* ---- life cycle ---- */

#define FAIL(code, ...) do { *err = g_strdup_printf(__VA_ARGS__); rc = (code); goto out; } while (0)

/* Our capabilities for offer/answer. */
static void init_local(rtc_pc *pc, bool offerer)
{
	pc->codecs[0] = (sdp_codec){ .name = "opus", .rate = 48000, .channels = 2, .pt = 111, .fmtp = opus_fmtp };
	pc->codecs[1] = (sdp_codec){ .name = "PCMU", .rate = 8000, .channels = 1, .pt = 0 };
	pc->codecs[2] = (sdp_codec){ .name = "PCMA", .rate = 8000, .channels = 1, .pt = 8 };
	g_strlcpy(pc->fingerprint, rtc_dtls_cert_fingerprint(pc->o.cert), sizeof pc->fingerprint);
	pc->msid = g_strdup_printf("junction-%s audio-%s", pc->id, pc->id);
	const char *const *la = pc->o.local_addresses;
	pc->local = (sdp_local){
		.codecs = pc->codecs, .n_codecs = G_N_ELEMENTS(pc->codecs), .telephone_event = true,
		.te_pt = 101, .transport = SDP_TRANSPORT_DTLS, .addr = la && la[0] ? la[0] : "0.0.0.0",
		.port = 9, .ice_ufrag = rtc_ice_local_ufrag(pc->ice), .ice_pwd = rtc_ice_local_pwd(pc->ice),
		/* Answering, a=setup:passive: as the DTLS server we choose the
		 * SRTP profile, so our preference (AEAD_AES_128_GCM first) wins;
		 * Chromium as server picks AES_CM_128_HMAC_SHA1_80. */
		.fingerprint = pc->fingerprint, .setup = offerer ? SDP_SETUP_ACTPASS : SDP_SETUP_PASSIVE,
		.origin_user = "junction", .sess_id = g_random_int(), .sess_version = 1, .session_name = "-",
		.msid_semantic = "WMS *", .msid = pc->msid, .ssrc = pc->ssrc, .cname = "junction",
		.dir = pc->o.dir,
	};
}

/* Keeps what an exchange negotiated (slices into remote, which the
 * caller has just made pc->remote). From now on our SDPs keep the DTLS
 * role that was negotiated. */
static void keep_neg(rtc_pc *pc, const sdp_neg *neg)
{
	pc->neg = neg->media[neg->audio];
	pc->neg_audio = (size_t)neg->audio;
	pc->have_neg = true;
	pc->local_dir = pc->neg.local_dir;
	pc->remote_dir = pc->neg.remote_dir;
	pc->local.setup = pc->neg.local_setup;
	/* a later offer may pick another of our codecs (stats, RTCP jitter) */
	g_snprintf(pc->codec, sizeof pc->codec, "%.*s/%u", (int)MIN(pc->neg.codec.l, 16), pc->neg.codec.p,
		   pc->neg.rate);
	pc->clock_rate = pc->neg.rate ? pc->neg.rate : 8000;
}

static bool same_fingerprint(const rtc_pc *pc, const sdp_media *m)
{
	return m->fingerprint.present && m->fingerprint.len == pc->remote_fp_len &&
	       memcmp(m->fingerprint.bytes, pc->remote_fp, pc->remote_fp_len) == 0;
}

/* Adds the candidates of a remote section to ICE. */
static void add_remote_cands(rtc_pc *pc, const sdp_media *m)
{
	for (size_t i = 0; i < m->n_cands; i++) {
		char *c = g_strdup_printf("candidate:%.*s", (int)m->cands[i].line.l, m->cands[i].line.p);
		rtc_ice_add_remote_candidate(pc->ice, c);
		g_free(c);
	}
	if (m->end_of_candidates)
		rtc_ice_remote_gathering_done(pc->ice);
}

/* Takes the peer's description (offer or answer) as negotiated: DTLS
 * identity and role, ICE credentials and candidates. */
static int apply_remote(rtc_pc *pc, const sdp_neg *neg, sdp_session *remote, char **err)
{
	int rc = 0;
	const sdp_neg_media *nm = &neg->media[neg->audio];
	const sdp_media *m = &remote->media[neg->audio];
	if (nm->transport != SDP_TRANSPORT_DTLS || !nm->rtcp_mux)
		FAIL(ENOTSUP, "audio must be UDP/TLS/RTP/SAVPF with rtcp-mux");
	if (!m->fingerprint.present || !m->ice_ufrag.l || !m->ice_pwd.l)
		FAIL(EBADMSG, "SDP lacks a=fingerprint or ICE credentials");
	memcpy(pc->remote_fp, m->fingerprint.bytes, m->fingerprint.len);
	pc->remote_fp_len = m->fingerprint.len;
	g_snprintf(pc->codec, sizeof pc->codec, "%.*s/%u", (int)MIN(nm->codec.l, 16), nm->codec.p, nm->rate);
	pc->dtls_client = nm->local_setup == SDP_SETUP_ACTIVE;
	pc->clock_rate = nm->rate ? nm->rate : 8000;

	char *hash = sdp_str_dup(m->fingerprint.hash);
	rtc_dtls_opts dopts = {
		.client = pc->dtls_client, .context = pc->o.context, .remote_hash = hash,
		.remote_fp = m->fingerprint.bytes, .remote_fp_len = m->fingerprint.len, .id = pc->id,
		.send = on_dtls_send, .state = on_dtls_state, .user = pc,
	};
	rc = rtc_dtls_new(pc->o.cert, &dopts, &pc->dtls);
	if (rc) {
		*err = g_strdup_printf("unsupported a=fingerprint hash \"%s\"", hash);
		rc = EBADMSG;
	}
	g_free(hash);
	if (rc)
		goto out;

	char *uf = sdp_str_dup(m->ice_ufrag), *pw = sdp_str_dup(m->ice_pwd);
	rc = rtc_ice_set_remote_credentials(pc->ice, uf, pw);
	g_free(pc->remote_ufrag);
	pc->remote_ufrag = uf;
	g_free(pw);
	if (rc)
		FAIL(EBADMSG, "bad ICE credentials");
	add_remote_cands(pc, m);
	/* Offerer whose ICE came up first (peer-reflexive checks): start now. */
	if (pc->dtls_client && rtc_ice_get_state(pc->ice) == RTC_ICE_CONNECTED)
		rtc_dtls_start(pc->dtls);
out:
	return rc;
}

static int pc_create(const rtc_pc_opts *o, bool offerer, rtc_pc **out, char **err)
{
	rtc_pc *pc = g_new0(rtc_pc, 1);
	int rc = 0;
	pc->o = *o;
	pc->id = g_strdup(o->id ? o->id : "pc");
	pc->o.id = pc->id;
	pc->offerer = offerer;
	pc->cands = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(pc->cands, NULL); /* keeps pdata NULL-terminated */
	g_ptr_array_set_size(pc->cands, 0);
	pc->created_us = pc->last_rx_us = g_get_monotonic_time();
	do
		pc->ssrc = g_random_int();
	while (!pc->ssrc);
	rtc_ice_opts io = {
		.context = o->context, .controlling = offerer, .local_addresses = o->local_addresses,
		.port_min = o->port_min, .port_max = o->port_max, .stun_server = o->stun_server,
		.turn_server = o->turn_server, .turn_username = o->turn_username,
		.turn_password = o->turn_password, .id = pc->id, .recv = on_ice_recv,
		.candidate = on_ice_candidate, .state = on_ice_state, .user = pc,
	};
	if ((rc = rtc_ice_new(&io, &pc->ice))) {
		*err = g_strdup("cannot create the ICE agent");
		pc->o.state = NULL;
		rtc_pc_free(pc);
		return rc;
	}
	init_local(pc, offerer);
	pc->tick = g_timeout_source_new_seconds(1);
	g_source_set_callback(pc->tick, on_tick, pc, NULL);
	g_source_attach(pc->tick, o->context);
	*out = pc;
	return 0;
}

int rtc_pc_new_from_offer(const rtc_pc_opts *o, sdp_session *offer, rtc_pc **out, char **err)
{
	rtc_pc *pc = NULL;
	int rc = pc_create(o, false, &pc, err);
	if (rc) {
		*out = NULL;
		return rc;
	}
	pc->remote = sdp_ref(offer);
	/* Negotiate now so a bad offer is refused at once, not after gathering. */
	sdp_neg neg;
	sdp_error serr;
	GString *probe = g_string_new(NULL);
	rc = sdp_answer(offer, &pc->local, probe, &neg, &serr);
	g_string_free(probe, TRUE);
	if (rc) {
		*err = g_strdup(serr.reason[0] ? serr.reason : "offer not acceptable");
		goto out;
	}
	if ((rc = apply_remote(pc, &neg, offer, err)))
		goto out;
	keep_neg(pc, &neg);
	pc->st = RTC_PC_CONNECTING;
	if ((rc = rtc_ice_gather(pc->ice)))
		FAIL(EIO, "cannot gather ICE candidates");
	arm_early_answer(pc);
out:
	if (rc) {
		pc->o.state = NULL;
		rtc_pc_free(pc);
		pc = NULL;
	}
	*out = pc;
	return rc;
}

int rtc_pc_new_offer(const rtc_pc_opts *o, rtc_pc **out, char **err)
{
	rtc_pc *pc = NULL;
	int rc = pc_create(o, true, &pc, err);
	if (rc) {
		*out = NULL;
		return rc;
	}
	pc->st = RTC_PC_CONNECTING;
	if ((rc = rtc_ice_gather(pc->ice))) {
		*err = g_strdup("cannot gather ICE candidates");
		pc->o.state = NULL;
		rtc_pc_free(pc);
		pc = NULL;
	}
	*out = pc;
	return rc;
}

/* The answer to a re-offer: same DTLS identity and role, same ICE
 * credentials (a re-offer never restarts ICE, so neither may the answer);
 * only the direction and the codec details change. */
static int set_reanswer(rtc_pc *pc, sdp_session *answer, char **err)
{
	int rc = 0;
	sdp_neg neg;
	sdp_error serr;
	if ((rc = sdp_process_answer(answer, &pc->local, &neg, &serr)))
		FAIL(rc, "%s", serr.reason[0] ? serr.reason : "answer not acceptable");
	if (answer->n_media != pc->offer_n_media || (size_t)neg.audio != pc->neg_audio)
		FAIL(EBADMSG, "answer does not match the offer's m-lines");
	const sdp_media *m = &answer->media[neg.audio];
	const sdp_neg_media *nm = &neg.media[neg.audio];
	if (nm->transport != SDP_TRANSPORT_DTLS || !nm->rtcp_mux)
		FAIL(ENOTSUP, "audio must be UDP/TLS/RTP/SAVPF with rtcp-mux");
	if (!same_fingerprint(pc, m))
		FAIL(ENOTSUP, "a new DTLS fingerprint needs a new call");
	if (nm->local_setup != pc->local.setup)
		FAIL(EBADMSG, "the answer changes the DTLS role");
	if (!sdp_str_eq(m->ice_ufrag, pc->remote_ufrag))
		FAIL(EBADMSG, "the answer changes the ICE credentials; our offer asked for no ICE restart");
	sdp_unref(pc->remote);
	pc->remote = sdp_ref(answer);
	keep_neg(pc, &neg);
	pc->offer_pending = false;
	jn_info(pc->id, "re-offer answered: we %s, they %s", sdp_dir_name(pc->local_dir),
		sdp_dir_name(pc->remote_dir));
out:
	return rc;
}

int rtc_pc_set_answer(rtc_pc *pc, sdp_session *answer, char **err)
{
	int rc = 0;
	sdp_neg neg;
	sdp_error serr;
	if (pc->st == RTC_PC_CLOSED || !pc->offer_pending)
		FAIL(EINVAL, "no offer of ours is waiting for an answer");
	if (pc->remote)
		return set_reanswer(pc, answer, err);
	if ((rc = sdp_process_answer(answer, &pc->local, &neg, &serr)))
		FAIL(rc, "%s", serr.reason[0] ? serr.reason : "answer not acceptable");
	if (answer->n_media != pc->offer_n_media)
		FAIL(EBADMSG, "answer does not match the offer's m-lines");
	pc->remote = sdp_ref(answer);
	pc->created_us = g_get_monotonic_time(); /* the connect timeout starts now */
	if ((rc = apply_remote(pc, &neg, answer, err)))
		goto out;
	keep_neg(pc, &neg);
	pc->offer_pending = false;
out:
	return rc;
}

int rtc_pc_send_rtp(rtc_pc *pc, uint8_t *buf, size_t len, size_t cap)
{
	if (pc->st != RTC_PC_CONNECTED || !pc->srtp)
		return EAGAIN;
	return send_rtp(pc, buf, len, cap);
}

void rtc_pc_free(rtc_pc *pc)
{
	if (!pc)
		return;
	pc->o.state = NULL;
	pc->o.answer = NULL;
	pc->o.candidate = NULL;
	if (pc->tick) {
		g_source_destroy(pc->tick);
		g_source_unref(pc->tick);
	}
	if (pc->early) {
		g_source_destroy(pc->early);
		g_source_unref(pc->early);
	}
	if (pc->dtls) {
		rtc_dtls_close(pc->dtls);
		rtc_dtls_free(pc->dtls);
	}
	rtc_ice_free(pc->ice);
	rtc_srtp_free(pc->srtp);
	g_ptr_array_free(pc->cands, TRUE);
	sdp_unref(pc->remote);
	g_free(pc->msid);
	g_free(pc->remote_ufrag);
	g_free(pc->id);
	g_free(pc);
}

/* A re-offer from the peer. The DTLS association stays (same fingerprint,
 * same roles); only ICE may restart. Our candidates do not change on a
 * restart (libnice keeps its sockets), so the answer is ready at once. */
int rtc_pc_update(rtc_pc *pc, sdp_session *offer, char **err)
{
	int rc = 0;
	sdp_neg neg;
	sdp_error serr;
	if (pc->st == RTC_PC_CLOSED || !pc->answered || !pc->remote)
		FAIL(EAGAIN, "the connection is not ready for a new offer");
	if (pc->offer_pending)
		FAIL(EBUSY, "an offer of ours is waiting for its answer");
	GString *probe = g_string_new(NULL);
	rc = sdp_answer(offer, &pc->local, probe, &neg, &serr);
	g_string_free(probe, TRUE);
	if (rc)
		FAIL(rc, "%s", serr.reason[0] ? serr.reason : "offer not acceptable");
	const sdp_media *m = &offer->media[neg.audio];
	const sdp_neg_media *nm = &neg.media[neg.audio];
	if (nm->transport != SDP_TRANSPORT_DTLS || !nm->rtcp_mux)
		FAIL(ENOTSUP, "audio must be UDP/TLS/RTP/SAVPF with rtcp-mux");
	if (!same_fingerprint(pc, m))
		FAIL(ENOTSUP, "a new DTLS fingerprint needs a new call");
	if (nm->local_setup != pc->local.setup)
		FAIL(ENOTSUP, "a new DTLS role needs a new call");
	if (!m->ice_ufrag.l || !m->ice_pwd.l)
		FAIL(EBADMSG, "offer lacks ICE credentials");
	if (!sdp_str_eq(m->ice_ufrag, pc->remote_ufrag)) {
		if (rtc_ice_restart(pc->ice))
			FAIL(EIO, "ICE restart failed");
		char *uf = sdp_str_dup(m->ice_ufrag), *pw = sdp_str_dup(m->ice_pwd);
		rc = rtc_ice_set_remote_credentials(pc->ice, uf, pw);
		g_free(pc->remote_ufrag);
		pc->remote_ufrag = uf;
		g_free(pw);
		if (rc)
			FAIL(EBADMSG, "bad ICE credentials");
		pc->local.ice_ufrag = rtc_ice_local_ufrag(pc->ice);
		pc->local.ice_pwd = rtc_ice_local_pwd(pc->ice);
		add_remote_cands(pc, m);
	}
	sdp_unref(pc->remote);
	pc->remote = sdp_ref(offer);
	keep_neg(pc, &neg);
	pc->local.sess_version++;
	jn_info(pc->id, "new offer: they %s, we %s", sdp_dir_name(pc->remote_dir), sdp_dir_name(pc->local_dir));
	send_answer(pc);
out:
	return rc;
}

int rtc_pc_reoffer(rtc_pc *pc, sdp_dir dir, char **sdp, char **err)
{
	int rc = 0;
	sdp_error serr;
	*sdp = NULL;
	if (pc->st == RTC_PC_CLOSED || !pc->answered || !pc->remote || !pc->have_neg)
		FAIL(EAGAIN, "the connection is not ready for a new offer");
	if (pc->offer_pending)
		FAIL(EBUSY, "an offer of ours is already waiting for its answer");
	sdp_dir before = pc->local.dir;
	pc->local.dir = dir;
	pc->local.sess_version++;
	pc->local.candidates = (const char *const *)pc->cands->pdata;
	pc->local.n_candidates = pc->cands->len;
	pc->local.end_of_candidates = pc->gathered;
	GString *out = g_string_new(NULL);
	rc = sdp_reoffer(pc->remote, pc->neg_audio, &pc->neg, &pc->local, out, &serr);
	if (rc) {
		pc->local.dir = before;
		pc->local.sess_version--;
		g_string_free(out, TRUE);
		FAIL(rc, "%s", serr.reason[0] ? serr.reason : "cannot build the offer");
	}
	pc->dir_before = before;
	pc->offer_pending = true;
	pc->offer_n_media = pc->remote->n_media;
	*sdp = g_string_free(out, FALSE);
	jn_info(pc->id, "re-offer: %s", sdp_dir_name(dir == SDP_DIR_UNSET ? SDP_DIR_SENDRECV : dir));
out:
	return rc;
}

void rtc_pc_reoffer_cancel(rtc_pc *pc)
{
	if (!pc->offer_pending || !pc->remote)
		return;
	pc->offer_pending = false;
	pc->local.dir = pc->dir_before;
}

void rtc_pc_set_dir(rtc_pc *pc, sdp_dir dir)
{
	pc->local.dir = dir;
}

sdp_dir rtc_pc_remote_dir(const rtc_pc *pc)
{
	return pc->have_neg ? pc->remote_dir : SDP_DIR_UNSET;
}

sdp_dir rtc_pc_local_dir(const rtc_pc *pc)
{
	return pc->have_neg ? pc->local_dir : SDP_DIR_UNSET;
}

int rtc_pc_add_remote_candidate(rtc_pc *pc, const char *cand)
{
	if (!cand || !*cand) {
		rtc_ice_remote_gathering_done(pc->ice);
		return 0;
	}
	return rtc_ice_add_remote_candidate(pc->ice, cand);
}

void rtc_pc_get_stats(rtc_pc *pc, rtc_pc_stats *st)
{
	*st = pc->stats;
	rtc_ice_selected_pair(pc->ice, st->pair, sizeof st->pair);
	st->ice_state = rtc_ice_state_name(rtc_ice_get_state(pc->ice));
	st->dtls_state = pc->dtls ? rtc_dtls_state_name(rtc_dtls_get_state(pc->dtls)) : "new";
	st->srtp_profile = pc->srtp ? rtc_srtp_profile_name(rtc_srtp_get_profile(pc->srtp)) : "none";
	st->codec = pc->codec;
}
