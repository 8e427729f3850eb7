/* The call layer end to end over a real UDP socket on 127.0.0.1 with one
 * media worker: the 407 challenge, an echo call answered 200 with an SDP
 * answer and ended by BYE (CDR "normal"), CANCEL before the answer (487,
 * CDR "cancelled"; the worker is held so the answer cannot come first),
 * 481 for a BYE outside any call, and 503 while draining. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/call.h"
#include "server/call_int.h"
#include "server/config.h"
#include "sip/sip_auth.h"
#include "sip/sip_stack.h"

#ifndef JN_SRCDIR
#define JN_SRCDIR "."
#endif

typedef struct {
	sip_stack *s;
	jn_workers *workers;
	jn_config *cfg;
	jn_call_layer *cl;
	char *dir, *cdr_path;
	int fd;
	uint16_t port;
	struct sockaddr_in to;
	char *offer;
} fixture;

static void fx_setup(fixture *fx)
{
	memset(fx, 0, sizeof *fx);
	fx->dir = g_dir_make_tmp("test-call-XXXXXX", NULL);
	g_assert_nonnull(fx->dir);
	fx->cdr_path = g_build_filename(fx->dir, "cdr.jsonl", NULL);
	char *text = g_strdup_printf("[general]\ncdr_file = %s\n[sip]\nauth_algorithms = MD5\nt1 = 50\n"
				     "[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 26000\nport_max = 26999\n"
				     "[user:alice]\npassword = pw-alice\n[route:echo]\nmatch = ^echo$\ntarget = echo\n",
				     fx->cdr_path);
	GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
	fx->cfg = jn_config_load_data(text, strlen(text), "test", errors);
	g_free(text);
	g_assert_cmpuint(errors->len, ==, 0);
	g_ptr_array_free(errors, TRUE);
	g_assert_nonnull(fx->cfg);

	sip_stack_user users[] = { { .name = "alice", .password = "pw-alice" } };
	const char *algs[] = { "MD5", NULL };
	sip_stack_opts o = { .udp_listen = "127.0.0.1:0", .domain = "127.0.0.1", .realm = "test",
			     .auth_algorithms = algs, .min_expires = 60, .max_expires = 3600,
			     .default_expires = 600, .users = users, .n_users = 1 };
	char *err = NULL;
	fx->s = sip_stack_new(&o, &err);
	g_assert_null(err);
	fx->workers = jn_workers_new(1);
	rtc_dtls_cert *cert = NULL;
	g_assert_cmpint(rtc_dtls_cert_new(NULL, NULL, NULL, &cert, &err), ==, 0);
	jn_call_opts co = { .sip = fx->s, .workers = fx->workers, .cfg = fx->cfg, .cert = cert };
	fx->cl = jn_call_new(&co, &err);
	rtc_dtls_cert_unref(cert); /* the call layer holds its own reference */
	g_assert_null(err);
	g_assert_nonnull(fx->cl);

	sip_transport *udp = sip_stack_transport(fx->s, SIP_TP_UDP);
	memcpy(&fx->to, &udp->local.ss, sizeof fx->to);
	fx->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(fx->fd, (struct sockaddr *)&me, sizeof me), ==, 0);
	socklen_t l = sizeof me;
	getsockname(fx->fd, (struct sockaddr *)&me, &l);
	fx->port = ntohs(me.sin_port);

	const char *src = g_getenv("JN_SRCDIR") ? g_getenv("JN_SRCDIR") : JN_SRCDIR;
	char *path = g_build_filename(src, "tests", "data", "sdp", "chromium",
				      "chromium-audio-only-bundle.offer-gathered.sdp", NULL);
	g_assert_true(g_file_get_contents(path, &fx->offer, NULL, NULL));
	g_free(path);
}

static void fx_teardown(fixture *fx)
{
	jn_call_shutdown(fx->cl);
	sip_stack_free(fx->s);
	jn_workers_free(fx->workers);
	jn_call_free(fx->cl);
	jn_config_free(fx->cfg);
	close(fx->fd);
	g_unlink(fx->cdr_path);
	g_rmdir(fx->dir);
	g_free(fx->cdr_path);
	g_free(fx->dir);
	g_free(fx->offer);
}

/* Runs the loop until a datagram arrives (or ~4 s pass); NULL if none. */
static char *recv_msg(fixture *fx)
{
	for (int i = 0; i < 800; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		struct pollfd p = { .fd = fx->fd, .events = POLLIN };
		if (poll(&p, 1, 5) == 1) {
			char buf[65536];
			ssize_t n = recv(fx->fd, buf, sizeof buf, 0);
			g_assert_cmpint(n, >, 0);
			return g_strndup(buf, (gsize)n);
		}
	}
	return NULL;
}

/* The next message whose first line starts with prefix (others dropped). */
static char *recv_status(fixture *fx, const char *prefix)
{
	for (int i = 0; i < 10; i++) {
		char *m = recv_msg(fx);
		if (!m)
			g_error("no message; wanted \"%s\"", prefix);
		if (g_str_has_prefix(m, prefix))
			return m;
		g_free(m);
	}
	g_error("never got \"%s\"", prefix);
	return NULL;
}

static void send_msg(fixture *fx, const char *text, size_t len)
{
	ssize_t n = sendto(fx->fd, text, len, 0, (struct sockaddr *)&fx->to, sizeof fx->to);
	g_assert_cmpint(n, ==, (gssize)len);
}

/* An INVITE to echo; auth may be NULL (then no Proxy-Authorization). */
static void send_invite(fixture *fx, const char *branch, unsigned cseq, const char *auth, const char *body)
{
	char *m = g_strdup_printf("INVITE sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK%s;rport\r\n"
				  "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:echo@127.0.0.1>\r\n"
				  "Call-ID: call-%s@test\r\nCSeq: %u INVITE\r\nContact: <sip:alice@127.0.0.1:%u>\r\n"
				  "%s%s%sContent-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
				  fx->port, branch, branch, cseq, fx->port, auth ? "Proxy-Authorization: " : "",
				  auth ? auth : "", auth ? "\r\n" : "", strlen(body), body);
	send_msg(fx, m, strlen(m));
	g_free(m);
}

/* INVITE -> 407 -> ACK -> INVITE with credentials (Call-ID call-ID@test). */
static void invite_authenticated(fixture *fx, const char *id)
{
	send_invite(fx, id, 1, NULL, fx->offer);
	char *r = recv_status(fx, "SIP/2.0 407 ");
	const char *h = strstr(r, "\r\nProxy-Authenticate: ");
	g_assert_nonnull(h);
	h += strlen("\r\nProxy-Authenticate: ");
	const char *e = strstr(h, "\r\n");
	sip_auth_hdr ch;
	g_assert_cmpint(sip_auth_parse(h, (size_t)(e - h), &ch), ==, 0);
	sip_auth_client_opts ao = { .username = "alice", .password = "pw-alice", .method = "INVITE",
				    .uri = "sip:echo@127.0.0.1" };
	char cred[1024];
	size_t cl;
	g_assert_cmpint(sip_auth_client_answer(&ch, &ao, cred, sizeof cred - 1, &cl), ==, 0);
	cred[cl] = 0;
	/* The non-2xx ACK (same branch as the INVITE). */
	const char *tt = strstr(r, "\r\nTo: ");
	char *to = g_strndup(tt + 6, (gsize)(strstr(tt + 6, "\r\n") - (tt + 6)));
	char *ack = g_strdup_printf("ACK sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK%s;rport\r\n"
				    "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: %s\r\n"
				    "Call-ID: call-%s@test\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n", fx->port, id, to, id);
	send_msg(fx, ack, strlen(ack));
	g_free(ack);
	g_free(to);
	g_free(r);
	char *branch = g_strdup_printf("%s2", id);
	/* Same Call-ID and From tag as the challenged INVITE, new branch. */
	char *m = g_strdup_printf("INVITE sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK%s;rport\r\n"
				  "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:echo@127.0.0.1>\r\n"
				  "Call-ID: call-%s@test\r\nCSeq: 2 INVITE\r\nContact: <sip:alice@127.0.0.1:%u>\r\n"
				  "Record-Route: <sip:proxy.test;lr>\r\nProxy-Authorization: %s\r\n"
				  "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
				  fx->port, branch, id, fx->port, cred, strlen(fx->offer), fx->offer);
	send_msg(fx, m, strlen(m));
	g_free(m);
	g_free(branch);
}

/* The CDR file's lines once n are there (the writer fsyncs first). */
static char **cdr_lines(fixture *fx, guint n)
{
	char *text = NULL;
	char **lines = NULL;
	for (int i = 0; i < 400; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_free(text);
		text = NULL;
		g_strfreev(lines);
		lines = NULL;
		if (g_file_get_contents(fx->cdr_path, &text, NULL, NULL)) {
			lines = g_strsplit(text, "\n", -1);
			if (g_strv_length(lines) > n) /* n lines + the "" after the last newline */
				break;
		}
		g_usleep(5000);
	}
	g_free(text);
	g_assert_nonnull(lines);
	g_assert_cmpuint(g_strv_length(lines), ==, n + 1);
	return lines;
}

static void test_challenge(void)
{
	fixture fx;
	fx_setup(&fx);
	send_invite(&fx, "ch1", 1, NULL, fx.offer);
	char *r = recv_status(&fx, "SIP/2.0 407 ");
	g_assert_nonnull(strstr(r, "\r\nProxy-Authenticate: Digest realm=\"test\""));
	g_assert_cmpuint(jn_call_count(fx.cl), ==, 0);
	g_free(r);
	fx_teardown(&fx);
}

static void test_echo_call(void)
{
	fixture fx;
	fx_setup(&fx);
	invite_authenticated(&fx, "e1");
	char *ok = recv_status(&fx, "SIP/2.0 200 ");
	g_assert_cmpuint(jn_call_count(fx.cl), ==, 1);
	g_assert_nonnull(strstr(ok, "\r\nContent-Type: application/sdp\r\n"));
	g_assert_nonnull(strstr(ok, "\r\nContact: <sip:junction@127.0.0.1:"));
	g_assert_nonnull(strstr(ok, "\r\nRecord-Route: <sip:proxy.test;lr>\r\n"));
	g_assert_nonnull(strstr(ok, "a=fingerprint:sha-256 "));
	g_assert_nonnull(strstr(ok, "a=candidate:"));
	const char *tt = strstr(ok, "\r\nTo: ");
	char *to = g_strndup(tt + 6, (gsize)(strstr(tt + 6, "\r\n") - (tt + 6)));
	g_assert_nonnull(strstr(to, ";tag="));
	char *ack = g_strdup_printf("ACK sip:junction@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKe1ack;rport\r\n"
				    "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: %s\r\n"
				    "Call-ID: call-e1@test\r\nCSeq: 2 ACK\r\nContent-Length: 0\r\n\r\n", fx.port, to);
	send_msg(&fx, ack, strlen(ack));
	char *bye = g_strdup_printf("BYE sip:junction@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKe1bye;rport\r\n"
				    "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: %s\r\n"
				    "Call-ID: call-e1@test\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n", fx.port, to);
	send_msg(&fx, bye, strlen(bye));
	char *r = recv_status(&fx, "SIP/2.0 200 ");
	g_assert_nonnull(strstr(r, "\r\nCSeq: 3 BYE\r\n"));
	char **lines = cdr_lines(&fx, 1);
	g_assert_nonnull(strstr(lines[0], "\"cause\":\"normal\""));
	g_assert_nonnull(strstr(lines[0], "\"caller\":\"user:alice\""));
	g_assert_nonnull(strstr(lines[0], "\"target\":\"echo\""));
	g_assert_null(strstr(lines[0], "\"answer\":null"));
	g_assert_cmpuint(jn_call_count(fx.cl), ==, 0);
	g_strfreev(lines);
	g_free(r);
	g_free(bye);
	g_free(ack);
	g_free(to);
	g_free(ok);
	fx_teardown(&fx);
}

/* A 200 that is never ACKed: junction sends BYE after 64*T1 (3.2 s here). */
static void test_no_ack(void)
{
	fixture fx;
	fx_setup(&fx);
	invite_authenticated(&fx, "na1");
	char *ok = recv_status(&fx, "SIP/2.0 200 ");
	char *bye = recv_status(&fx, "BYE ");
	g_assert_nonnull(strstr(bye, "\r\nCall-ID: call-na1@test\r\n"));
	char **lines = cdr_lines(&fx, 1);
	g_assert_nonnull(strstr(lines[0], "\"cause\":\"failed\""));
	g_assert_nonnull(strstr(lines[0], "no ACK"));
	g_assert_cmpuint(jn_call_count(fx.cl), ==, 0);
	g_strfreev(lines);
	g_free(bye);
	g_free(ok);
	fx_teardown(&fx);
}

typedef struct {
	GMutex m;
	GCond c;
	bool go;
} gate;

static gboolean hold_worker(gpointer data)
{
	gate *g = data;
	g_mutex_lock(&g->m);
	while (!g->go)
		g_cond_wait(&g->c, &g->m);
	g_mutex_unlock(&g->m);
	return G_SOURCE_REMOVE;
}

static void test_cancel(void)
{
	fixture fx;
	fx_setup(&fx);
	gate g = { 0 };
	g_mutex_init(&g.m);
	g_cond_init(&g.c);
	/* The worker cannot answer until the CANCEL has been handled. */
	jn_worker_post(jn_workers_get(fx.workers, 0), hold_worker, &g);
	invite_authenticated(&fx, "k1");
	char *t = recv_status(&fx, "SIP/2.0 100 ");
	g_assert_cmpuint(jn_call_count(fx.cl), ==, 1);
	char *cancel = g_strdup_printf("CANCEL sip:echo@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKk12;rport\r\n"
				       "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:echo@127.0.0.1>\r\n"
				       "Call-ID: call-k1@test\r\nCSeq: 2 CANCEL\r\nContent-Length: 0\r\n\r\n", fx.port);
	send_msg(&fx, cancel, strlen(cancel));
	char *a = recv_status(&fx, "SIP/2.0 200 ");
	g_assert_nonnull(strstr(a, "\r\nCSeq: 2 CANCEL\r\n"));
	char *b = recv_status(&fx, "SIP/2.0 487 ");
	g_assert_nonnull(strstr(b, "\r\nCSeq: 2 INVITE\r\n"));
	g_mutex_lock(&g.m);
	g.go = true;
	g_cond_signal(&g.c);
	g_mutex_unlock(&g.m);
	char **lines = cdr_lines(&fx, 1);
	g_assert_nonnull(strstr(lines[0], "\"cause\":\"cancelled\""));
	g_assert_nonnull(strstr(lines[0], "\"answer\":null"));
	g_assert_cmpuint(jn_call_count(fx.cl), ==, 0);
	g_strfreev(lines);
	g_free(a);
	g_free(b);
	g_free(t);
	g_free(cancel);
	g_mutex_clear(&g.m);
	g_cond_clear(&g.c);
	fx_teardown(&fx);
}

static void test_bye_unknown(void)
{
	fixture fx;
	fx_setup(&fx);
	char *bye = g_strdup_printf("BYE sip:junction@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKu1;rport\r\n"
				    "Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:echo@127.0.0.1>;tag=zz\r\n"
				    "Call-ID: nothing@test\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n", fx.port);
	send_msg(&fx, bye, strlen(bye));
	char *r = recv_status(&fx, "SIP/2.0 481 ");
	g_free(r);
	g_free(bye);
	fx_teardown(&fx);
}

static int drained;
static void on_drained(void *user)
{
	(void)user;
	drained++;
}

static void test_drain(void)
{
	fixture fx;
	fx_setup(&fx);
	drained = 0;
	jn_call_drain(fx.cl, on_drained, NULL);
	send_invite(&fx, "d1", 1, NULL, fx.offer);
	char *r = recv_status(&fx, "SIP/2.0 503 ");
	g_assert_cmpint(drained, ==, 1); /* no call: done from an idle at once */
	g_free(r);
	fx_teardown(&fx);
}

/* What the caller hears when every forked branch failed. */
static void test_better_status(void)
{
	g_assert_cmpint(call_better_status(0, 480), ==, 480);
	g_assert_cmpint(call_better_status(480, 404), ==, 404);  /* the lowest */
	g_assert_cmpint(call_better_status(404, 486), ==, 486);  /* busy beats other 4xx */
	g_assert_cmpint(call_better_status(486, 404), ==, 486);
	g_assert_cmpint(call_better_status(486, 603), ==, 603);  /* a 6xx wins */
	g_assert_cmpint(call_better_status(603, 404), ==, 603);
	g_assert_cmpint(call_better_status(603, 600), ==, 603);  /* the first 6xx stays */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/call/challenge", test_challenge);
	g_test_add_func("/call/echo-bye", test_echo_call);
	g_test_add_func("/call/no-ack", test_no_ack);
	g_test_add_func("/call/cancel", test_cancel);
	g_test_add_func("/call/bye-unknown", test_bye_unknown);
	g_test_add_func("/call/drain", test_drain);
	g_test_add_func("/call/better-status", test_better_status);
	return g_test_run();
}
