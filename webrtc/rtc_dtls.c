#include "webrtc/rtc_dtls.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "util/log.h"

#define JN_LOG_TAG "dtls"
#define DTLS_MTU 1200 /* fits any ICE path, incl. TURN over IPv6 */
#define DTLS_CIPHERS                                                                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"      \
	"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"
#define DTLS_SIGALGS "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:rsa_pss_rsae_sha256:RSA+SHA256:RSA+SHA384:RSA+SHA512"

struct rtc_dtls_cert {
	gint ref;
	SSL_CTX *ctx;
	BIO_METHOD *wmeth; /* write BIO: one record write = one datagram */
	/* Fetched once: an EVP_sha256() digest in OpenSSL 3.0 looks the
	 * algorithm up in the provider store on every use. Order: sha-1,
	 * sha-256, sha-384, sha-512. */
	EVP_MD *md[4];
	char fingerprint[3 * 32 + 16];
};

struct rtc_dtls {
	rtc_dtls_cert *cert;
	rtc_dtls_opts o;
	char *id;
	SSL *ssl;
	BIO *rbio;
	rtc_dtls_state st;
	GSource *timer;
	bool fp_mismatch;
	const EVP_MD *md;
	uint8_t fp[RTC_DTLS_MAX_FP];
	size_t fp_len;
};

/* ---- certificate ---- */

static void fmt_fingerprint(X509 *x, char *out, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	X509_digest(x, EVP_sha256(), md, &n);
	size_t o = (size_t)g_snprintf(out, cap, "sha-256 ");
	for (unsigned i = 0; i < n && o + 3 < cap; i++)
		o += (size_t)g_snprintf(out + o, cap - o, i ? ":%02X" : "%02X", md[i]);
}

static int gen_cert(EVP_PKEY **pkey, X509 **cert)
{
	*pkey = EVP_EC_gen("P-256");
	*cert = X509_new();
	if (!*pkey || !*cert)
		return EIO;
	X509_set_version(*cert, 2);
	uint64_t serial;
	RAND_bytes((unsigned char *)&serial, sizeof serial);
	ASN1_INTEGER_set_uint64(X509_get_serialNumber(*cert), serial >> 1);
	X509_gmtime_adj(X509_getm_notBefore(*cert), -86400);
	X509_gmtime_adj(X509_getm_notAfter(*cert), 30L * 86400);
	X509_NAME *name = X509_get_subject_name(*cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"junction", -1, -1, 0);
	X509_set_issuer_name(*cert, name);
	X509_set_pubkey(*cert, *pkey);
	return X509_sign(*cert, *pkey, EVP_sha256()) > 0 ? 0 : EIO;
}

/* Self-signed peers: identity is the SDP fingerprint, so this replaces
 * OpenSSL's chain verification (which would also check the self-signature:
 * two ECDSA verifies per handshake for nothing). A mismatch fails the
 * handshake with a bad_certificate alert. */
static int verify_cert(X509_STORE_CTX *store, void *arg)
{
	(void)arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	rtc_dtls *d = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *x = X509_STORE_CTX_get0_cert(store);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (!d || !x || !X509_digest(x, d->md, md, &n) || n != d->fp_len || CRYPTO_memcmp(md, d->fp, n)) {
		if (d)
			d->fp_mismatch = true;
		X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	X509_STORE_CTX_set_error(store, X509_V_OK);
	return 1;
}

static int wbio_write(BIO *b, const char *buf, int len)
{
	rtc_dtls *d = BIO_get_data(b);
	if (d && len > 0)
		d->o.send(d->o.user, (const uint8_t *)buf, (size_t)len);
	return len;
}

static long wbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b; (void)num; (void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH: return 1;
	case BIO_CTRL_DGRAM_QUERY_MTU: return DTLS_MTU;
	case BIO_CTRL_WPENDING:
	case BIO_CTRL_PENDING: return 0;
	default: return 0;
	}
}

static int wbio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

int rtc_dtls_cert_new(const char *cert_file, const char *key_file, const char *const *profiles,
		      rtc_dtls_cert **out, char **err)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	rtc_dtls_cert *c = g_new0(rtc_dtls_cert, 1);
	int rc = EIO;
	c->ref = 1;

	if (cert_file && *cert_file) {
		FILE *f = fopen(cert_file, "r");
		if (f) {
			x = PEM_read_X509(f, NULL, NULL, NULL);
			fclose(f);
		}
		f = key_file && *key_file ? fopen(key_file, "r") : NULL;
		if (f) {
			pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
			fclose(f);
		}
		if (!x || !pkey) {
			*err = g_strdup_printf("cannot read DTLS certificate %s / key %s", cert_file,
					       key_file ? key_file : "");
			rc = EINVAL;
			goto out;
		}
	} else if (gen_cert(&pkey, &x)) {
		*err = g_strdup("cannot generate the DTLS certificate");
		goto out;
	}
	c->ctx = SSL_CTX_new(DTLS_method());
	if (!c->ctx || !SSL_CTX_use_certificate(c->ctx, x) || !SSL_CTX_use_PrivateKey(c->ctx, pkey) ||
	    !SSL_CTX_check_private_key(c->ctx)) {
		*err = g_strdup("DTLS certificate and key do not match");
		rc = EINVAL;
		goto out;
	}
	SSL_CTX_set_min_proto_version(c->ctx, DTLS1_2_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_cert_verify_callback(c->ctx, verify_cert, NULL);
	SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU);
	SSL_CTX_set_read_ahead(c->ctx, 1);
	/* What browsers and aiortc offer for DTLS 1.2, AEAD with ECDHE only
	 * (the RSA ones for a peer server with an RSA certificate when we are
	 * the client). The server's order decides: AES-128-GCM-SHA256 first,
	 * so the transcript and PRF use SHA-256. X25519 is the cheapest ECDHE
	 * here (`openssl speed ecdhx25519 ecdhp256`); P-256 stays for peers
	 * without it. Shorter lists also shrink the ClientHello. */
	if (!SSL_CTX_set_cipher_list(c->ctx, DTLS_CIPHERS) || !SSL_CTX_set1_groups_list(c->ctx, "X25519:P-256") ||
	    !SSL_CTX_set1_sigalgs_list(c->ctx, DTLS_SIGALGS)) {
		*err = g_strdup("OpenSSL refused the DTLS cipher, group or signature lists");
		goto out;
	}
	SSL_CTX_set_options(c->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	GString *pl = g_string_new(NULL);
	static const char *const defaults[] = { "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80", NULL };
	for (const char *const *p = profiles && profiles[0] ? profiles : defaults; *p; p++) {
		rtc_srtp_profile sp = rtc_srtp_profile_from_name(*p);
		if (sp == RTC_SRTP_NONE)
			continue;
		g_string_append_printf(pl, "%s%s", pl->len ? ":" : "",
				       sp == RTC_SRTP_AEAD_AES_128_GCM ? "SRTP_AEAD_AES_128_GCM" : "SRTP_AES128_CM_SHA1_80");
	}
	/* Note: SSL_CTX_set_tlsext_use_srtp returns 0 on success. */
	int bad = !pl->len || SSL_CTX_set_tlsext_use_srtp(c->ctx, pl->str);
	g_string_free(pl, TRUE);
	if (bad) {
		*err = g_strdup("no usable SRTP profile in srtp_profiles");
		rc = EINVAL;
		goto out;
	}
	static const char *const mdn[] = { "SHA1", "SHA2-256", "SHA2-384", "SHA2-512" };
	for (int i = 0; i < 4; i++)
		if (!(c->md[i] = EVP_MD_fetch(NULL, mdn[i], NULL))) {
			*err = g_strdup_printf("OpenSSL has no %s", mdn[i]);
			goto out;
		}
	c->wmeth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "jn-dtls-out");
	BIO_meth_set_write(c->wmeth, wbio_write);
	BIO_meth_set_ctrl(c->wmeth, wbio_ctrl);
	BIO_meth_set_create(c->wmeth, wbio_create);
	fmt_fingerprint(x, c->fingerprint, sizeof c->fingerprint);
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(pkey);
	if (rc) {
		ERR_clear_error(); /* the queue is per thread: leave it clean */
		rtc_dtls_cert_unref(c);
		c = NULL;
	}
	*out = c;
	return rc;
}

rtc_dtls_cert *rtc_dtls_cert_ref(rtc_dtls_cert *c)
{
	g_atomic_int_inc(&c->ref);
	return c;
}

void rtc_dtls_cert_unref(rtc_dtls_cert *c)
{
	if (!c || !g_atomic_int_dec_and_test(&c->ref))
		return;
	SSL_CTX_free(c->ctx);
	for (int i = 0; i < 4; i++)
		EVP_MD_free(c->md[i]);
	if (c->wmeth)
		BIO_meth_free(c->wmeth);
	g_free(c);
}

const char *rtc_dtls_cert_fingerprint(const rtc_dtls_cert *c)
{
	return c->fingerprint;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

int rtc_dtls_fingerprint_parse(const char *t, size_t l, uint8_t *bytes, size_t cap, size_t *len)
{
	size_t n = 0, i = 0;
	while (i < l) {
		if (i + 2 > l || n == cap)
			return EINVAL;
		int hi = hexval(t[i]), lo = hexval(t[i + 1]);
		if (hi < 0 || lo < 0)
			return EINVAL;
		bytes[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
		if (i < l && t[i++] != ':')
			return EINVAL;
		if (i == l && t[l - 1] == ':')
			return EINVAL;
	}
	if (!n)
		return EINVAL;
	*len = n;
	return 0;
}

/* ---- endpoint ---- */

const char *rtc_dtls_state_name(rtc_dtls_state st)
{
	static const char *const names[] = { "new", "connecting", "connected", "closed", "failed" };
	return st <= RTC_DTLS_FAILED ? names[st] : "?";
}

static void set_state(rtc_dtls *d, rtc_dtls_state st, const char *reason)
{
	if (d->st == st)
		return;
	d->st = st;
	jn_debug(d->id, "DTLS %s%s%s", rtc_dtls_state_name(st), reason ? ": " : "", reason ? reason : "");
	if (d->o.state)
		d->o.state(d->o.user, st, reason);
}

static void arm_timer(rtc_dtls *d);

static gboolean on_timer(gpointer data)
{
	rtc_dtls *d = data;
	g_source_unref(d->timer);
	d->timer = NULL;
	rtc_dtls_timeout(d);
	if (d->st == RTC_DTLS_CONNECTING)
		arm_timer(d);
	return G_SOURCE_REMOVE;
}

static void arm_timer(rtc_dtls *d)
{
	struct timeval tv;
	if (!d->o.context || d->timer || !DTLSv1_get_timeout(d->ssl, &tv))
		return;
	guint ms = (guint)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
	d->timer = g_timeout_source_new(ms ? ms : 1);
	g_source_set_callback(d->timer, on_timer, d, NULL);
	g_source_attach(d->timer, d->o.context);
}

static void fail_from_ssl(rtc_dtls *d, int ret)
{
	int e = SSL_get_error(d->ssl, ret);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return;
	if (e == SSL_ERROR_ZERO_RETURN) {
		set_state(d, RTC_DTLS_CLOSED, "close_notify from peer");
		return;
	}
	char buf[160];
	unsigned long ec = ERR_get_error();
	if (d->fp_mismatch)
		g_strlcpy(buf, "certificate fingerprint does not match the SDP", sizeof buf);
	else if (ec)
		ERR_error_string_n(ec, buf, sizeof buf);
	else
		g_snprintf(buf, sizeof buf, "SSL error %d", e);
	ERR_clear_error();
	set_state(d, RTC_DTLS_FAILED, buf);
}

static void pump(rtc_dtls *d)
{
	/* SSL_get_error reads the thread's error queue: start it empty. */
	ERR_clear_error();
	if (d->st == RTC_DTLS_CONNECTING) {
		int r = SSL_do_handshake(d->ssl);
		if (r == 1) {
			if (!SSL_get_selected_srtp_profile(d->ssl)) {
				set_state(d, RTC_DTLS_FAILED, "peer agreed no SRTP profile");
				return;
			}
			set_state(d, RTC_DTLS_CONNECTED, NULL);
		} else {
			fail_from_ssl(d, r);
			if (d->st == RTC_DTLS_CONNECTING)
				arm_timer(d);
			return;
		}
	}
	if (d->st == RTC_DTLS_CONNECTED) {
		/* No application data in DTLS-SRTP: reading drains alerts and
		 * notices close_notify. */
		uint8_t junk[256];
		int r;
		while ((r = SSL_read(d->ssl, junk, sizeof junk)) > 0)
			;
		fail_from_ssl(d, r);
	}
}

int rtc_dtls_new(rtc_dtls_cert *c, const rtc_dtls_opts *o, rtc_dtls **out)
{
	const EVP_MD *md = NULL;
	const char *h = o->remote_hash ? o->remote_hash : "sha-256";
	if (!g_ascii_strcasecmp(h, "sha-1")) md = c->md[0];
	else if (!g_ascii_strcasecmp(h, "sha-256")) md = c->md[1];
	else if (!g_ascii_strcasecmp(h, "sha-384")) md = c->md[2];
	else if (!g_ascii_strcasecmp(h, "sha-512")) md = c->md[3];
	if (!md || (size_t)EVP_MD_get_size(md) != o->remote_fp_len || o->remote_fp_len > RTC_DTLS_MAX_FP || !o->send)
		return EINVAL;
	rtc_dtls *d = g_new0(rtc_dtls, 1);
	d->cert = rtc_dtls_cert_ref(c);
	d->o = *o;
	d->id = g_strdup(o->id);
	d->o.id = d->id;
	d->md = md;
	memcpy(d->fp, o->remote_fp, o->remote_fp_len);
	d->fp_len = o->remote_fp_len;
	d->ssl = SSL_new(c->ctx);
	if (!d->ssl) {
		rtc_dtls_free(d);
		return EIO;
	}
	SSL_set_app_data(d->ssl, d);
	d->rbio = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(d->rbio, -1);
	BIO *w = BIO_new(c->wmeth);
	BIO_set_data(w, d);
	SSL_set_bio(d->ssl, d->rbio, w);
	SSL_set_mtu(d->ssl, DTLS_MTU);
	DTLS_set_link_mtu(d->ssl, DTLS_MTU);
	if (o->client)
		SSL_set_connect_state(d->ssl);
	else
		SSL_set_accept_state(d->ssl);
	*out = d;
	return 0;
}

void rtc_dtls_free(rtc_dtls *d)
{
	if (!d)
		return;
	if (d->timer) {
		g_source_destroy(d->timer);
		g_source_unref(d->timer);
	}
	if (d->ssl)
		SSL_free(d->ssl);
	rtc_dtls_cert_unref(d->cert);
	g_free(d->id);
	g_free(d);
}

void rtc_dtls_start(rtc_dtls *d)
{
	if (d->st != RTC_DTLS_NEW)
		return;
	set_state(d, RTC_DTLS_CONNECTING, NULL);
	if (d->o.client)
		pump(d);
}

void rtc_dtls_feed(rtc_dtls *d, const uint8_t *buf, size_t len)
{
	if (d->st == RTC_DTLS_NEW)
		set_state(d, RTC_DTLS_CONNECTING, NULL);
	if (d->st != RTC_DTLS_CONNECTING && d->st != RTC_DTLS_CONNECTED)
		return;
	BIO_write(d->rbio, buf, (int)len);
	pump(d);
}

int rtc_dtls_timeout(rtc_dtls *d)
{
	struct timeval tv;
	if (d->st != RTC_DTLS_CONNECTING)
		return -1;
	if (DTLSv1_handle_timeout(d->ssl) < 0) {
		set_state(d, RTC_DTLS_FAILED, "handshake timed out");
		return -1;
	}
	if (!DTLSv1_get_timeout(d->ssl, &tv))
		return -1;
	return (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

void rtc_dtls_close(rtc_dtls *d)
{
	if (d->st == RTC_DTLS_CONNECTED) {
		SSL_shutdown(d->ssl);
		set_state(d, RTC_DTLS_CLOSED, "closed locally");
	}
}

rtc_dtls_state rtc_dtls_get_state(const rtc_dtls *d)
{
	return d->st;
}

int rtc_dtls_srtp_keys(rtc_dtls *d, rtc_srtp_profile *p, uint8_t tx[RTC_SRTP_MAX_KEY],
		       uint8_t rx[RTC_SRTP_MAX_KEY])
{
	if (d->st != RTC_DTLS_CONNECTED)
		return EAGAIN;
	SRTP_PROTECTION_PROFILE *sp = SSL_get_selected_srtp_profile(d->ssl);
	if (!sp)
		return EIO;
	rtc_srtp_profile prof = sp->id == SRTP_AEAD_AES_128_GCM ? RTC_SRTP_AEAD_AES_128_GCM
			      : sp->id == SRTP_AES128_CM_SHA1_80 ? RTC_SRTP_AES128_CM_SHA1_80
								   : RTC_SRTP_NONE;
	if (prof == RTC_SRTP_NONE)
		return EIO;
	size_t kl = rtc_srtp_key_len(prof), sl = rtc_srtp_salt_len(prof);
	uint8_t km[2 * RTC_SRTP_MAX_KEY];
	static const char label[] = "EXTRACTOR-dtls_srtp";
	if (SSL_export_keying_material(d->ssl, km, 2 * (kl + sl), label, sizeof label - 1, NULL, 0, 0) != 1)
		return EIO;
	/* RFC 5764 §4.2: client key, server key, client salt, server salt. */
	const uint8_t *ck = km, *skey = km + kl, *cs = km + 2 * kl, *ss = km + 2 * kl + sl;
	uint8_t *mine = d->o.client ? tx : rx, *theirs = d->o.client ? rx : tx;
	memcpy(mine, ck, kl);
	memcpy(mine + kl, cs, sl);
	memcpy(theirs, skey, kl);
	memcpy(theirs + kl, ss, sl);
	OPENSSL_cleanse(km, sizeof km);
	*p = prof;
	return 0;
}
