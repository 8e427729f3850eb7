/* Unit tests for sip_frame: stream framing and keep-alives. */
#include <glib.h>
#include <string.h>

#include "sip/sip_frame.h"
#include "sip/sip_msg.h"

static const char msg1[] =
	"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
	"Content-Length: 5\r\n\r\nhello";
static const char msg2[] =
	"SIP/2.0 200 OK\r\nl: 0\r\n\r\n";

static char *data_path(const char *rel)
{
	const char *src = g_getenv("JN_SRCDIR");

	return g_build_filename(src ? src : JN_SRCDIR, "tests", "data", rel, NULL);
}

static void test_whole_and_pipelined(void)
{
	GString *s = g_string_new(NULL);
	sip_frame f;
	size_t n;

	sip_frame_init(&f, 0);
	g_string_append(s, msg1);
	g_string_append(s, msg2);
	g_string_append(s, msg1);
	g_assert_cmpint(sip_frame_next(&f, s->str, s->len, &n), ==, SIP_FRAME_MSG);
	g_assert_cmpuint(n, ==, sizeof(msg1) - 1);
	g_string_erase(s, 0, (gssize)n);
	g_assert_cmpint(sip_frame_next(&f, s->str, s->len, &n), ==, SIP_FRAME_MSG);
	g_assert_cmpuint(n, ==, sizeof(msg2) - 1);
	g_string_erase(s, 0, (gssize)n);
	g_assert_cmpint(sip_frame_next(&f, s->str, s->len, &n), ==, SIP_FRAME_MSG);
	g_assert_cmpuint(n, ==, sizeof(msg1) - 1);
	g_string_erase(s, 0, (gssize)n);
	g_assert_cmpint(sip_frame_next(&f, s->str, s->len, &n), ==, SIP_FRAME_MORE);
	g_string_free(s, TRUE);
}

/* Bytes arrive one at a time; the framer is called after each. */
static void test_byte_by_byte(void)
{
	sip_frame f;
	size_t n;

	sip_frame_init(&f, 0);
	for (size_t len = 0; len < sizeof(msg1) - 1; len++)
		g_assert_cmpint(sip_frame_next(&f, msg1, len, &n), ==, SIP_FRAME_MORE);
	g_assert_cmpint(sip_frame_next(&f, msg1, sizeof(msg1) - 1, &n), ==, SIP_FRAME_MSG);
	g_assert_cmpuint(n, ==, sizeof(msg1) - 1);
}

static void test_keepalive(void)
{
	static const char ping_then_msg[] = "\r\n\r\nSIP/2.0 200 OK\r\nl: 0\r\n\r\n";
	sip_frame f;
	size_t n;

	sip_frame_init(&f, 0);
	g_assert_cmpint(sip_frame_next(&f, ping_then_msg, sizeof(ping_then_msg) - 1, &n), ==,
			SIP_FRAME_PING);
	g_assert_cmpuint(n, ==, 4);
	g_assert_cmpint(sip_frame_next(&f, ping_then_msg + 4, sizeof(ping_then_msg) - 5, &n), ==,
			SIP_FRAME_MSG);
	g_assert_cmpint(sip_frame_next(&f, "\r\nSIP", 5, &n), ==, SIP_FRAME_PONG);
	g_assert_cmpuint(n, ==, 2);
	/* A ping split across reads is still a ping, not two pongs. */
	g_assert_cmpint(sip_frame_next(&f, "\r\n", 2, &n), ==, SIP_FRAME_MORE);
	g_assert_cmpint(sip_frame_next(&f, "\r\n\r\n", 4, &n), ==, SIP_FRAME_PING);
	g_assert_cmpint(sip_frame_next(&f, "\r\nSIP/2.0", 9, &n), ==, SIP_FRAME_PONG);
	g_assert_cmpuint(n, ==, 2);
	g_assert_cmpint(sip_frame_next(&f, "\n", 1, &n), ==, SIP_FRAME_PONG);
	g_assert_cmpint(sip_frame_next(&f, "\r", 1, &n), ==, SIP_FRAME_MORE);
	g_assert_cmpint(sip_frame_next(&f, "\r\n\r", 3, &n), ==, SIP_FRAME_MORE);
	g_assert_cmpint(sip_frame_next(&f, "\rx", 2, &n), ==, SIP_FRAME_ERROR);
}

static void test_errors(void)
{
	static const struct {
		const char *text;
		int err;
	} bad[] = {
		{ "OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", EBADMSG },	/* no CL */
		{ "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n", EBADMSG },
		{ "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1x\r\n\r\n", EBADMSG },
		{ "OPTIONS sip:a@b SIP/2.0\r\nContent-Length:\r\n\r\n", EBADMSG },
		{ "OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n", EBADMSG },
		{ "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 99999999999\r\n\r\n", EBADMSG },
		{ "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 70000\r\n\r\n", EMSGSIZE },
		{ "\x16\x03\x01 binary\r\n", EBADMSG },
	};
	sip_frame f;
	size_t n;

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		sip_frame_init(&f, 0);
		g_test_message("case %zu", i);
		g_assert_cmpint(sip_frame_next(&f, bad[i].text, strlen(bad[i].text), &n), ==,
				SIP_FRAME_ERROR);
		g_assert_cmpint(f.err, ==, bad[i].err);
	}
	/* Same Content-Length twice is tolerated here (the parser decides). */
	sip_frame_init(&f, 0);
	g_assert_cmpint(sip_frame_next(&f, "A b c\r\nl: 0\r\nContent-Length: 0\r\n\r\n", 35, &n),
			==, SIP_FRAME_MSG);

	/* A head that never ends is cut off at max_msg. */
	{
		char *big = g_malloc(2000);

		memset(big, 'a', 2000);
		memcpy(big, "OPTIONS x\r\n", 11);
		for (size_t i = 20; i < 2000; i += 20)
			big[i] = '\n';
		sip_frame_init(&f, 1000);
		g_assert_cmpint(sip_frame_next(&f, big, 2000, &n), ==, SIP_FRAME_ERROR);
		g_assert_cmpint(f.err, ==, EMSGSIZE);
		g_free(big);
	}
}

static const char *const files[] = {
	"rfc4475/3.1.1.1-wsinv.dat", "rfc4475/3.1.1.7-longreq.dat",
	"rfc4475/3.1.1.8-dblreq.dat", "rfc4475/3.1.1.11-mpart01.dat",
	"rfc4475/3.1.1.3-esc01.dat", "sipws/jssip/02-INVITE.sip",
	"sipws/jssip/04-INVITE.sip", "sipws/jssip/01-REGISTER.sip",
};

/* For each real message (all carry Content-Length): every prefix shorter
 * than the message gives MORE, and the frame agrees with the parser. */
static void test_cut_everywhere(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		char *path = data_path(files[i]), *text;
		gsize len;
		sip_msg *m = NULL;
		size_t full, n = 0;
		sip_frame f;

		g_assert_true(g_file_get_contents(path, &text, &len, NULL));
		g_assert_cmpint(sip_msg_parse(text, len, &m, NULL), ==, 0);
		g_assert_cmpint(m->content_length, >=, 0);
		full = (size_t)(m->body.p - m->buf) + m->body.l;
		sip_msg_unref(m);

		/* resumable: one framer across growing prefixes */
		sip_frame_init(&f, 0);
		for (size_t cut = 0; cut < full; cut++)
			g_assert_cmpint(sip_frame_next(&f, text, cut, &n), ==, SIP_FRAME_MORE);
		g_assert_cmpint(sip_frame_next(&f, text, len, &n), ==, SIP_FRAME_MSG);
		g_assert_cmpuint(n, ==, full);
		/* fresh framer per prefix */
		for (size_t cut = 0; cut < full; cut++) {
			char *c = g_memdup2(text, cut);

			sip_frame_init(&f, 0);
			g_assert_cmpint(sip_frame_next(&f, c, cut, &n), ==, SIP_FRAME_MORE);
			g_free(c);
		}
		g_free(text);
		g_free(path);
	}
}

/* RFC 4475 framing cases on a stream: a negative or doubled
 * Content-Length closes the connection; one larger than what arrived
 * waits for more (3.1.2.2: "TCP: wait"). */
static void test_torture_framing(void)
{
	static const struct {
		const char *file;
		sip_frame_result res;
	} cases[] = {
		{ "rfc4475/3.1.2.3-ncl.dat", SIP_FRAME_ERROR },
		{ "rfc4475/3.3.9-mcl01.dat", SIP_FRAME_ERROR },
		{ "rfc4475/3.1.2.2-clerr.dat", SIP_FRAME_MORE },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *path = data_path(cases[i].file), *text;
		gsize len;
		sip_frame f;
		size_t n;

		g_assert_true(g_file_get_contents(path, &text, &len, NULL));
		sip_frame_init(&f, 0);
		g_assert_cmpint(sip_frame_next(&f, text, len, &n), ==, cases[i].res);
		g_free(text);
		g_free(path);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_frame/whole_and_pipelined", test_whole_and_pipelined);
	g_test_add_func("/sip_frame/byte_by_byte", test_byte_by_byte);
	g_test_add_func("/sip_frame/keepalive", test_keepalive);
	g_test_add_func("/sip_frame/errors", test_errors);
	g_test_add_func("/sip_frame/cut_everywhere", test_cut_everywhere);
	g_test_add_func("/sip_frame/torture_framing", test_torture_framing);
	return g_test_run();
}
