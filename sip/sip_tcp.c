#include "sip/sip_tcp.h"

#include <errno.h>
#include <limits.h>
#include <glib-unix.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sip/sip_frame.h"

#define JN_LOG_TAG "sip"
#include "util/log.h"

typedef struct sip_tcp sip_tcp;

typedef struct {
	sip_tcp *t;
	int fd;
	guint rwatch, wwatch;
	sip_flow *flow;
	GByteArray *rx, *tx;
	sip_frame fr;
	gint64 last_active;
	bool connecting;
	SSL *ssl;         /* TLS: NULL over plain TCP */
	bool handshaking;
	int busy;         /* inside the receive callback */
	bool dead;        /* closed while busy: free on the way out */
	char *key;        /* remote address text, for reuse */
	const struct tls_peer *peer; /* outbound TLS: who we expect (owned by the transport) */
} tcp_conn;

/* An outbound TLS destination: the name its certificate must carry. */
typedef struct tls_peer {
	char *host, *label;
	bool verify;
} tls_peer;

struct sip_tcp {
	sip_transport base;
	int lfd;
	guint lwatch, sweep;
	unsigned max_connections, idle_s;
	GHashTable *conns;  /* tcp_conn* set */
	GHashTable *byaddr; /* "ip:port" -> tcp_conn* */
	SSL_CTX *tls;       /* TLS transport: the server context */
	SSL_CTX *client;    /* outbound TLS, made on the first sip_tls_set_peer */
	GHashTable *peers;  /* "ip:port" -> tls_peer* */
};

static void conn_close(tcp_conn *c, const char *why);

static void conn_free(tcp_conn *c)
{
	g_byte_array_unref(c->rx);
	g_byte_array_unref(c->tx);
	g_free(c->key);
	g_free(c);
}

static void conn_close(tcp_conn *c, const char *why)
{
	sip_tcp *t = c->t;
	if (c->fd < 0)
		return;
	jn_debug(NULL, "SIP TCP flow %" G_GUINT64_FORMAT " closed: %s", sip_flow_id(c->flow), why);
	if (c->rwatch)
		g_source_remove(c->rwatch);
	if (c->wwatch)
		g_source_remove(c->wwatch);
	c->rwatch = c->wwatch = 0;
	if (c->ssl) {
		SSL_shutdown(c->ssl); /* best effort close_notify */
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	c->fd = -1;
	/* Out of the address table first: a request sent from the closed
	 * callback (a transaction failing over) opens a new connection. */
	if (g_hash_table_lookup(t->byaddr, c->key) == c)
		g_hash_table_remove(t->byaddr, c->key);
	if (t->base.closed)
		t->base.closed(t->base.user, c->flow);
	sip_flow_detach(c->flow);
	c->flow = sip_flow_unref(c->flow);
	g_hash_table_remove(t->conns, c);
	if (c->busy)
		c->dead = true;
	else
		conn_free(c);
}

static gboolean conn_writable(gint fd, GIOCondition cond, gpointer data);

/* An outbound handshake failed: one line naming the trunk, the host and
 * why (the certificate check's verdict when that is what failed). */
static void tls_client_failed(tcp_conn *c)
{
	long v = SSL_get_verify_result(c->ssl);
	unsigned long e = ERR_peek_error();
	char buf[256] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	if (c->peer->verify && v != X509_V_OK)
		jn_warn(NULL, "trunk %s: TLS to %s (%s) refused: certificate verify failed: %s",
			c->peer->label, c->peer->host, c->key, X509_verify_cert_error_string(v));
	else
		jn_warn(NULL, "trunk %s: TLS to %s (%s) failed in the handshake: %s", c->peer->label,
			c->peer->host, c->key, *buf ? buf : "connection closed");
}

/* TLS: one step of the handshake or of writing. 0, EAGAIN (the write
 * watch is armed when OpenSSL wants to write), or an error. */
static int tls_flush(tcp_conn *c)
{
	ERR_clear_error();
	if (c->handshaking) {
		int r = SSL_do_handshake(c->ssl);
		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				return EAGAIN;
			if (e == SSL_ERROR_WANT_WRITE) {
				if (!c->wwatch)
					c->wwatch = g_unix_fd_add(c->fd, G_IO_OUT, conn_writable, c);
				return EAGAIN;
			}
			if (c->peer)
				tls_client_failed(c);
			return EPROTO;
		}
		c->handshaking = false;
		if (c->peer)
			jn_debug(NULL, "trunk %s: TLS to %s (%s) up, %s", c->peer->label, c->peer->host,
				 c->key, SSL_get_version(c->ssl));
	}
	while (c->tx->len) {
		int n = SSL_write(c->ssl, c->tx->data, (int)MIN(c->tx->len, (guint)INT_MAX));
		if (n > 0) {
			g_byte_array_remove_range(c->tx, 0, (guint)n);
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			if (!c->wwatch)
				c->wwatch = g_unix_fd_add(c->fd, G_IO_OUT, conn_writable, c);
			return 0;
		}
		return EPIPE;
	}
	return 0;
}

static int conn_flush(tcp_conn *c)
{
	if (c->ssl) {
		int rc = tls_flush(c);
		return rc == EAGAIN ? 0 : rc;
	}
	while (c->tx->len) {
		ssize_t n = send(c->fd, c->tx->data, c->tx->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			g_byte_array_remove_range(c->tx, 0, (guint)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return n < 0 ? errno : EPIPE;
	}
	/* The write watch removes itself once the buffer drains. */
	if (c->tx->len && !c->wwatch)
		c->wwatch = g_unix_fd_add(c->fd, G_IO_OUT, conn_writable, c);
	return 0;
}

static gboolean conn_writable(gint fd, GIOCondition cond, gpointer data)
{
	tcp_conn *c = data;
	(void)fd;
	(void)cond;
	if (c->connecting) {
		int e = 0;
		socklen_t el = sizeof e;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e) {
			c->wwatch = 0;
			conn_close(c, strerror(e));
			return G_SOURCE_REMOVE;
		}
		c->connecting = false;
		jn_addr local;
		local.len = sizeof local.ss;
		getsockname(c->fd, (struct sockaddr *)&local.ss, &local.len);
		*(jn_addr *)sip_flow_local(c->flow) = local;
	}
	int rc = conn_flush(c);
	if (rc) {
		c->wwatch = 0;
		conn_close(c, strerror(rc));
		return G_SOURCE_REMOVE;
	}
	if (c->tx->len)
		return G_SOURCE_CONTINUE;
	c->wwatch = 0;
	return G_SOURCE_REMOVE;
}

static void conn_deliver(tcp_conn *c)
{
	sip_tcp *t = c->t;
	size_t n;
	c->busy++;
	while (!c->dead && c->fd >= 0) {
		sip_frame_result r = sip_frame_next(&c->fr, (const char *)c->rx->data, c->rx->len, &n);
		if (r == SIP_FRAME_MORE)
			break;
		if (r == SIP_FRAME_ERROR) {
			t->base.rx_errors++;
			conn_close(c, c->fr.err == EMSGSIZE ? "message too large" : "unframeable input");
			break;
		}
		if (r == SIP_FRAME_MSG) {
			sip_peer p = { .tp = &t->base, .flow = c->flow };
			p.remote = *sip_flow_remote(c->flow);
			p.local = *sip_flow_local(c->flow);
			t->base.rx_messages++;
			t->base.recv(t->base.user, &p, (const char *)c->rx->data, n);
		} else if (r == SIP_FRAME_PING) {
			/* RFC 5626 §4.4.1: a double CRLF ping gets a single CRLF pong. */
			g_byte_array_append(c->tx, (const guint8 *)"\r\n", 2);
			if (conn_flush(c) != 0) {
				conn_close(c, "write failed");
				break;
			}
		}
		if (c->fd >= 0)
			g_byte_array_remove_range(c->rx, 0, (guint)n);
	}
	if (--c->busy == 0 && c->dead)
		conn_free(c);
}

/* Reads what the socket (or the TLS record layer) has into c->rx.
 * Returns >0 bytes, 0 nothing now, -1 closed/failed (why set). */
static ssize_t conn_read(tcp_conn *c, guint8 *buf, size_t cap, const char **why)
{
	if (!c->ssl) {
		ssize_t n = recv(c->fd, buf, cap, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			*why = n == 0 ? "peer closed" : strerror(errno);
		return n > 0 ? n : -1;
	}
	if (c->handshaking) {
		/* A refused connect wakes the read watch too: the write
		 * watch reports it, not a handshake that never began. */
		if (c->connecting)
			return 0;
		int rc = tls_flush(c);
		if (rc == EAGAIN)
			return 0;
		if (rc) {
			*why = "TLS handshake failed";
			return -1;
		}
	}
	ERR_clear_error();
	int n = SSL_read(c->ssl, buf, (int)cap);
	if (n > 0)
		return n;
	int e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	*why = e == SSL_ERROR_ZERO_RETURN ? "peer closed" : "TLS error";
	return -1;
}

static gboolean conn_readable(gint fd, GIOCondition cond, gpointer data)
{
	tcp_conn *c = data;
	guint8 buf[16384];
	(void)cond;
	(void)fd;
	bool got = false;
	/* TLS may hold decrypted bytes beyond one read: drain what is there. */
	for (int i = 0; i < 16; i++) {
		const char *why = NULL;
		ssize_t n = conn_read(c, buf, sizeof buf, &why);
		if (n < 0) {
			c->rwatch = 0;
			conn_close(c, why);
			return G_SOURCE_REMOVE;
		}
		if (n == 0)
			break;
		g_byte_array_append(c->rx, buf, (guint)n);
		got = true;
		if (!c->ssl || (size_t)n < sizeof buf)
			break;
	}
	if (!got)
		return G_SOURCE_CONTINUE;
	c->last_active = g_get_monotonic_time();
	bool keep = true;
	c->busy++;
	conn_deliver(c);
	if (c->dead || c->fd < 0)
		keep = false;
	if (--c->busy == 0 && c->dead) {
		conn_free(c);
		return G_SOURCE_REMOVE;
	}
	return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static tcp_conn *conn_new(sip_tcp *t, int fd, const jn_addr *remote, const jn_addr *local)
{
	char ab[80];
	tcp_conn *c = g_new0(tcp_conn, 1);
	c->t = t;
	c->fd = fd;
	c->rx = g_byte_array_new();
	c->tx = g_byte_array_new();
	sip_frame_init(&c->fr, t->base.max_message);
	c->last_active = g_get_monotonic_time();
	c->flow = sip_flow_new(&t->base, c, remote, local);
	c->key = g_strdup(jn_addr_str(remote, ab, sizeof ab));
	c->rwatch = g_unix_fd_add(fd, G_IO_IN, conn_readable, c);
	g_hash_table_add(t->conns, c);
	g_hash_table_replace(t->byaddr, c->key, c);
	return c;
}

static gboolean on_accept(gint lfd, GIOCondition cond, gpointer data)
{
	sip_tcp *t = data;
	(void)cond;
	for (int i = 0; i < 64; i++) {
		jn_addr remote, local;
		remote.len = sizeof remote.ss;
		int fd = accept4(lfd, (struct sockaddr *)&remote.ss, &remote.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		if (g_hash_table_size(t->conns) >= t->max_connections) {
			jn_warn(NULL, "SIP TCP: %u connections open; refusing another", t->max_connections);
			close(fd);
			continue;
		}
		local.len = sizeof local.ss;
		getsockname(fd, (struct sockaddr *)&local.ss, &local.len);
		tcp_conn *c = conn_new(t, fd, &remote, &local);
		if (t->tls) {
			c->ssl = SSL_new(t->tls);
			SSL_set_fd(c->ssl, fd);
			SSL_set_accept_state(c->ssl);
			SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
			c->handshaking = true;
		}
		jn_debug(NULL, "SIP %s flow %" G_GUINT64_FORMAT " from %s", sip_tp_name(t->base.kind),
			 sip_flow_id(c->flow), c->key);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_sweep(gpointer data)
{
	sip_tcp *t = data;
	gint64 now = g_get_monotonic_time(), idle = (gint64)t->idle_s * G_USEC_PER_SEC;
	GList *all = g_hash_table_get_keys(t->conns);
	for (GList *i = all; i; i = i->next) {
		tcp_conn *c = i->data;
		if (now - c->last_active >= idle)
			conn_close(c, "idle");
	}
	g_list_free(all);
	return G_SOURCE_CONTINUE;
}

static tcp_conn *connect_to(sip_tcp *t, const jn_addr *to, int *err)
{
	if (g_hash_table_size(t->conns) >= t->max_connections) {
		*err = EMFILE;
		return NULL;
	}
	int fd = socket(to->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	if (connect(fd, (const struct sockaddr *)&to->ss, to->len) < 0 && errno != EINPROGRESS) {
		*err = errno;
		close(fd);
		return NULL;
	}
	jn_addr local = { .len = sizeof local.ss };
	getsockname(fd, (struct sockaddr *)&local.ss, &local.len);
	tcp_conn *c = conn_new(t, fd, to, &local);
	c->connecting = true;
	c->wwatch = g_unix_fd_add(fd, G_IO_OUT, conn_writable, c);
	return c;
}

/* Makes c an outbound TLS connection that checks peer's certificate. */
static int tls_client_start(tcp_conn *c, const tls_peer *peer)
{
	SSL *ssl = SSL_new(c->t->client);
	if (!ssl)
		return ENOMEM;
	bool ip = g_hostname_is_ip_address(peer->host);
	if (peer->verify) {
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), peer->host)
			    : SSL_set1_host(ssl, peer->host);
		if (ok != 1) {
			SSL_free(ssl);
			return EINVAL;
		}
	} else {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	}
	/* RFC 6066: SNI carries names only, never address literals. */
	if (!ip)
		SSL_set_tlsext_host_name(ssl, peer->host);
	SSL_set_fd(ssl, c->fd);
	SSL_set_connect_state(ssl);
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	c->ssl = ssl;
	c->handshaking = true;
	c->peer = peer;
	return 0;
}

static int tcp_send(sip_transport *tp, sip_flow *flow, const jn_addr *to, const char *data, size_t len)
{
	sip_tcp *t = (sip_tcp *)tp;
	tcp_conn *c = NULL;
	int err = 0;
	if (flow) {
		if (sip_flow_transport(flow) != tp || !(c = sip_flow_conn(flow)))
			return ENOTCONN;
	} else {
		char ab[80];
		if (!to || !to->len)
			return EDESTADDRREQ;
		c = g_hash_table_lookup(t->byaddr, jn_addr_str(to, ab, sizeof ab));
		/* Outbound TLS only toward a declared peer: without a name
		 * there is nothing to check its certificate against. */
		if (!c && t->tls) {
			const tls_peer *peer = g_hash_table_lookup(t->peers, ab);
			if (!peer || !t->client)
				return ENOTCONN;
			if (!(c = connect_to(t, to, &err)))
				return err;
			if ((err = tls_client_start(c, peer)) != 0) {
				conn_close(c, "cannot start TLS");
				return err;
			}
		}
		if (!c && !(c = connect_to(t, to, &err)))
			return err;
	}
	/* A peer that sends but never reads must not grow our buffer forever. */
	if (c->tx->len + len > 16 * t->base.max_message) {
		conn_close(c, "peer is not reading");
		return ENOBUFS;
	}
	g_byte_array_append(c->tx, (const guint8 *)data, (guint)len);
	c->last_active = g_get_monotonic_time();
	if (c->connecting)
		return 0;
	err = conn_flush(c);
	if (err)
		conn_close(c, strerror(err));
	return err;
}

static void tcp_destroy(sip_transport *tp)
{
	sip_tcp *t = (sip_tcp *)tp;
	GList *all = g_hash_table_get_keys(t->conns);
	for (GList *i = all; i; i = i->next)
		conn_close(i->data, "shutting down");
	g_list_free(all);
	if (t->lwatch)
		g_source_remove(t->lwatch);
	if (t->sweep)
		g_source_remove(t->sweep);
	if (t->lfd >= 0)
		close(t->lfd);
	g_hash_table_unref(t->conns);
	g_hash_table_unref(t->byaddr);
	if (t->tls)
		SSL_CTX_free(t->tls);
	if (t->client)
		SSL_CTX_free(t->client);
	if (t->peers)
		g_hash_table_unref(t->peers);
	g_free(t);
}

static const sip_transport_ops tcp_ops = { .send = tcp_send, .destroy = tcp_destroy };

static SSL_CTX *tls_server_ctx(const char *cert, const char *key, char **err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		*err = g_strdup("SIP TLS: cannot create an OpenSSL context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (!cert || !*cert || !key || !*key) {
		*err = g_strdup("SIP TLS needs [sip] tls_certificate and tls_private_key");
	} else if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		*err = g_strdup_printf("SIP TLS: cannot load certificate %s", cert);
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		*err = g_strdup_printf("SIP TLS: cannot load private key %s", key);
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		*err = g_strdup_printf("SIP TLS: %s does not match %s", key, cert);
	} else {
		return ctx;
	}
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

static void tls_peer_free(gpointer p)
{
	tls_peer *peer = p;
	g_free(peer->host);
	g_free(peer->label);
	g_free(peer);
}

/* The outbound context: TLS 1.2 at least, CA certificates from ca_file or
 * the system store. NULL when the CA file cannot be loaded. */
static SSL_CTX *tls_client_ctx(const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	int ok = ca_file && *ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
				     : SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		jn_error(NULL, "SIP TLS: cannot load CA certificates from %s",
			 ca_file && *ca_file ? ca_file : "the system store");
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static sip_transport *stream_new(const sip_tp_opts *o, SSL_CTX *tls, char **err)
{
	char buf[160];
	jn_addr a;
	const char *name = tls ? "TLS" : "TCP";
	if (jn_addr_parse(o->listen, 0, &a) != 0) {
		*err = g_strdup_printf("SIP %s listen \"%s\" is not an IP address with port", name, o->listen);
		if (tls)
			SSL_CTX_free(tls);
		return NULL;
	}
	int fd = jn_net_listen(SOCK_STREAM, &a, buf, sizeof buf);
	if (fd < 0) {
		*err = g_strdup_printf("cannot listen for SIP/%s on %s", name, buf);
		if (tls)
			SSL_CTX_free(tls);
		return NULL;
	}
	a.len = sizeof a.ss;
	getsockname(fd, (struct sockaddr *)&a.ss, &a.len);
	sip_tcp *t = g_new0(sip_tcp, 1);
	t->base.ops = &tcp_ops;
	t->base.kind = tls ? SIP_TP_TLS : SIP_TP_TCP;
	t->tls = tls;
	t->base.local = a;
	t->base.recv = o->recv;
	t->base.closed = o->closed;
	t->base.user = o->user;
	t->base.max_message = o->max_message ? o->max_message : 65535;
	t->max_connections = o->max_connections ? o->max_connections : 4096;
	t->idle_s = o->idle_timeout_s ? o->idle_timeout_s : 300;
	t->lfd = fd;
	t->conns = g_hash_table_new(NULL, NULL);
	t->byaddr = g_hash_table_new(g_str_hash, g_str_equal);
	if (tls)
		t->peers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, tls_peer_free);
	t->lwatch = g_unix_fd_add(fd, G_IO_IN, on_accept, t);
	t->sweep = g_timeout_add_seconds(1, on_sweep, t);
	return &t->base;
}

sip_transport *sip_tcp_new(const sip_tp_opts *o, char **err)
{
	return stream_new(o, NULL, err);
}

sip_transport *sip_tls_new(const sip_tp_opts *o, const char *cert, const char *key, char **err)
{
	SSL_CTX *ctx = tls_server_ctx(cert, key, err);
	return ctx ? stream_new(o, ctx, err) : NULL;
}

unsigned sip_tcp_connections(const sip_transport *tcp)
{
	return g_hash_table_size(((const sip_tcp *)tcp)->conns);
}

int sip_tls_set_peer(sip_transport *tls, const jn_addr *to, const char *host, bool verify,
		     const char *ca_file, const char *label)
{
	sip_tcp *t = (sip_tcp *)tls;
	char ab[80];
	if (!tls || tls->kind != SIP_TP_TLS || !to || !to->len || !host || !*host)
		return EINVAL;
	if (!t->client && !(t->client = tls_client_ctx(ca_file)))
		return EIO;
	jn_addr_str(to, ab, sizeof ab);
	const tls_peer *old = g_hash_table_lookup(t->peers, ab);
	if (old && old->verify == verify && !strcmp(old->host, host) &&
	    !strcmp(old->label, label ? label : "?"))
		return 0;
	if (old) {
		/* Connections made for the old entry point at it and no longer
		 * match what is asked: they go. */
		GList *all = g_hash_table_get_keys(t->conns);
		for (GList *i = all; i; i = i->next)
			if (((tcp_conn *)i->data)->peer == old)
				conn_close(i->data, "TLS peer changed");
		g_list_free(all);
	}
	if (!verify)
		jn_warn(NULL, "trunk %s: TLS certificate of %s is not checked (tls_verify = false)",
			label ? label : "?", host);
	tls_peer *p = g_new0(tls_peer, 1);
	p->host = g_strdup(host);
	p->label = g_strdup(label ? label : "?");
	p->verify = verify;
	g_hash_table_replace(t->peers, g_strdup(ab), p);
	return 0;
}
