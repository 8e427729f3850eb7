/* jn_route: the dial plan. Which target a dialled number reaches, for whom.
 *
 * A table is built once from the loaded config ([route:NAME] sections) and
 * is read-only afterwards: lookups allocate nothing of ours and may run on
 * any thread. Routes are tried by priority (lower first), then file order;
 * the first route whose regex matches the dialled string AND whose `from`
 * admits the caller AND whose target (after $1.. expansion) names something
 * that exists wins. See docs/routing-and-cdr.md for the rules.
 *
 * jn_route_limits counts concurrent calls per user and per trunk against
 * their max_calls; it is mutable and belongs to the core thread. */
#ifndef JN_ROUTE_H
#define JN_ROUTE_H

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/config.h"

/* Longest dialled string accepted (bytes); longer input is rejected. */
#define JN_ROUTE_DIALLED_MAX 128
/* Longest user, trunk or conference name a target may expand to. */
#define JN_ROUTE_NAME_MAX 64
/* Longest rewritten number (prepend + what is left after strip). */
#define JN_ROUTE_NUMBER_MAX 256

typedef struct jn_route_table jn_route_table;

/* Who is calling. The call layer decides this from authentication: a user
 * who passed digest auth, a trunk recognised by its address, or nobody. */
typedef enum {
	JN_ROUTE_ANONYMOUS = 0,
	JN_ROUTE_USER,
	JN_ROUTE_TRUNK,
} jn_route_party;

typedef enum {
	JN_ROUTE_TO_USER = 0,
	JN_ROUTE_TO_TRUNK,
	JN_ROUTE_TO_CONFERENCE,
	JN_ROUTE_TO_ECHO,
} jn_route_target;

/* What a successful lookup returns; fixed buffers, so no allocation. */
typedef struct {
	jn_route_target kind;
	const char *route;                  /* route name; owned by the table */
	char name[JN_ROUTE_NAME_MAX + 1];   /* user/trunk/conference; "" for echo */
	char number[JN_ROUTE_NUMBER_MAX + 1]; /* dialled string after strip + prepend */
} jn_route_result;

/* Lookup outcomes besides 0. */
#define JN_ROUTE_ENOROUTE ENOENT  /* nothing matched (SIP 404, HTTP 404) */
#define JN_ROUTE_EFORBIDDEN EACCES /* a route matched, not for this caller (403) */
#define JN_ROUTE_EINVAL EINVAL    /* dialled string too long / control bytes / not UTF-8 */

/* Builds the table from cfg (which must outlive nothing: names are copied).
 * Returns NULL and appends "route:NAME: what" strings to errors when a route
 * cannot be used (bad regex, $N beyond the regex's groups, bad target). */
jn_route_table *jn_route_table_new(const jn_config *cfg, GPtrArray *errors);
void jn_route_table_free(jn_route_table *t);
/* Number of routes in the table. */
guint jn_route_table_size(const jn_route_table *t);

/* Routes `dialled` (len bytes, or -1 if NUL-terminated) for a caller.
 * caller_name is the user or trunk name (ignored for anonymous). Returns 0
 * and fills *out, or JN_ROUTE_ENOROUTE, JN_ROUTE_EFORBIDDEN, JN_ROUTE_EINVAL.
 * A user or trunk caller that the config does not know gets EFORBIDDEN. */
int jn_route_lookup(const jn_route_table *t, jn_route_party caller_kind,
		    const char *caller_name, const char *dialled, gssize len,
		    jn_route_result *out);

/* The reference: the same answer, found by matching every route's regex in
 * order (no prefix index, no literal fast path). Slow; for tests and the
 * fuzzer, which check that both agree. */
int jn_route_lookup_linear(const jn_route_table *t, jn_route_party caller_kind,
			   const char *caller_name, const char *dialled, gssize len,
			   jn_route_result *out);

/* Maps a lookup result to the SIP final status to send (0 -> 0). Invalid
 * input answers 404 like a missing route, so probing learns nothing. */
int jn_route_sip_status(int rc);
/* Maps a lookup result to an HTTP status and a JSON error code
 * ("no_route", "forbidden", "invalid_number"); 0 -> 200, NULL. */
int jn_route_http_status(int rc);
const char *jn_route_error_code(int rc);
/* "user", "trunk", "conference", "echo". */
const char *jn_route_target_str(jn_route_target kind);

/* Per-user and per-trunk concurrent call counters. */
typedef struct jn_route_limits jn_route_limits;

/* Reads max_calls of every [user:NAME] and [trunk:NAME]. */
jn_route_limits *jn_route_limits_new(const jn_config *cfg);
void jn_route_limits_free(jn_route_limits *l);
/* Takes new maxima from a reloaded config; calls in progress keep counting
 * (a user or trunk that disappeared gets max 0 until its calls end). */
void jn_route_limits_reload(jn_route_limits *l, const jn_config *cfg);
/* Takes one call slot. 0, EBUSY when max_calls is reached, ENOENT for a
 * name the config does not know, EINVAL for JN_ROUTE_ANONYMOUS. */
int jn_route_limits_acquire(jn_route_limits *l, jn_route_party kind, const char *name);
/* Gives a slot back. 0, or EINVAL when nothing was held (a caller bug:
 * the count never goes below zero). */
int jn_route_limits_release(jn_route_limits *l, jn_route_party kind, const char *name);
/* Calls held now by a user or trunk (0 for unknown names). */
guint jn_route_limits_active(const jn_route_limits *l, jn_route_party kind, const char *name);

#endif
