/* sip_dialog: the dialog state of RFC 3261 §12 as a plain object the call
 * layer owns: identifiers (Call-ID, local and remote tags), local and remote
 * URIs, the remote target, the route set (from Record-Route: as received
 * for a UAS, reversed for a UAC), and the CSeq rules. It builds the fields
 * of in-dialog requests (sip_req_opts + Route lines) and checks incoming
 * ones; it sends nothing itself. */
#ifndef SIP_DIALOG_H
#define SIP_DIALOG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sip/sip_build.h"
#include "sip/sip_msg.h"
#include "util/net.h"

typedef struct sip_dialog sip_dialog;

/* The UAS side of a dialog made by req (an INVITE we answer with a To tag
 * of local_tag, §12.1.1). NULL when req has no From tag or no Contact. */
sip_dialog *sip_dialog_new_uas(const sip_msg *req, const char *local_tag);
/* The UAC side made by resp (a 1xx with a To tag, or a 2xx) to req, the
 * request we sent (§12.1.2). NULL when resp has no To tag or no Contact. */
sip_dialog *sip_dialog_new_uac(const sip_msg *req, const sip_msg *resp);
void sip_dialog_free(sip_dialog *d);

const char *sip_dialog_call_id(const sip_dialog *d);
const char *sip_dialog_local_tag(const sip_dialog *d);
const char *sip_dialog_remote_tag(const sip_dialog *d);
const char *sip_dialog_remote_target(const sip_dialog *d);
/* Route set entries (URIs with their params), in the order requests use. */
size_t sip_dialog_route_count(const sip_dialog *d);
const char *sip_dialog_route(const sip_dialog *d, size_t i);

/* Whether req belongs to d: same Call-ID, To tag = our tag, From tag =
 * theirs (§12.2.2). */
bool sip_dialog_matches(const sip_dialog *d, const sip_msg *req);
/* Applies an in-dialog request: CSeq must grow (EINVAL: answer 500, §12.2.2;
 * ACK and CANCEL are not checked), and a re-INVITE or UPDATE with a Contact
 * refreshes the remote target. 0 or EINVAL. */
int sip_dialog_receive(sip_dialog *d, const sip_msg *req);

/* A response to a request we sent in the dialog: the 2xx to the INVITE
 * confirms an early UAC dialog and sets its route set again from its
 * Record-Route (§13.2.2.4); a 2xx to a re-INVITE or UPDATE (or any 1xx/2xx
 * in an early dialog) with a Contact refreshes the remote target
 * (§12.2.1.2). Other responses change nothing. */
void sip_dialog_receive_response(sip_dialog *d, const sip_msg *resp);
/* True for a UAC dialog made by a 1xx and not yet confirmed by a 2xx. */
bool sip_dialog_is_early(const sip_dialog *d);
/* Our Contact value ("<sip:...>") that fill_request puts in the requests
 * that need one: re-INVITE, UPDATE, REFER, NOTIFY, SUBSCRIBE. NULL clears. */
void sip_dialog_set_local_contact(sip_dialog *d, const char *contact);

/* Fills o for a new in-dialog request of method m (§12.2.1.1): Request-URI
 * (remote target, or the first route when it is a strict router), From, To,
 * Call-ID, the next local CSeq (ACK reuses the INVITE's: pass its number in
 * o->cseq and set m to ACK), the local Contact when m needs one and
 * o->contact is NULL, and Route lines prepended to o->extra (so start each
 * request from a fresh o: a reused one would carry the routes twice). The
 * strings live in d and in scratch until the next call. Any method works:
 * INFO, UPDATE, REFER, NOTIFY, BYE, re-INVITE, ACK. */
void sip_dialog_fill_request(sip_dialog *d, sip_method m, sip_req_opts *o, GString *scratch);
/* Where to send the next request: the first route's host and port, else the
 * remote target's (IP literals only; port 5060 when absent). 0 or EINVAL. */
int sip_dialog_next_hop(const sip_dialog *d, jn_addr *out);

#endif
