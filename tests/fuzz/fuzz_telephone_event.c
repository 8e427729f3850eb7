/* Fuzzes the RFC 4733 parser and receiver state machine and the RFC 3389
 * comfort-noise parser: the input is a series of (4-byte timestamp, 1-byte
 * length, payload) records fed to one receiver. */
#include <stddef.h>
#include <stdint.h>

#include "media/dtmf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	media_te_rx rx;
	media_te e;
	uint8_t level;
	unsigned nc;
	media_te_rx_init(&rx);
	media_te_parse(data, size, &e);
	media_cn_parse(data, size, &level, &nc);
	while (size >= 5) {
		uint32_t ts = ((uint32_t)data[0] << 24) | ((uint32_t)data[1] << 16) |
			      ((uint32_t)data[2] << 8) | data[3];
		size_t len = data[4];
		data += 5;
		size -= 5;
		if (len > size)
			len = size;
		media_te_what w = media_te_rx_push(&rx, ts, data, len, &e);
		if (w != MEDIA_TE_NONE && e.event < 17 && !media_te_digit(e.event))
			__builtin_trap();
		data += len;
		size -= len;
	}
	return 0;
}
