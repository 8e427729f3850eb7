/* media_te: RFC 4733 telephone-events (DTMF) and RFC 3389 comfort noise.
 *
 * The parser is a pure function over the payload. The receiver turns a
 * stream of event packets (with their redundant end packets) into one start
 * and one end per key press; the sender produces the packet sequence of a
 * key press: a marked start, continuations every ptime with a growing
 * duration, then three identical end packets. Nothing here allocates. */
#ifndef JN_MEDIA_DTMF_H
#define JN_MEDIA_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEDIA_TE_PAYLOAD_LEN 4
#define MEDIA_TE_END_REPEATS 3 /* RFC 4733 2.5.1.4: send the end 3 times */

/* One telephone-event payload. */
typedef struct {
	uint8_t event;	   /* 0-9, 10 '*', 11 '#', 12-15 A-D, 16 flash */
	bool end;
	uint8_t volume;	   /* 0..63, -dBm0 */
	uint16_t duration; /* in RTP timestamp units */
} media_te;

/* Parses a telephone-event payload (the first 4 bytes; the reserved bit is
 * ignored as RFC 4733 asks). Returns 0 or EBADMSG if shorter than 4. */
int media_te_parse(const uint8_t *p, size_t len, media_te *out);
/* Writes a 4-byte payload. */
void media_te_write(const media_te *e, uint8_t out[MEDIA_TE_PAYLOAD_LEN]);
/* Maps an event to its key ('0'-'9', '*', '#', 'A'-'D', '!' flash) or 0. */
char media_te_digit(uint8_t event);
/* Maps a key to its event, or -1. */
int media_te_event(char digit);

/* What the receiver saw in a packet. */
typedef enum {
	MEDIA_TE_NONE = 0, /* a continuation or a redundant copy */
	MEDIA_TE_START,	   /* a new key press */
	MEDIA_TE_END,	   /* the press ended (reported once) */
	MEDIA_TE_START_END,/* a press seen only by its end packets */
} media_te_what;

/* Receiver state for one stream. */
typedef struct {
	bool active;	 /* an event is in progress */
	bool have_last;
	uint32_t ts;	 /* RTP timestamp of the current / last event */
	uint8_t event;
	bool ended;
} media_te_rx;

/* Resets the receiver. */
void media_te_rx_init(media_te_rx *rx);
/* Feeds one packet (its RTP timestamp and payload). Returns what happened;
 * *ev gets the parsed payload. A payload that fails to parse is NONE. */
media_te_what media_te_rx_push(media_te_rx *rx, uint32_t ts, const uint8_t *p, size_t len,
			       media_te *ev);

/* Sender state for one key press at a time. */
typedef struct {
	unsigned step;	    /* ticks per packet (ptime at the clock rate) */
	unsigned per_ms;    /* ticks per millisecond */
	uint32_t total;	    /* duration of the press, in ticks */
	uint32_t sent;	    /* duration reported so far */
	uint8_t event;
	uint8_t volume;
	unsigned ends_left;
	bool active;
	bool started;
} media_te_tx;

/* Prepares a sender for a clock rate and packet interval. */
void media_te_tx_init(media_te_tx *tx, unsigned clock_rate, unsigned ptime_ms);
/* Starts a key press of duration_ms (capped to what 16 bits of duration
 * hold). Returns 0, EINVAL for an unknown key or EBUSY while one is sent. */
int media_te_tx_start(media_te_tx *tx, char digit, unsigned duration_ms, uint8_t volume);
/* True while packets remain to be sent. */
bool media_te_tx_active(const media_te_tx *tx);
/* Writes the next payload (call once per ptime). *first is true for the
 * first packet of the press: the caller sets the RTP marker and fixes the
 * event's timestamp, which every later packet of the press repeats.
 * Returns false when nothing is left. */
bool media_te_tx_next(media_te_tx *tx, uint8_t out[MEDIA_TE_PAYLOAD_LEN], bool *first);

/* RFC 3389 comfort noise: the noise level (-dBov, 0..127) and the count of
 * spectral reflection coefficients that follow. Returns 0 or EBADMSG. */
int media_cn_parse(const uint8_t *p, size_t len, uint8_t *level, unsigned *n_coeffs);
/* Fills pcm with white noise at the given -dBov level; *seed carries the
 * generator between calls. */
void media_cn_fill(uint8_t level, int16_t *pcm, unsigned n, uint32_t *seed);

#endif
