#include "server/workers.h"

struct jn_worker {
	unsigned index;
	GThread *thread;
	GMainContext *ctx;
	GMainLoop *loop;
	gint load;
};

struct jn_workers {
	unsigned n;
	jn_worker *w;
};

static gpointer worker_main(gpointer data)
{
	jn_worker *wk = data;
	g_main_context_push_thread_default(wk->ctx);
	g_main_loop_run(wk->loop);
	g_main_context_pop_thread_default(wk->ctx);
	return NULL;
}

jn_workers *jn_workers_new(unsigned n)
{
	jn_workers *w = g_new0(jn_workers, 1);
	if (n == 0)
		n = g_get_num_processors();
	w->n = n ? n : 1;
	w->w = g_new0(jn_worker, w->n);
	for (unsigned i = 0; i < w->n; i++) {
		jn_worker *wk = &w->w[i];
		char name[16];
		wk->index = i;
		wk->ctx = g_main_context_new();
		wk->loop = g_main_loop_new(wk->ctx, FALSE);
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
	for (unsigned i = 0; i < w->n; i++)
		jn_worker_post(&w->w[i], quit_loop, w->w[i].loop);
	for (unsigned i = 0; i < w->n; i++) {
		g_thread_join(w->w[i].thread);
		g_main_loop_unref(w->w[i].loop);
		g_main_context_unref(w->w[i].ctx);
	}
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
	g_main_context_invoke(wk->ctx, fn, data);
}

void jn_core_post(GSourceFunc fn, gpointer data)
{
	g_main_context_invoke(NULL, fn, data);
}
