#include "sip/sip_resolve.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>

/* --- pure parts ----------------------------------------------------------- */

const char *sip_resolve_srv_prefix(sip_tp_kind tp)
{
	switch (tp) {
	case SIP_TP_TLS: return "_sips._tcp";
	case SIP_TP_TCP: return "_sip._tcp";
	default: return "_sip._udp";
	}
}

size_t sip_resolve_services(const sip_resolve_opts *o, sip_tp_kind out[3])
{
	if (o->has_transport) {
		/* sips over anything but TLS makes no sense: TLS it is. */
		out[0] = o->sips ? SIP_TP_TLS : o->transport;
		return 1;
	}
	if (o->sips) {
		out[0] = SIP_TP_TLS;
		return 1;
	}
	/* RFC 3263 §4.1 without NAPTR: query each supported transport; our
	 * preference is the most secure one first. */
	out[0] = SIP_TP_TLS;
	out[1] = SIP_TP_TCP;
	out[2] = SIP_TP_UDP;
	return 3;
}

static int srv_cmp_priority(const void *a, const void *b)
{
	const sip_resolve_srv *x = a, *y = b;
	return (int)x->priority - (int)y->priority;
}

/* RFC 2782: within one priority, zero-weight records go first, then each
 * pick draws r in [0, sum of remaining weights] and takes the first record
 * whose running sum reaches r. A group of all-zero weights keeps its order
 * (r is always 0). n is capped by the caller, so O(n^2) is bounded. */
static void order_group(sip_resolve_srv *g, size_t n, uint32_t (*rnd)(void *), void *user)
{
	size_t z = 0;
	for (size_t i = 0; i < n; i++)
		if (g[i].weight == 0) {
			sip_resolve_srv t = g[i];
			memmove(&g[z + 1], &g[z], (i - z) * sizeof *g);
			g[z++] = t;
		}
	for (size_t done = 0; done + 1 < n; done++) {
		uint64_t sum = 0;
		for (size_t i = done; i < n; i++)
			sum += g[i].weight;
		uint64_t r = rnd(user) % (sum + 1), run = 0;
		size_t pick = n - 1;
		for (size_t i = done; i < n; i++) {
			run += g[i].weight;
			if (run >= r) {
				pick = i;
				break;
			}
		}
		sip_resolve_srv t = g[pick];
		memmove(&g[done + 1], &g[done], (pick - done) * sizeof *g);
		g[done] = t;
	}
}

void sip_resolve_srv_order(sip_resolve_srv *recs, size_t n, uint32_t (*rnd)(void *), void *user)
{
	if (n < 2)
		return;
	/* qsort is not stable; equal priorities get reordered by weight anyway. */
	qsort(recs, n, sizeof *recs, srv_cmp_priority);
	size_t start = 0;
	for (size_t i = 1; i <= n; i++)
		if (i == n || recs[i].priority != recs[start].priority) {
			order_group(&recs[start], i - start, rnd, user);
			start = i;
		}
}

size_t sip_resolve_add_target(sip_resolve_target *out, size_t n, size_t cap, sip_tp_kind tp,
			      const char *addr, uint16_t port)
{
	if (n >= cap)
		return n;
	sip_resolve_target t = { .transport = tp };
	if (jn_addr_parse(addr, port, &t.addr) != 0)
		return n;
	jn_addr_set_port(&t.addr, port);
	for (size_t i = 0; i < n; i++)
		if (out[i].transport == tp && jn_addr_equal(&out[i].addr, &t.addr))
			return n;
	out[n] = t;
	return n + 1;
}

/* --- the asynchronous lookup ---------------------------------------------- */

struct sip_resolve_query {
	int refs;               /* the query itself + one per GResolver call out */
	bool done;              /* fn ran or the caller cancelled */
	sip_resolve_fn fn;
	void *user;
	sip_resolve_opts o;
	char *host;
	GResolver *res;
	GCancellable *cancel;
	guint timer, idle;
	sip_tp_kind svc[3];
	size_t n_svc, svc_i;
	sip_resolve_srv srv[SIP_RESOLVE_MAX_SRV];
	char *srv_target[SIP_RESOLVE_MAX_SRV];
	GList *srv_addrs[SIP_RESOLVE_MAX_SRV];
	size_t n_srv, pending;
	sip_resolve_target t[SIP_RESOLVE_MAX_TARGETS];
	size_t n_t;
};

typedef struct {
	sip_resolve_query *q;
	size_t idx;
} srv_lookup;

static void q_clear_srv(sip_resolve_query *q)
{
	for (size_t i = 0; i < q->n_srv; i++) {
		g_free(q->srv_target[i]);
		g_resolver_free_addresses(q->srv_addrs[i]);
		q->srv_target[i] = NULL;
		q->srv_addrs[i] = NULL;
	}
	q->n_srv = 0;
}

static void q_unref(sip_resolve_query *q)
{
	if (--q->refs > 0)
		return;
	q_clear_srv(q);
	g_clear_object(&q->cancel);
	g_clear_object(&q->res);
	g_free(q->host);
	g_free(q);
}

static void finish(sip_resolve_query *q, int err)
{
	if (q->done)
		return;
	q->done = true;
	if (q->timer)
		g_source_remove(q->timer);
	if (q->idle)
		g_source_remove(q->idle);
	q->timer = q->idle = 0;
	g_cancellable_cancel(q->cancel); /* lookups still out come back cancelled */
	if (err == 0 && q->n_t == 0)
		err = ENOENT;
	q->fn(q->user, err, q->t, err ? 0 : q->n_t);
	q_unref(q);
}

static uint16_t default_port(const sip_resolve_query *q, sip_tp_kind tp)
{
	return q->o.sips || tp == SIP_TP_TLS ? 5061 : 5060;
}

static sip_tp_kind default_transport(const sip_resolve_query *q)
{
	if (q->o.sips)
		return SIP_TP_TLS;
	return q->o.has_transport ? q->o.transport : SIP_TP_UDP;
}

static void add_addrs(sip_resolve_query *q, GList *addrs, sip_tp_kind tp, uint16_t port)
{
	for (GList *l = addrs; l; l = l->next) {
		char *s = g_inet_address_to_string(l->data);
		q->n_t = sip_resolve_add_target(q->t, q->n_t, SIP_RESOLVE_MAX_TARGETS, tp, s, port);
		g_free(s);
	}
}

/* A/AAAA of the URI host itself (explicit port, or no SRV record). */
static void host_done(GObject *src, GAsyncResult *res, gpointer p)
{
	sip_resolve_query *q = p;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(src), res, NULL);
	if (!q->done) {
		sip_tp_kind tp = default_transport(q);
		add_addrs(q, addrs, tp, q->o.port ? q->o.port : default_port(q, tp));
		finish(q, 0);
	}
	g_resolver_free_addresses(addrs);
	q_unref(q);
}

static void lookup_host(sip_resolve_query *q)
{
	q->refs++;
	g_resolver_lookup_by_name_async(q->res, q->host, q->cancel, host_done, q);
}

static void srv_next(sip_resolve_query *q);

/* All A/AAAA of the SRV targets are in: flatten in SRV order. */
static void srv_assemble(sip_resolve_query *q)
{
	sip_tp_kind tp = q->svc[q->svc_i];
	for (size_t i = 0; i < q->n_srv; i++)
		add_addrs(q, q->srv_addrs[i], tp, q->srv[i].port);
	finish(q, 0);
}

static void srv_addr_done(GObject *src, GAsyncResult *res, gpointer p)
{
	srv_lookup *sl = p;
	sip_resolve_query *q = sl->q;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(src), res, NULL);
	if (!q->done) {
		q->srv_addrs[sl->idx] = addrs;
		addrs = NULL;
		if (--q->pending == 0)
			srv_assemble(q);
	}
	g_resolver_free_addresses(addrs);
	g_free(sl);
	q_unref(q);
}

static uint32_t glib_rnd(void *user)
{
	(void)user;
	return g_random_int();
}

static void srv_done(GObject *src, GAsyncResult *res, gpointer p)
{
	sip_resolve_query *q = p;
	GList *recs = g_resolver_lookup_records_finish(G_RESOLVER(src), res, NULL);
	if (q->done)
		goto out;
	q_clear_srv(q);
	for (GList *l = recs; l && q->n_srv < SIP_RESOLVE_MAX_SRV; l = l->next) {
		guint16 prio, weight, port;
		const char *target;
		if (!g_variant_is_of_type(l->data, G_VARIANT_TYPE("(qqqs)")))
			continue;
		g_variant_get(l->data, "(qqq&s)", &prio, &weight, &port, &target);
		/* "." means the service is decidedly not offered here (RFC 2782). */
		if (!*target || !strcmp(target, ".") || port == 0)
			continue;
		q->srv_target[q->n_srv] = g_strdup(target);
		q->srv[q->n_srv] = (sip_resolve_srv){ .target = q->srv_target[q->n_srv],
						     .priority = prio, .weight = weight, .port = port };
		q->n_srv++;
	}
	if (q->n_srv == 0) {
		q->svc_i++;
		srv_next(q);
		goto out;
	}
	/* Ordering moves the structs; the strings they point to stay owned by
	 * srv_target[], so re-point them by index afterwards. */
	sip_resolve_srv_order(q->srv, q->n_srv, glib_rnd, NULL);
	for (size_t i = 0; i < q->n_srv; i++) {
		q->srv_target[i] = (char *)q->srv[i].target;
	}
	q->pending = q->n_srv;
	for (size_t i = 0; i < q->n_srv; i++) {
		srv_lookup *sl = g_new0(srv_lookup, 1);
		sl->q = q;
		sl->idx = i;
		q->refs++;
		g_resolver_lookup_by_name_async(q->res, q->srv[i].target, q->cancel, srv_addr_done, sl);
	}
out:
	g_list_free_full(recs, (GDestroyNotify)g_variant_unref);
	q_unref(q);
}

static void srv_next(sip_resolve_query *q)
{
	if (q->svc_i >= q->n_svc) {
		/* No SRV at all: RFC 3263 §4.2, A/AAAA of the host itself. */
		lookup_host(q);
		return;
	}
	char *name = g_strdup_printf("%s.%s", sip_resolve_srv_prefix(q->svc[q->svc_i]), q->host);
	q->refs++;
	g_resolver_lookup_records_async(q->res, name, G_RESOLVER_RECORD_SRV, q->cancel, srv_done, q);
	g_free(name);
}

static gboolean on_timeout(gpointer p)
{
	sip_resolve_query *q = p;
	q->timer = 0;
	finish(q, ETIMEDOUT);
	return G_SOURCE_REMOVE;
}

static gboolean on_literal(gpointer p)
{
	sip_resolve_query *q = p;
	q->idle = 0;
	finish(q, q->n_t ? 0 : EINVAL);
	return G_SOURCE_REMOVE;
}

sip_resolve_query *sip_resolve_start(const sip_resolve_opts *o, sip_resolve_fn fn, void *user)
{
	sip_resolve_query *q = g_new0(sip_resolve_query, 1);
	q->refs = 1;
	q->fn = fn;
	q->user = user;
	q->o = *o;
	const char *h = o->host ? o->host : "";
	size_t hl = strlen(h);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
		q->host = g_strndup(h + 1, hl - 2);
	else
		q->host = g_strdup(h);
	q->o.host = q->host;
	q->cancel = g_cancellable_new();
	if (!*q->host || g_hostname_is_ip_address(q->host) || strchr(q->host, '/')) {
		/* An IP literal (or garbage): no DNS, answered from the loop. */
		if (*q->host && !strchr(q->host, '/')) {
			sip_tp_kind tp = default_transport(q);
			q->n_t = sip_resolve_add_target(q->t, 0, SIP_RESOLVE_MAX_TARGETS, tp, q->host,
							o->port ? o->port : default_port(q, tp));
		}
		q->idle = g_idle_add(on_literal, q);
		return q;
	}
	q->res = g_resolver_get_default();
	q->timer = g_timeout_add_seconds(o->timeout_s ? o->timeout_s : 10, on_timeout, q);
	if (o->port) {
		lookup_host(q);
	} else {
		q->n_svc = sip_resolve_services(&q->o, q->svc);
		srv_next(q);
	}
	return q;
}

void sip_resolve_cancel(sip_resolve_query *q)
{
	if (!q || q->done)
		return;
	q->done = true;
	if (q->timer)
		g_source_remove(q->timer);
	if (q->idle)
		g_source_remove(q->idle);
	q->timer = q->idle = 0;
	g_cancellable_cancel(q->cancel);
	q_unref(q);
}
