/* jn_http: the HTTP listener (libmicrohttpd) and its route table.
 *
 * libmicrohttpd runs its own thread. A request is read there (body capped),
 * the connection is suspended, and the route's handler runs on the core
 * thread, which owns all call state. The handler answers with
 * jn_http_respond (at once or later); that resumes the connection. */
#ifndef JN_HTTP_H
#define JN_HTTP_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

typedef struct jn_http jn_http;
typedef struct jn_http_req jn_http_req;

/* Runs on the core thread. params holds the {name} parts of the path. */
typedef void (*jn_http_handler)(jn_http_req *req, void *user);

typedef struct {
	const char *listen;        /* "127.0.0.1:8080" */
	const char *const *tokens; /* accepted bearer tokens, NULL-terminated */
	size_t max_body;           /* bytes; larger bodies get 413 */
} jn_http_opts;

/* Creates the server; add routes, then start it. */
jn_http *jn_http_new(const jn_http_opts *opts);
/* Opens the listener. false with err set ("cannot listen for HTTP on
 * 127.0.0.1:8080: Address already in use") when it cannot. */
bool jn_http_start(jn_http *h, char **err);
void jn_http_free(jn_http *h);

/* Adds a route (before jn_http_start). pattern: "/api/v1/calls/{id}/hold"; method "GET", "POST"...
 * auth: whether a bearer token is required. Call before requests arrive. */
void jn_http_route(jn_http *h, const char *method, const char *pattern, bool auth,
		   jn_http_handler fn, void *user);
/* Serves files under root for GET paths no route claims ("/" -> index.html). */
void jn_http_static(jn_http *h, const char *root);

const char *jn_http_req_method(const jn_http_req *r);
const char *jn_http_req_path(const jn_http_req *r);
const char *jn_http_req_param(const jn_http_req *r, const char *name);
const char *jn_http_req_query(const jn_http_req *r, const char *name);
const char *jn_http_req_header(const jn_http_req *r, const char *name);
/* The body parsed as a JSON object; NULL (and 400 sent) if it is not one. */
json_t *jn_http_req_json(jn_http_req *r);
const char *jn_http_req_body(const jn_http_req *r, size_t *len);

/* Sends status with body (a JSON value; stolen; NULL for none). Once per request. */
void jn_http_respond(jn_http_req *r, unsigned status, json_t *body);
/* Sends {"error":{"code":code,"message":...}} with status. */
void jn_http_error(jn_http_req *r, unsigned status, const char *code, const char *fmt, ...)
	G_GNUC_PRINTF(4, 5);
/* Sends a non-JSON body (copied). */
void jn_http_respond_raw(jn_http_req *r, unsigned status, const char *content_type,
			 const void *body, size_t len);

#endif
