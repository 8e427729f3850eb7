/* rtc_pc: answering a Chromium offer (no remote candidates, so nothing is
 * ever sent): the answer's ICE credentials, fingerprint, setup role,
 * loopback candidates, rtcp-mux and SSRC; refused offers; a re-offer with
 * new ICE credentials (restart) and one with a new fingerprint. */
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

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtc_pc/answer", test_answer);
	g_test_add_func("/rtc_pc/refused", test_refused);
	g_test_add_func("/rtc_pc/loopback", test_loopback);
	g_test_add_func("/rtc_pc/stun_early_answer", test_stun_early_answer);
	return g_test_run();
}
