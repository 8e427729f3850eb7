/* rtc_srtp: SRTP/SRTCP contexts for one direction pair (libsrtp2).
 *
 * One rtc_srtp holds an inbound and an outbound libsrtp session keyed from
 * DTLS-SRTP (RFC 5764) or SDES. libsrtp tracks the rollover counter per
 * SSRC and rejects replays (window of 1024 packets), so callers hand in
 * packets as they arrive. Protect and unprotect work in place and never
 * allocate: the buffer must have RTC_SRTP_MAX_TRAILER bytes of room past
 * the packet for the auth tag. */
#ifndef JN_RTC_SRTP_H
#define JN_RTC_SRTP_H

#include <stddef.h>
#include <stdint.h>

#define RTC_SRTP_MAX_TRAILER 148 /* SRTP_MAX_TRAILER_LEN + SRTCP index */
#define RTC_SRTP_MAX_KEY 32	 /* key || salt */

typedef enum {
	RTC_SRTP_NONE = 0,
	RTC_SRTP_AES128_CM_SHA1_80, /* key 16, salt 14 */
	RTC_SRTP_AEAD_AES_128_GCM,  /* key 16, salt 12 */
} rtc_srtp_profile;

typedef struct rtc_srtp rtc_srtp;

/* Initialises libsrtp once per process (thread-safe). 0 or EIO. */
int rtc_srtp_global_init(void);
/* The profile's name as in SDP/DTLS ("AEAD_AES_128_GCM"), and back. */
const char *rtc_srtp_profile_name(rtc_srtp_profile p);
rtc_srtp_profile rtc_srtp_profile_from_name(const char *name);
/* Key and salt lengths in bytes for p (0 for NONE). */
size_t rtc_srtp_key_len(rtc_srtp_profile p);
size_t rtc_srtp_salt_len(rtc_srtp_profile p);

/* Creates the two sessions: tx_key/rx_key are key||salt of
 * rtc_srtp_key_len + rtc_srtp_salt_len bytes. 0, EINVAL or EIO. */
int rtc_srtp_new(rtc_srtp_profile p, const uint8_t *tx_key, const uint8_t *rx_key, rtc_srtp **out);
/* Frees both sessions (NULL is fine). */
void rtc_srtp_free(rtc_srtp *s);
/* The profile the sessions were keyed for. */
rtc_srtp_profile rtc_srtp_get_profile(const rtc_srtp *s);

/* In place; *len is updated. 0, or EBADMSG (auth failed / malformed),
 * EALREADY (replay), ENOSPC (no room), EIO (other libsrtp error). */
int rtc_srtp_protect(rtc_srtp *s, uint8_t *buf, size_t cap, size_t *len);
int rtc_srtp_unprotect(rtc_srtp *s, uint8_t *buf, size_t *len);
int rtc_srtp_protect_rtcp(rtc_srtp *s, uint8_t *buf, size_t cap, size_t *len);
int rtc_srtp_unprotect_rtcp(rtc_srtp *s, uint8_t *buf, size_t *len);

#endif
