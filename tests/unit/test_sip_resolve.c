#include <errno.h>
#include <gio/gio.h>
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


/* --- a fake GResolver: the asynchronous pipeline without any DNS --------- */

typedef struct { GResolver parent; unsigned queries; GResolver *prev; } FakeResolver;
typedef struct { GResolverClass parent_class; } FakeResolverClass;
GType fake_resolver_get_type(void);
G_DEFINE_TYPE(FakeResolver, fake_resolver, G_TYPE_RESOLVER)

typedef struct { const char *name; const char *addrs[3]; } fake_a;
static const fake_a fake_hosts[] = {
	{ "a.test", { "192.0.2.1" } },
	{ "b.test", { "192.0.2.2", "2001:db8::2" } },
	{ "plain.test", { "192.0.2.9" } },
	{ "tcp.test", { "192.0.2.7" } },
};

/* "hang.test" and its SRV names never answer until cancelled. */
static gboolean fake_hangs(const char *name)
{
	return g_str_has_suffix(name, "hang.test");
}

static gboolean return_cancelled(GCancellable *c, gpointer task)
{
	(void)c;
	g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
	return G_SOURCE_REMOVE;
}

static void fake_hang(GTask *task, GCancellable *c)
{
	/* the task lives until the cancellable fires (sip_resolve cancels on
	 * finish or timeout); a source, not a handler, so nothing cycles */
	GSource *src = g_cancellable_source_new(c);
	g_source_set_callback(src, G_SOURCE_FUNC(return_cancelled), task, g_object_unref);
	g_source_attach(src, NULL);
	g_source_unref(src);
}

static void fake_by_name_async(GResolver *r, const gchar *name, GCancellable *c,
			       GAsyncReadyCallback cb, gpointer user)
{
	((FakeResolver *)r)->queries++;
	GTask *task = g_task_new(r, c, cb, user);
	if (fake_hangs(name)) {
		fake_hang(task, c);
		return;
	}
	GList *l = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(fake_hosts); i++)
		if (!strcmp(fake_hosts[i].name, name))
			for (int j = 0; j < 3 && fake_hosts[i].addrs[j]; j++)
				l = g_list_append(l, g_inet_address_new_from_string(fake_hosts[i].addrs[j]));
	if (l)
		g_task_return_pointer(task, l, (GDestroyNotify)g_resolver_free_addresses);
	else
		g_task_return_new_error(task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no %s", name);
	g_object_unref(task);
}

static GList *fake_by_name_finish(GResolver *r, GAsyncResult *res, GError **error)
{
	(void)r;
	return g_task_propagate_pointer(G_TASK(res), error);
}

static void fake_by_name_flags_async(GResolver *r, const gchar *name, GResolverNameLookupFlags f,
				     GCancellable *c, GAsyncReadyCallback cb, gpointer user)
{
	(void)f;
	fake_by_name_async(r, name, c, cb, user);
}

static void free_records(gpointer l)
{
	g_list_free_full(l, (GDestroyNotify)g_variant_unref);
}

static void fake_records_async(GResolver *r, const gchar *name, GResolverRecordType type,
			       GCancellable *c, GAsyncReadyCallback cb, gpointer user)
{
	((FakeResolver *)r)->queries++;
	GTask *task = g_task_new(r, c, cb, user);
	if (fake_hangs(name)) {
		fake_hang(task, c);
		return;
	}
	GList *l = NULL;
	if (type == G_RESOLVER_RECORD_SRV && !strcmp(name, "_sip._udp.srv.test")) {
		/* listed worst first: the ordering must fix it; "." is no service */
		l = g_list_append(l, g_variant_ref_sink(g_variant_new("(qqqs)", 20, 0, 15672, "b.test")));
		l = g_list_append(l, g_variant_ref_sink(g_variant_new("(qqqs)", 10, 0, 15671, "a.test")));
		l = g_list_append(l, g_variant_ref_sink(g_variant_new("(qqqs)", 30, 0, 15673, ".")));
		l = g_list_append(l, g_variant_ref_sink(g_variant_new("(qqqs)", 40, 0, 15674, "missing.test")));
	} else if (type == G_RESOLVER_RECORD_SRV && !strcmp(name, "_sip._tcp.tcp.test")) {
		l = g_list_append(l, g_variant_ref_sink(g_variant_new("(qqqs)", 1, 1, 5080, "tcp.test")));
	}
	if (l)
		g_task_return_pointer(task, l, free_records);
	else
		g_task_return_new_error(task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no %s", name);
	g_object_unref(task);
}

static GList *fake_records_finish(GResolver *r, GAsyncResult *res, GError **error)
{
	(void)r;
	return g_task_propagate_pointer(G_TASK(res), error);
}

static void fake_resolver_init(FakeResolver *r) { (void)r; }

static void fake_resolver_class_init(FakeResolverClass *k)
{
	GResolverClass *rk = G_RESOLVER_CLASS(k);
	rk->lookup_by_name_async = fake_by_name_async;
	rk->lookup_by_name_finish = fake_by_name_finish;
	rk->lookup_by_name_with_flags_async = fake_by_name_flags_async;
	rk->lookup_by_name_with_flags_finish = fake_by_name_finish;
	rk->lookup_records_async = fake_records_async;
	rk->lookup_records_finish = fake_records_finish;
}

static FakeResolver *fake_install(void)
{
	FakeResolver *f = g_object_new(fake_resolver_get_type(), NULL);
	f->prev = g_resolver_get_default();
	g_resolver_set_default(G_RESOLVER(f));
	return f;
}

static void fake_remove(FakeResolver *f)
{
	g_resolver_set_default(f->prev);
	g_object_unref(f->prev);
	g_object_unref(f);
}

static void run_query(sip_resolve_opts *o, result *r)
{
	sip_resolve_start(o, on_result, r);
	g_main_loop_run(r->loop);
}

static void test_fake_srv(void)
{
	FakeResolver *f = fake_install();
	result r = { .loop = g_main_loop_new(NULL, FALSE) };
	char buf[80];
	/* transport parameter udp, no port: _sip._udp SRV, then A/AAAA */
	sip_resolve_opts o = { .host = "srv.test", .has_transport = true, .transport = SIP_TP_UDP };
	run_query(&o, &r);
	g_assert_cmpint(r.err, ==, 0);
	g_assert_cmpuint(r.n, ==, 3);
	g_assert_cmpstr(jn_addr_str(&r.t[0].addr, buf, sizeof buf), ==, "192.0.2.1:15671");
	g_assert_cmpstr(jn_addr_str(&r.t[1].addr, buf, sizeof buf), ==, "192.0.2.2:15672");
	g_assert_cmpstr(jn_addr_str(&r.t[2].addr, buf, sizeof buf), ==, "[2001:db8::2]:15672");
	g_assert_cmpint(r.t[0].transport, ==, SIP_TP_UDP);

	/* no transport parameter: TLS, then TCP answers; UDP is never asked */
	o = (sip_resolve_opts){ .host = "tcp.test" };
	run_query(&o, &r);
	g_assert_cmpint(r.err, ==, 0);
	g_assert_cmpuint(r.n, ==, 1);
	g_assert_cmpint(r.t[0].transport, ==, SIP_TP_TCP);
	g_assert_cmpstr(jn_addr_str(&r.t[0].addr, buf, sizeof buf), ==, "192.0.2.7:5080");

	/* no SRV at all: A of the host on 5060, UDP */
	unsigned before = f->queries;
	o = (sip_resolve_opts){ .host = "plain.test" };
	run_query(&o, &r);
	g_assert_cmpint(r.err, ==, 0);
	g_assert_cmpuint(f->queries - before, ==, 4); /* 3 SRV + 1 A */
	g_assert_cmpint(r.t[0].transport, ==, SIP_TP_UDP);
	g_assert_cmpstr(jn_addr_str(&r.t[0].addr, buf, sizeof buf), ==, "192.0.2.9:5060");

	/* explicit port: A only, no SRV query */
	before = f->queries;
	o = (sip_resolve_opts){ .host = "srv.test", .port = 5099 };
	run_query(&o, &r);
	g_assert_cmpuint(f->queries - before, ==, 1);
	g_assert_cmpint(r.err, ==, ENOENT);
	g_assert_cmpuint(r.n, ==, 0);
	g_main_loop_unref(r.loop);
	fake_remove(f);
}

/* A lookup that never answers ends in ETIMEDOUT, once. */
static void test_fake_timeout(void)
{
	FakeResolver *f = fake_install();
	result r = { .loop = g_main_loop_new(NULL, FALSE) };
	sip_resolve_opts o = { .host = "hang.test", .timeout_s = 1 };
	run_query(&o, &r);
	g_assert_cmpint(r.calls, ==, 1);
	g_assert_cmpint(r.err, ==, ETIMEDOUT);
	/* cancelling while the lookup hangs: no callback at all */
	o.port = 5060;
	sip_resolve_cancel(sip_resolve_start(&o, on_result, &r));
	g_timeout_add(100, quit_soon, r.loop);
	g_main_loop_run(r.loop);
	g_assert_cmpint(r.calls, ==, 1);
	g_main_loop_unref(r.loop);
	fake_remove(f);
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
	g_test_add_func("/sip-resolve/fake/srv", test_fake_srv);
	g_test_add_func("/sip-resolve/fake/timeout", test_fake_timeout);
	return g_test_run();
}
