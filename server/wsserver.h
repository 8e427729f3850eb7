/* jn_ws_server: the libwebsockets host, run on the core thread's GLib loop.
 *
 * One listener (default 127.0.0.1:8081) serves several subprotocols: "sip"
 * (RFC 7118, from sip/) and "junction" (the JSON channel). Each module hands
 * in its lws_protocols entry; main.c, the composition root, wires them. */
#ifndef JN_WSSERVER_H
#define JN_WSSERVER_H

#include <glib.h>
#include <libwebsockets.h>

typedef struct jn_ws_server jn_ws_server;

typedef struct {
	const char *listen;            /* "127.0.0.1:8081" */
	const char *tls_listen;        /* "" = no WSS */
	const char *tls_certificate;
	const char *tls_private_key;
	size_t max_message_size;
	/* Protocols offered, terminated by an entry with name == NULL. Copied. */
	const struct lws_protocols *protocols;
} jn_ws_server_opts;

/* Starts listening on the default GLib main loop. NULL with err set (one
 * line, naming the address) when a listener cannot be opened. */
jn_ws_server *jn_ws_server_new(GMainLoop *loop, const jn_ws_server_opts *opts, char **err);
void jn_ws_server_free(jn_ws_server *s);
struct lws_context *jn_ws_server_context(jn_ws_server *s);

#endif
