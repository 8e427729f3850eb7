/* sdp_oa: offer/answer (RFC 3264) with the JSEP rules a media server
 * needs (see sdp.h).
 *
 * A leg carries one audio stream, so an answer accepts exactly one audio
 * m-line and rejects every other one with port 0 (same order, same mid, as
 * RFC 3264 §6 requires). The accepted section carries one codec plus the
 * telephone-event format at that codec's clock rate: answering with several
 * codecs would let the far end switch codec mid-call, and a bridge that
 * relays without transcoding needs both sides pinned to one. The codec is
 * the first of ours (in our preference order) that the offer contains, so
 * a browser bridged to a G.711 trunk can be steered to PCMU by the caller's
 * codec list; the offerer's payload type number is kept.
 *
 * Transports: DTLS answers UDP/TLS/RTP/SAVP(F) offers carrying a
 * fingerprint and ICE credentials; SDES answers RTP/SAVP(F) (and RTP/AVP
 * offers that carry a=crypto: "best effort" SRTP) with a key for the first
 * offered suite we have; plain RTP answers RTP/AVP(F). With sdes_optional
 * the other of SDES/RTP is the fallback, tried only when no m-line matches
 * the preferred one. */
#include "media/sdp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	uint8_t pt;
	const char *name;
	uint32_t rate;
} static_pts[] = {
	{ 0, "PCMU", 8000 }, { 3, "GSM", 8000 },  { 4, "G723", 8000 },
	{ 8, "PCMA", 8000 }, { 9, "G722", 8000 }, { 13, "CN", 8000 },
	{ 18, "G729", 8000 },
};

/* The name and rate of a format: its rtpmap, else the RFC 3551 table. */
static bool fmt_codec(const sdp_fmt *f, sdp_str *name, uint32_t *rate, uint8_t *ch)
{
	if (f->has_rtpmap) {
		*name = f->name;
		*rate = f->rate;
		*ch = f->channels;
		return true;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(static_pts); i++)
		if (static_pts[i].pt == f->pt) {
			*name = (sdp_str){ static_pts[i].name, strlen(static_pts[i].name) };
			*rate = static_pts[i].rate;
			*ch = 1;
			return true;
		}
	return false;
}

static bool codec_matches(const sdp_fmt *f, const sdp_codec *c)
{
	sdp_str name;
	uint32_t rate;
	uint8_t ch;
	if (!fmt_codec(f, &name, &rate, &ch))
		return false;
	return sdp_str_ieq(name, c->name) && rate == c->rate && ch == (c->channels ? c->channels : 1);
}

static bool is_te(const sdp_fmt *f, uint32_t rate)
{
	return f->has_rtpmap && sdp_str_ieq(f->name, "telephone-event") && f->rate == rate;
}

sdp_dir sdp_dir_answer(sdp_dir offered, sdp_dir local)
{
	if (offered == SDP_DIR_UNSET)
		offered = SDP_DIR_SENDRECV;
	if (local == SDP_DIR_UNSET)
		local = SDP_DIR_SENDRECV;
	/* we may send what they receive, and receive what they send */
	bool they_send = offered == SDP_DIR_SENDRECV || offered == SDP_DIR_SENDONLY;
	bool they_recv = offered == SDP_DIR_SENDRECV || offered == SDP_DIR_RECVONLY;
	bool we_send = local == SDP_DIR_SENDRECV || local == SDP_DIR_SENDONLY;
	bool we_recv = local == SDP_DIR_SENDRECV || local == SDP_DIR_RECVONLY;
	bool send = they_recv && we_send, recv = they_send && we_recv;
	return send && recv ? SDP_DIR_SENDRECV
	       : send	    ? SDP_DIR_SENDONLY
	       : recv	    ? SDP_DIR_RECVONLY
			    : SDP_DIR_INACTIVE;
}

/* The direction a section really offers: RFC 2543-style hold puts
 * c=0.0.0.0 instead of sendonly (RFC 3264 §8.4), meaning "send me nothing".
 * Not with ICE: JSEP offers use 0.0.0.0 as a placeholder (RFC 8839 §4.2.1). */
static sdp_dir effective_dir(const sdp_media *m)
{
	if (!m->ice_ufrag.l && !m->conn.ip6 && sdp_str_eq(m->conn.addr, "0.0.0.0")) {
		if (m->dir == SDP_DIR_SENDRECV)
			return SDP_DIR_SENDONLY;
		if (m->dir == SDP_DIR_RECVONLY)
			return SDP_DIR_INACTIVE;
	}
	return m->dir;
}

/* Bytes of key||salt per RFC 4568 / RFC 6188 / RFC 7714 suite. */
static size_t suite_key_len(sdp_str suite)
{
	static const struct {
		const char *name;
		size_t len;
	} suites[] = {
		{ "AES_CM_128_HMAC_SHA1_80", 30 }, { "AES_CM_128_HMAC_SHA1_32", 30 },
		{ "F8_128_HMAC_SHA1_80", 30 },	   { "AES_192_CM_HMAC_SHA1_80", 38 },
		{ "AES_192_CM_HMAC_SHA1_32", 38 }, { "AES_256_CM_HMAC_SHA1_80", 46 },
		{ "AES_256_CM_HMAC_SHA1_32", 46 }, { "AEAD_AES_128_GCM", 28 },
		{ "AEAD_AES_256_GCM", 44 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(suites); i++)
		if (sdp_str_ieq(suite, suites[i].name))
			return suites[i].len;
	return 0;
}

/* Decoded length of a base64 slice, or 0 when it is not base64. */
static size_t b64_len(sdp_str s)
{
	size_t n = 0, pad = 0;
	for (size_t i = 0; i < s.l; i++) {
		char c = s.p[i];
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || !(g_ascii_isalnum(c) || c == '+' || c == '/'))
			return 0;
		n++;
	}
	if (pad > 2 || (n + pad) % 4 == 1)
		return 0;
	return n * 3 / 4;
}

/* The first offered crypto line (their order) with a suite we have and a
 * key of the right length; sets *ours to our sdes index. */
static const sdp_crypto *pick_crypto(const sdp_media *m, const sdp_local *l, int *ours)
{
	for (size_t i = 0; i < m->n_cryptos; i++) {
		const sdp_crypto *c = &m->cryptos[i];
		size_t want = suite_key_len(c->suite);
		if (!want || b64_len(c->key) != want)
			continue;
		for (size_t j = 0; j < l->n_sdes; j++)
			if (sdp_str_ieq(c->suite, l->sdes[j].suite)) {
				*ours = (int)j;
				return c;
			}
	}
	return NULL;
}

static bool proto_dtls(sdp_proto p)
{
	return p == SDP_PROTO_UDP_TLS_RTP_SAVP || p == SDP_PROTO_UDP_TLS_RTP_SAVPF;
}

static bool proto_sdes(sdp_proto p)
{
	return p == SDP_PROTO_RTP_SAVP || p == SDP_PROTO_RTP_SAVPF;
}

static bool proto_plain(sdp_proto p)
{
	return p == SDP_PROTO_RTP_AVP || p == SDP_PROTO_RTP_AVPF;
}

typedef struct {
	const sdp_session *offer;
	const sdp_local *l;
	sdp_error *err;
	int best_rc; /* the most specific failure so far */
} oa;

static void why(oa *o, int rank, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why(oa *o, int rank, const char *fmt, ...)
{
	if (rank < o->best_rc || !o->err)
		return;
	o->best_rc = rank;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->err->reason, sizeof o->err->reason, fmt, ap);
	va_end(ap);
}

/* Tries to accept media i with transport t; fills nm on success. */
static bool try_audio(oa *o, size_t i, sdp_transport t, sdp_neg_media *nm)
{
	const sdp_media *m = &o->offer->media[i];
	const sdp_local *l = o->l;
	int mi = (int)i + 1;
	if (m->type != SDP_MEDIA_AUDIO || m->port == 0)
		return false;
	memset(nm, 0, sizeof *nm);
	nm->local_sdes = -1;
	nm->transport = t;
	switch (t) {
	case SDP_TRANSPORT_DTLS:
		if (!proto_dtls(m->proto)) {
			why(o, 1, "m-line %d: transport %.*s not supported", mi, (int)m->proto_str.l,
			    m->proto_str.p);
			return false;
		}
		if (!m->fingerprint.present || !m->ice_ufrag.l || !m->ice_pwd.l) {
			why(o, 2, "m-line %d: no DTLS fingerprint or ICE credentials", mi);
			return false;
		}
		if (m->setup == SDP_SETUP_HOLDCONN) {
			why(o, 2, "m-line %d: setup:holdconn", mi);
			return false;
		}
		break;
	case SDP_TRANSPORT_SDES:
		if (!proto_sdes(m->proto) && !(proto_plain(m->proto) && m->n_cryptos)) {
			why(o, 1, "m-line %d: transport %.*s not supported", mi, (int)m->proto_str.l,
			    m->proto_str.p);
			return false;
		}
		nm->remote_crypto = pick_crypto(m, l, &nm->local_sdes);
		if (!nm->remote_crypto) {
			why(o, 2, "m-line %d: no acceptable crypto suite", mi);
			return false;
		}
		nm->crypto_tag = nm->remote_crypto->tag;
		break;
	case SDP_TRANSPORT_RTP:
		if (!proto_plain(m->proto)) {
			why(o, 1, "m-line %d: transport %.*s not supported", mi, (int)m->proto_str.l,
			    m->proto_str.p);
			return false;
		}
		break;
	}
	/* our preference order decides; the offer's PT is kept */
	const sdp_fmt *chosen = NULL;
	for (size_t c = 0; c < l->n_codecs && !chosen; c++)
		for (size_t f = 0; f < m->n_fmts; f++)
			if (codec_matches(&m->fmts[f], &l->codecs[c])) {
				chosen = &m->fmts[f];
				nm->local_codec = (int)c;
				break;
			}
	if (!chosen) {
		why(o, 3, "m-line %d: no common audio codec", mi);
		return false;
	}
	uint8_t ch;
	fmt_codec(chosen, &nm->codec, &nm->rate, &ch);
	nm->channels = ch;
	nm->pt = chosen->pt;
	nm->te_pt = -1;
	if (l->telephone_event)
		for (size_t f = 0; f < m->n_fmts; f++)
			if (is_te(&m->fmts[f], nm->rate)) {
				nm->te_pt = m->fmts[f].pt;
				break;
			}
	nm->accepted = true;
	return true;
}

/* Fills the parts of nm that come from the remote section m. */
static void remote_side(const sdp_media *m, sdp_neg_media *nm)
{
	nm->type = m->type;
	nm->mid = m->mid;
	nm->remote_dir = effective_dir(m);
	nm->remote_addr = m->conn.addr;
	nm->remote_port = m->port;
	nm->rtcp_mux = m->rtcp_mux;
	nm->remote_rtcp_port = m->rtcp_mux ? m->port
			       : m->rtcp_port ? m->rtcp_port
					      : (uint16_t)(m->port + 1);
	nm->ptime = m->ptime;
	nm->remote_setup = m->setup;
	const sdp_fmt *f = nm->pt >= 0 ? sdp_media_fmt(m, (unsigned)nm->pt) : NULL;
	sdp_str v;
	uint32_t x;
	if (f && sdp_str_ieq(nm->codec, "opus")) {
		nm->opus_fec = sdp_fmtp_get(f->fmtp, "useinbandfec", &v) && sdp_str_eq(v, "1");
		nm->opus_dtx = sdp_fmtp_get(f->fmtp, "usedtx", &v) && sdp_str_eq(v, "1");
		nm->opus_stereo = sdp_fmtp_get(f->fmtp, "stereo", &v) && sdp_str_eq(v, "1");
		if (sdp_fmtp_get(f->fmtp, "maxaveragebitrate", &v) && sdp_str_u32(v, UINT32_MAX, &x))
			nm->opus_maxaveragebitrate = CLAMP(x, 6000u, 510000u);
		if (sdp_fmtp_get(f->fmtp, "maxplaybackrate", &v) && sdp_str_u32(v, UINT32_MAX, &x))
			nm->opus_maxplaybackrate = CLAMP(x, 8000u, 48000u);
	}
}

static const char *keep(GPtrArray *tmp, char *s)
{
	g_ptr_array_add(tmp, s);
	return s;
}

static const char *dupstr(GPtrArray *tmp, sdp_str s)
{
	return keep(tmp, sdp_str_dup(s));
}

/* Fills the accepted audio section of an SDP we print. */
static void audio_desc(const sdp_local *l, const sdp_neg_media *nm, const sdp_media *rm,
		       sdp_fmt_desc *fmts, sdp_media_desc *d, GPtrArray *tmp,
		       const char **crypto, const char **extra)
{
	const sdp_codec *c = &l->codecs[nm->local_codec];
	d->port = l->port;
	d->n_fmts = 0;
	fmts[d->n_fmts++] = (sdp_fmt_desc){
		.pt = (uint8_t)nm->pt,
		.name = dupstr(tmp, nm->codec),
		.rate = nm->rate,
		.channels = nm->channels,
		.fmtp = c->fmtp,
	};
	if (nm->te_pt >= 0) {
		const sdp_fmt *te = rm ? sdp_media_fmt(rm, (unsigned)nm->te_pt) : NULL;
		fmts[d->n_fmts++] = (sdp_fmt_desc){
			.pt = (uint8_t)nm->te_pt,
			.name = "telephone-event",
			.rate = nm->rate,
			.fmtp = te && te->fmtp.l ? dupstr(tmp, te->fmtp) : "0-16",
		};
	}
	d->fmts = fmts;
	d->dir = nm->local_dir;
	d->ptime = l->ptime;
	if (nm->transport == SDP_TRANSPORT_DTLS) {
		d->ice_ufrag = l->ice_ufrag;
		d->ice_pwd = l->ice_pwd;
		d->candidates = l->candidates;
		d->n_candidates = l->n_candidates;
		d->end_of_candidates = l->end_of_candidates;
		d->fingerprint = l->fingerprint;
		d->setup = nm->local_setup;
	}
	if (nm->local_sdes >= 0) {
		const sdp_sdes_key *k = &l->sdes[nm->local_sdes];
		*crypto = keep(tmp, g_strdup_printf("%u %s inline:%s", nm->crypto_tag, k->suite, k->key));
		d->cryptos = crypto;
		d->n_cryptos = 1;
	}
	size_t n = 0;
	if (l->msid)
		extra[n++] = keep(tmp, g_strdup_printf("msid:%s", l->msid));
	if (l->ssrc && l->cname)
		extra[n++] = keep(tmp, g_strdup_printf("ssrc:%u cname:%s", l->ssrc, l->cname));
	d->extra = extra;
	d->n_extra = n;
}

static int check_local(const sdp_local *l, sdp_error *err)
{
	const char *bad = NULL;
	if (!l->n_codecs || !l->codecs)
		bad = "no local codecs";
	else if (!l->addr)
		bad = "no local address";
	else if (l->transport == SDP_TRANSPORT_DTLS && (!l->ice_ufrag || !l->ice_pwd || !l->fingerprint))
		bad = "DTLS needs ICE credentials and a fingerprint";
	else if (l->transport == SDP_TRANSPORT_SDES && !l->n_sdes)
		bad = "SDES needs a key";
	for (size_t i = 0; !bad && i < l->n_codecs; i++)
		if (!l->codecs[i].name || !l->codecs[i].rate)
			bad = "codec without name or rate";
	if (bad && err)
		snprintf(err->reason, sizeof err->reason, "%s", bad);
	return bad ? EINVAL : 0;
}

static void session_desc(const sdp_local *l, sdp_desc *d)
{
	d->origin_user = l->origin_user;
	d->sess_id = l->sess_id;
	d->sess_version = l->sess_version;
	d->origin_addr = l->addr;
	d->name = l->session_name;
	d->addr = l->addr;
	d->msid_semantic = l->transport == SDP_TRANSPORT_DTLS ? l->msid_semantic : NULL;
	d->ice_lite = l->transport == SDP_TRANSPORT_DTLS && l->ice_lite;
}

static bool in_bundle(const sdp_session *s, sdp_str mid)
{
	for (size_t i = 0; mid.l && i < s->n_bundle; i++)
		if (s->bundle[i].l == mid.l && memcmp(s->bundle[i].p, mid.p, mid.l) == 0)
			return true;
	return false;
}

/* Every operation starts with a clear error and checked local capabilities. */
static int begin(const sdp_local *l, sdp_error *err)
{
	if (err) {
		err->line = 0;
		err->reason[0] = '\0';
	}
	return check_local(l, err);
}

static void neg_clear(sdp_neg *neg)
{
	memset(neg, 0, sizeof *neg);
	neg->audio = -1;
}

int sdp_answer(const sdp_session *offer, const sdp_local *l, GString *out, sdp_neg *neg,
	       sdp_error *err)
{
	sdp_neg local_neg;
	if (!neg)
		neg = &local_neg;
	neg_clear(neg);
	int rc = begin(l, err);
	if (rc)
		return rc;
	oa o = { .offer = offer, .l = l, .err = err, .best_rc = 0 };
	neg->n_media = offer->n_media;

	/* the preferred transport over all m-lines first, then the fallback */
	sdp_transport order[2] = { l->transport, l->transport };
	size_t n_order = 1;
	if (l->sdes_optional && l->transport != SDP_TRANSPORT_DTLS) {
		order[1] = l->transport == SDP_TRANSPORT_SDES ? SDP_TRANSPORT_RTP : SDP_TRANSPORT_SDES;
		n_order = l->transport == SDP_TRANSPORT_RTP && !l->n_sdes ? 1 : 2;
	}
	for (size_t k = 0; k < n_order && neg->audio < 0; k++)
		for (size_t i = 0; i < offer->n_media && neg->audio < 0; i++)
			if (try_audio(&o, i, order[k], &neg->media[i]))
				neg->audio = (int)i;
	if (neg->audio < 0) {
		if (err && !o.best_rc)
			snprintf(err->reason, sizeof err->reason, "%s",
				 offer->n_media ? "no audio stream offered" : "no media offered");
		memset(neg->media, 0, sizeof neg->media);
		return ENOTSUP;
	}

	sdp_neg_media *nm = &neg->media[neg->audio];
	const sdp_media *am = &offer->media[neg->audio];
	nm->local_dir = sdp_dir_answer(effective_dir(am), l->dir);
	if (nm->transport == SDP_TRANSPORT_DTLS)
		nm->local_setup = am->setup == SDP_SETUP_ACTIVE	 ? SDP_SETUP_PASSIVE
				  : am->setup == SDP_SETUP_PASSIVE ? SDP_SETUP_ACTIVE
				  : am->setup == SDP_SETUP_UNSET   ? SDP_SETUP_PASSIVE
				  : l->setup == SDP_SETUP_PASSIVE  ? SDP_SETUP_PASSIVE
								   : SDP_SETUP_ACTIVE;
	for (size_t i = 0; i < offer->n_media; i++) {
		if ((int)i != neg->audio)
			neg->media[i].pt = neg->media[i].te_pt = neg->media[i].local_codec = -1;
		remote_side(&offer->media[i], &neg->media[i]);
	}

	GPtrArray *tmp = g_ptr_array_new_with_free_func(g_free);
	sdp_media_desc *md = g_new0(sdp_media_desc, offer->n_media);
	sdp_fmt_desc fmts[2];
	const char *crypto = NULL, *extra[2], *bundle[1];
	sdp_desc d = { .media = md, .n_media = offer->n_media };
	session_desc(l, &d);
	for (size_t i = 0; i < offer->n_media; i++) {
		const sdp_media *m = &offer->media[i];
		md[i].type = m->type;
		md[i].type_str = dupstr(tmp, m->type_str);
		md[i].proto = m->proto;
		md[i].proto_str = dupstr(tmp, m->proto_str);
		md[i].mid = m->mid.l ? dupstr(tmp, m->mid) : NULL;
		if ((int)i == neg->audio) {
			audio_desc(l, nm, m, fmts, &md[i], tmp, &crypto, extra);
			md[i].rtcp_mux = m->rtcp_mux;
			md[i].rtcp_rsize = m->rtcp_rsize && nm->transport == SDP_TRANSPORT_DTLS;
		} else {
			/* rejected: port 0, the offer's formats (RFC 3264 §6) */
			md[i].fmt_str = m->fmt_str.l ? dupstr(tmp, m->fmt_str) : "0";
			md[i].dir = m->port ? SDP_DIR_INACTIVE : SDP_DIR_UNSET;
		}
	}
	if (offer->has_bundle && in_bundle(offer, am->mid)) {
		bundle[0] = md[neg->audio].mid;
		d.bundle = bundle;
		d.n_bundle = 1;
		neg->bundle = true;
	}
	rc = sdp_print(&d, out);
	if (rc && err)
		snprintf(err->reason, sizeof err->reason, "local description has a bad field");
	g_free(md);
	g_ptr_array_unref(tmp);
	return rc;
}

int sdp_offer(const sdp_local *l, GString *out, sdp_error *err)
{
	int rc = begin(l, err);
	if (rc)
		return rc;
	size_t n = l->n_codecs;
	if (n > SDP_MAX_FMTS - 2) {
		if (err)
			snprintf(err->reason, sizeof err->reason, "too many codecs");
		return EINVAL;
	}
	GPtrArray *tmp = g_ptr_array_new_with_free_func(g_free);
	sdp_fmt_desc *fmts = g_new0(sdp_fmt_desc, n + 2);
	const char **cryptos = g_new0(const char *, l->n_sdes + 1);
	const char *extra[2], *bundle[1] = { "0" };
	size_t nf = 0;
	bool rate8k = false, rate48k = false;
	for (size_t i = 0; i < n; i++) {
		const sdp_codec *c = &l->codecs[i];
		fmts[nf++] = (sdp_fmt_desc){ .pt = c->pt, .name = c->name, .rate = c->rate,
					     .channels = c->channels, .fmtp = c->fmtp };
		rate8k |= c->rate == 8000;
		rate48k |= c->rate == 48000;
	}
	uint8_t te = l->te_pt ? l->te_pt : 101;
	if (l->telephone_event && rate48k)
		fmts[nf++] = (sdp_fmt_desc){ .pt = (uint8_t)(te + 1), .name = "telephone-event",
					     .rate = 48000, .fmtp = "0-16" };
	if (l->telephone_event && rate8k)
		fmts[nf++] = (sdp_fmt_desc){ .pt = te, .name = "telephone-event", .rate = 8000,
					     .fmtp = "0-16" };
	sdp_media_desc m = {
		.type = SDP_MEDIA_AUDIO,
		.port = l->port,
		.fmts = fmts,
		.n_fmts = nf,
		.dir = l->dir != SDP_DIR_UNSET ? l->dir : SDP_DIR_SENDRECV,
		.ptime = l->ptime,
	};
	sdp_desc d = { .media = &m, .n_media = 1 };
	session_desc(l, &d);
	switch (l->transport) {
	case SDP_TRANSPORT_RTP:
		m.proto = SDP_PROTO_RTP_AVP;
		/* Keys on RTP/AVP: best-effort SRTP (RFC 4568 §7.1.1 allows it;
		 * a peer without SDES ignores them and answers plain RTP). */
		for (size_t i = 0; i < l->n_sdes; i++)
			cryptos[i] = keep(tmp, g_strdup_printf("%zu %s inline:%s", i + 1,
							       l->sdes[i].suite, l->sdes[i].key));
		m.cryptos = cryptos;
		m.n_cryptos = l->n_sdes;
		break;
	case SDP_TRANSPORT_SDES:
		m.proto = SDP_PROTO_RTP_SAVP;
		for (size_t i = 0; i < l->n_sdes; i++)
			cryptos[i] = keep(tmp, g_strdup_printf("%zu %s inline:%s", i + 1,
							       l->sdes[i].suite, l->sdes[i].key));
		m.cryptos = cryptos;
		m.n_cryptos = l->n_sdes;
		break;
	case SDP_TRANSPORT_DTLS:
		m.proto = SDP_PROTO_UDP_TLS_RTP_SAVPF;
		m.mid = "0";
		m.ice_ufrag = l->ice_ufrag;
		m.ice_pwd = l->ice_pwd;
		m.ice_trickle = !l->end_of_candidates;
		m.candidates = l->candidates;
		m.n_candidates = l->n_candidates;
		m.end_of_candidates = l->end_of_candidates;
		m.fingerprint = l->fingerprint;
		m.setup = SDP_SETUP_ACTPASS;
		m.rtcp_mux = true;
		d.bundle = bundle;
		d.n_bundle = 1;
		break;
	}
	size_t ne = 0;
	if (l->msid)
		extra[ne++] = keep(tmp, g_strdup_printf("msid:%s", l->msid));
	if (l->ssrc && l->cname)
		extra[ne++] = keep(tmp, g_strdup_printf("ssrc:%u cname:%s", l->ssrc, l->cname));
	m.extra = extra;
	m.n_extra = ne;
	rc = sdp_print(&d, out);
	if (rc && err)
		snprintf(err->reason, sizeof err->reason, "local description has a bad field");
	g_free(cryptos);
	g_free(fmts);
	g_ptr_array_unref(tmp);
	return rc;
}

/* A subsequent offer is the last exchange again with a new direction: the
 * same m-lines (RFC 3264 §8 forbids dropping or reordering them), the one
 * codec agreed on with its payload type, and for DTLS the role agreed on
 * instead of actpass, so the transport goes on untouched. */
int sdp_reoffer(const sdp_session *prev, size_t audio, const sdp_neg_media *nm, const sdp_local *l,
		GString *out, sdp_error *err)
{
	int rc = begin(l, err);
	if (rc)
		return rc;
	if (audio >= prev->n_media || prev->media[audio].type != SDP_MEDIA_AUDIO || !nm->accepted ||
	    nm->pt < 0 || nm->local_codec < 0 || (size_t)nm->local_codec >= l->n_codecs ||
	    (nm->local_sdes >= 0 && (size_t)nm->local_sdes >= l->n_sdes)) {
		if (err)
			snprintf(err->reason, sizeof err->reason, "nothing negotiated to offer again");
		return EINVAL;
	}
	sdp_neg_media a = *nm;
	a.local_dir = l->dir != SDP_DIR_UNSET ? l->dir : SDP_DIR_SENDRECV;
	a.local_setup = l->setup == SDP_SETUP_ACTIVE || l->setup == SDP_SETUP_PASSIVE ? l->setup
										       : SDP_SETUP_ACTPASS;
	/* SDES: the key in use under the tag our offers give it (index + 1),
	 * which is how sdp_process_answer reads the answer's tag. */
	if (a.local_sdes >= 0)
		a.crypto_tag = (uint32_t)a.local_sdes + 1;
	GPtrArray *tmp = g_ptr_array_new_with_free_func(g_free);
	sdp_media_desc *md = g_new0(sdp_media_desc, prev->n_media);
	sdp_fmt_desc fmts[2];
	const char *crypto = NULL, *extra[2], *bundle[1];
	sdp_desc d = { .media = md, .n_media = prev->n_media };
	session_desc(l, &d);
	for (size_t i = 0; i < prev->n_media; i++) {
		const sdp_media *m = &prev->media[i];
		md[i].type = m->type;
		md[i].type_str = dupstr(tmp, m->type_str);
		md[i].proto = m->proto;
		md[i].proto_str = dupstr(tmp, m->proto_str);
		md[i].mid = m->mid.l ? dupstr(tmp, m->mid) : NULL;
		if (i == audio) {
			audio_desc(l, &a, m, fmts, &md[i], tmp, &crypto, extra);
			md[i].rtcp_mux = a.rtcp_mux || a.transport == SDP_TRANSPORT_DTLS;
			md[i].rtcp_rsize = m->rtcp_rsize && a.transport == SDP_TRANSPORT_DTLS;
			md[i].ice_trickle = a.transport == SDP_TRANSPORT_DTLS && !l->end_of_candidates;
		} else {
			md[i].fmt_str = m->fmt_str.l ? dupstr(tmp, m->fmt_str) : "0";
		}
	}
	if (prev->has_bundle && in_bundle(prev, prev->media[audio].mid)) {
		bundle[0] = md[audio].mid;
		d.bundle = bundle;
		d.n_bundle = 1;
	}
	rc = sdp_print(&d, out);
	if (rc && err)
		snprintf(err->reason, sizeof err->reason, "local description has a bad field");
	g_free(md);
	g_ptr_array_unref(tmp);
	return rc;
}

static int answer_fail(sdp_error *err, int code, const char *what)
{
	if (err)
		snprintf(err->reason, sizeof err->reason, "%s", what);
	return code;
}

int sdp_process_answer(const sdp_session *ans, const sdp_local *l, sdp_neg *neg,
		       sdp_error *err)
{
	neg_clear(neg);
	int rc = begin(l, err);
	if (rc)
		return rc;
	/* Our first offers have one audio m-line; a re-offer (sdp_reoffer)
	 * repeats the m-lines of the first exchange with all but the audio
	 * one rejected. The answer mirrors that: one audio section, the rest
	 * port 0. The caller checks the count against what it offered. */
	size_t ai = ans->n_media, first_audio = ans->n_media;
	for (size_t i = 0; i < ans->n_media; i++) {
		const sdp_media *x = &ans->media[i];
		if (x->type == SDP_MEDIA_AUDIO && first_audio == ans->n_media)
			first_audio = i;
		if (x->port == 0)
			continue;
		if (x->type != SDP_MEDIA_AUDIO || ai != ans->n_media)
			return answer_fail(err, EBADMSG, "answer does not match the offer's m-lines");
		ai = i;
	}
	if (ai == ans->n_media)
		ai = first_audio; /* all rejected: ENOTSUP below */
	if (ai == ans->n_media)
		return answer_fail(err, EBADMSG, "answer does not match the offer's m-lines");
	neg->n_media = ans->n_media;
	for (size_t i = 0; i < ans->n_media; i++) {
		sdp_neg_media *x = &neg->media[i];
		x->pt = x->te_pt = x->local_codec = x->local_sdes = -1;
		if (i != ai)
			remote_side(&ans->media[i], x);
	}
	const sdp_media *m = &ans->media[ai];
	sdp_neg_media *nm = &neg->media[ai];
	nm->transport = l->transport;
	if (m->port == 0) {
		remote_side(m, nm);
		return answer_fail(err, ENOTSUP, "audio rejected");
	}
	switch (l->transport) {
	case SDP_TRANSPORT_DTLS:
		if (!proto_dtls(m->proto) || !m->fingerprint.present || !m->ice_ufrag.l)
			return answer_fail(err, EBADMSG, "answer lacks DTLS/ICE attributes");
		if (m->setup != SDP_SETUP_ACTIVE && m->setup != SDP_SETUP_PASSIVE)
			return answer_fail(err, EBADMSG, "answer setup must be active or passive");
		nm->local_setup = m->setup == SDP_SETUP_ACTIVE ? SDP_SETUP_PASSIVE : SDP_SETUP_ACTIVE;
		break;
	case SDP_TRANSPORT_SDES:
		for (size_t i = 0; i < m->n_cryptos && !nm->remote_crypto; i++) {
			const sdp_crypto *c = &m->cryptos[i];
			if (c->tag >= 1 && c->tag <= l->n_sdes &&
			    sdp_str_ieq(c->suite, l->sdes[c->tag - 1].suite) &&
			    b64_len(c->key) == suite_key_len(c->suite)) {
				nm->remote_crypto = c;
				nm->local_sdes = (int)c->tag - 1;
				nm->crypto_tag = c->tag;
			}
		}
		if (!nm->remote_crypto) {
			if (!l->sdes_optional || !proto_plain(m->proto))
				return answer_fail(err, EBADMSG, "answer has no usable crypto");
			nm->transport = SDP_TRANSPORT_RTP;
		}
		break;
	case SDP_TRANSPORT_RTP:
		if (!proto_plain(m->proto))
			return answer_fail(err, EBADMSG, "answer changed the transport");
		break;
	}
	/* the first answered format that we offered is what they will send */
	for (size_t f = 0; f < m->n_fmts && nm->pt < 0; f++)
		for (size_t c = 0; c < l->n_codecs; c++)
			if (codec_matches(&m->fmts[f], &l->codecs[c])) {
				uint8_t ch;
				nm->pt = m->fmts[f].pt;
				nm->local_codec = (int)c;
				fmt_codec(&m->fmts[f], &nm->codec, &nm->rate, &ch);
				nm->channels = ch;
				break;
			}
	if (nm->pt < 0)
		return answer_fail(err, EBADMSG, "answer has none of the offered codecs");
	if (l->telephone_event)
		for (size_t f = 0; f < m->n_fmts; f++)
			if (is_te(&m->fmts[f], nm->rate)) {
				nm->te_pt = m->fmts[f].pt;
				break;
			}
	nm->accepted = true;
	remote_side(m, nm);
	nm->local_dir = sdp_dir_answer(effective_dir(m), l->dir);
	neg->audio = (int)ai;
	neg->bundle = ans->has_bundle;
	return 0;
}
