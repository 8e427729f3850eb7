#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_resolve.h"

/* A deterministic "random" source: returns the scripted values in turn. */
typedef struct {
	const uint32_t *v;
	size_t n, i;
} script;

static uint32_t scripted(void *user)
{
	script *s = user;
	uint32_t r = s->n ? s->v[s->i % s->n] : 0;
	s->i++;
	return r;
}

static uint32_t real_rnd(void *user)
{
	(void)user;
	return g_random_int();
}

static void test_priority_first(void)
{
	sip_resolve_srv r[] = {
		{ "c", 20, 10, 5062 }, { "a", 10, 0, 5060 }, { "d", 30, 0, 5063 }, { "b", 10, 0, 5061 },
	};
	sip_resolve_srv_order(r, G_N_ELEMENTS(r), real_rnd, NULL);
	g_assert_cmpuint(r[0].priority, ==, 10);
	g_assert_cmpuint(r[1].priority, ==, 10);
	g_assert_cmpstr(r[2].target, ==, "c");
	g_assert_cmpstr(r[3].target, ==, "d");
}

/* RFC 2782's walk: r in [0, sum], first record whose running sum >= r. */
static void test_weighted_pick(void)
{
	/* weights 1 and 9, sum 10: r = 0 or 1 -> "light", r >= 2 -> "heavy" */
	uint32_t lo[] = { 1 }, hi[] = { 5 };
	sip_resolve_srv r[] = { { "light", 1, 1, 1 }, { "heavy", 1, 9, 2 } };
	script s = { lo, 1, 0 };
	sip_resolve_srv_order(r, 2, scripted, &s);
	g_assert_cmpstr(r[0].target, ==, "light");
	sip_resolve_srv r2[] = { { "light", 1, 1, 1 }, { "heavy", 1, 9, 2 } };
	script s2 = { hi, 1, 0 };
	sip_resolve_srv_order(r2, 2, scripted, &s2);
	g_assert_cmpstr(r2[0].target, ==, "heavy");
	g_assert_cmpstr(r2[1].target, ==, "light");
}

/* Over many draws the heavier record comes first much more often. */
static void test_weighted_distribution(void)
{
	unsigned heavy_first = 0;
	for (int i = 0; i < 2000; i++) {
		sip_resolve_srv r[] = { { "light", 1, 10, 1 }, { "heavy", 1, 90, 2 } };
		sip_resolve_srv_order(r, 2, real_rnd, NULL);
		heavy_first += !strcmp(r[0].target, "heavy");
	}
	g_assert_cmpuint(heavy_first, >, 1500);
	g_assert_cmpuint(heavy_first, <, 2000);
}

/* Hostile data: all-zero weights, every weight at the maximum, a long list. */
static void test_zero_and_huge(void)
{
	sip_resolve_srv z[] = { { "a", 5, 0, 1 }, { "b", 5, 0, 2 }, { "c", 5, 0, 3 } };
	script s = { NULL, 0, 0 };
	sip_resolve_srv_order(z, 3, scripted, &s);
	g_assert_cmpstr(z[0].target, ==, "a");
	g_assert_cmpstr(z[1].target, ==, "b");
	g_assert_cmpstr(z[2].target, ==, "c");

	/* a zero weight beside non-zero ones may still be picked (r = 0) */
	sip_resolve_srv m[] = { { "w", 1, 50, 1 }, { "zero", 1, 0, 2 } };
	uint32_t zero[] = { 0 };
	script s0 = { zero, 1, 0 };
	sip_resolve_srv_order(m, 2, scripted, &s0);
	g_assert_cmpstr(m[0].target, ==, "zero");

	enum { N = SIP_RESOLVE_MAX_SRV * 4 };
	sip_resolve_srv *big = g_new0(sip_resolve_srv, N);
	char names[N][8];
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "t%d", i);
		big[i] = (sip_resolve_srv){ names[i], (uint16_t)(65535 - i % 3), 65535, (uint16_t)(i + 1) };
	}
	uint32_t maxr[] = { UINT32_MAX, 0, 12345 };
	script sm = { maxr, 3, 0 };
	sip_resolve_srv_order(big, N, scripted, &sm);
	/* every record is still there once, and priorities never go down */
	gboolean seen[N] = { 0 };
	for (int i = 0; i < N; i++) {
		if (i)
			g_assert_cmpuint(big[i - 1].priority, <=, big[i].priority);
		g_assert_false(seen[big[i].port - 1]);
		seen[big[i].port - 1] = TRUE;
	}
	g_free(big);
}

static void test_services(void)
{
	sip_tp_kind out[3];
	sip_resolve_opts o = { .host = "example.test" };
	g_assert_cmpuint(sip_resolve_services(&o, out), ==, 3);
	g_assert_cmpint(out[0], ==, SIP_TP_TLS);
	g_assert_cmpint(out[1], ==, SIP_TP_TCP);
	g_assert_cmpint(out[2], ==, SIP_TP_UDP);
	o.sips = true;
	g_assert_cmpuint(sip_resolve_services(&o, out), ==, 1);
	g_assert_cmpint(out[0], ==, SIP_TP_TLS);
	o.sips = false;
	o.has_transport = true;
	o.transport = SIP_TP_TCP;
	g_assert_cmpuint(sip_resolve_services(&o, out), ==, 1);
	g_assert_cmpint(out[0], ==, SIP_TP_TCP);
	g_assert_cmpstr(sip_resolve_srv_prefix(SIP_TP_UDP), ==, "_sip._udp");
	g_assert_cmpstr(sip_resolve_srv_prefix(SIP_TP_TCP), ==, "_sip._tcp");
	g_assert_cmpstr(sip_resolve_srv_prefix(SIP_TP_TLS), ==, "_sips._tcp");
}

static void test_add_target(void)
{
	sip_resolve_target t[3];
	size_t n = 0;
	char buf[80];
	n = sip_resolve_add_target(t, n, 3, SIP_TP_UDP, "192.0.2.1", 5070);
	n = sip_resolve_add_target(t, n, 3, SIP_TP_UDP, "192.0.2.1", 5070); /* duplicate */
	n = sip_resolve_add_target(t, n, 3, SIP_TP_UDP, "not-an-address", 5070);
	n = sip_resolve_add_target(t, n, 3, SIP_TP_UDP, "2001:db8::1", 5071);
	g_assert_cmpuint(n, ==, 2);
	g_assert_cmpstr(jn_addr_str(&t[0].addr, buf, sizeof buf), ==, "192.0.2.1:5070");
	g_assert_cmpstr(jn_addr_str(&t[1].addr, buf, sizeof buf), ==, "[2001:db8::1]:5071");
	n = sip_resolve_add_target(t, n, 3, SIP_TP_TCP, "192.0.2.1", 5070); /* other transport */
	n = sip_resolve_add_target(t, n, 3, SIP_TP_TCP, "192.0.2.9", 5070); /* full */
	g_assert_cmpuint(n, ==, 3);
	g_assert_cmpint(t[2].transport, ==, SIP_TP_TCP);
}

/* --- the asynchronous path, without DNS ---------------------------------- */

typedef struct {
	GMainLoop *loop;
	int calls, err;
	size_t n;
	sip_resolve_target t[SIP_RESOLVE_MAX_TARGETS];
} result;

static void on_result(void *user, int err, const sip_resolve_target *t, size_t n)
{
	result *r = user;
	r->calls++;
	r->err = err;
	r->n = n;
	memcpy(r->t, t, n * sizeof *t);
	g_main_loop_quit(r->loop);
}

static void test_literal_async(void)
{
	result r = { .loop = g_main_loop_new(NULL, FALSE) };
	char buf[80];
	sip_resolve_opts o = { .host = "[::1]", .port = 5099 };
	sip_resolve_query *q = sip_resolve_start(&o, on_result, &r);
	g_assert_nonnull(q);
	g_assert_cmpint(r.calls, ==, 0); /* never from inside start */
	g_main_loop_run(r.loop);
	g_assert_cmpint(r.calls, ==, 1);
	g_assert_cmpint(r.err, ==, 0);
	g_assert_cmpuint(r.n, ==, 1);
	g_assert_cmpint(r.t[0].transport, ==, SIP_TP_UDP);
	g_assert_cmpstr(jn_addr_str(&r.t[0].addr, buf, sizeof buf), ==, "[::1]:5099");

	o = (sip_resolve_opts){ .host = "127.0.0.1", .sips = true };
	sip_resolve_start(&o, on_result, &r);
	g_main_loop_run(r.loop);
	g_assert_cmpint(r.err, ==, 0);
	g_assert_cmpint(r.t[0].transport, ==, SIP_TP_TLS);
	g_assert_cmpstr(jn_addr_str(&r.t[0].addr, buf, sizeof buf), ==, "127.0.0.1:5061");

	o = (sip_resolve_opts){ .host = "" };
	sip_resolve_start(&o, on_result, &r);
	g_main_loop_run(r.loop);
	g_assert_cmpint(r.err, ==, EINVAL);
	g_main_loop_unref(r.loop);
}

static gboolean quit_soon(gpointer p)
{
	g_main_loop_quit(p);
	return G_SOURCE_REMOVE;
}

/* A cancelled query never calls back, even once its lookups return. */
static void test_cancel(void)
{
	result r = { .loop = g_main_loop_new(NULL, FALSE) };
	sip_resolve_opts o = { .host = "127.0.0.1" };
	sip_resolve_cancel(sip_resolve_start(&o, on_result, &r));
	o = (sip_resolve_opts){ .host = "localhost", .port = 5060 };
	sip_resolve_cancel(sip_resolve_start(&o, on_result, &r));
	sip_resolve_cancel(NULL);
	g_timeout_add(300, quit_soon, r.loop);
	g_main_loop_run(r.loop);
	g_assert_cmpint(r.calls, ==, 0);
	g_main_loop_unref(r.loop);
}

/* `test-sip-resolve --resolve NAME [PORT]` resolves for real through the
 * system's DNS and prints one "TRANSPORT ADDRESS" line per target: the DNS
 * integration test (tests/integration/sip-dns.test.sh) runs it against its
 * own dnsmasq. Exit 0 with targets, 1 without. */
static int resolve_cli(const char *name, const char *port)
{
	result r = { .loop = g_main_loop_new(NULL, FALSE) };
	sip_resolve_opts o = { .host = name, .port = port ? (uint16_t)atoi(port) : 0 };
	sip_resolve_start(&o, on_result, &r);
	g_main_loop_run(r.loop);
	g_main_loop_unref(r.loop);
	static const char *const tp[] = { "udp", "tcp", "tls", "ws", "wss" };
	char buf[80];
	printf("err %d\n", r.err);
	for (size_t i = 0; i < r.n; i++)
		printf("%s %s\n", tp[r.t[i].transport], jn_addr_str(&r.t[i].addr, buf, sizeof buf));
	return r.n ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--resolve"))
		return resolve_cli(argv[2], argc >= 4 ? argv[3] : NULL);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip-resolve/srv/priority-first", test_priority_first);
	g_test_add_func("/sip-resolve/srv/weighted-pick", test_weighted_pick);
	g_test_add_func("/sip-resolve/srv/weighted-distribution", test_weighted_distribution);
	g_test_add_func("/sip-resolve/srv/zero-and-huge", test_zero_and_huge);
	g_test_add_func("/sip-resolve/services", test_services);
	g_test_add_func("/sip-resolve/add-target", test_add_target);
	g_test_add_func("/sip-resolve/literal-async", test_literal_async);
	g_test_add_func("/sip-resolve/cancel", test_cancel);
	return g_test_run();
}
