/* jn_rest: the REST API (v1) routes. */
#ifndef JN_REST_H
#define JN_REST_H

#include "api/http.h"

typedef struct jn_rest jn_rest;

typedef struct {
	const char *version;
	gint64 started_us; /* g_get_monotonic_time() at start */
	/* Returns false while the daemon drains (health then reports "draining"). */
	bool (*accepting)(void *user);
	void *user;
} jn_rest_opts;

/* Registers every route on h. */
jn_rest *jn_rest_new(jn_http *h, const jn_rest_opts *opts);
void jn_rest_free(jn_rest *r);

#endif
