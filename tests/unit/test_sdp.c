/* Unit tests for media/sdp: the parser on real browser and SIP offers
 * (tests/data/sdp), answers to each of them, our own offers and their
 * answers, hold, the generator's round trip, error reasons and caps. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "media/sdp.h"

static const sdp_codec codecs_webrtc[] = {
	{ "opus", 48000, 2, 111, "minptime=10;useinbandfec=1" },
	{ "PCMU", 8000, 1, 0, NULL },
	{ "PCMA", 8000, 1, 8, NULL },
};
static const sdp_codec codecs_g711[] = {
	{ "PCMU", 8000, 1, 0, NULL },
	{ "PCMA", 8000, 1, 8, NULL },
};
static const sdp_codec codecs_pcma_first[] = {
	{ "PCMA", 8000, 1, 8, NULL },
	{ "PCMU", 8000, 1, 0, NULL },
};
static const char *const cands[] = { "1 1 udp 2130706431 127.0.0.1 40000 typ host" };
#define KEY80 "WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ"
#define KEY32 "t0r0/apkukU7JjjfR0mY8GEimBq4OiPEm9eKSFOx"
static const sdp_sdes_key sdes_keys[] = {
	{ "AES_CM_128_HMAC_SHA1_80", KEY80 },
	{ "AES_CM_128_HMAC_SHA1_32", KEY32 },
};
#define FPR                                                                              \
	"sha-256 10:C3:9C:86:7C:3D:46:58:69:3E:D1:66:39:8E:A0:FC:40:66:90:DE:68:A8:3A:D0:" \
	"A1:3E:1D:20:89:AE:3A:28"

static sdp_local local_dtls(void)
{
	return (sdp_local){
		.codecs = codecs_webrtc,
		.n_codecs = G_N_ELEMENTS(codecs_webrtc),
		.telephone_event = true,
		.transport = SDP_TRANSPORT_DTLS,
		.addr = "127.0.0.1",
		.port = 40000,
		.ice_ufrag = "abcd",
		.ice_pwd = "0123456789abcdef012345",
		.candidates = cands,
		.n_candidates = 1,
		.end_of_candidates = true,
		.fingerprint = FPR,
		.sess_id = 42,
		.sess_version = 1,
		.msid_semantic = "WMS *",
		.msid = "jn jn-audio",
		.ssrc = 1234,
		.cname = "junction",
	};
}

static sdp_local local_rtp(void)
{
	return (sdp_local){
		.codecs = codecs_g711,
		.n_codecs = G_N_ELEMENTS(codecs_g711),
		.telephone_event = true,
		.te_pt = 101,
		.ptime = 20,
		.transport = SDP_TRANSPORT_RTP,
		.addr = "127.0.0.1",
		.port = 30000,
		.sdes = sdes_keys,
		.n_sdes = G_N_ELEMENTS(sdes_keys),
		.sess_id = 7,
		.sess_version = 1,
	};
}

static char *data_path(const char *rel)
{
	const char *src = g_getenv("JN_SRCDIR");
	return g_build_filename(src ? src : JN_SRCDIR, "tests", "data", "sdp", rel, NULL);
}

static char *read_data(const char *rel, gsize *len)
{
	char *path = data_path(rel), *text = NULL;
	GError *e = NULL;
	if (!g_file_get_contents(path, &text, len, &e))
		g_error("%s: %s", path, e->message);
	g_free(path);
	return text;
}

static sdp_session *parse_ok(const char *text, size_t len, const char *what)
{
	sdp_session *s = NULL;
	sdp_error err;
	int rc = sdp_parse(text, len, &s, &err);
	if (rc)
		g_test_message("%s: %s", what, err.reason);
	g_assert_cmpint(rc, ==, 0);
	g_assert_nonnull(s);
	return s;
}

static sdp_session *parse_file(const char *rel)
{
	gsize len;
	char *t = read_data(rel, &len);
	sdp_session *s = parse_ok(t, len, rel);
	g_free(t); /* the view holds its own copy */
	return s;
}

static bool slice_eq(sdp_str a, sdp_str b)
{
	return a.l == b.l && (a.l == 0 || memcmp(a.p, b.p, a.l) == 0);
}

static bool bundle_has(const sdp_session *s, sdp_str mid)
{
	for (size_t i = 0; i < s->n_bundle; i++)
		if (slice_eq(s->bundle[i], mid))
			return true;
	return false;
}

static const sdp_fmt *find_codec(const sdp_media *m, const char *name)
{
	for (size_t i = 0; i < m->n_fmts; i++)
		if (m->fmts[i].has_rtpmap && sdp_str_ieq(m->fmts[i].name, name))
			return &m->fmts[i];
	return NULL;
}

/* Checks one browser offer and our answer to it. */
static void check_browser_offer(const char *rel)
{
	sdp_session *o = parse_file(rel);
	sdp_local l = local_dtls();
	GString *out = g_string_new(NULL);
	sdp_neg neg;
	sdp_error err;
	int rc = sdp_answer(o, &l, out, &neg, &err);

	int audio = -1;
	for (size_t i = 0; i < o->n_media && audio < 0; i++)
		if (o->media[i].type == SDP_MEDIA_AUDIO && o->media[i].port &&
		    o->media[i].fingerprint.present)
			audio = (int)i;
	g_test_message("%s: rc %d %s", rel, rc, rc ? err.reason : "");
	if (audio < 0) {
		/* video-only, data-only and the no-DTLS offer: nothing to accept */
		g_assert_cmpint(rc, ==, ENOTSUP);
		g_assert_cmpint(sdp_sip_status(rc), ==, 488);
		g_assert_cmpuint(strlen(err.reason), >, 0);
		goto done;
	}
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpint(neg.audio, ==, audio);
	sdp_session *a = parse_ok(out->str, out->len, "answer");
	const sdp_media *om = &o->media[audio], *am = &a->media[audio];

	/* every m-line answered in order with the same mid */
	g_assert_cmpuint(a->n_media, ==, o->n_media);
	for (size_t i = 0; i < o->n_media; i++) {
		g_assert_true(slice_eq(a->media[i].mid, o->media[i].mid));
		g_assert_true(slice_eq(a->media[i].type_str, o->media[i].type_str));
		g_assert_true(slice_eq(a->media[i].proto_str, o->media[i].proto_str));
		if ((int)i != audio)
			g_assert_cmpuint(a->media[i].port, ==, 0);
	}
	g_assert_cmpuint(am->port, ==, 40000);
	g_assert_cmpint(am->proto, ==, om->proto);
	/* Opus when offered, else the first G.711 we share; PT of the offer */
	const sdp_fmt *want = find_codec(om, "opus");
	if (!want)
		want = sdp_media_fmt(om, 0) ? sdp_media_fmt(om, 0) : sdp_media_fmt(om, 8);
	g_assert_nonnull(want);
	g_assert_cmpuint(am->n_fmts, >=, 1);
	g_assert_cmpuint(am->fmts[0].pt, ==, want->pt);
	g_assert_cmpint(neg.media[audio].pt, ==, want->pt);
	if (find_codec(om, "opus")) {
		g_assert_true(sdp_str_eq(am->fmts[0].name, "opus"));
		g_assert_cmpuint(am->fmts[0].rate, ==, 48000);
		g_assert_cmpuint(am->fmts[0].channels, ==, 2);
	}
	/* telephone-event at the codec's rate, when offered at that rate */
	for (size_t i = 0; i < om->n_fmts; i++)
		if (om->fmts[i].has_rtpmap && sdp_str_eq(om->fmts[i].name, "telephone-event") &&
		    om->fmts[i].rate == neg.media[audio].rate)
			g_assert_cmpint(neg.media[audio].te_pt, ==, om->fmts[i].pt);
	if (neg.media[audio].te_pt >= 0) {
		g_assert_cmpuint(am->n_fmts, ==, 2);
		g_assert_cmpint(am->fmts[1].pt, ==, neg.media[audio].te_pt);
	}
	/* DTLS role and ICE */
	if (om->setup == SDP_SETUP_ACTPASS)
		g_assert_cmpint(am->setup, ==, SDP_SETUP_ACTIVE);
	g_assert_true(am->fingerprint.present);
	g_assert_cmpuint(am->fingerprint.len, ==, 32);
	g_assert_true(sdp_str_eq(am->ice_ufrag, "abcd"));
	g_assert_cmpuint(am->n_cands, ==, 1);
	g_assert_cmpint(am->rtcp_mux, ==, om->rtcp_mux);
	/* direction per RFC 3264 §6.1 */
	g_assert_true(am->dir_explicit);
	g_assert_cmpint(am->dir, ==, sdp_dir_answer(om->dir, SDP_DIR_SENDRECV));
	if (om->dir == SDP_DIR_RECVONLY)
		g_assert_cmpint(am->dir, ==, SDP_DIR_SENDONLY);
	/* BUNDLE: the accepted mid only */
	if (o->has_bundle && bundle_has(o, om->mid)) {
		g_assert_true(a->has_bundle);
		g_assert_cmpuint(a->n_bundle, ==, 1);
		g_assert_true(slice_eq(a->bundle[0], om->mid));
		g_assert_true(neg.bundle);
	} else {
		g_assert_false(a->has_bundle);
	}
	sdp_unref(a);
done:
	g_string_free(out, TRUE);
	sdp_unref(o);
}

static void test_browser_offers(void)
{
	static const char *const dirs[] = { "chromium", "firefox", "safari", "other" };
	unsigned n = 0;
	for (size_t d = 0; d < G_N_ELEMENTS(dirs); d++) {
		char *path = data_path(dirs[d]);
		GDir *dir = g_dir_open(path, 0, NULL);
		g_assert_nonnull(dir);
		const char *name;
		while ((name = g_dir_read_name(dir))) {
			if (!g_str_has_suffix(name, ".sdp"))
				continue;
			char *rel = g_build_filename(dirs[d], name, NULL);
			check_browser_offer(rel);
			g_free(rel);
			n++;
		}
		g_dir_close(dir);
		g_free(path);
	}
	g_assert_cmpuint(n, >=, 30);
}

/* Candidates of Chromium's gathered offers: host ones on the sandbox
 * addresses, UDP with ports, TCP active ones on port 9. */
static void test_gathered_candidates(void)
{
	char *path = data_path("chromium");
	GDir *dir = g_dir_open(path, 0, NULL);
	const char *name;
	unsigned files = 0;
	while ((name = g_dir_read_name(dir))) {
		if (!g_str_has_suffix(name, ".offer-gathered.sdp"))
			continue;
		char *rel = g_build_filename("chromium", name, NULL);
		sdp_session *s = parse_file(rel);
		size_t total = 0;
		for (size_t i = 0; i < s->n_media; i++) {
			const sdp_media *m = &s->media[i];
			for (size_t k = 0; k < m->n_cands; k++) {
				const sdp_candidate *c = &m->cands[k];
				g_assert_true(c->component == 1 || c->component == 2);
				g_assert_cmpint(c->type, ==, SDP_CAND_HOST);
				g_assert_true(sdp_str_eq(c->addr, "192.0.2.2") ||
					      sdp_str_eq(c->addr, "fd00::2"));
				g_assert_cmpuint(c->priority, >, 0);
				g_assert_cmpint(c->generation, ==, 0);
				if (c->tcp) {
					g_assert_true(sdp_str_eq(c->tcptype, "active"));
					g_assert_cmpuint(c->port, ==, 9);
				} else {
					g_assert_cmpuint(c->port, >, 9);
					g_assert_cmpuint(c->tcptype.l, ==, 0);
				}
				g_assert_true(c->line.l > 0 && c->line.p[c->line.l - 1] != '\r');
			}
			total += m->n_cands;
			/* the m-line port is the first UDP candidate's (RFC 8839 default) */
			if (m->n_cands)
				g_assert_cmpuint(m->port, ==, m->cands[0].port);
		}
		g_assert_cmpuint(total, >, 0);
		/* ungathered twin has none */
		char *twin = g_strdup(rel);
		strcpy(strstr(twin, ".offer-gathered.sdp"), ".offer.sdp");
		sdp_session *t = parse_file(twin);
		for (size_t i = 0; i < t->n_media; i++)
			g_assert_cmpuint(t->media[i].n_cands, ==, 0);
		sdp_unref(t);
		g_free(twin);
		sdp_unref(s);
		g_free(rel);
		files++;
	}
	g_dir_close(dir);
	g_free(path);
	g_assert_cmpuint(files, >=, 11);
}

static void test_firefox_details(void)
{
	sdp_session *s = parse_file("firefox/firefox58-audio-offer.aiortc.sdp");
	const sdp_media *m = &s->media[0];
	g_assert_cmpuint(m->n_cands, ==, 10);
	const sdp_candidate *c = &m->cands[8];
	g_assert_cmpint(c->type, ==, SDP_CAND_SRFLX);
	g_assert_true(sdp_str_eq(c->addr, "1.2.3.4"));
	g_assert_true(sdp_str_eq(c->raddr, "192.168.99.58"));
	g_assert_true(c->has_rport);
	g_assert_cmpuint(c->rport, ==, 37264);
	g_assert_true(c->tcp == false && sdp_str_eq(c->transport, "UDP"));
	g_assert_true(m->cands[2].tcp);
	g_assert_true(m->end_of_candidates);
	g_assert_true(sdp_str_eq(m->fingerprint.hash, "sha-256"));
	g_assert_cmpuint(m->fingerprint.bytes[0], ==, 0xEB);
	g_assert_cmpuint(m->fingerprint.bytes[31], ==, 0x17);
	g_assert_cmpint(m->setup, ==, SDP_SETUP_ACTPASS);
	const sdp_fmt *opus = sdp_media_fmt(m, 109);
	g_assert_nonnull(opus);
	g_assert_true(sdp_str_eq(opus->name, "opus"));
	sdp_unref(s);

	/* Chromium's header extensions, ssrc-less msid, rtcp-fb and fmtp */
	s = parse_file("chromium/chromium-audio-video-bundle.offer.sdp");
	m = &s->media[0];
	g_assert_cmpuint(m->n_extmaps, ==, 4);
	g_assert_cmpuint(m->extmaps[0].id, ==, 1);
	g_assert_true(sdp_str_eq(m->extmaps[0].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
	g_assert_true(m->rtcp_mux && m->rtcp_rsize);
	g_assert_cmpuint(m->rtcp_port, ==, 9);
	g_assert_true(sdp_str_eq(m->rtcp_addr, "0.0.0.0"));
	g_assert_true(m->ice_trickle);
	g_assert_true(sdp_str_eq(s->msid_semantic, "WMS 87df5f35-56d2-433d-92a2-4cfd629989d9"));
	opus = sdp_media_fmt(m, 111);
	sdp_str v;
	g_assert_true(sdp_fmtp_get(opus->fmtp, "useinbandfec", &v) && sdp_str_eq(v, "1"));
	g_assert_true(sdp_fmtp_get(opus->fmtp, "minptime", &v) && sdp_str_eq(v, "10"));
	g_assert_false(sdp_fmtp_get(opus->fmtp, "stereo", NULL));
	g_assert_cmpuint(m->n_fbs, >=, 1);
	g_assert_cmpint(m->fbs[0].pt, ==, 111);
	g_assert_true(sdp_str_eq(m->fbs[0].type, "transport-cc"));
	g_assert_nonnull(sdp_attr_find(s, NULL, "extmap-allow-mixed"));
	/* video has rtcp-fb with parameters ("nack pli") */
	const sdp_media *vm = &s->media[1];
	bool pli = false;
	for (size_t i = 0; i < vm->n_fbs; i++)
		pli |= sdp_str_eq(vm->fbs[i].type, "nack") && sdp_str_eq(vm->fbs[i].param, "pli");
	g_assert_true(pli);
	sdp_unref(s);

	/* Chromium data channel: proto, sctp-port, no RTP formats */
	s = parse_file("chromium/chromium-datachannel-only.offer.sdp");
	g_assert_cmpint(s->media[0].proto, ==, SDP_PROTO_UDP_DTLS_SCTP);
	g_assert_cmpuint(s->media[0].sctp_port, ==, 5000);
	g_assert_cmpuint(s->media[0].n_fmts, ==, 0);
	g_assert_true(sdp_str_eq(s->media[0].fmt_str, "webrtc-datachannel"));
	sdp_unref(s);
}

/* Local setup preference and DTLS roles against each offered role. */
static void test_dtls_roles(void)
{
	gsize len;
	char *t = read_data("chromium/chromium-audio-only-bundle.offer.sdp", &len);
	static const struct {
		const char *offered;
		sdp_setup pref, want;
	} cases[] = {
		{ "actpass", SDP_SETUP_UNSET, SDP_SETUP_ACTIVE },
		{ "actpass", SDP_SETUP_PASSIVE, SDP_SETUP_PASSIVE },
		{ "active", SDP_SETUP_UNSET, SDP_SETUP_PASSIVE },
		{ "passive", SDP_SETUP_PASSIVE, SDP_SETUP_ACTIVE },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *repl = g_strdup_printf("a=setup:%s", cases[i].offered);
		char **parts = g_strsplit(t, "a=setup:actpass", -1);
		char *text = g_strjoinv(repl, parts);
		sdp_session *o = parse_ok(text, strlen(text), "setup");
		sdp_local l = local_dtls();
		l.setup = cases[i].pref;
		GString *out = g_string_new(NULL);
		sdp_neg neg;
		g_assert_cmpint(sdp_answer(o, &l, out, &neg, NULL), ==, 0);
		g_assert_cmpint(neg.media[0].local_setup, ==, cases[i].want);
		sdp_session *a = parse_ok(out->str, out->len, "answer");
		g_assert_cmpint(a->media[0].setup, ==, cases[i].want);
		sdp_unref(a);
		sdp_unref(o);
		g_string_free(out, TRUE);
		g_free(text);
		g_strfreev(parts);
		g_free(repl);
	}
	g_free(t);
}

typedef struct {
	const char *file;
	int rc;	       /* sdp_parse or sdp_answer result */
	int status;    /* SIP status for rc */
	int audio;     /* accepted m-line, -1 when rc */
	int pt;	       /* chosen payload type */
	bool crypto;   /* answered with a=crypto */
	sdp_dir dir;   /* our direction */
} pj_case;

/* pjsip's scripts-sendto offers, answered by a G.711 RTP leg that also
 * does SDES when offered (sdes_optional). pjsua's expected statuses are in
 * tests/data/sdp/pjsip-sendto/MANIFEST.tsv: its 488 cases (151, 153, 158)
 * get 488 here, its 400 syntax cases (155-157) fail to parse (400); 152
 * (no m-line) is 400 for pjsua and 488 here (valid SDP, nothing to accept).
 * The G.722.1 and AMR offers get 488: we have neither codec. */
static const pj_case pj_cases[] = {
	{ "100_simplecall.sdp", 0, 200, 0, 0, false, SDP_DIR_SENDRECV },
	{ "120_sdp_with_video_dynamic_1.sdp", 0, 200, 0, 0, false, SDP_DIR_SENDRECV },
	{ "120_sdp_with_video_dynamic_2.sdp", 0, 200, 1, 0, false, SDP_DIR_SENDRECV },
	{ "121_sdp_with_video_static_2.sdp", 0, 200, 1, 0, false, SDP_DIR_SENDRECV },
	{ "122_sdp_with_unknown_dynamic_2.sdp", 0, 200, 1, 0, false, SDP_DIR_SENDRECV },
	{ "124_sdp_with_unknown_static_unknown_transport.sdp", 0, 200, 0, 0, false, SDP_DIR_SENDRECV },
	{ "125_sdp_with_multi_audio_0.sdp", 0, 200, 0, 0, false, SDP_DIR_SENDRECV },
	{ "125_sdp_with_multi_audio_2.sdp", 0, 200, 1, 0, false, SDP_DIR_SENDRECV },
	{ "125_sdp_with_multi_audio_3.sdp", 0, 200, 1, 0, false, SDP_DIR_SENDRECV },
	{ "126_sdp_with_port_0_and_no_rtpmap_for_dynamic_pt.sdp", 0, 200, 1, 0, false, SDP_DIR_SENDRECV },
	{ "140_sdp_with_direction_attr_in_session_1.sdp", 0, 200, 0, 0, false, SDP_DIR_RECVONLY },
	{ "140_sdp_with_direction_attr_in_session_2.sdp", 0, 200, 0, 0, false, SDP_DIR_RECVONLY },
	{ "151_err_sdp_video.sdp", ENOTSUP, 488, -1, -1, false, 0 },
	{ "152_err_sdp_no_media.sdp", ENOTSUP, 488, -1, -1, false, 0 },
	{ "153_err_sdp_unsupported_codec.sdp", ENOTSUP, 488, -1, -1, false, 0 },
	{ "155_err_sdp_bad_syntax.sdp", EBADMSG, 400, -1, -1, false, 0 },
	{ "156_err_sdp_bad_net_type.sdp", EBADMSG, 400, -1, -1, false, 0 },
	{ "157_err_sdp_bad_addr_type.sdp", EBADMSG, 400, -1, -1, false, 0 },
	{ "158_err_sdp_bad_transport_type.sdp", ENOTSUP, 488, -1, -1, false, 0 },
	{ "200_ice_success_2.sdp", 0, 200, 0, 0, false, SDP_DIR_SENDRECV },
	{ "300_srtp_crypto_case_insensitive.sdp", 0, 200, 0, 0, true, SDP_DIR_SENDRECV },
	{ "301_srtp0_recv_savp.sdp", 0, 200, 0, 0, true, SDP_DIR_SENDRECV },
	{ "312_srtp1_recv_savp.sdp", 0, 200, 0, 0, true, SDP_DIR_SENDRECV },
	{ "320_srtp2_no_crypto.sdp", ENOTSUP, 488, -1, -1, false, 0 },
	{ "323_srtp2_receive_too_long_key.sdp", ENOTSUP, 488, -1, -1, false, 0 },
	{ "323_srtp2_unsupported_crypto.sdp", ENOTSUP, 488, -1, -1, false, 0 },
	{ "330_srtp_prefer_rtp_savp.sdp", 0, 200, 0, 0, false, SDP_DIR_SENDRECV },
	{ "331_srtp_prefer_rtp_avp.sdp", 0, 200, 1, 0, false, SDP_DIR_SENDRECV },
	{ "400_fmtp_g7221_with_bitrate.sdp", ENOTSUP, 488, -1, -1, false, 0 },
	{ "410_fmtp_amrnb_offer_octet_align.sdp", ENOTSUP, 488, -1, -1, false, 0 },
};

static void test_pjsip_offers(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(pj_cases); i++) {
		const pj_case *c = &pj_cases[i];
		char *rel = g_build_filename("pjsip-sendto", c->file, NULL);
		gsize len;
		char *t = read_data(rel, &len);
		sdp_session *o = NULL;
		sdp_error err;
		int rc = sdp_parse(t, len, &o, &err);
		GString *out = g_string_new(NULL);
		sdp_neg neg;
		sdp_local l = local_rtp();
		l.sdes_optional = true;
		if (!rc)
			rc = sdp_answer(o, &l, out, &neg, &err);
		g_test_message("%s: rc %d (%s)", c->file, rc, rc ? err.reason : "ok");
		g_assert_cmpint(rc, ==, c->rc);
		g_assert_cmpint(sdp_sip_status(rc), ==, c->status);
		if (!rc) {
			g_assert_cmpint(neg.audio, ==, c->audio);
			g_assert_cmpint(neg.media[c->audio].pt, ==, c->pt);
			g_assert_cmpint(neg.media[c->audio].local_dir, ==, c->dir);
			g_assert_cmpint(neg.media[c->audio].remote_port, ==, o->media[c->audio].port);
			sdp_session *a = parse_ok(out->str, out->len, "answer");
			g_assert_cmpuint(a->n_media, ==, o->n_media);
			const sdp_media *am = &a->media[c->audio];
			g_assert_cmpuint(am->port, ==, 30000);
			g_assert_cmpint(am->dir, ==, c->dir);
			g_assert_cmpuint(am->n_cryptos, ==, c->crypto ? 1 : 0);
			g_assert_cmpuint(am->ptime, ==, 20);
			if (c->crypto) {
				const sdp_crypto *rk = neg.media[c->audio].remote_crypto;
				g_assert_nonnull(rk);
				g_assert_cmpuint(am->cryptos[0].tag, ==, rk->tag);
				g_assert_true(sdp_str_ieq(am->cryptos[0].suite, sdes_keys[neg.media[c->audio].local_sdes].suite));
				g_assert_cmpint(am->proto, ==, o->media[c->audio].proto);
			}
			for (size_t k = 0; k < a->n_media; k++)
				if ((int)k != c->audio)
					g_assert_cmpuint(a->media[k].port, ==, 0);
			sdp_unref(a);
		} else {
			g_assert_cmpuint(strlen(err.reason), >, 0);
		}
		sdp_unref(o);
		g_string_free(out, TRUE);
		g_free(t);
		g_free(rel);
	}
}

/* Every pjsip .sdp parses except the three syntax cases; every one that
 * parses gets either an answer or ENOTSUP, never anything else. */
static void test_pjsip_all_parse(void)
{
	char *path = data_path("pjsip-sendto");
	GDir *dir = g_dir_open(path, 0, NULL);
	const char *name;
	unsigned n = 0;
	while ((name = g_dir_read_name(dir))) {
		if (!g_str_has_suffix(name, ".sdp"))
			continue;
		char *rel = g_build_filename("pjsip-sendto", name, NULL);
		gsize len;
		char *t = read_data(rel, &len);
		sdp_session *o = NULL;
		int rc = sdp_parse(t, len, &o, NULL);
		bool syntax = g_str_has_prefix(name, "155_") || g_str_has_prefix(name, "156_") ||
			      g_str_has_prefix(name, "157_");
		g_assert_cmpint(rc, ==, syntax ? EBADMSG : 0);
		if (!rc) {
			GString *out = g_string_new(NULL);
			sdp_local l = local_rtp();
			rc = sdp_answer(o, &l, out, NULL, NULL);
			g_assert_true(rc == 0 || rc == ENOTSUP);
			if (!rc)
				sdp_unref(parse_ok(out->str, out->len, "answer"));
			g_string_free(out, TRUE);
		}
		sdp_unref(o);
		g_free(t);
		g_free(rel);
		n++;
	}
	g_dir_close(dir);
	g_free(path);
	g_assert_cmpuint(n, >=, 80);
}

/* Asterisk's INVITE body: PCMU GSM PCMA telephone-event, ptime 20. */
static void test_sip_trunk(void)
{
	gsize len;
	char *msg = read_data("sip-trunk/asterisk-pbx-invite-2008.pjsip-999_asterisk_err.sip", &len);
	const char *body = strstr(msg, "\r\n\r\n");
	g_assert_nonnull(body);
	body += 4;
	sdp_session *o = parse_ok(body, len - (size_t)(body - msg), "asterisk");
	g_assert_cmpuint(o->n_media, ==, 1);
	const sdp_media *m = &o->media[0];
	g_assert_cmpuint(m->n_fmts, ==, 4);
	g_assert_cmpuint(m->ptime, ==, 20);
	g_assert_true(sdp_str_eq(o->media[0].conn.addr, "192.168.1.11"));
	const sdp_fmt *te = sdp_media_fmt(m, 101);
	g_assert_true(te && sdp_str_eq(te->fmtp, "0-16"));

	sdp_local l = local_rtp();
	GString *out = g_string_new(NULL);
	sdp_neg neg;
	g_assert_cmpint(sdp_answer(o, &l, out, &neg, NULL), ==, 0);
	g_assert_cmpint(neg.media[0].pt, ==, 0);
	g_assert_cmpint(neg.media[0].te_pt, ==, 101);
	g_assert_true(sdp_str_eq(neg.media[0].remote_addr, "192.168.1.11"));
	g_assert_cmpuint(neg.media[0].remote_port, ==, m->port);
	g_assert_cmpuint(neg.media[0].remote_rtcp_port, ==, m->port + 1);
	g_assert_cmpuint(neg.media[0].ptime, ==, 20);
	g_assert_true(g_str_has_suffix(out->str, "\r\n"));
	g_assert_null(strstr(out->str, "\n\n"));
	g_string_truncate(out, 0);
	/* a PCMA-first leg picks PCMA from the same offer */
	l.codecs = codecs_pcma_first;
	g_assert_cmpint(sdp_answer(o, &l, out, &neg, NULL), ==, 0);
	g_assert_cmpint(neg.media[0].pt, ==, 8);
	g_assert_true(sdp_str_eq(neg.media[0].codec, "PCMA"));
	sdp_unref(o);
	g_string_free(out, TRUE);
	g_free(msg);
}

static const char opus_offer[] =
	"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
	"m=audio 5004 RTP/AVP 96 0 97 101\r\n"
	"a=rtpmap:96 opus/48000/2\r\n"
	"a=fmtp:96 maxplaybackrate=16000; stereo=1;useinbandfec=1;usedtx=1;maxaveragebitrate=20000\r\n"
	"a=rtpmap:97 telephone-event/48000\r\na=fmtp:97 0-15\r\n"
	"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
	"a=sendonly\r\na=ptime:40\r\n";

/* Opus fmtp read into sdp_neg; telephone-event matched by clock rate. */
static void test_opus_and_te(void)
{
	sdp_session *o = parse_ok(opus_offer, sizeof opus_offer - 1, "opus");
	sdp_local l = local_rtp();
	l.codecs = codecs_webrtc;
	l.n_codecs = G_N_ELEMENTS(codecs_webrtc);
	GString *out = g_string_new(NULL);
	sdp_neg neg;
	g_assert_cmpint(sdp_answer(o, &l, out, &neg, NULL), ==, 0);
	const sdp_neg_media *nm = &neg.media[0];
	g_assert_cmpint(nm->pt, ==, 96);
	g_assert_cmpint(nm->te_pt, ==, 97);
	g_assert_true(nm->opus_fec && nm->opus_dtx && nm->opus_stereo);
	g_assert_cmpuint(nm->opus_maxaveragebitrate, ==, 20000);
	g_assert_cmpuint(nm->opus_maxplaybackrate, ==, 16000);
	g_assert_cmpint(nm->local_dir, ==, SDP_DIR_RECVONLY);
	g_assert_cmpuint(nm->ptime, ==, 40);
	sdp_session *a = parse_ok(out->str, out->len, "answer");
	const sdp_fmt *f = sdp_media_fmt(&a->media[0], 96);
	/* we answer with our own receive preferences, not an echo of theirs */
	g_assert_true(f && sdp_str_eq(f->fmtp, "minptime=10;useinbandfec=1"));
	const sdp_fmt *te = sdp_media_fmt(&a->media[0], 97);
	g_assert_true(te && sdp_str_eq(te->fmtp, "0-15") && te->rate == 48000);
	g_assert_null(sdp_media_fmt(&a->media[0], 101));
	g_assert_cmpint(a->media[0].dir, ==, SDP_DIR_RECVONLY);
	sdp_unref(a);
	/* PCMU first: the 8 kHz event type */
	g_string_truncate(out, 0);
	l.codecs = codecs_g711;
	l.n_codecs = G_N_ELEMENTS(codecs_g711);
	g_assert_cmpint(sdp_answer(o, &l, out, &neg, NULL), ==, 0);
	g_assert_cmpint(neg.media[0].pt, ==, 0);
	g_assert_cmpint(neg.media[0].te_pt, ==, 101);
	g_assert_false(neg.media[0].opus_fec);
	/* no telephone-event wanted: none answered */
	g_string_truncate(out, 0);
	l.telephone_event = false;
	g_assert_cmpint(sdp_answer(o, &l, out, &neg, NULL), ==, 0);
	g_assert_cmpint(neg.media[0].te_pt, ==, -1);
	g_assert_null(strstr(out->str, "telephone-event"));
	sdp_unref(o);
	g_string_free(out, TRUE);
}

/* RFC 2543-style hold from an old phone: c=0.0.0.0 means "send me nothing". */
static void test_old_hold(void)
{
	static const char t[] = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\n"
				"t=0 0\r\nm=audio 5004 RTP/AVP 0\r\n";
	sdp_session *o = parse_ok(t, sizeof t - 1, "old hold");
	sdp_local l = local_rtp();
	GString *out = g_string_new(NULL);
	sdp_neg neg;
	g_assert_cmpint(sdp_answer(o, &l, out, &neg, NULL), ==, 0);
	g_assert_cmpint(neg.media[0].remote_dir, ==, SDP_DIR_SENDONLY);
	g_assert_cmpint(neg.media[0].local_dir, ==, SDP_DIR_RECVONLY);
	g_assert_nonnull(strstr(out->str, "a=recvonly\r\n"));
	sdp_unref(o);
	g_string_free(out, TRUE);
}

static void test_dir_answer(void)
{
	static const struct {
		sdp_dir offered, local, want;
	} t[] = {
		{ SDP_DIR_SENDRECV, SDP_DIR_UNSET, SDP_DIR_SENDRECV },
		{ SDP_DIR_UNSET, SDP_DIR_UNSET, SDP_DIR_SENDRECV },
		{ SDP_DIR_SENDONLY, SDP_DIR_SENDRECV, SDP_DIR_RECVONLY },
		{ SDP_DIR_RECVONLY, SDP_DIR_SENDRECV, SDP_DIR_SENDONLY },
		{ SDP_DIR_INACTIVE, SDP_DIR_SENDRECV, SDP_DIR_INACTIVE },
		{ SDP_DIR_SENDRECV, SDP_DIR_SENDONLY, SDP_DIR_SENDONLY },
		{ SDP_DIR_SENDRECV, SDP_DIR_INACTIVE, SDP_DIR_INACTIVE },
		{ SDP_DIR_SENDONLY, SDP_DIR_SENDONLY, SDP_DIR_INACTIVE },
		{ SDP_DIR_RECVONLY, SDP_DIR_RECVONLY, SDP_DIR_INACTIVE },
		{ SDP_DIR_RECVONLY, SDP_DIR_SENDONLY, SDP_DIR_SENDONLY },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		g_assert_cmpint(sdp_dir_answer(t[i].offered, t[i].local), ==, t[i].want);
}

/* Our offer to a trunk, answered by another instance of us, then read
 * back: covers sdp_offer, sdp_answer and sdp_process_answer together. */
/* srtp = optional toward a trunk: RTP/AVP carrying our a=crypto lines, so a
 * peer without SDES still answers plain RTP (RFC 4568 §7.1.1 best effort). */
static void test_offer_best_effort(void)
{
	sdp_local l = local_rtp();
	l.transport = SDP_TRANSPORT_RTP;
	l.n_sdes = 1;
	GString *offer = g_string_new(NULL);
	sdp_error err;
	g_assert_cmpint(sdp_offer(&l, offer, &err), ==, 0);
	sdp_session *o = parse_ok(offer->str, offer->len, "best-effort offer");
	g_assert_cmpint(o->media[0].proto, ==, SDP_PROTO_RTP_AVP);
	g_assert_cmpuint(o->media[0].n_cryptos, ==, 1);
	g_assert_cmpuint(o->media[0].cryptos[0].tag, ==, 1);
	sdp_unref(o);
	g_string_free(offer, TRUE);
}

static void offer_answer_loop(sdp_transport tr, sdp_dir hold, sdp_dir want_local)
{
	sdp_local caller = local_rtp();
	caller.transport = tr;
	caller.dir = hold;
	caller.codecs = codecs_webrtc;
	caller.n_codecs = G_N_ELEMENTS(codecs_webrtc);
	if (tr == SDP_TRANSPORT_RTP)
		caller.n_sdes = 0; /* keys on RTP/AVP are best-effort SRTP: see test_offer_best_effort */
	GString *offer = g_string_new(NULL);
	sdp_error err;
	g_assert_cmpint(sdp_offer(&caller, offer, &err), ==, 0);
	sdp_session *o = parse_ok(offer->str, offer->len, "our offer");
	const sdp_media *om = &o->media[0];
	g_assert_cmpint(om->proto, ==, tr == SDP_TRANSPORT_SDES ? SDP_PROTO_RTP_SAVP : SDP_PROTO_RTP_AVP);
	g_assert_cmpuint(om->n_fmts, ==, 5); /* opus PCMU PCMA te/48000 te/8000 */
	g_assert_cmpuint(om->fmts[0].pt, ==, 111);
	g_assert_cmpuint(om->fmts[1].pt, ==, 0);
	g_assert_cmpuint(om->fmts[2].pt, ==, 8);
	g_assert_true(sdp_media_fmt(om, 102) && sdp_media_fmt(om, 102)->rate == 48000);
	g_assert_true(sdp_media_fmt(om, 101) && sdp_media_fmt(om, 101)->rate == 8000);
	g_assert_cmpuint(om->ptime, ==, 20);
	g_assert_cmpint(om->dir, ==, hold != SDP_DIR_UNSET ? hold : SDP_DIR_SENDRECV);
	g_assert_cmpuint(om->n_cryptos, ==, tr == SDP_TRANSPORT_SDES ? 2 : 0);

	sdp_local callee = local_rtp(); /* G.711 only */
	callee.addr = "10.1.2.3";
	callee.port = 50000;
	callee.transport = tr;
	GString *ans = g_string_new(NULL);
	sdp_neg an;
	g_assert_cmpint(sdp_answer(o, &callee, ans, &an, &err), ==, 0);
	sdp_session *a = parse_ok(ans->str, ans->len, "their answer");
	sdp_neg neg;
	g_assert_cmpint(sdp_process_answer(a, &caller, &neg, &err), ==, 0);
	const sdp_neg_media *nm = &neg.media[0];
	g_assert_true(nm->accepted);
	g_assert_cmpint(nm->pt, ==, 0);
	g_assert_cmpint(nm->local_codec, ==, 1);
	g_assert_cmpint(nm->te_pt, ==, 101);
	g_assert_true(sdp_str_eq(nm->remote_addr, "10.1.2.3"));
	g_assert_cmpuint(nm->remote_port, ==, 50000);
	g_assert_cmpint(nm->local_dir, ==, want_local);
	if (tr == SDP_TRANSPORT_SDES) {
		g_assert_nonnull(nm->remote_crypto);
		g_assert_cmpuint(nm->crypto_tag, ==, 1);
		g_assert_cmpint(nm->local_sdes, ==, 0);
		g_assert_true(sdp_str_eq(nm->remote_crypto->key, KEY80));
	} else {
		g_assert_null(nm->remote_crypto);
	}
	sdp_unref(a);
	sdp_unref(o);
	g_string_free(ans, TRUE);
	g_string_free(offer, TRUE);
}

/* Hand-written answers from trunks/phones to our SDES offer. */
static void test_trunk_answers(void)
{
	sdp_local l = local_rtp();
	l.transport = SDP_TRANSPORT_SDES;
	static const char a1[] =
		"v=0\r\no=pbx 5 6 IN IP4 10.9.9.9\r\ns=pbx\r\nc=IN IP4 10.9.9.9\r\nt=0 0\r\n"
		"m=audio 16000 RTP/SAVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n"
		"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:" KEY32 "\r\na=recvonly\r\n";
	sdp_session *a = parse_ok(a1, sizeof a1 - 1, "a1");
	sdp_neg neg;
	sdp_error err;
	g_assert_cmpint(sdp_process_answer(a, &l, &neg, &err), ==, 0);
	const sdp_neg_media *nm = &neg.media[0];
	g_assert_cmpint(nm->pt, ==, 8);
	g_assert_cmpint(nm->local_codec, ==, 1);
	g_assert_cmpint(nm->te_pt, ==, 101);
	g_assert_cmpint(nm->local_sdes, ==, 1);
	g_assert_cmpuint(nm->crypto_tag, ==, 2);
	g_assert_true(sdp_str_eq(nm->remote_crypto->key, KEY32));
	g_assert_cmpint(nm->local_dir, ==, SDP_DIR_SENDONLY); /* they only receive */
	g_assert_true(sdp_str_eq(nm->remote_addr, "10.9.9.9"));
	g_assert_cmpuint(nm->remote_port, ==, 16000);
	g_assert_cmpuint(nm->remote_rtcp_port, ==, 16001);
	sdp_unref(a);

	/* tag 2 with tag 1's suite: not a key we offered */
	static const char a2[] =
		"v=0\r\no=pbx 5 6 IN IP4 10.9.9.9\r\ns=pbx\r\nc=IN IP4 10.9.9.9\r\nt=0 0\r\n"
		"m=audio 16000 RTP/SAVP 0\r\na=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "\r\n";
	a = parse_ok(a2, sizeof a2 - 1, "a2");
	g_assert_cmpint(sdp_process_answer(a, &l, &neg, &err), ==, EBADMSG);
	g_assert_cmpstr(err.reason, ==, "answer has no usable crypto");
	sdp_unref(a);

	/* a codec we never offered */
	static const char a3[] =
		"v=0\r\no=pbx 5 6 IN IP4 10.9.9.9\r\ns=pbx\r\nc=IN IP4 10.9.9.9\r\nt=0 0\r\n"
		"m=audio 16000 RTP/AVP 18\r\n";
	a = parse_ok(a3, sizeof a3 - 1, "a3");
	l.transport = SDP_TRANSPORT_RTP;
	g_assert_cmpint(sdp_process_answer(a, &l, &neg, &err), ==, EBADMSG);
	g_assert_cmpstr(err.reason, ==, "answer has none of the offered codecs");
	/* SDES offer, plain answer: only when SDES was optional */
	l.transport = SDP_TRANSPORT_SDES;
	g_assert_cmpint(sdp_process_answer(a, &l, &neg, &err), ==, EBADMSG);
	sdp_unref(a);
	static const char a4[] =
		"v=0\r\no=pbx 5 6 IN IP4 10.9.9.9\r\ns=pbx\r\nc=IN IP4 10.9.9.9\r\nt=0 0\r\n"
		"m=audio 16000 RTP/AVP 0\r\na=rtcp:16011\r\n";
	a = parse_ok(a4, sizeof a4 - 1, "a4");
	l.sdes_optional = true;
	g_assert_cmpint(sdp_process_answer(a, &l, &neg, &err), ==, 0);
	g_assert_cmpint(neg.media[0].transport, ==, SDP_TRANSPORT_RTP);
	g_assert_null(neg.media[0].remote_crypto);
	g_assert_cmpuint(neg.media[0].remote_rtcp_port, ==, 16011);
	sdp_unref(a);
}

static void test_offer_answer_loop(void)
{
	offer_answer_loop(SDP_TRANSPORT_RTP, SDP_DIR_UNSET, SDP_DIR_SENDRECV);
	offer_answer_loop(SDP_TRANSPORT_SDES, SDP_DIR_UNSET, SDP_DIR_SENDRECV);
	/* hold re-offers */
	offer_answer_loop(SDP_TRANSPORT_RTP, SDP_DIR_SENDONLY, SDP_DIR_SENDONLY);
	offer_answer_loop(SDP_TRANSPORT_SDES, SDP_DIR_INACTIVE, SDP_DIR_INACTIVE);
}

/* Offers to a browser and its answer (active), and bad answers. */
static void test_webrtc_offer(void)
{
	sdp_local l = local_dtls();
	l.end_of_candidates = false;
	GString *out = g_string_new(NULL);
	g_assert_cmpint(sdp_offer(&l, out, NULL), ==, 0);
	sdp_session *o = parse_ok(out->str, out->len, "offer");
	g_assert_cmpint(o->media[0].proto, ==, SDP_PROTO_UDP_TLS_RTP_SAVPF);
	g_assert_cmpint(o->media[0].setup, ==, SDP_SETUP_ACTPASS);
	g_assert_true(o->media[0].rtcp_mux && o->media[0].ice_trickle);
	g_assert_true(o->has_bundle && sdp_str_eq(o->bundle[0], "0"));
	g_assert_true(sdp_str_eq(o->media[0].mid, "0"));
	g_assert_true(sdp_str_eq(o->media[0].msid, "jn jn-audio"));
	g_assert_cmpuint(o->media[0].n_ssrcs, ==, 1);
	g_assert_cmpuint(o->media[0].ssrcs[0].ssrc, ==, 1234);
	g_assert_true(sdp_str_eq(o->media[0].ssrcs[0].attr, "cname"));
	g_assert_true(sdp_str_eq(o->media[0].ssrcs[0].value, "junction"));

	/* the "browser" answers with setup:active */
	sdp_local b = local_dtls();
	GString *ans = g_string_new(NULL);
	g_assert_cmpint(sdp_answer(o, &b, ans, NULL, NULL), ==, 0);
	sdp_session *a = parse_ok(ans->str, ans->len, "answer");
	sdp_neg neg;
	g_assert_cmpint(sdp_process_answer(a, &l, &neg, NULL), ==, 0);
	g_assert_cmpint(neg.media[0].local_setup, ==, SDP_SETUP_PASSIVE);
	g_assert_true(sdp_str_eq(neg.media[0].codec, "opus"));
	g_assert_true(neg.media[0].opus_fec);
	g_assert_true(neg.bundle);
	sdp_unref(a);

	/* an answer that keeps actpass is an error */
	char **parts = g_strsplit(ans->str, "a=setup:active", -1);
	char *bad = g_strjoinv("a=setup:actpass", parts);
	a = parse_ok(bad, strlen(bad), "bad answer");
	sdp_error err;
	g_assert_cmpint(sdp_process_answer(a, &l, &neg, &err), ==, EBADMSG);
	g_assert_nonnull(strstr(err.reason, "setup"));
	sdp_unref(a);
	g_free(bad);
	g_strfreev(parts);

	/* a rejected audio m-line */
	static const char rej[] = "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\n"
				  "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n";
	a = parse_ok(rej, sizeof rej - 1, "rejected");
	g_assert_cmpint(sdp_process_answer(a, &l, &neg, &err), ==, ENOTSUP);
	sdp_unref(a);
	sdp_unref(o);
	g_string_free(ans, TRUE);
	g_string_free(out, TRUE);
}

/* Everything the generator prints comes back from the parser unchanged. */
static void test_round_trip(void)
{
	static const char *const fb[] = { "transport-cc", "nack pli", NULL };
	static const sdp_fmt_desc fmts[] = {
		{ 111, "opus", 48000, 2, "minptime=10;useinbandfec=1", fb },
		{ 0, NULL, 0, 0, NULL, NULL },
		{ 101, "telephone-event", 8000, 1, "0-16", NULL },
	};
	static const char *const cs[] = {
		"842163049 1 udp 1677729535 1.2.3.4 61015 typ srflx raddr 192.168.0.87 rport 61015 generation 3",
		"3 1 tcp 2105458943 192.168.99.58 9 typ host tcptype active",
	};
	static const char *const cry[] = { "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|2^20|1:4 KDR=1" };
	static const char *const extra[] = { "extmap:3/sendonly urn:x:y attr", "foo:bar baz", "flag" };
	static const char *const bundle[] = { "a0", "d1" };
	sdp_media_desc md[] = {
		{ .type = SDP_MEDIA_AUDIO, .port = 5004, .proto = SDP_PROTO_UDP_TLS_RTP_SAVPF,
		  .addr = "2001:db8::1", .mid = "a0", .dir = SDP_DIR_SENDONLY, .ice_ufrag = "uf",
		  .ice_pwd = "pwpwpwpwpwpwpwpwpwpwpw", .ice_trickle = true, .candidates = cs,
		  .n_candidates = 2, .end_of_candidates = true, .fingerprint = FPR,
		  .setup = SDP_SETUP_PASSIVE, .rtcp_mux = true, .rtcp_rsize = true, .rtcp_port = 5005,
		  .ptime = 20, .maxptime = 120, .fmts = fmts, .n_fmts = 3, .cryptos = cry,
		  .n_cryptos = 1, .extra = extra, .n_extra = 3 },
		{ .type = SDP_MEDIA_APPLICATION, .port = 9, .proto = SDP_PROTO_UDP_DTLS_SCTP,
		  .fmt_str = "webrtc-datachannel", .mid = "d1", .sctp_port = 5000 },
		{ .type = SDP_MEDIA_OTHER, .type_str = "xapp", .port = 0, .proto_str = "X/Y",
		  .fmt_str = "54", .dir = SDP_DIR_INACTIVE },
	};
	sdp_desc d = { .origin_user = "jn", .sess_id = 123456789012345ULL, .sess_version = 9,
		       .origin_addr = "10.0.0.1", .name = "call", .addr = "10.0.0.1",
		       .bundle = bundle, .n_bundle = 2, .ice_lite = true,
		       .msid_semantic = "WMS *", .media = md, .n_media = 3 };
	GString *out = g_string_new(NULL);
	g_assert_cmpint(sdp_print(&d, out), ==, 0);
	/* CRLF everywhere, no bare LF */
	for (size_t i = 0; i < out->len; i++)
		if (out->str[i] == '\n')
			g_assert_true(i > 0 && out->str[i - 1] == '\r');
	sdp_session *s = parse_ok(out->str, out->len, "round trip");
	g_assert_true(sdp_str_eq(s->origin_user, "jn"));
	g_assert_true(sdp_str_eq(s->sess_id, "123456789012345"));
	g_assert_true(sdp_str_eq(s->sess_version, "9"));
	g_assert_true(sdp_str_eq(s->name, "call"));
	g_assert_true(sdp_str_eq(s->conn.addr, "10.0.0.1") && !s->conn.ip6);
	g_assert_true(s->ice_lite);
	g_assert_cmpuint(s->n_bundle, ==, 2);
	g_assert_true(sdp_str_eq(s->bundle[1], "d1"));
	g_assert_true(sdp_str_eq(s->msid_semantic, "WMS *"));
	g_assert_cmpuint(s->n_media, ==, 3);
	const sdp_media *m = &s->media[0];
	g_assert_cmpint(m->type, ==, SDP_MEDIA_AUDIO);
	g_assert_cmpuint(m->port, ==, 5004);
	g_assert_cmpint(m->proto, ==, SDP_PROTO_UDP_TLS_RTP_SAVPF);
	g_assert_true(sdp_str_eq(m->conn.addr, "2001:db8::1") && m->conn.ip6);
	g_assert_true(sdp_str_eq(m->mid, "a0"));
	g_assert_cmpint(m->dir, ==, SDP_DIR_SENDONLY);
	g_assert_true(sdp_str_eq(m->ice_ufrag, "uf") && m->ice_trickle);
	g_assert_cmpuint(m->n_cands, ==, 2);
	g_assert_cmpint(m->cands[0].type, ==, SDP_CAND_SRFLX);
	g_assert_cmpuint(m->cands[0].rport, ==, 61015);
	g_assert_cmpint(m->cands[0].generation, ==, 3);
	g_assert_true(sdp_str_eq(m->cands[0].line, cs[0]));
	g_assert_true(sdp_str_eq(m->cands[1].tcptype, "active"));
	g_assert_true(m->end_of_candidates);
	g_assert_cmpuint(m->fingerprint.len, ==, 32);
	g_assert_cmpuint(m->fingerprint.bytes[1], ==, 0xC3);
	g_assert_cmpint(m->setup, ==, SDP_SETUP_PASSIVE);
	g_assert_true(m->rtcp_mux && m->rtcp_rsize);
	g_assert_cmpuint(m->rtcp_port, ==, 5005);
	g_assert_cmpuint(m->ptime, ==, 20);
	g_assert_cmpuint(m->maxptime, ==, 120);
	g_assert_cmpuint(m->n_fmts, ==, 3);
	g_assert_true(sdp_str_eq(m->fmts[0].name, "opus") && m->fmts[0].channels == 2);
	g_assert_true(sdp_str_eq(m->fmts[0].fmtp, "minptime=10;useinbandfec=1"));
	g_assert_false(m->fmts[1].has_rtpmap);
	g_assert_cmpuint(m->fmts[2].rate, ==, 8000);
	g_assert_cmpuint(m->n_fbs, ==, 2);
	g_assert_true(sdp_str_eq(m->fbs[1].type, "nack") && sdp_str_eq(m->fbs[1].param, "pli"));
	g_assert_cmpuint(m->n_cryptos, ==, 1);
	g_assert_cmpuint(m->cryptos[0].tag, ==, 1);
	g_assert_true(sdp_str_eq(m->cryptos[0].suite, "AES_CM_128_HMAC_SHA1_80"));
	g_assert_true(sdp_str_eq(m->cryptos[0].key, KEY80));
	g_assert_true(sdp_str_eq(m->cryptos[0].lifetime, "2^20"));
	g_assert_true(sdp_str_eq(m->cryptos[0].mki, "1:4"));
	g_assert_true(sdp_str_eq(m->cryptos[0].params, "KDR=1"));
	g_assert_cmpuint(m->n_extmaps, ==, 1);
	g_assert_cmpuint(m->extmaps[0].id, ==, 3);
	g_assert_cmpint(m->extmaps[0].dir, ==, SDP_DIR_SENDONLY);
	g_assert_true(sdp_str_eq(m->extmaps[0].attrs, "attr"));
	const sdp_attr *a = sdp_attr_find(s, m, "foo");
	g_assert_true(a && sdp_str_eq(a->value, "bar baz"));
	a = sdp_attr_find(s, m, "flag");
	g_assert_true(a && a->value.l == 0);
	g_assert_cmpuint(s->media[1].sctp_port, ==, 5000);
	g_assert_true(sdp_str_eq(s->media[1].conn.addr, "10.0.0.1")); /* inherited */
	g_assert_true(sdp_str_eq(s->media[2].type_str, "xapp"));
	g_assert_true(sdp_str_eq(s->media[2].proto_str, "X/Y"));
	g_assert_cmpint(s->media[2].dir, ==, SDP_DIR_INACTIVE);
	sdp_unref(s);

	/* CR or LF inside a field would inject lines: refused */
	md[0].mid = "a0\r\na=evil";
	g_string_truncate(out, 0);
	g_assert_cmpint(sdp_print(&d, out), ==, EINVAL);
	g_string_free(out, TRUE);
}

static void expect_error(const char *text, int code, const char *reason)
{
	sdp_session *s = (sdp_session *)1;
	sdp_error err;
	int rc = sdp_parse(text, strlen(text), &s, &err);
	g_test_message("reason: %s", err.reason);
	g_assert_cmpint(rc, ==, code);
	g_assert_null(s);
	g_assert_cmpstr(err.reason, ==, reason);
}

#define HDR "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4 1.1.1.1\r\nt=0 0\r\n"

static void test_errors(void)
{
	expect_error("", EBADMSG, "empty SDP");
	expect_error("o=- 1 1 IN IP4 1.1.1.1\r\n", EBADMSG, "line 1: SDP must start with v=");
	expect_error("v=1\r\n", EBADMSG, "line 1: bad v= line");
	expect_error("v=0\r\nhello\r\n", EBADMSG, "line 2: not a type=value line");
	expect_error("v=0\r\ns=-\r\nt=0 0\r\n", EBADMSG, "missing o= line");
	expect_error(HDR "m=audio 4000 RTP/AVP 0\r\nm=audio 70000 RTP/AVP 0\r\n", EBADMSG,
		     "m-line 2: bad port");
	expect_error(HDR "m=audio 4000/0 RTP/AVP 0\r\n", EBADMSG, "m-line 1: bad port count");
	expect_error(HDR "m=audio 4000 RTP/AVP 0 128\r\n", EBADMSG, "m-line 1: bad payload type");
	expect_error(HDR "m=audio\r\n", EBADMSG, "m-line 1: bad m= line");
	expect_error(HDR "m=audio 4000 RTP/AVP 0\r\na=fingerprint:sha-256 AB:C\r\n", EBADMSG,
		     "m-line 1: bad fingerprint");
	expect_error(HDR "m=audio 4000 RTP/AVP 0\r\na=fingerprint:sha-256 AB:\r\n", EBADMSG,
		     "m-line 1: bad fingerprint");
	expect_error(HDR "m=audio 4000 RTP/AVP 0\r\na=setup:both\r\n", EBADMSG, "m-line 1: bad setup");
	expect_error(HDR "m=audio 4000 RTP/AVP 0\r\na=ptime:x\r\n", EBADMSG, "m-line 1: bad ptime");
	expect_error("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		     EBADMSG, "m-line 1: no c= line");
	expect_error(HDR "m=audio 4000 RTP/AVP 0\r\nc=IN IP4\r\n", EBADMSG, "m-line 1: bad c= line");
	expect_error(HDR "m=audio 4000 RTP/AVP 0\r\na=mid:a b\r\n", EBADMSG, "m-line 1: bad mid");
	expect_error(HDR "m=audio 4000 RTP/AVP 0\r\na=fmtp:0 x\ry\r\n", EBADMSG,
		     "line 7: CR or NUL inside a line");
	static const char nul[] = HDR "a=tool:x\0y\r\n";
	sdp_session *s = NULL;
	sdp_error err;
	g_assert_cmpint(sdp_parse(nul, sizeof nul - 1, &s, &err), ==, EBADMSG);
	g_assert_cmpstr(err.reason, ==, "line 6: CR or NUL inside a line");

	/* caps */
	GString *big = g_string_new(HDR);
	for (unsigned i = 0; i <= SDP_MAX_MEDIA; i++)
		g_string_append(big, "m=audio 0 RTP/AVP 0\r\n");
	expect_error(big->str, EMSGSIZE, "line 38: more than 32 m-lines");
	g_string_assign(big, HDR);
	for (unsigned i = 0; i < SDP_MAX_LINES; i++)
		g_string_append(big, "b=AS:1\r\n");
	expect_error(big->str, EMSGSIZE, "line 2049: more than 2048 lines");
	g_string_assign(big, HDR "m=audio 4000 RTP/AVP");
	for (unsigned i = 0; i <= SDP_MAX_FMTS; i++)
		g_string_append(big, " 0");
	expect_error(big->str, EMSGSIZE, "line 6: more than 128 formats");
	g_string_assign(big, HDR "s=");
	while (big->len <= SDP_MAX_SIZE)
		g_string_append(big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	expect_error(big->str, EMSGSIZE, "SDP larger than 65536 bytes");
	g_string_free(big, TRUE);
}

/* Lenient parts: unreadable attributes become unknown ones, LF-only and
 * no final newline are fine, unknown line types are ignored. */
static void test_lenient(void)
{
	static const char t[] =
		"v=0\no=- 1 1 IN IP4 1.1.1.1\ns=-\nc=IN IP4 1.1.1.1\nt=0 0\nx=whatever\n"
		"a=sendonly\nm=audio 4000 RTP/AVP 0 96\nb=AS:64\n"
		"a=rtpmap:96 broken\na=candidate:1 1 udp\na=crypto:x AES_CM_128_HMAC_SHA1_80 inline:k\n"
		"a=crypto:2 AES_CM_128_HMAC_SHA1_32\na=ssrc:zz cname:x\na=rtpmap:97 foo/8000\n"
		"a=fmtp:96 a=b\na=recvonly";
	sdp_session *s = parse_ok(t, sizeof t - 1, "lenient");
	const sdp_media *m = &s->media[0];
	g_assert_cmpint(s->dir, ==, SDP_DIR_SENDONLY);
	g_assert_cmpint(m->dir, ==, SDP_DIR_RECVONLY);
	g_assert_false(sdp_media_fmt(m, 96)->has_rtpmap);
	g_assert_true(sdp_str_eq(sdp_media_fmt(m, 96)->fmtp, "a=b"));
	g_assert_cmpuint(m->n_cands, ==, 0);
	g_assert_cmpuint(m->n_cryptos, ==, 0);
	g_assert_cmpuint(m->n_ssrcs, ==, 0);
	g_assert_cmpuint(m->n_attrs, ==, 6);
	g_assert_true(sdp_str_eq(sdp_attr_find(s, m, "candidate")->value, "1 1 udp"));
	/* 96 has no rtpmap: not usable; PCMU is */
	sdp_local l = local_rtp();
	GString *out = g_string_new(NULL);
	sdp_neg neg;
	g_assert_cmpint(sdp_answer(s, &l, out, &neg, NULL), ==, 0);
	g_assert_cmpint(neg.media[0].pt, ==, 0);
	g_assert_cmpint(neg.media[0].local_dir, ==, SDP_DIR_SENDONLY);
	g_string_free(out, TRUE);
	/* refcount: the view outlives the caller's buffer and survives a ref */
	sdp_session *r = sdp_ref(s);
	g_assert_true(r == s);
	g_assert_null(sdp_unref(s));
	g_assert_true(sdp_str_eq(r->media[0].proto_str, "RTP/AVP"));
	sdp_unref(r);
}

static void test_fmtp_iter(void)
{
	sdp_str rest = { " 0-15 ; x = 1;;y=2;", 19 }, k, v;
	g_assert_true(sdp_fmtp_next(&rest, &k, &v));
	g_assert_true(k.l == 0 && sdp_str_eq(v, "0-15"));
	g_assert_true(sdp_fmtp_next(&rest, &k, &v));
	g_assert_true(sdp_str_eq(k, "x") && sdp_str_eq(v, "1"));
	g_assert_true(sdp_fmtp_next(&rest, &k, &v));
	g_assert_true(sdp_str_eq(k, "y") && sdp_str_eq(v, "2"));
	g_assert_false(sdp_fmtp_next(&rest, &k, &v));
	uint32_t x;
	g_assert_true(sdp_str_u32((sdp_str){ "4294967295", 10 }, UINT32_MAX, &x) && x == UINT32_MAX);
	g_assert_false(sdp_str_u32((sdp_str){ "4294967296", 10 }, UINT32_MAX, &x));
	g_assert_false(sdp_str_u32((sdp_str){ "", 0 }, 10, &x));
	g_assert_false(sdp_str_u32((sdp_str){ "-1", 2 }, 10, &x));
}

/* Every prefix of a real offer parses or fails cleanly, from an exact-size
 * heap copy (ASan catches a read past the end; no NUL is assumed). */
static void test_truncations(void)
{
	gsize len;
	char *t = read_data("chromium/chromium-audio-video-datachannel.offer-gathered.sdp", &len);
	for (size_t n = 0; n <= len; n++) {
		char *cut = g_memdup2(t, n ? n : 1);
		sdp_session *s = NULL;
		int rc = sdp_parse(cut, n, &s, NULL);
		g_assert_true(rc == 0 || rc == EBADMSG);
		if (!rc) {
			GString *out = g_string_new(NULL);
			sdp_local l = local_dtls();
			rc = sdp_answer(s, &l, out, NULL, NULL);
			g_assert_true(rc == 0 || rc == ENOTSUP);
			g_string_free(out, TRUE);
		}
		sdp_unref(s);
		g_free(cut);
	}
	g_free(t);
}

static void test_local_errors(void)
{
	sdp_session *o = parse_ok(opus_offer, sizeof opus_offer - 1, "opus");
	sdp_local l = local_rtp();
	l.n_codecs = 0;
	GString *out = g_string_new(NULL);
	sdp_error err;
	g_assert_cmpint(sdp_answer(o, &l, out, NULL, &err), ==, EINVAL);
	g_assert_cmpint(sdp_sip_status(EINVAL), ==, 500);
	l = local_rtp();
	l.transport = SDP_TRANSPORT_DTLS;
	g_assert_cmpint(sdp_offer(&l, out, &err), ==, EINVAL);
	g_assert_cmpuint(out->len, ==, 0);
	sdp_unref(o);
	g_string_free(out, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sdp/browser-offers", test_browser_offers);
	g_test_add_func("/sdp/gathered-candidates", test_gathered_candidates);
	g_test_add_func("/sdp/browser-details", test_firefox_details);
	g_test_add_func("/sdp/dtls-roles", test_dtls_roles);
	g_test_add_func("/sdp/pjsip-offers", test_pjsip_offers);
	g_test_add_func("/sdp/pjsip-all-parse", test_pjsip_all_parse);
	g_test_add_func("/sdp/sip-trunk", test_sip_trunk);
	g_test_add_func("/sdp/opus-and-te", test_opus_and_te);
	g_test_add_func("/sdp/dir-answer", test_dir_answer);
	g_test_add_func("/sdp/old-hold", test_old_hold);
	g_test_add_func("/sdp/offer-answer-loop", test_offer_answer_loop);
	g_test_add_func("/sdp/trunk-answers", test_trunk_answers);
	g_test_add_func("/sdp/webrtc-offer", test_webrtc_offer);
	g_test_add_func("/sdp/round-trip", test_round_trip);
	g_test_add_func("/sdp/errors", test_errors);
	g_test_add_func("/sdp/lenient", test_lenient);
	g_test_add_func("/sdp/fmtp-iter", test_fmtp_iter);
	g_test_add_func("/sdp/truncations", test_truncations);
	g_test_add_func("/sdp/local-errors", test_local_errors);
	g_test_add_func("/sdp/offer-best-effort", test_offer_best_effort);
	return g_test_run();
}
