/* bench-rtc: the WebRTC media path and DTLS cost.
 *
 * 1. Echo path: two libnice agents (rtc_ice) connected over loopback in
 *    this process. A round trip is what a browser echo costs the server plus
 *    a client: protect, send, receive, unprotect, rewrite SSRC, protect,
 *    send, receive, unprotect. The floor, measured in the same run, is the
 *    same round trip on two plain UDP sockets with the same four libsrtp2
 *    calls: what remains is libnice's dispatch and our glue.
 * 2. DTLS handshakes per second per core: two rtc_dtls endpoints over
 *    memory (ECDHE + ECDSA P-256, use_srtp, exporter). The floor, in the
 *    same run, is the public-key work of one handshake through the same
 *    OpenSSL EVP calls (crypto_floor_s). `bench-rtc dtls N` runs only
 *    this part (for callgrind).
 * 3. Memory per idle peer connection: rtc_pc answering a Chromium offer.
 * CPU time is process CPU time (CLOCK_PROCESS_CPUTIME_ID). */
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "media/rtp.h"
#include "media/sdp.h"
#include "webrtc/rtc_dtls.h"
#include "webrtc/rtc_ice.h"
#include "webrtc/rtc_pc.h"
#include "webrtc/rtc_srtp.h"

#define BATCH 16
#define PAYLOAD 160

static const uint8_t key_a[RTC_SRTP_MAX_KEY] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t key_b[RTC_SRTP_MAX_KEY] = { 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43 };

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t make_packet(uint8_t *buf, uint16_t seq)
{
	size_t n = rtp_write_header(buf, 1500, 111, false, seq, seq * 960u, 0xabcdef01);
	memset(buf + n, 0x55, PAYLOAD);
	return n + PAYLOAD;
}

/* ---- floor: plain UDP + libsrtp2 ---- */

static int udp_socket(struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)a, sizeof *a);
	socklen_t l = sizeof *a;
	getsockname(fd, (struct sockaddr *)a, &l);
	return fd;
}

static double floor_us(unsigned rounds)
{
	struct sockaddr_in aa, ba;
	int a = udp_socket(&aa), b = udp_socket(&ba);
	rtc_srtp *sa, *sb;
	rtc_srtp_new(RTC_SRTP_AEAD_AES_128_GCM, key_a, key_b, &sa);
	rtc_srtp_new(RTC_SRTP_AEAD_AES_128_GCM, key_b, key_a, &sb);
	uint8_t buf[1500 + RTC_SRTP_MAX_TRAILER];
	uint16_t seq = 1;
	double t0 = cpu_now();
	for (unsigned r = 0; r < rounds; r += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			size_t len = make_packet(buf, seq++);
			rtc_srtp_protect(sa, buf, sizeof buf, &len);
			sendto(a, buf, len, 0, (struct sockaddr *)&ba, sizeof ba);
		}
		for (int i = 0; i < BATCH; i++) {
			ssize_t n = recv(b, buf, sizeof buf, 0);
			size_t len = (size_t)n;
			rtc_srtp_unprotect(sb, buf, &len);
			rtp_set_ssrc(buf, 0x12345678);
			rtc_srtp_protect(sb, buf, sizeof buf, &len);
			sendto(b, buf, len, 0, (struct sockaddr *)&aa, sizeof aa);
		}
		for (int i = 0; i < BATCH; i++) {
			ssize_t n = recv(a, buf, sizeof buf, 0);
			size_t len = (size_t)n;
			if (rtc_srtp_unprotect(sa, buf, &len))
				abort();
		}
	}
	double us = (cpu_now() - t0) * 1e6 / rounds;
	rtc_srtp_free(sa);
	rtc_srtp_free(sb);
	close(a);
	close(b);
	return us;
}

/* ---- echo path through two libnice agents ---- */

typedef struct side side;
struct side {
	rtc_ice *ice;
	rtc_srtp *srtp;
	side *peer;
	GPtrArray *cands;
	bool gathered, echo;
	unsigned got;
};

static void s_recv(void *user, uint8_t *buf, size_t len, size_t cap)
{
	side *s = user;
	if (rtp_demux(buf, len) != RTP_DEMUX_RTP || rtc_srtp_unprotect(s->srtp, buf, &len))
		return;
	s->got++;
	if (!s->echo)
		return;
	rtp_set_ssrc(buf, 0x12345678);
	if (!rtc_srtp_protect(s->srtp, buf, cap, &len))
		rtc_ice_send(s->ice, buf, len);
}

static void s_cand(void *user, const char *c)
{
	side *s = user;
	if (c)
		g_ptr_array_add(s->cands, g_strdup(c));
	else
		s->gathered = true;
}

static void side_new(side *s, GMainContext *ctx, bool controlling, const char *const *addrs)
{
	memset(s, 0, sizeof *s);
	s->cands = g_ptr_array_new_with_free_func(g_free);
	rtc_ice_opts o = { .context = ctx, .controlling = controlling, .local_addresses = addrs,
			   .id = controlling ? "a" : "b", .recv = s_recv, .candidate = s_cand, .user = s };
	if (rtc_ice_new(&o, &s->ice) || rtc_ice_gather(s->ice))
		abort();
}

static double echo_us(unsigned rounds)
{
	GMainContext *ctx = g_main_context_new();
	g_main_context_push_thread_default(ctx);
	const char *addrs[] = { "127.0.0.1", NULL };
	side a, b;
	side_new(&a, ctx, true, addrs);
	side_new(&b, ctx, false, addrs);
	b.echo = true;
	while (!a.gathered || !b.gathered)
		g_main_context_iteration(ctx, TRUE);
	rtc_ice_set_remote_credentials(a.ice, rtc_ice_local_ufrag(b.ice), rtc_ice_local_pwd(b.ice));
	rtc_ice_set_remote_credentials(b.ice, rtc_ice_local_ufrag(a.ice), rtc_ice_local_pwd(a.ice));
	for (guint i = 0; i < b.cands->len; i++)
		rtc_ice_add_remote_candidate(a.ice, g_ptr_array_index(b.cands, i));
	for (guint i = 0; i < a.cands->len; i++)
		rtc_ice_add_remote_candidate(b.ice, g_ptr_array_index(a.cands, i));
	rtc_ice_remote_gathering_done(a.ice);
	rtc_ice_remote_gathering_done(b.ice);
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while ((rtc_ice_get_state(a.ice) != RTC_ICE_CONNECTED || rtc_ice_get_state(b.ice) != RTC_ICE_CONNECTED) &&
	       g_get_monotonic_time() < deadline)
		g_main_context_iteration(ctx, TRUE);
	if (rtc_ice_get_state(a.ice) != RTC_ICE_CONNECTED) {
		fprintf(stderr, "bench-rtc: ICE did not connect\n");
		exit(1);
	}
	/* let nomination settle */
	gint64 settle = g_get_monotonic_time() + 300000;
	while (g_get_monotonic_time() < settle)
		g_main_context_iteration(ctx, FALSE);
	rtc_srtp_new(RTC_SRTP_AEAD_AES_128_GCM, key_a, key_b, &a.srtp);
	rtc_srtp_new(RTC_SRTP_AEAD_AES_128_GCM, key_b, key_a, &b.srtp);
	uint8_t buf[1500 + RTC_SRTP_MAX_TRAILER];
	uint16_t seq = 1;
	unsigned lost = 0;
	double t0 = cpu_now();
	for (unsigned r = 0; r < rounds; r += BATCH) {
		unsigned want = a.got + BATCH;
		for (int i = 0; i < BATCH; i++) {
			size_t len = make_packet(buf, seq++);
			rtc_srtp_protect(a.srtp, buf, sizeof buf, &len);
			rtc_ice_send(a.ice, buf, len);
		}
		gint64 until = g_get_monotonic_time() + 200000;
		while (a.got < want && g_get_monotonic_time() < until)
			g_main_context_iteration(ctx, TRUE);
		lost += want - a.got;
		a.got = want;
	}
	double us = (cpu_now() - t0) * 1e6 / rounds;
	if (lost)
		printf("# echo path: %u of %u packets not back in time\n", lost, rounds);
	rtc_ice_free(a.ice);
	rtc_ice_free(b.ice);
	rtc_srtp_free(a.srtp);
	rtc_srtp_free(b.srtp);
	g_ptr_array_free(a.cands, TRUE);
	g_ptr_array_free(b.cands, TRUE);
	g_main_context_pop_thread_default(ctx);
	g_main_context_unref(ctx);
	return us;
}

/* ---- DTLS handshakes ---- */

typedef struct {
	GQueue *to_peer;
} hs_end;

static void hs_send(void *user, const uint8_t *buf, size_t len)
{
	g_queue_push_tail(((hs_end *)user)->to_peer, g_bytes_new(buf, len));
}

static void fp_of(rtc_dtls_cert *c, uint8_t *fp, size_t *len)
{
	const char *t = rtc_dtls_cert_fingerprint(c) + 8;
	rtc_dtls_fingerprint_parse(t, strlen(t), fp, RTC_DTLS_MAX_FP, len);
}

static double handshakes_per_s(unsigned n)
{
	rtc_dtls_cert *cc, *sc;
	char *err = NULL;
	rtc_dtls_cert_new(NULL, NULL, NULL, &cc, &err);
	rtc_dtls_cert_new(NULL, NULL, NULL, &sc, &err);
	uint8_t cfp[RTC_DTLS_MAX_FP], sfp[RTC_DTLS_MAX_FP];
	size_t cl, sl;
	fp_of(cc, cfp, &cl);
	fp_of(sc, sfp, &sl);
	GQueue *to_s = g_queue_new(), *to_c = g_queue_new();
	hs_end ce = { to_s }, se = { to_c };
	unsigned okn = 0;
	double t0 = cpu_now();
	for (unsigned i = 0; i < n; i++) {
		rtc_dtls *c, *s;
		rtc_dtls_opts co = { .client = true, .remote_fp = sfp, .remote_fp_len = sl, .send = hs_send, .user = &ce };
		rtc_dtls_opts so = { .client = false, .remote_fp = cfp, .remote_fp_len = cl, .send = hs_send, .user = &se };
		rtc_dtls_new(cc, &co, &c);
		rtc_dtls_new(sc, &so, &s);
		rtc_dtls_start(s);
		rtc_dtls_start(c);
		for (int k = 0; k < 50 && (!g_queue_is_empty(to_s) || !g_queue_is_empty(to_c)); k++) {
			GBytes *p;
			while ((p = g_queue_pop_head(to_s))) {
				gsize l;
				const uint8_t *d = g_bytes_get_data(p, &l);
				rtc_dtls_feed(s, d, l);
				g_bytes_unref(p);
			}
			while ((p = g_queue_pop_head(to_c))) {
				gsize l;
				const uint8_t *d = g_bytes_get_data(p, &l);
				rtc_dtls_feed(c, d, l);
				g_bytes_unref(p);
			}
		}
		rtc_srtp_profile prof;
		uint8_t tx[RTC_SRTP_MAX_KEY], rx[RTC_SRTP_MAX_KEY];
		if (rtc_dtls_get_state(c) == RTC_DTLS_CONNECTED && rtc_dtls_get_state(s) == RTC_DTLS_CONNECTED &&
		    !rtc_dtls_srtp_keys(c, &prof, tx, rx) && !rtc_dtls_srtp_keys(s, &prof, tx, rx))
			okn++;
		rtc_dtls_free(c);
		rtc_dtls_free(s);
	}
	double t = cpu_now() - t0;
	if (okn != n)
		printf("# dtls: %u of %u handshakes completed\n", okn, n);
	g_queue_free(to_s);
	g_queue_free(to_c);
	rtc_dtls_cert_unref(cc);
	rtc_dtls_cert_unref(sc);
	return okn / t;
}

/* ---- floor: the public-key operations one handshake needs ---- */

/* Both sides of one DTLS 1.2 ECDHE-ECDSA handshake, through the same
 * OpenSSL EVP calls libssl makes: each side generates an ephemeral key on
 * `group` and derives the shared secret (4 ops); the server signs its
 * ServerKeyExchange and the client its CertificateVerify, each side
 * verifies the other's signature (ECDSA P-256 + SHA-256, 4 ops). Returns
 * CPU seconds per handshake. */
static double crypto_floor_s(unsigned n, const char *group)
{
	EVP_PKEY *ca = EVP_EC_gen("P-256"), *sa = EVP_EC_gen("P-256");
	uint8_t tbs[64 + 4 + 65], sig[2][80];
	memset(tbs, 0x5a, sizeof tbs);
	double t0 = cpu_now();
	for (unsigned i = 0; i < n; i++) {
		EVP_PKEY *e[2];
		for (int k = 0; k < 2; k++)
			e[k] = EVP_PKEY_Q_keygen(NULL, NULL, strcmp(group, "X25519") ? "EC" : "X25519",
						 strcmp(group, "X25519") ? group : NULL);
		for (int k = 0; k < 2; k++) {
			uint8_t secret[80];
			size_t sl = sizeof secret;
			EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(e[k], NULL);
			if (EVP_PKEY_derive_init(dc) <= 0 || EVP_PKEY_derive_set_peer(dc, e[!k]) <= 0 ||
			    EVP_PKEY_derive(dc, secret, &sl) <= 0)
				abort();
			EVP_PKEY_CTX_free(dc);
		}
		EVP_PKEY *signer[2] = { sa, ca };
		for (int k = 0; k < 2; k++) {
			size_t sl = sizeof sig[k];
			EVP_MD_CTX *m = EVP_MD_CTX_new();
			if (EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, signer[k]) <= 0 ||
			    EVP_DigestSign(m, sig[k], &sl, tbs, sizeof tbs) <= 0)
				abort();
			EVP_MD_CTX_free(m);
			m = EVP_MD_CTX_new();
			if (EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, signer[k]) <= 0 ||
			    EVP_DigestVerify(m, sig[k], sl, tbs, sizeof tbs) != 1)
				abort();
			EVP_MD_CTX_free(m);
		}
		EVP_PKEY_free(e[0]);
		EVP_PKEY_free(e[1]);
	}
	double t = (cpu_now() - t0) / n;
	EVP_PKEY_free(ca);
	EVP_PKEY_free(sa);
	return t;
}

/* libssl parses the peer's certificate (d2i_X509) on each side of every
 * handshake; OpenSSL 3.0 builds its key decoder chain anew for each
 * parse. CPU seconds per parse of a self-signed P-256 certificate. */
static double cert_parse_s(unsigned n)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"b", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	double t0 = cpu_now();
	for (unsigned i = 0; i < n; i++) {
		const unsigned char *p = der;
		X509 *y = d2i_X509(NULL, &p, len);
		if (!y)
			abort();
		X509_free(y);
	}
	double t = (cpu_now() - t0) / n;
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(k);
	return t;
}

/* ---- memory per idle peer connection ---- */

static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void pc_answer(void *user, const char *sdp)
{
	(void)sdp;
	(*(unsigned *)user)++;
}

static double kb_per_pc(unsigned n)
{
	char *path = g_build_filename(g_getenv("JN_SRCDIR") ? g_getenv("JN_SRCDIR") : JN_SRCDIR, "tests", "data", "sdp",
				      "chromium", "chromium-audio-only-bundle.offer-gathered.sdp", NULL);
	char *text = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &text, &len, NULL)) {
		fprintf(stderr, "bench-rtc: cannot read %s\n", path);
		exit(1);
	}
	sdp_session *offer = NULL;
	if (sdp_parse(text, len, &offer, NULL))
		abort();
	GMainContext *ctx = g_main_context_new();
	rtc_dtls_cert *cert;
	char *err = NULL;
	rtc_dtls_cert_new(NULL, NULL, NULL, &cert, &err);
	const char *addrs[] = { "127.0.0.1", NULL };
	unsigned answered = 0;
	rtc_pc **pcs = g_new0(rtc_pc *, n);
	/* warm up allocators and libraries with one */
	rtc_pc_opts o = { .cert = cert, .context = ctx, .local_addresses = addrs, .port_min = 40000,
			  .port_max = 49999, .echo = true, .id = "bench", .answer = pc_answer, .user = &answered };
	rtc_pc *warm;
	if (rtc_pc_new_from_offer(&o, offer, &warm, &err))
		abort();
	while (g_main_context_iteration(ctx, FALSE))
		;
	long before = rss_kb();
	for (unsigned i = 0; i < n; i++)
		if (rtc_pc_new_from_offer(&o, offer, &pcs[i], &err))
			abort();
	gint64 until = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
	while (answered < n + 1 && g_get_monotonic_time() < until)
		g_main_context_iteration(ctx, FALSE);
	long after = rss_kb();
	printf("# %u peer connections answered\n", answered - 1);
	for (unsigned i = 0; i < n; i++)
		rtc_pc_free(pcs[i]);
	rtc_pc_free(warm);
	g_free(pcs);
	rtc_dtls_cert_unref(cert);
	sdp_unref(offer);
	g_main_context_unref(ctx);
	g_free(text);
	g_free(path);
	return (double)(after - before) / n;
}

int main(int argc, char **argv)
{
	rtc_srtp_global_init();
	if (argc > 1 && !strcmp(argv[1], "dtls")) {
		/* Profiling entry: `bench-rtc dtls N` runs only N handshakes
		 * (e.g. under valgrind --tool=callgrind). */
		unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 300;
		double hs = handshakes_per_s(n), fx = crypto_floor_s(n, "X25519");
		printf("bench: dtls_handshakes %.0f per_s_per_core (goal >= 1500)\n", hs);
		printf("bench: dtls_crypto_floor %.0f us/handshake (X25519)\n", 1e6 * fx);
		printf("bench: dtls_crypto_floor %.0f us/handshake (P-256)\n", 1e6 * crypto_floor_s(n, "P-256"));
		printf("ratio: dtls_handshakes_vs_goal %.2f (goal >= 1.0)\n", hs / 1500);
		printf("ratio: dtls_handshake_vs_crypto_floor %.2f (goal <= 1.75)\n", 1 / (hs * fx));
		double cp = cert_parse_s(n);
		printf("bench: dtls_peer_cert_parse %.0f us (d2i_X509; twice per handshake: %.0f%% of it)\n", cp * 1e6,
		       200 * cp * hs);
		return 0;
	}
	unsigned rounds = 20000;
	echo_us(500); /* warm-up */
	double fl = floor_us(rounds);
	double ec = echo_us(rounds);
	printf("bench: rtc_floor_roundtrip %.2f us/packet (UDP send+recv x2, SRTP GCM protect+unprotect x2)\n", fl);
	printf("bench: rtc_echo_roundtrip %.2f us/packet (libnice agents, rtc_srtp, SSRC rewrite)\n", ec);
	printf("ratio: echo_vs_floor %.2f (goal <= 2)\n", ec / fl);
	double hs = handshakes_per_s(300);
	double fl_hs = crypto_floor_s(300, "X25519");
	printf("bench: dtls_handshakes %.0f per_s_per_core (goal >= 1500)\n", hs);
	printf("bench: dtls_crypto_floor %.0f us/handshake (X25519 keygen+derive x2, ECDSA P-256 sign+verify x2)\n",
	       fl_hs * 1e6);
	printf("ratio: dtls_handshakes_vs_goal %.2f (goal >= 1.0)\n", hs / 1500);
	printf("ratio: dtls_handshake_vs_crypto_floor %.2f (goal <= 1.75)\n", 1 / (hs * fl_hs));
	double cp = cert_parse_s(300);
	printf("bench: dtls_peer_cert_parse %.0f us (d2i_X509; twice per handshake: %.0f%% of it)\n", cp * 1e6,
	       200 * cp * hs);
	printf("bench: pc_idle_memory %.1f KiB/connection (RSS delta over 200)\n", kb_per_pc(200));
	return 0;
}
