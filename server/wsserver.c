#include "server/wsserver.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/net.h"

struct jn_ws_server {
	struct lws_context *ctx;
	struct lws_protocols *protocols;
	void *loops[1];
};

static void lws_to_jn_log(int level, const char *line)
{
	/* lws is chatty at NOTICE; keep its errors and warnings only. */
	(void)level;
	g_log("lws", G_LOG_LEVEL_DEBUG, "%s", line);
}

/* libwebsockets reports a busy port only as a generic failure, so probe
 * first: the user gets "127.0.0.1:8081: Address already in use". */
static gboolean probe_listen(const char *listen, char **err)
{
	jn_addr a;
	char buf[256];
	if (jn_addr_parse(listen, 0, &a) != 0) {
		*err = g_strdup_printf("websocket listen \"%s\" is not an IP address with port", listen);
		return FALSE;
	}
	int fd = jn_net_listen(SOCK_STREAM, &a, buf, sizeof buf);
	if (fd < 0) {
		*err = g_strdup_printf("cannot listen for WebSocket on %s", buf);
		return FALSE;
	}
	close(fd);
	return TRUE;
}

static gboolean add_vhost(jn_ws_server *s, const jn_ws_server_opts *o, const char *listen,
			  gboolean tls, char **err)
{
	struct lws_context_creation_info info;
	jn_addr a;
	char host[80];

	if (!probe_listen(listen, err))
		return FALSE;
	jn_addr_parse(listen, 0, &a);
	jn_addr_str(&a, host, sizeof host);
	*strrchr(host, ':') = '\0';
	memset(&info, 0, sizeof info);
	info.port = jn_addr_port(&a);
	char *iface = g_strdup(host[0] == '[' ? host + 1 : host);
	if (iface[strlen(iface) - 1] == ']')
		iface[strlen(iface) - 1] = '\0';
	info.iface = iface;
	info.protocols = s->protocols;
	info.vhost_name = tls ? "wss" : "ws";
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 * 0;
	if (tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = o->tls_certificate;
		info.ssl_private_key_filepath = o->tls_private_key;
	}
	struct lws_vhost *vh = lws_create_vhost(s->ctx, &info);
	g_free(iface);
	if (!vh) {
		*err = g_strdup_printf("cannot listen for WebSocket%s on %s", tls ? " (TLS)" : "", listen);
		return FALSE;
	}
	return TRUE;
}

jn_ws_server *jn_ws_server_new(GMainLoop *loop, const jn_ws_server_opts *o, char **err)
{
	jn_ws_server *s = g_new0(jn_ws_server, 1);
	struct lws_context_creation_info info;
	size_t n = 0;

	while (o->protocols[n].name)
		n++;
	s->protocols = g_new0(struct lws_protocols, n + 2);
	/* lws wants the first protocol to be the HTTP one; ours upgrade only. */
	s->protocols[0].name = "http-only";
	s->protocols[0].callback = lws_callback_http_dummy;
	memcpy(&s->protocols[1], o->protocols, n * sizeof *o->protocols);
	for (size_t i = 1; i <= n; i++)
		if (!s->protocols[i].rx_buffer_size)
			s->protocols[i].rx_buffer_size = o->max_message_size;

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_jn_log);
	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_GLIB;
	s->loops[0] = loop;
	info.foreign_loops = s->loops;
	info.protocols = s->protocols;
	info.gid = -1;
	info.uid = -1;
	if (o->tls_listen && *o->tls_listen)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		*err = g_strdup("cannot start libwebsockets on the GLib loop (is libwebsockets-evlib-glib installed?)");
		goto fail;
	}
	if (o->listen && *o->listen && !add_vhost(s, o, o->listen, FALSE, err))
		goto fail;
	if (o->tls_listen && *o->tls_listen && !add_vhost(s, o, o->tls_listen, TRUE, err))
		goto fail;
	return s;
fail:
	jn_ws_server_free(s);
	return NULL;
}

void jn_ws_server_free(jn_ws_server *s)
{
	if (!s)
		return;
	if (s->ctx)
		lws_context_destroy(s->ctx);
	g_free(s->protocols);
	g_free(s);
}

struct lws_context *jn_ws_server_context(jn_ws_server *s)
{
	return s->ctx;
}
