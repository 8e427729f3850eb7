/* sip_transport: the one small vtable every SIP transport implements (UDP,
 * TCP, TLS, WS), plus flows: a flow is one connection of a stream or
 * WebSocket transport, refcounted so transactions, dialogs and registrar
 * bindings can keep it and send back over it (RFC 3261 §18.2.2, RFC 7118,
 * RFC 5626). When the connection closes its flow is detached: sending on it
 * fails with ENOTCONN and the caller falls back to an address.
 *
 * Transports deliver whole messages (one datagram, one framed stream
 * message, one WebSocket message) to a receive callback on the core thread;
 * the data is valid during the call only. */
#ifndef SIP_TRANSPORT_H
#define SIP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/net.h"

typedef enum {
	SIP_TP_UDP = 0,
	SIP_TP_TCP,
	SIP_TP_TLS,
	SIP_TP_WS,
	SIP_TP_WSS,
	SIP_TP_COUNT,
} sip_tp_kind;

typedef struct sip_transport sip_transport;
typedef struct sip_flow sip_flow;

/* Where a message came from: the transport, the flow (NULL for UDP), the
 * peer's and our address. */
typedef struct {
	sip_transport *tp;
	sip_flow *flow;  /* borrowed: sip_flow_ref() to keep it */
	jn_addr remote;
	jn_addr local;
} sip_peer;

typedef void (*sip_tp_recv_fn)(void *user, const sip_peer *from, const char *data, size_t len);
/* A flow's connection closed (the flow is detached right after). */
typedef void (*sip_tp_closed_fn)(void *user, sip_flow *flow);

typedef struct {
	/* Sends one message: over flow when given (must belong to tp), else to
	 * `to` (datagram, or a reused or new outbound connection). 0 or errno. */
	int (*send)(sip_transport *tp, sip_flow *flow, const jn_addr *to, const char *data, size_t len);
	/* Closes the transport's sockets and connections and frees it. */
	void (*destroy)(sip_transport *tp);
} sip_transport_ops;

/* The common part at the head of every transport (implementers fill it in). */
struct sip_transport {
	const sip_transport_ops *ops;
	sip_tp_kind kind;
	jn_addr local;            /* listen address */
	sip_tp_recv_fn recv;
	sip_tp_closed_fn closed; /* may be NULL */
	void *user;
	size_t max_message;
	uint64_t next_flow_id;
	uint64_t rx_messages, tx_messages, rx_errors, tx_errors;
};

/* Options common to the transports' constructors. */
typedef struct {
	const char *listen;       /* "127.0.0.1:5060" */
	sip_tp_recv_fn recv;
	sip_tp_closed_fn closed;  /* may be NULL */
	void *user;
	size_t max_message;       /* 0 = 65535 */
	unsigned max_connections; /* streams and WS; 0 = 4096 */
	unsigned idle_timeout_s;  /* streams; 0 = 300 */
} sip_tp_opts;

/* "UDP", "TCP", "TLS", "WS", "WSS": the Via transport token. */
const char *sip_tp_name(sip_tp_kind kind);
/* Whether the transport is reliable (no retransmissions, §17.1.1.2). */
bool sip_tp_reliable(sip_tp_kind kind);
/* Parses a Via transport token (case-insensitive); false if unknown. */
bool sip_tp_parse(const char *tok, size_t len, sip_tp_kind *out);

/* Sends data over tp (see sip_transport_ops.send). 0 or errno. */
int sip_transport_send(sip_transport *tp, sip_flow *flow, const jn_addr *to, const char *data, size_t len);
/* Frees tp (NULL is fine). */
void sip_transport_free(sip_transport *tp);

/* A new flow for connection conn of tp (refcount 1, held by the transport). */
sip_flow *sip_flow_new(sip_transport *tp, void *conn, const jn_addr *remote, const jn_addr *local);
/* Takes a reference; returns f. */
sip_flow *sip_flow_ref(sip_flow *f);
/* Drops a reference (NULL is fine); returns NULL. */
sip_flow *sip_flow_unref(sip_flow *f);
/* Marks the connection gone; holders keep a valid but dead flow. */
void sip_flow_detach(sip_flow *f);
/* The transport's connection object, NULL once detached. */
void *sip_flow_conn(const sip_flow *f);
/* The transport the flow belongs to (still valid while the flow is alive). */
sip_transport *sip_flow_transport(const sip_flow *f);
const jn_addr *sip_flow_remote(const sip_flow *f);
const jn_addr *sip_flow_local(const sip_flow *f);
/* A number unique within its transport, for logs and RFC 5626 flow tokens. */
uint64_t sip_flow_id(const sip_flow *f);

#endif
