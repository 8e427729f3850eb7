/* sip_frame: finds SIP message boundaries in a byte stream (TCP, TLS),
 * RFC 3261 §18.3, and CRLF keep-alives (RFC 5626 §3.5.1).
 *
 * The caller keeps its unconsumed bytes contiguous and passes them from the
 * start of the next message each time (after appending what arrived). The
 * framer remembers how far it has already scanned, so a message arriving in
 * many small reads is scanned once. After a MSG or keep-alive result the
 * caller drops *n bytes from the front and calls again; the state resets by
 * itself. */
#ifndef SIP_FRAME_H
#define SIP_FRAME_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	SIP_FRAME_MORE = 0,	/* need more bytes */
	SIP_FRAME_MSG,		/* buf[0..*n) is one whole message */
	SIP_FRAME_PING,		/* CRLFCRLF keep-alive: drop *n, answer CRLF */
	SIP_FRAME_PONG,		/* lone CRLF (pong or stray): drop *n */
	SIP_FRAME_ERROR,	/* unrecoverable: close the connection */
} sip_frame_result;

/* Framer state; embed it in the connection. Fields are private. */
typedef struct {
	size_t max_msg;		/* cap on one message (head + body) */
	size_t scanned;		/* bytes of the head already searched */
	size_t need;		/* total bytes once head and CL are known, else 0 */
	size_t line_start;	/* start of the current header line */
	long long clen;		/* Content-Length seen, -1 if none yet */
	int err;		/* errno-style reason of the last ERROR */
} sip_frame;

/* Initialises a framer; max_msg 0 means SIP_MSG_MAX_LEN. */
void sip_frame_init(sip_frame *f, size_t max_msg);
/* Looks for the next unit in buf[0..len). Returns the result; *n gets the
 * bytes it covers for MSG/PING/PONG. ERROR when the head or body is over
 * max_msg, Content-Length is missing or malformed (required on streams),
 * or the head is not text; f->err says which (EMSGSIZE, EBADMSG). */
sip_frame_result sip_frame_next(sip_frame *f, const char *buf, size_t len, size_t *n);

#endif
