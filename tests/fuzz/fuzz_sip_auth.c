/* Fuzz target: the digest header parser (challenges and credentials, one
 * grammar), the server's verifier and the client's answer. Any input must
 * give a code, never a crash, an over-read or a leak. */
#include <stdint.h>
#include <string.h>

#include "sip/sip_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_lookup(void *user, const char *username, sip_auth_alg alg, char ha1[SIP_AUTH_HEX_MAX])
{
	(void)user;
	if (strcmp(username, "alice") != 0)
		return false;
	return sip_auth_ha1(alg, "alice", "fuzz.test", "secret", ha1) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One server for the process: a fixed key keeps runs reproducible. */
	static sip_auth_server *srv;
	if (!srv) {
		static const uint8_t key[32] = { 1, 2, 3 };
		sip_auth_server_opts o = {
			.realm = "fuzz.test", .key = key, .key_len = sizeof key, .nc_slots = 64,
			.algs = SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_MD5) | SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_SHA256) |
				SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_MD5_SESS) | SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_SHA256_SESS),
		};
		srv = sip_auth_server_new(&o);
	}
	const char *p = (const char *)data;
	sip_auth_hdr h;
	if (sip_auth_parse(p, size, &h) == 0) {
		char buf[SIP_AUTH_MAX_VALUE + 1];
		const sip_pl *fields[] = { &h.username, &h.realm, &h.nonce, &h.uri, &h.response, &h.cnonce, &h.opaque };
		for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
			(void)sip_auth_unquote(*fields[i], buf, sizeof buf);
		/* As a challenge: answer it. */
		char out[4096];
		size_t len;
		sip_auth_client_opts co = { .username = "alice", .password = "secret", .method = "INVITE",
					    .uri = "sip:bob@fuzz.test", .cnonce = "c", .nc = 1 };
		(void)sip_auth_client_answer(&h, &co, out, sizeof out, &len);
		(void)sip_auth_client_choose(&h, 1);
	}
	/* As a credential: verify it, at a time its nonce could be fresh. */
	if (srv) {
		(void)sip_auth_server_verify(srv, p, size, "REGISTER", NULL, 0, fuzz_lookup, NULL, 1000, NULL);
		(void)sip_auth_server_verify(srv, p, size, "INVITE", "sip:bob@fuzz.test", 17, fuzz_lookup, NULL, 1000, NULL);
	}
	return 0;
}
