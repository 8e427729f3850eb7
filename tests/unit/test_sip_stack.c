/* The stack facade end to end over a real UDP socket on 127.0.0.1: what it
 * answers by itself (OPTIONS, REGISTER with digest, errors), retransmission
 * absorption, CANCEL matching, and the INVITE hand-off. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sip/sip_auth.h"
#include "sip/sip_stack.h"
#include "sip/sip_tcp.h"

typedef struct {
	sip_stack *s;
	int fd;          /* the test's UDP socket */
	uint16_t port;   /* its port */
	struct sockaddr_in to;
	sip_tx *invite;  /* the last INVITE handed to the core */
	int invites;
} fixture;

static void on_invite(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req, const sip_peer *from)
{
	fixture *fx = user;
	(void)s; (void)req; (void)from;
	fx->invite = tx;
	fx->invites++;
}

static void fx_setup(fixture *fx)
{
	memset(fx, 0, sizeof *fx);
	sip_stack_user users[] = { { .name = "alice", .password = "pw-alice" } };
	const char *algs[] = { "MD5", NULL };
	sip_stack_opts o = { .udp_listen = "127.0.0.1:0", .domain = "127.0.0.1", .realm = "test",
			     .auth_algorithms = algs, .min_expires = 60, .max_expires = 3600,
			     .default_expires = 600, .users = users, .n_users = 1 };
	char *err = NULL;
	fx->s = sip_stack_new(&o, &err);
	g_assert_no_error(NULL);
	g_assert_null(err);
	g_assert_nonnull(fx->s);
	sip_transport *udp = sip_stack_transport(fx->s, SIP_TP_UDP);
	memcpy(&fx->to, &udp->local.ss, sizeof fx->to);
	fx->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(fx->fd, (struct sockaddr *)&me, sizeof me), ==, 0);
	socklen_t l = sizeof me;
	getsockname(fx->fd, (struct sockaddr *)&me, &l);
	fx->port = ntohs(me.sin_port);
}

static void fx_teardown(fixture *fx)
{
	sip_stack_free(fx->s);
	close(fx->fd);
}

/* Runs the loop until a datagram arrives (or ~2 s pass); NULL if none. */
static char *recv_reply(fixture *fx)
{
	for (int i = 0; i < 400; i++) {
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

/* Reads and drops whatever datagrams are already waiting. */
static void drain(fixture *fx)
{
	char buf[65536];
	while (recv(fx->fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
}

/* Sends text (with \n turned into CRLF) and returns the first reply. */
static char *exchange(fixture *fx, const char *text)
{
	GString *m = g_string_new(NULL);
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			g_string_append(m, "\r\n");
		else
			g_string_append_c(m, *p);
	}
	ssize_t n = sendto(fx->fd, m->str, m->len, 0, (struct sockaddr *)&fx->to, sizeof fx->to);
	g_assert_cmpint(n, ==, (gssize)m->len);
	g_string_free(m, TRUE);
	return recv_reply(fx);
}

static char *req(fixture *fx, const char *method, const char *branch, const char *extra, const char *cseq)
{
	return g_strdup_printf("%s sip:127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK%s;rport\n"
			       "Max-Forwards: 70\nFrom: <sip:alice@127.0.0.1>;tag=f1\nTo: <sip:alice@127.0.0.1>\n"
			       "Call-ID: %s@test\nCSeq: %s\n%sContent-Length: 0\n\n",
			       method, fx->port, branch, branch, cseq, extra ? extra : "");
}

static char *send_req(fixture *fx, const char *method, const char *branch, const char *extra)
{
	char cseq[64];
	snprintf(cseq, sizeof cseq, "1 %s", method);
	char *r = req(fx, method, branch, extra, cseq);
	char *a = exchange(fx, r);
	g_free(r);
	g_assert_nonnull(a);
	return a;
}

static void assert_status(const char *reply, const char *status_prefix)
{
	if (!g_str_has_prefix(reply, status_prefix))
		g_error("want \"%s\", got:\n%s", status_prefix, reply);
}

static void test_options(void)
{
	fixture fx;
	fx_setup(&fx);
	char *a = send_req(&fx, "OPTIONS", "opt1", NULL);
	assert_status(a, "SIP/2.0 200 ");
	g_assert_nonnull(strstr(a, "\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER\r\n"));
	g_assert_nonnull(strstr(a, "\r\nAccept: application/sdp\r\n"));
	g_assert_nonnull(strstr(a, "\r\nSupported: "));
	char *via = g_strdup_printf("branch=z9hG4bKopt1;received=127.0.0.1;rport=%u\r\n", fx.port);
	g_assert_nonnull(strstr(a, via));
	g_assert_nonnull(strstr(a, "\r\nTo: <sip:alice@127.0.0.1>;tag="));
	/* A retransmission is absorbed: the very same response comes back. */
	char *b = send_req(&fx, "OPTIONS", "opt1", NULL);
	g_assert_cmpstr(a, ==, b);
	sip_stack_stats st;
	sip_stack_get_stats(fx.s, &st);
	g_assert_cmpuint(st.absorbed, ==, 1);
	g_assert_cmpuint(st.rx_requests, ==, 2);
	g_free(via);
	g_free(a);
	g_free(b);
	fx_teardown(&fx);
}

static void test_errors(void)
{
	fixture fx;
	fx_setup(&fx);
	char *a = send_req(&fx, "OPTIONS", "e1", "Require: 100rel, foo\n");
	assert_status(a, "SIP/2.0 420 ");
	g_assert_nonnull(strstr(a, "\r\nUnsupported: 100rel, foo\r\n"));
	g_free(a);
	char *r = g_strdup_printf("OPTIONS sip:127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKe2\n"
				  "Max-Forwards: 0\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: e2\nCSeq: 1 OPTIONS\n"
				  "Content-Length: 0\n\n", fx.port);
	a = exchange(&fx, r);
	assert_status(a, "SIP/2.0 483 ");
	g_free(a);
	g_free(r);
	a = send_req(&fx, "FROB", "e3", NULL);
	assert_status(a, "SIP/2.0 501 ");
	g_assert_nonnull(strstr(a, "\r\nAllow: "));
	g_free(a);
	a = send_req(&fx, "SUBSCRIBE", "e4", NULL);
	assert_status(a, "SIP/2.0 405 ");
	g_assert_nonnull(strstr(a, "\r\nAllow: "));
	g_free(a);
	/* In-dialog BYE with no such dialog, and BYE outside any dialog. */
	r = g_strdup_printf("BYE sip:127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKe5\n"
			    "Max-Forwards: 70\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: e5\nCSeq: 2 BYE\n"
			    "Content-Length: 0\n\n", fx.port);
	a = exchange(&fx, r);
	assert_status(a, "SIP/2.0 481 ");
	g_free(a);
	g_free(r);
	a = send_req(&fx, "BYE", "e6", NULL);
	assert_status(a, "SIP/2.0 481 ");
	g_free(a);
	/* Malformed: 400 with the parser's reason. */
	r = req(&fx, "OPTIONS", "e7", NULL, "one OPTIONS");
	a = exchange(&fx, r);
	assert_status(a, "SIP/2.0 400 ");
	g_assert_nonnull(strstr(a, "CSeq"));
	g_free(a);
	g_free(r);
	/* Malformed and stray responses: dropped and counted, nothing sent. */
	const char *bad = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nCSeq: x\r\n\r\n";
	sendto(fx.fd, bad, strlen(bad), 0, (struct sockaddr *)&fx.to, sizeof fx.to);
	const char *stray = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnone\r\n"
			    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: s\r\nCSeq: 1 OPTIONS\r\n"
			    "Content-Length: 0\r\n\r\n";
	sendto(fx.fd, stray, strlen(stray), 0, (struct sockaddr *)&fx.to, sizeof fx.to);
	a = send_req(&fx, "OPTIONS", "e8", NULL); /* a marker: both were handled before it */
	assert_status(a, "SIP/2.0 200 ");
	g_free(a);
	sip_stack_stats st;
	sip_stack_get_stats(fx.s, &st);
	g_assert_cmpuint(st.bad_responses, ==, 1);
	g_assert_cmpuint(st.stray_responses, ==, 1);
	g_assert_cmpuint(st.bad_requests, ==, 1);
	fx_teardown(&fx);
}

static void send_only(fixture *fx, const char *text);

static void test_invite_cancel(void)
{
	fixture fx;
	fx_setup(&fx);
	/* No handler: 100 then 480; the ACK is absorbed by the transaction. */
	char *a = send_req(&fx, "INVITE", "i1", NULL);
	assert_status(a, "SIP/2.0 100 ");
	g_free(a);
	a = recv_reply(&fx);
	assert_status(a, "SIP/2.0 480 ");
	g_free(a);
	char *r = req(&fx, "ACK", "i1", NULL, "1 ACK");
	GString *crlf = g_string_new(NULL);
	for (const char *p = r; *p; p++)
		*p == '\n' ? g_string_append(crlf, "\r\n") : g_string_append_c(crlf, *p);
	sendto(fx.fd, crlf->str, crlf->len, 0, (struct sockaddr *)&fx.to, sizeof fx.to);
	g_string_free(crlf, TRUE);
	g_free(r);
	sip_stack_stats st;
	for (int i = 0; i < 2000; i++) {
		g_main_context_iteration(NULL, FALSE);
		sip_stack_get_stats(fx.s, &st);
		if (st.absorbed)
			break;
		g_usleep(1000);
	}
	g_assert_cmpuint(st.absorbed, ==, 1);
	drain(&fx); /* a 480 resent before the ACK got there */

	/* With a handler the INVITE waits for the core; CANCEL: 200 + 487. */
	sip_stack_on_invite(fx.s, on_invite, &fx);
	a = send_req(&fx, "INVITE", "i2", NULL);
	assert_status(a, "SIP/2.0 100 ");
	g_free(a);
	g_assert_cmpint(fx.invites, ==, 1);
	g_assert_nonnull(fx.invite);
	g_assert_cmpint(sip_stack_respond(fx.s, fx.invite, 180, NULL, NULL), ==, 0);
	a = recv_reply(&fx);
	assert_status(a, "SIP/2.0 180 ");
	g_free(a);
	a = send_req(&fx, "CANCEL", "i2", NULL);
	assert_status(a, "SIP/2.0 200 ");
	g_assert_nonnull(strstr(a, "CSeq: 1 CANCEL"));
	g_free(a);
	a = recv_reply(&fx);
	assert_status(a, "SIP/2.0 487 ");
	g_assert_nonnull(strstr(a, "CSeq: 1 INVITE"));
	g_free(a);
	/* A CANCEL after the final answer: 200, and nothing else happens. */
	a = send_req(&fx, "INVITE", "i5", NULL);
	g_free(a);
	g_assert_cmpint(sip_stack_respond(fx.s, fx.invite, 486, NULL, NULL), ==, 0);
	a = recv_reply(&fx);
	assert_status(a, "SIP/2.0 486 ");
	g_free(a);
	a = send_req(&fx, "CANCEL", "i5", NULL);
	assert_status(a, "SIP/2.0 200 ");
	g_assert_nonnull(strstr(a, "CSeq: 1 CANCEL"));
	g_free(a);
	char *ack = req(&fx, "ACK", "i5", NULL, "1 ACK");
	send_only(&fx, ack); /* ends the 486's Timer G resends */
	g_free(ack);
	/* A CANCEL that matches nothing: 481. */
	a = send_req(&fx, "CANCEL", "nothing", NULL);
	assert_status(a, "SIP/2.0 481 ");
	g_free(a);
	fx_teardown(&fx);
}

/* Sends text as is (LF turned into CRLF), expecting no answer. */
static void send_only(fixture *fx, const char *text)
{
	GString *m = g_string_new(NULL);
	for (const char *p = text; *p; p++)
		*p == '\n' ? g_string_append(m, "\r\n") : g_string_append_c(m, *p);
	sendto(fx->fd, m->str, m->len, 0, (struct sockaddr *)&fx->to, sizeof fx->to);
	g_string_free(m, TRUE);
}

/* Drops one waiting datagram if it is a resent 200 for k1; true if so. */
static bool got_k1_resend(fixture *fx)
{
	char buf[2048];
	ssize_t n = recv(fx->fd, buf, sizeof buf - 1, MSG_DONTWAIT | MSG_PEEK);
	if (n <= 0)
		return false;
	buf[n] = 0;
	if (!strstr(buf, "Call-ID: k1@test"))
		return false;
	recv(fx->fd, buf, sizeof buf, MSG_DONTWAIT);
	return true;
}

/* ACKs the 2xx ok to INVITE id (a new branch; To with the tag of ok). */
static void send_ack(fixture *fx, const char *ok, const char *id)
{
	const char *tag = strstr(ok, "\r\nTo: ");
	g_assert_nonnull(tag);
	char *to = g_strndup(tag + 2, (gsize)(strstr(tag + 2, "\r\n") - tag - 2));
	char *ack = g_strdup_printf("ACK sip:127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK%sack;rport\n"
				    "Max-Forwards: 70\nFrom: <sip:alice@127.0.0.1>;tag=f1\n%s\nCall-ID: %s@test\n"
				    "CSeq: 1 ACK\nContent-Length: 0\n\n", fx->port, id, to, id);
	send_only(fx, ack);
	g_free(ack);
	g_free(to);
}

/* Over UDP a 2xx to INVITE is resent (T1, 2T1...) until its ACK, which has
 * its own branch and is matched by Call-ID, CSeq and From tag. */
static void test_2xx_ack(void)
{
	fixture fx;
	fx_setup(&fx);
	sip_stack_on_invite(fx.s, on_invite, &fx);
	/* No ACK: the 200 comes again. */
	char *a = send_req(&fx, "INVITE", "k1", NULL);
	assert_status(a, "SIP/2.0 100 ");
	g_free(a);
	g_assert_cmpint(sip_stack_respond(fx.s, fx.invite, 200, NULL, NULL), ==, 0);
	char *first = recv_reply(&fx);
	assert_status(first, "SIP/2.0 200 ");
	char *again = recv_reply(&fx);
	g_assert_nonnull(again);
	g_assert_cmpstr(first, ==, again);
	send_ack(&fx, first, "k1");
	g_free(first);
	g_free(again);

	/* ACK (new branch, To tag from the 200): no more 200s. */
	a = send_req(&fx, "INVITE", "k2", NULL);
	g_free(a);
	g_assert_cmpint(sip_stack_respond(fx.s, fx.invite, 200, NULL, NULL), ==, 0);
	first = recv_reply(&fx);
	assert_status(first, "SIP/2.0 200 ");
	send_ack(&fx, first, "k2");
	/* Timer-driven resends would arrive at 0.5 s and 1.5 s: wait past both
	 * (a k1 resend sent before its ACK arrived is drained first). */
	for (int i = 0; i < 200; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(10000);
	}
	char buf[2048];
	while ((got_k1_resend(&fx)))
		;
	ssize_t got = recv(fx.fd, buf, sizeof buf - 1, MSG_DONTWAIT);
	if (got > 0)
		g_error("after the ACK: %.*s", (int)got, buf);
	g_free(first);
	fx_teardown(&fx);
}

/* Answers the 401 in reply with password pw; returns the Authorization line. */
static char *answer(const char *reply, const char *pw)
{
	const char *h = strstr(reply, "WWW-Authenticate: ");
	g_assert_nonnull(h);
	h += strlen("WWW-Authenticate: ");
	const char *end = strstr(h, "\r\n");
	sip_auth_hdr ch;
	g_assert_cmpint(sip_auth_parse(h, (size_t)(end - h), &ch), ==, 0);
	sip_auth_client_opts o = { .username = "alice", .password = pw, .method = "REGISTER",
				   .uri = "sip:127.0.0.1" };
	char buf[1024];
	size_t len;
	g_assert_cmpint(sip_auth_client_answer(&ch, &o, buf, sizeof buf, &len), ==, 0);
	return g_strdup_printf("Authorization: %.*s\nContact: <sip:alice@127.0.0.1:5999>\n", (int)len, buf);
}

static void test_register(void)
{
	fixture fx;
	fx_setup(&fx);
	char *a = send_req(&fx, "REGISTER", "r1", "Contact: <sip:alice@127.0.0.1:5999>\n");
	assert_status(a, "SIP/2.0 401 ");
	g_assert_nonnull(strstr(a, "WWW-Authenticate: Digest realm=\"test\""));
	char *auth = answer(a, "pw-alice");
	g_free(a);
	a = send_req(&fx, "REGISTER", "r2", auth);
	assert_status(a, "SIP/2.0 200 ");
	g_assert_nonnull(strstr(a, "\r\nContact: <sip:alice@127.0.0.1:5999>;expires="));
	g_free(a);
	g_free(auth);
	const sip_reg_binding *b[4];
	g_assert_cmpuint(sip_reg_lookup(sip_stack_registrar(fx.s), "alice", (uint64_t)(g_get_monotonic_time() / G_USEC_PER_SEC), b, 4), ==, 1);

	/* Wrong password: 403. */
	a = send_req(&fx, "REGISTER", "r3", NULL);
	auth = answer(a, "nope");
	g_free(a);
	a = send_req(&fx, "REGISTER", "r4", auth);
	assert_status(a, "SIP/2.0 403 ");
	g_free(a);
	g_free(auth);

	/* Too short an expiry: 423 with Min-Expires. */
	a = send_req(&fx, "REGISTER", "r5", NULL);
	auth = answer(a, "pw-alice");
	char *ex = g_strconcat(auth, "Expires: 10\n", NULL);
	g_free(a);
	a = send_req(&fx, "REGISTER", "r6", ex);
	assert_status(a, "SIP/2.0 423 ");
	g_assert_nonnull(strstr(a, "\r\nMin-Expires: 60\r\n"));
	g_free(a);
	g_free(ex);
	g_free(auth);
	sip_stack_stats st;
	sip_stack_get_stats(fx.s, &st);
	g_assert_cmpuint(st.registers_ok, ==, 1);
	g_assert_cmpuint(st.registers_challenged, ==, 3);
	fx_teardown(&fx);
}

static void test_port_in_use(void)
{
	fixture fx;
	fx_setup(&fx);
	char *listen = g_strdup_printf("127.0.0.1:%u", fx.port);
	sip_stack_opts o = { .udp_listen = listen, .realm = "x" };
	char *err = NULL;
	g_assert_null(sip_stack_new(&o, &err));
	char *want = g_strdup_printf("cannot listen for SIP/UDP on %s: Address already in use", listen);
	g_assert_cmpstr(err, ==, want);
	g_free(want);
	g_free(err);
	g_free(listen);
	fx_teardown(&fx);
}

/* Reads from a TCP socket, running the loop, until want bytes or EOF. */
static char *tcp_read(int fd, size_t want, bool *eof)
{
	GString *got = g_string_new(NULL);
	*eof = false;
	for (int i = 0; i < 2000 && got->len < want; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5) == 1) {
			char buf[4096];
			ssize_t n = recv(fd, buf, sizeof buf, 0);
			if (n <= 0) {
				*eof = true;
				break;
			}
			g_string_append_len(got, buf, n);
		}
	}
	return g_string_free(got, FALSE);
}

static void test_tcp(void)
{
	sip_stack_opts o = { .tcp_listen = "127.0.0.1:0", .realm = "x", .tcp_idle_timeout_s = 1 };
	char *err = NULL;
	sip_stack *s = sip_stack_new(&o, &err);
	g_assert_nonnull(s);
	sip_transport *tcp = sip_stack_transport(s, SIP_TP_TCP);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&tcp->local.ss, tcp->local.len), ==, 0);
	/* One request in three pieces, a keep-alive ping in between. */
	const char *m = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 10.9.9.9:5099;branch=z9hG4bKt1\r\n"
			"Max-Forwards: 70\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: t1\r\n"
			"CSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody";
	size_t len = strlen(m);
	g_assert_cmpint(send(fd, "\r\n\r\n", 4, 0), ==, 4);
	bool eof;
	char *pong = tcp_read(fd, 2, &eof);
	g_assert_cmpstr(pong, ==, "\r\n");
	g_free(pong);
	g_assert_cmpint(send(fd, m, 40, 0), ==, 40);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_cmpint(send(fd, m + 40, len - 42, 0), ==, (gssize)(len - 42));
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_cmpint(send(fd, m + len - 2, 2, 0), ==, 2);
	char *a = tcp_read(fd, 200, &eof);
	assert_status(a, "SIP/2.0 200 ");
	/* Back over the connection, the sent-by host differing: received=. */
	g_assert_nonnull(strstr(a, "Via: SIP/2.0/TCP 10.9.9.9:5099;branch=z9hG4bKt1;received=127.0.0.1\r\n"));
	g_free(a);
	/* Idle for longer than tcp_idle_timeout: the stack closes it. */
	char *rest = tcp_read(fd, 1 << 20, &eof);
	g_assert_true(eof);
	g_free(rest);
	close(fd);
	sip_stack_free(s);
}

#define FB_FMT "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK%s\r\n" \
	"Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=f\r\nTo: <sip:alice@127.0.0.1>\r\n" \
	"Call-ID: fb\r\nCSeq: %d REGISTER\r\nContact: <sip:alice@127.0.0.1:5999;transport=tcp>\r\n" \
	"%sContent-Length: 0\r\n\r\n"

/* A binding made over a connection goes when the connection closes. */
static void test_flow_binding(void)
{
	sip_stack_user users[] = { { .name = "alice", .password = "pw-alice" } };
	const char *algs[] = { "MD5", NULL };
	sip_stack_opts o = { .tcp_listen = "127.0.0.1:0", .realm = "test", .auth_algorithms = algs,
			     .users = users, .n_users = 1 };
	char *err = NULL;
	sip_stack *s = sip_stack_new(&o, &err);
	g_assert_nonnull(s);
	sip_transport *tcp = sip_stack_transport(s, SIP_TP_TCP);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&tcp->local.ss, tcp->local.len), ==, 0);
	char *m = g_strdup_printf(FB_FMT, "fb1", 1, "");
	g_assert_cmpint(send(fd, m, strlen(m), 0), ==, (gssize)strlen(m));
	g_free(m);
	bool eof;
	char *a = tcp_read(fd, 300, &eof);
	assert_status(a, "SIP/2.0 401 ");
	char *auth = answer(a, "pw-alice"); /* "Authorization: ...\nContact: ...\n" */
	*strchr(auth, '\n') = '\0';
	char *hdr = g_strdup_printf("%s\r\n", auth);
	m = g_strdup_printf(FB_FMT, "fb2", 2, hdr);
	g_assert_cmpint(send(fd, m, strlen(m), 0), ==, (gssize)strlen(m));
	g_free(a);
	a = tcp_read(fd, 300, &eof);
	assert_status(a, "SIP/2.0 200 ");
	uint64_t now = (uint64_t)(g_get_monotonic_time() / G_USEC_PER_SEC);
	const sip_reg_binding *b[2];
	g_assert_cmpuint(sip_reg_lookup(sip_stack_registrar(s), "alice", now, b, 2), ==, 1);
	g_assert_nonnull(b[0]->flow);
	close(fd);
	for (int i = 0; i < 2000 && sip_reg_lookup(sip_stack_registrar(s), "alice", now, b, 2); i++) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	g_assert_cmpuint(sip_reg_lookup(sip_stack_registrar(s), "alice", now, b, 2), ==, 0);
	g_free(a);
	g_free(m);
	g_free(hdr);
	g_free(auth);
	sip_stack_free(s);
}

/* A response to request text req (the UAS side of the test). */
static char *make_response(const char *req, const char *status, const char *to_tag)
{
	GString *r = g_string_new(NULL);
	g_string_append_printf(r, "SIP/2.0 %s\r\n", status);
	const char *names[] = { "Via: ", "From: ", "To: ", "Call-ID: ", "CSeq: " };
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *needle = g_strconcat("\r\n", names[i], NULL);
		const char *h = strstr(req, needle);
		g_assert_nonnull(h);
		h += 2;
		const char *e = strstr(h, "\r\n");
		g_string_append_len(r, h, e - h);
		if (i == 2 && to_tag)
			g_string_append_printf(r, ";tag=%s", to_tag);
		g_string_append(r, "\r\n");
		g_free(needle);
	}
	g_string_append(r, "Content-Length: 0\r\n\r\n");
	return g_string_free(r, FALSE);
}

static char *branch_of(const char *msg)
{
	const char *b = strstr(msg, "branch=");
	g_assert_nonnull(b);
	return g_strndup(b + 7, strcspn(b + 7, ";\r\n"));
}

static void record_status(void *user, sip_tx *tx, int status, const char *data, size_t len)
{
	GArray *a = user;
	(void)tx; (void)data; (void)len;
	g_array_append_val(a, status);
}

/* The stack as a UAC: INVITE, 180, CANCEL (same branch), 487, and the ACK
 * the transaction sends for it (same branch, the 487's To tag). */
static void test_client_invite_cancel(void)
{
	fixture fx;
	fx_setup(&fx);
	GArray *inv_st = g_array_new(FALSE, FALSE, sizeof(int)), *can_st = g_array_new(FALSE, FALSE, sizeof(int));
	jn_addr to;
	char where[32];
	snprintf(where, sizeof where, "127.0.0.1:%u", fx.port);
	g_assert_cmpint(jn_addr_parse(where, 0, &to), ==, 0);
	char ruri[64];
	snprintf(ruri, sizeof ruri, "sip:bob@%s", where);
	sip_req_opts q = { .method = SIP_METHOD_INVITE, .ruri = ruri, .from = "<sip:alice@127.0.0.1>;tag=a1",
			   .to = "<sip:bob@127.0.0.1>", .call_id = "cli1", .cseq = 7, .contact = "<sip:alice@127.0.0.1>" };
	sip_tx *tx = NULL;
	g_assert_cmpint(sip_stack_send_request(fx.s, SIP_TP_UDP, NULL, &to, &q, record_status, inv_st, &tx), ==, 0);
	g_assert_nonnull(tx);
	char *inv = recv_reply(&fx);
	g_assert_true(g_str_has_prefix(inv, "INVITE sip:bob@"));
	g_assert_nonnull(strstr(inv, "Via: SIP/2.0/UDP 127.0.0.1:"));
	char *branch = branch_of(inv);

	char *r180 = make_response(inv, "180 Ringing", "b1");
	sendto(fx.fd, r180, strlen(r180), 0, (struct sockaddr *)&fx.to, sizeof fx.to);
	for (int i = 0; i < 1000 && inv_st->len < 1; i++) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	g_assert_cmpuint(inv_st->len, ==, 1);
	g_assert_cmpint(g_array_index(inv_st, int, 0), ==, 180);

	g_assert_cmpint(sip_stack_cancel(fx.s, tx, record_status, can_st), ==, 0);
	char *can = recv_reply(&fx);
	g_assert_true(g_str_has_prefix(can, "CANCEL sip:bob@"));
	char *cbranch = branch_of(can);
	g_assert_cmpstr(cbranch, ==, branch);
	g_assert_nonnull(strstr(can, "\r\nCSeq: 7 CANCEL\r\n"));
	g_assert_nonnull(strstr(can, "\r\nCall-ID: cli1\r\n"));

	char *r200 = make_response(can, "200 OK", "b1");
	char *r487 = make_response(inv, "487 Request Terminated", "b1");
	sendto(fx.fd, r200, strlen(r200), 0, (struct sockaddr *)&fx.to, sizeof fx.to);
	sendto(fx.fd, r487, strlen(r487), 0, (struct sockaddr *)&fx.to, sizeof fx.to);
	char *ack = recv_reply(&fx);
	g_assert_nonnull(ack);
	g_assert_true(g_str_has_prefix(ack, "ACK sip:bob@"));
	char *abranch = branch_of(ack);
	g_assert_cmpstr(abranch, ==, branch);
	g_assert_nonnull(strstr(ack, "\r\nTo: <sip:bob@127.0.0.1>;tag=b1\r\n"));
	g_assert_nonnull(strstr(ack, "\r\nCSeq: 7 ACK\r\n"));
	for (int i = 0; i < 1000 && (can_st->len < 1 || inv_st->len < 2); i++) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	g_assert_cmpint(g_array_index(can_st, int, 0), ==, 200);
	g_assert_cmpint(g_array_index(inv_st, int, 1), ==, 487);
	/* Once final, the INVITE cannot be cancelled. */
	g_assert_cmpint(sip_stack_cancel(fx.s, tx, record_status, can_st), ==, EINVAL);

	g_free(abranch); g_free(ack); g_free(r487); g_free(r200); g_free(cbranch); g_free(can);
	g_free(r180); g_free(branch); g_free(inv);
	fx_teardown(&fx);
	g_array_free(inv_st, TRUE);
	g_array_free(can_st, TRUE);
}

/* Waits (bounded) until a has n entries. */
static void wait_statuses(GArray *a, guint n)
{
	for (int i = 0; i < 4000 && a->len < n; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(1000);
	}
}

/* Reads from fd until every needle was seen (or the peer closed). */
static char *tcp_read_until(int fd, const char *const *needles, size_t n)
{
	GString *got = g_string_new(NULL);
	for (int i = 0; i < 2000; i++) {
		size_t seen = 0;
		for (size_t k = 0; k < n; k++)
			seen += strstr(got->str, needles[k]) != NULL;
		if (seen == n)
			break;
		while (g_main_context_iteration(NULL, FALSE))
			;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5) == 1) {
			char buf[4096];
			ssize_t r = recv(fd, buf, sizeof buf, 0);
			if (r <= 0)
				break;
			g_string_append_len(got, buf, r);
		}
	}
	return g_string_free(got, FALSE);
}

static int listen_tcp(jn_addr *a)
{
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	g_assert_cmpint(bind(lfd, (struct sockaddr *)&me, sizeof me), ==, 0);
	g_assert_cmpint(listen(lfd, 4), ==, 0);
	a->len = sizeof a->ss;
	getsockname(lfd, (struct sockaddr *)&a->ss, &a->len);
	return lfd;
}

static int accept_wait(int lfd)
{
	for (int i = 0; i < 2000; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		if (poll(&p, 1, 5) == 1)
			return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	}
	return -1;
}

static void keep_flow(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req, const sip_peer *from)
{
	sip_flow **f = user;
	(void)req;
	*f = sip_flow_ref(from->flow);
	sip_stack_respond(s, tx, 486, NULL, NULL);
}

/* A connection that closes fails the client transactions waiting on it at
 * once with 503 (data NULL), not after 32 s with 408: requests sent by
 * address over a new outbound connection (an INVITE past its 180, and an
 * OPTIONS), a request over an inbound flow, and a connect that is refused. */
static void test_tcp_close_fails(void)
{
	sip_stack_opts o = { .tcp_listen = "127.0.0.1:0", .realm = "x" };
	char *err = NULL;
	sip_stack *s = sip_stack_new(&o, &err);
	g_assert_nonnull(s);
	GArray *inv_st = g_array_new(FALSE, FALSE, sizeof(int)), *opt_st = g_array_new(FALSE, FALSE, sizeof(int));
	jn_addr peer;
	int lfd = listen_tcp(&peer);
	char ab[64], ruri[96];
	jn_addr_str(&peer, ab, sizeof ab);
	snprintf(ruri, sizeof ruri, "sip:bob@%s;transport=tcp", ab);
	sip_req_opts q = { .method = SIP_METHOD_INVITE, .ruri = ruri, .from = "<sip:alice@127.0.0.1>;tag=a1",
			   .to = "<sip:bob@127.0.0.1>", .call_id = "cl1", .cseq = 1, .contact = "<sip:alice@127.0.0.1>" };
	sip_tx *inv = NULL;
	g_assert_cmpint(sip_stack_send_request(s, SIP_TP_TCP, NULL, &peer, &q, record_status, inv_st, &inv), ==, 0);
	q.method = SIP_METHOD_OPTIONS;
	q.call_id = "cl2";
	g_assert_cmpint(sip_stack_send_request(s, SIP_TP_TCP, NULL, &peer, &q, record_status, opt_st, NULL), ==, 0);
	int fd = accept_wait(lfd);
	g_assert_cmpint(fd, >=, 0);
	const char *both[] = { "CSeq: 1 INVITE\r\n", "CSeq: 1 OPTIONS\r\n" };
	char *got = tcp_read_until(fd, both, 2);
	g_assert_nonnull(strstr(got, both[0]));
	g_assert_nonnull(strstr(got, both[1]));
	/* Both went over the one connection; the INVITE rings first. */
	g_assert_cmpuint(sip_tcp_connections(sip_stack_transport(s, SIP_TP_TCP)), ==, 1);
	char *r180 = make_response(got, "180 Ringing", "b1");
	g_assert_cmpint(send(fd, r180, strlen(r180), 0), ==, (gssize)strlen(r180));
	wait_statuses(inv_st, 1);
	g_assert_cmpuint(inv_st->len, ==, 1);
	g_assert_cmpint(g_array_index(inv_st, int, 0), ==, 180);
	g_assert_cmpint(sip_tx_get_state(inv), ==, SIP_TX_PROCEEDING);
	g_assert_cmpuint(opt_st->len, ==, 0);
	close(fd);
	wait_statuses(inv_st, 2);
	wait_statuses(opt_st, 1);
	g_assert_cmpuint(inv_st->len, ==, 2);
	g_assert_cmpint(g_array_index(inv_st, int, 1), ==, 503);
	g_assert_cmpuint(opt_st->len, ==, 1);
	g_assert_cmpint(g_array_index(opt_st, int, 0), ==, 503);
	g_free(r180);
	g_free(got);

	/* Over an inbound flow: the peer connects, we send it a request over
	 * that flow, it hangs up. */
	sip_flow *flow = NULL;
	sip_stack_on_invite(s, keep_flow, &flow);
	sip_transport *tcp = sip_stack_transport(s, SIP_TP_TCP);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&tcp->local.ss, tcp->local.len), ==, 0);
	const char *in = "INVITE sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKin1\r\n"
			 "Max-Forwards: 70\r\nFrom: <sip:c@d>;tag=1\r\nTo: <sip:e@f>\r\nCall-ID: in1\r\n"
			 "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	g_assert_cmpint(send(fd, in, strlen(in), 0), ==, (gssize)strlen(in));
	const char *busy[] = { "SIP/2.0 486 " };
	got = tcp_read_until(fd, busy, 1);
	g_assert_nonnull(strstr(got, busy[0]));
	g_free(got);
	g_assert_nonnull(flow);
	GArray *fl_st = g_array_new(FALSE, FALSE, sizeof(int));
	q.method = SIP_METHOD_OPTIONS;
	q.call_id = "cl3";
	q.cseq = 5;
	g_assert_cmpint(sip_stack_send_request(s, SIP_TP_TCP, flow, sip_flow_remote(flow), &q, record_status, fl_st,
					       NULL), ==, 0);
	const char *opt5[] = { "CSeq: 5 OPTIONS\r\n" };
	got = tcp_read_until(fd, opt5, 1);
	g_assert_nonnull(strstr(got, opt5[0]));
	g_free(got);
	g_assert_cmpuint(fl_st->len, ==, 0);
	close(fd);
	wait_statuses(fl_st, 1);
	g_assert_cmpuint(fl_st->len, ==, 1);
	g_assert_cmpint(g_array_index(fl_st, int, 0), ==, 503);
	sip_flow_unref(flow);

	/* Nobody listens any more: the refused connect fails the request
	 * (synchronously, or through the callback once the connect fails). */
	close(lfd);
	GArray *ref_st = g_array_new(FALSE, FALSE, sizeof(int));
	q.call_id = "cl4";
	int rc = sip_stack_send_request(s, SIP_TP_TCP, NULL, &peer, &q, record_status, ref_st, NULL);
	if (rc == 0) {
		wait_statuses(ref_st, 1);
		g_assert_cmpuint(ref_st->len, ==, 1);
		g_assert_cmpint(g_array_index(ref_st, int, 0), ==, 503);
	} else {
		g_assert_cmpint(rc, ==, ECONNREFUSED);
		g_assert_cmpuint(ref_st->len, ==, 0);
	}
	sip_stack_free(s);
	g_array_free(inv_st, TRUE);
	g_array_free(opt_st, TRUE);
	g_array_free(fl_st, TRUE);
	g_array_free(ref_st, TRUE);
}

typedef struct {
	GPtrArray *methods; /* method names the dialog handler saw */
	fixture *fx;
} dlg_seen;

static void on_dialog(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req, const sip_peer *from)
{
	dlg_seen *d = user;
	(void)from;
	g_ptr_array_add(d->methods, sip_pl_strdup(req->method_pl));
	if (tx)
		sip_stack_respond(s, tx, 200, NULL, NULL);
}

/* What a B2BUA needs from the stack: in-dialog UPDATE, INFO, REFER and
 * NOTIFY reach the dialog handler (not 405), Allow lists them, outside a
 * dialog they get 481; an INVITE with Replaces and "Require: replaces"
 * (attended transfer) reaches on_invite, as does one requiring timer. */
static void test_dialog_methods(void)
{
	fixture fx;
	fx_setup(&fx);
	dlg_seen seen = { g_ptr_array_new_with_free_func(g_free), &fx };
	/* Without a dialog handler: UPDATE is not served at all. */
	char *a = send_req(&fx, "UPDATE", "dm0", NULL);
	assert_status(a, "SIP/2.0 405 ");
	g_assert_null(strstr(a, "UPDATE, INFO"));
	g_free(a);

	sip_stack_on_dialog_request(fx.s, on_dialog, &seen);
	g_assert_cmpstr(sip_stack_allow(fx.s), ==, "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO, REFER, NOTIFY");
	a = send_req(&fx, "OPTIONS", "dm1", NULL);
	assert_status(a, "SIP/2.0 200 ");
	g_assert_nonnull(strstr(a, "\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO, REFER, NOTIFY\r\n"));
	g_assert_nonnull(strstr(a, "\r\nSupported: outbound, path, replaces, timer\r\n"));
	g_free(a);
	const char *methods[] = { "UPDATE", "INFO", "REFER", "NOTIFY" };
	for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
		char branch[16], cseq[32], *r;
		snprintf(branch, sizeof branch, "dm%zu", 10 + i);
		snprintf(cseq, sizeof cseq, "%zu %s", 2 + i, methods[i]);
		r = g_strdup_printf("%s sip:127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK%s\n"
				    "Max-Forwards: 70\nFrom: <sip:alice@127.0.0.1>;tag=f1\nTo: <sip:bob@127.0.0.1>;tag=t1\n"
				    "Call-ID: dlg@test\nCSeq: %s\nContact: <sip:alice@127.0.0.1:%u>\n%s"
				    "Content-Length: 0\n\n", methods[i], fx.port, branch, cseq, fx.port,
				    i == 2 ? "Refer-To: <sip:carol@127.0.0.1>\n" : i == 3 ? "Event: refer\nSubscription-State: active\n" : "");
		a = exchange(&fx, r);
		g_assert_nonnull(a);
		assert_status(a, "SIP/2.0 200 ");
		g_assert_nonnull(strstr(a, cseq));
		g_free(a);
		g_free(r);
		g_assert_cmpuint(seen.methods->len, ==, i + 1);
		g_assert_cmpstr(g_ptr_array_index(seen.methods, i), ==, methods[i]);
	}
	/* Outside a dialog (no To tag): 481, nothing for the handler. */
	for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
		char branch[16];
		snprintf(branch, sizeof branch, "dm%zu", 20 + i);
		a = send_req(&fx, methods[i], branch, NULL);
		assert_status(a, "SIP/2.0 481 ");
		g_free(a);
	}
	g_assert_cmpuint(seen.methods->len, ==, 4);
	/* SUBSCRIBE is still not ours. */
	a = send_req(&fx, "SUBSCRIBE", "dm30", NULL);
	assert_status(a, "SIP/2.0 405 ");
	g_free(a);

	/* Attended transfer: a new INVITE replacing a dialog. */
	sip_stack_on_invite(fx.s, on_invite, &fx);
	a = send_req(&fx, "INVITE", "dm40", "Require: replaces\nReplaces: abc@h;to-tag=1;from-tag=2\n");
	assert_status(a, "SIP/2.0 100 ");
	g_free(a);
	g_assert_cmpint(fx.invites, ==, 1);
	const sip_msg *inv = sip_stack_tx_request(fx.invite);
	g_assert_true(sip_pl_eq_str(inv->replaces, "abc@h;to-tag=1;from-tag=2"));
	sip_stack_respond(fx.s, fx.invite, 486, NULL, NULL);
	a = recv_reply(&fx);
	assert_status(a, "SIP/2.0 486 ");
	g_free(a);
	char *ack = req(&fx, "ACK", "dm40", NULL, "1 ACK");
	send_only(&fx, ack); /* no 486 resent later */
	g_free(ack);
	a = send_req(&fx, "INVITE", "dm41", "Supported: timer\nRequire: timer\nSession-Expires: 1800;refresher=uac\n");
	assert_status(a, "SIP/2.0 100 ");
	g_free(a);
	g_assert_cmpint(fx.invites, ==, 2);
	sip_stack_respond(fx.s, fx.invite, 486, NULL, NULL);
	a = recv_reply(&fx);
	assert_status(a, "SIP/2.0 486 ");
	g_free(a);
	ack = req(&fx, "ACK", "dm41", NULL, "1 ACK");
	send_only(&fx, ack);
	g_free(ack);
	/* Still 420 for what we do not do. */
	a = send_req(&fx, "INVITE", "dm42", "Require: 100rel\n");
	assert_status(a, "SIP/2.0 420 ");
	g_free(a);
	g_assert_cmpint(fx.invites, ==, 2);
	g_ptr_array_free(seen.methods, TRUE);
	fx_teardown(&fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_stack/options", test_options);
	g_test_add_func("/sip_stack/errors", test_errors);
	g_test_add_func("/sip_stack/invite-cancel", test_invite_cancel);
	g_test_add_func("/sip_stack/register", test_register);
	g_test_add_func("/sip_stack/port-in-use", test_port_in_use);
	g_test_add_func("/sip_stack/tcp", test_tcp);
	g_test_add_func("/sip_stack/2xx-ack", test_2xx_ack);
	g_test_add_func("/sip_stack/flow-binding", test_flow_binding);
	g_test_add_func("/sip_stack/client-invite-cancel", test_client_invite_cancel);
	g_test_add_func("/sip_stack/tcp-close-fails", test_tcp_close_fails);
	g_test_add_func("/sip_stack/dialog-methods", test_dialog_methods);
	return g_test_run();
}
