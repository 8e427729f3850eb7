/* sip_reg: the registrar's binding store (RFC 3261 §10.3, RFC 5626). Maps
 * an address of record (the user name the caller authenticated) to its
 * contacts, each with an absolute expiry, q, the Call-ID/CSeq that last
 * touched it (to refuse out-of-order refreshes), +sip.instance/reg-id (a
 * reconnecting WebSocket client replaces its old binding) and the flow it
 * came over, so the call layer can send back over the same connection.
 *
 * Pure logic: no transport, no timers. `now` is seconds from the caller's
 * clock (monotonic is fine). Bindings handed out are read-only views valid
 * until the next call that changes the store. */
#ifndef SIP_REG_H
#define SIP_REG_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/sip_pl.h"

typedef struct sip_reg sip_reg;

/* Most Contacts one REGISTER may carry (more: EINVAL). */
#define SIP_REG_MAX_CONTACTS 64

typedef struct {
	unsigned default_expires;  /* no expires anywhere: 0 means 3600 */
	unsigned min_expires;      /* below it: 423; 0 means 60 */
	unsigned max_expires;      /* above it: clamped; 0 means 7200 */
	unsigned max_per_user;     /* bindings per AOR; 0 means 10 */
	unsigned max_bindings;     /* in all; 0 means 100000 */
	/* Called when a binding keeps / lets go of its flow (both NULL: the
	 * caller keeps flows alive itself and calls sip_reg_flow_closed). */
	void (*flow_ref)(void *flow);
	void (*flow_unref)(void *flow);
	/* Contact URI equality (RFC 3261 §19.1.4); NULL: byte equality. */
	bool (*uri_equal)(sip_pl a, sip_pl b);
} sip_reg_opts;

/* One Contact of a REGISTER, as slices into the request (the fields of
 * sip_msg.h's sip_contact carry over one to one). */
typedef struct {
	sip_pl uri;                /* the URI, without angle brackets */
	int64_t expires;           /* the expires param, -1 if absent */
	sip_pl q;                  /* q param text ("0.5"), unset if absent */
	sip_pl instance;           /* +sip.instance value, quotes kept or not; unset if absent */
	int64_t reg_id;            /* reg-id, -1 if absent */
} sip_reg_contact;

/* A REGISTER, reduced to what the registrar needs. */
typedef struct {
	sip_pl call_id;
	uint32_t cseq;
	int64_t expires;           /* Expires header, -1 if absent */
	bool star;                 /* Contact: * */
	const sip_reg_contact *contacts;
	size_t n_contacts;
	void *flow;                /* connection it came over (NULL for UDP) */
	const char *source;        /* "UDP 192.0.2.1:5060": where to send if no flow; may be NULL */
	const char *path;          /* Path header value (RFC 3327); may be NULL */
	const char *user_agent;    /* for stats/listing; may be NULL */
} sip_reg_request;

/* A stored binding (read-only view; strings are NUL-terminated). */
typedef struct {
	const char *aor;
	const char *uri;
	uint64_t expires_at;       /* absolute, caller's clock */
	uint64_t registered_at;    /* first seen */
	int q;                     /* q * 1000, -1 if none was given */
	const char *call_id;
	uint32_t cseq;
	const char *instance;      /* NULL if none */
	int64_t reg_id;            /* -1 if none */
	void *flow;
	const char *source;        /* NULL if none */
	const char *path;          /* NULL if none */
	const char *user_agent;    /* NULL if none */
} sip_reg_binding;

/* What a REGISTER did (filled on every return of sip_reg_apply). */
typedef struct {
	unsigned added, refreshed, removed, replaced;
	unsigned min_expires;      /* for the 423's Min-Expires header */
	bool outbound;             /* a contact had +sip.instance and reg-id: the 200 OK
				    * carries "Require: outbound" (RFC 5626 §6) */
	const char *reason;        /* reason phrase for a failure, else NULL */
} sip_reg_outcome;

typedef struct {
	unsigned users, bindings;
	uint64_t registers, added, refreshed, removed, replaced, expired, flow_closed;
	uint64_t rejected_brief, rejected_order, rejected_cap, rejected_bad;
} sip_reg_stats;

/* Called for each binding that expires or loses its flow, before it is
 * freed. */
typedef void (*sip_reg_binding_fn)(void *user, const sip_reg_binding *b);

/* Creates a store (opts may be NULL: all defaults). */
sip_reg *sip_reg_new(const sip_reg_opts *opts);
/* Frees the store and every binding (flow_unref is called for each). */
void sip_reg_free(sip_reg *r);

/* Applies a REGISTER for aor at time now (§10.3 steps 6-8, all or nothing).
 * Returns 0 (answer 200 with sip_reg_contact_header), EINVAL (400: "*" with
 * other contacts or a non-zero expiry), ERANGE (423: out->min_expires),
 * EALREADY (500: a CSeq not above the binding's for the same Call-ID),
 * ENOSPC (403/503: the per-user or global cap). */
int sip_reg_apply(sip_reg *r, const char *aor, const sip_reg_request *req, uint64_t now,
		  sip_reg_outcome *out);

/* Live bindings of aor, best first (q descending, then newest). Fills up to
 * max views and returns how many there are in all. */
size_t sip_reg_lookup(sip_reg *r, const char *aor, uint64_t now,
		      const sip_reg_binding **out, size_t max);
/* Appends the 200 OK Contact header value for aor (every live binding with
 * its remaining expires, +sip.instance and reg-id); empty when none. */
void sip_reg_contact_header(sip_reg *r, const char *aor, uint64_t now, GString *out);

/* Removes every binding whose expiry is at or before now; calls fn (may be
 * NULL) for each first. Returns how many expired. */
size_t sip_reg_expire(sip_reg *r, uint64_t now, sip_reg_binding_fn fn, void *user);
/* The earliest expiry in the store (UINT64_MAX when empty): when to call
 * sip_reg_expire next. */
uint64_t sip_reg_next_expiry(const sip_reg *r);
/* Removes every binding that came over flow (its connection closed); calls
 * fn for each first. Returns how many. */
size_t sip_reg_flow_closed(sip_reg *r, void *flow, sip_reg_binding_fn fn, void *user);
/* Removes every binding of aor (administrative). Returns how many. */
size_t sip_reg_remove_aor(sip_reg *r, const char *aor);

/* Calls fn for every binding of every user (for the REST listing). */
void sip_reg_foreach(sip_reg *r, sip_reg_binding_fn fn, void *user);
/* Counters and sizes. */
void sip_reg_get_stats(const sip_reg *r, sip_reg_stats *out);

#endif
