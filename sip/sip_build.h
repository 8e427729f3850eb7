/* sip_build: writes SIP requests and responses into a growable buffer.
 *
 * Values are appended as given (no escaping: the caller passes valid header
 * text). Content-Length is always written from the body actually added. */
#ifndef SIP_BUILD_H
#define SIP_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/sip_msg.h"
#include "sip/sip_pl.h"

/* A growable byte buffer with a maximum size. Once an append fails (over
 * max), err sticks and later appends do nothing, so callers check once. */
typedef struct {
	char *p;
	size_t len;
	size_t cap;
	size_t max;
	int err;	/* 0 or ENOSPC */
} sip_buf;

/* Initialises an empty buffer; max 0 means SIP_MSG_MAX_LEN. */
void sip_buf_init(sip_buf *b, size_t max);
/* Frees the storage; the buffer may be re-initialised. */
void sip_buf_free(sip_buf *b);
/* Empties the buffer, keeping its storage. */
void sip_buf_reset(sip_buf *b);
/* Appends bytes / a C string / a slice / a decimal number. */
void sip_buf_put(sip_buf *b, const void *p, size_t n);
void sip_buf_puts(sip_buf *b, const char *s);
void sip_buf_put_pl(sip_buf *b, sip_pl pl);
void sip_buf_put_u32(sip_buf *b, uint32_t v);
/* Appends "name: value\r\n". */
void sip_buf_hdr(sip_buf *b, const char *name, sip_pl value);
/* Appends printf-formatted text (for the rare odd header). */
void sip_buf_printf(sip_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Length of a generated branch, including the "z9hG4bK" cookie. */
#define SIP_BRANCH_LEN 23
/* Writes a fresh RFC 3261 branch ("z9hG4bK" + 16 random chars) + NUL. */
void sip_build_branch(char out[SIP_BRANCH_LEN + 1]);
/* Writes a random token (tags, Call-ID parts) of len chars + NUL. */
void sip_build_token(char *out, size_t len);
/* The RFC 3261 §21 reason phrase for a code ("" if unknown). */
const char *sip_reason_phrase(uint16_t code);

typedef struct {
	const char *to_tag;	/* added to To if the request has none */
	bool record_route;	/* copy Record-Route lines (RFC 3261 §12.1.1:
				 * 101-299 to a dialog-creating request) */
	const char *extra;	/* raw header lines, each ending in CRLF */
	const char *content_type; /* written when body is non-empty */
	sip_pl body;
} sip_resp_opts;

/* Builds a response to req: status line, every Via, From, To (+to_tag),
 * Call-ID, CSeq, Record-Route when opts->record_route, extra, Content-Type,
 * Content-Length, body. reason NULL means the standard phrase. opts may be
 * NULL. 0 or ENOSPC. */
int sip_build_response(sip_buf *b, const sip_msg *req, uint16_t code,
		       const char *reason, const sip_resp_opts *opts);

/* Builds the answer for a message that failed to parse, from what
 * sip_parse_err captured (RFC 3261 §8.2.6). EINVAL when err->status is 0
 * or a mandatory header is missing (then the message is dropped). */
int sip_build_error_response(sip_buf *b, const sip_parse_err *err, const char *to_tag);

typedef struct {
	sip_method method;
	const char *method_name;	/* used when method is UNKNOWN */
	const char *ruri;
	/* Via: "SIP/2.0/<transport> <host>[:<port>];branch=<branch>[;rport]" */
	const char *via_transport;	/* "UDP", "TCP", "TLS", "WS", "WSS" */
	const char *via_host;		/* IPv6 with brackets */
	uint16_t via_port;		/* 0 = leave out */
	const char *branch;		/* NULL = generate one */
	bool rport;
	const char *from;		/* full From value incl. ;tag= */
	const char *to;			/* full To value */
	const char *call_id;
	uint32_t cseq;
	sip_method cseq_method;		/* UNKNOWN = same as method */
	uint32_t max_forwards;		/* 0 = 70 */
	const char *contact;		/* full Contact value, NULL = none */
	const char *extra;		/* raw header lines, each ending in CRLF */
	const char *content_type;
	sip_pl body;
} sip_req_opts;

/* Builds a request. If o->branch is NULL and branch_out is non-NULL, the
 * generated branch is written there. 0, EINVAL (missing field), ENOSPC. */
int sip_build_request(sip_buf *b, const sip_req_opts *o,
		      char branch_out[SIP_BRANCH_LEN + 1]);

#endif
