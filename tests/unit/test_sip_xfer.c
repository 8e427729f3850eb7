/* Unit tests for sip_xfer: Refer-To and Replaces parsing, NOTIFY texts. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "sip/sip_xfer.h"

static void assert_pl(sip_pl pl, const char *want)
{
	char *got = sip_pl_strdup(pl);
	g_assert_cmpstr(got, ==, want);
	g_free(got);
}

static int parse_rt(const char *text, sip_refer_to *rt, char *buf, size_t cap)
{
	return sip_xfer_parse_refer_to(sip_pl_cstr(text), rt, buf, cap);
}

static void test_replaces(void)
{
	sip_replaces r;
	g_assert_cmpint(sip_xfer_parse_replaces(SIP_PL("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff"),
						&r), ==, 0);
	assert_pl(r.call_id, "98732@sip.example.com");
	assert_pl(r.to_tag, "ff87ff");
	assert_pl(r.from_tag, "r33th4x0r");
	g_assert_false(r.early_only);
	/* Blanks around ';' and '=', names without case, early-only, other params. */
	g_assert_cmpint(sip_xfer_parse_replaces(SIP_PL(" abc ; To-Tag = 1 ;early-only; x=y ;FROM-TAG=2 "), &r), ==, 0);
	assert_pl(r.call_id, "abc");
	assert_pl(r.to_tag, "1");
	assert_pl(r.from_tag, "2");
	g_assert_true(r.early_only);
	/* Missing pieces and junk. */
	const char *bad[] = { "", "abc", "abc;to-tag=1", "abc;from-tag=2", ";to-tag=1;from-tag=2",
			      "a b;to-tag=1;from-tag=2", "abc;to-tag=;from-tag=2", "abc;to-tag=1;from-tag",
			      "abc;to-tag=1;to-tag=3;from-tag=2", "<abc>;to-tag=1;from-tag=2",
			      "abc;to-tag=a b;from-tag=2", "abc;to-tag=\"1\";from-tag=2" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(sip_xfer_parse_replaces(sip_pl_cstr(bad[i]), &r), ==, EINVAL);
	g_assert_cmpint(sip_xfer_parse_replaces(SIP_PL_NULL, &r), ==, EINVAL);
	g_assert_cmpint(sip_xfer_parse_replaces(SIP_PL("abc;to-tag=1\0;from-tag=2"), &r), ==, EINVAL);
}

static void test_refer_to(void)
{
	sip_refer_to rt;
	char buf[256];
	/* Blind: name-addr, addr-spec, display name, params after '>'. */
	g_assert_cmpint(parse_rt("<sip:bob@example.com>", &rt, buf, sizeof buf), ==, 0);
	assert_pl(rt.target, "sip:bob@example.com");
	g_assert_false(rt.has_replaces);
	g_assert_cmpint(parse_rt("sip:carol@10.0.0.1:5070", &rt, buf, sizeof buf), ==, 0);
	assert_pl(rt.target, "sip:carol@10.0.0.1:5070");
	g_assert_cmpint(parse_rt("\"Carol\" <sip:carol@h;user=phone>;x=1", &rt, buf, sizeof buf), ==, 0);
	assert_pl(rt.target, "sip:carol@h;user=phone");
	assert_pl(rt.addr.display, "Carol");
	g_assert_cmpint(parse_rt("<tel:+15551234>", &rt, buf, sizeof buf), ==, 0);
	assert_pl(rt.target, "tel:+15551234");

	/* Attended: the Replaces travels %-escaped among the URI headers. */
	g_assert_cmpint(parse_rt("<sip:dave@example.com;transport=tcp?Replaces=12345%40192.168.0.1%3Bto-tag%3D"
				 "abc%3Bfrom-tag%3Dxyz&Require=replaces>", &rt, buf, sizeof buf), ==, 0);
	assert_pl(rt.target, "sip:dave@example.com;transport=tcp");
	g_assert_true(rt.has_replaces);
	assert_pl(rt.replaces.call_id, "12345@192.168.0.1");
	assert_pl(rt.replaces.to_tag, "abc");
	assert_pl(rt.replaces.from_tag, "xyz");
	g_assert_false(rt.replaces.early_only);
	/* The header name in any case, early-only, lower-case escapes. */
	g_assert_cmpint(parse_rt("<sip:d@e?replaces=cid%3bfrom-tag%3df%3bto-tag%3dt%3bearly-only>", &rt, buf,
				 sizeof buf), ==, 0);
	g_assert_true(rt.has_replaces);
	assert_pl(rt.replaces.call_id, "cid");
	g_assert_true(rt.replaces.early_only);
	/* Other URI headers alone: no Replaces, target still without them. */
	g_assert_cmpint(parse_rt("<sip:d@e?Subject=hi>", &rt, buf, sizeof buf), ==, 0);
	assert_pl(rt.target, "sip:d@e");
	g_assert_false(rt.has_replaces);

	/* Failures: bad escapes, a Replaces without tags, no room, junk. */
	g_assert_cmpint(parse_rt("<sip:d@e?Replaces=cid%3Bto-tag%3Dt%3Bfrom-tag%3Df%ZZ>", &rt, buf, sizeof buf), ==,
			EINVAL);
	g_assert_cmpint(parse_rt("<sip:d@e?Replaces=cid%3Bto-tag%3Dt>", &rt, buf, sizeof buf), ==, EINVAL);
	g_assert_cmpint(parse_rt("<sip:d@e?Replaces=cid%3Bto-tag%3Dt%3Bfrom-tag%3Df>", &rt, buf, 8), ==, EMSGSIZE);
	g_assert_cmpint(parse_rt("", &rt, buf, sizeof buf), ==, EINVAL);
	g_assert_cmpint(parse_rt("<>", &rt, buf, sizeof buf), ==, EINVAL);
	g_assert_cmpint(parse_rt("\"unterminated <sip:a@b>", &rt, buf, sizeof buf), ==, EINVAL);
	char *big = g_strnfill(SIP_XFER_MAX + 10, 'a');
	memcpy(big, "sip:", 4);
	g_assert_cmpint(parse_rt(big, &rt, buf, sizeof buf), ==, EMSGSIZE);
	g_free(big);
}

/* A Refer-To as it arrives in a REFER, read through the parsed message. */
static void test_refer_in_message(void)
{
	const char *text = "REFER sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKr\r\n"
			   "From: <sip:b@h>;tag=1\r\nTo: <sip:a@h>;tag=2\r\nCall-ID: c\r\nCSeq: 3 REFER\r\n"
			   "r: <sip:x@h?Replaces=k%3Bto-tag%3D7%3Bfrom-tag%3D8>\r\nContent-Length: 0\r\n\r\n";
	sip_msg *m = NULL;
	g_assert_cmpint(sip_msg_parse(text, strlen(text), &m, NULL), ==, 0);
	g_assert_true(sip_pl_isset(m->refer_to));
	sip_refer_to rt;
	char buf[128];
	g_assert_cmpint(sip_xfer_parse_refer_to(m->refer_to, &rt, buf, sizeof buf), ==, 0);
	assert_pl(rt.target, "sip:x@h");
	assert_pl(rt.replaces.call_id, "k");
	assert_pl(rt.replaces.to_tag, "7");
	assert_pl(rt.replaces.from_tag, "8");
	sip_msg_unref(m);
}

static void test_build(void)
{
	sip_buf b;
	sip_buf_init(&b, 0);
	sip_xfer_put_sipfrag(&b, 200, NULL);
	g_assert_cmpstr(b.p, ==, "SIP/2.0 200 OK\r\n");
	uint16_t st = 0;
	g_assert_cmpint(sip_xfer_parse_sipfrag((sip_pl){ b.p, b.len }, &st), ==, 0);
	g_assert_cmpuint(st, ==, 200);
	sip_buf_reset(&b);
	sip_xfer_put_sipfrag(&b, 100, "Trying");
	g_assert_cmpstr(b.p, ==, "SIP/2.0 100 Trying\r\n");
	sip_buf_reset(&b);
	sip_xfer_put_sipfrag(&b, 486, NULL);
	g_assert_cmpstr(b.p, ==, "SIP/2.0 486 Busy Here\r\n");
	g_assert_cmpint(sip_xfer_parse_sipfrag(SIP_PL("SIP/2.0 180 Ringing\r\nContact: x\r\n"), &st), ==, 0);
	g_assert_cmpuint(st, ==, 180);
	g_assert_cmpint(sip_xfer_parse_sipfrag(SIP_PL("SIP/2.0 603"), &st), ==, 0);
	g_assert_cmpuint(st, ==, 603);
	const char *bad[] = { "", "SIP/2.0 20 OK", "SIP/2.0 2000 OK", "SIP/1.0 200 OK", "HTTP/1.1 200 OK",
			      "SIP/2.0 099 x", "SIP/2.0 abc" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(sip_xfer_parse_sipfrag(sip_pl_cstr(bad[i]), &st), ==, EINVAL);

	sip_buf_reset(&b);
	sip_xfer_put_notify_headers(&b, 7, false, 60);
	g_assert_cmpstr(b.p, ==, "Event: refer;id=7\r\nSubscription-State: active;expires=60\r\n");
	sip_buf_reset(&b);
	sip_xfer_put_notify_headers(&b, 0, true, 60);
	g_assert_cmpstr(b.p, ==, "Event: refer\r\nSubscription-State: terminated;reason=noresource\r\n");

	/* A Replaces we print parses back. */
	sip_buf_reset(&b);
	sip_xfer_put_replaces(&b, "id@h", "tt", "ff", true);
	g_assert_cmpstr(b.p, ==, "id@h;to-tag=tt;from-tag=ff;early-only");
	sip_replaces r;
	g_assert_cmpint(sip_xfer_parse_replaces((sip_pl){ b.p, b.len }, &r), ==, 0);
	assert_pl(r.to_tag, "tt");
	g_assert_true(r.early_only);
	sip_buf_free(&b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_xfer/replaces", test_replaces);
	g_test_add_func("/sip_xfer/refer-to", test_refer_to);
	g_test_add_func("/sip_xfer/refer-in-message", test_refer_in_message);
	g_test_add_func("/sip_xfer/build", test_build);
	return g_test_run();
}
