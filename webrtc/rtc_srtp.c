#include "webrtc/rtc_srtp.h"

#include <errno.h>
#include <glib.h>
#include <srtp2/srtp.h>
#include <stdbool.h>
#include <string.h>

struct rtc_srtp {
	rtc_srtp_profile profile;
	srtp_t tx, rx;
};

static gsize srtp_inited;
static int srtp_init_rc;

int rtc_srtp_global_init(void)
{
	if (g_once_init_enter(&srtp_inited)) {
		srtp_init_rc = srtp_init() == srtp_err_status_ok ? 0 : EIO;
		g_once_init_leave(&srtp_inited, 1);
	}
	return srtp_init_rc;
}

const char *rtc_srtp_profile_name(rtc_srtp_profile p)
{
	switch (p) {
	case RTC_SRTP_AES128_CM_SHA1_80: return "AES_CM_128_HMAC_SHA1_80";
	case RTC_SRTP_AEAD_AES_128_GCM: return "AEAD_AES_128_GCM";
	default: return "none";
	}
}

rtc_srtp_profile rtc_srtp_profile_from_name(const char *name)
{
	if (!g_ascii_strcasecmp(name, "AES_CM_128_HMAC_SHA1_80") || !g_ascii_strcasecmp(name, "SRTP_AES128_CM_SHA1_80"))
		return RTC_SRTP_AES128_CM_SHA1_80;
	if (!g_ascii_strcasecmp(name, "AEAD_AES_128_GCM") || !g_ascii_strcasecmp(name, "SRTP_AEAD_AES_128_GCM"))
		return RTC_SRTP_AEAD_AES_128_GCM;
	return RTC_SRTP_NONE;
}

size_t rtc_srtp_key_len(rtc_srtp_profile p)
{
	return p == RTC_SRTP_NONE ? 0 : 16;
}

size_t rtc_srtp_salt_len(rtc_srtp_profile p)
{
	return p == RTC_SRTP_AES128_CM_SHA1_80 ? 14 : p == RTC_SRTP_AEAD_AES_128_GCM ? 12 : 0;
}

static int make_session(rtc_srtp_profile p, const uint8_t *key, bool inbound, srtp_t *out)
{
	srtp_policy_t pol;
	uint8_t k[RTC_SRTP_MAX_KEY];

	memset(&pol, 0, sizeof pol);
	if (p == RTC_SRTP_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	} else {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	}
	memcpy(k, key, rtc_srtp_key_len(p) + rtc_srtp_salt_len(p));
	pol.key = k;
	pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	/* 1024: a browser may reorder bursts after a network change; libsrtp's
	 * default 128 would drop them as replays. */
	pol.window_size = 1024;
	pol.allow_repeat_tx = 1; /* a relay may resend the same packet (NACK) */
	int rc = srtp_create(out, &pol) == srtp_err_status_ok ? 0 : EIO;
	memset(k, 0, sizeof k);
	return rc;
}

int rtc_srtp_new(rtc_srtp_profile p, const uint8_t *tx_key, const uint8_t *rx_key, rtc_srtp **out)
{
	if (p == RTC_SRTP_NONE || !tx_key || !rx_key)
		return EINVAL;
	if (rtc_srtp_global_init())
		return EIO;
	rtc_srtp *s = g_new0(rtc_srtp, 1);
	s->profile = p;
	if (make_session(p, tx_key, false, &s->tx) || make_session(p, rx_key, true, &s->rx)) {
		rtc_srtp_free(s);
		return EIO;
	}
	*out = s;
	return 0;
}

void rtc_srtp_free(rtc_srtp *s)
{
	if (!s)
		return;
	if (s->tx)
		srtp_dealloc(s->tx);
	if (s->rx)
		srtp_dealloc(s->rx);
	g_free(s);
}

rtc_srtp_profile rtc_srtp_get_profile(const rtc_srtp *s)
{
	return s->profile;
}

static int map_err(srtp_err_status_t e)
{
	switch (e) {
	case srtp_err_status_ok: return 0;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old: return EALREADY;
	case srtp_err_status_auth_fail:
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err: return EBADMSG;
	default: return EIO;
	}
}

int rtc_srtp_protect(rtc_srtp *s, uint8_t *buf, size_t cap, size_t *len)
{
	if (*len < 12 || *len + SRTP_MAX_TRAILER_LEN > cap)
		return ENOSPC;
	int l = (int)*len;
	int rc = map_err(srtp_protect(s->tx, buf, &l));
	*len = (size_t)l;
	return rc;
}

int rtc_srtp_unprotect(rtc_srtp *s, uint8_t *buf, size_t *len)
{
	if (*len < 12 || *len > 0x10000)
		return EBADMSG;
	int l = (int)*len;
	int rc = map_err(srtp_unprotect(s->rx, buf, &l));
	*len = (size_t)l;
	return rc;
}

int rtc_srtp_protect_rtcp(rtc_srtp *s, uint8_t *buf, size_t cap, size_t *len)
{
	if (*len < 8 || *len + SRTP_MAX_TRAILER_LEN + 4 > cap)
		return ENOSPC;
	int l = (int)*len;
	int rc = map_err(srtp_protect_rtcp(s->tx, buf, &l));
	*len = (size_t)l;
	return rc;
}

int rtc_srtp_unprotect_rtcp(rtc_srtp *s, uint8_t *buf, size_t *len)
{
	if (*len < 8 || *len > 0x10000)
		return EBADMSG;
	int l = (int)*len;
	int rc = map_err(srtp_unprotect_rtcp(s->rx, buf, &l));
	*len = (size_t)l;
	return rc;
}
