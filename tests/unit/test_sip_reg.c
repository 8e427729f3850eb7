#include <errno.h>
#include <glib.h>
#include <string.h>

#include "sip/sip_msg.h"
#include "sip/sip_reg.h"

/* Fake flows: counters of references the store holds. */
static int flow_refs[4];

static void fref(void *f)
{
	flow_refs[GPOINTER_TO_INT(f)]++;
}

static void funref(void *f)
{
	flow_refs[GPOINTER_TO_INT(f)]--;
	g_assert_cmpint(flow_refs[GPOINTER_TO_INT(f)], >=, 0);
}

#define FLOW(n) GINT_TO_POINTER(n)

static sip_reg *new_reg(unsigned per_user, unsigned total)
{
	memset(flow_refs, 0, sizeof flow_refs);
	sip_reg_opts o = {
		.default_expires = 3600, .min_expires = 60, .max_expires = 7200,
		.max_per_user = per_user, .max_bindings = total, .flow_ref = fref, .flow_unref = funref,
	};
	return sip_reg_new(&o);
}

static sip_reg_contact ct(const char *uri, int64_t expires)
{
	return (sip_reg_contact){ .uri = sip_pl_cstr(uri), .expires = expires, .reg_id = -1 };
}

static sip_reg_request rq(const char *call_id, uint32_t cseq, const sip_reg_contact *c, size_t n)
{
	return (sip_reg_request){
		.call_id = sip_pl_cstr(call_id), .cseq = cseq, .expires = -1, .contacts = c, .n_contacts = n,
	};
}

static size_t count(sip_reg *r, const char *aor, uint64_t now)
{
	return sip_reg_lookup(r, aor, now, NULL, 0);
}

static int expired_seen;

static void on_binding(void *user, const sip_reg_binding *b)
{
	GPtrArray *names = user;
	expired_seen++;
	if (names)
		g_ptr_array_add(names, g_strdup(b->uri));
}

static void test_add_refresh(void)
{
	sip_reg *r = new_reg(0, 0);
	sip_reg_contact c[2] = { ct("sip:alice@192.0.2.1:5060", -1), ct("sip:alice@198.51.100.7;transport=tcp", 120) };
	c[1].q = SIP_PL("0.5");
	sip_reg_request req = rq("cid-1", 1, c, 2);
	req.source = "UDP 192.0.2.1:5060";
	req.user_agent = "test";
	sip_reg_outcome out;
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 1000, &out), ==, 0);
	g_assert_cmpuint(out.added, ==, 2);
	g_assert_false(out.outbound);
	g_assert_cmpuint(count(r, "alice", 1000), ==, 2);
	g_assert_cmpuint(count(r, "bob", 1000), ==, 0);

	const sip_reg_binding *b[4];
	g_assert_cmpuint(sip_reg_lookup(r, "alice", 1000, b, 4), ==, 2);
	/* No q counts as 1.0, so the first contact leads. */
	g_assert_cmpstr(b[0]->uri, ==, "sip:alice@192.0.2.1:5060");
	g_assert_cmpuint(b[0]->expires_at, ==, 1000 + 3600);
	g_assert_cmpint(b[0]->q, ==, -1);
	g_assert_cmpstr(b[0]->aor, ==, "alice");
	g_assert_cmpstr(b[0]->call_id, ==, "cid-1");
	g_assert_cmpstr(b[0]->source, ==, "UDP 192.0.2.1:5060");
	g_assert_cmpstr(b[0]->user_agent, ==, "test");
	g_assert_null(b[0]->instance);
	g_assert_cmpuint(b[1]->expires_at, ==, 1000 + 120);
	g_assert_cmpint(b[1]->q, ==, 500);

	GString *h = g_string_new(NULL);
	sip_reg_contact_header(r, "alice", 1010, h);
	g_assert_cmpstr(h->str, ==, "<sip:alice@192.0.2.1:5060>;expires=3590, "
			"<sip:alice@198.51.100.7;transport=tcp>;expires=110;q=0.500");
	g_string_free(h, TRUE);

	/* Refresh one with the Expires header; the other keeps its expiry. */
	sip_reg_contact c2 = ct("sip:alice@198.51.100.7;transport=tcp", -1);
	req = rq("cid-1", 2, &c2, 1);
	req.expires = 600;
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 1100, &out), ==, 0);
	g_assert_cmpuint(out.added, ==, 0);
	g_assert_cmpuint(out.refreshed, ==, 1);
	g_assert_cmpuint(sip_reg_lookup(r, "alice", 1100, b, 4), ==, 2);
	g_assert_cmpuint(b[1]->expires_at, ==, 1700);
	g_assert_cmpuint(b[1]->cseq, ==, 2);
	g_assert_cmpint(b[1]->q, ==, -1);

	/* Above the maximum: clamped. */
	sip_reg_contact c3 = ct("sip:alice@203.0.113.9", 99999);
	req = rq("cid-1", 3, &c3, 1);
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 1100, &out), ==, 0);
	g_assert_cmpuint(sip_reg_lookup(r, "alice", 1100, b, 4), ==, 3);
	g_assert_cmpuint(b[0]->expires_at, ==, 1100 + 7200); /* newest first among equal q */

	/* A query (no Contact) changes nothing. */
	req = rq("cid-1", 4, NULL, 0);
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 1100, &out), ==, 0);
	g_assert_cmpuint(out.added + out.refreshed + out.removed, ==, 0);
	g_assert_cmpuint(count(r, "alice", 1100), ==, 3);

	/* A bad q refuses the whole request. */
	sip_reg_contact bq = ct("sip:alice@203.0.113.10", -1);
	bq.q = SIP_PL("1.5");
	req = rq("cid-1", 5, &bq, 1);
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 1100, &out), ==, EINVAL);
	g_assert_cmpuint(count(r, "alice", 1100), ==, 3);

	sip_reg_stats st;
	sip_reg_get_stats(r, &st);
	g_assert_cmpuint(st.users, ==, 1);
	g_assert_cmpuint(st.bindings, ==, 3);
	g_assert_cmpuint(st.added, ==, 3);
	g_assert_cmpuint(st.refreshed, ==, 1);
	g_assert_cmpuint(st.rejected_bad, ==, 1);
	g_assert_cmpuint(st.registers, ==, 5);
	sip_reg_free(r);
}

static void test_expire(void)
{
	sip_reg *r = new_reg(0, 0);
	sip_reg_contact c[2] = { ct("sip:a@192.0.2.1", 100), ct("sip:a@192.0.2.2", 300) };
	sip_reg_request req = rq("x", 1, c, 2);
	req.flow = FLOW(1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, NULL), ==, 0);
	sip_reg_contact d = ct("sip:b@192.0.2.3", 200);
	req = rq("y", 1, &d, 1);
	g_assert_cmpint(sip_reg_apply(r, "b", &req, 0, NULL), ==, 0);
	g_assert_cmpint(flow_refs[1], ==, 2);
	g_assert_cmpuint(sip_reg_next_expiry(r), ==, 100);

	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	g_assert_cmpuint(sip_reg_expire(r, 99, on_binding, names), ==, 0);
	/* A lookup at the expiry instant no longer sees it, even before the timer. */
	g_assert_cmpuint(count(r, "a", 100), ==, 1);
	g_assert_cmpuint(sip_reg_expire(r, 100, on_binding, names), ==, 1);
	g_assert_cmpuint(names->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(names, 0), ==, "sip:a@192.0.2.1");
	g_assert_cmpint(flow_refs[1], ==, 1);
	g_assert_cmpuint(sip_reg_next_expiry(r), ==, 200);
	g_assert_cmpuint(sip_reg_expire(r, 250, on_binding, names), ==, 1);
	g_assert_cmpstr(g_ptr_array_index(names, 1), ==, "sip:b@192.0.2.3");
	g_assert_cmpuint(sip_reg_expire(r, 1000, NULL, NULL), ==, 1);
	g_assert_cmpuint(sip_reg_next_expiry(r), ==, UINT64_MAX);
	g_assert_cmpint(flow_refs[1], ==, 0);
	sip_reg_stats st;
	sip_reg_get_stats(r, &st);
	g_assert_cmpuint(st.users, ==, 0);
	g_assert_cmpuint(st.bindings, ==, 0);
	g_assert_cmpuint(st.expired, ==, 3);
	g_ptr_array_free(names, TRUE);

	/* An expired binding that the timer has not reaped yet does not count
	 * against a new REGISTER and is not refreshed out of order. */
	req = rq("x", 1, c, 1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 2000, NULL), ==, 0);
	req = rq("x", 1, c, 1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 2200, NULL), ==, 0);
	sip_reg_free(r);
}

static void test_unregister(void)
{
	sip_reg *r = new_reg(0, 0);
	sip_reg_contact c[3] = { ct("sip:a@192.0.2.1", -1), ct("sip:a@192.0.2.2", -1), ct("sip:a@192.0.2.3", -1) };
	sip_reg_request req = rq("x", 1, c, 3);
	sip_reg_outcome out;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, 0);
	g_assert_cmpuint(count(r, "a", 0), ==, 3);

	/* One, with expires=0 on the contact. */
	sip_reg_contact z = ct("sip:a@192.0.2.2", 0);
	req = rq("x", 2, &z, 1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 10, &out), ==, 0);
	g_assert_cmpuint(out.removed, ==, 1);
	g_assert_cmpuint(count(r, "a", 10), ==, 2);
	/* Removing one that is not there is fine. */
	req = rq("x", 3, &z, 1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 10, &out), ==, 0);
	g_assert_cmpuint(out.removed, ==, 0);
	/* Expires: 0 header applies to contacts without a param. */
	sip_reg_contact z2 = ct("sip:a@192.0.2.3", -1);
	req = rq("x", 4, &z2, 1);
	req.expires = 0;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 10, &out), ==, 0);
	g_assert_cmpuint(out.removed, ==, 1);
	g_assert_cmpuint(count(r, "a", 10), ==, 1);

	/* "*" needs Expires: 0 and no other contact. */
	req = rq("x", 5, NULL, 0);
	req.star = true;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 10, &out), ==, EINVAL);
	req.expires = 60;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 10, &out), ==, EINVAL);
	req.expires = 0;
	req.contacts = c;
	req.n_contacts = 1;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 10, &out), ==, EINVAL);
	g_assert_cmpuint(count(r, "a", 10), ==, 1);

	/* Add two more, then remove all. */
	req = rq("x", 6, c, 2);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 10, &out), ==, 0);
	g_assert_cmpuint(count(r, "a", 10), ==, 2);
	req = rq("x", 7, NULL, 0);
	req.star = true;
	req.expires = 0;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 10, &out), ==, 0);
	g_assert_cmpuint(out.removed, ==, 2);
	g_assert_cmpuint(count(r, "a", 10), ==, 0);
	sip_reg_stats st;
	sip_reg_get_stats(r, &st);
	g_assert_cmpuint(st.users, ==, 0);
	g_assert_cmpuint(st.rejected_bad, ==, 3);
	sip_reg_free(r);
}

static void test_interval_too_brief(void)
{
	sip_reg *r = new_reg(0, 0);
	sip_reg_contact c[2] = { ct("sip:a@192.0.2.1", 3600), ct("sip:a@192.0.2.2", 30) };
	sip_reg_request req = rq("x", 1, c, 2);
	sip_reg_outcome out;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, ERANGE);
	g_assert_cmpuint(out.min_expires, ==, 60);
	g_assert_cmpstr(out.reason, ==, "Interval Too Brief");
	/* All or nothing: the good contact was not added either. */
	g_assert_cmpuint(count(r, "a", 0), ==, 0);
	/* Through the Expires header too. */
	sip_reg_contact d = ct("sip:a@192.0.2.1", -1);
	req = rq("x", 2, &d, 1);
	req.expires = 59;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, ERANGE);
	req.expires = 60;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, 0);
	g_assert_cmpuint(count(r, "a", 0), ==, 1);
	sip_reg_stats st;
	sip_reg_get_stats(r, &st);
	g_assert_cmpuint(st.rejected_brief, ==, 2);
	sip_reg_free(r);
}

static void test_instance_reg_id(void)
{
	sip_reg *r = new_reg(0, 0);
	/* A WebSocket client: random contact host, instance and reg-id (RFC 5626). */
	sip_reg_contact c = ct("sip:k3j2@df7jal23ls0d.invalid;transport=ws", -1);
	c.instance = SIP_PL("\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"");
	c.reg_id = 1;
	sip_reg_request req = rq("call-A", 1, &c, 1);
	req.flow = FLOW(1);
	sip_reg_outcome out;
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 0, &out), ==, 0);
	g_assert_true(out.outbound);
	g_assert_cmpint(flow_refs[1], ==, 1);

	GString *h = g_string_new(NULL);
	sip_reg_contact_header(r, "alice", 0, h);
	g_assert_cmpstr(h->str, ==, "<sip:k3j2@df7jal23ls0d.invalid;transport=ws>;expires=3600;"
			"+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1");
	g_string_free(h, TRUE);

	/* It reconnects: a new connection, a new contact URI, a new Call-ID. */
	sip_reg_contact c2 = ct("sip:99zz@aa11bb22.invalid;transport=ws", -1);
	c2.instance = SIP_PL("\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"");
	c2.reg_id = 1;
	req = rq("call-B", 1, &c2, 1);
	req.flow = FLOW(2);
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 100, &out), ==, 0);
	g_assert_cmpuint(out.replaced, ==, 1);
	g_assert_cmpuint(out.added, ==, 0);
	const sip_reg_binding *b[4];
	g_assert_cmpuint(sip_reg_lookup(r, "alice", 100, b, 4), ==, 1);
	g_assert_cmpstr(b[0]->uri, ==, "sip:99zz@aa11bb22.invalid;transport=ws");
	g_assert_true(b[0]->flow == FLOW(2));
	g_assert_cmpint(b[0]->reg_id, ==, 1);
	g_assert_cmpstr(b[0]->instance, ==, "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
	g_assert_cmpuint(b[0]->registered_at, ==, 100);
	g_assert_cmpint(flow_refs[1], ==, 0);
	g_assert_cmpint(flow_refs[2], ==, 1);

	/* The old connection closing now touches nothing. */
	g_assert_cmpuint(sip_reg_flow_closed(r, FLOW(1), NULL, NULL), ==, 0);
	g_assert_cmpuint(count(r, "alice", 100), ==, 1);

	/* Same instance, another reg-id: a second flow, a second binding. */
	sip_reg_contact c3 = c2;
	c3.reg_id = 2;
	req = rq("call-B", 2, &c3, 1);
	req.flow = FLOW(3);
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 100, &out), ==, 0);
	g_assert_cmpuint(out.added, ==, 1);
	g_assert_cmpuint(count(r, "alice", 100), ==, 2);
	sip_reg_free(r);
	g_assert_cmpint(flow_refs[2], ==, 0);
	g_assert_cmpint(flow_refs[3], ==, 0);
}

static void test_out_of_order(void)
{
	sip_reg *r = new_reg(0, 0);
	sip_reg_contact c = ct("sip:a@192.0.2.1", 600);
	sip_reg_request req = rq("cid", 10, &c, 1);
	sip_reg_outcome out;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, 0);

	/* The same Call-ID with an older or equal CSeq: refused, nothing changes. */
	sip_reg_contact late = ct("sip:a@192.0.2.1", 0);
	req = rq("cid", 9, &late, 1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 5, &out), ==, EALREADY);
	req.cseq = 10;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 5, &out), ==, EALREADY);
	g_assert_cmpuint(count(r, "a", 5), ==, 1);
	/* "*" is checked the same way. */
	req = rq("cid", 10, NULL, 0);
	req.star = true;
	req.expires = 0;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 5, &out), ==, EALREADY);
	g_assert_cmpuint(count(r, "a", 5), ==, 1);
	/* Another Call-ID may use any CSeq (a restarted client). */
	sip_reg_contact again = ct("sip:a@192.0.2.1", 300);
	req = rq("other", 1, &again, 1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 5, &out), ==, 0);
	const sip_reg_binding *b[2];
	g_assert_cmpuint(sip_reg_lookup(r, "a", 5, b, 2), ==, 1);
	g_assert_cmpuint(b[0]->expires_at, ==, 305);
	g_assert_cmpstr(b[0]->call_id, ==, "other");
	sip_reg_stats st;
	sip_reg_get_stats(r, &st);
	g_assert_cmpuint(st.rejected_order, ==, 3);
	sip_reg_free(r);
}

static void test_flow_close(void)
{
	sip_reg *r = new_reg(0, 0);
	sip_reg_contact c[2] = { ct("sip:a@192.0.2.1;transport=ws", -1), ct("sip:a@192.0.2.2;transport=ws", -1) };
	sip_reg_request req = rq("x", 1, c, 2);
	req.flow = FLOW(1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, NULL), ==, 0);
	sip_reg_contact d = ct("sip:b@192.0.2.3;transport=tcp", -1);
	req = rq("y", 1, &d, 1);
	req.flow = FLOW(2);
	g_assert_cmpint(sip_reg_apply(r, "b", &req, 0, NULL), ==, 0);
	sip_reg_contact e = ct("sip:b@192.0.2.4", -1);
	req = rq("z", 1, &e, 1); /* UDP: no flow */
	g_assert_cmpint(sip_reg_apply(r, "b", &req, 0, NULL), ==, 0);
	g_assert_cmpint(flow_refs[1], ==, 2);

	expired_seen = 0;
	g_assert_cmpuint(sip_reg_flow_closed(r, FLOW(1), on_binding, NULL), ==, 2);
	g_assert_cmpint(expired_seen, ==, 2);
	g_assert_cmpint(flow_refs[1], ==, 0);
	g_assert_cmpuint(count(r, "a", 0), ==, 0);
	g_assert_cmpuint(count(r, "b", 0), ==, 2);
	sip_reg_stats st0;
	sip_reg_get_stats(r, &st0);
	g_assert_cmpuint(st0.users, ==, 1); /* "a" has nothing left */
	g_assert_cmpuint(st0.bindings, ==, 2);
	g_assert_cmpuint(sip_reg_flow_closed(r, NULL, NULL, NULL), ==, 0);
	g_assert_cmpuint(sip_reg_flow_closed(r, FLOW(2), NULL, NULL), ==, 1);
	g_assert_cmpuint(count(r, "b", 0), ==, 1);
	g_assert_cmpuint(sip_reg_flow_closed(r, FLOW(2), NULL, NULL), ==, 0);

	/* A binding that moved to another flow follows it in the flow index. */
	sip_reg_contact w = ct("sip:c@192.0.2.5;transport=ws", -1);
	req = rq("w", 1, &w, 1);
	req.flow = FLOW(1);
	g_assert_cmpint(sip_reg_apply(r, "c", &req, 0, NULL), ==, 0);
	req = rq("w", 2, &w, 1);
	req.flow = FLOW(2);
	g_assert_cmpint(sip_reg_apply(r, "c", &req, 0, NULL), ==, 0);
	g_assert_cmpint(flow_refs[1], ==, 0);
	g_assert_cmpuint(sip_reg_flow_closed(r, FLOW(1), NULL, NULL), ==, 0);
	g_assert_cmpuint(count(r, "c", 0), ==, 1);
	/* ... and an expired one leaves it. */
	g_assert_cmpuint(sip_reg_expire(r, 999999, NULL, NULL), ==, 2);
	g_assert_cmpuint(sip_reg_flow_closed(r, FLOW(2), NULL, NULL), ==, 0);
	g_assert_cmpint(flow_refs[2], ==, 0);
	req = rq("z", 2, &e, 1);
	g_assert_cmpint(sip_reg_apply(r, "b", &req, 0, NULL), ==, 0);
	sip_reg_stats st;
	sip_reg_get_stats(r, &st);
	g_assert_cmpuint(st.flow_closed, ==, 3);
	g_assert_cmpuint(st.users, ==, 1);
	g_assert_cmpuint(sip_reg_remove_aor(r, "b"), ==, 1);
	g_assert_cmpuint(sip_reg_remove_aor(r, "b"), ==, 0);
	sip_reg_get_stats(r, &st);
	g_assert_cmpuint(st.bindings, ==, 0);
	sip_reg_free(r);
}

static void count_all(void *user, const sip_reg_binding *b)
{
	(void)b;
	(*(int *)user)++;
}

static void test_caps(void)
{
	sip_reg *r = new_reg(2, 3);
	sip_reg_contact c[3] = { ct("sip:a@192.0.2.1", -1), ct("sip:a@192.0.2.2", -1), ct("sip:a@192.0.2.3", -1) };
	sip_reg_request req = rq("x", 1, c, 3);
	sip_reg_outcome out;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, ENOSPC);
	g_assert_cmpuint(count(r, "a", 0), ==, 0);
	req = rq("x", 2, c, 2);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, 0);
	req = rq("x", 3, &c[2], 1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, ENOSPC);
	/* Refreshing at the cap is fine, and so is swapping one for another. */
	req = rq("x", 4, c, 2);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, 0);
	sip_reg_contact swap[2] = { ct("sip:a@192.0.2.1", 0), ct("sip:a@192.0.2.3", -1) };
	req = rq("x", 5, swap, 2);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, 0);
	g_assert_cmpuint(out.removed, ==, 1);
	g_assert_cmpuint(out.added, ==, 1);
	g_assert_cmpuint(count(r, "a", 0), ==, 2);
	/* The global cap: one more in all, then none. */
	sip_reg_contact d[2] = { ct("sip:b@192.0.2.9", -1), ct("sip:b@192.0.2.10", -1) };
	req = rq("y", 1, d, 1);
	g_assert_cmpint(sip_reg_apply(r, "b", &req, 0, &out), ==, 0);
	req = rq("y", 2, &d[1], 1);
	g_assert_cmpint(sip_reg_apply(r, "b", &req, 0, &out), ==, ENOSPC);
	g_assert_cmpstr(out.reason, ==, "Too many registrations");
	int n = 0;
	sip_reg_foreach(r, count_all, &n);
	g_assert_cmpint(n, ==, 3);
	/* Too many contacts in one request. */
	sip_reg_contact many[SIP_REG_MAX_CONTACTS + 1];
	for (int i = 0; i <= SIP_REG_MAX_CONTACTS; i++)
		many[i] = ct("sip:c@192.0.2.1", -1);
	req = rq("z", 1, many, SIP_REG_MAX_CONTACTS + 1);
	g_assert_cmpint(sip_reg_apply(r, "c", &req, 0, &out), ==, EINVAL);
	sip_reg_stats st;
	sip_reg_get_stats(r, &st);
	g_assert_cmpuint(st.rejected_cap, ==, 3);
	sip_reg_free(r);
}

/* With a URI comparator the caller supplies, equivalent URIs match. */
static bool uri_caseless(sip_pl a, sip_pl b)
{
	return a.l == b.l && g_ascii_strncasecmp(a.p, b.p, a.l) == 0;
}

static void test_uri_equal(void)
{
	sip_reg_opts o = { .uri_equal = uri_caseless };
	sip_reg *r = sip_reg_new(&o);
	sip_reg_contact c = ct("sip:A@Example.COM", -1);
	sip_reg_request req = rq("x", 1, &c, 1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, NULL), ==, 0);
	sip_reg_contact d = ct("sip:a@example.com", 0);
	req = rq("x", 2, &d, 1);
	sip_reg_outcome out;
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, 0);
	g_assert_cmpuint(out.removed, ==, 1);
	/* Bad arguments. */
	g_assert_cmpint(sip_reg_apply(r, "", &req, 0, &out), ==, EINVAL);
	g_assert_cmpint(sip_reg_apply(r, NULL, &req, 0, &out), ==, EINVAL);
	sip_reg_contact empty = ct("", -1);
	req = rq("x", 3, &empty, 1);
	g_assert_cmpint(sip_reg_apply(r, "a", &req, 0, &out), ==, EINVAL);
	sip_reg_free(r);
	sip_reg_free(NULL);
}

/* Reads a JsSIP frame and reduces it to a sip_reg_request as the stack does. */
static sip_msg *load_register(const char *name, sip_reg_request *req, sip_reg_contact *cs, size_t max)
{
	const char *src = g_getenv("JN_SRCDIR") ? g_getenv("JN_SRCDIR") : JN_SRCDIR;
	char *path = g_build_filename(src, "tests", "data", "sipws", "jssip", name, NULL);
	char *data;
	gsize len;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	sip_msg *m = NULL;
	g_assert_cmpint(sip_msg_parse(data, len, &m, NULL), ==, 0);
	g_free(data);
	g_free(path);
	size_t n = 0;
	*req = (sip_reg_request){ .call_id = m->call_id, .cseq = m->cseq.num, .expires = m->expires,
				  .contacts = cs, .flow = FLOW(3) };
	for (size_t i = 0; i < m->n_contact && n < max; i++) {
		const sip_contact *c = &m->contact[i];
		if (c->star) {
			req->star = true;
			continue;
		}
		cs[n++] = (sip_reg_contact){ .uri = c->addr.uri_pl, .expires = c->expires, .q = c->q,
					     .instance = c->instance, .reg_id = c->reg_id };
	}
	req->n_contacts = n;
	return m;
}

/* JsSIP's real REGISTER and un-REGISTER frames, through the message parser. */
static void test_jssip_frames(void)
{
	sip_reg *r = new_reg(0, 0);
	sip_reg_request req;
	sip_reg_contact cs[4];
	sip_reg_outcome out;
	sip_msg *m = load_register("01-REGISTER.sip", &req, cs, 4);
	g_assert_cmpuint(req.n_contacts, ==, 1);
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 0, &out), ==, 0);
	g_assert_cmpuint(out.added, ==, 1);
	const sip_reg_binding *b[2];
	g_assert_cmpuint(sip_reg_lookup(r, "alice", 0, b, 2), ==, 1);
	g_assert_cmpstr(b[0]->uri, ==, "sip:vmugoodm@k412sbond40t.invalid;transport=ws");
	g_assert_cmpstr(b[0]->instance, ==, "<urn:uuid:9f97b5d4-3b5b-4c02-9485-f9d85c13f4f3>");
	g_assert_cmpint(b[0]->reg_id, ==, 1);
	g_assert_cmpuint(b[0]->expires_at, ==, 600);
	g_assert_cmpint(flow_refs[3], ==, 1);
	sip_msg_unref(m);

	m = load_register("06-REGISTER.sip", &req, cs, 4);
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 10, &out), ==, 0);
	g_assert_cmpuint(out.removed, ==, 1);
	g_assert_cmpuint(count(r, "alice", 10), ==, 0);
	g_assert_cmpint(flow_refs[3], ==, 0);
	/* The same frame again (a retransmission with the same CSeq): out of order. */
	sip_msg_unref(m);
	m = load_register("01-REGISTER.sip", &req, cs, 4);
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 20, &out), ==, 0);
	sip_msg_unref(m);
	m = load_register("01-REGISTER.sip", &req, cs, 4);
	g_assert_cmpint(sip_reg_apply(r, "alice", &req, 21, &out), ==, EALREADY);
	sip_msg_unref(m);
	sip_reg_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_reg/add_refresh", test_add_refresh);
	g_test_add_func("/sip_reg/expire", test_expire);
	g_test_add_func("/sip_reg/unregister", test_unregister);
	g_test_add_func("/sip_reg/interval_too_brief", test_interval_too_brief);
	g_test_add_func("/sip_reg/instance_reg_id", test_instance_reg_id);
	g_test_add_func("/sip_reg/out_of_order", test_out_of_order);
	g_test_add_func("/sip_reg/flow_close", test_flow_close);
	g_test_add_func("/sip_reg/caps", test_caps);
	g_test_add_func("/sip_reg/uri_equal", test_uri_equal);
	g_test_add_func("/sip_reg/jssip_frames", test_jssip_frames);
	return g_test_run();
}
