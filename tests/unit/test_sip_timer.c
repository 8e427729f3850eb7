/* Unit tests for sip_timer: RFC 4028 parsing and the UAS / UAC decisions. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "sip/sip_timer.h"

/* An INVITE with extra header lines (LF turned into CRLF). */
static sip_msg *invite(const char *extra)
{
	GString *t = g_string_new("INVITE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKt\r\n"
				  "From: <sip:b@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n");
	for (const char *p = extra; *p; p++)
		*p == '\n' ? g_string_append(t, "\r\n") : g_string_append_c(t, *p);
	g_string_append(t, "Content-Length: 0\r\n\r\n");
	sip_msg *m = NULL;
	g_assert_cmpint(sip_msg_parse(t->str, t->len, &m, NULL), ==, 0);
	g_string_free(t, TRUE);
	return m;
}

static sip_msg *response(const char *status, const char *extra)
{
	GString *t = g_string_new(NULL);
	g_string_append_printf(t, "SIP/2.0 %s\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKt\r\n"
			       "From: <sip:b@h>;tag=1\r\nTo: <sip:a@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n", status);
	for (const char *p = extra; *p; p++)
		*p == '\n' ? g_string_append(t, "\r\n") : g_string_append_c(t, *p);
	g_string_append(t, "Content-Length: 0\r\n\r\n");
	sip_msg *m = NULL;
	g_assert_cmpint(sip_msg_parse(t->str, t->len, &m, NULL), ==, 0);
	g_string_free(t, TRUE);
	return m;
}

static void test_parse(void)
{
	sip_session_expires se;
	g_assert_cmpint(sip_timer_parse_se(SIP_PL("1800"), &se), ==, 0);
	g_assert_cmpuint(se.delta, ==, 1800);
	g_assert_cmpint(se.refresher, ==, SIP_TIMER_REFRESHER_NONE);
	g_assert_cmpint(sip_timer_parse_se(SIP_PL(" 4000 ; refresher = UAS ;x=y"), &se), ==, 0);
	g_assert_cmpuint(se.delta, ==, 4000);
	g_assert_cmpint(se.refresher, ==, SIP_TIMER_REFRESHER_UAS);
	g_assert_cmpint(sip_timer_parse_se(SIP_PL("90;refresher=uac"), &se), ==, 0);
	g_assert_cmpint(se.refresher, ==, SIP_TIMER_REFRESHER_UAC);
	const char *bad[] = { "", "0", "-5", "abc", "1800;refresher=both", "99999999999", "18 00", ";refresher=uac" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(sip_timer_parse_se(sip_pl_cstr(bad[i]), &se), ==, EINVAL);
	uint32_t m;
	g_assert_cmpint(sip_timer_parse_min_se(SIP_PL("120"), &m), ==, 0);
	g_assert_cmpuint(m, ==, 120);
	g_assert_cmpint(sip_timer_parse_min_se(SIP_PL(" 300;x"), &m), ==, 0);
	g_assert_cmpuint(m, ==, 300);
	g_assert_cmpint(sip_timer_parse_min_se(SIP_PL("x"), &m), ==, EINVAL);
}

static void test_uas(void)
{
	sip_timer_cfg cfg = { .session_expires = 1800, .min_se = 120 };
	sip_timer_uas a;
	sip_buf b;
	sip_buf_init(&b, 0);

	/* Too small for us: 422 with our Min-SE. */
	sip_msg *m = invite("Supported: timer\nSession-Expires: 100\n");
	g_assert_cmpint(sip_timer_uas_decide(m, &cfg, &a), ==, 0);
	g_assert_cmpuint(a.status, ==, 422);
	g_assert_cmpuint(a.min_se, ==, 120);
	sip_timer_uas_put_headers(&b, &a);
	g_assert_cmpstr(b.p, ==, "Min-SE: 120\r\n");
	sip_msg_unref(m);

	/* Acceptable, refresher left to us, UAC supports timer: it refreshes. */
	sip_buf_reset(&b);
	m = invite("Supported: replaces, timer\nSession-Expires: 600\nMin-SE: 90\n");
	g_assert_cmpint(sip_timer_uas_decide(m, &cfg, &a), ==, 0);
	g_assert_cmpuint(a.status, ==, 0);
	g_assert_true(a.active);
	g_assert_cmpuint(a.interval, ==, 600);
	g_assert_cmpint(a.refresher, ==, SIP_TIMER_REFRESHER_UAC);
	g_assert_true(a.require_timer);
	sip_timer_uas_put_headers(&b, &a);
	g_assert_cmpstr(b.p, ==, "Session-Expires: 600;refresher=uac\r\nRequire: timer\r\n");
	g_assert_true(sip_timer_we_refresh(a.refresher, false) == false);
	sip_msg_unref(m);

	/* Longer than we like: shortened to ours, its refresher kept (x = compact form). */
	sip_buf_reset(&b);
	m = invite("k: timer\nx: 7200;refresher=uas\n");
	g_assert_cmpint(sip_timer_uas_decide(m, &cfg, &a), ==, 0);
	g_assert_cmpuint(a.interval, ==, 1800);
	g_assert_cmpint(a.refresher, ==, SIP_TIMER_REFRESHER_UAS);
	g_assert_true(sip_timer_we_refresh(a.refresher, false));
	sip_msg_unref(m);

	/* ... but never under the request's Min-SE. */
	m = invite("Supported: timer\nSession-Expires: 7200\nMin-SE: 3600\n");
	g_assert_cmpint(sip_timer_uas_decide(m, &cfg, &a), ==, 0);
	g_assert_cmpuint(a.interval, ==, 3600);
	sip_msg_unref(m);

	/* A UAC without timer support: we refresh, no Require. */
	sip_buf_reset(&b);
	m = invite("Session-Expires: 900;refresher=uac\n");
	g_assert_cmpint(sip_timer_uas_decide(m, &cfg, &a), ==, 0);
	g_assert_true(a.active);
	g_assert_cmpint(a.refresher, ==, SIP_TIMER_REFRESHER_UAS);
	g_assert_false(a.require_timer);
	sip_timer_uas_put_headers(&b, &a);
	g_assert_cmpstr(b.p, ==, "Session-Expires: 900;refresher=uas\r\n");
	sip_msg_unref(m);

	/* No Session-Expires: no timer, unless we insert one. */
	m = invite("Supported: timer\n");
	g_assert_cmpint(sip_timer_uas_decide(m, &cfg, &a), ==, 0);
	g_assert_false(a.active);
	cfg.uas_insert = true;
	g_assert_cmpint(sip_timer_uas_decide(m, &cfg, &a), ==, 0);
	g_assert_true(a.active);
	g_assert_cmpuint(a.interval, ==, 1800);
	g_assert_cmpint(a.refresher, ==, SIP_TIMER_REFRESHER_UAC);
	sip_msg_unref(m);
	m = invite("");
	g_assert_cmpint(sip_timer_uas_decide(m, &cfg, &a), ==, 0);
	g_assert_cmpint(a.refresher, ==, SIP_TIMER_REFRESHER_UAS);
	g_assert_false(a.require_timer);
	sip_msg_unref(m);

	/* Malformed or repeated: 400. */
	m = invite("Session-Expires: soon\n");
	g_assert_cmpint(sip_timer_uas_decide(m, &cfg, &a), ==, 0);
	g_assert_cmpuint(a.status, ==, 400);
	sip_msg_unref(m);
	m = invite("Session-Expires: 900\nSession-Expires: 1000\n");
	g_assert_cmpint(sip_timer_uas_decide(m, &cfg, &a), ==, 0);
	g_assert_cmpuint(a.status, ==, 400);
	sip_msg_unref(m);

	/* Zeroed config: 1800 and 90. */
	m = invite("Session-Expires: 90\n");
	g_assert_cmpint(sip_timer_uas_decide(m, NULL, &a), ==, 0);
	g_assert_cmpuint(a.status, ==, 0);
	g_assert_cmpuint(a.interval, ==, 90);
	sip_msg_unref(m);
	m = invite("Session-Expires: 89\n");
	g_assert_cmpint(sip_timer_uas_decide(m, NULL, &a), ==, 0);
	g_assert_cmpuint(a.status, ==, 422);
	g_assert_cmpuint(a.min_se, ==, 90);
	sip_msg_unref(m);
	g_assert_cmpint(sip_timer_uas_decide(NULL, NULL, &a), ==, EINVAL);
	sip_buf_free(&b);
}

static void test_uac(void)
{
	sip_timer_cfg cfg = { 0 };
	sip_buf b;
	sip_buf_init(&b, 0);
	sip_timer_uac_put_headers(&b, &cfg);
	g_assert_cmpstr(b.p, ==, "Session-Expires: 1800\r\nMin-SE: 90\r\n");

	/* 422 with a larger Min-SE: retry with it. */
	sip_msg *r = response("422 Session Interval Too Small", "Min-SE: 3600\n");
	g_assert_cmpint(sip_timer_uac_after_422(r, &cfg), ==, 0);
	sip_buf_reset(&b);
	sip_timer_uac_put_headers(&b, &cfg);
	g_assert_cmpstr(b.p, ==, "Session-Expires: 3600\r\nMin-SE: 3600\r\n");
	/* The same 422 again cannot help: give up. */
	g_assert_cmpint(sip_timer_uac_after_422(r, &cfg), ==, EINVAL);
	sip_msg_unref(r);
	r = response("422 Session Interval Too Small", "");
	g_assert_cmpint(sip_timer_uac_after_422(r, &cfg), ==, EINVAL);
	sip_msg_unref(r);

	sip_timer_session s;
	r = response("200 OK", "Require: timer\nSession-Expires: 1200;refresher=uac\n");
	g_assert_cmpint(sip_timer_uac_result(r, &s), ==, 0);
	g_assert_true(s.active);
	g_assert_cmpuint(s.interval, ==, 1200);
	g_assert_true(sip_timer_we_refresh(s.refresher, true));
	sip_msg_unref(r);
	r = response("200 OK", "Session-Expires: 1200;refresher=uas\n");
	g_assert_cmpint(sip_timer_uac_result(r, &s), ==, 0);
	g_assert_false(sip_timer_we_refresh(s.refresher, true));
	sip_msg_unref(r);
	r = response("200 OK", "Session-Expires: 1200\n");
	g_assert_cmpint(sip_timer_uac_result(r, &s), ==, 0);
	g_assert_cmpint(s.refresher, ==, SIP_TIMER_REFRESHER_UAC);
	sip_msg_unref(r);
	r = response("200 OK", "");
	g_assert_cmpint(sip_timer_uac_result(r, &s), ==, 0);
	g_assert_false(s.active);
	sip_msg_unref(r);
	r = response("200 OK", "Session-Expires: 0\n");
	g_assert_cmpint(sip_timer_uac_result(r, &s), ==, EINVAL);
	sip_msg_unref(r);
	sip_buf_free(&b);
}

static void test_deadlines(void)
{
	g_assert_cmpuint(sip_timer_refresh_ms(1800), ==, 900000);
	g_assert_cmpuint(sip_timer_refresh_ms(91), ==, 45500);
	/* interval - min(32, interval/3) */
	g_assert_cmpuint(sip_timer_expire_ms(1800), ==, 1768000);
	g_assert_cmpuint(sip_timer_expire_ms(90), ==, 60000);
	g_assert_cmpuint(sip_timer_expire_ms(96), ==, 64000);
	g_assert_cmpuint(sip_timer_expire_ms(97), ==, 97000 - 32000);
	g_assert_cmpuint(sip_timer_expire_ms(UINT32_MAX), ==, (uint64_t)UINT32_MAX * 1000 - 32000);
	g_assert_false(sip_timer_we_refresh(SIP_TIMER_REFRESHER_NONE, true));
	g_assert_cmpstr(sip_timer_refresher_name(SIP_TIMER_REFRESHER_UAS), ==, "uas");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_timer/parse", test_parse);
	g_test_add_func("/sip_timer/uas", test_uas);
	g_test_add_func("/sip_timer/uac", test_uac);
	g_test_add_func("/sip_timer/deadlines", test_deadlines);
	return g_test_run();
}
