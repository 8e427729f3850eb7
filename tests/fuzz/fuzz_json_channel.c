/* Fuzz target: the browser JSON channel's message parser and dispatcher,
 * without sockets or media workers. The input is split at newlines into
 * messages on one connection (so sequences like call, candidate, hangup
 * are reached); every reply must itself be a JSON object with a "type". */
#include <glib.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_reply(void *user, const char *json)
{
	size_t *n = user;
	json_t *j = json_loads(json, 0, NULL);
	if (!j || !json_is_string(json_object_get(j, "type")))
		abort();
	json_decref(j);
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 128 * 1024)
		return 0;
	jn_channel_opts o = { 0 };
	jn_channel *ch = jn_channel_new(&o);
	size_t replies = 0;
	jn_channel_conn *cc = jn_channel_conn_new(ch, on_reply, &replies);
	const char *p = (const char *)data, *end = p + size;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		jn_channel_conn_recv(cc, p, (size_t)(e - p));
		p = e + 1;
	}
	jn_channel_conn_free(cc);
	jn_channel_free(ch);
	return 0;
}
