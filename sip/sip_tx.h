/* sip_tx: the transaction layer (RFC 3261 §17 with RFC 6026).
 *
 * Four state machines (INVITE / non-INVITE, client / server) over opaque
 * bytes: the layer never parses. Its caller (sip_stack) computes the
 * matching key of each message (§17.1.3, §17.2.3), hands in the bytes to
 * send and receives what the transaction decides. That keeps the timers and
 * retransmissions testable with a fake clock and a fake transport.
 *
 * Timers A–K (and L, M from RFC 6026) run through a sip_clock, so tests
 * drive time by hand. Retransmissions happen over unreliable transports
 * only; over TCP/TLS/WS the waiting timers (D, I, J, K) are zero.
 *
 * Ownership: the layer owns every transaction and frees it once it is
 * TERMINATED, after telling its owner (SIP_TX_EV_TERMINATED); nobody may use
 * a sip_tx pointer after that event. */
#ifndef SIP_TX_H
#define SIP_TX_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "sip/sip_transport.h"

/* A clock with one-shot timers. start returns a non-NULL handle that stays
 * valid until the timer fires or is cancelled (whichever comes first). */
typedef void (*sip_timer_fn)(void *arg);
typedef struct {
	void *(*start)(void *self, unsigned ms, sip_timer_fn fn, void *arg);
	void (*cancel)(void *self, void *handle);
	void *self;
} sip_clock;

/* Timers for the real clock: every timer of a stack in one GSource on the
 * default main context, ordered by due time. (One GSource per timer made
 * the loop's prepare/check walk tens of thousands of sources under load.) */
typedef struct sip_timers sip_timers;
sip_timers *sip_timers_new(void);
/* Cancels what is pending and frees (NULL is fine). */
void sip_timers_free(sip_timers *t);
/* The clock that starts timers on t. */
sip_clock sip_timers_clock(sip_timers *t);
/* Timers pending. */
unsigned sip_timers_pending(const sip_timers *t);

typedef enum {
	SIP_TX_CALLING,     /* client INVITE, request sent */
	SIP_TX_TRYING,      /* non-INVITE, nothing final yet (client: no 1xx) */
	SIP_TX_PROCEEDING,  /* a 1xx sent / received */
	SIP_TX_COMPLETED,   /* a final non-2xx (INVITE) or any final (non-INVITE) */
	SIP_TX_CONFIRMED,   /* server INVITE: ACK received */
	SIP_TX_ACCEPTED,    /* INVITE 2xx (RFC 6026) */
	SIP_TX_TERMINATED,
} sip_tx_state;

typedef enum {
	SIP_TX_EV_TIMEOUT,         /* server INVITE: no ACK (Timer H) */
	SIP_TX_EV_TRANSPORT_ERROR, /* a send failed */
	SIP_TX_EV_TERMINATED,      /* freed right after this call */
} sip_tx_event;

typedef struct sip_tx sip_tx;
typedef struct sip_tx_layer sip_tx_layer;

/* Where a transaction sends: over flow when alive, else to addr via tp. */
typedef struct {
	sip_transport *tp;
	sip_flow *flow; /* may be NULL; the transaction takes its own reference */
	jn_addr addr;
} sip_tx_dest;

/* Response to a client transaction. status 408 with data NULL: Timer B/F
 * fired; 503 with data NULL: the transport failed. */
typedef void (*sip_tx_response_fn)(void *user, sip_tx *tx, int status, const char *data, size_t len);
typedef void (*sip_tx_event_fn)(void *user, sip_tx *tx, sip_tx_event ev);

typedef struct {
	sip_clock clock;     /* zeroed: the layer runs its own sip_timers */
	unsigned t1, t2, t4; /* ms; 0 = 500, 4000, 5000 */
	/* Builds the ACK for a non-2xx final response to a client INVITE
	 * (§17.1.1.3) into out. Returns 0, or an error (no ACK sent). */
	int (*make_ack)(void *user, const char *req, size_t req_len, const char *resp, size_t resp_len,
			GByteArray *out);
	void *user;
} sip_tx_opts;

/* A new, empty transaction table. */
sip_tx_layer *sip_tx_layer_new(const sip_tx_opts *o);
/* Terminates and frees every transaction (owners get TERMINATED), then the layer. */
void sip_tx_layer_free(sip_tx_layer *l);
/* Live transactions (client + server). */
unsigned sip_tx_layer_count(const sip_tx_layer *l);

/* Server side. key: the §17.2.3 match key of the request (for ACK, the
 * key of its INVITE). Creates a server transaction; NULL if key exists. */
sip_tx *sip_tx_server_new(sip_tx_layer *l, const char *key, bool invite, const sip_tx_dest *d,
			  sip_tx_event_fn ev, void *user);
/* The server transaction with this key, or NULL. */
sip_tx *sip_tx_server_find(sip_tx_layer *l, const char *key);
/* A retransmitted request (ack = false) or an ACK (ack = true) matched tx:
 * resends the last response, or moves COMPLETED -> CONFIRMED on ACK.
 * Returns true when the message was absorbed (nothing for the TU). */
bool sip_tx_server_receive(sip_tx *tx, bool ack);
/* Sends a response (bytes printed by the caller) and moves the state
 * machine. Returns 0 or errno (EINVAL when a final was already sent). */
int sip_tx_respond(sip_tx *tx, int status, const char *data, size_t len);

/* The ACK for a 2xx arrived (matched by the dialog, not by branch): stop
 * retransmitting that 2xx. Over UDP a server INVITE transaction in
 * ACCEPTED resends its 2xx (T1 doubling up to T2) until then or Timer L,
 * doing §13.3.1.4's job for the TU. */
void sip_tx_server_acked(sip_tx *tx);

/* Client side. key: branch + method (§17.1.3). Sends req and arms the
 * timers; cb gets every response passed up, including 2xx retransmissions
 * in ACCEPTED, and 408/503 with NULL data on failure. */
sip_tx *sip_tx_client_new(sip_tx_layer *l, const char *key, bool invite, const sip_tx_dest *d,
			  const char *req, size_t len, sip_tx_response_fn cb, void *user);
/* The client transaction with this key, or NULL. */
sip_tx *sip_tx_client_find(sip_tx_layer *l, const char *key);
/* A response matched tx. Returns true when it was absorbed. */
bool sip_tx_client_receive(sip_tx *tx, int status, const char *data, size_t len);

/* The connection of flow closed (or its TLS handshake failed): every
 * client transaction still waiting for a final response over it fails at
 * once with 503 and NULL data (as on a failed send), instead of waiting
 * 32 s for Timer B/F. That covers transactions bound to flow and those
 * sent by address over flow's stream transport to flow's peer (a new
 * outbound connection). Call it before the flow is detached. Returns how
 * many failed. */
unsigned sip_tx_layer_flow_closed(sip_tx_layer *l, sip_flow *flow);

/* Stops telling the owner anything (it is going away); the transaction
 * still runs its timers and absorbs retransmissions. */
void sip_tx_detach(sip_tx *tx);
sip_tx_state sip_tx_get_state(const sip_tx *tx);
bool sip_tx_is_invite(const sip_tx *tx);
bool sip_tx_is_client(const sip_tx *tx);
/* The status of the last response sent or received, 0 if none. */
int sip_tx_last_status(const sip_tx *tx);
const char *sip_tx_key(const sip_tx *tx);
/* Client: the request bytes it sends; server: NULL. */
const char *sip_tx_request(const sip_tx *tx, size_t *len);
/* Where the transaction sends. */
const sip_tx_dest *sip_tx_get_dest(const sip_tx *tx);
/* Free-form owner data (e.g. the parsed request's copy for a TU). */
void sip_tx_set_data(sip_tx *tx, void *data, GDestroyNotify free_fn);
void *sip_tx_get_data(const sip_tx *tx);
const char *sip_tx_state_name(sip_tx_state s);

#endif
