/* Fuzz target for media/sdp: parse; when it parses, answer it as a WebRTC
 * leg and as an RTP/SDES leg, re-parse each answer (which must parse: we
 * generated it), and read the input as an answer to our own offer. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "media/sdp.h"

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

static void answer_and_reparse(const sdp_session *s, sdp_local *l)
{
	GString *out = g_string_new(NULL);
	sdp_neg neg;
	sdp_error err;
	int rc = sdp_answer(s, l, out, &neg, &err);
	if (rc != 0 && rc != ENOTSUP)
		abort();
	if (rc == 0) {
		sdp_session *a = NULL;
		if (sdp_parse(out->str, out->len, &a, &err) != 0)
			abort(); /* we produced SDP we cannot read */
		if (a->n_media != s->n_media || neg.audio < 0 || a->media[neg.audio].port != l->port)
			abort();
		sdp_unref(a);
	}
	g_string_free(out, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sdp_session *s = NULL;
	sdp_error err;
	if (sdp_parse((const char *)data, size, &s, &err) != 0)
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
		.fingerprint = "sha-256 AB:CD",
		.sdes = keys,
		.n_sdes = G_N_ELEMENTS(keys),
		.ptime = 20,
	};
	answer_and_reparse(s, &l);
	l.transport = SDP_TRANSPORT_SDES;
	l.sdes_optional = true;
	l.dir = SDP_DIR_SENDONLY;
	answer_and_reparse(s, &l);
	/* the input as an answer to our offers */
	sdp_neg neg;
	for (int t = SDP_TRANSPORT_RTP; t <= SDP_TRANSPORT_DTLS; t++) {
		l.transport = (sdp_transport)t;
		sdp_process_answer(s, &l, &neg, &err);
	}
	sdp_unref(s);
	return 0;
}
