/* sip_auth: HTTP Digest authentication for SIP (RFC 3261 §22, RFC 7616,
 * RFC 8760): a zero-copy parser for WWW-/Proxy-Authenticate challenges and
 * Authorization/Proxy-Authorization credentials, the server side (stateless
 * HMAC nonces with a timestamp, stale detection, nonce-count replay checks,
 * verification against stored HA1 values) and the client side (answering a
 * challenge for an outbound REGISTER or INVITE).
 *
 * Pure logic: no sockets, no timers, no logging per request. Every function
 * that depends on time takes `now` (seconds, any epoch shared by all calls on
 * one server; wall-clock seconds if several nodes share a configured key).
 * See docs/sip-auth-registrar.md. */
#ifndef SIP_AUTH_H
#define SIP_AUTH_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/sip_pl.h"

typedef enum {
	SIP_AUTH_ALG_MD5 = 0,
	SIP_AUTH_ALG_SHA256,
	SIP_AUTH_ALG_MD5_SESS,
	SIP_AUTH_ALG_SHA256_SESS,
	SIP_AUTH_ALG_COUNT,
} sip_auth_alg;

#define SIP_AUTH_ALG_BIT(a) (1u << (a))
/* Longest hex digest (SHA-256) plus the NUL. */
#define SIP_AUTH_HEX_MAX 65
/* Caps on what the parser accepts (longer values make the header malformed). */
#define SIP_AUTH_MAX_HEADER 4096
#define SIP_AUTH_MAX_VALUE 1024
#define SIP_AUTH_MAX_PARAMS 32

/* One parsed challenge or credential. Quoted values are the raw bytes
 * between the quotes (escapes still in: see sip_auth_unquote); a missing
 * parameter is unset (p == NULL). */
typedef struct {
	sip_pl scheme;      /* "Digest" (checked case-insensitively) */
	sip_pl username, realm, nonce, uri, response, algorithm;
	sip_pl cnonce, opaque, qop, nc, domain, stale;
	sip_auth_alg alg;         /* MD5 when the parameter is absent */
	bool alg_known;           /* false: an algorithm we do not implement */
	bool stale_true;          /* stale=true (case-insensitive) */
	bool qop_auth;            /* challenge: qop list has "auth"; credential: qop=auth */
	bool has_nc;
	uint32_t nc_value;        /* nc parsed as 8 hex digits */
	bool userhash;            /* userhash=true: not supported by the verifier */
	bool username_escaped;    /* the quoted username holds a backslash escape */
} sip_auth_hdr;

/* Parses a header value ("Digest realm=..., nonce=..."). 0, EBADMSG when
 * malformed or over a cap, ENOTSUP when the scheme is not Digest. Never
 * allocates; the slices point into p. */
int sip_auth_parse(const char *p, size_t len, sip_auth_hdr *out);

/* Copies a quoted value without its backslash escapes into buf (NUL
 * terminated). Returns the length, or -1 if it does not fit in cap. */
int sip_auth_unquote(sip_pl s, char *buf, size_t cap);

/* "MD5", "SHA-256", "MD5-sess", "SHA-256-sess". */
const char *sip_auth_alg_name(sip_auth_alg alg);
/* Parses an algorithm token (case-insensitive); false if unknown. */
bool sip_auth_alg_parse(const char *p, size_t len, sip_auth_alg *out);
/* Hex length of the algorithm's digest: 32 or 64. */
size_t sip_auth_alg_hexlen(sip_auth_alg alg);

/* HA1 = H(user ":" realm ":" password) in lowercase hex, for storing
 * instead of the password (the -sess forms store the same HA1 as their base
 * algorithm). out holds SIP_AUTH_HEX_MAX bytes. 0 or EINVAL. */
int sip_auth_ha1(sip_auth_alg alg, const char *user, const char *realm,
		 const char *password, char out[SIP_AUTH_HEX_MAX]);

/* ---- Server side ---------------------------------------------------- */

typedef struct sip_auth_server sip_auth_server;

typedef struct {
	const char *realm;         /* required */
	const uint8_t *key;        /* HMAC key for nonces; NULL: 32 random bytes */
	size_t key_len;
	unsigned nonce_lifetime_s; /* 0: 300 */
	unsigned algs;             /* SIP_AUTH_ALG_BIT mask; 0: SHA-256 and MD5 */
	/* When n_order > 0: the algorithms offered, in this order (overrides
	 * algs). Clients that read only the first challenge (JsSIP 3.x does,
	 * and knows only MD5) need MD5 first. */
	const sip_auth_alg *order;
	unsigned n_order;
	unsigned nc_slots;         /* nonce-count table size; 0: 16384 */
	bool allow_no_qop;         /* accept RFC 2069 credentials (no qop, no nc) */
} sip_auth_server_opts;

/* Verification outcome; sip_auth_result_status() maps it to a SIP status. */
typedef enum {
	SIP_AUTH_OK = 0,
	SIP_AUTH_NO_CREDENTIALS,  /* no Digest credential: challenge (401/407) */
	SIP_AUTH_UNKNOWN_USER,    /* answer exactly as WRONG_PASSWORD (401/407) */
	SIP_AUTH_WRONG_PASSWORD,  /* 401/407 with a fresh challenge (or 403) */
	SIP_AUTH_STALE,           /* right password, old nonce: challenge with stale=true */
	SIP_AUTH_WRONG_REALM,     /* credential for another realm: challenge */
	SIP_AUTH_BAD_NONCE,       /* nonce not made by us (forged, or before a key change) */
	SIP_AUTH_REPLAY,          /* nonce-count did not increase: challenge with stale=true */
	SIP_AUTH_MALFORMED,       /* 400 */
} sip_auth_result;

/* Looks up the stored HA1 (lowercase hex, NUL-terminated) of a user for an
 * algorithm (MD5 or SHA-256; -sess requests ask for their base). username is
 * unescaped and NUL-terminated. Returns false if the user is unknown or has
 * no HA1 for that algorithm. */
typedef bool (*sip_auth_ha1_fn)(void *user, const char *username, sip_auth_alg alg,
				char ha1[SIP_AUTH_HEX_MAX]);

/* What the verifier learnt (valid for any result but MALFORMED/NO_CREDENTIALS). */
typedef struct {
	char username[SIP_AUTH_MAX_VALUE + 1];
	sip_auth_alg alg;
	uint32_t nc;
} sip_auth_info;

/* Creates a server; NULL if opts are invalid (no realm, empty algs). A
 * server belongs to one thread (the core loop): it is not locked. */
sip_auth_server *sip_auth_server_new(const sip_auth_server_opts *opts);
/* Frees a server (NULL is fine). */
void sip_auth_server_free(sip_auth_server *s);
/* The realm the server was created with. */
const char *sip_auth_server_realm(const sip_auth_server *s);

/* Number of challenge headers a 401/407 carries (one per allowed algorithm). */
unsigned sip_auth_server_challenge_count(const sip_auth_server *s);
/* Writes challenge number i (by default SHA-256 first, per RFC 8760 §2.4;
 * else opts.order) into buf:
 * `Digest realm="..", nonce="..", algorithm=.., qop="auth"[, stale=true]`.
 * Each call mints a fresh nonce. 0, ENOENT past the last, ENOSPC if cap is
 * too small (512 bytes plus the realm always fits). *len gets the length. */
int sip_auth_server_challenge(sip_auth_server *s, unsigned i, bool stale, uint64_t now,
			      char *buf, size_t cap, size_t *len);

/* Appends every challenge as a header line ("WWW-Authenticate: ...\r\n",
 * or Proxy-Authenticate when proxy is true), all with one fresh nonce: one
 * nonce-count entry per 401/407 however many algorithms. 0 or EIO. */
int sip_auth_server_challenge_headers(sip_auth_server *s, bool proxy, bool stale, uint64_t now,
				      GString *out);

/* Verifies one Authorization/Proxy-Authorization value for a request.
 * method and ruri are the request's (ruri NULL: the credential's uri is not
 * compared with it). Unknown users cost the same work as known ones and
 * the comparison is constant-time. info may be NULL. */
sip_auth_result sip_auth_server_verify(sip_auth_server *s, const char *hdr, size_t hdr_len,
				       const char *method, const char *ruri, size_t ruri_len,
				       sip_auth_ha1_fn lookup, void *user, uint64_t now,
				       sip_auth_info *info);

/* The SIP status for a result: 200 for OK, 400 for MALFORMED, else 401 (or
 * 407 when proxy is true). */
int sip_auth_result_status(sip_auth_result r, bool proxy);
/* Whether the challenge sent for this result should carry stale=true. */
bool sip_auth_result_stale(sip_auth_result r);
/* A short name for logs: "ok", "unknown-user", ... */
const char *sip_auth_result_name(sip_auth_result r);

/* ---- Client side ---------------------------------------------------- */

typedef struct {
	const char *username;
	const char *password;
	const char *method;        /* "REGISTER" */
	const char *uri;           /* the Request-URI */
	const char *cnonce;        /* NULL: 16 random hex digits */
	uint32_t nc;               /* nonce-count to send with this nonce; 0: 1 */
} sip_auth_client_opts;

/* Index of the challenge to answer among n parsed ones (SHA-256 preferred
 * over MD5, -sess last), or -1 if none is usable. */
int sip_auth_client_choose(const sip_auth_hdr *challenges, size_t n);
/* Writes the Authorization value answering a parsed challenge: qop=auth
 * with cnonce and nc when the challenge offers qop, the challenge's
 * algorithm, its opaque echoed. 0, ENOTSUP (algorithm or qop we cannot do),
 * EINVAL (missing fields), ENOSPC (buf too small). */
int sip_auth_client_answer(const sip_auth_hdr *challenge, const sip_auth_client_opts *opts,
			   char *buf, size_t cap, size_t *len);

#endif
