/* Fuzz target for sdp_reoffer and answers to it: the input, when it parses
 * and we can answer it (as a WebRTC leg, then as an RTP/SDES leg), is the
 * first exchange; our re-offer on it must build, parse back with the same
 * m-lines, direction and codec, be answerable by a peer with the same
 * codec, and that answer must be accepted by sdp_process_answer on the
 * same audio section. Any failure along that path is our bug: abort. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "media/sdp.h"

/* Which check failed, for the reproducer's report. */
#define BUG() (fprintf(stderr, "fuzz_sdp_reoffer.c:%d\n", __LINE__), abort())

static const sdp_codec codecs[] = {
	{ "opus", 48000, 2, 111, "minptime=10;useinbandfec=1" },
	{ "PCMU", 8000, 1, 0, NULL },
	{ "PCMA", 8000, 1, 8, NULL },
	{ "G722", 8000, 1, 9, NULL },
};
static const char *const cands[] = { "1 1 udp 2130706431 127.0.0.1 40000 typ host" };
static const sdp_sdes_key keys[] = {
	{ "AES_CM_128_HMAC_SHA1_80", "WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ" },
	{ "AES_CM_128_HMAC_SHA1_32", "t0r0/apkukU7JjjfR0mY8GEimBq4OiPEm9eKSFOx" },
};

static sdp_session *reparse(const GString *text)
{
	sdp_session *s = NULL;
	if (sdp_parse(text->str, text->len, &s, NULL) != 0)
		BUG(); /* we produced SDP we cannot read */
	return s;
}

static void reoffer_round(const sdp_session *offer, sdp_local *l)
{
	GString *ans = g_string_new(NULL), *ro = g_string_new(NULL), *ans2 = g_string_new(NULL);
	sdp_neg neg, neg2, neg3;
	sdp_error err;
	sdp_session *r = NULL, *a2 = NULL;
	int rc = sdp_answer(offer, l, ans, &neg, &err);
	if (rc != 0 && rc != ENOTSUP)
		BUG();
	if (rc)
		goto out;
	const sdp_neg_media *nm = &neg.media[neg.audio];
	/* our re-offer: hold, the role we took */
	l->dir = SDP_DIR_SENDONLY;
	l->setup = nm->local_setup;
	l->sess_version++;
	if (sdp_reoffer(offer, (size_t)neg.audio, nm, l, ro, &err))
		BUG();
	r = reparse(ro);
	const sdp_media *m = &r->media[neg.audio];
	if (r->n_media != offer->n_media || m->type != SDP_MEDIA_AUDIO || m->port != l->port ||
	    m->dir != SDP_DIR_SENDONLY || !m->n_fmts || m->fmts[0].pt != nm->pt)
		BUG();
	for (size_t i = 0; i < r->n_media; i++)
		if ((int)i != neg.audio && r->media[i].port)
			BUG();
	/* the peer answers with just the codec we agreed on (and our keys) */
	sdp_codec peer_codec = l->codecs[nm->local_codec];
	sdp_local p = *l;
	p.codecs = &peer_codec;
	p.n_codecs = 1;
	p.dir = SDP_DIR_UNSET;
	p.setup = SDP_SETUP_UNSET;
	if (sdp_answer(r, &p, ans2, &neg2, &err))
		BUG();
	if (neg2.audio != neg.audio || neg2.media[neg.audio].local_dir != SDP_DIR_RECVONLY)
		BUG();
	a2 = reparse(ans2);
	/* and we take that answer */
	if (sdp_process_answer(a2, l, &neg3, &err) || neg3.audio != neg.audio ||
	    neg3.media[neg.audio].local_dir != SDP_DIR_SENDONLY || neg3.media[neg.audio].pt != nm->pt)
		BUG();
	if (l->transport == SDP_TRANSPORT_DTLS && neg3.media[neg.audio].local_setup != nm->local_setup)
		BUG();
out:
	sdp_unref(r);
	sdp_unref(a2);
	g_string_free(ans, TRUE);
	g_string_free(ro, TRUE);
	g_string_free(ans2, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sdp_session *s = NULL;
	if (sdp_parse((const char *)data, size, &s, NULL) != 0)
		return 0;
	sdp_local l = {
		.codecs = codecs,
		.n_codecs = G_N_ELEMENTS(codecs),
		.telephone_event = true,
		.transport = SDP_TRANSPORT_DTLS,
		.addr = "127.0.0.1",
		.port = 40000,
		.ice_ufrag = "abcd",
		.ice_pwd = "0123456789abcdef012345",
		.candidates = cands,
		.n_candidates = 1,
		.end_of_candidates = true,
		.fingerprint = "sha-256 AB:CD",
		.setup = SDP_SETUP_PASSIVE,
		.sdes = keys,
		.n_sdes = G_N_ELEMENTS(keys),
		.ptime = 20,
		.sess_version = 1,
	};
	reoffer_round(s, &l);
	sdp_local l2 = l;
	l2.transport = SDP_TRANSPORT_SDES;
	l2.sdes_optional = true;
	l2.dir = SDP_DIR_UNSET;
	reoffer_round(s, &l2);
	sdp_unref(s);
	return 0;
}
