/* junction: the composition root. The one file that wires config, the core
 * loop, the media workers, the listeners and the API together. */
#include <config.h> /* autoconf: PACKAGE_VERSION */

#include <errno.h>
#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/rest.h"
#include "server/call.h"
#include "server/message.h"
#include "server/channel.h"
#include "server/config.h"
#include "server/route.h"
#include "server/workers.h"
#include "server/wsserver.h"
#include "sip/sip_stack.h"
#include "util/log.h"

#define JN_LOG_TAG "main"

typedef struct {
	jn_config *cfg;
	GMainLoop *loop;
	jn_workers *workers;
	jn_http *http;
	jn_rest *rest;
	jn_ws_server *ws;
	sip_stack *sip;
	jn_channel *channel; /* the "junction" JSON channel (webrtc) */
	jn_call_layer *calls; /* SIP calls (server/call.c) */
	jn_msg_layer *msgs;   /* SIP MESSAGE between users (server/message.c) */
	rtc_dtls_cert *cert;  /* the process's DTLS certificate, shared by every browser leg */
	bool draining;
	guint drain_timer;
	char **tokens;
	int exit_code;
} junction;

static bool is_accepting(void *user)
{
	return !((junction *)user)->draining;
}

static gboolean drain_done(gpointer data)
{
	junction *j = data;
	j->drain_timer = 0;
	jn_info(NULL, "drained; exiting");
	g_main_loop_quit(j->loop);
	return G_SOURCE_REMOVE;
}

/* The call layer's drain finished: no call is left. */
static void calls_drained(void *user)
{
	junction *j = user;
	if (j->drain_timer)
		g_source_remove(j->drain_timer);
	j->drain_timer = g_idle_add(drain_done, j);
}

/* First signal: stop taking new work, let what runs finish (bounded by
 * drain_timeout). Second signal: exit now. */
static gboolean on_signal(gpointer data)
{
	junction *j = data;
	if (j->draining) {
		jn_warn(NULL, "second signal: exiting now");
		g_main_loop_quit(j->loop);
		return G_SOURCE_CONTINUE;
	}
	j->draining = true;
	gint64 timeout = jn_config_int(j->cfg, "general", "drain_timeout");
	jn_info(NULL, "draining: no new calls; exiting when calls end (at most %" G_GINT64_FORMAT " s)",
		timeout);
	/* call layer: new INVITEs get 503; exit when the last call ends or at
	 * drain_timeout, whichever comes first. */
	j->drain_timer = g_timeout_add_seconds((guint)timeout, drain_done, j);
	jn_call_drain(j->calls, calls_drained, j);
	return G_SOURCE_CONTINUE;
}

static char *web_root(const jn_config *cfg)
{
	const char *w = jn_config_str(cfg, "api", "web_root");
	if (*w)
		return g_strdup(w);
	char *installed = g_build_filename(JN_PKGDATADIR, "web", NULL);
	if (g_file_test(installed, G_FILE_TEST_IS_DIR))
		return installed;
	g_free(installed);
	return g_build_filename(JN_SRCDIR, "web", NULL);
}

static char **api_tokens(const jn_config *cfg)
{
	char **t = jn_config_list(cfg, "api", "tokens");
	if (t[0])
		return t;
	g_strfreev(t);
	guint8 raw[18];
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (guint8)g_random_int_range(0, 256);
	char *tok = g_base64_encode(raw, sizeof raw);
	for (char *p = tok; *p; p++)
		if (*p == '+') *p = '-'; else if (*p == '/') *p = '_';
	char **out = g_new0(char *, 2);
	out[0] = tok;
	jn_info(NULL, "no [api] tokens configured; this run's REST token: %s", tok);
	return out;
}

/* The SIP stack from [sip] and every [user:NAME] (sip/ never reads config). */
static sip_stack *start_sip(const jn_config *cfg, bool ws, char **err)
{
	char **names = jn_config_instances(cfg, "user");
	char **algs = jn_config_list(cfg, "sip", "auth_algorithms");
	size_t n = g_strv_length(names);
	sip_stack_user *users = g_new0(sip_stack_user, n + 1);
	char **sections = g_new0(char *, n + 1);
	char **tnames = jn_config_instances(cfg, "trunk");
	size_t nt = g_strv_length(tnames), nreg = 0, nping = 0;
	sip_outreg_opts *trunks = g_new0(sip_outreg_opts, nt + 1);
	sip_optping_opts *pings = g_new0(sip_optping_opts, nt + 1);
	char **tsections = g_new0(char *, nt + 1);
	for (size_t i = 0; i < nt; i++) {
		tsections[i] = g_strconcat("trunk:", tnames[i], NULL);
		const char *tp = jn_config_str(cfg, tsections[i], "transport");
		sip_tp_kind kind = !strcmp(tp, "tcp") ? SIP_TP_TCP : !strcmp(tp, "tls") ? SIP_TP_TLS : SIP_TP_UDP;
		if (jn_config_int(cfg, tsections[i], "options_interval") > 0)
			pings[nping++] = (sip_optping_opts){
				.name = tnames[i], .host = jn_config_str(cfg, tsections[i], "host"),
				.port = (uint16_t)jn_config_int(cfg, tsections[i], "port"), .transport = kind,
				.tls_no_verify = !jn_config_bool(cfg, tsections[i], "tls_verify"),
				.tls_ca_file = jn_config_str(cfg, "sip", "tls_ca_file"),
				.domain = jn_config_str(cfg, tsections[i], "from_domain"),
				.interval_s = (unsigned)jn_config_int(cfg, tsections[i], "options_interval"),
			};
		if (!jn_config_bool(cfg, tsections[i], "register"))
			continue;
		trunks[nreg++] = (sip_outreg_opts){
			.name = tnames[i], .host = jn_config_str(cfg, tsections[i], "host"),
			.port = (uint16_t)jn_config_int(cfg, tsections[i], "port"),
			.transport = kind,
			.tls_no_verify = !jn_config_bool(cfg, tsections[i], "tls_verify"),
			.tls_ca_file = jn_config_str(cfg, "sip", "tls_ca_file"),
			.username = jn_config_str(cfg, tsections[i], "username"),
			.password = jn_config_str(cfg, tsections[i], "password"),
			.domain = jn_config_str(cfg, tsections[i], "from_domain"),
			.expires = (unsigned)jn_config_int(cfg, tsections[i], "expires"),
		};
	}
	for (size_t i = 0; i < n; i++) {
		sections[i] = g_strconcat("user:", names[i], NULL);
		users[i].name = names[i];
		users[i].password = jn_config_str(cfg, sections[i], "password");
		users[i].ha1_md5 = jn_config_str(cfg, sections[i], "ha1_md5");
		users[i].ha1_sha256 = jn_config_str(cfg, sections[i], "ha1_sha256");
	}
	sip_stack_opts so = {
		.udp_listen = jn_config_str(cfg, "sip", "udp_listen"),
		.tcp_listen = jn_config_str(cfg, "sip", "tcp_listen"),
		.tls_listen = jn_config_str(cfg, "sip", "tls_listen"),
		.tls_certificate = jn_config_str(cfg, "sip", "tls_certificate"),
		.tls_private_key = jn_config_str(cfg, "sip", "tls_private_key"),
		.ws = ws, .ws_listen = jn_config_str(cfg, "websocket", "listen"),
		.domain = jn_config_str(cfg, "sip", "domain"),
		.realm = jn_config_str(cfg, "sip", "realm"),
		.user_agent = jn_config_str(cfg, "sip", "user_agent"),
		.auth_algorithms = (const char *const *)algs,
		.nonce_lifetime_s = (unsigned)jn_config_int(cfg, "sip", "nonce_lifetime"),
		.t1 = (unsigned)jn_config_int(cfg, "sip", "t1"),
		.t2 = (unsigned)jn_config_int(cfg, "sip", "t2"),
		.t4 = (unsigned)jn_config_int(cfg, "sip", "t4"),
		.min_expires = (unsigned)jn_config_int(cfg, "sip", "min_expires"),
		.max_expires = (unsigned)jn_config_int(cfg, "sip", "max_expires"),
		.default_expires = (unsigned)jn_config_int(cfg, "sip", "default_expires"),
		.max_message = (size_t)jn_config_int(cfg, "sip", "max_message_size"),
		.max_connections = (unsigned)jn_config_int(cfg, "sip", "max_connections"),
		.tcp_idle_timeout_s = (unsigned)jn_config_int(cfg, "sip", "tcp_idle_timeout"),
		.users = users, .n_users = n, .trunks = trunks, .n_trunks = nreg,
		.pings = pings, .n_pings = nping,
	};
	sip_stack *s = sip_stack_new(&so, err);
	for (size_t i = 0; i < nt; i++)
		g_free(tsections[i]);
	g_free(tsections);
	g_free(trunks);
	g_free(pings);
	g_strfreev(tnames);
	for (size_t i = 0; i < n; i++)
		g_free(sections[i]);
	g_free(sections);
	g_free(users);
	g_strfreev(algs);
	g_strfreev(names);
	return s;
}

/* The browser JSON channel, sharing the process's DTLS certificate. */
static jn_channel *start_channel(const jn_config *cfg, jn_workers *workers, rtc_dtls_cert *cert,
				 jn_call_layer *calls)
{
	char **addrs = jn_config_list(cfg, "webrtc", "local_addresses");
	jn_channel_opts co = {
		.workers = workers, .cert = cert, .local_addresses = (const char *const *)addrs,
		.port_min = (unsigned)jn_config_int(cfg, "webrtc", "port_min"),
		.port_max = (unsigned)jn_config_int(cfg, "webrtc", "port_max"),
		.stun_server = jn_config_str(cfg, "webrtc", "stun_server"),
		.turn_server = jn_config_str(cfg, "webrtc", "turn_server"),
		.turn_username = jn_config_str(cfg, "webrtc", "turn_username"),
		.turn_password = jn_config_str(cfg, "webrtc", "turn_password"),
		.consent_timeout = (unsigned)jn_config_int(cfg, "webrtc", "consent_timeout"),
		.calls = calls, .cfg = cfg,
	};
	jn_channel *ch = jn_channel_new(&co);
	g_strfreev(addrs);
	return ch;
}

/* One DTLS certificate per process: every browser leg (JSON channel or
 * SIP over WebSocket) shows the same fingerprint. */
static rtc_dtls_cert *load_dtls_cert(const jn_config *cfg, char **err)
{
	char **profiles = jn_config_list(cfg, "webrtc", "srtp_profiles");
	rtc_dtls_cert *cert = NULL;
	if (rtc_dtls_cert_new(jn_config_str(cfg, "webrtc", "dtls_certificate"),
			      jn_config_str(cfg, "webrtc", "dtls_private_key"),
			      (const char *const *)profiles, &cert, err) == 0)
		jn_info(NULL, "DTLS certificate %s", rtc_dtls_cert_fingerprint(cert));
	g_strfreev(profiles);
	return cert;
}

static int start(junction *j)
{
	char *err = NULL;
	const jn_config *cfg = j->cfg;

	j->workers = jn_workers_new((unsigned)jn_config_int(cfg, "general", "media_workers"));
	jn_info(NULL, "%u media workers", jn_workers_count(j->workers));

	const char *http_listen = jn_config_str(cfg, "api", "http_listen");
	if (*http_listen) {
		j->tokens = api_tokens(cfg);
		jn_http_opts ho = { .listen = http_listen, .tokens = (const char *const *)j->tokens,
				    .max_body = 1 << 20 };
		j->http = jn_http_new(&ho);
		jn_rest_opts ro = { .version = PACKAGE_VERSION, .started_us = g_get_monotonic_time(),
				    .accepting = is_accepting, .user = j };
		j->rest = jn_rest_new(j->http, &ro);
		char *root = web_root(cfg);
		jn_http_static(j->http, root);
		g_free(root);
		if (!jn_http_start(j->http, &err))
			goto fail;
		jn_info(NULL, "HTTP on http://%s/ (REST /api/v1, web pages)", http_listen);
	}

	const char *ws_listen = jn_config_str(cfg, "websocket", "listen");
	const char *wss_listen = jn_config_str(cfg, "websocket", "tls_listen");
	j->sip = start_sip(cfg, *ws_listen || *wss_listen, &err);
	if (!j->sip)
		goto fail;
	jn_info(NULL, "SIP on udp:%s tcp:%s", jn_config_str(cfg, "sip", "udp_listen"),
		jn_config_str(cfg, "sip", "tcp_listen"));
	if (!(j->cert = load_dtls_cert(cfg, &err)))
		goto fail;
	/* call layer: INVITEs and dialogs from the stack, media on the workers */
	jn_call_opts cop = { .sip = j->sip, .workers = j->workers, .cfg = cfg, .cert = j->cert };
	if (!(j->calls = jn_call_new(&cop, &err)))
		goto fail;
	/* instant messages: MESSAGE from the stack, routed like calls */
	jn_msg_opts mo = { .sip = j->sip, .cfg = cfg };
	if (!(j->msgs = jn_msg_new(&mo, &err)))
		goto fail;
	if (*ws_listen || *wss_listen) {
		/* WebSocket subprotocols: each module that serves one adds its
		 * lws_protocols entry here (sip: RFC 7118; junction: JSON channel). */
		struct lws_protocols protocols[8];
		size_t np = 0;
		memset(protocols, 0, sizeof protocols);
		protocols[np++] = sip_stack_ws_protocol(j->sip);
		j->channel = start_channel(cfg, j->workers, j->cert, j->calls);
		protocols[np++] = jn_channel_protocol(j->channel);
		(void)np;
		jn_ws_server_opts wo = {
			.listen = ws_listen, .tls_listen = wss_listen,
			.tls_certificate = jn_config_str(cfg, "sip", "tls_certificate"),
			.tls_private_key = jn_config_str(cfg, "sip", "tls_private_key"),
			.max_message_size = (size_t)jn_config_int(cfg, "websocket", "max_message_size"),
			.protocols = protocols,
		};
		j->ws = jn_ws_server_new(j->loop, &wo, &err);
		if (!j->ws)
			goto fail;
		jn_info(NULL, "WebSocket on ws://%s/", ws_listen);
	}
	return 0;
fail:
	fprintf(stderr, "junction: %s\n", err);
	g_free(err);
	return 1;
}

static void stop(junction *j)
{
	if (j->drain_timer)
		g_source_remove(j->drain_timer);
	jn_call_shutdown(j->calls); /* before the stack: BYEs and 503s go out through it */
	jn_msg_free(j->msgs); /* before the stack: it unhooks from it */
	jn_ws_server_free(j->ws);
	sip_stack_free(j->sip); /* after the lws host: its "sip" callbacks point into the stack */
	jn_http_free(j->http);
	jn_rest_free(j->rest);
	jn_workers_free(j->workers);
	jn_call_free(j->calls); /* after the workers: a pending call stop reads it */
	jn_channel_free(j->channel); /* after the workers: a pending call start reads it */
	g_strfreev(j->tokens);
	rtc_dtls_cert_unref(j->cert);
}

/* Checks that need more than the schema: the dial plan compiles (a $2 in a
 * target needs two groups in match). Used by --check-config and at start. */
static jn_config *validate(jn_config *cfg, GPtrArray *errors)
{
	if (!cfg)
		return NULL;
	jn_route_table *rt = jn_route_table_new(cfg, errors);
	if (!rt) {
		jn_config_free(cfg);
		return NULL;
	}
	jn_route_table_free(rt);
	return cfg;
}

static int check_config(const char *path)
{
	GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
	jn_config *cfg = validate(jn_config_load_file(path, errors), errors);
	for (guint i = 0; i < errors->len; i++)
		printf("%s\n", (char *)g_ptr_array_index(errors, i));
	if (cfg)
		printf("%s: OK\n", path);
	int rc = cfg ? 0 : 1;
	jn_config_free(cfg);
	g_ptr_array_free(errors, TRUE);
	return rc;
}

int main(int argc, char **argv)
{
	char *config_path = NULL, *check_path = NULL, *log_level = NULL;
	gboolean version = FALSE;
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "read FILE (default: embedded loopback demo)", "FILE" },
		{ "check-config", 0, 0, G_OPTION_ARG_FILENAME, &check_path, "validate FILE, print OK or each error as FILE:LINE: key: problem", "FILE" },
		{ "log-level", 'l', 0, G_OPTION_ARG_STRING, &log_level, "error, warn, info, debug or trace (overrides the config)", "LEVEL" },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and exit", NULL },
		{ NULL, 0, 0, 0, NULL, NULL, NULL },
	};
	GError *gerr = NULL;
	junction j = { 0 };

	setlocale(LC_ALL, "C");
	signal(SIGPIPE, SIG_IGN);
	GOptionContext *oc = g_option_context_new("- WebRTC to SIP media server");
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &gerr)) {
		fprintf(stderr, "junction: %s (see --help)\n", gerr->message);
		g_error_free(gerr);
		g_option_context_free(oc);
		return 2;
	}
	g_option_context_free(oc);
	if (version) {
		printf("junction %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (check_path) {
		int crc = check_config(check_path);
		g_free(check_path);
		g_free(config_path);
		g_free(log_level);
		return crc;
	}

	GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
	j.cfg = validate(config_path ? jn_config_load_file(config_path, errors)
			     : jn_config_load_data(jn_config_demo, strlen(jn_config_demo), "(embedded)", errors),
			 errors);
	for (guint i = 0; i < errors->len; i++)
		fprintf(stderr, "junction: %s\n", (char *)g_ptr_array_index(errors, i));
	g_ptr_array_free(errors, TRUE);
	if (!j.cfg) {
		g_free(config_path);
		g_free(log_level);
		return 1;
	}

	jn_log_level lvl;
	jn_log_parse_level(jn_config_str(j.cfg, "general", "log_level"), &lvl);
	if (log_level && !jn_log_parse_level(log_level, &lvl)) {
		fprintf(stderr, "junction: --log-level: \"%s\" is not error, warn, info, debug or trace\n", log_level);
		jn_config_free(j.cfg);
		g_free(config_path);
		g_free(log_level);
		return 2;
	}
	jn_log_set_level(lvl);
	jn_info(NULL, "junction %s starting (config: %s)", PACKAGE_VERSION, jn_config_source(j.cfg));

	j.loop = g_main_loop_new(NULL, FALSE);
	int rc = start(&j);
	if (rc == 0) {
		g_unix_signal_add(SIGINT, on_signal, &j);
		g_unix_signal_add(SIGTERM, on_signal, &j);
		jn_info(NULL, "ready");
		g_main_loop_run(j.loop);
	}
	stop(&j);
	g_main_loop_unref(j.loop);
	jn_config_free(j.cfg);
	g_free(config_path);
	g_free(check_path);
	g_free(log_level);
	return rc;
}
