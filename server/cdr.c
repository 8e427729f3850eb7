/* Call detail records: JSON lines appended to [general] cdr_file.
 *
 * Why a writer thread: a record is only worth something once it is on the
 * disk, so every batch is fdatasync()ed. Measured here (ext4 on a virtio
 * disk; a loop of 400-byte write + fdatasync, see docs/routing-and-cdr.md)
 * that costs ~200-250 us per record; on a rotating disk or a busy SAN it is
 * several milliseconds. On the core thread, at the 1,000 calls per second
 * we aim for, that alone would eat a quarter of the thread here and all of
 * it on a slow disk, and one stalled disk would stall all signalling. So
 * the core only formats the line (microseconds) and queues it; one writer
 * thread takes everything queued, appends it with a single write(2) (whole
 * lines only, O_APPEND) and syncs once for the batch, so the cost per record
 * falls as the call rate rises (group commit).
 *
 * The trade-off: a record reaches the disk a few ms after the call ends
 * rather than before jn_cdr_write() returns; a crash in that window loses
 * it. The queue is bounded (QUEUE_MAX lines): if the disk stops keeping up,
 * records are dropped and counted rather than memory growing without end or
 * the core blocking. Write errors (disk full, I/O error) are logged once per
 * episode and counted; the next batch tries again. */
#define JN_LOG_TAG "cdr"
#include "server/cdr.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define QUEUE_MAX 10000          /* lines waiting for the writer at most */
#define BATCH_MAX (256 * 1024)   /* bytes per write(2) at most (then another) */

struct jn_cdr {
	char *path;
	int fd;
	GThread *thread;
	GMutex lock;
	GCond wake;          /* the writer waits here for lines */
	GCond progress;      /* jn_cdr_flush() waits here */
	GQueue queue;        /* char * lines, each with its '\n' */
	guint64 enqueued;    /* lines ever queued */
	guint64 completed;   /* lines ever written or failed */
	bool stopping;
	bool drop_logged;    /* a full queue was logged in this episode */
	jn_cdr_stats stats;  /* written / failed / dropped (under lock) */
	/* Writer thread only: */
	bool failing;        /* in a run of write errors (logged once) */
	bool need_newline;   /* a partial line is on disk: start on a new one */
};

/* ---- formatting ---------------------------------------------------------- */

const char *jn_cdr_cause_str(jn_cdr_cause cause)
{
	static const char *const names[] = {
		[JN_CDR_NORMAL] = "normal", [JN_CDR_BUSY] = "busy",
		[JN_CDR_NO_ANSWER] = "no_answer", [JN_CDR_CANCELLED] = "cancelled",
		[JN_CDR_REJECTED] = "rejected", [JN_CDR_FAILED] = "failed",
		[JN_CDR_MEDIA_TIMEOUT] = "media_timeout", [JN_CDR_BROWSER_GONE] = "browser_gone",
		[JN_CDR_TRANSFERRED] = "transferred", [JN_CDR_SHUTDOWN] = "shutdown",
	};
	return (unsigned)cause < G_N_ELEMENTS(names) ? names[cause] : "failed";
}

void jn_cdr_time_str(int64_t us, char *buf, size_t size)
{
	if (us < 0)
		us = 0;
	time_t s = (time_t)(us / 1000000);
	int ms = (int)(us % 1000000 / 1000);
	struct tm tm;
	if (!gmtime_r(&s, &tm)) {
		g_strlcpy(buf, "1970-01-01T00:00:00.000Z", size);
		return;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* Strings come partly from the network (a From user part): Jansson wants
 * UTF-8, so anything else is repaired rather than losing the record. */
static json_t *jstr(const char *s)
{
	if (!s)
		return json_null();
	if (g_utf8_validate(s, -1, NULL))
		return json_string(s);
	char *fixed = g_utf8_make_valid(s, -1);
	json_t *j = json_string(fixed);
	g_free(fixed);
	return j;
}

static json_t *jtime(int64_t us)
{
	char buf[32];
	if (us <= 0)
		return json_null();
	jn_cdr_time_str(us, buf, sizeof buf);
	return json_string(buf);
}

static json_t *jleg(const char *side, const jn_cdr_leg *l)
{
	json_t *o = json_object();
	json_object_set_new(o, "side", json_string(side));
	json_object_set_new(o, "kind", jstr(l->kind));
	json_object_set_new(o, "codec", jstr(l->codec));
	json_object_set_new(o, "packets_sent", json_integer((json_int_t)l->packets_sent));
	json_object_set_new(o, "packets_received", json_integer((json_int_t)l->packets_received));
	json_object_set_new(o, "bytes_sent", json_integer((json_int_t)l->bytes_sent));
	json_object_set_new(o, "bytes_received", json_integer((json_int_t)l->bytes_received));
	json_object_set_new(o, "packets_lost", json_integer((json_int_t)l->packets_lost));
	double j = isfinite(l->jitter_ms) && l->jitter_ms >= 0 ? l->jitter_ms : 0;
	json_object_set_new(o, "jitter_ms", json_real(round(j * 100) / 100));
	return o;
}

char *jn_cdr_format(const jn_cdr_record *r)
{
	static const char *const media[] = { "none", "relay", "transcode" };
	json_t *o = json_object();
	json_object_set_new(o, "v", json_integer(1));
	json_object_set_new(o, "call_id", jstr(r->call_id));
	json_object_set_new(o, "caller", jstr(r->caller));
	json_object_set_new(o, "caller_number", jstr(r->caller_number));
	json_object_set_new(o, "callee", jstr(r->callee));
	json_object_set_new(o, "route", jstr(r->route));
	json_object_set_new(o, "target", jstr(r->target));
	json_object_set_new(o, "number", jstr(r->number));
	json_object_set_new(o, "start", jtime(r->start_us));
	json_object_set_new(o, "answer", jtime(r->answer_us));
	json_object_set_new(o, "end", jtime(r->end_us));
	int64_t dur = r->start_us > 0 && r->end_us > r->start_us ? (r->end_us - r->start_us) / 1000 : 0;
	int64_t bill = r->answer_us > 0 && r->end_us > r->answer_us ? (r->end_us - r->answer_us) / 1000 : 0;
	json_object_set_new(o, "duration_ms", json_integer(dur));
	json_object_set_new(o, "billable_ms", json_integer(bill));
	json_object_set_new(o, "cause", json_string(jn_cdr_cause_str(r->cause)));
	json_object_set_new(o, "sip_code", r->sip_code > 0 ? json_integer(r->sip_code) : json_null());
	json_object_set_new(o, "reason", jstr(r->reason));
	json_object_set_new(o, "media", json_string((unsigned)r->media < 3 ? media[r->media] : "none"));
	json_t *legs = json_array();
	json_array_append_new(legs, jleg("a", &r->legs[0]));
	json_array_append_new(legs, jleg("b", &r->legs[1]));
	json_object_set_new(o, "legs", legs);
	if (r->transfer)
		json_object_set_new(o, "transfer", json_string(r->transfer));
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	char *line = g_strconcat(s ? s : "{}", "\n", NULL);
	free(s);
	return line;
}

/* ---- the writer ---------------------------------------------------------- */

#define COALESCE_MS 5	   /* a record is on disk at most this much later */
#define COALESCE_LINES 64  /* ... or as soon as this many wait */

/* Appends buf (whole lines) with one write(2) and syncs. 0 or an errno. */
static int write_batch(jn_cdr *c, const char *buf, size_t len)
{
	ssize_t n;
	do
		n = write(c->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len) {
		c->need_newline = false;
		/* EINVAL: this kind of file cannot be synced (a pipe, /dev/full). */
		if (fdatasync(c->fd) < 0 && errno != EINVAL)
			return errno;
		return 0;
	}
	int err = n < 0 ? errno : ENOSPC;
	if (n > 0) {
		/* Part of the batch landed: cut it off so the file keeps whole
		 * lines; if that fails, the next batch starts on a new line so
		 * only this fragment is unreadable. */
		off_t end = lseek(c->fd, 0, SEEK_CUR);
		if (end < n || ftruncate(c->fd, end - n) < 0)
			c->need_newline = true;
	}
	return err;
}

static gpointer writer_main(gpointer data)
{
	jn_cdr *c = data;
	GString *batch = g_string_sized_new(4096);
	g_mutex_lock(&c->lock);
	for (;;) {
		while (!c->queue.length && !c->stopping)
			g_cond_wait(&c->wake, &c->lock);
		if (!c->queue.length)
			break; /* stopping, and everything is written */
		/* Busy servers end many calls a millisecond: gather what ends in
		 * the next few ms and sync once for all of them (an fdatasync per
		 * line cost ~45 us of CPU per call at 1000 calls/s). */
		gint64 until = g_get_monotonic_time() + COALESCE_MS * G_TIME_SPAN_MILLISECOND;
		while (!c->stopping && c->queue.length < COALESCE_LINES &&
		       g_cond_wait_until(&c->wake, &c->lock, until))
			;
		guint n = 0;
		g_string_truncate(batch, 0);
		if (c->need_newline)
			g_string_append_c(batch, '\n');
		while (c->queue.length && batch->len < BATCH_MAX) {
			char *line = g_queue_pop_head(&c->queue);
			g_string_append(batch, line);
			g_free(line);
			n++;
		}
		g_mutex_unlock(&c->lock);

		int err = write_batch(c, batch->str, batch->len);
		if (err && !c->failing)
			jn_error(NULL, "cannot write call records to %s: %s (records are counted as lost "
				 "until writing works again)", c->path, g_strerror(err));
		else if (!err && c->failing)
			jn_warn(NULL, "writing call records to %s again", c->path);
		c->failing = err != 0;

		g_mutex_lock(&c->lock);
		if (err)
			c->stats.failed += n;
		else
			c->stats.written += n;
		c->completed += n;
		if (!c->queue.length)
			c->drop_logged = false;
		g_cond_broadcast(&c->progress);
	}
	g_mutex_unlock(&c->lock);
	g_string_free(batch, TRUE);
	return NULL;
}

int jn_cdr_open(const char *path, jn_cdr **out)
{
	*out = NULL;
	if (!path || !*path)
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0) {
		int err = errno;
		jn_error(NULL, "cannot open call record file %s: %s", path, g_strerror(err));
		return err;
	}
	jn_cdr *c = g_new0(jn_cdr, 1);
	c->path = g_strdup(path);
	c->fd = fd;
	g_mutex_init(&c->lock);
	g_cond_init(&c->wake);
	g_cond_init(&c->progress);
	g_queue_init(&c->queue);
	c->thread = g_thread_new("jn-cdr", writer_main, c);
	*out = c;
	return 0;
}

void jn_cdr_close(jn_cdr *c)
{
	if (!c)
		return;
	g_mutex_lock(&c->lock);
	c->stopping = true;
	g_cond_signal(&c->wake);
	g_mutex_unlock(&c->lock);
	g_thread_join(c->thread);
	close(c->fd);
	g_queue_clear_full(&c->queue, g_free);
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->wake);
	g_cond_clear(&c->progress);
	g_free(c->path);
	g_free(c);
}

int jn_cdr_write(jn_cdr *c, const jn_cdr_record *rec)
{
	if (!c)
		return 0;
	char *line = jn_cdr_format(rec);
	g_mutex_lock(&c->lock);
	if (c->queue.length >= QUEUE_MAX) {
		c->stats.dropped++;
		bool first = !c->drop_logged;
		c->drop_logged = true;
		g_mutex_unlock(&c->lock);
		g_free(line);
		if (first)
			jn_error(rec->call_id, "call record queue full (%d): %s is not keeping up; "
				 "records are dropped and counted", QUEUE_MAX, c->path);
		return ENOBUFS;
	}
	g_queue_push_tail(&c->queue, line);
	c->enqueued++;
	g_cond_signal(&c->wake);
	g_mutex_unlock(&c->lock);
	return 0;
}

void jn_cdr_flush(jn_cdr *c)
{
	if (!c)
		return;
	g_mutex_lock(&c->lock);
	guint64 target = c->enqueued;
	while (c->completed < target)
		g_cond_wait(&c->progress, &c->lock);
	g_mutex_unlock(&c->lock);
}

void jn_cdr_get_stats(jn_cdr *c, jn_cdr_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!c)
		return;
	g_mutex_lock(&c->lock);
	*out = c->stats;
	out->queued = c->queue.length;
	g_mutex_unlock(&c->lock);
}
