/* sip_msg: parses one SIP message (RFC 3261 §7, §20, §25) into a
 * refcounted, read-only view.
 *
 * sip_msg_parse() copies the bytes once; every slice in the view points into
 * that copy, so the view lives as long as the message. Folded header lines
 * (CRLF followed by SP/HTAB) are rewritten to spaces in the copy, so each
 * header value is one contiguous slice. The parser never reads past len and
 * never assumes a NUL. It does not log: it returns a code and fills a
 * sip_parse_err with the status to answer.
 *
 * Caps (documented in docs/sip-parser.md): SIP_MSG_MAX_LEN bytes per
 * message, SIP_MSG_MAX_HDRS header lines, SIP_MSG_MAX_LINE bytes per line,
 * SIP_MSG_MAX_VIA Via values, SIP_MSG_MAX_ADDRS Contact / Route /
 * Record-Route values each. */
#ifndef SIP_MSG_H
#define SIP_MSG_H

#include "sip/sip_pl.h"
#include "sip/sip_uri.h"

#define SIP_MSG_MAX_LEN   65535
#define SIP_MSG_MAX_HDRS  128
#define SIP_MSG_MAX_LINE  8192
#define SIP_MSG_MAX_VIA   70
#define SIP_MSG_MAX_ADDRS 32

typedef enum {
	SIP_METHOD_UNKNOWN = 0,
	SIP_METHOD_INVITE,
	SIP_METHOD_ACK,
	SIP_METHOD_BYE,
	SIP_METHOD_CANCEL,
	SIP_METHOD_OPTIONS,
	SIP_METHOD_REGISTER,
	SIP_METHOD_PRACK,
	SIP_METHOD_SUBSCRIBE,
	SIP_METHOD_NOTIFY,
	SIP_METHOD_PUBLISH,
	SIP_METHOD_INFO,
	SIP_METHOD_REFER,
	SIP_METHOD_MESSAGE,
	SIP_METHOD_UPDATE,
} sip_method;

/* Known headers. Compact forms map to the same id. */
typedef enum {
	SIP_HDR_OTHER = 0,
	SIP_HDR_VIA,			/* v */
	SIP_HDR_FROM,			/* f */
	SIP_HDR_TO,			/* t */
	SIP_HDR_CALL_ID,		/* i */
	SIP_HDR_CSEQ,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_CONTACT,		/* m */
	SIP_HDR_EXPIRES,
	SIP_HDR_CONTENT_LENGTH,		/* l */
	SIP_HDR_CONTENT_TYPE,		/* c */
	SIP_HDR_CONTENT_ENCODING,	/* e */
	SIP_HDR_ROUTE,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_REQUIRE,
	SIP_HDR_SUPPORTED,		/* k */
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_ALLOW,
	SIP_HDR_ALLOW_EVENTS,		/* u */
	SIP_HDR_ACCEPT,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_WWW_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_AUTHENTICATION_INFO,
	SIP_HDR_EVENT,			/* o */
	SIP_HDR_SUBSCRIPTION_STATE,
	SIP_HDR_REFER_TO,		/* r */
	SIP_HDR_REFERRED_BY,		/* b */
	SIP_HDR_REPLACES,
	SIP_HDR_SUBJECT,		/* s */
	SIP_HDR_SESSION_EXPIRES,	/* x */
	SIP_HDR_MIN_SE,
	SIP_HDR_MIN_EXPIRES,
	SIP_HDR_RSEQ,
	SIP_HDR_RACK,
	SIP_HDR_PATH,
	SIP_HDR_SERVICE_ROUTE,
	SIP_HDR_USER_AGENT,
	SIP_HDR_SERVER,
	SIP_HDR_DATE,
	SIP_HDR_TIMESTAMP,
	SIP_HDR_WARNING,
	SIP_HDR_RETRY_AFTER,
	SIP_HDR_ACCEPT_CONTACT,		/* a */
	SIP_HDR_REJECT_CONTACT,		/* j */
	SIP_HDR_REQUEST_DISPOSITION,	/* d */
	SIP_HDR_IDENTITY,		/* y */
	SIP_HDR_SIP_ETAG,
	SIP_HDR_SIP_IF_MATCH,
	SIP_HDR_P_ASSERTED_IDENTITY,
	SIP_HDR_CALL_INFO,
	SIP_HDR_REASON,
	SIP_HDR__COUNT
} sip_hdr_id;

/* One header line as received. value is trimmed (folding turned to spaces). */
typedef struct {
	sip_hdr_id id;
	sip_pl name;
	sip_pl value;
} sip_hdr;

/* One Via value (a comma-joined Via line gives several). */
typedef struct {
	sip_pl value;		/* the whole via-parm */
	sip_pl transport;	/* "UDP", "TCP", "TLS", "WS", "WSS", ... */
	sip_pl sent_by;		/* host[:port] as written */
	sip_pl host;		/* IPv6 without brackets */
	bool host_ipv6;
	uint16_t port;		/* 0 when absent */
	sip_pl params;		/* after the first ';' (no leading ';') */
	sip_pl branch;		/* unset when absent */
	sip_pl received;	/* unset when absent */
	sip_pl maddr;
	bool rport;		/* rport present */
	uint16_t rport_val;	/* 0 when present without value */
} sip_via;

/* A name-addr or addr-spec with parameters (From, To, Contact, Route...). */
typedef struct {
	sip_pl value;		/* the whole element */
	sip_pl display;		/* display name, quotes removed (escapes kept) */
	sip_pl uri_pl;		/* the URI text */
	sip_uri uri;		/* zeroed unless uri_parsed */
	bool uri_parsed;	/* false for schemes other than sip/sips/tel */
	sip_pl params;		/* header params after the URI (no leading ';') */
	sip_pl tag;		/* tag param, unset when absent */
} sip_addr;

typedef struct {
	sip_addr addr;		/* unset when star */
	bool star;		/* "Contact: *" */
	int64_t expires;	/* expires param, -1 when absent */
	sip_pl instance;	/* +sip.instance value, quotes kept; unset if absent */
	int32_t reg_id;		/* reg-id, -1 when absent */
	sip_pl q;		/* q param, unset when absent */
} sip_contact;

typedef struct {
	uint32_t num;
	sip_method method;
	sip_pl method_pl;
} sip_cseq;

/* The read-only view. Never modify; release with sip_msg_unref(). */
typedef struct sip_msg {
	const char *buf;	/* the copy of the raw bytes */
	size_t len;

	bool is_request;
	/* Request line */
	sip_method method;	/* UNKNOWN for extension methods: see method_pl */
	sip_pl method_pl;
	sip_pl ruri_pl;
	sip_uri ruri;		/* sip/sips/tel only; other schemes leave it zeroed */
	bool ruri_parsed;	/* false for a scheme sip_uri_parse does not know */
	/* Status line */
	uint16_t status;
	sip_pl reason;
	sip_pl version;		/* "SIP/2.0" */

	/* All header lines in order. */
	const sip_hdr *hdrs;
	size_t n_hdrs;

	/* Hot headers, parsed eagerly. */
	const sip_via *via;	/* topmost first */
	size_t n_via;
	sip_addr from;
	sip_addr to;
	sip_pl call_id;
	sip_cseq cseq;
	int32_t max_forwards;	/* -1 when absent */
	int64_t expires;	/* -1 when absent */
	int64_t content_length;	/* -1 when absent */
	sip_pl content_type;	/* unset when absent */
	const sip_contact *contact;
	size_t n_contact;
	const sip_addr *route;
	size_t n_route;
	const sip_addr *record_route;
	size_t n_record_route;
	/* Raw values of the first Event, Refer-To and Replaces (unset when
	 * absent); parse Refer-To with sip_addr_parse. Authorization and
	 * Proxy-Authorization: sip_hdr_iter with split = false. */
	sip_pl event;
	sip_pl refer_to;
	sip_pl replaces;

	sip_pl body;		/* Content-Length bytes (or the rest when absent) */

	int refs_;		/* private */
} sip_msg;

/* Why a parse failed: status is the SIP response to send (400, 413, 416,
 * 505, ...), 0 when the message must be dropped silently (a broken
 * response, or not even a start line). The slices point into the caller's
 * buffer and are unset when not found; they let the caller build the
 * answer RFC 3261 §8.2.6 requires. */
typedef struct {
	uint16_t status;
	char reason[64];	/* e.g. "Bad CSeq header" */
	bool is_request;
	sip_pl via[SIP_MSG_MAX_VIA];	/* raw Via lines */
	size_t n_via;
	sip_pl from, to, call_id, cseq;	/* raw values */
} sip_parse_err;

/* Parses buf[0..len) into a new message with one reference.
 * 0, EINVAL (malformed), EMSGSIZE (over a cap), EPROTONOSUPPORT (not
 * SIP/2.0), ENOMEM. err (may be NULL) is filled on failure. */
int sip_msg_parse(const char *buf, size_t len, sip_msg **out, sip_parse_err *err);
/* Adds a reference; returns m. Thread-safe. */
sip_msg *sip_msg_ref(sip_msg *m);
/* Drops a reference, freeing on the last; returns NULL. NULL is allowed. */
sip_msg *sip_msg_unref(sip_msg *m);

/* The method for a token (case-sensitive, RFC 3261 §7.1), UNKNOWN if none. */
sip_method sip_method_from_pl(sip_pl name);
/* The text of a known method, "" for UNKNOWN. */
const char *sip_method_name(sip_method m);
/* The header id for a name, full or compact, any case. */
sip_hdr_id sip_hdr_id_from_pl(sip_pl name);
/* The canonical full name of a known header ("" for OTHER). */
const char *sip_hdr_name(sip_hdr_id id);

/* First header line with this id (or name, when id is SIP_HDR_OTHER and
 * name is non-NULL); NULL if none. */
const sip_hdr *sip_msg_hdr(const sip_msg *m, sip_hdr_id id, const char *name);
/* Number of header lines with this id/name. */
size_t sip_msg_hdr_count(const sip_msg *m, sip_hdr_id id, const char *name);

/* Walks every value of a header: each line with that id (or name), and
 * each comma-separated element of a line when split is true (use split for
 * list headers such as Via, Contact, Route, Supported; not for
 * Authorization, WWW-Authenticate or Date). */
typedef struct {
	const sip_msg *m;
	sip_hdr_id id;
	const char *name;
	bool split;
	size_t idx;	/* next header line to look at */
	sip_pl rest;	/* what is left of the current line */
} sip_hdr_iter;

/* Starts an iterator; name is used only when id is SIP_HDR_OTHER. */
void sip_hdr_iter_init(sip_hdr_iter *it, const sip_msg *m, sip_hdr_id id,
		       const char *name, bool split);
/* Gives the next value; false at the end. */
bool sip_hdr_iter_next(sip_hdr_iter *it, sip_pl *value);

/* True when a list header (Require, Supported, Proxy-Require, Allow...)
 * contains the token tok (case-insensitive). */
bool sip_msg_has_token(const sip_msg *m, sip_hdr_id id, const char *tok);

/* Parses a name-addr / addr-spec with params (From, To, Route, Refer-To...).
 * Slices point into in. 0 or EINVAL. */
int sip_addr_parse(sip_pl in, sip_addr *out);
/* Parses one via-parm. 0 or EINVAL. */
int sip_via_parse(sip_pl in, sip_via *out);

#endif
