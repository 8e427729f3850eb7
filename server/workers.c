#include "server/workers.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A post queue: closures for one GMainContext, run by one source.
 *
 * g_main_context_invoke from another thread costs an idle GSource per
 * closure (allocated, attached under the target context's lock, destroyed
 * after one run) and a write to the target's wake-up eventfd per closure:
 * at 1000 calls/s that was most of the ~27 eventfd writes and many of the
 * ~30 futex calls per call (strace). Here a post appends to an array under
 * the queue's own mutex and writes the queue's eventfd only when the queue
 * was empty: closures posted while the target has not yet run the batch
 * share one wake-up, and producers never take the target context's lock.
 *
 * The consumer reads the eventfd before it takes the batch, so a post that
 * finds the queue empty after that always wakes it again.
 *
 * A post made while the posting thread dispatches its own context (a worker
 * job, a SIP message on the core) delays that wake-up until the thread is
 * done dispatching: its queue's prepare(), which GLib runs before the next
 * poll, writes the eventfds then. So the posts of one SIP message or one
 * batch of jobs reach the other thread with one wake-up, instead of waking
 * it for the first and again for the second after it went back to sleep. */
typedef struct {
	GSourceFunc fn;
	gpointer data;
} post_item;

typedef struct {
	GSource src;
	GMutex lock;
	GArray *pending; /* post_item, under lock */
	GArray *running; /* the batch being run (consumer only) */
	int efd;
	/* Other queues this thread posted to while dispatching: their wake-ups,
	 * written at our next prepare (only the thread running our context). */
	GPtrArray *wake_later;
} post_queue;

struct jn_worker {
	unsigned index;
	GThread *thread;
	GMainContext *ctx;
	GMainLoop *loop;
	post_queue *q;
	jn_workers *pool;
	gint load;
};

struct jn_workers {
	unsigned n;
	jn_worker *w;
	post_queue *core; /* on the default context */
};

/* The worker running on this thread, if any: how jn_core_post, which has
 * no pool argument, finds the core queue. Per-thread identity, not shared
 * state. */
static GPrivate current_worker = G_PRIVATE_INIT(NULL);
/* The queue of the context this thread runs (set by that queue's prepare). */
static GPrivate home_queue = G_PRIVATE_INIT(NULL);

static void queue_wake(post_queue *q)
{
	uint64_t one = 1;
	while (write(q->efd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

/* Writes the wake-ups this thread held back (see the top comment). */
static void flush_wakes(post_queue *home)
{
	for (guint i = 0; i < home->wake_later->len; i++)
		queue_wake(g_ptr_array_index(home->wake_later, i));
	g_ptr_array_set_size(home->wake_later, 0);
}

/* The queue whose prepare will run on this thread after the current
 * dispatch, or NULL when the thread is not dispatching its own context. */
static post_queue *deferring_home(post_queue *target)
{
	post_queue *home = g_private_get(&home_queue);
	if (!home || home == target)
		return NULL;
	GSource *cur = g_main_current_source();
	if (!cur || g_source_get_context(cur) != g_source_get_context(&home->src))
		return NULL;
	return home;
}

static void queue_push(post_queue *q, GSourceFunc fn, gpointer data)
{
	post_item it = { fn, data };
	g_mutex_lock(&q->lock);
	bool was_empty = q->pending->len == 0;
	g_array_append_val(q->pending, it);
	g_mutex_unlock(&q->lock);
	if (!was_empty)
		return;
	post_queue *home = deferring_home(q);
	if (!home) {
		queue_wake(q);
		return;
	}
	for (guint i = 0; i < home->wake_later->len; i++)
		if (g_ptr_array_index(home->wake_later, i) == q)
			return;
	g_ptr_array_add(home->wake_later, q);
}

static gboolean queue_prepare(GSource *src, gint *timeout)
{
	post_queue *q = (post_queue *)src;
	if (g_private_get(&home_queue) != q)
		g_private_set(&home_queue, q);
	flush_wakes(q);
	*timeout = -1;
	return FALSE;
}

static gboolean queue_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	post_queue *q = (post_queue *)src;
	uint64_t v;
	(void)cb;
	(void)data;

	/* GLib skips prepare() for a source already found ready. */
	flush_wakes(q);
	/* Reset the wake-up first: a post after this point either lands in
	 * this batch or finds the queue empty and writes again. */
	while (read(q->efd, &v, sizeof v) < 0 && errno == EINTR)
		;
	g_mutex_lock(&q->lock);
	GArray *t = q->running;
	q->running = q->pending;
	q->pending = t;
	g_mutex_unlock(&q->lock);
	for (guint i = 0; i < q->running->len; i++) {
		post_item *it = &g_array_index(q->running, post_item, i);
		if (it->fn(it->data)) /* G_SOURCE_CONTINUE: runs again, as with invoke */
			queue_push(q, it->fn, it->data);
	}
	g_array_set_size(q->running, 0);
	flush_wakes(q);
	/* Back to the end of its priority's list: in an iteration where other
	 * sources are ready too (a WebSocket BYE, say), they run before what
	 * is posted next, as they ran before invoke's idle sources, which were
	 * attached last. Setting the same priority re-queues the source. */
	g_source_set_priority(src, G_PRIORITY_DEFAULT);
	return G_SOURCE_CONTINUE;
}

static void queue_finalize(GSource *src)
{
	post_queue *q = (post_queue *)src;
	g_array_free(q->pending, TRUE);
	g_array_free(q->running, TRUE);
	g_ptr_array_free(q->wake_later, TRUE);
	g_mutex_clear(&q->lock);
	if (q->efd >= 0)
		close(q->efd);
}

static GSourceFuncs queue_funcs = {
	.prepare = queue_prepare,
	.dispatch = queue_dispatch,
	.finalize = queue_finalize,
};

static post_queue *queue_new(GMainContext *ctx, const char *name)
{
	GSource *s = g_source_new(&queue_funcs, sizeof(post_queue));
	post_queue *q = (post_queue *)s;
	g_mutex_init(&q->lock);
	q->pending = g_array_sized_new(FALSE, FALSE, sizeof(post_item), 64);
	q->running = g_array_sized_new(FALSE, FALSE, sizeof(post_item), 64);
	q->wake_later = g_ptr_array_new();
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0)
		g_error("eventfd: %s", g_strerror(errno)); /* out of fds at start: abort */
	g_source_set_name(s, name);
	/* Not blocked while it dispatches: blocking takes the fd out of the
	 * poll set and puts it back, each change a write to the context's own
	 * wake-up eventfd. Closures that iterate the context would re-enter
	 * the dispatch; none do. */
	g_source_set_can_recurse(s, TRUE);
	g_source_add_unix_fd(s, q->efd, G_IO_IN);
	g_source_attach(s, ctx);
	return q;
}

/* Detaches the queue. Closures never run are dropped, or with keep
 * become idle sources on the same context: they run if it is iterated
 * again, as the idle sources of g_main_context_invoke would have. */
static void queue_free(post_queue *q, bool keep)
{
	GMainContext *ctx = g_source_get_context(&q->src);
	g_mutex_lock(&q->lock);
	GArray *left = q->pending;
	q->pending = g_array_new(FALSE, FALSE, sizeof(post_item));
	g_mutex_unlock(&q->lock);
	for (guint i = 0; keep && i < left->len; i++) {
		post_item *it = &g_array_index(left, post_item, i);
		GSource *s = g_idle_source_new();
		g_source_set_callback(s, it->fn, it->data, NULL);
		g_source_attach(s, ctx);
		g_source_unref(s);
	}
	g_array_free(left, TRUE);
	g_source_destroy(&q->src);
	g_source_unref(&q->src);
}

static gpointer worker_main(gpointer data)
{
	jn_worker *wk = data;
	g_private_set(&current_worker, wk);
	g_main_context_push_thread_default(wk->ctx);
	g_main_loop_run(wk->loop);
	/* The last dispatch (the quit) may have held wake-ups back. */
	flush_wakes(wk->q);
	g_private_set(&home_queue, NULL);
	g_main_context_pop_thread_default(wk->ctx);
	g_private_set(&current_worker, NULL);
	return NULL;
}

jn_workers *jn_workers_new(unsigned n)
{
	jn_workers *w = g_new0(jn_workers, 1);
	if (n == 0)
		n = g_get_num_processors();
	w->n = n ? n : 1;
	w->w = g_new0(jn_worker, w->n);
	w->core = queue_new(g_main_context_default(), "jn_core_post queue");
	for (unsigned i = 0; i < w->n; i++) {
		jn_worker *wk = &w->w[i];
		char name[16];
		wk->index = i;
		wk->pool = w;
		wk->ctx = g_main_context_new();
		wk->loop = g_main_loop_new(wk->ctx, FALSE);
		wk->q = queue_new(wk->ctx, "jn_worker_post queue");
		g_snprintf(name, sizeof name, "jn-media-%u", i);
		wk->thread = g_thread_new(name, worker_main, wk);
	}
	return w;
}

static gboolean quit_loop(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

void jn_workers_free(jn_workers *w)
{
	if (!w)
		return;
	/* The core's loop may have stopped right after a dispatch that held
	 * wake-ups back. */
	if (g_private_get(&home_queue) == w->core)
		flush_wakes(w->core);
	/* Woken at once even from inside a dispatch: we block on the joins. */
	for (unsigned i = 0; i < w->n; i++) {
		queue_push(w->w[i].q, quit_loop, w->w[i].loop);
		queue_wake(w->w[i].q);
	}
	for (unsigned i = 0; i < w->n; i++) {
		g_thread_join(w->w[i].thread);
		/* Posted after the quit: never run, as before. */
		queue_free(w->w[i].q, false);
		g_main_loop_unref(w->w[i].loop);
		g_main_context_unref(w->w[i].ctx);
	}
	/* What the workers posted to the core and it has not run yet keeps
	 * its chance to run when the core iterates again. */
	if (g_private_get(&home_queue) == w->core)
		g_private_set(&home_queue, NULL);
	queue_free(w->core, true);
	g_free(w->w);
	g_free(w);
}

unsigned jn_workers_count(const jn_workers *w) { return w->n; }

jn_worker *jn_workers_get(jn_workers *w, unsigned index)
{
	return index < w->n ? &w->w[index] : NULL;
}

jn_worker *jn_workers_pick(jn_workers *w)
{
	jn_worker *best = &w->w[0];
	for (unsigned i = 1; i < w->n; i++)
		if (g_atomic_int_get(&w->w[i].load) < g_atomic_int_get(&best->load))
			best = &w->w[i];
	return best;
}

GMainContext *jn_worker_context(jn_worker *wk) { return wk->ctx; }
unsigned jn_worker_index(const jn_worker *wk) { return wk->index; }
void jn_worker_add_load(jn_worker *wk, int delta) { g_atomic_int_add(&wk->load, delta); }

void jn_worker_post(jn_worker *wk, GSourceFunc fn, gpointer data)
{
	/* On the worker itself: at once, as g_main_context_invoke did. */
	if (g_private_get(&current_worker) == wk) {
		while (fn(data))
			;
		return;
	}
	queue_push(wk->q, fn, data);
}

void jn_core_post(GSourceFunc fn, gpointer data)
{
	jn_worker *self = g_private_get(&current_worker);
	/* From a thread that is not a worker (the core itself, a test): GLib's
	 * invoke, which runs fn at once on the context's owner. */
	if (!self) {
		g_main_context_invoke(NULL, fn, data);
		return;
	}
	queue_push(self->pool->core, fn, data);
}
