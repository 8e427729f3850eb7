/* sip_xfer: the pure pieces of call transfer (RFC 3515 REFER, RFC 3891
 * Replaces): parsing Refer-To and Replaces, and the text of the NOTIFYs
 * that report a transfer's progress (message/sipfrag bodies, RFC 3420).
 *
 * Parsers work on slices and never allocate: results are slices into the
 * input, except a Replaces carried %-escaped inside a Refer-To URI, which
 * is decoded into a buffer the caller gives. */
#ifndef SIP_XFER_H
#define SIP_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include "sip/sip_build.h"
#include "sip/sip_msg.h"
#include "sip/sip_pl.h"

/* Content-Type of a REFER's NOTIFY body. */
#define SIP_XFER_SIPFRAG_TYPE "message/sipfrag;version=2.0"
/* Longest Refer-To / Replaces value we take (a cap on hostile input). */
#define SIP_XFER_MAX 2048

/* A Replaces header value (RFC 3891 §6.1): the dialog to replace, named
 * from the point of view of the UA that receives the INVITE. */
typedef struct {
	sip_pl call_id;
	sip_pl to_tag;
	sip_pl from_tag;
	bool early_only;
} sip_replaces;

/* Parses a Replaces value ("callid;to-tag=x;from-tag=y[;early-only]").
 * The Call-ID, to-tag and from-tag are required. 0 or EINVAL. */
int sip_xfer_parse_replaces(sip_pl in, sip_replaces *out);

/* A parsed Refer-To (RFC 3515 §2.1). */
typedef struct {
	sip_addr addr;         /* the whole name-addr / addr-spec */
	sip_pl target;         /* the URI to call, without its ?headers */
	bool has_replaces;     /* the URI carried ?Replaces= (attended transfer) */
	sip_replaces replaces; /* decoded, slices into the caller's buffer */
} sip_refer_to;

/* Parses a Refer-To value. The target is the URI up to its '?' headers (a
 * SIP URI's headers are instructions for the INVITE, not part of the
 * address). A Replaces header among them is %-decoded into buf (cap bytes)
 * and parsed into out->replaces. 0, EINVAL (malformed, or a Replaces that
 * does not parse), EMSGSIZE (over SIP_XFER_MAX, or buf too small). */
int sip_xfer_parse_refer_to(sip_pl in, sip_refer_to *out, char *buf, size_t cap);

/* Appends a Replaces value for the dialog (call_id, to_tag, from_tag), as
 * the INVITE that replaces it carries it. */
void sip_xfer_put_replaces(sip_buf *b, const char *call_id, const char *to_tag, const char *from_tag,
			   bool early_only);

/* Appends the message/sipfrag body reporting a status of the new call:
 * "SIP/2.0 200 OK\r\n" (reason NULL = the standard phrase). */
void sip_xfer_put_sipfrag(sip_buf *b, uint16_t status, const char *reason);
/* Reads the status code of a sipfrag body ("SIP/2.0 180 Ringing..."):
 * 0 with *status set, or EINVAL. */
int sip_xfer_parse_sipfrag(sip_pl body, uint16_t *status);

/* Appends the Event and Subscription-State lines of a NOTIFY for the REFER
 * whose CSeq number was refer_cseq (0: no id parameter, RFC 3515 §2.4.6):
 * "Event: refer;id=N\r\n" then, while the new call is not final,
 * "Subscription-State: active;expires=E\r\n", and once it is,
 * "Subscription-State: terminated;reason=noresource\r\n". */
void sip_xfer_put_notify_headers(sip_buf *b, uint32_t refer_cseq, bool terminated, uint32_t expires);

#endif
