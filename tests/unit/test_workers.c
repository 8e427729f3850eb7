#include <glib.h>

#include "server/workers.h"

typedef struct {
	GMutex m;
	GCond c;
	int done;
	GThread *seen[8];
} state;

static gboolean on_worker(gpointer data)
{
	state *s = data;
	g_mutex_lock(&s->m);
	s->seen[s->done++] = g_thread_self();
	g_cond_signal(&s->c);
	g_mutex_unlock(&s->m);
	return G_SOURCE_REMOVE;
}

static void test_post_runs_on_worker_thread(void)
{
	jn_workers *w = jn_workers_new(2);
	state s = { 0 };
	g_mutex_init(&s.m);
	g_cond_init(&s.c);
	g_assert_cmpuint(jn_workers_count(w), ==, 2);
	jn_worker_post(jn_workers_get(w, 0), on_worker, &s);
	jn_worker_post(jn_workers_get(w, 1), on_worker, &s);
	g_mutex_lock(&s.m);
	while (s.done < 2)
		g_cond_wait(&s.c, &s.m);
	g_mutex_unlock(&s.m);
	g_assert_true(s.seen[0] != g_thread_self());
	g_assert_true(s.seen[1] != g_thread_self());
	g_assert_true(s.seen[0] != s.seen[1]);
	jn_workers_free(w);
	g_mutex_clear(&s.m);
	g_cond_clear(&s.c);
}

static void test_pick_least_loaded(void)
{
	jn_workers *w = jn_workers_new(3);
	jn_worker_add_load(jn_workers_get(w, 0), 2);
	jn_worker_add_load(jn_workers_get(w, 1), 1);
	jn_worker_add_load(jn_workers_get(w, 2), 3);
	g_assert_cmpuint(jn_worker_index(jn_workers_pick(w)), ==, 1);
	jn_workers_free(w);
}

static gboolean on_core(gpointer data)
{
	*(GThread **)data = g_thread_self();
	return G_SOURCE_REMOVE;
}

static gboolean post_back(gpointer data)
{
	jn_core_post(on_core, data);
	return G_SOURCE_REMOVE;
}

static void test_core_post(void)
{
	jn_workers *w = jn_workers_new(1);
	GThread *ran = NULL;
	jn_worker_post(jn_workers_get(w, 0), post_back, &ran);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (!ran && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	g_assert_true(ran == g_thread_self());
	jn_workers_free(w);
}

typedef struct {
	GMutex m;
	GCond c;
	unsigned order[1000];
	unsigned n;
	unsigned again;
} fifo;

typedef struct {
	fifo *f;
	unsigned i;
} fifo_item;

static gboolean on_fifo(gpointer data)
{
	fifo_item *it = data;
	g_mutex_lock(&it->f->m);
	it->f->order[it->f->n++] = it->i;
	g_cond_signal(&it->f->c);
	g_mutex_unlock(&it->f->m);
	return G_SOURCE_REMOVE;
}

/* Many posts from another thread, batched behind one wake-up, run once
 * each and in the order posted. */
static void test_post_fifo(void)
{
	jn_workers *w = jn_workers_new(1);
	fifo f = { 0 };
	fifo_item items[1000];
	g_mutex_init(&f.m);
	g_cond_init(&f.c);
	for (unsigned i = 0; i < 1000; i++) {
		items[i] = (fifo_item){ &f, i };
		jn_worker_post(jn_workers_get(w, 0), on_fifo, &items[i]);
	}
	g_mutex_lock(&f.m);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (f.n < 1000 && g_cond_wait_until(&f.c, &f.m, end))
		;
	g_mutex_unlock(&f.m);
	g_assert_cmpuint(f.n, ==, 1000);
	for (unsigned i = 0; i < 1000; i++)
		g_assert_cmpuint(f.order[i], ==, i);
	jn_workers_free(w);
	g_mutex_clear(&f.m);
	g_cond_clear(&f.c);
}

static gboolean on_again(gpointer data)
{
	fifo *f = data;
	return ++f->again < 3; /* G_SOURCE_CONTINUE twice */
}

static gboolean post_many_back(gpointer data)
{
	fifo_item *items = data;
	for (unsigned i = 0; i < 100; i++)
		jn_core_post(on_fifo, &items[i]);
	jn_core_post(on_again, items[0].f);
	return G_SOURCE_REMOVE;
}

/* Posts from a worker to the core run on the core, in order; one that
 * returns G_SOURCE_CONTINUE runs again, as with g_main_context_invoke. */
static void test_core_post_batch(void)
{
	jn_workers *w = jn_workers_new(1);
	fifo f = { 0 };
	fifo_item items[100];
	g_mutex_init(&f.m);
	g_cond_init(&f.c);
	for (unsigned i = 0; i < 100; i++)
		items[i] = (fifo_item){ &f, i };
	jn_worker_post(jn_workers_get(w, 0), post_many_back, items);
	gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while ((f.n < 100 || f.again < 3) && g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(f.n, ==, 100);
	for (unsigned i = 0; i < 100; i++)
		g_assert_cmpuint(f.order[i], ==, i);
	g_assert_cmpuint(f.again, ==, 3);
	jn_workers_free(w);
	g_mutex_clear(&f.m);
	g_cond_clear(&f.c);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/workers/post", test_post_runs_on_worker_thread);
	g_test_add_func("/workers/pick", test_pick_least_loaded);
	g_test_add_func("/workers/core-post", test_core_post);
	g_test_add_func("/workers/post-fifo", test_post_fifo);
	g_test_add_func("/workers/core-post-batch", test_core_post_batch);
	return g_test_run();
}
