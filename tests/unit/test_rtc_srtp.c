/* rtc_srtp: round trips for both profiles, rollover across a sequence
 * wrap and a big jump (libsrtp's ROC estimate), replay and tamper. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "media/rtp.h"
#include "webrtc/rtc_srtp.h"

static const uint8_t key_a[RTC_SRTP_MAX_KEY] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
						 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30 };
static const uint8_t key_b[RTC_SRTP_MAX_KEY] = { 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45,
						 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60 };

typedef struct {
	rtc_srtp *alice, *bob;
} pair;

static void pair_new(pair *p, rtc_srtp_profile prof)
{
	g_assert_cmpint(rtc_srtp_new(prof, key_a, key_b, &p->alice), ==, 0);
	g_assert_cmpint(rtc_srtp_new(prof, key_b, key_a, &p->bob), ==, 0);
}

static void pair_free(pair *p)
{
	rtc_srtp_free(p->alice);
	rtc_srtp_free(p->bob);
}

static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ts)
{
	size_t n = rtp_write_header(buf, 1500, 111, false, seq, ts, 0x11223344);
	for (size_t i = 0; i < 160; i++)
		buf[n + i] = (uint8_t)(seq + i);
	return n + 160;
}

/* Alice protects seq, Bob unprotects; returns Bob's result. */
static int send_one(pair *p, uint16_t seq)
{
	uint8_t buf[1500 + RTC_SRTP_MAX_TRAILER], orig[1500];
	size_t len = make_rtp(buf, seq, seq * 960u);
	memcpy(orig, buf, len);
	size_t plain = len;
	g_assert_cmpint(rtc_srtp_protect(p->alice, buf, sizeof buf, &len), ==, 0);
	g_assert_cmpuint(len, >, plain);
	g_assert_true(memcmp(buf + 12, orig + 12, plain - 12) != 0);
	int rc = rtc_srtp_unprotect(p->bob, buf, &len);
	if (rc == 0) {
		g_assert_cmpuint(len, ==, plain);
		g_assert_true(memcmp(buf, orig, plain) == 0);
	}
	return rc;
}

static void test_roundtrip(gconstpointer data)
{
	pair p;
	pair_new(&p, (rtc_srtp_profile)GPOINTER_TO_INT(data));
	for (uint16_t s = 100; s < 110; s++)
		g_assert_cmpint(send_one(&p, s), ==, 0);
	pair_free(&p);
}

static void test_rollover(gconstpointer data)
{
	pair p;
	pair_new(&p, (rtc_srtp_profile)GPOINTER_TO_INT(data));
	/* Across the wrap: the receiver must guess ROC 1 for seq 0.., or the
	 * auth tag (computed over ROC||packet) does not verify. */
	for (uint32_t s = 65500; s < 65536 + 100; s++)
		g_assert_cmpint(send_one(&p, (uint16_t)s), ==, 0);
	/* A forward jump of 20000 (packets lost) stays in ROC 1. */
	g_assert_cmpint(send_one(&p, 20100), ==, 0);
	g_assert_cmpint(send_one(&p, 20101), ==, 0);
	/* ... and the next wrap still works. */
	for (uint32_t s = 40000; s < 65536 + 50; s += 1000)
		g_assert_cmpint(send_one(&p, (uint16_t)s), ==, 0);
	for (uint32_t s = 50; s < 60; s++)
		g_assert_cmpint(send_one(&p, (uint16_t)s), ==, 0);
	pair_free(&p);
}

static void test_replay_tamper(void)
{
	pair p;
	pair_new(&p, RTC_SRTP_AES128_CM_SHA1_80);
	uint8_t buf[1500 + RTC_SRTP_MAX_TRAILER], copy[sizeof buf];
	size_t len = make_rtp(buf, 7, 0);
	g_assert_cmpint(rtc_srtp_protect(p.alice, buf, sizeof buf, &len), ==, 0);
	memcpy(copy, buf, len);
	size_t l2 = len;
	g_assert_cmpint(rtc_srtp_unprotect(p.bob, buf, &l2), ==, 0);
	l2 = len;
	g_assert_cmpint(rtc_srtp_unprotect(p.bob, copy, &l2), ==, EALREADY);

	len = make_rtp(buf, 8, 0);
	g_assert_cmpint(rtc_srtp_protect(p.alice, buf, sizeof buf, &len), ==, 0);
	buf[20] ^= 1;
	g_assert_cmpint(rtc_srtp_unprotect(p.bob, buf, &len), ==, EBADMSG);
	/* no room for the tag */
	len = make_rtp(buf, 9, 0);
	g_assert_cmpint(rtc_srtp_protect(p.alice, buf, len + 4, &len), ==, ENOSPC);
	pair_free(&p);
}

static void test_rtcp(void)
{
	pair p;
	pair_new(&p, RTC_SRTP_AEAD_AES_128_GCM);
	uint8_t buf[256] = { 0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44 };
	size_t len = 8;
	g_assert_cmpint(rtc_srtp_protect_rtcp(p.alice, buf, sizeof buf, &len), ==, 0);
	g_assert_cmpuint(len, >, 8);
	g_assert_cmpint(rtc_srtp_unprotect_rtcp(p.bob, buf, &len), ==, 0);
	g_assert_cmpuint(len, ==, 8);
	g_assert_cmpuint(buf[1], ==, 201);
	pair_free(&p);
}

static void test_names(void)
{
	g_assert_cmpint(rtc_srtp_profile_from_name("AEAD_AES_128_GCM"), ==, RTC_SRTP_AEAD_AES_128_GCM);
	g_assert_cmpint(rtc_srtp_profile_from_name("aes_cm_128_hmac_sha1_80"), ==, RTC_SRTP_AES128_CM_SHA1_80);
	g_assert_cmpint(rtc_srtp_profile_from_name("NULL_NULL"), ==, RTC_SRTP_NONE);
	g_assert_cmpuint(rtc_srtp_salt_len(RTC_SRTP_AEAD_AES_128_GCM), ==, 12);
	g_assert_cmpuint(rtc_srtp_salt_len(RTC_SRTP_AES128_CM_SHA1_80), ==, 14);
	rtc_srtp *s = NULL;
	g_assert_cmpint(rtc_srtp_new(RTC_SRTP_NONE, key_a, key_b, &s), ==, EINVAL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_data_func("/rtc_srtp/roundtrip/cm", GINT_TO_POINTER(RTC_SRTP_AES128_CM_SHA1_80), test_roundtrip);
	g_test_add_data_func("/rtc_srtp/roundtrip/gcm", GINT_TO_POINTER(RTC_SRTP_AEAD_AES_128_GCM), test_roundtrip);
	g_test_add_data_func("/rtc_srtp/rollover/cm", GINT_TO_POINTER(RTC_SRTP_AES128_CM_SHA1_80), test_rollover);
	g_test_add_data_func("/rtc_srtp/rollover/gcm", GINT_TO_POINTER(RTC_SRTP_AEAD_AES_128_GCM), test_rollover);
	g_test_add_func("/rtc_srtp/replay_tamper", test_replay_tamper);
	g_test_add_func("/rtc_srtp/rtcp", test_rtcp);
	g_test_add_func("/rtc_srtp/names", test_names);
	return g_test_run();
}
