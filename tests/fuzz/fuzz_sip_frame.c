/* Fuzz target: the stream framer. The input is delivered in chunks whose
 * sizes come from the first byte; the units found must be the same as
 * when the whole stream is framed at once, and each MSG must fit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sip_frame.h"
#include "sip/sip_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_UNITS 256

typedef struct {
	int res[MAX_UNITS];
	size_t len[MAX_UNITS];
	size_t n;
	int end;	/* last result: MORE or ERROR */
} units;

/* Frames stream[0..size) arriving in chunks of chunk bytes (0 = all). */
static void run(const char *stream, size_t size, size_t chunk, units *u)
{
	sip_frame f;
	size_t start = 0, avail = 0;

	sip_frame_init(&f, 4096);
	u->n = 0;
	for (;;) {
		size_t n = 0;
		sip_frame_result r = sip_frame_next(&f, stream + start, avail - start, &n);

		if (r == SIP_FRAME_MSG || r == SIP_FRAME_PING || r == SIP_FRAME_PONG) {
			if (n == 0 || n > avail - start)
				abort();
			if (r == SIP_FRAME_MSG) {
				sip_msg *m = NULL;

				if (sip_msg_parse(stream + start, n, &m, NULL) == 0)
					sip_msg_unref(m);
			}
			if (u->n < MAX_UNITS) {
				u->res[u->n] = r;
				u->len[u->n] = n;
				u->n++;
			}
			start += n;
			continue;
		}
		if (r == SIP_FRAME_ERROR) {
			u->end = r;
			return;
		}
		if (avail == size) {
			u->end = r;
			return;
		}
		avail = chunk ? (avail + chunk < size ? avail + chunk : size) : size;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static units a, b;
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = data[0] % 17 + 1;
	run((const char *)data + 1, size - 1, 0, &a);
	run((const char *)data + 1, size - 1, chunk, &b);
	/* Keep-alive splits may differ (a lone CRLF at a chunk end is a pong);
	 * messages may not. */
	{
		size_t i = 0, j = 0;

		for (;;) {
			while (i < a.n && a.res[i] != SIP_FRAME_MSG)
				i++;
			while (j < b.n && b.res[j] != SIP_FRAME_MSG)
				j++;
			if (i == a.n || j == b.n)
				break;
			if (a.len[i] != b.len[j])
				abort();
			i++;
			j++;
		}
	}
	return 0;
}
