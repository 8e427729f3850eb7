/* rtc_pc: answering a Chromium offer (no remote candidates, so nothing is
 * ever sent): the answer's ICE credentials, fingerprint, setup role,
 * loopback candidates, rtcp-mux and SSRC; refused offers; a re-offer with
 * new ICE credentials (restart) and one with a new fingerprint; answer
 * directions; hold and resume with our re-offers and the peer's between
 * two connections over loopback; refused re-offers and answers; a
 * re-offer to an audio+video browser offer. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "media/rtp.h"
#include "media/sdp.h"
#include "webrtc/rtc_pc.h"

typedef struct {
	GString *answer;
	unsigned answers;
	rtc_pc_state st;
	char reason[128];
} sink;

static void on_answer(void *user, const char *sdp)
{
	sink *s = user;
	g_string_assign(s->answer, sdp);
	s->answers++;
}

static void on_state(void *user, rtc_pc_state st, const char *reason)
{
	sink *s = user;
	s->st = st;
	if (reason)
		g_strlcpy(s->reason, reason, sizeof s->reason);
}

static char *read_offer(void)
{
	const char *src = g_getenv("JN_SRCDIR") ? g_getenv("JN_SRCDIR") : JN_SRCDIR;
	char *path = g_build_filename(src, "tests", "data", "sdp", "chromium",
				      "chromium-audio-only-bundle.offer.sdp", NULL);
	char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_free(path);
	return text;
}

static sdp_session *parse(const char *text)
{
	sdp_session *s = NULL;
	g_assert_cmpint(sdp_parse(text, strlen(text), &s, NULL), ==, 0);
	return s;
}

typedef struct {
	GMainContext *ctx;
	rtc_dtls_cert *cert;
	sink sk;
	rtc_pc_opts o;
} fixture;

static const char *const addrs[] = { "127.0.0.1", NULL };

static void fx_init(fixture *f)
{
	char *err = NULL;
	memset(f, 0, sizeof *f);
	f->ctx = g_main_context_new();
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, NULL, &f->cert, &err), ==, 0);
	f->sk.answer = g_string_new(NULL);
	f->o = (rtc_pc_opts){ .cert = f->cert, .context = f->ctx, .local_addresses = addrs, .port_min = 41000,
			      .port_max = 41999, .echo = true, .id = "t", .answer = on_answer, .state = on_state,
			      .user = &f->sk };
}

static void fx_free(fixture *f)
{
	rtc_dtls_cert_unref(f->cert);
	g_string_free(f->sk.answer, TRUE);
	while (g_main_context_iteration(f->ctx, FALSE))
		;
	g_main_context_unref(f->ctx);
}

static void wait_answers(fixture *f, unsigned n)
{
	gint64 until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (f->sk.answers < n && g_get_monotonic_time() < until)
		g_main_context_iteration(f->ctx, FALSE);
	g_assert_cmpuint(f->sk.answers, ==, n);
}

static void test_answer(void)
{
	fixture f;
	fx_init(&f);
	char *text = read_offer();
	sdp_session *offer = parse(text);
	rtc_pc *pc = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_pc_new_from_offer(&f.o, offer, &pc, &err), ==, 0);
	g_assert_cmpint(rtc_pc_get_state(pc), ==, RTC_PC_CONNECTING);
	wait_answers(&f, 1);

	sdp_session *ans = parse(f.sk.answer->str);
	g_assert_cmpuint(ans->n_media, ==, 1);
	const sdp_media *m = &ans->media[0];
	g_assert_cmpint(m->proto, ==, SDP_PROTO_UDP_TLS_RTP_SAVPF);
	g_assert_cmpint(m->setup, ==, SDP_SETUP_PASSIVE);
	g_assert_true(m->rtcp_mux);
	g_assert_true(m->end_of_candidates);
	g_assert_true(sdp_str_eq(m->mid, "0"));
	g_assert_cmpuint(m->ice_ufrag.l, >=, 4);
	g_assert_cmpuint(m->ice_pwd.l, >=, 22);
	g_assert_true(m->fingerprint.present);
	uint8_t mine[RTC_DTLS_MAX_FP];
	size_t ml;
	const char *t = rtc_dtls_cert_fingerprint(f.cert) + 8;
	g_assert_cmpint(rtc_dtls_fingerprint_parse(t, strlen(t), mine, sizeof mine, &ml), ==, 0);
	g_assert_cmpuint(m->fingerprint.len, ==, ml);
	g_assert_true(memcmp(m->fingerprint.bytes, mine, ml) == 0);
	g_assert_cmpuint(m->n_cands, >=, 1);
	for (size_t i = 0; i < m->n_cands; i++) {
		g_assert_true(sdp_str_eq(m->cands[i].addr, "127.0.0.1"));
		g_assert_false(m->cands[i].tcp);
		g_assert_cmpuint(m->cands[i].port, >=, 41000);
		g_assert_cmpuint(m->cands[i].port, <=, 41999);
	}
	g_assert_cmpuint(m->n_ssrcs, >=, 1);
	g_assert_cmpint(m->n_fmts, >=, 1);
	g_assert_true(sdp_str_ieq(m->fmts[0].name, "opus"));
	char *ufrag1 = sdp_str_dup(m->ice_ufrag);

	/* the same offer again: no restart, same credentials, version up */
	g_assert_cmpint(rtc_pc_update(pc, offer, &err), ==, 0);
	wait_answers(&f, 2);
	sdp_session *ans2 = parse(f.sk.answer->str);
	g_assert_true(sdp_str_eq(ans2->media[0].ice_ufrag, ufrag1));
	g_assert_false(sdp_str_eq(ans2->sess_version, "1"));
	sdp_unref(ans2);

	/* new ICE credentials: restart, new local ones */
	GString *r = g_string_new(text);
	char *p = strstr(r->str, "a=ice-ufrag:YPzO");
	g_assert_nonnull(p);
	memcpy(p + 12, "ZZZZ", 4);
	sdp_session *offer2 = parse(r->str);
	g_assert_cmpint(rtc_pc_update(pc, offer2, &err), ==, 0);
	wait_answers(&f, 3);
	ans2 = parse(f.sk.answer->str);
	g_assert_false(sdp_str_eq(ans2->media[0].ice_ufrag, ufrag1));
	sdp_unref(ans2);

	/* a new DTLS fingerprint is refused; the connection goes on */
	p = strstr(r->str, "a=fingerprint:sha-256 5D");
	g_assert_nonnull(p);
	p[22] = '6';
	sdp_session *offer3 = parse(r->str);
	g_assert_cmpint(rtc_pc_update(pc, offer3, &err), ==, ENOTSUP);
	g_assert_nonnull(strstr(err, "fingerprint"));
	g_free(err);
	err = NULL;
	g_assert_cmpint(rtc_pc_get_state(pc), ==, RTC_PC_CONNECTING);

	rtc_pc_stats st;
	rtc_pc_get_stats(pc, &st);
	g_assert_cmpuint(st.rtp_in, ==, 0);
	g_assert_cmpstr(st.srtp_profile, ==, "none");
	g_assert_cmpstr(st.codec, ==, "opus/48000");

	rtc_pc_close(pc, "test over");
	g_assert_cmpint(f.sk.st, ==, RTC_PC_CLOSED);
	g_assert_cmpstr(f.sk.reason, ==, "test over");
	rtc_pc_free(pc);
	g_free(ufrag1);
	g_string_free(r, TRUE);
	sdp_unref(offer3);
	sdp_unref(offer2);
	sdp_unref(ans);
	sdp_unref(offer);
	g_free(text);
	fx_free(&f);
}

/* With a STUN server that never answers (nothing listens on loopback port
 * 9), the answer goes out with the host candidates and without
 * end-of-candidates; the rest would trickle. */
static void test_stun_early_answer(void)
{
	fixture f;
	fx_init(&f);
	f.o.stun_server = "127.0.0.1:9";
	char *text = read_offer();
	sdp_session *offer = parse(text);
	rtc_pc *pc = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_pc_new_from_offer(&f.o, offer, &pc, &err), ==, 0);
	wait_answers(&f, 1);
	sdp_session *ans = parse(f.sk.answer->str);
	g_assert_cmpuint(ans->media[0].n_cands, >=, 1);
	g_assert_false(ans->media[0].end_of_candidates);
	rtc_pc_free(pc);
	sdp_unref(ans);
	sdp_unref(offer);
	g_free(text);
	fx_free(&f);
}

/* Removes every line starting with prefix. */
static char *drop_lines(const char *text, const char *prefix)
{
	char **lines = g_strsplit(text, "\n", -1);
	GString *out = g_string_new(NULL);
	for (char **l = lines; *l; l++)
		if (**l && !g_str_has_prefix(*l, prefix))
			g_string_append_printf(out, "%s\n", *l);
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}

static void refused(const char *prefix)
{
	fixture f;
	fx_init(&f);
	char *text = read_offer();
	char *bad = drop_lines(text, prefix);
	sdp_session *offer = parse(bad);
	rtc_pc *pc = NULL;
	char *err = NULL;
	int rc = rtc_pc_new_from_offer(&f.o, offer, &pc, &err);
	if (!rc)
		g_error("offer without %s was accepted", prefix);
	g_assert_null(pc);
	g_assert_nonnull(err);
	g_assert_cmpuint(strlen(err), >, 0);
	g_free(err);
	g_assert_cmpuint(f.sk.answers, ==, 0);
	sdp_unref(offer);
	g_free(bad);
	g_free(text);
	fx_free(&f);
}

static void test_refused(void)
{
	refused("a=fingerprint"); /* no DTLS identity */
	refused("a=rtcp-mux");	  /* a second transport for RTCP */
	refused("a=ice-pwd");	  /* no ICE credentials */
}

/* Two connections in this process over loopback: A offers, B answers in
 * echo mode; ICE, DTLS and SRTP come up, and what A sends comes back. */
typedef struct {
	GString *sdp;
	rtc_pc_state st;
	unsigned rtp;
	uint32_t last_ssrc;
} side;

static void s_sdp(void *user, const char *sdp)
{
	g_string_assign(((side *)user)->sdp, sdp);
}

static void s_state(void *user, rtc_pc_state st, const char *reason)
{
	(void)reason;
	((side *)user)->st = st;
}

static void s_rtp(void *user, const uint8_t *buf, size_t len)
{
	side *s = user;
	g_assert_cmpuint(len, ==, 12 + 160);
	s->rtp++;
	s->last_ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
}

static void test_loopback(void)
{
	fixture f;
	fx_init(&f);
	side a = { .sdp = g_string_new(NULL) }, b = { .sdp = g_string_new(NULL) };
	rtc_pc_opts oa = f.o, ob = f.o;
	oa.echo = false;
	oa.id = "a";
	oa.offer = s_sdp;
	oa.answer = NULL;
	oa.rtp = s_rtp;
	oa.state = s_state;
	oa.user = &a;
	ob.id = "b";
	ob.answer = s_sdp;
	ob.state = s_state;
	ob.user = &b;
	rtc_pc *pa = NULL, *pb = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_pc_new_offer(&oa, &pa, &err), ==, 0);
	gint64 until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!a.sdp->len && g_get_monotonic_time() < until)
		g_main_context_iteration(f.ctx, FALSE);
	sdp_session *offer = parse(a.sdp->str);
	g_assert_cmpint(offer->media[0].setup, ==, SDP_SETUP_ACTPASS);
	g_assert_cmpint(rtc_pc_new_from_offer(&ob, offer, &pb, &err), ==, 0);
	until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!b.sdp->len && g_get_monotonic_time() < until)
		g_main_context_iteration(f.ctx, FALSE);
	sdp_session *answer = parse(b.sdp->str);
	g_assert_cmpint(rtc_pc_set_answer(pa, answer, &err), ==, 0);
	until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while ((a.st != RTC_PC_CONNECTED || b.st != RTC_PC_CONNECTED) && g_get_monotonic_time() < until)
		g_main_context_iteration(f.ctx, FALSE);
	g_assert_cmpint(a.st, ==, RTC_PC_CONNECTED);
	g_assert_cmpint(b.st, ==, RTC_PC_CONNECTED);

	uint8_t buf[1500];
	for (uint16_t i = 0; i < 50; i++) {
		size_t n = rtp_write_header(buf, sizeof buf, 111, false, (uint16_t)(1000 + i), i * 960u, 0x0a0b0c0d);
		memset(buf + n, (int)i, 160);
		g_assert_cmpint(rtc_pc_send_rtp(pa, buf, n + 160, sizeof buf), ==, 0);
		g_main_context_iteration(f.ctx, FALSE);
	}
	until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (a.rtp < 50 && g_get_monotonic_time() < until)
		g_main_context_iteration(f.ctx, FALSE);
	g_assert_cmpuint(a.rtp, ==, 50);
	g_assert_cmpuint(a.last_ssrc, !=, 0x0a0b0c0d); /* B echoes under its own SSRC */
	rtc_pc_stats sa, sb;
	rtc_pc_get_stats(pa, &sa);
	rtc_pc_get_stats(pb, &sb);
	g_assert_cmpstr(sa.srtp_profile, ==, "AEAD_AES_128_GCM");
	g_assert_cmpuint(sb.rtp_in, ==, 50);
	g_assert_cmpuint(sb.rtp_out, ==, 50);
	g_assert_cmpuint(sa.srtp_errors + sb.srtp_errors, ==, 0);

	/* A closes: B hears the DTLS close_notify */
	rtc_pc_close(pa, "done");
	until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	while (b.st != RTC_PC_CLOSED && g_get_monotonic_time() < until)
		g_main_context_iteration(f.ctx, FALSE);
	g_assert_cmpint(b.st, ==, RTC_PC_CLOSED);
	rtc_pc_free(pa);
	rtc_pc_free(pb);
	sdp_unref(offer);
	sdp_unref(answer);
	g_string_free(a.sdp, TRUE);
	g_string_free(b.sdp, TRUE);
	fx_free(&f);
}

/* ---- hold, resume, re-offers: two connections over loopback ---- */

typedef struct {
	GString *sdp; /* last offer or answer from opts.offer / opts.answer */
	unsigned sdps;
	rtc_pc_state st;
	unsigned rtp;
	uint16_t last_seq;
	uint32_t last_ssrc;
} peer;

static void p_sdp(void *user, const char *sdp)
{
	peer *p = user;
	g_string_assign(p->sdp, sdp);
	p->sdps++;
}

static void p_state(void *user, rtc_pc_state st, const char *reason)
{
	(void)reason;
	((peer *)user)->st = st;
}

static void p_rtp(void *user, const uint8_t *buf, size_t len)
{
	peer *p = user;
	rtp_hdr h;
	g_assert_cmpint(rtp_parse(buf, len, &h), ==, 0);
	p->rtp++;
	p->last_seq = h.seq;
	p->last_ssrc = h.ssrc;
}

typedef struct {
	fixture f;
	peer a, b; /* a offered first, b answered */
	rtc_pc *pa, *pb;
	sdp_session *keep[16]; /* descriptions to unref at the end */
	size_t n_keep;
} pair;

static void pair_run(pair *p, const unsigned *counter, unsigned want)
{
	gint64 until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (*counter < want && g_get_monotonic_time() < until)
		g_main_context_iteration(p->f.ctx, FALSE);
	g_assert_cmpuint(*counter, ==, want);
}

static sdp_session *pair_parse(pair *p, const char *text)
{
	g_assert_cmpuint(p->n_keep, <, G_N_ELEMENTS(p->keep));
	return p->keep[p->n_keep++] = parse(text);
}

static void pair_up(pair *p)
{
	memset(p, 0, sizeof *p);
	fx_init(&p->f);
	p->a.sdp = g_string_new(NULL);
	p->b.sdp = g_string_new(NULL);
	rtc_pc_opts oa = p->f.o, ob = p->f.o;
	oa.echo = ob.echo = false;
	oa.id = "a";
	oa.offer = p_sdp;
	oa.answer = p_sdp;
	oa.rtp = p_rtp;
	oa.state = p_state;
	oa.user = &p->a;
	ob.id = "b";
	ob.offer = p_sdp;
	ob.answer = p_sdp;
	ob.rtp = p_rtp;
	ob.state = p_state;
	ob.user = &p->b;
	char *err = NULL;
	g_assert_cmpint(rtc_pc_new_offer(&oa, &p->pa, &err), ==, 0);
	pair_run(p, &p->a.sdps, 1);
	g_assert_cmpint(rtc_pc_remote_dir(p->pa), ==, SDP_DIR_UNSET);
	g_assert_cmpint(rtc_pc_new_from_offer(&ob, pair_parse(p, p->a.sdp->str), &p->pb, &err), ==, 0);
	pair_run(p, &p->b.sdps, 1);
	g_assert_cmpint(rtc_pc_set_answer(p->pa, pair_parse(p, p->b.sdp->str), &err), ==, 0);
	gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while ((p->a.st != RTC_PC_CONNECTED || p->b.st != RTC_PC_CONNECTED) && g_get_monotonic_time() < until)
		g_main_context_iteration(p->f.ctx, FALSE);
	g_assert_cmpint(p->a.st, ==, RTC_PC_CONNECTED);
	g_assert_cmpint(p->b.st, ==, RTC_PC_CONNECTED);
	g_assert_cmpint(rtc_pc_local_dir(p->pa), ==, SDP_DIR_SENDRECV);
	g_assert_cmpint(rtc_pc_remote_dir(p->pb), ==, SDP_DIR_SENDRECV);
}

static void pair_down(pair *p)
{
	rtc_pc_free(p->pa);
	rtc_pc_free(p->pb);
	for (size_t i = 0; i < p->n_keep; i++)
		sdp_unref(p->keep[i]);
	g_string_free(p->a.sdp, TRUE);
	g_string_free(p->b.sdp, TRUE);
	fx_free(&p->f);
}

/* Sends n packets from pc with sequence numbers seq.. (a bridge's own
 * counter); returns how many rtc_pc_send_rtp accepted (held ones too). */
static unsigned send_n(pair *p, rtc_pc *pc, uint16_t seq, unsigned n)
{
	uint8_t buf[1500];
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t h = rtp_write_header(buf, sizeof buf, 111, false, (uint16_t)(seq + i), (seq + i) * 960u,
					    0x0a0b0c0d);
		memset(buf + h, (int)i, 160);
		ok += rtc_pc_send_rtp(pc, buf, h + 160, sizeof buf) == 0;
		g_main_context_iteration(p->f.ctx, FALSE);
	}
	return ok;
}

/* Lets packets in flight arrive (loopback: well under 200 ms). */
static void settle(pair *p)
{
	gint64 until = g_get_monotonic_time() + 200 * 1000;
	while (g_get_monotonic_time() < until)
		g_main_context_iteration(p->f.ctx, FALSE);
}

/* from's re-offer: checks the SDP, answers it on the other side, and
 * gives the answer back; returns the answer's direction. */
static sdp_dir reoffer(pair *p, rtc_pc *from, rtc_pc *to, peer *pt, sdp_dir dir,
		       const char *first_sdp)
{
	char *sdp = NULL, *err = NULL;
	g_assert_cmpint(rtc_pc_reoffer(from, dir, &sdp, &err), ==, 0);
	g_assert_null(err);
	sdp_session *o = pair_parse(p, sdp), *first = pair_parse(p, first_sdp);
	const sdp_media *m = &o->media[0], *fm = &first->media[0];
	g_assert_cmpuint(o->n_media, ==, first->n_media);
	g_assert_cmpint(m->dir, ==, dir);
	g_assert_true(m->dir_explicit);
	/* o= version up, same session id; same ICE, candidates, identity */
	guint64 v0 = g_ascii_strtoull(first->sess_version.p, NULL, 10);
	guint64 v1 = g_ascii_strtoull(o->sess_version.p, NULL, 10);
	g_assert_cmpuint(v1, >, v0);
	g_assert_cmpuint(o->sess_id.l, ==, first->sess_id.l);
	g_assert_true(memcmp(o->sess_id.p, first->sess_id.p, o->sess_id.l) == 0);
	g_assert_cmpuint(m->ice_ufrag.l, ==, fm->ice_ufrag.l);
	g_assert_true(memcmp(m->ice_ufrag.p, fm->ice_ufrag.p, m->ice_ufrag.l) == 0);
	g_assert_cmpuint(m->n_cands, >=, fm->n_cands);
	g_assert_cmpuint(m->n_cands, >=, 1);
	g_assert_cmpuint(m->fingerprint.len, ==, fm->fingerprint.len);
	g_assert_true(memcmp(m->fingerprint.bytes, fm->fingerprint.bytes, m->fingerprint.len) == 0);
	g_assert_true(m->setup == SDP_SETUP_ACTIVE || m->setup == SDP_SETUP_PASSIVE);
	g_assert_true(sdp_str_eq(m->mid, "0"));
	g_assert_true(m->rtcp_mux);
	g_assert_cmpuint(m->n_ssrcs, ==, fm->n_ssrcs);
	g_assert_cmpuint(m->ssrcs[0].ssrc, ==, fm->ssrcs[0].ssrc);
	g_assert_cmpuint(m->msid.l, ==, fm->msid.l);
	/* one codec (opus, as negotiated) plus telephone-event at its rate */
	g_assert_cmpuint(m->n_fmts, ==, 2);
	g_assert_true(sdp_str_ieq(m->fmts[0].name, "opus"));
	g_assert_cmpuint(m->fmts[0].pt, ==, 111);
	g_assert_true(sdp_str_ieq(m->fmts[1].name, "telephone-event"));
	g_assert_cmpuint(m->fmts[1].rate, ==, 48000);
	/* a second re-offer before the answer: glare, refused */
	char *again = NULL;
	g_assert_cmpint(rtc_pc_reoffer(from, SDP_DIR_SENDRECV, &again, &err), ==, EBUSY);
	g_assert_null(again);
	g_free(err);
	err = NULL;
	/* the other side answers at once */
	unsigned n = pt->sdps;
	g_assert_cmpint(rtc_pc_update(to, o, &err), ==, 0);
	pair_run(p, &pt->sdps, n + 1);
	sdp_session *a = pair_parse(p, pt->sdp->str);
	g_assert_cmpint(a->media[0].setup, ==, m->setup == SDP_SETUP_ACTIVE ? SDP_SETUP_PASSIVE : SDP_SETUP_ACTIVE);
	g_assert_cmpint(rtc_pc_set_answer(from, a, &err), ==, 0);
	g_assert_null(err);
	/* no second answer to the same offer */
	g_assert_cmpint(rtc_pc_set_answer(from, a, &err), ==, EINVAL);
	g_free(err);
	g_free(sdp);
	return a->media[0].dir;
}

/* a puts b on hold (sendonly), then resumes; b puts a on hold (inactive),
 * then resumes. Held sides send nothing (rtp_held counts), the other
 * direction keeps flowing, and after resume the streams go on with no
 * SRTP error and with sequence numbers continuing on the wire, even after
 * a jump of 40000 in the sender's own counter. */
static void test_hold_resume(void)
{
	pair p;
	pair_up(&p);
	char *first_a = g_strdup(p.a.sdp->str), *first_b = g_strdup(p.b.sdp->str);
	/* the first exchange: a offered actpass, b answered passive */
	g_assert_nonnull(strstr(first_b, "a=setup:passive"));

	g_assert_cmpuint(send_n(&p, p.pa, 100, 10), ==, 10);
	g_assert_cmpuint(send_n(&p, p.pb, 5000, 10), ==, 10);
	pair_run(&p, &p.b.rtp, 10);
	pair_run(&p, &p.a.rtp, 10);
	g_assert_cmpuint(p.a.last_seq, ==, 5009);

	/* a holds b: a sendonly, b answers recvonly */
	g_assert_cmpint(reoffer(&p, p.pa, p.pb, &p.b, SDP_DIR_SENDONLY, first_a), ==, SDP_DIR_RECVONLY);
	sdp_str o1 = p.keep[p.n_keep - 3]->text; /* a's re-offer: the role a took */
	g_assert_nonnull(g_strstr_len(o1.p, (gssize)o1.l, "a=setup:active"));
	g_assert_cmpint(rtc_pc_local_dir(p.pa), ==, SDP_DIR_SENDONLY);
	g_assert_cmpint(rtc_pc_remote_dir(p.pa), ==, SDP_DIR_RECVONLY);
	g_assert_cmpint(rtc_pc_local_dir(p.pb), ==, SDP_DIR_RECVONLY);
	g_assert_cmpint(rtc_pc_remote_dir(p.pb), ==, SDP_DIR_SENDONLY);
	g_assert_cmpuint(send_n(&p, p.pb, 5010, 10), ==, 10); /* accepted, dropped */
	g_assert_cmpuint(send_n(&p, p.pa, 110, 10), ==, 10);
	pair_run(&p, &p.b.rtp, 20);
	settle(&p);
	g_assert_cmpuint(p.a.rtp, ==, 10);
	rtc_pc_stats sb;
	rtc_pc_get_stats(p.pb, &sb);
	g_assert_cmpuint(sb.rtp_held, ==, 10);
	g_assert_cmpuint(sb.rtp_out, ==, 10);

	/* a resumes; b's counter jumped by 40000 meanwhile */
	g_assert_cmpint(reoffer(&p, p.pa, p.pb, &p.b, SDP_DIR_SENDRECV, first_a), ==, SDP_DIR_SENDRECV);
	g_assert_cmpint(rtc_pc_local_dir(p.pb), ==, SDP_DIR_SENDRECV);
	g_assert_cmpuint(send_n(&p, p.pb, 45020, 10), ==, 10);
	g_assert_cmpuint(send_n(&p, p.pa, 120, 10), ==, 10);
	pair_run(&p, &p.a.rtp, 20);
	pair_run(&p, &p.b.rtp, 30);
	g_assert_cmpuint(p.a.last_seq, ==, 5019); /* 5010..5019 on the wire */
	g_assert_cmpuint(p.b.last_seq, ==, 129);

	/* b (the first answerer) holds a with inactive; a answers inactive */
	g_assert_cmpint(reoffer(&p, p.pb, p.pa, &p.a, SDP_DIR_INACTIVE, first_b), ==, SDP_DIR_INACTIVE);
	g_assert_cmpint(rtc_pc_remote_dir(p.pa), ==, SDP_DIR_INACTIVE);
	g_assert_cmpuint(send_n(&p, p.pa, 130, 5), ==, 5);
	g_assert_cmpuint(send_n(&p, p.pb, 45030, 5), ==, 5);
	settle(&p);
	g_assert_cmpuint(p.a.rtp, ==, 20);
	g_assert_cmpuint(p.b.rtp, ==, 30);
	g_assert_cmpint(reoffer(&p, p.pb, p.pa, &p.a, SDP_DIR_SENDRECV, first_b), ==, SDP_DIR_SENDRECV);
	g_assert_cmpuint(send_n(&p, p.pa, 135, 5), ==, 5);
	g_assert_cmpuint(send_n(&p, p.pb, 45035, 5), ==, 5);
	pair_run(&p, &p.a.rtp, 25);
	pair_run(&p, &p.b.rtp, 35);
	g_assert_cmpuint(p.b.last_seq, ==, 134);  /* a's 135.. went on from 129 */
	g_assert_cmpuint(p.a.last_seq, ==, 5024);

	rtc_pc_stats sa;
	rtc_pc_get_stats(p.pa, &sa);
	rtc_pc_get_stats(p.pb, &sb);
	g_assert_cmpuint(sa.srtp_errors + sb.srtp_errors, ==, 0);
	g_assert_cmpuint(sa.rtp_held, ==, 5);
	g_assert_cmpuint(sb.rtp_held, ==, 15);
	g_assert_cmpint(p.a.st, ==, RTC_PC_CONNECTED);
	g_assert_cmpint(p.b.st, ==, RTC_PC_CONNECTED);
	g_free(first_a);
	g_free(first_b);
	pair_down(&p);
}

/* Replaces the first occurrence of what in text (which must hold it). */
static char *swap(const char *text, const char *what, const char *with)
{
	const char *at = strstr(text, what);
	g_assert_nonnull(at);
	return g_strdup_printf("%.*s%s%s", (int)(at - text), text, with, at + strlen(what));
}

/* Answers to a re-offer that would change the DTLS identity, the DTLS
 * role or the ICE credentials are refused with a clear reason and leave
 * the offer pending; so are re-offers from the peer with a new
 * fingerprint or a flipped role; an offer from the peer while ours is
 * pending is glare (EBUSY); a cancelled re-offer leaves things as they
 * were. */
static void test_reoffer_refused(void)
{
	pair p;
	pair_up(&p);
	char *sdp = NULL, *err = NULL;
	g_assert_cmpint(rtc_pc_set_answer(p.pa, p.keep[1], &err), ==, EINVAL);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(rtc_pc_reoffer(p.pa, SDP_DIR_SENDONLY, &sdp, &err), ==, 0);
	sdp_session *o = pair_parse(&p, sdp);

	/* glare: b offers while a's offer waits */
	g_assert_cmpint(rtc_pc_update(p.pa, p.keep[1], &err), ==, EBUSY);
	g_clear_pointer(&err, g_free);

	g_assert_cmpint(rtc_pc_update(p.pb, o, &err), ==, 0);
	pair_run(&p, &p.b.sdps, 2);
	const char *ans = p.b.sdp->str;
	g_assert_nonnull(strstr(ans, "a=recvonly"));

	const char *fp = strstr(ans, "a=fingerprint:sha-256 ");
	g_assert_nonnull(fp);
	char *bad_fp = g_strdup(ans);
	char *d = bad_fp + (fp - ans) + 22;
	*d = *d == 'A' ? 'B' : 'A';
	g_assert_cmpint(rtc_pc_set_answer(p.pa, pair_parse(&p, bad_fp), &err), ==, ENOTSUP);
	g_assert_nonnull(strstr(err, "fingerprint"));
	g_clear_pointer(&err, g_free);

	char *bad_role = swap(ans, "a=setup:passive", "a=setup:active");
	g_assert_cmpint(rtc_pc_set_answer(p.pa, pair_parse(&p, bad_role), &err), ==, EBADMSG);
	g_assert_nonnull(strstr(err, "DTLS role"));
	g_clear_pointer(&err, g_free);

	char *bad_ice = swap(ans, "a=ice-ufrag:", "a=ice-ufrag:X");
	g_assert_cmpint(rtc_pc_set_answer(p.pa, pair_parse(&p, bad_ice), &err), ==, EBADMSG);
	g_assert_nonnull(strstr(err, "ICE"));
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(rtc_pc_local_dir(p.pa), ==, SDP_DIR_SENDRECV); /* nothing taken yet */

	/* the real answer still works after the refusals */
	g_assert_cmpint(rtc_pc_set_answer(p.pa, pair_parse(&p, ans), &err), ==, 0);
	g_assert_cmpint(rtc_pc_local_dir(p.pa), ==, SDP_DIR_SENDONLY);

	/* the peer's re-offer with another fingerprint, or asking a's role */
	g_free(sdp);
	g_assert_cmpint(rtc_pc_reoffer(p.pb, SDP_DIR_SENDRECV, &sdp, &err), ==, 0);
	rtc_pc_reoffer_cancel(p.pb); /* say the other side answered 488 */
	const char *ofp = strstr(sdp, "a=fingerprint:sha-256 ");
	g_assert_nonnull(ofp);
	char *bad_ofp = g_strdup(sdp);
	d = bad_ofp + (ofp - sdp) + 22;
	*d = *d == 'A' ? 'B' : 'A';
	g_assert_cmpint(rtc_pc_update(p.pa, pair_parse(&p, bad_ofp), &err), ==, ENOTSUP);
	g_assert_nonnull(strstr(err, "fingerprint"));
	g_clear_pointer(&err, g_free);
	/* b is passive: an offer saying passive would make a passive too */
	char *bad_orole = swap(sdp, "a=setup:passive", "a=setup:active");
	g_assert_cmpint(rtc_pc_update(p.pa, pair_parse(&p, bad_orole), &err), ==, ENOTSUP);
	g_assert_nonnull(strstr(err, "DTLS role"));
	g_clear_pointer(&err, g_free);
	/* actpass (a browser's usual re-offer) keeps the roles */
	char *actpass = swap(sdp, "a=setup:passive", "a=setup:actpass");
	unsigned n = p.a.sdps;
	g_assert_cmpint(rtc_pc_update(p.pa, pair_parse(&p, actpass), &err), ==, 0);
	pair_run(&p, &p.a.sdps, n + 1);
	g_assert_nonnull(strstr(p.a.sdp->str, "a=setup:active"));
	g_assert_nonnull(strstr(p.a.sdp->str, "a=sendonly")); /* a still wants to hold b */
	g_assert_cmpint(rtc_pc_remote_dir(p.pa), ==, SDP_DIR_SENDRECV);

	g_assert_cmpint(p.a.st, ==, RTC_PC_CONNECTED);
	g_assert_cmpint(p.b.st, ==, RTC_PC_CONNECTED);
	g_free(sdp);
	g_free(bad_fp);
	g_free(bad_role);
	g_free(bad_ice);
	g_free(bad_ofp);
	g_free(bad_orole);
	g_free(actpass);
	pair_down(&p);
}

/* Answering a Chromium hold offer (sendonly) with recvonly (never
 * sendrecv: Chromium would refuse it), and our wanted direction (opts.dir,
 * rtc_pc_set_dir) against a sendrecv offer. */
static void test_answer_dir(void)
{
	fixture f;
	fx_init(&f);
	char *text = read_offer();
	char *held = swap(text, "a=sendrecv", "a=sendonly");
	sdp_session *offer = parse(held), *plain = parse(text);
	rtc_pc *pc = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_pc_new_from_offer(&f.o, offer, &pc, &err), ==, 0);
	g_assert_cmpint(rtc_pc_remote_dir(pc), ==, SDP_DIR_SENDONLY);
	g_assert_cmpint(rtc_pc_local_dir(pc), ==, SDP_DIR_RECVONLY);
	wait_answers(&f, 1);
	sdp_session *ans = parse(f.sk.answer->str);
	g_assert_cmpint(ans->media[0].dir, ==, SDP_DIR_RECVONLY);
	sdp_unref(ans);
	/* resumed by the browser; we hold it (the other leg holds us) */
	rtc_pc_set_dir(pc, SDP_DIR_SENDONLY);
	g_assert_cmpint(rtc_pc_update(pc, plain, &err), ==, 0);
	wait_answers(&f, 2);
	ans = parse(f.sk.answer->str);
	g_assert_cmpint(ans->media[0].dir, ==, SDP_DIR_SENDONLY);
	g_assert_cmpint(rtc_pc_remote_dir(pc), ==, SDP_DIR_SENDRECV);
	sdp_unref(ans);
	rtc_pc_free(pc);

	f.o.dir = SDP_DIR_INACTIVE;
	g_assert_cmpint(rtc_pc_new_from_offer(&f.o, plain, &pc, &err), ==, 0);
	wait_answers(&f, 3);
	ans = parse(f.sk.answer->str);
	g_assert_cmpint(ans->media[0].dir, ==, SDP_DIR_INACTIVE);
	sdp_unref(ans);
	rtc_pc_free(pc);
	sdp_unref(offer);
	sdp_unref(plain);
	g_free(held);
	g_free(text);
	fx_free(&f);
}

/* A Chromium offer with audio and video: our re-offer keeps both m-lines
 * in order (video rejected with port 0, same mid) and bundles the audio
 * only; the browser's answer (made here with sdp_answer from the
 * browser's own ICE credentials and certificate) is taken. */
static void test_reoffer_av(void)
{
	fixture f;
	fx_init(&f);
	const char *src = g_getenv("JN_SRCDIR") ? g_getenv("JN_SRCDIR") : JN_SRCDIR;
	char *path = g_build_filename(src, "tests", "data", "sdp", "chromium",
				      "chromium-audio-video-bundle.offer.sdp", NULL);
	char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	sdp_session *offer = parse(text);
	rtc_pc *pc = NULL;
	char *err = NULL, *sdp = NULL;
	g_assert_cmpint(rtc_pc_new_from_offer(&f.o, offer, &pc, &err), ==, 0);
	wait_answers(&f, 1);
	g_assert_cmpint(rtc_pc_reoffer(pc, SDP_DIR_SENDONLY, &sdp, &err), ==, 0);
	sdp_session *o = parse(sdp);
	g_assert_cmpuint(o->n_media, ==, 2);
	g_assert_cmpint(o->media[0].type, ==, SDP_MEDIA_AUDIO);
	g_assert_cmpuint(o->media[0].port, !=, 0);
	g_assert_cmpint(o->media[0].dir, ==, SDP_DIR_SENDONLY);
	g_assert_cmpint(o->media[0].setup, ==, SDP_SETUP_PASSIVE);
	g_assert_true(sdp_str_eq(o->media[0].mid, "0"));
	g_assert_cmpint(o->media[1].type, ==, SDP_MEDIA_VIDEO);
	g_assert_cmpuint(o->media[1].port, ==, 0);
	g_assert_true(sdp_str_eq(o->media[1].mid, "1"));
	g_assert_cmpuint(o->n_bundle, ==, 1);
	g_assert_true(sdp_str_eq(o->bundle[0], "0"));

	static const sdp_codec opus = { .name = "opus", .rate = 48000, .channels = 2, .pt = 111 };
	sdp_local browser = {
		.codecs = &opus, .n_codecs = 1, .telephone_event = true, .transport = SDP_TRANSPORT_DTLS,
		.addr = "127.0.0.1", .port = 9, .ice_ufrag = "UJob", .ice_pwd = "fE14s1+5fSrnF5x4GIPaGhvL",
		.fingerprint = "sha-256 FB:CA:77:C7:F4:0A:43:F0:0A:9F:49:56:15:B0:B8:00:B6:B9:74:C9:30:5E:74:E7:"
			       "35:FF:6F:3D:C8:7B:27:E7",
		.sess_id = 7, .sess_version = 3,
	};
	GString *a = g_string_new(NULL);
	g_assert_cmpint(sdp_answer(o, &browser, a, NULL, NULL), ==, 0);
	sdp_session *ans = parse(a->str);
	g_assert_cmpint(ans->media[0].dir, ==, SDP_DIR_RECVONLY);
	g_assert_cmpint(ans->media[0].setup, ==, SDP_SETUP_ACTIVE);
	g_assert_cmpuint(ans->media[1].port, ==, 0);
	g_assert_cmpint(rtc_pc_set_answer(pc, ans, &err), ==, 0);
	g_assert_null(err);
	g_assert_cmpint(rtc_pc_local_dir(pc), ==, SDP_DIR_SENDONLY);
	g_assert_cmpint(rtc_pc_remote_dir(pc), ==, SDP_DIR_RECVONLY);

	rtc_pc_free(pc);
	sdp_unref(ans);
	sdp_unref(o);
	sdp_unref(offer);
	g_string_free(a, TRUE);
	g_free(sdp);
	g_free(text);
	g_free(path);
	fx_free(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtc_pc/answer", test_answer);
	g_test_add_func("/rtc_pc/refused", test_refused);
	g_test_add_func("/rtc_pc/loopback", test_loopback);
	g_test_add_func("/rtc_pc/stun_early_answer", test_stun_early_answer);
	g_test_add_func("/rtc_pc/answer_dir", test_answer_dir);
	g_test_add_func("/rtc_pc/hold_resume", test_hold_resume);
	g_test_add_func("/rtc_pc/reoffer_refused", test_reoffer_refused);
	g_test_add_func("/rtc_pc/reoffer_av", test_reoffer_av);
	return g_test_run();
}
