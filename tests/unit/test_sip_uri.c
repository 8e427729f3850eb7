/* Unit tests for sip_uri: parsing and RFC 3261 §19.1.4 comparison. */
#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sip/sip_uri.h"

static bool eq(sip_pl pl, const char *s)
{
	return sip_pl_eq_str(pl, s);
}

static sip_uri parse(const char *s)
{
	sip_uri u;

	if (sip_uri_parse(sip_pl_cstr(s), &u))
		g_error("does not parse: %s", s);
	return u;
}

static void test_full(void)
{
	sip_uri u = parse("sip:alice:secret@Atlanta.com:5061;transport=tcp;lr;maddr=10.0.0.1;ob"
			  "?subject=project%20x&priority=urgent");
	sip_pl v;

	g_assert_cmpint(u.scheme, ==, SIP_URI_SIP);
	g_assert_true(eq(u.user, "alice"));
	g_assert_true(eq(u.password, "secret"));
	g_assert_true(eq(u.host, "Atlanta.com"));
	g_assert_cmpuint(u.port, ==, 5061);
	g_assert_true(eq(u.transport, "tcp"));
	g_assert_true(eq(u.maddr, "10.0.0.1"));
	g_assert_true(u.lr);
	g_assert_true(u.ob);
	g_assert_true(eq(u.params, "transport=tcp;lr;maddr=10.0.0.1;ob"));
	g_assert_true(eq(u.headers, "subject=project%20x&priority=urgent"));
	g_assert_true(sip_uri_header(&u, "Priority", &v));
	g_assert_true(eq(v, "urgent"));
	g_assert_true(sip_uri_header(&u, "subject", &v));
	g_assert_true(eq(v, "project%20x"));
	g_assert_false(sip_uri_header(&u, "to", &v));
	g_assert_true(sip_uri_param(&u, "LR", &v));
	g_assert_cmpuint(v.l, ==, 0);
	g_assert_false(sip_uri_param(&u, "user", NULL));
}

static void test_forms(void)
{
	sip_uri u;

	u = parse("sips:[2001:db8::1]:5070");
	g_assert_cmpint(u.scheme, ==, SIP_URI_SIPS);
	g_assert_true(u.host_ipv6);
	g_assert_true(eq(u.host, "2001:db8::1"));
	g_assert_cmpuint(u.port, ==, 5070);
	g_assert_false(sip_pl_isset(u.user));

	u = parse("SIP:bob@192.0.2.4");
	g_assert_cmpint(u.scheme, ==, SIP_URI_SIP);
	g_assert_true(eq(u.host, "192.0.2.4"));
	g_assert_cmpuint(u.port, ==, 0);
	g_assert_false(sip_pl_isset(u.password));

	u = parse("tel:+1-201-555-0123;phone-context=example.com");
	g_assert_cmpint(u.scheme, ==, SIP_URI_TEL);
	g_assert_true(eq(u.user, "+1-201-555-0123"));
	g_assert_true(eq(u.params, "phone-context=example.com"));

	u = parse("sip:+12125551212@gw.example.com;user=phone");
	g_assert_true(eq(u.user_param, "phone"));

	/* the user part may hold ';', '?' and escapes */
	u = parse("sip:user;par=u%40example.net@example.com");
	g_assert_true(eq(u.user, "user;par=u%40example.net"));
	g_assert_true(eq(u.host, "example.com"));

	/* escaped param names are accepted as they are */
	u = parse("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
	g_assert_true(eq(u.params, "%6C%72;n%61me=v%61lue%25%34%31"));
}

static void test_bad(void)
{
	static const char *const bad[] = {
		"", "sip:", "sip:@host", "sip:host:0", "sip:host:65536", "sip:host:", "sip:[::1",
		"sip:[]", "http://example.com", "sip:ho st", "sip:a%zz@h", "sip:a%4@h",
		"sip:host;a=%", "sip:host?a=<b>", "sip:host>", "tel:", "sips", "sip:a@b@c",
		"sip:2001:db8::1", "sip:host;;", "sip:[::1]x",
	};
	sip_uri u;

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_test_message("%s", bad[i]);
		g_assert_cmpint(sip_uri_parse(sip_pl_cstr(bad[i]), &u), ==, EINVAL);
	}
	/* Never reads past the given length. */
	g_assert_cmpint(sip_uri_parse((sip_pl){ "sip:a@hostX", 10 }, &u), ==, 0);
	g_assert_true(eq(u.host, "host"));
}

static int cmp(const char *a, const char *b)
{
	sip_uri x = parse(a), y = parse(b);
	int r = sip_uri_cmp(&x, &y);

	g_assert_cmpint(r != 0, ==, sip_uri_cmp(&y, &x) != 0);	/* symmetric */
	return r;
}

/* The examples of RFC 3261 §19.1.4. */
static void test_cmp(void)
{
	g_assert_cmpint(cmp("sip:%61lice@atlanta.com;transport=TCP",
			    "sip:alice@AtLanTa.CoM;Transport=tcp"), ==, 0);
	g_assert_cmpint(cmp("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"), ==, 0);
	g_assert_cmpint(cmp("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"), ==, 0);
	g_assert_cmpint(cmp("sip:carol@chicago.com;newparam=5",
			    "sip:carol@chicago.com;security=on"), ==, 0);
	g_assert_cmpint(cmp("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
			    "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"), ==, 0);
	g_assert_cmpint(cmp("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
			    "sip:alice@atlanta.com?priority=urgent&subject=project%20x"), ==, 0);

	g_assert_cmpint(cmp("SIP:ALICE@AtLanTa.CoM;Transport=udp",
			    "sip:alice@AtLanTa.CoM;Transport=UDP"), !=, 0);
	g_assert_cmpint(cmp("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"), !=, 0);
	g_assert_cmpint(cmp("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"), !=, 0);
	g_assert_cmpint(cmp("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"), !=, 0);
	g_assert_cmpint(cmp("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"), !=, 0);
	g_assert_cmpint(cmp("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"), !=, 0);
	g_assert_cmpint(cmp("sip:carol@chicago.com;security=on",
			    "sip:carol@chicago.com;security=off"), !=, 0);

	g_assert_cmpint(cmp("sips:a@b", "sip:a@b"), !=, 0);
	g_assert_cmpint(cmp("sip:a:pw@b", "sip:a@b"), !=, 0);
	g_assert_cmpint(cmp("sip:[2001:DB8::1]", "sip:[2001:db8::1]"), ==, 0);
	g_assert_cmpint(cmp("sip:null-%00-null@example.com", "sip:null-@example.com"), !=, 0);
	g_assert_cmpint(cmp("tel:+1-201-555-0123", "tel:+1.201.555.0123"), ==, 0);
	g_assert_cmpint(cmp("tel:+1-201-555-0123", "tel:+1-201-555-0124"), !=, 0);
}

static void test_unescape(void)
{
	char buf[16];
	size_t n;

	g_assert_cmpint(sip_uri_unescape(SIP_PL("a%20b%00c"), buf, sizeof(buf), &n), ==, 0);
	g_assert_cmpmem(buf, n, "a b\0c", 5);
	g_assert_cmpint(sip_uri_unescape(SIP_PL("a%2"), buf, sizeof(buf), &n), ==, EINVAL);
	g_assert_cmpint(sip_uri_unescape(SIP_PL("a%g0"), buf, sizeof(buf), &n), ==, EINVAL);
	g_assert_cmpint(sip_uri_unescape(SIP_PL("abcdef"), buf, 3, &n), ==, ENOSPC);
}

static void test_pl_helpers(void)
{
	uint32_t v;
	sip_pl rest, el, val;
	char buf[4];

	g_assert_true(sip_pl_casecmp(SIP_PL("Content-Length"), "content-length"));
	g_assert_false(sip_pl_casecmp(SIP_PL("Content-Lengt"), "content-length"));
	g_assert_false(sip_pl_casecmp(SIP_PL("Content-Lengthx"), "content-length"));
	g_assert_true(sip_pl_caseeq(SIP_PL("aB"), SIP_PL("Ab")));
	g_assert_cmpint(sip_pl_u32(SIP_PL("4294967295"), &v), ==, 0);
	g_assert_cmpuint(v, ==, 4294967295u);
	g_assert_cmpint(sip_pl_u32(SIP_PL("4294967296"), &v), ==, ERANGE);
	g_assert_cmpint(sip_pl_u32(SIP_PL("-1"), &v), ==, EINVAL);
	g_assert_cmpint(sip_pl_u32(SIP_PL(""), &v), ==, EINVAL);
	g_assert_true(eq(sip_pl_trim(SIP_PL(" \t x y \r\n")), "x y"));
	g_assert_cmpstr(sip_pl_strcpy(SIP_PL("abcdef"), buf, sizeof(buf)), ==, "abc");

	rest = SIP_PL(" \"a, b\" <sip:x,y>;p , ,c,");
	g_assert_true(sip_pl_list_next(&rest, &el));
	g_assert_true(eq(el, "\"a, b\" <sip:x,y>;p"));
	g_assert_true(sip_pl_list_next(&rest, &el));
	g_assert_true(eq(el, "c"));
	g_assert_false(sip_pl_list_next(&rest, &el));

	g_assert_true(sip_param_get(SIP_PL(";tag = 1 ;lr; q=\"a;b\"; X=2"), "q", &val));
	g_assert_true(eq(val, "\"a;b\""));
	g_assert_true(sip_param_get(SIP_PL(";tag = 1 ;lr; q=\"a;b\"; X=2"), "tag", &val));
	g_assert_true(eq(val, "1"));
	g_assert_true(sip_param_get(SIP_PL(";tag = 1 ;lr; q=\"a;b\"; X=2"), "x", &val));
	g_assert_true(eq(val, "2"));
	g_assert_true(sip_param_get(SIP_PL("lr"), "lr", &val));
	g_assert_false(sip_param_get(SIP_PL("lrx;b"), "lr", &val));
}

/* Every prefix of each URI placed right before a PROT_NONE page. */
static void test_guard_page(void)
{
	static const char *const uris[] = {
		"sip:alice:secret@Atlanta.com:5061;transport=tcp;lr?subject=project%20x&p=u",
		"sips:[2001:db8::1]:5070;maddr=[::1]", "tel:+1-201-555-0123;phone-context=x",
		"sip:user;par=u%40example.net@example.com", "sip:%00@host5.example.com",
	};
	long pg = sysconf(_SC_PAGESIZE);
	char *area = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int accepted = 0;

	g_assert_true(area != MAP_FAILED);
	g_assert_cmpint(mprotect(area + pg, (size_t)pg, PROT_NONE), ==, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(uris); i++) {
		size_t len = strlen(uris[i]);

		for (size_t cut = 0; cut <= len; cut++) {
			char *at = area + pg - cut;
			sip_uri u, u2;

			memcpy(at, uris[i], cut);
			if (sip_uri_parse((sip_pl){ at, cut }, &u) == 0) {
				u2 = u;
				g_assert_cmpint(sip_uri_cmp(&u, &u2), ==, 0);
				accepted++;
			}
		}
	}
	g_assert_cmpint(accepted, >, 0);
	munmap(area, 2 * (size_t)pg);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_uri/full", test_full);
	g_test_add_func("/sip_uri/forms", test_forms);
	g_test_add_func("/sip_uri/bad", test_bad);
	g_test_add_func("/sip_uri/cmp", test_cmp);
	g_test_add_func("/sip_uri/unescape", test_unescape);
	g_test_add_func("/sip_uri/pl_helpers", test_pl_helpers);
	g_test_add_func("/sip_uri/guard_page", test_guard_page);
	return g_test_run();
}
