/* sip_stack: the SIP stack facade. One instance owns the transports (UDP,
 * TCP, WS), the transaction table, the digest server and the registrar.
 * It is created from plain options (never from the daemon's config) and
 * runs on the default GLib main context (the core thread).
 *
 * What it answers by itself: OPTIONS (200 with Allow/Accept/Supported),
 * REGISTER (digest auth + binding store), CANCEL matching, and every error
 * RFC 3261 asks of a UAS: 400 with the parser's reason, 420 + Unsupported,
 * 481 for unknown dialogs and transactions, 483, 405/501 with Allow, 505.
 * INVITE (a Replaces one too) and in-dialog requests (re-INVITE, BYE,
 * UPDATE, INFO, REFER, NOTIFY, ACK) go to the core's callbacks; with no
 * callback set INVITE gets 480 and in-dialog requests 481.
 *
 * Close rule: free the lws host serving sip_stack_ws_protocol() before the
 * stack. See docs/sip-stack.md. */
#ifndef SIP_STACK_H
#define SIP_STACK_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "sip/sip_auth.h"
#include "sip/sip_build.h"
#include "sip/sip_msg.h"
#include "sip/sip_reg.h"
#include "sip/sip_stack_outreg.h"
#include "sip/sip_transport.h"
#include "sip/sip_tx.h"

typedef struct sip_stack sip_stack;

/* One [user:NAME]: a password, or stored HA1 values (hex). */
typedef struct {
	const char *name;
	const char *password;   /* "" or NULL when only HA1s are given */
	const char *ha1_md5;    /* "" or NULL: derived from password */
	const char *ha1_sha256;
} sip_stack_user;

typedef struct {
	const char *udp_listen;     /* "" or NULL = off */
	const char *tcp_listen;
	const char *tls_listen;     /* needs tls_certificate + tls_private_key */
	const char *tls_certificate;
	const char *tls_private_key;
	bool ws;                    /* serve the "sip" WebSocket subprotocol */
	const char *ws_listen;      /* label for logs and Via checks */
	const char *domain;         /* our SIP domain */
	const char *realm;          /* digest realm */
	const char *user_agent;     /* Server / User-Agent value */
	const char *const *auth_algorithms; /* {"SHA-256", "MD5", NULL}; NULL = both */
	unsigned nonce_lifetime_s;
	unsigned t1, t2, t4;        /* ms */
	unsigned min_expires, max_expires, default_expires;
	size_t max_message;
	unsigned max_connections;
	unsigned tcp_idle_timeout_s;
	const sip_stack_user *users;
	size_t n_users;
	const sip_outreg_opts *trunks; /* outbound registrations, started at once */
	size_t n_trunks;
	const sip_optping_opts *pings; /* OPTIONS keepalives to trunks */
	size_t n_pings;
	sip_clock clock;            /* zeroed = GLib timers */
} sip_stack_opts;

/* A new request for the core. tx is its server transaction (answer with
 * sip_stack_respond; it stays valid until a final response is sent); req
 * lives as long as tx. tx is NULL for an ACK to a 2xx (no transaction). */
typedef void (*sip_stack_request_fn)(void *user, sip_stack *s, sip_tx *tx, const sip_msg *req,
				     const sip_peer *from);

typedef struct {
	uint64_t rx_requests, rx_responses;
	uint64_t bad_requests;      /* answered 400 (or 413/416/505) from the parser */
	uint64_t bad_responses;     /* malformed responses, dropped */
	uint64_t stray_responses;   /* matched no client transaction */
	uint64_t absorbed;          /* retransmissions the transactions absorbed */
	uint64_t registers_ok, registers_challenged, registers_rejected;
	uint64_t send_errors;
	unsigned transactions;
} sip_stack_stats;

/* Opens the listeners. NULL with *err set to one line naming the address
 * (e.g. "cannot listen for SIP/UDP on 127.0.0.1:5060: Address already in use"). */
sip_stack *sip_stack_new(const sip_stack_opts *o, char **err);
/* Ends every transaction, closes every socket, frees (NULL is fine). */
void sip_stack_free(sip_stack *s);

/* Where INVITEs that start a dialog go (NULL: answered 480). */
void sip_stack_on_invite(sip_stack *s, sip_stack_request_fn fn, void *user);
/* Where in-dialog requests (To tag set, not ACK/CANCEL) go (NULL: 481). */
void sip_stack_on_dialog_request(sip_stack *s, sip_stack_request_fn fn, void *user);
/* Called when a CANCEL matches a pending INVITE transaction (tx and req are
 * the INVITE's, from is where the CANCEL came from); the core then answers
 * the INVITE 487 (the stack already answered the CANCEL 200). NULL: the
 * stack answers 487 itself. */
void sip_stack_on_cancel(sip_stack *s, sip_stack_request_fn fn, void *user);

/* Answers the request of server transaction tx. reason NULL = standard
 * phrase; opts may be NULL. Adds Server, a To tag (one per transaction) to
 * everything but 100, and received/rport to the top Via. 0 or errno. */
int sip_stack_respond(sip_stack *s, sip_tx *tx, uint16_t code, const char *reason,
		      const sip_resp_opts *opts);
/* The request a server transaction answers. */
const sip_msg *sip_stack_tx_request(const sip_tx *tx);
/* The To tag the stack put in tx's responses ("" before the first one):
 * a UAS dialog's local tag, known as soon as the 2xx is sent. */
const char *sip_stack_tx_to_tag(const sip_tx *tx);

/* Sends a request in a new client transaction over transport kind (or over
 * flow when given) to `to`. The Via (transport, our address, a fresh
 * branch, rport) is filled in from the transport. cb gets the responses;
 * *txp (may be NULL) the transaction: the caller that may go away before
 * the final response calls sip_tx_detach() on it. 0 or errno. */
int sip_stack_send_request(sip_stack *s, sip_tp_kind kind, sip_flow *flow, const jn_addr *to,
			   sip_req_opts *req, sip_tx_response_fn cb, void *user, sip_tx **txp);

/* Handles one message as if from->tp had delivered it (tests, fuzzing,
 * and transports that live outside the stack). */
void sip_stack_receive(sip_stack *s, const sip_peer *from, const char *data, size_t len);

/* Cancels a pending client INVITE (§9.1): a CANCEL with the INVITE's
 * Request-URI, top Via (same branch), From, To, Call-ID, CSeq number and
 * Route, in its own transaction to the same place; cb gets its response
 * (the INVITE's own callback then gets the 487). EINVAL if invite is not a
 * client INVITE still waiting for a final response. */
int sip_stack_cancel(sip_stack *s, sip_tx *invite, sip_tx_response_fn cb, void *user);
/* Sends a request outside any transaction (the ACK for a 2xx, §13.2.2.4),
 * Via filled in like sip_stack_send_request. 0 or errno. */
int sip_stack_send_stateless(sip_stack *s, sip_tp_kind kind, sip_flow *flow, const jn_addr *to,
			     sip_req_opts *req);

/* The "sip" lws_protocols entry (only when opts.ws was set). */
struct lws_protocols sip_stack_ws_protocol(sip_stack *s);
/* The outbound registration of trunk name (as given in opts), or NULL. */
sip_outreg *sip_stack_outreg(sip_stack *s, const char *name);
/* The OPTIONS keepalive of trunk name, or NULL. */
sip_optping *sip_stack_optping(sip_stack *s, const char *name);
/* The registrar's binding store (read it for lookups and listings). */
sip_reg *sip_stack_registrar(sip_stack *s);
/* The transport of a kind, NULL when not listening. */
sip_transport *sip_stack_transport(sip_stack *s, sip_tp_kind kind);
void sip_stack_get_stats(const sip_stack *s, sip_stack_stats *out);

/* Authenticates a request the core handles (an INVITE) from its
 * Proxy-Authorization against the [user:NAME] store. 0 with the user's name
 * in user (cap bytes); else EACCES after answering tx itself: 407 with a
 * fresh challenge (stale=true when due), 403 for bad credentials, 400 when
 * the header is malformed. */
int sip_stack_authenticate(sip_stack *s, sip_tx *tx, const sip_msg *req, char *user, size_t cap);

/* Called after a REGISTER was answered 200 (bindings added, refreshed or
 * removed) with the authenticated user name (the AOR). */
typedef void (*sip_stack_registered_fn)(void *user, sip_stack *s, const char *aor);
/* Where out-of-dialog MESSAGE requests (RFC 3428) go (NULL: answered 405). */
void sip_stack_on_message(sip_stack *s, sip_stack_request_fn fn, void *user);
/* Called after every successful REGISTER (NULL: nothing). */
void sip_stack_on_registered(sip_stack *s, sip_stack_registered_fn fn, void *user);
/* Called when a TCP, TLS or WebSocket connection closes (after its
 * bindings and transactions were dropped): e.g. a browser tab that went
 * away mid-call. One hook; NULL removes it. */
void sip_stack_on_flow_closed(sip_stack *s, void (*fn)(void *user, sip_flow *flow), void *user);

/* The Allow header value for what the stack and its handlers serve:
 * INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER; UPDATE, INFO, REFER,
 * NOTIFY while a dialog handler is set (they reach it in dialogs, 481
 * outside); MESSAGE while a MESSAGE handler is set. A static string: put it
 * in INVITEs and 2xx answers too. */
const char *sip_stack_allow(const sip_stack *s);
/* The Supported header value: the option tags a Require may name without
 * a 420 ("outbound, path, replaces, timer"). */
const char *sip_stack_supported(const sip_stack *s);

/* The header line answering the best challenge of a 401 (proxy false:
 * WWW-Authenticate -> "Authorization: ...\r\n") or a 407 (Proxy-Authenticate
 * -> "Proxy-Authorization: ...\r\n"), or NULL if none can be answered.
 * g_free it. Used by every client request we send (REGISTER, INVITE). */
char *sip_stack_auth_line(const sip_msg *resp, bool proxy, const sip_auth_client_opts *o);

#endif
