#include "api/rest.h"

struct jn_rest {
	jn_rest_opts o;
};

static void health(jn_http_req *req, void *user)
{
	jn_rest *r = user;
	bool up = !r->o.accepting || r->o.accepting(r->o.user);
	gint64 uptime = (g_get_monotonic_time() - r->o.started_us) / G_USEC_PER_SEC;
	jn_http_respond(req, up ? 200 : 503,
			json_pack("{s:s,s:s,s:I}", "status", up ? "ok" : "draining",
				  "version", r->o.version, "uptime_s", (json_int_t)uptime));
}

jn_rest *jn_rest_new(jn_http *h, const jn_rest_opts *opts)
{
	jn_rest *r = g_new0(jn_rest, 1);
	r->o = *opts;
	jn_http_route(h, "GET", "/api/v1/health", false, health, r);
	return r;
}

void jn_rest_free(jn_rest *r)
{
	g_free(r);
}
