/* Fuzz target: an SDES a=crypto value from a peer (RFC 4568), as
 * rtc_rtp_crypto_remote parses it. Every second input also has our key for
 * the suite, so a valid line starts SRTP sessions. Any input must give a
 * code, never a crash. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "webrtc/rtc_rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rtc_rtp *leg;
	static unsigned n;
	char line[512], ours[128];
	unsigned tag;
	rtc_rtp_suite suite;

	if (!leg) {
		rtc_rtp_opts o = { .address = "127.0.0.1", .rtcp_mux = true, .id = "fuzz" };
		char *err = NULL;
		if (rtc_rtp_new(&o, &leg, &err)) {
			g_free(err);
			return 0;
		}
	}
	if (size >= sizeof line)
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	if (rtc_rtp_crypto_remote(leg, line, &tag, &suite) == 0 && (n++ & 1))
		(void)rtc_rtp_crypto_local(leg, tag, suite, ours, sizeof ours);
	rtc_rtp_crypto_off(leg);
	return 0;
}
