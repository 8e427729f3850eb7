/* Unit tests for sip_info: DTMF in SIP INFO bodies. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "sip/sip_info.h"

static int parse(const char *ct, const char *body, char *sig, uint32_t *dur)
{
	return sip_info_parse(sip_pl_cstr(ct), sip_pl_cstr(body), sig, dur);
}

static void test_relay(void)
{
	char s;
	uint32_t d;
	g_assert_cmpint(parse("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", &s, &d), ==, 0);
	g_assert_cmpint(s, ==, '5');
	g_assert_cmpuint(d, ==, 160);
	/* JsSIP's own: no final CRLF; lower case, blanks, LF, any order, params. */
	g_assert_cmpint(parse("application/dtmf-relay", "Signal=#\r\nDuration=100", &s, &d), ==, 0);
	g_assert_cmpint(s, ==, '#');
	g_assert_cmpuint(d, ==, 100);
	g_assert_cmpint(parse("Application/DTMF-Relay ; charset=x", "Duration = 250\nsignal= a\n", &s, &d), ==, 0);
	g_assert_cmpint(s, ==, 'A');
	g_assert_cmpuint(d, ==, 250);
	g_assert_cmpint(parse("application/dtmf-relay", "Signal= 1\r\n", &s, &d), ==, 0);
	g_assert_cmpint(s, ==, '1');
	g_assert_cmpuint(d, ==, 0);
	g_assert_cmpint(parse("application/dtmf-relay", "Signal=*\r\nDuration=x\r\n", &s, &d), ==, 0);
	g_assert_cmpint(s, ==, '*');
	g_assert_cmpuint(d, ==, 0);
	/* Event codes for the non-digits; flash; durations clamped. */
	g_assert_cmpint(parse("application/dtmf-relay", "Signal=11\r\nDuration=0\r\n", &s, &d), ==, 0);
	g_assert_cmpint(s, ==, '#');
	g_assert_cmpuint(d, ==, 1);
	g_assert_cmpint(parse("application/dtmf-relay", "Signal=R\r\nDuration=99999999\r\n", &s, &d), ==, 0);
	g_assert_cmpint(s, ==, 'R');
	g_assert_cmpuint(d, ==, 60000);
	const char *bad[] = { "", "Duration=100\r\n", "Signal=\r\n", "Signal=E\r\n", "Signal=55\r\n",
			      "Signal=17\r\n", "Signal 5\r\n", "Signal=5 5\r\n" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_cmpint(parse("application/dtmf-relay", bad[i], &s, &d), ==, EINVAL);
		g_assert_cmpint(s, ==, '\0');
	}
	char *big = g_strnfill(SIP_INFO_MAX_BODY + 1, ' ');
	memcpy(big, "Signal=5", 8);
	g_assert_cmpint(parse("application/dtmf-relay", big, &s, &d), ==, EINVAL);
	g_free(big);
}

static void test_dtmf(void)
{
	char s;
	uint32_t d;
	g_assert_cmpint(parse("application/dtmf", "5", &s, &d), ==, 0);
	g_assert_cmpint(s, ==, '5');
	g_assert_cmpuint(d, ==, 0);
	g_assert_cmpint(parse("application/dtmf", " d\r\n", &s, &d), ==, 0);
	g_assert_cmpint(s, ==, 'D');
	g_assert_cmpint(parse("application/dtmf", "10", &s, &d), ==, 0);
	g_assert_cmpint(s, ==, '*');
	g_assert_cmpint(parse("application/dtmf", "x", &s, &d), ==, EINVAL);
	g_assert_cmpint(parse("application/dtmf", "", &s, &d), ==, EINVAL);
	g_assert_cmpint(parse("application/sdp", "5", &s, &d), ==, ENOTSUP);
	g_assert_cmpint(sip_info_parse(SIP_PL_NULL, SIP_PL("5"), &s, &d), ==, ENOTSUP);
	g_assert_cmpint(sip_info_kind_of(SIP_PL("application/dtmf")), ==, SIP_INFO_DTMF);
	g_assert_cmpint(sip_info_kind_of(SIP_PL("application/dtmf-relayx")), ==, SIP_INFO_NONE);
}

static void test_build(void)
{
	sip_buf b;
	sip_buf_init(&b, 0);
	g_assert_cmpint(sip_info_put_relay(&b, '5', 160), ==, 0);
	g_assert_cmpstr(b.p, ==, "Signal=5\r\nDuration=160\r\n");
	sip_buf_reset(&b);
	g_assert_cmpint(sip_info_put_relay(&b, 'b', 0), ==, 0);
	g_assert_cmpstr(b.p, ==, "Signal=B\r\nDuration=100\r\n");
	sip_buf_reset(&b);
	g_assert_cmpint(sip_info_put_relay(&b, 'R', 100), ==, EINVAL);
	g_assert_cmpint(sip_info_put_relay(&b, 'x', 100), ==, EINVAL);
	g_assert_cmpint(sip_info_put_dtmf(&b, '\0'), ==, EINVAL);
	g_assert_cmpuint(b.len, ==, 0);
	g_assert_cmpint(sip_info_put_dtmf(&b, '#'), ==, 0);
	g_assert_cmpstr(b.p, ==, "#");
	/* Every signal round-trips through a body and through its event code. */
	const char *all = "0123456789*#ABCD";
	for (const char *p = all; *p; p++) {
		char s;
		uint32_t d;
		sip_buf_reset(&b);
		g_assert_cmpint(sip_info_put_relay(&b, *p, 120), ==, 0);
		g_assert_cmpint(sip_info_parse(SIP_PL(SIP_INFO_RELAY_TYPE), (sip_pl){ b.p, b.len }, &s, &d), ==, 0);
		g_assert_cmpint(s, ==, *p);
		g_assert_cmpuint(d, ==, 120);
		g_assert_cmpint(sip_info_event(*p), ==, (int)(p - all));
		g_assert_cmpint(sip_info_signal((int)(p - all)), ==, *p);
	}
	g_assert_cmpint(sip_info_event('R'), ==, 16);
	g_assert_cmpint(sip_info_event('e'), ==, -1);
	g_assert_cmpint(sip_info_signal(17), ==, '\0');
	g_assert_cmpint(sip_info_signal(-1), ==, '\0');
	sip_buf_free(&b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_info/relay", test_relay);
	g_test_add_func("/sip_info/dtmf", test_dtmf);
	g_test_add_func("/sip_info/build", test_build);
	return g_test_run();
}
