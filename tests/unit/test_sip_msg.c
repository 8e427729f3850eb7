/* Unit tests for sip_msg: the RFC 4475 torture messages, RFC 5118 IPv6
 * messages and real JsSIP frames, cut inputs, and a guard-page run. */
#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sip/sip_build.h"
#include "sip/sip_frame.h"
#include "sip/sip_msg.h"

static char *data_path(const char *rel)
{
	const char *src = g_getenv("JN_SRCDIR");

	return g_build_filename(src ? src : JN_SRCDIR, "tests", "data", rel, NULL);
}

static GBytes *load(const char *rel)
{
	char *path = data_path(rel), *text = NULL;
	gsize len = 0;
	GError *e = NULL;

	if (!g_file_get_contents(path, &text, &len, &e))
		g_error("%s: %s", path, e->message);
	g_free(path);
	return g_bytes_new_take(text, len);
}

static sip_msg *parse_ok(const char *rel)
{
	GBytes *b = load(rel);
	gsize len;
	const char *p = g_bytes_get_data(b, &len);
	sip_msg *m = NULL;
	sip_parse_err e;
	int rc = sip_msg_parse(p, len, &m, &e);

	if (rc)
		g_error("%s: rc %d status %u %s", rel, rc, e.status, e.reason);
	g_bytes_unref(b);	/* the message holds its own copy */
	return m;
}

#define assert_pl(pl, str) g_assert_cmpstr(g_strndup_tmp(pl), ==, (str))

/* A NUL-terminated copy of a slice that lives until the next test. */
static GPtrArray *tmp_strs;
static const char *g_strndup_tmp(sip_pl pl)
{
	char *s;

	if (!pl.p)
		return "(unset)";
	s = g_strndup(pl.p, pl.l);
	if (!tmp_strs)
		tmp_strs = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(tmp_strs, s);
	return s;
}

/* What our parser does with each RFC 4475 message. Every MANIFEST row
 * must be listed; the status must agree with the MANIFEST's expected
 * response. liberal marks a documented deviation (docs/sip-parser.md). */
typedef struct {
	const char *file;
	bool accept;
	unsigned status;	/* for rejects; 0 = drop */
	bool liberal;
} torture_case;

static const torture_case torture[] = {
	{ "3.1.1.1-wsinv.dat", true, 0, false },
	{ "3.1.1.2-intmeth.dat", true, 0, false },
	{ "3.1.1.3-esc01.dat", true, 0, false },
	{ "3.1.1.4-escnull.dat", true, 0, false },
	{ "3.1.1.5-esc02.dat", true, 0, false },
	{ "3.1.1.6-lwsdisp.dat", true, 0, false },
	{ "3.1.1.7-longreq.dat", true, 0, false },
	{ "3.1.1.8-dblreq.dat", true, 0, false },
	{ "3.1.1.9-semiuri.dat", true, 0, false },
	{ "3.1.1.10-transports.dat", true, 0, false },
	{ "3.1.1.11-mpart01.dat", true, 0, false },
	{ "3.1.1.12-unreason.dat", true, 0, false },
	{ "3.1.1.13-noreason.dat", true, 0, false },
	{ "3.1.2.1-badinv01.dat", false, 400, false },
	{ "3.1.2.2-clerr.dat", false, 400, false },
	{ "3.1.2.3-ncl.dat", false, 400, false },
	{ "3.1.2.4-scalar02.dat", false, 400, false },
	{ "3.1.2.5-scalarlg.dat", false, 0, false },
	{ "3.1.2.6-quotbal.dat", false, 400, false },
	{ "3.1.2.7-ltgtruri.dat", false, 400, false },
	{ "3.1.2.8-lwsruri.dat", false, 400, false },
	{ "3.1.2.9-lwsstart.dat", false, 400, false },
	{ "3.1.2.10-trws.dat", false, 400, false },
	{ "3.1.2.11-escruri.dat", false, 400, false },
	{ "3.1.2.12-baddate.dat", true, 0, true },	/* Date is never parsed */
	{ "3.1.2.13-regbadct.dat", false, 400, false },
	{ "3.1.2.14-badaspec.dat", false, 400, false },
	{ "3.1.2.15-baddn.dat", false, 400, false },
	{ "3.1.2.16-badvers.dat", false, 505, false },
	{ "3.1.2.17-mismatch01.dat", false, 400, false },
	{ "3.1.2.18-mismatch02.dat", false, 501, false },
	{ "3.1.2.19-bigcode.dat", false, 0, false },
	{ "3.2.1-badbranch.dat", true, 0, false },
	{ "3.3.1-insuf.dat", false, 400, false },
	{ "3.3.2-unkscm.dat", true, 0, false },
	{ "3.3.3-novelsc.dat", true, 0, false },
	{ "3.3.4-unksm2.dat", true, 0, false },
	{ "3.3.5-bext01.dat", true, 0, false },
	{ "3.3.6-invut.dat", true, 0, false },
	{ "3.3.7-regaut01.dat", true, 0, false },
	{ "3.3.8-multi01.dat", false, 400, false },
	{ "3.3.9-mcl01.dat", false, 400, false },
	{ "3.3.10-bcast.dat", true, 0, false },
	{ "3.3.11-zeromf.dat", true, 0, false },
	{ "3.3.12-cparam01.dat", true, 0, false },
	{ "3.3.13-cparam02.dat", true, 0, false },
	{ "3.3.14-regescrt.dat", true, 0, false },
	{ "3.3.15-sdp01.dat", true, 0, false },
	{ "3.4.1-inv2543.dat", true, 0, false },
	{ "x-test.dat", false, 400, false },
};

static const torture_case *find_case(const char *file)
{
	for (size_t i = 0; i < G_N_ELEMENTS(torture); i++)
		if (strcmp(torture[i].file, file) == 0)
			return &torture[i];
	return NULL;
}

static void test_torture_manifest(void)
{
	GBytes *b = load("rfc4475/MANIFEST.tsv");
	char **lines = g_strsplit(g_bytes_get_data(b, NULL), "\n", -1);
	size_t rows = 0;

	for (size_t i = 1; lines[i]; i++) {
		char **col;
		const torture_case *tc;
		char *rel;
		GBytes *msg;
		gsize len;
		const char *p;
		sip_msg *m = NULL;
		sip_parse_err e;
		int rc;

		if (!*lines[i])
			continue;
		col = g_strsplit(lines[i], "\t", -1);
		g_assert_cmpuint(g_strv_length(col), >=, 6);
		tc = find_case(col[0]);
		if (!tc)
			g_error("MANIFEST row %s has no expectation in this test", col[0]);
		rel = g_build_filename("rfc4475", col[0], NULL);
		msg = load(rel);
		p = g_bytes_get_data(msg, &len);
		rc = sip_msg_parse(p, len, &m, &e);
		g_test_message("%s: rc=%d status=%u %s", col[0], rc, rc ? e.status : 0,
			       rc ? e.reason : "");
		if (tc->accept) {
			g_assert_cmpint(rc, ==, 0);
			g_assert_nonnull(m);
			/* Accepting an "invalid" one must be a documented choice. */
			if (strcmp(col[3], "invalid") == 0)
				g_assert_true(tc->liberal);
		} else {
			char code[8];

			g_assert_cmpint(rc, !=, 0);
			g_assert_null(m);
			g_assert_cmpuint(e.status, ==, tc->status);
			g_assert_cmpuint(strlen(e.reason), >, 0);
			/* The status agrees with the MANIFEST's expectation. */
			g_snprintf(code, sizeof(code), "%u", tc->status);
			if (tc->status == 0)
				g_assert_nonnull(strstr(col[5], "drop"));
			else
				g_assert_true(strstr(col[5], code) || strstr(col[5], "error") ||
					      strcmp(col[4], "reject") == 0);
		}
		sip_msg_unref(m);
		g_bytes_unref(msg);
		g_free(rel);
		g_strfreev(col);
		rows++;
	}
	g_assert_cmpuint(rows, ==, G_N_ELEMENTS(torture));
	g_strfreev(lines);
	g_bytes_unref(b);
}

static void test_wsinv_fields(void)
{
	sip_msg *m = parse_ok("rfc4475/3.1.1.1-wsinv.dat");
	const sip_hdr *h;
	sip_pl v;

	g_assert_true(m->is_request);
	g_assert_cmpint(m->method, ==, SIP_METHOD_INVITE);
	g_assert_true(m->ruri_parsed);
	assert_pl(m->ruri.user, "vivekg");
	assert_pl(m->ruri.host, "chair-dnrc.example.com");
	assert_pl(m->ruri.params, "unknownparam");
	assert_pl(m->to.uri.user, "vivekg");
	assert_pl(m->to.tag, "1918181833n");
	assert_pl(m->from.display, "J Rosenberg \\\\\\\"");
	assert_pl(m->from.uri.user, "jdrosen");
	assert_pl(m->from.tag, "98asjd8");
	g_assert_cmpint(m->max_forwards, ==, 68);
	assert_pl(m->call_id, "wsinv.ndaksdj@192.0.2.1");
	g_assert_cmpuint(m->cseq.num, ==, 9);
	g_assert_cmpint(m->cseq.method, ==, SIP_METHOD_INVITE);
	g_assert_cmpuint(m->n_via, ==, 3);
	assert_pl(m->via[0].transport, "UDP");
	assert_pl(m->via[0].host, "192.0.2.2");
	assert_pl(m->via[0].branch, "390skdjuw");
	assert_pl(m->via[1].transport, "TCP");
	assert_pl(m->via[1].host, "spindle.example.com");
	assert_pl(m->via[1].branch, "z9hG4bK9ikj8");
	assert_pl(m->via[2].host, "192.168.255.111");
	assert_pl(m->via[2].branch, "z9hG4bK30239");
	g_assert_cmpint(m->content_length, ==, 150);
	g_assert_cmpuint(m->body.l, ==, 150);
	g_assert_true(m->body.l >= 4 && memcmp(m->body.p, "v=0\r", 4) == 0);
	assert_pl(m->content_type, "application/sdp");
	g_assert_cmpuint(m->n_contact, ==, 1);
	assert_pl(m->contact[0].addr.display, "Quoted string \\\"\\\"");
	assert_pl(m->contact[0].q, "0.33");
	g_assert_true(sip_param_get(m->contact[0].addr.params, "newparam", &v));
	assert_pl(v, "newvalue");
	g_assert_true(sip_param_get(m->contact[0].addr.params, "secondparam", &v));
	g_assert_cmpuint(v.l, ==, 0);
	g_assert_cmpuint(m->n_route, ==, 1);
	g_assert_true(m->route[0].uri.lr);
	/* Unknown headers by name, folded lines unfolded into one slice. */
	h = sip_msg_hdr(m, SIP_HDR_OTHER, "newfangledheader");
	g_assert_nonnull(h);
	g_assert_nonnull(g_strstr_len(h->value.p, (gssize)h->value.l, "continued newfangled value"));
	g_assert_null(memchr(h->value.p, '\n', h->value.l));
	h = sip_msg_hdr(m, SIP_HDR_OTHER, "UnknownHeaderWithUnusualValue");
	g_assert_nonnull(h);
	assert_pl(h->value, ";;,,;;,;");
	/* "s :" is the compact Subject, with an empty value. */
	h = sip_msg_hdr(m, SIP_HDR_SUBJECT, NULL);
	g_assert_nonnull(h);
	g_assert_cmpuint(h->value.l, ==, 0);
	g_assert_cmpuint(sip_msg_hdr_count(m, SIP_HDR_VIA, NULL), ==, 2);
	sip_msg_unref(m);
}

static void test_torture_fields(void)
{
	sip_msg *m;
	sip_pl v;

	/* 3.1.1.9: the user part holds ';' */
	m = parse_ok("rfc4475/3.1.1.9-semiuri.dat");
	assert_pl(m->ruri.user, "user;par=u%40example.net");
	{
		char buf[64];
		size_t n;

		g_assert_cmpint(sip_uri_unescape(m->ruri.user, buf, sizeof(buf), &n), ==, 0);
		g_assert_cmpmem(buf, n, "user;par=u@example.net", 22);
	}
	assert_pl(m->ruri.host, "example.com");
	g_assert_cmpuint(m->ruri.params.l, ==, 0);
	sip_msg_unref(m);

	/* 3.1.1.8: the trailing INVITE is ignored */
	m = parse_ok("rfc4475/3.1.1.8-dblreq.dat");
	g_assert_cmpint(m->method, ==, SIP_METHOD_REGISTER);
	g_assert_cmpint(m->content_length, ==, 0);
	g_assert_cmpuint(m->body.l, ==, 0);
	g_assert_cmpuint(m->len, >, 600);
	sip_msg_unref(m);

	/* 3.1.1.11: binary body framed by Content-Length */
	m = parse_ok("rfc4475/3.1.1.11-mpart01.dat");
	g_assert_cmpint(m->content_length, ==, 553);
	g_assert_cmpuint(m->body.l, ==, 553);
	g_assert_nonnull(memchr(m->body.p, 0, m->body.l));
	g_assert_true(g_str_has_prefix(g_strndup_tmp(m->content_type), "multipart/mixed"));
	sip_msg_unref(m);

	/* 3.1.1.2: extension method and an odd user/password */
	m = parse_ok("rfc4475/3.1.1.2-intmeth.dat");
	g_assert_cmpint(m->method, ==, SIP_METHOD_UNKNOWN);
	assert_pl(m->method_pl, "!interesting-Method0123456789_*+`.%indeed'~");
	assert_pl(m->ruri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	assert_pl(m->ruri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
	assert_pl(m->via[0].branch, "z9hG4bK-.!%66*_+`'~");
	sip_msg_unref(m);

	/* 3.1.1.4: two Contacts that differ only by escaped NULs */
	m = parse_ok("rfc4475/3.1.1.4-escnull.dat");
	g_assert_cmpuint(m->n_contact, ==, 2);
	g_assert_cmpint(sip_uri_cmp(&m->contact[0].addr.uri, &m->contact[1].addr.uri), !=, 0);
	sip_msg_unref(m);

	/* 3.1.1.10: five Via transports, one unknown */
	m = parse_ok("rfc4475/3.1.1.10-transports.dat");
	g_assert_cmpuint(m->n_via, ==, 5);
	assert_pl(m->via[1].transport, "SCTP");
	assert_pl(m->via[3].transport, "UNKNOWN");
	assert_pl(m->via[4].host, "t5.example.com");
	sip_msg_unref(m);

	/* 3.1.1.12 / 13: responses with odd and empty reasons */
	m = parse_ok("rfc4475/3.1.1.12-unreason.dat");
	g_assert_false(m->is_request);
	g_assert_cmpuint(m->status, ==, 200);
	g_assert_true(g_str_has_prefix(g_strndup_tmp(m->reason), "= 2**3 * 5**2 "));
	sip_msg_unref(m);
	m = parse_ok("rfc4475/3.1.1.13-noreason.dat");
	g_assert_cmpuint(m->status, ==, 100);
	g_assert_cmpuint(m->reason.l, ==, 0);
	sip_msg_unref(m);

	/* 3.1.1.7: 34 Via values, long params */
	m = parse_ok("rfc4475/3.1.1.7-longreq.dat");
	g_assert_cmpuint(m->n_via, ==, 34);
	g_assert_true(sip_uri_param(&m->to.uri, "unknownparam1", &v));
	g_assert_cmpuint(m->to.uri.port, ==, 6000);
	sip_msg_unref(m);

	/* 3.3.2: unknown Request-URI scheme is parsed as text */
	m = parse_ok("rfc4475/3.3.2-unkscm.dat");
	g_assert_false(m->ruri_parsed);
	g_assert_true(g_str_has_prefix(g_strndup_tmp(m->ruri_pl), "nobodyKnowsThisScheme:"));
	sip_msg_unref(m);

	/* 3.3.12 / 13: contact-param vs url-param */
	m = parse_ok("rfc4475/3.3.12-cparam01.dat");
	g_assert_true(sip_param_get(m->contact[0].addr.params, "unknownparam", NULL));
	g_assert_false(sip_uri_param(&m->contact[0].addr.uri, "unknownparam", NULL));
	sip_msg_unref(m);
	m = parse_ok("rfc4475/3.3.13-cparam02.dat");
	g_assert_false(sip_param_get(m->contact[0].addr.params, "unknownparam", NULL));
	g_assert_true(sip_uri_param(&m->contact[0].addr.uri, "unknownparam", NULL));
	sip_msg_unref(m);

	/* 3.3.5: option tags reachable as lists */
	m = parse_ok("rfc4475/3.3.5-bext01.dat");
	g_assert_true(sip_msg_has_token(m, SIP_HDR_REQUIRE, "nothingSupportsThisEither") &&
		      sip_msg_has_token(m, SIP_HDR_PROXY_REQUIRE, "noProxiesSupportThis"));
	sip_msg_unref(m);

	/* 3.4.1: RFC 2543 style, no Content-Length: body is the rest */
	m = parse_ok("rfc4475/3.4.1-inv2543.dat");
	g_assert_cmpint(m->max_forwards, ==, -1);
	g_assert_cmpint(m->content_length, ==, -1);
	g_assert_cmpuint(m->body.l, >, 0);
	g_assert_true((const char *)m->body.p + m->body.l == m->buf + m->len);
	g_assert_false(sip_pl_isset(m->from.tag));
	sip_msg_unref(m);

	/* 3.2.1: a bare magic cookie as branch parses; the transaction
	 * layer decides what to do with it */
	m = parse_ok("rfc4475/3.2.1-badbranch.dat");
	assert_pl(m->via[0].branch, "z9hG4bK");
	sip_msg_unref(m);

	/* 3.1.2.15 with the final CRLF some copies add: still a bad From */
	{
		GBytes *b = load("rfc4475/variants/3.1.2.15-baddn.with-final-CRLF.dat");
		gsize len;
		const char *p = g_bytes_get_data(b, &len);
		sip_parse_err e;

		m = NULL;
		g_assert_cmpint(sip_msg_parse(p, len, &m, &e), ==, EINVAL);
		g_assert_cmpuint(e.status, ==, 400);
		g_assert_cmpstr(e.reason, ==, "Bad From header");
		g_bytes_unref(b);
	}

	/* 3.3.11: Max-Forwards 0 */
	m = parse_ok("rfc4475/3.3.11-zeromf.dat");
	g_assert_cmpint(m->max_forwards, ==, 0);
	sip_msg_unref(m);
}

static void test_err_salvage(void)
{
	GBytes *b = load("rfc4475/3.1.2.4-scalar02.dat");
	gsize len;
	const char *p = g_bytes_get_data(b, &len);
	sip_msg *m = NULL;
	sip_parse_err e;
	sip_buf out;
	sip_msg *resp = NULL;

	g_assert_cmpint(sip_msg_parse(p, len, &m, &e), ==, EINVAL);
	g_assert_cmpuint(e.status, ==, 400);
	g_assert_cmpstr(e.reason, ==, "Bad CSeq header");
	g_assert_true(e.is_request);
	g_assert_cmpuint(e.n_via, ==, 1);
	g_assert_nonnull(e.from.p);
	g_assert_nonnull(e.to.p);
	g_assert_nonnull(e.call_id.p);
	g_assert_nonnull(e.cseq.p);
	/* Slices point into the caller's buffer. */
	g_assert_true(e.call_id.p >= p && e.call_id.p < p + len);
	/* ...and a 400 can be built from them and parsed back. */
	sip_buf_init(&out, 0);
	g_assert_cmpint(sip_build_error_response(&out, &e, "abc"), ==, 0);
	if (sip_msg_parse(out.p, out.len, &resp, NULL)) {
		/* The CSeq copied is the broken one, so the 400 itself does
		 * not parse back; check the text instead. */
		g_assert_true(g_str_has_prefix(out.p, "SIP/2.0 400 Bad CSeq header\r\n"));
	}
	g_assert_nonnull(strstr(out.p, "\r\nCall-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\r\n"));
	g_assert_nonnull(strstr(out.p, ";tag=abc\r\n"));
	sip_msg_unref(resp);
	sip_buf_free(&out);
	g_bytes_unref(b);
}

static void test_rfc5118(void)
{
	static const char *const good[] = {
		"4.1-ipv6-good", "4.3-port-ambiguous", "4.4-port-unambiguous",
		"4.5-via-received-param-no-delim", "4.5-via-received-param-with-delim",
		"4.6-ipv6-in-sdp", "4.7-mult-ip-in-header", "4.8-mult-ip-in-sdp",
		"4.9-ipv4-mapped-ipv6", "4.10-ipv6-bug-abnf-3-colons",
		"4.10-ipv6-correct-abnf-2-colons",
	};
	sip_msg *m;
	char *rel;

	for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
		rel = g_strdup_printf("rfc5118/wire/%s.crlf.dat", good[i]);
		m = parse_ok(rel);
		g_assert_cmpuint(m->n_via, >=, 1);
		sip_msg_unref(m);
		g_free(rel);
	}
	{
		GBytes *b = load("rfc5118/wire/4.2-ipv6-bad.crlf.dat");
		gsize len;
		const char *p = g_bytes_get_data(b, &len);
		sip_parse_err e;

		m = NULL;
		g_assert_cmpint(sip_msg_parse(p, len, &m, &e), !=, 0);
		g_assert_cmpuint(e.status, ==, 400);
		g_bytes_unref(b);
	}
	m = parse_ok("rfc5118/wire/4.1-ipv6-good.crlf.dat");
	g_assert_true(m->ruri.host_ipv6);
	assert_pl(m->ruri.host, "2001:db8::10");
	sip_msg_unref(m);
	m = parse_ok("rfc5118/wire/4.3-port-ambiguous.crlf.dat");
	assert_pl(m->ruri.host, "2001:db8::10:5070");
	g_assert_cmpuint(m->ruri.port, ==, 0);
	sip_msg_unref(m);
	m = parse_ok("rfc5118/wire/4.4-port-unambiguous.crlf.dat");
	assert_pl(m->ruri.host, "2001:db8::10");
	g_assert_cmpuint(m->ruri.port, ==, 5070);
	sip_msg_unref(m);
	m = parse_ok("rfc5118/wire/4.5-via-received-param-with-delim.crlf.dat");
	assert_pl(m->via[0].received, "[2001:db8::9:255]");
	sip_msg_unref(m);
	m = parse_ok("rfc5118/wire/4.5-via-received-param-no-delim.crlf.dat");
	assert_pl(m->via[0].received, "2001:db8::9:255");
	sip_msg_unref(m);
	m = parse_ok("rfc5118/wire/4.7-mult-ip-in-header.crlf.dat");
	g_assert_true(m->via[0].host_ipv6);
	g_assert_false(m->via[1].host_ipv6);
	sip_msg_unref(m);
	m = parse_ok("rfc5118/wire/4.9-ipv4-mapped-ipv6.crlf.dat");
	assert_pl(m->via[0].host, "::ffff:192.0.2.10");
	g_assert_true(m->contact[0].addr.uri.host_ipv6);
	sip_msg_unref(m);
}

static void test_jssip(void)
{
	sip_msg *m = parse_ok("sipws/jssip/02-INVITE.sip");

	g_assert_cmpint(m->method, ==, SIP_METHOD_INVITE);
	assert_pl(m->via[0].transport, "WS");
	g_assert_true(g_str_has_suffix(g_strndup_tmp(m->via[0].host), ".invalid"));
	g_assert_cmpuint(m->via[0].port, ==, 0);
	assert_pl(m->from.display, "Alice");
	g_assert_true(sip_pl_isset(m->from.tag));
	g_assert_false(sip_pl_isset(m->to.tag));
	assert_pl(m->contact[0].addr.uri.transport, "ws");
	g_assert_true(m->contact[0].addr.uri.ob);
	g_assert_cmpint(m->content_length, ==, (gint64)m->body.l);
	g_assert_cmpuint(m->body.l, ==, 1711);
	g_assert_true(sip_msg_has_token(m, SIP_HDR_SUPPORTED, "outbound"));
	g_assert_true(sip_msg_has_token(m, SIP_HDR_ALLOW, "refer"));
	g_assert_false(sip_msg_has_token(m, SIP_HDR_SUPPORTED, "100rel"));
	sip_msg_unref(m);

	m = parse_ok("sipws/jssip/01-REGISTER.sip");
	g_assert_cmpint(m->method, ==, SIP_METHOD_REGISTER);
	g_assert_cmpuint(m->n_contact, ==, 1);
	g_assert_true(sip_pl_isset(m->contact[0].instance));
	g_assert_cmpint(m->contact[0].reg_id, ==, 1);
	g_assert_cmpint(m->contact[0].expires, ==, 600);
	sip_msg_unref(m);

	m = parse_ok("sipws/jssip/06-REGISTER.sip");
	g_assert_cmpint(m->contact[0].expires, ==, 0);
	g_assert_cmpint(m->expires, ==, 0);
	sip_msg_unref(m);

	for (int i = 3; i <= 5; i += 2) {
		char *rel = g_strdup_printf("sipws/jssip/0%d-ACK.sip", i);

		m = parse_ok(rel);
		g_assert_cmpint(m->method, ==, SIP_METHOD_ACK);
		g_assert_true(sip_pl_isset(m->to.tag));
		sip_msg_unref(m);
		g_free(rel);
	}
}

static void test_iter(void)
{
	static const char msg[] =
		"OPTIONS sip:a@b SIP/2.0\r\n"
		"Via: SIP/2.0/UDP h1;branch=z9hG4bK1, SIP/2.0/TCP [::1]:5070;branch=z9hG4bK2;rport=99\r\n"
		"v: SIP/2.0/UDP h3;branch=z9hG4bK3;received=1.2.3.4;rport\r\n"
		"f: <sip:x@y>;tag=1\r\nt: sip:a@b\r\ni: abc\r\nCSeq: 1 OPTIONS\r\n"
		"k: timer, 100rel\r\nSupported: path\r\n"
		"X-Foo: \"a,b\", c\r\nx-foo: d\r\n"
		"Authorization: Digest username=\"a\", realm=\"b\"\r\n"
		"Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\n"
		"o: refer;id=5\r\nr: <sip:c@d?Replaces=x%3By>\r\nReplaces: abc;to-tag=1;from-tag=2\r\n"
		"Content-Length: 0\r\n\r\n";
	sip_msg *m = NULL;
	sip_hdr_iter it;
	sip_pl v;
	int n = 0;

	g_assert_cmpint(sip_msg_parse(msg, sizeof(msg) - 1, &m, NULL), ==, 0);
	g_assert_cmpuint(m->n_via, ==, 3);
	g_assert_true(m->via[1].host_ipv6);
	assert_pl(m->via[1].host, "::1");
	assert_pl(m->via[1].sent_by, "[::1]:5070");
	g_assert_cmpuint(m->via[1].port, ==, 5070);
	g_assert_true(m->via[1].rport);
	g_assert_cmpuint(m->via[1].rport_val, ==, 99);
	g_assert_true(m->via[2].rport);
	g_assert_cmpuint(m->via[2].rport_val, ==, 0);
	assert_pl(m->via[2].received, "1.2.3.4");
	g_assert_cmpuint(m->n_record_route, ==, 2);
	assert_pl(m->record_route[1].uri.host, "p2");

	assert_pl(m->event, "refer;id=5");
	assert_pl(m->refer_to, "<sip:c@d?Replaces=x%3By>");
	assert_pl(m->replaces, "abc;to-tag=1;from-tag=2");
	{
		sip_addr a;

		g_assert_cmpint(sip_addr_parse(m->refer_to, &a), ==, 0);
		g_assert_true(sip_uri_header(&a.uri, "replaces", &v));
		assert_pl(v, "x%3By");
	}

	sip_hdr_iter_init(&it, m, SIP_HDR_SUPPORTED, NULL, true);
	while (sip_hdr_iter_next(&it, &v))
		n++;
	g_assert_cmpint(n, ==, 3);
	g_assert_true(sip_msg_has_token(m, SIP_HDR_SUPPORTED, "100REL"));

	sip_hdr_iter_init(&it, m, SIP_HDR_OTHER, "X-FOO", true);
	g_assert_true(sip_hdr_iter_next(&it, &v));
	assert_pl(v, "\"a,b\"");
	g_assert_true(sip_hdr_iter_next(&it, &v));
	assert_pl(v, "c");
	g_assert_true(sip_hdr_iter_next(&it, &v));
	assert_pl(v, "d");
	g_assert_false(sip_hdr_iter_next(&it, &v));

	/* Unsplit: Authorization stays whole. */
	sip_hdr_iter_init(&it, m, SIP_HDR_AUTHORIZATION, NULL, false);
	g_assert_true(sip_hdr_iter_next(&it, &v));
	assert_pl(v, "Digest username=\"a\", realm=\"b\"");
	g_assert_false(sip_hdr_iter_next(&it, &v));

	g_assert_cmpint(sip_hdr_id_from_pl(SIP_PL("I")), ==, SIP_HDR_CALL_ID);
	g_assert_cmpint(sip_hdr_id_from_pl(SIP_PL("call-id")), ==, SIP_HDR_CALL_ID);
	g_assert_cmpint(sip_hdr_id_from_pl(SIP_PL("x")), ==, SIP_HDR_SESSION_EXPIRES);
	g_assert_cmpint(sip_hdr_id_from_pl(SIP_PL("Q")), ==, SIP_HDR_OTHER);
	g_assert_cmpstr(sip_hdr_name(SIP_HDR_RECORD_ROUTE), ==, "Record-Route");
	g_assert_cmpint(sip_method_from_pl(SIP_PL("invite")), ==, SIP_METHOD_UNKNOWN);
	g_assert_cmpstr(sip_method_name(SIP_METHOD_SUBSCRIBE), ==, "SUBSCRIBE");

	g_assert_true(sip_msg_ref(m) == m);
	g_assert_null(sip_msg_unref(m));
	g_assert_cmpint(m->method, ==, SIP_METHOD_OPTIONS);	/* still alive */
	sip_msg_unref(m);
}

static void test_bad_inputs(void)
{
	static const struct {
		const char *text;
		unsigned status;
		const char *reason;
	} bad[] = {
		{ "", 0, "No start line" },
		{ "\r\n\r\n", 0, "No start line" },
		{ "INVITE sip:a@b SIP/2.0\r\n", 400, "Missing end of headers" },
		{ "INVITE sip:a@b SIP/2.0\r\n f: x\r\n\r\n", 400, "Continuation without header" },
		{ "INVITE sip:a@b SIP/2.0\r\nbad line\r\n\r\n", 400, "Malformed header line" },
		{ "SIP/2.0 200 OK\r\n\r\n", 0, "Missing Via header" },
		{ "INVITE sip:a@b SIP/2.0\r\nCall-ID: a b\r\n\r\n", 400, "Bad Call-ID header" },
		{ "INVITE sip:a@b SIP/2.0\r\nMax-Forwards: 256\r\n\r\n", 400, "Bad Max-Forwards header" },
		{ "INVITE sip:a@b SIP/2.0\r\nContact: *, <sip:a@b>\r\nVia: SIP/2.0/UDP h\r\n"
		  "f: <sip:a@b>\r\nt: <sip:a@b>\r\ni: x\r\nCSeq: 1 INVITE\r\n\r\n", 400, "Bad Contact header" },
		{ "INVITE sip:a@b:99999 SIP/2.0\r\n\r\n", 400, "Bad Request-URI" },
		{ "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;rport=70000\r\n\r\n", 400, "Bad Via header" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		sip_msg *m = NULL;
		sip_parse_err e;
		int rc = sip_msg_parse(bad[i].text, strlen(bad[i].text), &m, &e);

		g_test_message("case %zu: rc=%d %u %s", i, rc, e.status, e.reason);
		g_assert_cmpint(rc, !=, 0);
		g_assert_null(m);
		g_assert_cmpuint(e.status, ==, bad[i].status);
		g_assert_cmpstr(e.reason, ==, bad[i].reason);
	}
}

static void test_caps(void)
{
	GString *s = g_string_new("OPTIONS sip:a@b SIP/2.0\r\n");
	sip_msg *m = NULL;
	sip_parse_err e;
	char *big;

	for (int i = 0; i <= SIP_MSG_MAX_HDRS; i++)
		g_string_append_printf(s, "X-H%d: v\r\n", i);
	g_string_append(s, "\r\n");
	g_assert_cmpint(sip_msg_parse(s->str, s->len, &m, &e), ==, EMSGSIZE);
	g_assert_cmpuint(e.status, ==, 513);

	g_string_assign(s, "OPTIONS sip:a@b SIP/2.0\r\nX: ");
	for (int i = 0; i < SIP_MSG_MAX_LINE; i++)
		g_string_append_c(s, 'a');
	g_string_append(s, "\r\n\r\n");
	g_assert_cmpint(sip_msg_parse(s->str, s->len, &m, &e), ==, EMSGSIZE);
	g_assert_cmpstr(e.reason, ==, "Header line too long");

	big = g_malloc0(SIP_MSG_MAX_LEN + 1);
	g_assert_cmpint(sip_msg_parse(big, SIP_MSG_MAX_LEN + 1, &m, &e), ==, EMSGSIZE);
	g_assert_cmpuint(e.status, ==, 513);
	g_free(big);
	g_assert_null(m);
	g_string_free(s, TRUE);
}

/* Every accepted message cut at every length: no crash, and when it
 * carries a Content-Length, no cut shorter than head + body is accepted. */
static const char *const all_valid[] = {
	"rfc4475/3.1.1.1-wsinv.dat", "rfc4475/3.1.1.2-intmeth.dat",
	"rfc4475/3.1.1.3-esc01.dat", "rfc4475/3.1.1.4-escnull.dat",
	"rfc4475/3.1.1.5-esc02.dat", "rfc4475/3.1.1.6-lwsdisp.dat",
	"rfc4475/3.1.1.7-longreq.dat", "rfc4475/3.1.1.8-dblreq.dat",
	"rfc4475/3.1.1.9-semiuri.dat", "rfc4475/3.1.1.10-transports.dat",
	"rfc4475/3.1.1.11-mpart01.dat", "rfc4475/3.1.1.12-unreason.dat",
	"rfc4475/3.1.1.13-noreason.dat", "rfc4475/3.3.14-regescrt.dat",
	"rfc4475/3.4.1-inv2543.dat", "rfc5118/wire/4.9-ipv4-mapped-ipv6.crlf.dat",
	"sipws/jssip/01-REGISTER.sip", "sipws/jssip/02-INVITE.sip",
	"sipws/jssip/03-ACK.sip",
};

static void test_cut_everywhere(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(all_valid); i++) {
		GBytes *b = load(all_valid[i]);
		gsize len;
		const char *p = g_bytes_get_data(b, &len);
		sip_msg *m = NULL;
		size_t full;

		g_assert_cmpint(sip_msg_parse(p, len, &m, NULL), ==, 0);
		full = m->content_length >= 0 ? (size_t)(m->body.p - m->buf) + m->body.l : 0;
		sip_msg_unref(m);
		for (size_t cut = 0; cut < len; cut++) {
			/* A heap copy of exactly cut bytes, so ASan sees overreads. */
			char *c = g_memdup2(p, cut);
			int rc = sip_msg_parse(c, cut, &m, NULL);

			if (rc == 0) {
				g_assert_true(full == 0 || cut >= full);
				sip_msg_unref(m);
			} else {
				g_assert_null(m);
			}
			g_free(c);
		}
		g_bytes_unref(b);
	}
}

/* The message ends exactly where a PROT_NONE page starts. */
static void test_guard_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t span = 16 * (size_t)pg;
	char *area = mmap(NULL, span + (size_t)pg, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	g_assert_true(area != MAP_FAILED);
	g_assert_cmpint(mprotect(area + span, (size_t)pg, PROT_NONE), ==, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(all_valid); i++) {
		GBytes *b = load(all_valid[i]);
		gsize len;
		const char *p = g_bytes_get_data(b, &len);

		g_assert_cmpuint(len, <=, span);
		for (size_t cut = 0; cut <= len; cut++) {
			char *at = area + span - cut;
			sip_msg *m = NULL;

			memcpy(at, p, cut);
			if (sip_msg_parse(at, cut, &m, NULL) == 0)
				sip_msg_unref(m);
		}
		g_bytes_unref(b);
	}
	munmap(area, span + (size_t)pg);
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_msg/torture_manifest", test_torture_manifest);
	g_test_add_func("/sip_msg/wsinv_fields", test_wsinv_fields);
	g_test_add_func("/sip_msg/torture_fields", test_torture_fields);
	g_test_add_func("/sip_msg/err_salvage", test_err_salvage);
	g_test_add_func("/sip_msg/rfc5118", test_rfc5118);
	g_test_add_func("/sip_msg/jssip", test_jssip);
	g_test_add_func("/sip_msg/iter", test_iter);
	g_test_add_func("/sip_msg/bad_inputs", test_bad_inputs);
	g_test_add_func("/sip_msg/caps", test_caps);
	g_test_add_func("/sip_msg/cut_everywhere", test_cut_everywhere);
	g_test_add_func("/sip_msg/guard_page", test_guard_page);
	rc = g_test_run();
	if (tmp_strs)
		g_ptr_array_free(tmp_strs, TRUE);
	return rc;
}
