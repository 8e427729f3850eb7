/* jn_cdr: call detail records, one JSON line per call, appended durably.
 *
 * The core fills a jn_cdr_record when a call ends and hands it to
 * jn_cdr_write(), which turns it into one line of JSON at once (so the
 * record's strings need only live for the call) and queues it for a writer
 * thread. The writer appends whole lines with one write(2) each batch and
 * fdatasync()s before taking the next batch: a record is on disk a few
 * milliseconds after the call ended, and the core thread never waits for
 * the disk. Fields are described in docs/routing-and-cdr.md. */
#ifndef JN_CDR_H
#define JN_CDR_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct jn_cdr jn_cdr;

/* Why a call ended. */
typedef enum {
	JN_CDR_NORMAL = 0,     /* answered, then someone hung up */
	JN_CDR_BUSY,           /* callee answered 486/600 */
	JN_CDR_NO_ANSWER,      /* nobody answered in time (408/480 or our timer) */
	JN_CDR_CANCELLED,      /* caller gave up before the answer */
	JN_CDR_REJECTED,       /* refused with a SIP code (sip_code): 403, 404, 503... */
	JN_CDR_FAILED,         /* transport, DTLS, ICE or internal failure */
	JN_CDR_MEDIA_TIMEOUT,  /* no RTP for [media] media_timeout seconds */
	JN_CDR_BROWSER_GONE,   /* ICE consent lost or the WebSocket closed */
	JN_CDR_TRANSFERRED,    /* this leg left the call through a transfer */
	JN_CDR_SHUTDOWN,       /* ended by the daemon stopping */
} jn_cdr_cause;

/* How media flowed between the legs. */
typedef enum {
	JN_CDR_MEDIA_NONE = 0, /* never answered, or no media set up */
	JN_CDR_MEDIA_RELAY,    /* same codec both sides: packets relayed */
	JN_CDR_MEDIA_TRANSCODE,
} jn_cdr_media;

/* One leg's media, as the media engine counted it. */
typedef struct {
	const char *kind;          /* "webrtc", "rtp", "srtp"; NULL = no leg */
	const char *codec;         /* "opus", "pcmu"...; NULL = none negotiated */
	uint64_t packets_sent, packets_received;
	uint64_t bytes_sent, bytes_received;
	uint64_t packets_lost;     /* by our receive statistics */
	double jitter_ms;          /* interarrival jitter at the end */
} jn_cdr_leg;

/* Everything the call layer knows when a call ends. Strings may be NULL
 * (written as null) and are copied during jn_cdr_write(). */
typedef struct {
	const char *call_id;       /* our call id (also in the logs) */
	const char *caller;        /* "user:alice", "trunk:itsp", "anonymous" */
	const char *caller_number; /* From user part as received */
	const char *callee;        /* the dialled string */
	const char *route;         /* route name; NULL when no route matched */
	const char *target;        /* "trunk:itsp", "user:bob", "conference:x", "echo" */
	const char *number;        /* dialled string after strip / prepend */
	int64_t start_us;          /* g_get_real_time() when the call arrived */
	int64_t answer_us;         /* when it was answered; 0 = never */
	int64_t end_us;            /* when it ended */
	jn_cdr_cause cause;
	int sip_code;              /* final SIP status when one applies; 0 = none */
	const char *reason;        /* free text (a Reason header, an error); may be NULL */
	jn_cdr_media media;
	jn_cdr_leg legs[2];        /* [0] the caller's leg (a), [1] the callee's (b) */
	const char *transfer;      /* what a transfer did ("blind by user:erin to 3000 (trunk:two)"); NULL none */
} jn_cdr_record;

typedef struct {
	uint64_t written;          /* records on disk (fdatasync returned) */
	uint64_t failed;           /* records lost to write errors (disk full...) */
	uint64_t dropped;          /* records refused because the queue was full */
	uint64_t queued;           /* records waiting for the writer now */
} jn_cdr_stats;

/* Opens (creating, mode 0640) path for appending and starts the writer.
 * path NULL or "" means records are off: returns 0 with *out = NULL, and
 * jn_cdr_write(NULL, ...) does nothing. On failure returns the errno (EACCES,
 * EROFS, EISDIR, ENOENT...) and logs it once with the path. */
int jn_cdr_open(const char *path, jn_cdr **out);
/* Writes what is queued, stops the writer, closes the file. NULL is fine. */
void jn_cdr_close(jn_cdr *cdr);

/* Queues one record. Never blocks on the disk: returns 0, or ENOBUFS when
 * the queue is full (the record is counted as dropped and logged once). */
int jn_cdr_write(jn_cdr *cdr, const jn_cdr_record *rec);
/* Waits until everything queued so far is written (or failed). For tests
 * and shutdown; the core never needs it. */
void jn_cdr_flush(jn_cdr *cdr);
/* Counters since open. */
void jn_cdr_get_stats(jn_cdr *cdr, jn_cdr_stats *out);

/* The JSON line for a record, with its trailing newline; g_free it. */
char *jn_cdr_format(const jn_cdr_record *rec);
/* "normal", "busy", "no_answer", "cancelled", "rejected", "failed",
 * "media_timeout", "browser_gone", "transferred", "shutdown". */
const char *jn_cdr_cause_str(jn_cdr_cause cause);
/* Formats a g_get_real_time() value as ISO 8601 UTC with milliseconds
 * ("2026-11-25T10:28:11.123Z") into buf (at least 25 bytes). */
void jn_cdr_time_str(int64_t us, char *buf, size_t size);

#endif
