/* Unit tests for sip_build: requests and responses parse back right. */
#include <glib.h>
#include <string.h>

#include "sip/sip_build.h"

static char *data_path(const char *rel)
{
	const char *src = g_getenv("JN_SRCDIR");

	return g_build_filename(src ? src : JN_SRCDIR, "tests", "data", rel, NULL);
}

static sip_msg *parse_file(const char *rel)
{
	char *path = data_path(rel), *text;
	gsize len;
	sip_msg *m = NULL;

	g_assert_true(g_file_get_contents(path, &text, &len, NULL));
	g_assert_cmpint(sip_msg_parse(text, len, &m, NULL), ==, 0);
	g_free(text);
	g_free(path);
	return m;
}

static sip_msg *reparse(const sip_buf *b)
{
	sip_msg *m = NULL;
	sip_parse_err e;

	if (sip_msg_parse(b->p, b->len, &m, &e))
		g_error("built message does not parse: %s\n%s", e.reason, b->p);
	return m;
}

static void test_request(void)
{
	sip_req_opts o = {
		.method = SIP_METHOD_INVITE,
		.ruri = "sip:bob@example.com",
		.via_transport = "TCP",
		.via_host = "[2001:db8::1]",
		.via_port = 5070,
		.rport = true,
		.from = "\"Alice\" <sip:alice@example.com>;tag=abc",
		.to = "<sip:bob@example.com>",
		.call_id = "cid1@host",
		.cseq = 42,
		.contact = "<sip:alice@[2001:db8::1]:5070;transport=tcp>",
		.extra = "Supported: outbound\r\n",
		.content_type = "application/sdp",
		.body = SIP_PL("v=0\r\n"),
	};
	char branch[SIP_BRANCH_LEN + 1] = "";
	sip_buf b;
	sip_msg *m;

	sip_buf_init(&b, 0);
	g_assert_cmpint(sip_build_request(&b, &o, branch), ==, 0);
	g_assert_cmpuint(strlen(branch), ==, SIP_BRANCH_LEN);
	g_assert_true(g_str_has_prefix(branch, "z9hG4bK"));
	m = reparse(&b);
	g_assert_cmpint(m->method, ==, SIP_METHOD_INVITE);
	g_assert_true(sip_pl_eq_str(m->ruri.user, "bob"));
	g_assert_cmpuint(m->n_via, ==, 1);
	g_assert_true(sip_pl_eq_str(m->via[0].transport, "TCP"));
	g_assert_true(m->via[0].host_ipv6);
	g_assert_cmpuint(m->via[0].port, ==, 5070);
	g_assert_true(m->via[0].rport);
	g_assert_true(sip_pl_eq_str(m->via[0].branch, branch));
	g_assert_cmpint(m->max_forwards, ==, 70);
	g_assert_true(sip_pl_eq_str(m->from.tag, "abc"));
	g_assert_true(sip_pl_eq_str(m->call_id, "cid1@host"));
	g_assert_cmpuint(m->cseq.num, ==, 42);
	g_assert_cmpint(m->cseq.method, ==, SIP_METHOD_INVITE);
	g_assert_cmpint(m->content_length, ==, 5);
	g_assert_true(sip_pl_eq_str(m->body, "v=0\r\n"));
	g_assert_true(sip_pl_eq_str(m->content_type, "application/sdp"));
	g_assert_true(sip_msg_has_token(m, SIP_HDR_SUPPORTED, "outbound"));
	sip_msg_unref(m);

	/* ACK with a given branch, no body: no Content-Type */
	sip_buf_reset(&b);
	o.method = SIP_METHOD_ACK;
	o.branch = "z9hG4bKfixed";
	o.body = SIP_PL_NULL;
	o.max_forwards = 10;
	g_assert_cmpint(sip_build_request(&b, &o, NULL), ==, 0);
	m = reparse(&b);
	g_assert_cmpint(m->cseq.method, ==, SIP_METHOD_ACK);
	g_assert_true(sip_pl_eq_str(m->via[0].branch, "z9hG4bKfixed"));
	g_assert_cmpint(m->max_forwards, ==, 10);
	g_assert_cmpint(m->content_length, ==, 0);
	g_assert_false(sip_pl_isset(m->content_type));
	sip_msg_unref(m);

	/* extension method */
	sip_buf_reset(&b);
	o.method = SIP_METHOD_UNKNOWN;
	o.method_name = "FOO";
	g_assert_cmpint(sip_build_request(&b, &o, NULL), ==, 0);
	m = reparse(&b);
	g_assert_true(sip_pl_eq_str(m->method_pl, "FOO"));
	sip_msg_unref(m);

	o.from = NULL;
	g_assert_cmpint(sip_build_request(&b, &o, NULL), ==, EINVAL);
	sip_buf_free(&b);
}

static void test_response(void)
{
	sip_msg *req = parse_file("rfc4475/3.1.1.1-wsinv.dat"), *r;
	sip_resp_opts o = { .to_tag = "xyz" };
	sip_buf b;

	sip_buf_init(&b, 0);
	/* wsinv's To already has a tag: it is kept, not doubled */
	g_assert_cmpint(sip_build_response(&b, req, 486, NULL, &o), ==, 0);
	g_assert_true(g_str_has_prefix(b.p, "SIP/2.0 486 Busy Here\r\n"));
	r = reparse(&b);
	g_assert_false(r->is_request);
	g_assert_cmpuint(r->status, ==, 486);
	g_assert_cmpuint(r->n_via, ==, 3);
	for (size_t i = 0; i < 3; i++)
		g_assert_true(sip_pl_eq(r->via[i].branch, req->via[i].branch));
	g_assert_true(sip_pl_eq(r->to.tag, req->to.tag));
	g_assert_true(sip_pl_eq(r->from.tag, req->from.tag));
	g_assert_true(sip_pl_eq(r->call_id, req->call_id));
	g_assert_cmpuint(r->cseq.num, ==, 9);
	g_assert_cmpint(r->content_length, ==, 0);
	sip_msg_unref(r);
	sip_msg_unref(req);

	req = parse_file("sipws/jssip/02-INVITE.sip");
	sip_buf_reset(&b);
	g_assert_cmpint(sip_build_response(&b, req, 100, NULL, &o), ==, 0);
	r = reparse(&b);
	g_assert_false(sip_pl_isset(r->to.tag));	/* no tag on 100 */
	sip_msg_unref(r);

	sip_buf_reset(&b);
	o.extra = "Contact: <sip:j@127.0.0.1;transport=ws>\r\n";
	o.content_type = "application/sdp";
	o.body = SIP_PL("v=0\r\ns=-\r\n");
	g_assert_cmpint(sip_build_response(&b, req, 200, "Fine", &o), ==, 0);
	r = reparse(&b);
	g_assert_true(sip_pl_eq_str(r->reason, "Fine"));
	g_assert_true(sip_pl_eq_str(r->to.tag, "xyz"));
	g_assert_cmpuint(r->n_contact, ==, 1);
	g_assert_cmpint(r->content_length, ==, 10);
	g_assert_true(sip_pl_eq_str(r->body, "v=0\r\ns=-\r\n"));
	g_assert_cmpint(r->cseq.method, ==, SIP_METHOD_INVITE);
	sip_msg_unref(r);

	/* unknown code: a generic phrase */
	sip_buf_reset(&b);
	g_assert_cmpint(sip_build_response(&b, req, 499, NULL, NULL), ==, 0);
	g_assert_true(g_str_has_prefix(b.p, "SIP/2.0 499 Error\r\n"));
	sip_msg_unref(req);
	sip_buf_free(&b);
}

static void test_record_route(void)
{
	static const char inv[] =
		"INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP p;branch=z9hG4bK1\r\n"
		"Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\nRecord-Route: <sip:p3;lr>\r\n"
		"f: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\ni: c\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n";
	sip_msg *req = NULL, *r;
	sip_resp_opts o = { .to_tag = "t", .record_route = true };
	sip_buf b;

	g_assert_cmpint(sip_msg_parse(inv, sizeof(inv) - 1, &req, NULL), ==, 0);
	sip_buf_init(&b, 0);
	g_assert_cmpint(sip_build_response(&b, req, 200, NULL, &o), ==, 0);
	r = reparse(&b);
	g_assert_cmpuint(r->n_record_route, ==, 3);
	g_assert_true(sip_pl_eq_str(r->record_route[2].uri.host, "p3"));
	sip_msg_unref(r);
	sip_buf_reset(&b);
	o.record_route = false;
	g_assert_cmpint(sip_build_response(&b, req, 200, NULL, &o), ==, 0);
	r = reparse(&b);
	g_assert_cmpuint(r->n_record_route, ==, 0);
	sip_msg_unref(r);
	sip_msg_unref(req);
	sip_buf_free(&b);
}

static void test_buf(void)
{
	sip_buf b;
	char tok[9];

	sip_buf_init(&b, 16);
	sip_buf_put_u32(&b, 0);
	sip_buf_put(&b, " ", 1);
	sip_buf_put_u32(&b, 4294967295u);
	g_assert_cmpstr(b.p, ==, "0 4294967295");
	g_assert_cmpint(b.err, ==, 0);
	sip_buf_puts(&b, "12345");	/* 17 > 16 */
	g_assert_cmpint(b.err, ==, ENOSPC);
	sip_buf_puts(&b, "x");		/* sticky */
	g_assert_cmpint(b.err, ==, ENOSPC);
	g_assert_cmpuint(b.len, ==, 12);
	sip_buf_reset(&b);
	sip_buf_printf(&b, "%s=%d", "a", 5);
	g_assert_cmpstr(b.p, ==, "a=5");
	sip_buf_free(&b);

	sip_build_token(tok, 8);
	g_assert_cmpuint(strlen(tok), ==, 8);
	g_assert_cmpstr(sip_reason_phrase(404), ==, "Not Found");
	g_assert_cmpstr(sip_reason_phrase(799), ==, "");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_build/request", test_request);
	g_test_add_func("/sip_build/response", test_response);
	g_test_add_func("/sip_build/record_route", test_record_route);
	g_test_add_func("/sip_build/buf", test_buf);
	return g_test_run();
}
