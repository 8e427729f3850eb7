/* HTTP plumbing. Threads: libmicrohttpd's own thread reads requests and
 * writes responses; handlers run on the core thread. A request crosses
 * exactly twice: posted to the core after its body is read, and handed back
 * (with MHD_resume_connection) when the core responds. */
#include "api/http.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/net.h"

#define JN_LOG_TAG "http"

typedef struct {
	char *method;
	char **parts; /* path split on '/', "{x}" marks a parameter */
	bool auth;
	jn_http_handler fn;
	void *user;
} route;

struct jn_http {
	struct MHD_Daemon *mhd;
	GPtrArray *routes;
	char **tokens;
	size_t max_body;
	char *static_root;
	char *listen;
};

struct jn_http_req {
	jn_http *h;
	struct MHD_Connection *conn;
	char *method, *path;
	GString *body;
	bool too_big;
	bool posted;
	GHashTable *params;
	json_t *json;
	/* Filled on the core thread, read on the MHD thread after resume. */
	GMutex lock;
	struct MHD_Response *resp;
	unsigned status;
	const route *rt;
};

static void route_free(gpointer p)
{
	route *r = p;
	g_free(r->method);
	g_strfreev(r->parts);
	g_free(r);
}

void jn_http_route(jn_http *h, const char *method, const char *pattern, bool auth,
		   jn_http_handler fn, void *user)
{
	route *r = g_new0(route, 1);
	r->method = g_strdup(method);
	r->parts = g_strsplit(pattern, "/", -1);
	r->auth = auth;
	r->fn = fn;
	r->user = user;
	g_ptr_array_add(h->routes, r);
}

void jn_http_static(jn_http *h, const char *root)
{
	g_free(h->static_root);
	h->static_root = g_strdup(root);
}

/* Returns the route matching path; *path_known tells a 405 from a 404. */
static const route *match(jn_http *h, jn_http_req *r, bool *path_known)
{
	char **parts = g_strsplit(r->path, "/", -1);
	const route *found = NULL;
	guint n = g_strv_length(parts);
	*path_known = false;
	for (guint i = 0; i < h->routes->len && !found; i++) {
		const route *rt = g_ptr_array_index(h->routes, i);
		if (g_strv_length(rt->parts) != n)
			continue;
		bool ok = true;
		for (guint j = 0; j < n && ok; j++) {
			const char *p = rt->parts[j];
			if (p[0] == '{')
				ok = parts[j][0] != '\0';
			else
				ok = strcmp(p, parts[j]) == 0;
		}
		if (!ok)
			continue;
		*path_known = true;
		if (strcmp(rt->method, r->method) != 0)
			continue;
		found = rt;
		for (guint j = 0; j < n; j++) {
			const char *p = rt->parts[j];
			if (p[0] == '{') {
				char *name = g_strndup(p + 1, strlen(p) - 2);
				g_hash_table_replace(r->params, name, g_uri_unescape_string(parts[j], NULL));
			}
		}
	}
	g_strfreev(parts);
	return found;
}

static bool token_ok(jn_http *h, jn_http_req *r)
{
	const char *a = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	if (!a || g_ascii_strncasecmp(a, "Bearer ", 7) != 0)
		return false;
	a += 7;
	bool ok = false;
	size_t alen = strlen(a);
	/* Compare against every token in constant time per token. */
	for (int i = 0; h->tokens && h->tokens[i]; i++) {
		size_t tl = strlen(h->tokens[i]);
		unsigned diff = (unsigned)(tl ^ alen);
		for (size_t k = 0; k < tl; k++)
			diff |= (unsigned)(h->tokens[i][k] ^ (k < alen ? a[k] : 0));
		ok |= diff == 0;
	}
	return ok;
}

static struct MHD_Response *json_response(json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct MHD_Response *resp;
	if (text) {
		size_t n = strlen(text);
		text = g_realloc(text, n + 2);
		text[n] = '\n';
		text[n + 1] = '\0';
		resp = MHD_create_response_from_buffer(n + 1, text, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, "Content-Type", "application/json");
	} else {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	json_decref(body);
	return resp;
}

static void set_response(jn_http_req *r, unsigned status, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	g_mutex_lock(&r->lock);
	if (r->resp) {
		g_mutex_unlock(&r->lock);
		MHD_destroy_response(resp);
		g_critical("http: %s %s answered twice", r->method, r->path);
		return;
	}
	r->resp = resp;
	r->status = status;
	bool resume = r->posted;
	g_mutex_unlock(&r->lock);
	if (resume)
		MHD_resume_connection(r->conn);
}

void jn_http_respond(jn_http_req *r, unsigned status, json_t *body)
{
	set_response(r, status, json_response(body));
}

void jn_http_respond_raw(jn_http_req *r, unsigned status, const char *ctype, const void *body, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(resp, "Content-Type", ctype);
	set_response(r, status, resp);
}

void jn_http_error(jn_http_req *r, unsigned status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	jn_http_respond(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
	g_free(msg);
}

const char *jn_http_req_method(const jn_http_req *r) { return r->method; }
const char *jn_http_req_path(const jn_http_req *r) { return r->path; }
const char *jn_http_req_param(const jn_http_req *r, const char *name)
{
	return g_hash_table_lookup(r->params, name);
}
const char *jn_http_req_query(const jn_http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}
const char *jn_http_req_header(const jn_http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}
const char *jn_http_req_body(const jn_http_req *r, size_t *len)
{
	*len = r->body->len;
	return r->body->str;
}

json_t *jn_http_req_json(jn_http_req *r)
{
	json_error_t err;
	if (r->json)
		return r->json;
	if (r->body->len == 0) {
		jn_http_error(r, 400, "bad_json", "request body must be a JSON object");
		return NULL;
	}
	r->json = json_loadb(r->body->str, r->body->len, JSON_REJECT_DUPLICATES, &err);
	if (!r->json) {
		jn_http_error(r, 400, "bad_json", "invalid JSON at line %d column %d: %s",
			      err.line, err.column, err.text);
		return NULL;
	}
	if (!json_is_object(r->json)) {
		json_decref(r->json);
		r->json = NULL;
		jn_http_error(r, 400, "bad_json", "request body must be a JSON object");
		return NULL;
	}
	return r->json;
}

static gboolean run_on_core(gpointer data)
{
	jn_http_req *r = data;
	r->rt->fn(r, r->rt->user);
	return G_SOURCE_REMOVE;
}

static const char *mime_of(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
		{ ".wav", "audio/wav" }, { ".ico", "image/x-icon" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
		if (g_str_has_suffix(path, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

/* Static pages: only plain relative paths under the root, no dot segments. */
static bool serve_static(jn_http *h, jn_http_req *r)
{
	if (!h->static_root || strcmp(r->method, "GET") != 0 || strstr(r->path, "..") ||
	    strchr(r->path, '\\') || g_str_has_prefix(r->path, "/api/"))
		return false;
	const char *rel = r->path + 1;
	char *file = g_build_filename(h->static_root, *rel ? rel : "index.html", NULL);
	if (g_file_test(file, G_FILE_TEST_IS_DIR)) {
		char *idx = g_build_filename(file, "index.html", NULL);
		g_free(file);
		file = idx;
	}
	char *data = NULL;
	gsize len = 0;
	bool ok = g_file_get_contents(file, &data, &len, NULL);
	if (ok) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, "Content-Type", mime_of(file));
		set_response(r, 200, resp);
	}
	g_free(file);
	return ok;
}

static void dispatch(jn_http *h, jn_http_req *r)
{
	bool known;
	if (r->too_big) {
		jn_http_error(r, 413, "body_too_large", "request body is larger than %zu bytes", h->max_body);
		return;
	}
	r->rt = match(h, r, &known);
	if (!r->rt) {
		if (known)
			jn_http_error(r, 405, "method_not_allowed", "%s is not allowed on %s", r->method, r->path);
		else if (!serve_static(h, r))
			jn_http_error(r, 404, "not_found", "no such resource: %s", r->path);
		return;
	}
	if (r->rt->auth && !token_ok(h, r)) {
		jn_http_error(r, 401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer TOKEN)");
		return;
	}
	g_mutex_lock(&r->lock);
	r->posted = true;
	g_mutex_unlock(&r->lock);
	MHD_suspend_connection(r->conn);
	g_main_context_invoke(NULL, run_on_core, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	jn_http *h = cls;
	jn_http_req *r = *con_cls;

	if (!r) {
		r = g_new0(jn_http_req, 1);
		r->h = h;
		r->conn = conn;
		r->method = g_strdup(method);
		r->path = g_strdup(url);
		r->body = g_string_new(NULL);
		r->params = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		g_mutex_init(&r->lock);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->body->len + *upload_size > h->max_body)
			r->too_big = true;
		else
			g_string_append_len(r->body, upload, (gssize)*upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	g_mutex_lock(&r->lock);
	struct MHD_Response *resp = r->resp;
	bool posted = r->posted;
	g_mutex_unlock(&r->lock);
	if (!resp && !posted) {
		dispatch(h, r);
		g_mutex_lock(&r->lock);
		resp = r->resp;
		g_mutex_unlock(&r->lock);
	}
	if (!resp)
		return MHD_YES; /* suspended until the core responds */
	enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	jn_http_req *r = *con_cls;
	if (!r)
		return;
	if (r->resp)
		MHD_destroy_response(r->resp);
	g_free(r->method);
	g_free(r->path);
	g_string_free(r->body, TRUE);
	g_hash_table_destroy(r->params);
	json_decref(r->json);
	g_mutex_clear(&r->lock);
	g_free(r);
	*con_cls = NULL;
}

jn_http *jn_http_new(const jn_http_opts *o)
{
	jn_http *h = g_new0(jn_http, 1);
	h->routes = g_ptr_array_new_with_free_func(route_free);
	h->tokens = g_strdupv((char **)o->tokens);
	h->max_body = o->max_body ? o->max_body : 1 << 20;
	h->listen = g_strdup(o->listen);
	return h;
}

bool jn_http_start(jn_http *h, char **err)
{
	jn_addr a;
	char buf[256];
	if (jn_addr_parse(h->listen, 0, &a) != 0) {
		*err = g_strdup_printf("http_listen \"%s\" is not an IP address with port", h->listen);
		return false;
	}
	/* Bind ourselves so a busy port is reported as such. */
	int fd = jn_net_listen(SOCK_STREAM, &a, buf, sizeof buf);
	if (fd < 0) {
		*err = g_strdup_printf("cannot listen for HTTP on %s", buf);
		return false;
	}
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
				  MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
				  0, NULL, NULL, on_request, h,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
				  MHD_OPTION_END);
	if (!h->mhd) {
		close(fd);
		*err = g_strdup_printf("cannot start the HTTP server on %s", h->listen);
		return false;
	}
	return true;
}

void jn_http_free(jn_http *h)
{
	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	g_ptr_array_free(h->routes, TRUE);
	g_strfreev(h->tokens);
	g_free(h->static_root);
	g_free(h->listen);
	g_free(h);
}
