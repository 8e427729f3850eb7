/* The message store (order, bounds, flush) and the MESSAGE handler end to
 * end over real UDP sockets on 127.0.0.1: 407 then 202 with credentials, a
 * message for an unregistered user stored and sent when that user
 * registers, a message to a registered user sent at once, 480 when the
 * store is full, 404 without a route, 413 above the body cap. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/message.h"
#include "sip/sip_auth.h"

typedef struct {
	GPtrArray *seen; /* "to|from|type|body" */
} sink;

static void collect(void *user, const char *to, const jn_msg_stored *m)
{
	sink *k = user;
	g_ptr_array_add(k->seen, g_strdup_printf("%s|%s|%s|%.*s", to, m->from, m->content_type,
						 (int)m->body_len, m->body));
}

static void test_order_and_flush(void)
{
	jn_msg_store *st = jn_msg_store_new(0, 0);
	g_assert_cmpint(jn_msg_store_put(st, "bob", "alice", "text/plain", "one", 3), ==, 0);
	g_assert_cmpint(jn_msg_store_put(st, "carol", "alice", NULL, "x", 1), ==, 0);
	g_assert_cmpint(jn_msg_store_put(st, "bob", "carol", "text/html", "<b>two</b>", 10), ==, 0);
	g_assert_cmpuint(jn_msg_store_count(st, "bob"), ==, 2);
	g_assert_cmpuint(jn_msg_store_count(st, NULL), ==, 3);

	sink k = { g_ptr_array_new_with_free_func(g_free) };
	g_assert_cmpuint(jn_msg_store_flush(st, "bob", collect, &k), ==, 2);
	g_assert_cmpuint(k.seen->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(k.seen, 0), ==, "bob|alice|text/plain|one");
	g_assert_cmpstr(g_ptr_array_index(k.seen, 1), ==, "bob|carol|text/html|<b>two</b>");
	/* delivered once: gone afterwards, other users untouched */
	g_assert_cmpuint(jn_msg_store_count(st, "bob"), ==, 0);
	g_assert_cmpuint(jn_msg_store_flush(st, "bob", collect, &k), ==, 0);
	g_assert_cmpuint(jn_msg_store_count(st, NULL), ==, 1);
	g_assert_cmpuint(jn_msg_store_flush(st, "carol", collect, &k), ==, 1);
	g_assert_cmpstr(g_ptr_array_index(k.seen, 2), ==, "carol|alice||x");
	g_ptr_array_free(k.seen, TRUE);
	jn_msg_store_free(st);
}

static void test_bounds(void)
{
	jn_msg_store *st = jn_msg_store_new(2, 3);
	g_assert_cmpint(jn_msg_store_put(st, "bob", "a", "", "1", 1), ==, 0);
	g_assert_cmpint(jn_msg_store_put(st, "bob", "a", "", "2", 1), ==, 0);
	/* per-user bound: the third is refused, the first two are kept */
	g_assert_cmpint(jn_msg_store_put(st, "bob", "a", "", "3", 1), ==, ENOSPC);
	g_assert_cmpint(jn_msg_store_put(st, "carol", "a", "", "4", 1), ==, 0);
	/* total bound */
	g_assert_cmpint(jn_msg_store_put(st, "dave", "a", "", "5", 1), ==, ENOSPC);
	g_assert_cmpuint(jn_msg_store_count(st, NULL), ==, 3);
	sink k = { g_ptr_array_new_with_free_func(g_free) };
	g_assert_cmpuint(jn_msg_store_flush(st, "bob", collect, &k), ==, 2);
	g_assert_cmpstr(g_ptr_array_index(k.seen, 0), ==, "bob|a||1");
	g_assert_cmpstr(g_ptr_array_index(k.seen, 1), ==, "bob|a||2");
	/* room again after delivery */
	g_assert_cmpint(jn_msg_store_put(st, "dave", "a", "", "6", 1), ==, 0);
	g_ptr_array_free(k.seen, TRUE);
	jn_msg_store_free(st);
}

/* A delivery that fails stores the message again: the flush must not loop
 * on it and must leave it for the next registration. */
static void restore(void *user, const char *to, const jn_msg_stored *m)
{
	jn_msg_store *st = user;
	g_assert_cmpint(jn_msg_store_put(st, to, m->from, m->content_type, m->body, m->body_len), ==, 0);
}

static void test_flush_restore(void)
{
	jn_msg_store *st = jn_msg_store_new(0, 0);
	g_assert_cmpint(jn_msg_store_put(st, "bob", "a", "", "hi", 2), ==, 0);
	g_assert_cmpuint(jn_msg_store_flush(st, "bob", restore, st), ==, 1);
	g_assert_cmpuint(jn_msg_store_count(st, "bob"), ==, 1);
	jn_msg_store_free(st);
}

/* --- the handler over UDP ---------------------------------------------------- */

typedef struct {
	sip_stack *s;
	jn_config *cfg;
	jn_msg_layer *ml;
	struct sockaddr_in to;
	int fd[2];          /* 0: alice (sender), 1: bob (registers, receives) */
	uint16_t port[2];
	unsigned seq;
} fixture;

static void fx_setup(fixture *fx)
{
	memset(fx, 0, sizeof *fx);
	static const char text[] = "[sip]\ndomain = 127.0.0.1\n"
		"[user:alice]\npassword = pw-alice\n[user:bob]\npassword = pw-bob\n[user:carol]\npassword = pw-carol\n"
		"[route:users]\nmatch = ^(alice|bob|carol)$\ntarget = user:$1\n";
	GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
	fx->cfg = jn_config_load_data(text, strlen(text), "test", errors);
	g_assert_cmpuint(errors->len, ==, 0);
	g_ptr_array_free(errors, TRUE);
	g_assert_nonnull(fx->cfg);
	sip_stack_user users[] = { { .name = "alice", .password = "pw-alice" },
				   { .name = "bob", .password = "pw-bob" },
				   { .name = "carol", .password = "pw-carol" } };
	const char *algs[] = { "MD5", NULL };
	sip_stack_opts o = { .udp_listen = "127.0.0.1:0", .domain = "127.0.0.1", .realm = "test",
			     .auth_algorithms = algs, .min_expires = 60, .max_expires = 3600,
			     .default_expires = 600, .users = users, .n_users = 3 };
	char *err = NULL;
	fx->s = sip_stack_new(&o, &err);
	g_assert_null(err);
	jn_msg_opts mo = { .sip = fx->s, .cfg = fx->cfg, .max_per_user = 1 };
	fx->ml = jn_msg_new(&mo, &err);
	g_assert_null(err);
	sip_transport *udp = sip_stack_transport(fx->s, SIP_TP_UDP);
	memcpy(&fx->to, &udp->local.ss, sizeof fx->to);
	for (int i = 0; i < 2; i++) {
		fx->fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		g_assert_cmpint(bind(fx->fd[i], (struct sockaddr *)&me, sizeof me), ==, 0);
		socklen_t l = sizeof me;
		getsockname(fx->fd[i], (struct sockaddr *)&me, &l);
		fx->port[i] = ntohs(me.sin_port);
	}
}

static void fx_teardown(fixture *fx)
{
	jn_msg_free(fx->ml);
	sip_stack_free(fx->s);
	jn_config_free(fx->cfg);
	close(fx->fd[0]);
	close(fx->fd[1]);
}

/* Runs the loop until a datagram arrives on socket i (or ~4 s pass). */
static char *recv_on(fixture *fx, int i)
{
	for (int k = 0; k < 800; k++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		struct pollfd p = { .fd = fx->fd[i], .events = POLLIN };
		if (poll(&p, 1, 5) == 1) {
			char buf[65536];
			ssize_t n = recv(fx->fd[i], buf, sizeof buf, 0);
			g_assert_cmpint(n, >, 0);
			return g_strndup(buf, (gsize)n);
		}
	}
	return NULL;
}

/* The next final response on socket i (provisional ones skipped). */
static char *final_on(fixture *fx, int i)
{
	for (int k = 0; k < 10; k++) {
		char *m = recv_on(fx, i);
		g_assert_nonnull(m);
		if (g_str_has_prefix(m, "SIP/2.0 ") && m[8] != '1')
			return m;
		g_free(m);
	}
	g_error("no final response");
	return NULL;
}

/* Sends `method` to ruri from socket i as `user`, answers the challenge,
 * and returns the final response to the request with credentials. */
static char *request(fixture *fx, int i, const char *user, const char *password, const char *method,
		     const char *ruri, const char *to, const char *extra, const char *body)
{
	char *auth = NULL;
	for (int round = 0; round < 2; round++) {
		unsigned seq = ++fx->seq;
		char *m = g_strdup_printf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKm%u;rport\r\n"
					  "Max-Forwards: 70\r\nFrom: <sip:%s@127.0.0.1>;tag=t%u\r\nTo: <%s>\r\n"
					  "Call-ID: msg-%u@test\r\nCSeq: %u %s\r\n%s%s%sContent-Length: %zu\r\n\r\n%s",
					  method, ruri, fx->port[i], seq, user, seq, to, seq, seq, method, extra,
					  auth ? (!strcmp(method, "REGISTER") ? "Authorization: " : "Proxy-Authorization: ") : "",
					  auth ? auth : "", strlen(body), body);
		g_free(auth);
		auth = NULL;
		ssize_t n = sendto(fx->fd[i], m, strlen(m), 0, (struct sockaddr *)&fx->to, sizeof fx->to);
		g_assert_cmpint(n, ==, (gssize)strlen(m));
		g_free(m);
		char *r = final_on(fx, i);
		if (round == 1)
			return r;
		const char *hn = !strcmp(method, "REGISTER") ? "\r\nWWW-Authenticate: " : "\r\nProxy-Authenticate: ";
		g_assert_true(g_str_has_prefix(r, !strcmp(method, "REGISTER") ? "SIP/2.0 401 " : "SIP/2.0 407 "));
		const char *h = strstr(r, hn);
		g_assert_nonnull(h);
		h += strlen(hn);
		const char *e = strstr(h, "\r\n");
		sip_auth_hdr ch;
		g_assert_cmpint(sip_auth_parse(h, (size_t)(e - h), &ch), ==, 0);
		sip_auth_client_opts ao = { .username = user, .password = password, .method = method, .uri = ruri };
		char cred[1024];
		size_t cl;
		g_assert_cmpint(sip_auth_client_answer(&ch, &ao, cred, sizeof cred - 1, &cl), ==, 0);
		cred[cl] = 0;
		auth = g_strconcat(cred, "\r\n", NULL);
		g_free(r);
	}
	return NULL;
}

static char *send_message(fixture *fx, const char *to_user, const char *body)
{
	char *ruri = g_strdup_printf("sip:%s@127.0.0.1", to_user);
	char *r = request(fx, 0, "alice", "pw-alice", "MESSAGE", ruri, ruri, "Content-Type: text/plain\r\n", body);
	g_free(ruri);
	return r;
}

/* Waits for a MESSAGE on bob's socket; checks From, Content-Type, body. */
static void expect_delivery(fixture *fx, const char *body)
{
	char *m = recv_on(fx, 1);
	g_assert_nonnull(m);
	g_assert_true(g_str_has_prefix(m, "MESSAGE sip:bob@127.0.0.1:"));
	g_assert_nonnull(strstr(m, "\r\nFrom: <sip:alice@127.0.0.1>;tag="));
	g_assert_nonnull(strstr(m, "\r\nContent-Type: text/plain\r\n"));
	g_assert_true(g_str_has_suffix(m, body));
	g_free(m);
}

static void test_layer(void)
{
	fixture fx;
	fx_setup(&fx);
	/* bob is not registered: stored, 202 */
	char *r = send_message(&fx, "bob", "first");
	g_assert_true(g_str_has_prefix(r, "SIP/2.0 202 "));
	g_free(r);
	g_assert_cmpuint(jn_msg_store_count(jn_msg_layer_store(fx.ml), "bob"), ==, 1);
	/* the per-user bound (1 here): the next one gets 480 */
	r = send_message(&fx, "bob", "second");
	g_assert_true(g_str_has_prefix(r, "SIP/2.0 480 "));
	g_free(r);
	/* no route, too big */
	r = send_message(&fx, "nobody", "x");
	g_assert_true(g_str_has_prefix(r, "SIP/2.0 404 "));
	g_free(r);
	char *big = g_malloc(JN_MSG_MAX_BODY + 2);
	memset(big, 'x', JN_MSG_MAX_BODY + 1);
	big[JN_MSG_MAX_BODY + 1] = 0;
	r = send_message(&fx, "carol", big);
	g_assert_true(g_str_has_prefix(r, "SIP/2.0 413 "));
	g_free(r);
	g_free(big);
	g_assert_cmpuint(jn_msg_store_count(jn_msg_layer_store(fx.ml), "carol"), ==, 0);

	/* bob registers: 200, then the stored message arrives on his socket */
	char *contact = g_strdup_printf("Contact: <sip:bob@127.0.0.1:%u>\r\n", fx.port[1]);
	r = request(&fx, 1, "bob", "pw-bob", "REGISTER", "sip:127.0.0.1", "sip:bob@127.0.0.1", contact, "");
	g_assert_true(g_str_has_prefix(r, "SIP/2.0 200 "));
	g_free(r);
	g_free(contact);
	expect_delivery(&fx, "first");
	g_assert_cmpuint(jn_msg_store_count(jn_msg_layer_store(fx.ml), NULL), ==, 0);

	/* bob is registered now: sent at once */
	r = send_message(&fx, "bob", "third");
	g_assert_true(g_str_has_prefix(r, "SIP/2.0 202 "));
	g_free(r);
	expect_delivery(&fx, "third");
	g_assert_cmpuint(jn_msg_store_count(jn_msg_layer_store(fx.ml), NULL), ==, 0);
	fx_teardown(&fx);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/message/order-and-flush", test_order_and_flush);
	g_test_add_func("/message/bounds", test_bounds);
	g_test_add_func("/message/flush-restore", test_flush_restore);
	g_test_add_func("/message/layer-udp", test_layer);
	return g_test_run();
}
