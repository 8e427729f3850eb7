#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/cdr.h"
#include "util/log.h"

#define T0 INT64_C(1764066491123456) /* 2025-11-25T10:28:11.123456Z */

static jn_cdr_record sample(const char *id)
{
	jn_cdr_record r = {
		.call_id = id, .caller = "user:alice", .caller_number = "alice",
		.callee = "95551234", .route = "out", .target = "trunk:itsp", .number = "+15551234",
		.start_us = T0, .answer_us = T0 + 2500000, .end_us = T0 + 62500000,
		.cause = JN_CDR_NORMAL, .media = JN_CDR_MEDIA_TRANSCODE,
		.legs = {
			{ .kind = "webrtc", .codec = "opus", .packets_sent = 3000, .packets_received = 2990,
			  .bytes_sent = 240000, .bytes_received = 239200, .packets_lost = 10, .jitter_ms = 1.234 },
			{ .kind = "rtp", .codec = "pcmu", .packets_sent = 2999, .packets_received = 3000,
			  .bytes_sent = 515828, .bytes_received = 516000 },
		},
	};
	return r;
}

/* Log lines go to a temporary file the test can read back. */
static int log_to_file(char **path)
{
	int fd = g_file_open_tmp("test-cdr-log-XXXXXX", path, NULL);
	g_assert_cmpint(fd, >=, 0);
	jn_log_set_fd(fd);
	return fd;
}

static char *log_restore(int fd, char *path)
{
	jn_log_set_fd(2);
	close(fd);
	char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_unlink(path);
	g_free(path);
	return text;
}

static guint count(const char *hay, const char *needle)
{
	guint n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_time_str(void)
{
	char buf[32];
	jn_cdr_time_str(T0, buf, sizeof buf);
	g_assert_cmpstr(buf, ==, "2025-11-25T10:28:11.123Z");
	jn_cdr_time_str(0, buf, sizeof buf);
	g_assert_cmpstr(buf, ==, "1970-01-01T00:00:00.000Z");
	jn_cdr_time_str(-5, buf, sizeof buf);
	g_assert_cmpstr(buf, ==, "1970-01-01T00:00:00.000Z");
	g_assert_cmpstr(jn_cdr_cause_str(JN_CDR_BROWSER_GONE), ==, "browser_gone");
	g_assert_cmpstr(jn_cdr_cause_str((jn_cdr_cause)99), ==, "failed");
}

static void test_append_and_parse(void)
{
	char *dir = g_dir_make_tmp("test-cdr-XXXXXX", NULL);
	g_assert_nonnull(dir);
	char *path = g_build_filename(dir, "cdr.jsonl", NULL);
	jn_cdr *c = NULL;
	g_assert_cmpint(jn_cdr_open(path, &c), ==, 0);
	g_assert_nonnull(c);

	jn_cdr_record a = sample("call-1");
	jn_cdr_record b = sample("call-2");
	b.route = NULL;
	b.target = NULL;
	b.number = NULL;
	b.answer_us = 0;
	b.end_us = T0 + 1000;
	b.cause = JN_CDR_REJECTED;
	b.sip_code = 404;
	b.media = JN_CDR_MEDIA_NONE;
	b.caller = "anonymous";
	b.caller_number = "bad\xff\xfe" "utf8\n\"quote";   /* from the network: hostile */
	b.reason = "no route";
	memset(b.legs, 0, sizeof b.legs);
	b.legs[0].jitter_ms = 0.0 / 0.0;                   /* NaN must not break the line */
	jn_cdr_record d = sample("call-3");
	d.cause = JN_CDR_BROWSER_GONE;
	d.media = JN_CDR_MEDIA_RELAY;
	g_assert_cmpint(jn_cdr_write(c, &a), ==, 0);
	g_assert_cmpint(jn_cdr_write(c, &b), ==, 0);
	g_assert_cmpint(jn_cdr_write(c, &d), ==, 0);
	jn_cdr_flush(c);
	jn_cdr_stats st;
	jn_cdr_get_stats(c, &st);
	g_assert_cmpuint(st.written, ==, 3);
	g_assert_cmpuint(st.failed, ==, 0);
	g_assert_cmpuint(st.dropped, ==, 0);
	g_assert_cmpuint(st.queued, ==, 0);
	jn_cdr_close(c);

	/* Reopening appends. */
	g_assert_cmpint(jn_cdr_open(path, &c), ==, 0);
	jn_cdr_record e = sample("call-4");
	g_assert_cmpint(jn_cdr_write(c, &e), ==, 0);
	jn_cdr_close(c); /* close writes what is queued */

	char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	char **lines = g_strsplit(text, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 5);
	g_assert_cmpstr(lines[4], ==, "");
	const char *ids[] = { "call-1", "call-2", "call-3", "call-4" };
	for (int i = 0; i < 4; i++) {
		json_error_t err;
		json_t *o = json_loads(lines[i], 0, &err);
		if (!o)
			g_test_message("line %d: %s: %s", i, err.text, lines[i]);
		g_assert_nonnull(o);
		g_assert_cmpint(json_integer_value(json_object_get(o, "v")), ==, 1);
		g_assert_cmpstr(json_string_value(json_object_get(o, "call_id")), ==, ids[i]);
		g_assert_cmpstr(json_string_value(json_object_get(o, "start")), ==, "2025-11-25T10:28:11.123Z");
		json_t *legs = json_object_get(o, "legs");
		g_assert_cmpuint(json_array_size(legs), ==, 2);
		g_assert_cmpstr(json_string_value(json_object_get(json_array_get(legs, 1), "side")), ==, "b");
		if (i == 0) {
			g_assert_cmpstr(json_string_value(json_object_get(o, "caller")), ==, "user:alice");
			g_assert_cmpstr(json_string_value(json_object_get(o, "callee")), ==, "95551234");
			g_assert_cmpstr(json_string_value(json_object_get(o, "route")), ==, "out");
			g_assert_cmpstr(json_string_value(json_object_get(o, "target")), ==, "trunk:itsp");
			g_assert_cmpstr(json_string_value(json_object_get(o, "number")), ==, "+15551234");
			g_assert_cmpstr(json_string_value(json_object_get(o, "answer")), ==, "2025-11-25T10:28:13.623Z");
			g_assert_cmpstr(json_string_value(json_object_get(o, "end")), ==, "2025-11-25T10:29:13.623Z");
			g_assert_cmpint(json_integer_value(json_object_get(o, "duration_ms")), ==, 62500);
			g_assert_cmpint(json_integer_value(json_object_get(o, "billable_ms")), ==, 60000);
			g_assert_cmpstr(json_string_value(json_object_get(o, "cause")), ==, "normal");
			g_assert_true(json_is_null(json_object_get(o, "sip_code")));
			g_assert_cmpstr(json_string_value(json_object_get(o, "media")), ==, "transcode");
			json_t *la = json_array_get(legs, 0);
			g_assert_cmpstr(json_string_value(json_object_get(la, "kind")), ==, "webrtc");
			g_assert_cmpstr(json_string_value(json_object_get(la, "codec")), ==, "opus");
			g_assert_cmpint(json_integer_value(json_object_get(la, "packets_sent")), ==, 3000);
			g_assert_cmpint(json_integer_value(json_object_get(la, "packets_lost")), ==, 10);
			g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(la, "jitter_ms")), 1.23, 1e-9);
			g_assert_cmpstr(json_string_value(json_object_get(json_array_get(legs, 1), "codec")), ==, "pcmu");
			g_assert_cmpint(json_integer_value(json_object_get(json_array_get(legs, 1), "bytes_received")), ==, 516000);
		} else if (i == 1) {
			g_assert_cmpstr(json_string_value(json_object_get(o, "cause")), ==, "rejected");
			g_assert_cmpint(json_integer_value(json_object_get(o, "sip_code")), ==, 404);
			g_assert_cmpstr(json_string_value(json_object_get(o, "reason")), ==, "no route");
			g_assert_true(json_is_null(json_object_get(o, "route")));
			g_assert_true(json_is_null(json_object_get(o, "target")));
			g_assert_true(json_is_null(json_object_get(o, "answer")));
			g_assert_cmpint(json_integer_value(json_object_get(o, "duration_ms")), ==, 1);
			g_assert_cmpint(json_integer_value(json_object_get(o, "billable_ms")), ==, 0);
			g_assert_cmpstr(json_string_value(json_object_get(o, "media")), ==, "none");
			const char *num = json_string_value(json_object_get(o, "caller_number"));
			g_assert_true(g_str_has_prefix(num, "bad"));
			g_assert_true(g_str_has_suffix(num, "utf8\n\"quote"));
			json_t *la = json_array_get(legs, 0);
			g_assert_true(json_is_null(json_object_get(la, "codec")));
			g_assert_cmpfloat(json_real_value(json_object_get(la, "jitter_ms")), ==, 0);
		} else if (i == 2) {
			g_assert_cmpstr(json_string_value(json_object_get(o, "cause")), ==, "browser_gone");
			g_assert_cmpstr(json_string_value(json_object_get(o, "media")), ==, "relay");
		}
		json_decref(o);
	}
	g_strfreev(lines);
	g_free(text);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

static void test_off(void)
{
	jn_cdr *c = (jn_cdr *)&c;
	g_assert_cmpint(jn_cdr_open("", &c), ==, 0);
	g_assert_null(c);
	g_assert_cmpint(jn_cdr_open(NULL, &c), ==, 0);
	g_assert_null(c);
	jn_cdr_record r = sample("x");
	g_assert_cmpint(jn_cdr_write(NULL, &r), ==, 0);
	jn_cdr_flush(NULL);
	jn_cdr_stats st;
	jn_cdr_get_stats(NULL, &st);
	g_assert_cmpuint(st.written, ==, 0);
	jn_cdr_close(NULL);
}

/* A path that cannot be written: open fails with the errno, and the log line
 * names the file and the reason. */
static void expect_open_error(const char *path, int want)
{
	char *logp = NULL;
	int lfd = log_to_file(&logp);
	jn_cdr *c = NULL;
	int rc = jn_cdr_open(path, &c);
	char *log = log_restore(lfd, logp);
	g_test_message("open %s: %d; log: %s", path, rc, log);
	g_assert_null(c);
	g_assert_cmpint(rc, !=, 0);
	if (want)
		g_assert_cmpint(rc, ==, want);
	g_assert_nonnull(strstr(log, "cannot open call record file"));
	g_assert_nonnull(strstr(log, path));
	g_assert_nonnull(strstr(log, g_strerror(rc)));
	g_free(log);
}

static void test_unwritable(void)
{
	char *dir = g_dir_make_tmp("test-cdr-XXXXXX", NULL);
	char *missing = g_build_filename(dir, "no", "such", "dir.jsonl", NULL);
	expect_open_error(dir, EISDIR);
	expect_open_error(missing, ENOENT);
	if (geteuid() != 0) {
		char *ro = g_build_filename(dir, "ro", NULL);
		char *f = g_build_filename(ro, "cdr.jsonl", NULL);
		g_assert_cmpint(g_mkdir(ro, 0500), ==, 0);
		expect_open_error(f, EACCES);
		g_rmdir(ro);
		g_free(f);
		g_free(ro);
	} else {
		/* root writes through file modes; sysfs refuses new files to anyone. */
		expect_open_error("/sys/junction-test-cdr.jsonl", 0);
	}
	g_rmdir(dir);
	g_free(missing);
	g_free(dir);
}

/* Disk full: every record fails, is counted, is logged once; nothing stops. */
static void test_disk_full(void)
{
	g_assert_true(g_file_test("/dev/full", G_FILE_TEST_EXISTS));
	char *logp = NULL;
	int lfd = log_to_file(&logp);
	jn_cdr *c = NULL;
	g_assert_cmpint(jn_cdr_open("/dev/full", &c), ==, 0);
	jn_cdr_record r = sample("full-1");
	for (int i = 0; i < 3; i++) {
		g_assert_cmpint(jn_cdr_write(c, &r), ==, 0);
		jn_cdr_flush(c);
	}
	jn_cdr_stats st;
	jn_cdr_get_stats(c, &st);
	jn_cdr_close(c);
	char *log = log_restore(lfd, logp);
	g_test_message("log: %s", log);
	g_assert_cmpuint(st.failed, ==, 3);
	g_assert_cmpuint(st.written, ==, 0);
	g_assert_cmpuint(count(log, "cannot write call records to /dev/full"), ==, 1);
	g_assert_nonnull(strstr(log, g_strerror(ENOSPC)));
	g_free(log);
}

static gpointer drain(gpointer data)
{
	int fd = GPOINTER_TO_INT(data);
	char buf[65536];
	while (read(fd, buf, sizeof buf) > 0)
		;
	return NULL;
}

/* A file that stops taking data (a FIFO nobody reads): the queue fills,
 * jn_cdr_write() refuses at once instead of blocking, drops are counted. */
static void test_queue_full(void)
{
	char *dir = g_dir_make_tmp("test-cdr-XXXXXX", NULL);
	char *fifo = g_build_filename(dir, "fifo", NULL);
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	int rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	g_assert_cmpint(rfd, >=, 0);
	char *logp = NULL;
	int lfd = log_to_file(&logp);
	jn_cdr *c = NULL;
	g_assert_cmpint(jn_cdr_open(fifo, &c), ==, 0);
	jn_cdr_record r = sample("q");
	int refused = 0;
	for (int i = 0; i < 11000; i++)
		if (jn_cdr_write(c, &r) == ENOBUFS)
			refused++;
	jn_cdr_stats st;
	jn_cdr_get_stats(c, &st);
	g_assert_cmpint(refused, >, 0);
	g_assert_cmpuint(st.dropped, ==, (guint64)refused);
	g_assert_cmpuint(st.queued, ==, 10000);
	/* Let the writer go and everything queued reaches the reader. */
	g_assert_cmpint(fcntl(rfd, F_SETFL, 0), ==, 0);
	GThread *t = g_thread_new("drain", drain, GINT_TO_POINTER(rfd));
	jn_cdr_flush(c);
	jn_cdr_get_stats(c, &st);
	g_assert_cmpuint(st.written + st.dropped, ==, 11000);
	jn_cdr_close(c);
	g_thread_join(t);
	close(rfd);
	char *log = log_restore(lfd, logp);
	g_assert_cmpuint(count(log, "call record queue full"), ==, 1);
	g_free(log);
	g_unlink(fifo);
	g_rmdir(dir);
	g_free(fifo);
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cdr/time_str", test_time_str);
	g_test_add_func("/cdr/append_and_parse", test_append_and_parse);
	g_test_add_func("/cdr/off", test_off);
	g_test_add_func("/cdr/unwritable", test_unwritable);
	g_test_add_func("/cdr/disk_full", test_disk_full);
	g_test_add_func("/cdr/queue_full", test_queue_full);
	return g_test_run();
}
