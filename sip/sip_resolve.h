/* sip_resolve: where to send a request for a SIP URI's host (RFC 3263 §4):
 * an ordered list of (transport, address, port) targets, the first to try
 * first and the rest for failover. IP literals need no DNS; an explicit port
 * means A/AAAA only; otherwise SRV (_sips._tcp, _sip._tcp, _sip._udp, or
 * the one service the transport parameter names) ordered by priority and
 * weight (RFC 2782), then A/AAAA of each SRV target; no SRV record falls back
 * to A/AAAA on 5060 (5061 for sips). GLib offers no NAPTR lookup, so the
 * NAPTR step is skipped (§4.1 allows going straight to SRV). Lookups run
 * through GResolver on the thread-default main context of the caller. */
#ifndef SIP_RESOLVE_H
#define SIP_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/sip_transport.h"
#include "util/net.h"

#define SIP_RESOLVE_MAX_SRV 32       /* SRV records kept per service */
#define SIP_RESOLVE_MAX_TARGETS 16   /* targets handed to the caller */

typedef struct {
	sip_tp_kind transport;
	jn_addr addr;                /* address and port */
} sip_resolve_target;

typedef struct {
	const char *host;            /* URI host: name, IPv4 or IPv6 (brackets allowed) */
	uint16_t port;               /* 0 = none in the URI */
	bool has_transport;          /* the URI has ;transport= */
	sip_tp_kind transport;       /* its value (UDP, TCP or TLS) */
	bool sips;
	unsigned timeout_s;          /* whole resolution; 0 = 10 */
} sip_resolve_opts;

/* err is 0 (n >= 1 targets), ENOENT (the name has no address),
 * ETIMEDOUT, or EINVAL (bad host). targets are valid during the call only. */
typedef void (*sip_resolve_fn)(void *user, int err, const sip_resolve_target *targets, size_t n);

typedef struct sip_resolve_query sip_resolve_query;

/* Starts resolving; fn is called once, later, from the main loop (never
 * from inside this call). Never NULL. */
sip_resolve_query *sip_resolve_start(const sip_resolve_opts *o, sip_resolve_fn fn, void *user);
/* Cancels a query whose fn has not run yet: fn will not be called. Do not
 * call it after fn ran (the query is gone then). NULL is fine. */
void sip_resolve_cancel(sip_resolve_query *q);

/* --- pure parts, exposed for the unit tests ------------------------------ */

typedef struct {
	const char *target;
	uint16_t priority, weight, port;
} sip_resolve_srv;

/* Orders SRV records in place per RFC 2782: ascending priority; within one
 * priority, a weighted random pick (weight 0 records stay possible, only
 * unlikely). rnd returns a uniform 32-bit random number. */
void sip_resolve_srv_order(sip_resolve_srv *recs, size_t n, uint32_t (*rnd)(void *user), void *user);

/* The services to query (in order) when no port is given: one transport
 * (the transport parameter's, or TLS for sips) or TLS, TCP, UDP. Returns
 * how many were written to out[3]. */
size_t sip_resolve_services(const sip_resolve_opts *o, sip_tp_kind out[3]);

/* Appends one target per address in text form ("192.0.2.1", "::1") with the
 * given transport and port, skipping duplicates and unparsable ones; never
 * beyond cap. Returns the new count. */
size_t sip_resolve_add_target(sip_resolve_target *out, size_t n, size_t cap, sip_tp_kind tp,
			      const char *addr, uint16_t port);

/* The SRV name for a transport: "_sip._udp", "_sip._tcp" or "_sips._tcp". */
const char *sip_resolve_srv_prefix(sip_tp_kind tp);

#endif
