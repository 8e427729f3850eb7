#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/net.h"

static void test_addr_parse(void)
{
	jn_addr a;
	char buf[80];
	g_assert_cmpint(jn_addr_parse("127.0.0.1:5060", 0, &a), ==, 0);
	g_assert_cmpstr(jn_addr_str(&a, buf, sizeof buf), ==, "127.0.0.1:5060");
	g_assert_cmpint(jn_addr_parse("[::1]:8080", 0, &a), ==, 0);
	g_assert_cmpstr(jn_addr_str(&a, buf, sizeof buf), ==, "[::1]:8080");
	g_assert_cmpint(jn_addr_parse("::1", 99, &a), ==, 0);
	g_assert_cmpuint(jn_addr_port(&a), ==, 99);
	g_assert_cmpint(jn_addr_parse("10.0.0.1", 5060, &a), ==, 0);
	g_assert_cmpuint(jn_addr_port(&a), ==, 5060);
	const char *bad[] = { "", "host.example:5060", "1.2.3.4:", "1.2.3.4:70000", "[::1", "[::1]x",
			      "1.2.3.4:5x", "999.1.1.1:1" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(jn_addr_parse(bad[i], 0, &a), !=, 0);
}

static void test_listen_busy(void)
{
	jn_addr a;
	char err[256];
	g_assert_cmpint(jn_addr_parse("127.0.0.1:0", 0, &a), ==, 0);
	int fd = jn_net_listen(SOCK_STREAM, &a, err, sizeof err);
	g_assert_cmpint(fd, >=, 0);
	socklen_t len = sizeof a.ss;
	getsockname(fd, (struct sockaddr *)&a.ss, &len);
	a.len = len;
	int fd2 = jn_net_listen(SOCK_STREAM, &a, err, sizeof err);
	g_assert_cmpint(fd2, <, 0);
	g_assert_nonnull(strstr(err, "Address already in use"));
	g_assert_nonnull(strstr(err, "127.0.0.1:"));
	close(fd);
}

static void test_log_line(void)
{
	int p[2];
	char buf[512];
	g_assert_cmpint(pipe(p), ==, 0);
	jn_log_set_fd(p[1]);
	jn_log_set_level(JN_LOG_INFO);
	jn_log_write(JN_LOG_INFO, "sip", "call-1", "hello %d\nforged", 42);
	jn_log_write(JN_LOG_DEBUG, "sip", NULL, "not shown");
#define JN_LOG_TAG "t"
	jn_debug(NULL, "also not shown");
	jn_log_set_fd(2);
	ssize_t n = read(p[0], buf, sizeof buf - 1);
	g_assert_cmpint(n, >, 0);
	buf[n] = '\0';
	g_assert_nonnull(strstr(buf, "info  [sip] (call-1) hello 42?forged\n"));
	g_assert_null(strstr(buf, "shown"));
	close(p[0]);
	close(p[1]);
	jn_log_level l;
	g_assert_true(jn_log_parse_level("DEBUG", &l));
	g_assert_cmpint(l, ==, JN_LOG_DEBUG);
	g_assert_false(jn_log_parse_level("loud", &l));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/util/addr/parse", test_addr_parse);
	g_test_add_func("/util/net/listen-busy", test_listen_busy);
	g_test_add_func("/util/log/line", test_log_line);
	return g_test_run();
}
