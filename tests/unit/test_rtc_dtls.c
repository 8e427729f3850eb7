/* rtc_dtls: fingerprint text, and two in-process endpoints shuttling
 * datagrams: a matching fingerprint connects and both sides derive mirror
 * SRTP keys; a wrong one fails the handshake. */
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "webrtc/rtc_dtls.h"

typedef struct end end;
struct end {
	rtc_dtls *d;
	GQueue *inbox; /* GBytes to feed to d */
	end *peer;
	rtc_dtls_state st;
	char reason[160];
};

static void on_send(void *user, const uint8_t *buf, size_t len)
{
	end *e = user;
	g_queue_push_tail(e->peer->inbox, g_bytes_new(buf, len));
}

static void on_state(void *user, rtc_dtls_state st, const char *reason)
{
	end *e = user;
	e->st = st;
	if (reason)
		g_strlcpy(e->reason, reason, sizeof e->reason);
}

static void fp_bytes(rtc_dtls_cert *c, uint8_t *fp, size_t *len)
{
	const char *t = rtc_dtls_cert_fingerprint(c);
	g_assert_true(g_str_has_prefix(t, "sha-256 "));
	g_assert_cmpint(rtc_dtls_fingerprint_parse(t + 8, strlen(t + 8), fp, RTC_DTLS_MAX_FP, len), ==, 0);
	g_assert_cmpuint(*len, ==, 32);
}

static void make_end_ctx(end *e, end *peer, rtc_dtls_cert *mine, const uint8_t *peer_fp, size_t fp_len, bool client,
			 GMainContext *ctx)
{
	memset(e, 0, sizeof *e);
	e->inbox = g_queue_new();
	e->peer = peer;
	rtc_dtls_opts o = { .client = client, .context = ctx, .remote_hash = "sha-256", .remote_fp = peer_fp,
			    .remote_fp_len = fp_len, .id = client ? "client" : "server",
			    .send = on_send, .state = on_state, .user = e };
	g_assert_cmpint(rtc_dtls_new(mine, &o, &e->d), ==, 0);
}

static void make_end(end *e, end *peer, rtc_dtls_cert *mine, const uint8_t *peer_fp, size_t fp_len, bool client)
{
	memset(e, 0, sizeof *e);
	e->inbox = g_queue_new();
	e->peer = peer;
	rtc_dtls_opts o = { .client = client, .remote_hash = "sha-256", .remote_fp = peer_fp,
			    .remote_fp_len = fp_len, .id = client ? "client" : "server",
			    .send = on_send, .state = on_state, .user = e };
	g_assert_cmpint(rtc_dtls_new(mine, &o, &e->d), ==, 0);
}

static void shuttle(end *a, end *b)
{
	for (int rounds = 0; rounds < 100; rounds++) {
		bool moved = false;
		end *ends[2] = { a, b };
		for (int i = 0; i < 2; i++) {
			GBytes *p;
			while ((p = g_queue_pop_head(ends[i]->inbox))) {
				gsize n;
				const uint8_t *d = g_bytes_get_data(p, &n);
				rtc_dtls_feed(ends[i]->d, d, n);
				g_bytes_unref(p);
				moved = true;
			}
		}
		if (!moved)
			break;
	}
}

static void free_end(end *e)
{
	rtc_dtls_free(e->d);
	g_queue_free_full(e->inbox, (GDestroyNotify)g_bytes_unref);
}

static void test_fingerprint_parse(void)
{
	uint8_t b[RTC_DTLS_MAX_FP];
	size_t n = 0;
	const char *ok = "AB:cd:01:FF";
	g_assert_cmpint(rtc_dtls_fingerprint_parse(ok, strlen(ok), b, sizeof b, &n), ==, 0);
	g_assert_cmpuint(n, ==, 4);
	g_assert_cmpuint(b[0], ==, 0xab);
	g_assert_cmpuint(b[1], ==, 0xcd);
	g_assert_cmpuint(b[3], ==, 0xff);
	const char *bad[] = { "", "A", "AB:", "AB:C", "ABCD", "AB::CD", "GG:00", "AB;CD", ":AB" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(rtc_dtls_fingerprint_parse(bad[i], strlen(bad[i]), b, sizeof b, &n), ==, EINVAL);
	g_assert_cmpint(rtc_dtls_fingerprint_parse(ok, strlen(ok), b, 3, &n), ==, EINVAL);
}

static void test_cert(void)
{
	rtc_dtls_cert *c = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, NULL, &c, &err), ==, 0);
	const char *fp = rtc_dtls_cert_fingerprint(c);
	g_assert_cmpuint(strlen(fp), ==, 8 + 32 * 3 - 1);
	g_assert_true(g_regex_match_simple("^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$", fp, 0, 0));
	rtc_dtls_cert_unref(c);
	const char *none[] = { "NULL_CIPHER", NULL };
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, none, &c, &err), ==, EINVAL);
	g_assert_nonnull(strstr(err, "SRTP"));
	g_free(err);
	err = NULL;
	g_assert_cmpint(rtc_dtls_cert_new("/nonexistent.pem", "/nonexistent.key", NULL, &c, &err), ==, EINVAL);
	g_free(err);
}

/* [webrtc] dtls_certificate / dtls_private_key: PEM files are used as is
 * and the SDP fingerprint is their certificate's sha-256. */
static void test_cert_files(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"t", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	g_assert_cmpint(X509_sign(x, k, EVP_sha256()), >, 0);
	char *dir = g_dir_make_tmp("jn-dtls-XXXXXX", NULL);
	char *cp = g_build_filename(dir, "cert.pem", NULL), *kp = g_build_filename(dir, "key.pem", NULL);
	FILE *f = fopen(cp, "w");
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(kp, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);

	rtc_dtls_cert *c = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_dtls_cert_new(cp, kp, NULL, &c, &err), ==, 0);
	unsigned char md[32];
	unsigned n = 0;
	X509_digest(x, EVP_sha256(), md, &n);
	uint8_t fp[RTC_DTLS_MAX_FP];
	size_t l;
	fp_bytes(c, fp, &l);
	g_assert_cmpuint(l, ==, n);
	g_assert_true(memcmp(fp, md, n) == 0);
	rtc_dtls_cert_unref(c);

	/* a key that is not the certificate's */
	EVP_PKEY *k2 = EVP_EC_gen("P-256");
	f = fopen(kp, "w");
	PEM_write_PrivateKey(f, k2, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	g_assert_cmpint(rtc_dtls_cert_new(cp, kp, NULL, &c, &err), ==, EINVAL);
	g_assert_nonnull(strstr(err, "match"));
	g_free(err);
	unlink(cp);
	unlink(kp);
	rmdir(dir);
	g_free(cp);
	g_free(kp);
	g_free(dir);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k);
	X509_free(x);
}

static void handshake(bool wrong_fp, const char *const *server_profiles)
{
	rtc_dtls_cert *cc = NULL, *sc = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, NULL, &cc, &err), ==, 0);
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, server_profiles, &sc, &err), ==, 0);
	uint8_t cfp[RTC_DTLS_MAX_FP], sfp[RTC_DTLS_MAX_FP];
	size_t cl, sl;
	fp_bytes(cc, cfp, &cl);
	fp_bytes(sc, sfp, &sl);
	if (wrong_fp)
		sfp[5] ^= 0x40; /* the client expects another server certificate */
	end client, server;
	make_end(&client, &server, cc, sfp, sl, true);
	make_end(&server, &client, sc, cfp, cl, false);
	rtc_dtls_start(server.d);
	rtc_dtls_start(client.d);
	shuttle(&client, &server);
	if (wrong_fp) {
		g_assert_cmpint(client.st, ==, RTC_DTLS_FAILED);
		g_assert_nonnull(strstr(client.reason, "fingerprint"));
		g_assert_cmpint(server.st, !=, RTC_DTLS_CONNECTED);
	} else {
		g_assert_cmpint(client.st, ==, RTC_DTLS_CONNECTED);
		g_assert_cmpint(server.st, ==, RTC_DTLS_CONNECTED);
		rtc_srtp_profile pc, ps;
		uint8_t ctx[RTC_SRTP_MAX_KEY], crx[RTC_SRTP_MAX_KEY], stx[RTC_SRTP_MAX_KEY], srx[RTC_SRTP_MAX_KEY];
		g_assert_cmpint(rtc_dtls_srtp_keys(client.d, &pc, ctx, crx), ==, 0);
		g_assert_cmpint(rtc_dtls_srtp_keys(server.d, &ps, stx, srx), ==, 0);
		g_assert_cmpint(pc, ==, ps);
		rtc_srtp_profile want = server_profiles ? rtc_srtp_profile_from_name(server_profiles[0])
							: RTC_SRTP_AEAD_AES_128_GCM;
		g_assert_cmpint(pc, ==, want);
		size_t kl = rtc_srtp_key_len(pc) + rtc_srtp_salt_len(pc);
		g_assert_true(memcmp(ctx, srx, kl) == 0);
		g_assert_true(memcmp(crx, stx, kl) == 0);
		g_assert_true(memcmp(ctx, crx, kl) != 0);
		/* close_notify reaches the peer */
		rtc_dtls_close(client.d);
		g_assert_cmpint(client.st, ==, RTC_DTLS_CLOSED);
		shuttle(&client, &server);
		g_assert_cmpint(server.st, ==, RTC_DTLS_CLOSED);
	}
	free_end(&client);
	free_end(&server);
	rtc_dtls_cert_unref(cc);
	rtc_dtls_cert_unref(sc);
}

static void test_handshake(void)
{
	handshake(false, NULL);
}

static void test_handshake_cm(void)
{
	const char *cm[] = { "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM", NULL };
	handshake(false, cm);
}

static void test_wrong_fingerprint(void)
{
	handshake(true, NULL);
}

/* The first flight is lost: the retransmission timer (on a GMainContext)
 * resends it and the handshake completes. */
static void test_retransmit(void)
{
	rtc_dtls_cert *cc = NULL, *sc = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, NULL, &cc, &err), ==, 0);
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, NULL, &sc, &err), ==, 0);
	uint8_t cfp[RTC_DTLS_MAX_FP], sfp[RTC_DTLS_MAX_FP];
	size_t cl, sl;
	fp_bytes(cc, cfp, &cl);
	fp_bytes(sc, sfp, &sl);
	GMainContext *ctx = g_main_context_new();
	end client, server;
	make_end_ctx(&client, &server, cc, sfp, sl, true, ctx);
	make_end_ctx(&server, &client, sc, cfp, cl, false, ctx);
	rtc_dtls_start(server.d);
	rtc_dtls_start(client.d);
	g_assert_cmpuint(g_queue_get_length(server.inbox), >=, 1);
	g_queue_free_full(server.inbox, (GDestroyNotify)g_bytes_unref); /* lost */
	server.inbox = g_queue_new();
	gint64 until = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while ((client.st != RTC_DTLS_CONNECTED || server.st != RTC_DTLS_CONNECTED) && g_get_monotonic_time() < until) {
		g_main_context_iteration(ctx, TRUE);
		shuttle(&client, &server);
	}
	g_assert_cmpint(client.st, ==, RTC_DTLS_CONNECTED);
	g_assert_cmpint(server.st, ==, RTC_DTLS_CONNECTED);
	free_end(&client);
	free_end(&server);
	g_main_context_unref(ctx);
	rtc_dtls_cert_unref(cc);
	rtc_dtls_cert_unref(sc);
}

/* A plain OpenSSL DTLS client (memory BIOs) against our server end, to
 * see what the server negotiates. groups/ciphers: what the client offers
 * (NULL = OpenSSL's defaults). Returns true when both sides connected;
 * *cipher and *group get the negotiated names. */
static bool raw_client(const char *groups, const char *ciphers, const char **cipher, int *group)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 9);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"c", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	g_assert_cmpint(X509_sign(x, k, EVP_sha256()), >, 0);
	uint8_t cfp[32];
	unsigned cl = 0;
	X509_digest(x, EVP_sha256(), cfp, &cl);

	SSL_CTX *cctx = SSL_CTX_new(DTLS_client_method());
	g_assert_true(SSL_CTX_use_certificate(cctx, x) && SSL_CTX_use_PrivateKey(cctx, k));
	g_assert_cmpint(SSL_CTX_set_tlsext_use_srtp(cctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"), ==, 0);
	if (groups)
		g_assert_true(SSL_CTX_set1_groups_list(cctx, groups));
	if (ciphers)
		g_assert_true(SSL_CTX_set_cipher_list(cctx, ciphers));
	SSL_CTX_set_options(cctx, SSL_OP_NO_QUERY_MTU);
	SSL *ssl = SSL_new(cctx);
	BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(in, -1);
	SSL_set_bio(ssl, in, out);
	SSL_set_mtu(ssl, 1200);
	SSL_set_connect_state(ssl);

	rtc_dtls_cert *sc = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, NULL, &sc, &err), ==, 0);
	end server, client; /* client: only its inbox is used */
	memset(&client, 0, sizeof client);
	client.inbox = g_queue_new();
	make_end(&server, &client, sc, cfp, cl, false);
	rtc_dtls_start(server.d);
	int r = 0;
	for (int round = 0; round < 20; round++) {
		r = SSL_do_handshake(ssl);
		int e = r == 1 ? 0 : SSL_get_error(ssl, r); /* before the BIOs change */
		char *data;
		long n = BIO_get_mem_data(out, &data);
		if (n > 0) {
			rtc_dtls_feed(server.d, (const uint8_t *)data, (size_t)n);
			(void)BIO_reset(out);
		}
		GBytes *p;
		while ((p = g_queue_pop_head(client.inbox))) {
			gsize l;
			const uint8_t *d = g_bytes_get_data(p, &l);
			BIO_write(in, d, (int)l);
			g_bytes_unref(p);
		}
		if (r == 1 && server.st == RTC_DTLS_CONNECTED)
			break;
		if (server.st == RTC_DTLS_FAILED || (r <= 0 && e != SSL_ERROR_WANT_READ))
			break;
	}
	bool ok = r == 1 && server.st == RTC_DTLS_CONNECTED;
	if (!ok)
		g_test_message("raw client: r=%d server=%s (%s)", r,
			       rtc_dtls_state_name(server.st), server.reason);
	*cipher = ok ? SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)) : NULL; /* static strings */
	*group = ok ? SSL_get_negotiated_group(ssl) : 0;
	SSL_free(ssl);
	SSL_CTX_free(cctx);
	free_end(&server);
	g_queue_free_full(client.inbox, (GDestroyNotify)g_bytes_unref);
	rtc_dtls_cert_unref(sc);
	EVP_PKEY_free(k);
	X509_free(x);
	ERR_clear_error();
	return ok;
}

/* What the server picks: AES-128-GCM with SHA-256 and X25519 from an
 * OpenSSL client's default offer; P-256 for a client without X25519; no
 * handshake for a client offering only non-AEAD or non-ECDHE suites. */
static void test_negotiation(void)
{
	const char *cipher;
	int group;
	g_assert_true(raw_client(NULL, NULL, &cipher, &group));
	g_assert_cmpstr(cipher, ==, "ECDHE-ECDSA-AES128-GCM-SHA256");
	g_assert_cmpint(group, ==, NID_X25519);
	g_assert_true(raw_client("P-256", NULL, &cipher, &group));
	g_assert_cmpint(group, ==, NID_X9_62_prime256v1);
	g_assert_true(raw_client(NULL, "ECDHE-ECDSA-CHACHA20-POLY1305", &cipher, &group));
	g_assert_cmpstr(cipher, ==, "ECDHE-ECDSA-CHACHA20-POLY1305");
	g_assert_false(raw_client(NULL, "ECDHE-ECDSA-AES128-SHA", &cipher, &group));
	g_assert_false(raw_client(NULL, "AES128-GCM-SHA256", &cipher, &group));
	g_assert_false(raw_client("P-521", NULL, &cipher, &group));
}

static void test_bad_opts(void)
{
	rtc_dtls_cert *c = NULL;
	char *err = NULL;
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, NULL, &c, &err), ==, 0);
	uint8_t fp[32] = { 0 };
	end e;
	rtc_dtls_opts o = { .remote_hash = "md5", .remote_fp = fp, .remote_fp_len = 16, .send = on_send, .user = &e };
	rtc_dtls *d = NULL;
	g_assert_cmpint(rtc_dtls_new(c, &o, &d), ==, EINVAL);
	o.remote_hash = "sha-256"; /* length must match the hash */
	g_assert_cmpint(rtc_dtls_new(c, &o, &d), ==, EINVAL);
	rtc_dtls_cert_unref(c);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtc_dtls/fingerprint_parse", test_fingerprint_parse);
	g_test_add_func("/rtc_dtls/cert", test_cert);
	g_test_add_func("/rtc_dtls/cert_files", test_cert_files);
	g_test_add_func("/rtc_dtls/handshake", test_handshake);
	g_test_add_func("/rtc_dtls/handshake_cm", test_handshake_cm);
	g_test_add_func("/rtc_dtls/wrong_fingerprint", test_wrong_fingerprint);
	g_test_add_func("/rtc_dtls/retransmit", test_retransmit);
	g_test_add_func("/rtc_dtls/bad_opts", test_bad_opts);
	g_test_add_func("/rtc_dtls/negotiation", test_negotiation);
	return g_test_run();
}
