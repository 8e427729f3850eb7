/* jn_workers: the media worker pool.
 *
 * Each worker is a thread running its own GMainContext. A leg (ICE agent,
 * DTLS, SRTP, RTP socket, codecs) lives on one worker for its whole life,
 * and both legs of a bridge share that worker, so the packet path never
 * crosses threads. Work reaches a worker, and results reach the core, only
 * as posted closures (GLib's invoke: a queue plus a wake-up), never as
 * shared state under a lock. */
#ifndef JN_WORKERS_H
#define JN_WORKERS_H

#include <glib.h>

typedef struct jn_workers jn_workers;
typedef struct jn_worker jn_worker;

/* Starts n workers (n == 0: one per core). */
jn_workers *jn_workers_new(unsigned n);
/* Stops every worker after it has run what was already posted; joins them. */
void jn_workers_free(jn_workers *w);
unsigned jn_workers_count(const jn_workers *w);
jn_worker *jn_workers_get(jn_workers *w, unsigned index);
/* The worker with the fewest legs assigned (see jn_worker_add_load). */
jn_worker *jn_workers_pick(jn_workers *w);

GMainContext *jn_worker_context(jn_worker *wk);
unsigned jn_worker_index(const jn_worker *wk);
/* Load accounting for jn_workers_pick; called from any thread. */
void jn_worker_add_load(jn_worker *wk, int delta);
/* Runs fn(data) on the worker's thread; safe from any thread. */
void jn_worker_post(jn_worker *wk, GSourceFunc fn, gpointer data);
/* Runs fn(data) on the core thread (the default main context). */
void jn_core_post(GSourceFunc fn, gpointer data);

#endif
