/* Benchmark: dial plan lookups on a 1,000-route table.
 *
 * The table looks like a real one: 800 DIDs delivered by a trunk
 * (^\+1555NNNN$ -> user:u$1), 150 international prefixes (^00CC(\d+)$ ->
 * trunk, strip + prepend), 49 short extensions and a catch-all. Lookups
 * cycle through DIDs, outbound numbers, extensions and misses.
 *
 * Floor, measured in the same run: one GRegex match (with its GMatchInfo,
 * as any router needs for $1) of a DID pattern against a DID. The goal is a
 * lookup in a thousand routes costing at most twice that one match; the
 * linear lookup (every route in order) is printed to show what the prefix
 * index saves. */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/config.h"
#include "server/route.h"

#define ITER 200000

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct {
	jn_route_party kind;
	const char *who;
	char dialled[32];
} query;

int main(void)
{
	/* Few distinct values: the config interns every value it returns. */
	GString *s = g_string_new("[trunk:itsp]\nhost = 127.0.0.1\n[trunk:intl]\nhost = 127.0.0.2\n");
	for (int i = 0; i < 800; i++)
		g_string_append_printf(s, "[user:u%04d]\npassword = x\n", i);
	for (int i = 0; i < 800; i++)
		g_string_append_printf(s, "[route:did%d]\nmatch = ^\\+1555(%04d)$\nfrom = trunk:itsp\n"
				       "target = user:u$1\n", i, i);
	for (int cc = 1; cc <= 150; cc++)
		g_string_append_printf(s, "[route:cc%d]\nmatch = ^00%d(\\d+)$\ntarget = trunk:intl\n"
				       "strip = 2\nprepend = +\n", cc, cc);
	for (int e = 3; e <= 51; e++)
		g_string_append_printf(s, "[route:ext%d]\nmatch = ^%d(\\d\\d)$\ntarget = user:u0$1%d\n",
				       e, e, e % 10);
	g_string_append(s, "[route:default]\nmatch = ^(\\d+)$\ntarget = trunk:itsp\npriority = 1000\n");

	GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
	jn_config *cfg = jn_config_load_data(s->str, s->len, "bench.conf", e);
	jn_route_table *t = cfg ? jn_route_table_new(cfg, e) : NULL;
	if (!t) {
		for (guint i = 0; i < e->len; i++)
			fprintf(stderr, "%s\n", (char *)g_ptr_array_index(e, i));
		return 1;
	}
	if (jn_route_table_size(t) != 1000) {
		fprintf(stderr, "table has %u routes\n", jn_route_table_size(t));
		return 1;
	}

	query q[64];
	for (int i = 0; i < 64; i++) {
		switch (i % 4) {
		case 0: /* a DID, spread over the table */
		case 1:
			q[i] = (query){ JN_ROUTE_TRUNK, "itsp", "" };
			g_snprintf(q[i].dialled, sizeof q[i].dialled, "+1555%04d", (i * 97) % 800);
			break;
		case 2: /* international */
			q[i] = (query){ JN_ROUTE_USER, "u0001", "" };
			g_snprintf(q[i].dialled, sizeof q[i].dialled, "00%d207946%04d", 1 + (i * 7) % 150, i);
			break;
		default: /* an extension, or nothing */
			q[i] = (query){ JN_ROUTE_USER, "u0002", "" };
			g_snprintf(q[i].dialled, sizeof q[i].dialled, i % 8 == 3 ? "%d07" : "nobody%d", 3 + i % 40);
			break;
		}
	}
	/* Every query gets the same answer both ways (and a real one). */
	int found = 0;
	for (int i = 0; i < 64; i++) {
		jn_route_result a, b;
		int r1 = jn_route_lookup(t, q[i].kind, q[i].who, q[i].dialled, -1, &a);
		int r2 = jn_route_lookup_linear(t, q[i].kind, q[i].who, q[i].dialled, -1, &b);
		if (r1 != r2 || (r1 == 0 && strcmp(a.route, b.route))) {
			fprintf(stderr, "index and linear lookups disagree on %s\n", q[i].dialled);
			return 1;
		}
		found += r1 == 0;
	}

	jn_route_result res;
	volatile int sink = 0;
	double t0 = cpu_ns();
	for (int i = 0; i < ITER; i++)
		sink += jn_route_lookup(t, q[i & 63].kind, q[i & 63].who, q[i & 63].dialled, -1, &res);
	double lookup_ns = (cpu_ns() - t0) / ITER;

	t0 = cpu_ns();
	for (int i = 0; i < ITER / 20; i++)
		sink += jn_route_lookup_linear(t, q[i & 63].kind, q[i & 63].who, q[i & 63].dialled, -1, &res);
	double linear_ns = (cpu_ns() - t0) / (ITER / 20);

	GRegex *re = g_regex_new("^\\+1555(\\d{4})$", G_REGEX_OPTIMIZE, 0, NULL);
	t0 = cpu_ns();
	for (int i = 0; i < ITER; i++) {
		GMatchInfo *mi = NULL;
		sink += g_regex_match_full(re, q[(i & 15) * 4].dialled, -1, 0, 0, &mi, NULL);
		g_match_info_free(mi);
	}
	double regex_ns = (cpu_ns() - t0) / ITER;
	(void)sink;

	printf("bench: route_lookup_1000 %.0f ns\n", lookup_ns);
	printf("bench: route_lookup_linear_1000 %.0f ns\n", linear_ns);
	printf("bench: gregex_match_one %.0f ns\n", regex_ns);
	printf("bench: route_queries_routed %d of 64\n", found);
	printf("ratio: route_lookup_vs_regex %.2f (goal <= 2)\n", lookup_ns / regex_ns);

	g_regex_unref(re);
	jn_route_table_free(t);
	jn_config_free(cfg);
	g_ptr_array_free(e, TRUE);
	g_string_free(s, TRUE);
	return 0;
}
