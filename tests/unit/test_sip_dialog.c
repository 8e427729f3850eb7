/* Dialog state (RFC 3261 §12): UAS and UAC creation, route sets, CSeq
 * rules, target refresh, in-dialog request fields, strict routers. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "sip/sip_dialog.h"

static sip_msg *parse(const char *text)
{
	GString *m = g_string_new(NULL);
	for (const char *p = text; *p; p++)
		*p == '\n' ? g_string_append(m, "\r\n") : g_string_append_c(m, *p);
	sip_msg *msg = NULL;
	sip_parse_err e;
	int rc = sip_msg_parse(m->str, m->len, &msg, &e);
	if (rc)
		g_error("parse: %s\n%s", e.reason, text);
	g_string_free(m, TRUE);
	return msg;
}

#define INVITE \
	"INVITE sip:bob@192.0.2.10 SIP/2.0\n" \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKd1\n" \
	"Record-Route: <sip:p1.example;lr>, <sip:198.51.100.2:5070;lr>\n" \
	"Max-Forwards: 70\nFrom: \"A\" <sip:alice@a.example>;tag=ta\nTo: <sip:bob@b.example>\n" \
	"Call-ID: dlg1\nCSeq: 10 INVITE\nContact: <sip:alice@192.0.2.1:5062>\nContent-Length: 0\n\n"

static void test_uas(void)
{
	sip_msg *inv = parse(INVITE);
	sip_dialog *d = sip_dialog_new_uas(inv, "tb");
	g_assert_nonnull(d);
	g_assert_cmpstr(sip_dialog_call_id(d), ==, "dlg1");
	g_assert_cmpstr(sip_dialog_remote_tag(d), ==, "ta");
	g_assert_cmpstr(sip_dialog_remote_target(d), ==, "sip:alice@192.0.2.1:5062");
	/* UAS: the route set is Record-Route as received. */
	g_assert_cmpuint(sip_dialog_route_count(d), ==, 2);
	g_assert_cmpstr(sip_dialog_route(d, 0), ==, "<sip:p1.example;lr>");
	g_assert_cmpstr(sip_dialog_route(d, 1), ==, "<sip:198.51.100.2:5070;lr>");

	sip_req_opts o = { .extra = "X-Extra: 1\r\n" };
	GString *scratch = g_string_new(NULL);
	sip_dialog_fill_request(d, SIP_METHOD_BYE, &o, scratch);
	g_assert_cmpstr(o.ruri, ==, "sip:alice@192.0.2.1:5062"); /* loose router: target stays */
	g_assert_cmpstr(o.from, ==, "<sip:bob@b.example>;tag=tb");
	g_assert_cmpstr(o.to, ==, "<sip:alice@a.example>;tag=ta");
	g_assert_cmpstr(o.extra, ==, "Route: <sip:p1.example;lr>\r\nRoute: <sip:198.51.100.2:5070;lr>\r\nX-Extra: 1\r\n");
	uint32_t c1 = o.cseq;
	sip_dialog_fill_request(d, SIP_METHOD_INFO, &o, scratch);
	g_assert_cmpuint(o.cseq, ==, c1 + 1);
	/* The first route is a name: no next hop without DNS. */
	jn_addr hop;
	g_assert_cmpint(sip_dialog_next_hop(d, &hop), ==, EINVAL);

	/* Their requests: matching, CSeq must grow, re-INVITE refreshes the target. */
	sip_msg *bye = parse("BYE sip:bob@192.0.2.10 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKd2\n"
			     "Max-Forwards: 70\nFrom: <sip:alice@a.example>;tag=ta\nTo: <sip:bob@b.example>;tag=tb\n"
			     "Call-ID: dlg1\nCSeq: 10 BYE\nContent-Length: 0\n\n");
	g_assert_true(sip_dialog_matches(d, bye));
	g_assert_cmpint(sip_dialog_receive(d, bye), ==, EINVAL); /* 10 is not above 10 */
	sip_msg *reinv = parse("INVITE sip:bob@192.0.2.10 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKd3\n"
			       "Max-Forwards: 70\nFrom: <sip:alice@a.example>;tag=ta\nTo: <sip:bob@b.example>;tag=tb\n"
			       "Call-ID: dlg1\nCSeq: 11 INVITE\nContact: <sip:alice@192.0.2.7:5090>\nContent-Length: 0\n\n");
	g_assert_cmpint(sip_dialog_receive(d, reinv), ==, 0);
	g_assert_cmpstr(sip_dialog_remote_target(d), ==, "sip:alice@192.0.2.7:5090");
	sip_msg *other = parse("BYE sip:bob@192.0.2.10 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKd4\n"
			       "Max-Forwards: 70\nFrom: <sip:alice@a.example>;tag=zz\nTo: <sip:bob@b.example>;tag=tb\n"
			       "Call-ID: dlg1\nCSeq: 12 BYE\nContent-Length: 0\n\n");
	g_assert_false(sip_dialog_matches(d, other));

	sip_msg_unref(other);
	sip_msg_unref(reinv);
	sip_msg_unref(bye);
	g_string_free(scratch, TRUE);
	sip_dialog_free(d);
	/* No From tag or no Contact: no dialog. */
	sip_msg *bad = parse("INVITE sip:b@192.0.2.10 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKd5\n"
			     "Max-Forwards: 70\nFrom: <sip:a@a>\nTo: <sip:b@b>\nCall-ID: x\nCSeq: 1 INVITE\n"
			     "Content-Length: 0\n\n");
	g_assert_null(sip_dialog_new_uas(bad, "t"));
	sip_msg_unref(bad);
	sip_msg_unref(inv);
}

static void test_uac_strict(void)
{
	sip_msg *inv = parse(INVITE);
	/* UAC: the route set is the 2xx's Record-Route reversed; here the
	 * nearest hop (last in the list) is a strict router. */
	sip_msg *ok = parse("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKd1\n"
			    "Record-Route: <sip:far.example;lr>, <sip:198.51.100.9:5080>\n"
			    "From: \"A\" <sip:alice@a.example>;tag=ta\nTo: <sip:bob@b.example>;tag=tb\n"
			    "Call-ID: dlg1\nCSeq: 10 INVITE\nContact: <sip:bob@192.0.2.10:5066>\nContent-Length: 0\n\n");
	sip_dialog *d = sip_dialog_new_uac(inv, ok);
	g_assert_nonnull(d);
	g_assert_cmpstr(sip_dialog_local_tag(d), ==, "ta");
	g_assert_cmpstr(sip_dialog_remote_tag(d), ==, "tb");
	g_assert_cmpstr(sip_dialog_route(d, 0), ==, "<sip:198.51.100.9:5080>");
	g_assert_cmpstr(sip_dialog_route(d, 1), ==, "<sip:far.example;lr>");
	jn_addr hop;
	char buf[64];
	g_assert_cmpint(sip_dialog_next_hop(d, &hop), ==, 0);
	g_assert_cmpstr(jn_addr_str(&hop, buf, sizeof buf), ==, "198.51.100.9:5080");

	sip_req_opts o = { 0 };
	GString *scratch = g_string_new(NULL);
	/* ACK reuses the INVITE's CSeq number (the caller's). */
	o.cseq = 10;
	sip_dialog_fill_request(d, SIP_METHOD_ACK, &o, scratch);
	g_assert_cmpuint(o.cseq, ==, 10);
	g_assert_cmpstr(o.ruri, ==, "sip:198.51.100.9:5080");
	g_assert_cmpstr(o.extra, ==, "Route: <sip:far.example;lr>\r\nRoute: <sip:bob@192.0.2.10:5066>\r\n");
	g_assert_cmpstr(o.from, ==, "<sip:alice@a.example>;tag=ta");
	sip_dialog_fill_request(d, SIP_METHOD_BYE, &o, scratch);
	g_assert_cmpuint(o.cseq, ==, 11);
	g_string_free(scratch, TRUE);
	sip_dialog_free(d);
	sip_msg_unref(ok);
	sip_msg_unref(inv);
}

/* Builds the request o describes (a Via filled in) and parses it back. */
static sip_msg *build_parse(sip_req_opts *o)
{
	sip_buf b;
	sip_buf_init(&b, 0);
	o->via_transport = "UDP";
	o->via_host = "192.0.2.10";
	o->via_port = 5060;
	g_assert_cmpint(sip_build_request(&b, o, NULL), ==, 0);
	sip_msg *m = NULL;
	g_assert_cmpint(sip_msg_parse(b.p, b.len, &m, NULL), ==, 0);
	sip_buf_free(&b);
	return m;
}

/* What a B2BUA sends in a dialog: INFO (DTMF), UPDATE (hold), REFER and
 * NOTIFY (transfer), each with the next CSeq, the route set, the remote
 * target; a Contact in UPDATE, REFER and NOTIFY; none in INFO. */
static void test_b2bua_requests(void)
{
	sip_msg *inv = parse(INVITE);
	sip_dialog *d = sip_dialog_new_uas(inv, "tb");
	sip_dialog_set_local_contact(d, "<sip:junction@192.0.2.10:5060>");
	GString *scratch = g_string_new(NULL);
	const struct {
		sip_method m;
		const char *extra, *ctype, *body;
		bool contact;
	} reqs[] = {
		{ SIP_METHOD_INFO, NULL, "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", false },
		{ SIP_METHOD_UPDATE, NULL, "application/sdp", "v=0\r\n", true },
		{ SIP_METHOD_REFER, "Refer-To: <sip:carol@192.0.2.30>\r\nReferred-By: <sip:bob@b.example>\r\n", NULL, NULL,
		  true },
		{ SIP_METHOD_NOTIFY, "Event: refer;id=7\r\nSubscription-State: active;expires=60\r\n",
		  "message/sipfrag;version=2.0", "SIP/2.0 100 Trying\r\n", true },
		{ SIP_METHOD_BYE, NULL, NULL, NULL, false },
	};
	uint32_t last = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(reqs); i++) {
		sip_req_opts o = { .extra = reqs[i].extra, .content_type = reqs[i].ctype,
				   .body = sip_pl_cstr(reqs[i].body) };
		sip_dialog_fill_request(d, reqs[i].m, &o, scratch);
		sip_msg *m = build_parse(&o);
		g_assert_cmpint(m->method, ==, reqs[i].m);
		g_assert_cmpint(m->cseq.method, ==, reqs[i].m);
		if (i > 0)
			g_assert_cmpuint(m->cseq.num, ==, last + 1);
		last = m->cseq.num;
		g_assert_true(sip_pl_eq_str(m->ruri_pl, "sip:alice@192.0.2.1:5062"));
		g_assert_true(sip_pl_eq_str(m->call_id, "dlg1"));
		g_assert_true(sip_pl_eq_str(m->from.tag, "tb"));
		g_assert_true(sip_pl_eq_str(m->to.tag, "ta"));
		g_assert_cmpuint(m->n_route, ==, 2);
		g_assert_true(sip_pl_eq_str(m->route[0].uri_pl, "sip:p1.example;lr"));
		g_assert_true(sip_pl_eq_str(m->route[1].uri_pl, "sip:198.51.100.2:5070;lr"));
		g_assert_cmpuint(m->n_contact, ==, reqs[i].contact ? 1 : 0);
		if (reqs[i].contact)
			g_assert_true(sip_pl_eq_str(m->contact[0].addr.uri_pl, "sip:junction@192.0.2.10:5060"));
		if (reqs[i].body)
			g_assert_true(sip_pl_eq_str(m->body, reqs[i].body));
		if (reqs[i].m == SIP_METHOD_REFER)
			g_assert_true(sip_pl_eq_str(m->refer_to, "<sip:carol@192.0.2.30>"));
		if (reqs[i].m == SIP_METHOD_NOTIFY) {
			g_assert_true(sip_pl_eq_str(m->event, "refer;id=7"));
			g_assert_nonnull(sip_msg_hdr(m, SIP_HDR_SUBSCRIPTION_STATE, NULL));
		}
		sip_msg_unref(m);
	}
	/* A Contact the caller gives wins over the dialog's. */
	sip_req_opts o = { .contact = "<sip:other@192.0.2.11>" };
	sip_dialog_fill_request(d, SIP_METHOD_UPDATE, &o, scratch);
	g_assert_cmpstr(o.contact, ==, "<sip:other@192.0.2.11>");

	/* Their UPDATE (hold, with a new Contact) and INFO in the dialog. */
	sip_msg *upd = parse("UPDATE sip:bob@192.0.2.10 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKu1\n"
			     "Max-Forwards: 70\nFrom: <sip:alice@a.example>;tag=ta\nTo: <sip:bob@b.example>;tag=tb\n"
			     "Call-ID: dlg1\nCSeq: 11 UPDATE\nContact: <sip:alice@192.0.2.8:5064>\nContent-Length: 0\n\n");
	g_assert_true(sip_dialog_matches(d, upd));
	g_assert_cmpint(sip_dialog_receive(d, upd), ==, 0);
	g_assert_cmpstr(sip_dialog_remote_target(d), ==, "sip:alice@192.0.2.8:5064");
	sip_msg *info = parse("INFO sip:bob@192.0.2.10 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKu2\n"
			      "Max-Forwards: 70\nFrom: <sip:alice@a.example>;tag=ta\nTo: <sip:bob@b.example>;tag=tb\n"
			      "Call-ID: dlg1\nCSeq: 12 INFO\nContact: <sip:alice@192.0.2.9>\nContent-Length: 0\n\n");
	g_assert_cmpint(sip_dialog_receive(d, info), ==, 0);
	/* INFO is no target refresh. */
	g_assert_cmpstr(sip_dialog_remote_target(d), ==, "sip:alice@192.0.2.8:5064");
	g_assert_cmpint(sip_dialog_receive(d, info), ==, EINVAL); /* the same CSeq again */
	sip_msg_unref(info);
	sip_msg_unref(upd);
	g_string_free(scratch, TRUE);
	sip_dialog_free(d);
	sip_msg_unref(inv);
}

/* An early dialog (180 with a To tag) confirmed by a 200 whose Contact
 * and Record-Route differ: the 2xx wins (§13.2.2.4). A later 2xx to our
 * UPDATE refreshes the target; its Record-Route changes nothing. */
static void test_early_confirm(void)
{
	sip_msg *inv = parse(INVITE);
	sip_msg *ring = parse("SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKd1\n"
			      "Record-Route: <sip:198.51.100.2:5070;lr>\n"
			      "From: \"A\" <sip:alice@a.example>;tag=ta\nTo: <sip:bob@b.example>;tag=tb\n"
			      "Call-ID: dlg1\nCSeq: 10 INVITE\nContact: <sip:bob@192.0.2.10:5066>\nContent-Length: 0\n\n");
	sip_dialog *d = sip_dialog_new_uac(inv, ring);
	g_assert_nonnull(d);
	g_assert_true(sip_dialog_is_early(d));
	g_assert_cmpuint(sip_dialog_route_count(d), ==, 1);
	sip_msg *ok = parse("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKd1\n"
			    "Record-Route: <sip:198.51.100.3;lr>, <sip:198.51.100.2:5070;lr>\n"
			    "From: \"A\" <sip:alice@a.example>;tag=ta\nTo: <sip:bob@b.example>;tag=tb\n"
			    "Call-ID: dlg1\nCSeq: 10 INVITE\nContact: <sip:bob@192.0.2.20:5068>\nContent-Length: 0\n\n");
	sip_dialog_receive_response(d, ok);
	g_assert_false(sip_dialog_is_early(d));
	g_assert_cmpstr(sip_dialog_remote_target(d), ==, "sip:bob@192.0.2.20:5068");
	g_assert_cmpuint(sip_dialog_route_count(d), ==, 2);
	g_assert_cmpstr(sip_dialog_route(d, 0), ==, "<sip:198.51.100.2:5070;lr>");
	g_assert_cmpstr(sip_dialog_route(d, 1), ==, "<sip:198.51.100.3;lr>");
	jn_addr hop;
	char buf[64];
	g_assert_cmpint(sip_dialog_next_hop(d, &hop), ==, 0);
	g_assert_cmpstr(jn_addr_str(&hop, buf, sizeof buf), ==, "198.51.100.2:5070");

	sip_msg *uok = parse("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKd9\n"
			     "Record-Route: <sip:203.0.113.1;lr>\n"
			     "From: \"A\" <sip:alice@a.example>;tag=ta\nTo: <sip:bob@b.example>;tag=tb\n"
			     "Call-ID: dlg1\nCSeq: 11 UPDATE\nContact: <sip:bob@192.0.2.21>\nContent-Length: 0\n\n");
	sip_dialog_receive_response(d, uok);
	g_assert_cmpstr(sip_dialog_remote_target(d), ==, "sip:bob@192.0.2.21");
	g_assert_cmpuint(sip_dialog_route_count(d), ==, 2);
	/* A failed re-INVITE leaves the target alone. */
	sip_msg *busy = parse("SIP/2.0 491 Request Pending\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKd8\n"
			      "From: \"A\" <sip:alice@a.example>;tag=ta\nTo: <sip:bob@b.example>;tag=tb\n"
			      "Call-ID: dlg1\nCSeq: 12 INVITE\nContact: <sip:bob@192.0.2.22>\nContent-Length: 0\n\n");
	sip_dialog_receive_response(d, busy);
	g_assert_cmpstr(sip_dialog_remote_target(d), ==, "sip:bob@192.0.2.21");
	sip_msg_unref(busy);
	sip_msg_unref(uok);
	sip_msg_unref(ok);
	sip_msg_unref(ring);
	sip_dialog_free(d);
	sip_msg_unref(inv);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_dialog/uas", test_uas);
	g_test_add_func("/sip_dialog/uac-strict", test_uac_strict);
	g_test_add_func("/sip_dialog/b2bua-requests", test_b2bua_requests);
	g_test_add_func("/sip_dialog/early-confirm", test_early_confirm);
	return g_test_run();
}
