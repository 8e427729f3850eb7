/* sip_ws: SIP over WebSocket (RFC 7118) as an lws_protocols entry named
 * "sip" on the daemon's libwebsockets host. One SIP message per WebSocket
 * message (text or binary); each connection is a flow, so responses and
 * in-dialog requests go back over it. WS cannot connect out: sending
 * without a live flow fails with ENOTCONN.
 *
 * Close rule: the lws context that serves the protocol must be destroyed
 * before the transport (its callbacks point at it). */
#ifndef SIP_WS_H
#define SIP_WS_H

#include <libwebsockets.h>

#include "sip/sip_transport.h"

/* The WS transport; o->listen only labels it (the lws host owns the
 * sockets). Connections through the host's TLS vhost get flows of its WSS
 * face (sip_ws_secure), so Via and logs say WSS. Never fails. */
sip_transport *sip_ws_new(const sip_tp_opts *o);
/* The WSS face of a WS transport (freed with it; its destroy does nothing). */
sip_transport *sip_ws_secure(sip_transport *ws);
/* The lws_protocols entry to hand to the WebSocket host. */
struct lws_protocols sip_ws_protocol(sip_transport *ws);
/* Open connections now. */
unsigned sip_ws_connections(const sip_transport *ws);

#endif
