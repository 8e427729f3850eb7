/* Fuzz target: dial plan lookups. The first byte picks the caller (kind and
 * name, known or not); the rest is the dialled string, hostile bytes and
 * all. Against a fixed plan with tricky patterns, the indexed lookup must
 * agree with trying every route in order, and whatever comes back must name
 * something that exists and fit its buffers. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"
#include "server/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char plan[] =
	"[user:alice]\npassword = a\n[user:bob]\npassword = b\n[user:1001]\npassword = c\n"
	"[trunk:itsp]\nhost = 127.0.0.1\n[trunk:pbx]\nhost = 127.0.0.2\n"
	"[route:echo]\nmatch = ^echo$\ntarget = echo\n"
	"[route:out]\nmatch = ^9(\\d+)$\ntarget = trunk:itsp\nstrip = 1\nprepend = +1\npriority = 50\n"
	"[route:intl]\nmatch = ^00(\\d\\d)(\\d+)$\ntarget = trunk:pbx\nstrip = 4\nprepend = +$1-$2-$0\n"
	"[route:did]\nmatch = ^\\+?1555(\\d{4})$\nfrom = trunk:itsp\ntarget = user:$1\n"
	"[route:did2]\nmatch = ^2(\\d{3})$\nfrom = trunk:pbx\ntarget = user:bob\n"
	"[route:vip]\nmatch = ^vip$\nfrom = user:alice\ntarget = conference:vip\n"
	"[route:conf]\nmatch = ^conf-(.*)$\ntarget = conference:$1\n"
	"[route:byname]\nmatch = ^u-(.*)$\nfrom = any\ntarget = user:$1\n"
	"[route:ext]\nmatch = ^(\\d{4})$\nfrom = any\ntarget = user:$1\npriority = 20\n"
	"[route:alt]\nmatch = ^12|34\ntarget = echo\n"
	"[route:opt]\nmatch = ^5?6(.)\ntarget = trunk:$1\n"
	"[route:case]\nmatch = (?i)^ab\ntarget = echo\n"
	"[route:class]\nmatch = ^[|]x|y\ntarget = echo\nprepend = $$\n"
	"[route:grp]\nmatch = ^q(r|s)t\ntarget = conference:$1\n"
	"[route:uni]\nmatch = ^é(.)\ntarget = user:$1\nstrip = 2\n"
	"[route:exact]\nmatch = ^(?:mn)o(p)(?<q>1)$\ntarget = conference:$1\nprepend = $2$1$0\n"
	"[route:did3]\nmatch = ^\\+49(30)(\\d)$\nfrom = any\ntarget = echo\nprepend = $2\n"
	"[route:lit]\nmatch = ^(1)(0)(0)(1)$\nfrom = trunk:pbx\ntarget = user:$1$2$3$4\n"
	"[route:any]\nmatch = 7{3}\ntarget = echo\npriority = 900\n";

static const char *const names[] = { "alice", "bob", "1001", "itsp", "pbx", "mallory", "" };

static jn_route_table *table(void)
{
	static jn_route_table *t;
	if (!t) {
		GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
		jn_config *cfg = jn_config_load_data(plan, strlen(plan), "fuzz.conf", e);
		if (!cfg || !(t = jn_route_table_new(cfg, e))) {
			for (guint i = 0; i < e->len; i++)
				fprintf(stderr, "%s\n", (char *)g_ptr_array_index(e, i));
			abort();
		}
		jn_config_free(cfg);
		g_ptr_array_free(e, TRUE);
	}
	return t;
}

static void check_result(const jn_route_result *r)
{
	size_t nl = strnlen(r->name, sizeof r->name);
	size_t ml = strnlen(r->number, sizeof r->number);
	if (nl >= sizeof r->name || ml >= sizeof r->number || !r->route)
		abort();
	bool ok = true;
	switch (r->kind) {
	case JN_ROUTE_TO_USER:
		ok = !strcmp(r->name, "alice") || !strcmp(r->name, "bob") || !strcmp(r->name, "1001");
		break;
	case JN_ROUTE_TO_TRUNK:
		ok = !strcmp(r->name, "itsp") || !strcmp(r->name, "pbx");
		break;
	case JN_ROUTE_TO_CONFERENCE:
		ok = nl > 0 && strspn(r->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789._+-") == nl;
		break;
	case JN_ROUTE_TO_ECHO:
		ok = nl == 0;
		break;
	}
	if (!ok)
		abort();
}

static void same(int rc1, const jn_route_result *a, int rc2, const jn_route_result *b)
{
	if (rc1 != rc2)
		abort();
	if (rc1 == 0 && (strcmp(a->route, b->route) || a->kind != b->kind || strcmp(a->name, b->name) ||
			 strcmp(a->number, b->number)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	jn_route_table *t = table();
	jn_route_party kind = (jn_route_party)(data[0] % 3);
	const char *who = names[(data[0] / 3) % G_N_ELEMENTS(names)];
	const char *dialled = (const char *)data + 1;
	gssize len = (gssize)size - 1;

	jn_route_result a, b;
	int rc1 = jn_route_lookup(t, kind, who, dialled, len, &a);
	int rc2 = jn_route_lookup_linear(t, kind, who, dialled, len, &b);
	same(rc1, &a, rc2, &b);
	if (rc1 == 0)
		check_result(&a);
	if (rc1 != 0 && rc1 != JN_ROUTE_ENOROUTE && rc1 != JN_ROUTE_EFORBIDDEN && rc1 != JN_ROUTE_EINVAL)
		abort();

	/* The NUL-terminated form agrees with the counted one up to any NUL. */
	char *z = g_strndup(dialled, (gsize)len);
	if (strlen(z) == (size_t)len) {
		int rc3 = jn_route_lookup(t, kind, who, z, -1, &b);
		same(rc1, &a, rc3, &b);
	}
	g_free(z);
	return 0;
}
