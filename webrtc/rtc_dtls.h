/* rtc_dtls: DTLS 1.2 for DTLS-SRTP (RFC 5763/5764) with OpenSSL.
 *
 * An rtc_dtls_cert holds the process's certificate (ECDSA P-256, generated
 * at start or read from PEM files), its sha-256 fingerprint for SDP and the
 * SSL_CTX every session is made from (session cache and tickets off: every
 * browser leg does a full handshake bound to its SDP fingerprint).
 *
 * An rtc_dtls is one endpoint. It owns no socket: datagrams from the ICE
 * component that demux as DTLS (RFC 7983) go in through rtc_dtls_feed,
 * and every record OpenSSL writes comes out, one datagram per write,
 * through opts.send. Retransmissions run on a timer in opts.context
 * (DTLSv1_handle_timeout). The peer's certificate must match the
 * fingerprint from its SDP, else the handshake fails. All calls on the
 * thread that owns opts.context. */
#ifndef JN_RTC_DTLS_H
#define JN_RTC_DTLS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "webrtc/rtc_srtp.h"

#define RTC_DTLS_MAX_FP 64 /* sha-512 */

typedef struct rtc_dtls_cert rtc_dtls_cert;
typedef struct rtc_dtls rtc_dtls;

typedef enum {
	RTC_DTLS_NEW = 0,
	RTC_DTLS_CONNECTING,
	RTC_DTLS_CONNECTED,
	RTC_DTLS_CLOSED, /* close_notify received or sent */
	RTC_DTLS_FAILED,
} rtc_dtls_state;

/* Loads cert_file/key_file (PEM) or, when cert_file is NULL or empty,
 * generates an ECDSA P-256 self-signed certificate. profiles: SRTP profile
 * names in preference order (NULL-terminated; NULL = GCM then CM-SHA1-80).
 * Returns 0 or EINVAL/EIO with *err set (g_free it). */
int rtc_dtls_cert_new(const char *cert_file, const char *key_file, const char *const *profiles,
		      rtc_dtls_cert **out, char **err);
/* Takes a reference (any thread). */
rtc_dtls_cert *rtc_dtls_cert_ref(rtc_dtls_cert *c);
/* Drops a reference (NULL is fine). */
void rtc_dtls_cert_unref(rtc_dtls_cert *c);
/* "sha-256 AB:CD:..." for a=fingerprint. */
const char *rtc_dtls_cert_fingerprint(const rtc_dtls_cert *c);

/* Parses "AB:CD:.." hex pairs into bytes (at most cap); 0 or EINVAL. */
int rtc_dtls_fingerprint_parse(const char *text, size_t text_len, uint8_t *bytes, size_t cap, size_t *len);

typedef struct {
	bool client; /* a=setup:active: we send the ClientHello */
	GMainContext *context; /* retransmission timer; NULL: caller drives rtc_dtls_timeout */
	const char *remote_hash; /* "sha-256" (also sha-1, sha-384, sha-512) */
	const uint8_t *remote_fp;
	size_t remote_fp_len;
	const char *id; /* log id (copied) */
	/* One DTLS datagram to send to the peer. */
	void (*send)(void *user, const uint8_t *buf, size_t len);
	/* State changes; reason is set for FAILED/CLOSED. */
	void (*state)(void *user, rtc_dtls_state st, const char *reason);
	void *user;
} rtc_dtls_opts;

/* Creates an endpoint (state NEW). 0, EINVAL (bad fingerprint) or EIO. */
int rtc_dtls_new(rtc_dtls_cert *c, const rtc_dtls_opts *o, rtc_dtls **out);
/* Frees; sends nothing (call rtc_dtls_close first for a close_notify). */
void rtc_dtls_free(rtc_dtls *d);
/* Starts the handshake (the client sends its ClientHello now). */
void rtc_dtls_start(rtc_dtls *d);
/* One datagram from the peer. */
void rtc_dtls_feed(rtc_dtls *d, const uint8_t *buf, size_t len);
/* Runs retransmissions when no context was given; returns the ms until
 * the next timeout, or -1 for none. */
int rtc_dtls_timeout(rtc_dtls *d);
/* Sends close_notify (state CLOSED). */
void rtc_dtls_close(rtc_dtls *d);
/* The current state, and its name for logs and stats ("connected"). */
rtc_dtls_state rtc_dtls_get_state(const rtc_dtls *d);
const char *rtc_dtls_state_name(rtc_dtls_state st);
/* After CONNECTED: the negotiated profile and our (tx) and the peer's (rx)
 * key||salt from the exporter (RFC 5764 §4.2). 0 or EAGAIN/EIO. */
int rtc_dtls_srtp_keys(rtc_dtls *d, rtc_srtp_profile *p, uint8_t tx[RTC_SRTP_MAX_KEY],
		       uint8_t rx[RTC_SRTP_MAX_KEY]);

#endif
