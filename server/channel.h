/* jn_channel: the browser JSON channel (WebSocket subprotocol "junction").
 *
 * A page sends {"type":"call","to":"echo","sdp":OFFER} and gets
 * {"type":"answer","call_id":...,"sdp":...}; candidates trickle both ways
 * as {"type":"candidate","candidate":...,"sdpMid":...}; either side sends
 * {"type":"hangup"}; errors come back as {"type":"error","code":...,
 * "message":...}. docs/json-channel.md is the reference.
 *
 * The channel runs on the core thread. Each call's peer connection lives on
 * a media worker: the channel posts work there with jn_worker_post and the
 * worker posts results back with jn_core_post, so no state is shared under
 * a lock. The message dispatcher is separate from the socket glue
 * (jn_channel_conn_*) so the fuzzer drives it without sockets. */
#ifndef JN_CHANNEL_H
#define JN_CHANNEL_H

#include <libwebsockets.h>
#include <stddef.h>

#include "server/call.h"
#include "server/config.h"
#include "server/workers.h"
#include "webrtc/rtc_dtls.h"

typedef struct jn_channel jn_channel;
typedef struct jn_channel_conn jn_channel_conn;

typedef struct {
	jn_workers *workers; /* NULL: calls are refused with "unavailable" */
	rtc_dtls_cert *cert; /* referenced */
	const char *const *local_addresses;
	unsigned port_min, port_max;
	const char *stun_server, *turn_server, *turn_username, *turn_password;
	unsigned consent_timeout;
	/* Calls to anything but "echo" go through the call layer, for pages
	 * that sent "login" with a [user:NAME]'s password (cfg: the users and
	 * [sip] realm). NULL: only echo is served. */
	jn_call_layer *calls;
	const jn_config *cfg;
} jn_channel_opts;

/* Creates the channel (copies opts). */
jn_channel *jn_channel_new(const jn_channel_opts *o);
/* Frees; every connection must be gone (lws closes them first). */
void jn_channel_free(jn_channel *c);
/* The "junction" lws_protocols entry for the WebSocket host. */
struct lws_protocols jn_channel_protocol(jn_channel *c);

/* One signalling connection; replies go to send(user, json). */
jn_channel_conn *jn_channel_conn_new(jn_channel *c, void (*send)(void *user, const char *json), void *user);
/* Hangs up the connection's call, if any, and frees it. */
void jn_channel_conn_free(jn_channel_conn *cc);
/* Handles one complete text message. Never fails: problems become error
 * messages sent back. */
void jn_channel_conn_recv(jn_channel_conn *cc, const char *msg, size_t len);

#endif
