/* jn_msg: instant messages between users (SIP MESSAGE, RFC 3428).
 *
 * An out-of-dialog MESSAGE is handled like a call: the sender authenticates
 * (407 challenge), the Request-URI user goes through the dial plan, and a
 * target user:NAME gets a new MESSAGE from junction on every registered
 * contact (From = the sender's AOR; Content-Type and body copied). When the
 * user has no live binding the message is kept in a bounded in-memory store
 * and sent when the user registers again. The sender gets 202 Accepted once
 * the message was sent or stored; 404 no route, 403 not allowed, 413 body
 * too big, 480 store full (or the target is not a user).
 *
 * The store (jn_msg_store) is plain logic for tests. */
#ifndef JN_MESSAGE_H
#define JN_MESSAGE_H

#include <stddef.h>

#include "server/config.h"
#include "sip/sip_stack.h"

/* Largest body accepted (bytes): larger gets 413. */
#define JN_MSG_MAX_BODY 8192

/* --- store ---------------------------------------------------------------- */

typedef struct jn_msg_store jn_msg_store;

/* One stored message (read-only view, valid during the callback). */
typedef struct {
	const char *from;          /* the sender's user name */
	const char *content_type;  /* "" when none was given */
	const char *body;
	size_t body_len;
} jn_msg_stored;

typedef void (*jn_msg_deliver_fn)(void *user, const char *to, const jn_msg_stored *m);

/* A store holding at most max_per_user messages for one user and max_total
 * in all (0 means 100 and 10000). */
jn_msg_store *jn_msg_store_new(size_t max_per_user, size_t max_total);
/* Frees the store and every message (NULL is fine). */
void jn_msg_store_free(jn_msg_store *st);
/* Keeps a copy of a message for user `to`. 0, or ENOSPC when either bound
 * is reached (nothing is dropped to make room). */
int jn_msg_store_put(jn_msg_store *st, const char *to, const char *from, const char *content_type,
		     const char *body, size_t body_len);
/* Messages waiting for user `to` (NULL: in all). */
size_t jn_msg_store_count(const jn_msg_store *st, const char *to);
/* Hands every message waiting for `to` to fn, oldest first, and forgets
 * them. Returns how many. */
size_t jn_msg_store_flush(jn_msg_store *st, const char *to, jn_msg_deliver_fn fn, void *user);

/* Where a request to a registered binding goes: over its flow (WS, TCP),
 * else to its source address (UDP). false when neither is known. Shared
 * with the call layer, which forks INVITEs to the same bindings. */
bool jn_binding_dest(const sip_reg_binding *b, sip_tp_kind *kind, jn_addr *to);

/* --- the MESSAGE handler --------------------------------------------------- */

typedef struct jn_msg_layer jn_msg_layer;

typedef struct {
	sip_stack *sip;
	const jn_config *cfg;      /* routes ([route:NAME]) and sip.domain */
	size_t max_per_user, max_total; /* store bounds; 0 = defaults */
} jn_msg_opts;

/* Registers with the stack for MESSAGE and successful REGISTERs. NULL
 * with *err set when the dial plan does not compile. */
jn_msg_layer *jn_msg_new(const jn_msg_opts *o, char **err);
/* Unhooks from the stack (call before the stack is freed) and frees. */
void jn_msg_free(jn_msg_layer *ml);
/* The layer's store (for tests and listings). */
jn_msg_store *jn_msg_layer_store(jn_msg_layer *ml);

#endif
