/* sip_auth: digest authentication (see sip_auth.h and
 * docs/sip-auth-registrar.md). */
#include "sip/sip_auth.h"

#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

/* ---- Parser ----------------------------------------------------------- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 3261 token characters, as a table: the parser's inner loop. */
#define TOK_ALNUM(b) ((b) >= '0' && (b) <= '9') || ((b) >= 'a' && (b) <= 'z') || ((b) >= 'A' && (b) <= 'Z')
#define TOK(b) (TOK_ALNUM(b) || (b) == '-' || (b) == '.' || (b) == '!' || (b) == '%' || (b) == '*' || \
		(b) == '_' || (b) == '+' || (b) == '`' || (b) == '\'' || (b) == '~')
#define TOK4(b) TOK(b), TOK(b + 1), TOK(b + 2), TOK(b + 3)
#define TOK16(b) TOK4(b), TOK4(b + 4), TOK4(b + 8), TOK4(b + 12)
static const bool token_tab[128] = {
	TOK16(0), TOK16(16), TOK16(32), TOK16(48), TOK16(64), TOK16(80), TOK16(96), TOK16(112),
};

static inline bool is_token(unsigned char c)
{
	return c < 128 && token_tab[c];
}

/* Case-insensitive comparison with a literal written in lowercase (letters,
 * digits, '-'): a hot path of the parser, so no locale and no strlen. */
static bool caseeq_lit(const char *p, size_t l, const char *lit, size_t n)
{
	if (!p || l != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i], w = lit[i];
		if (c != w && !(w >= 'a' && w <= 'z' && (c | 0x20) == w))
			return false;
	}
	return true;
}

static bool pl_caseeq(sip_pl a, const char *s)
{
	return caseeq_lit(a.p, a.l, s, strlen(s));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Which field of sip_auth_hdr a parameter name fills (NULL: ignored). */
static sip_pl *param_slot(sip_auth_hdr *h, sip_pl name)
{
#define SLOT(n, f) { n, sizeof(n) - 1, offsetof(sip_auth_hdr, f) }
	static const struct {
		const char *name;
		size_t len, off;
	} tab[] = {
		SLOT("username", username), SLOT("realm", realm), SLOT("nonce", nonce),
		SLOT("uri", uri), SLOT("response", response), SLOT("algorithm", algorithm),
		SLOT("cnonce", cnonce), SLOT("opaque", opaque), SLOT("qop", qop),
		SLOT("nc", nc), SLOT("domain", domain), SLOT("stale", stale),
	};
#undef SLOT
	for (size_t i = 0; i < G_N_ELEMENTS(tab); i++)
		if (name.l == tab[i].len && caseeq_lit(name.p, name.l, tab[i].name, tab[i].len))
			return (sip_pl *)((char *)h + tab[i].off);
	return NULL;
}

/* Whether a comma/space separated token list holds tok. */
static bool list_has(sip_pl list, const char *tok)
{
	size_t i = 0;
	while (i < list.l) {
		while (i < list.l && (is_ws(list.p[i]) || list.p[i] == ','))
			i++;
		size_t s = i;
		while (i < list.l && !is_ws(list.p[i]) && list.p[i] != ',')
			i++;
		if (i > s && pl_caseeq((sip_pl){ list.p + s, i - s }, tok))
			return true;
	}
	return false;
}

int sip_auth_parse(const char *p, size_t len, sip_auth_hdr *out)
{
	memset(out, 0, sizeof *out);
	if (!p || len > SIP_AUTH_MAX_HEADER)
		return EBADMSG;
	size_t i = 0;
	while (i < len && is_ws(p[i]))
		i++;
	size_t s = i;
	while (i < len && is_token((unsigned char)p[i]))
		i++;
	if (i == s)
		return EBADMSG;
	out->scheme = (sip_pl){ p + s, i - s };
	if (!pl_caseeq(out->scheme, "digest"))
		return ENOTSUP;
	if (i < len && !is_ws(p[i]))
		return EBADMSG;

	sip_pl userhash = SIP_PL_NULL;
	unsigned nparams = 0;
	for (;;) {
		/* Separators: whitespace and (possibly empty) commas. */
		while (i < len && (is_ws(p[i]) || p[i] == ','))
			i++;
		if (i >= len)
			break;
		if (++nparams > SIP_AUTH_MAX_PARAMS)
			return EBADMSG;
		s = i;
		while (i < len && is_token((unsigned char)p[i]))
			i++;
		if (i == s)
			return EBADMSG;
		sip_pl name = { p + s, i - s };
		while (i < len && is_ws(p[i]))
			i++;
		if (i >= len || p[i] != '=')
			return EBADMSG;
		i++;
		while (i < len && is_ws(p[i]))
			i++;
		sip_pl val;
		if (i < len && p[i] == '"') {
			s = ++i;
			for (;;) {
				if (i >= len)
					return EBADMSG; /* unterminated */
				char c = p[i];
				if (c == '"')
					break;
				if (c == '\0' || c == '\r' || c == '\n')
					return EBADMSG;
				if (c == '\\') {
					if (i + 1 >= len || p[i + 1] == '\r' || p[i + 1] == '\n' || p[i + 1] == '\0')
						return EBADMSG;
					i++;
				}
				i++;
			}
			val = (sip_pl){ p + s, i - s };
			i++; /* closing quote */
		} else {
			s = i;
			while (i < len && !is_ws(p[i]) && p[i] != ',' && p[i] != '"' && p[i] != '=') {
				if ((unsigned char)p[i] < 0x21 || p[i] == 0x7f)
					return EBADMSG;
				i++;
			}
			if (i == s)
				return EBADMSG;
			val = (sip_pl){ p + s, i - s };
		}
		if (val.l > SIP_AUTH_MAX_VALUE)
			return EBADMSG;
		/* After a value: whitespace, then a comma or the end. */
		while (i < len && is_ws(p[i]))
			i++;
		if (i < len && p[i] != ',')
			return EBADMSG;

		sip_pl *slot = param_slot(out, name);
		if (!slot && pl_caseeq(name, "userhash"))
			slot = &userhash;
		if (slot) {
			/* A repeated parameter is ambiguous: refuse it. */
			if (slot->p)
				return EBADMSG;
			*slot = val;
		}
	}

	out->alg = SIP_AUTH_ALG_MD5;
	out->alg_known = true;
	if (out->algorithm.p)
		out->alg_known = sip_auth_alg_parse(out->algorithm.p, out->algorithm.l, &out->alg);
	out->stale_true = pl_caseeq(out->stale, "true");
	out->userhash = pl_caseeq(userhash, "true");
	if (out->qop.p)
		out->qop_auth = list_has(out->qop, "auth");
	if (out->nc.p) {
		if (out->nc.l != 8)
			return EBADMSG;
		uint32_t v = 0;
		for (size_t k = 0; k < 8; k++) {
			int d = hexval(out->nc.p[k]);
			if (d < 0)
				return EBADMSG;
			v = (v << 4) | (uint32_t)d;
		}
		out->has_nc = true;
		out->nc_value = v;
	}
	if (out->username.p && memchr(out->username.p, '\\', out->username.l))
		out->username_escaped = true;
	return 0;
}

int sip_auth_unquote(sip_pl s, char *buf, size_t cap)
{
	size_t o = 0;
	if (!buf || cap == 0)
		return -1;
	for (size_t i = 0; s.p && i < s.l; i++) {
		char c = s.p[i];
		if (c == '\\' && i + 1 < s.l)
			c = s.p[++i];
		if (o + 1 >= cap)
			return -1;
		buf[o++] = c;
	}
	buf[o] = '\0';
	return (int)o;
}

/* ---- Algorithms and hashing --------------------------------------------- */

static const char *const alg_names[SIP_AUTH_ALG_COUNT] = { "MD5", "SHA-256", "MD5-sess", "SHA-256-sess" };
static const char *const alg_lower[SIP_AUTH_ALG_COUNT] = { "md5", "sha-256", "md5-sess", "sha-256-sess" };

const char *sip_auth_alg_name(sip_auth_alg alg)
{
	return alg < SIP_AUTH_ALG_COUNT ? alg_names[alg] : "?";
}

bool sip_auth_alg_parse(const char *p, size_t len, sip_auth_alg *out)
{
	/* Some peers quote the token. */
	if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
		p++;
		len -= 2;
	}
	for (int a = 0; a < SIP_AUTH_ALG_COUNT; a++) {
		if (caseeq_lit(p, len, alg_lower[a], strlen(alg_lower[a]))) {
			*out = (sip_auth_alg)a;
			return true;
		}
	}
	return false;
}

static bool alg_is_sha256(sip_auth_alg alg)
{
	return alg == SIP_AUTH_ALG_SHA256 || alg == SIP_AUTH_ALG_SHA256_SESS;
}

static bool alg_is_sess(sip_auth_alg alg)
{
	return alg == SIP_AUTH_ALG_MD5_SESS || alg == SIP_AUTH_ALG_SHA256_SESS;
}

static sip_auth_alg alg_base(sip_auth_alg alg)
{
	return alg_is_sha256(alg) ? SIP_AUTH_ALG_SHA256 : SIP_AUTH_ALG_MD5;
}

size_t sip_auth_alg_hexlen(sip_auth_alg alg)
{
	return alg_is_sha256(alg) ? 64 : 32;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Hashes the parts joined by ':' into lowercase hex. ctx is reused. */
static bool hash_hex(EVP_MD_CTX *ctx, const EVP_MD *md, char *out, const sip_pl *parts, size_t n)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	/* Joined in a stack buffer first: one update costs far less than a
	 * dozen small ones. Parts are capped at SIP_AUTH_MAX_VALUE each. */
	char joined[8 * (SIP_AUTH_MAX_VALUE + 1)];
	size_t o = 0;
	if (!md || n > 8 || EVP_DigestInit_ex(ctx, md, NULL) != 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].l > SIP_AUTH_MAX_VALUE)
			return false;
		if (i > 0)
			joined[o++] = ':';
		if (parts[i].l)
			memcpy(joined + o, parts[i].p, parts[i].l);
		o += parts[i].l;
	}
	if (EVP_DigestUpdate(ctx, joined, o) != 1 || EVP_DigestFinal_ex(ctx, d, &dl) != 1)
		return false;
	to_hex(d, dl, out);
	return true;
}

static const EVP_MD *alg_md(sip_auth_alg alg)
{
	return alg_is_sha256(alg) ? EVP_sha256() : EVP_md5();
}

int sip_auth_ha1(sip_auth_alg alg, const char *user, const char *realm,
		 const char *password, char out[SIP_AUTH_HEX_MAX])
{
	if (alg >= SIP_AUTH_ALG_COUNT || !user || !realm || !password)
		return EINVAL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	sip_pl parts[3] = { sip_pl_cstr(user), sip_pl_cstr(realm), sip_pl_cstr(password) };
	bool ok = ctx && hash_hex(ctx, alg_md(alg), out, parts, 3);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : EINVAL;
}

/* Computes the response digest: with qop, H(HA1:nonce:nc:cnonce:qop:HA2),
 * else H(HA1:nonce:HA2); -sess algorithms first turn HA1 into
 * H(HA1:nonce:cnonce). ha1 is hex. All values are unquoted. */
static bool compute_response(EVP_MD_CTX *ctx, const EVP_MD *md, sip_auth_alg alg, const char *ha1,
			     sip_pl nonce, sip_pl cnonce, sip_pl nc, sip_pl qop,
			     sip_pl method, sip_pl uri, char out[SIP_AUTH_HEX_MAX])
{
	char ha1s[SIP_AUTH_HEX_MAX], ha2[SIP_AUTH_HEX_MAX];
	sip_pl h1 = sip_pl_cstr(ha1);
	if (alg_is_sess(alg)) {
		sip_pl sp[3] = { h1, nonce, cnonce };
		if (!hash_hex(ctx, md, ha1s, sp, 3))
			return false;
		h1 = sip_pl_cstr(ha1s);
	}
	sip_pl a2[2] = { method, uri };
	if (!hash_hex(ctx, md, ha2, a2, 2))
		return false;
	if (qop.p) {
		sip_pl r[6] = { h1, nonce, nc, cnonce, qop, sip_pl_cstr(ha2) };
		return hash_hex(ctx, md, out, r, 6);
	}
	sip_pl r[3] = { h1, nonce, sip_pl_cstr(ha2) };
	return hash_hex(ctx, md, out, r, 3);
}

/* ---- Server ------------------------------------------------------------- */

/* A nonce is 32 bytes, sent as 64 hex digits: an 8-byte timestamp, an
 * 8-byte counter and the first 16 bytes of HMAC-SHA256(key, ts || counter).
 * Only the key holder can make one; the timestamp gives its age. */
#define NONCE_RAW 32
#define NONCE_HEX (2 * NONCE_RAW)
#define NONCE_MAC 16
#define NONCE_SKEW_S 60 /* how far in the future a timestamp may be (other nodes' clocks) */
#define NC_PROBE 8

typedef struct {
	uint8_t mac[NONCE_MAC];
	uint64_t expires; /* 0: free */
	uint32_t last_nc;
} nc_slot;

struct sip_auth_server {
	char *realm;
	uint8_t key[64];
	size_t key_len;
	unsigned lifetime;
	unsigned algs;
	sip_auth_alg order[SIP_AUTH_ALG_COUNT]; /* challenges, in the order sent */
	unsigned n_order;
	bool allow_no_qop;
	uint64_t counter;
	EVP_MD *md5, *sha256;
	EVP_MD_CTX *ctx;
	/* HMAC-SHA256 with the key's inner and outer pads already absorbed, so
	 * each nonce costs two short digests and two context copies. */
	EVP_MD_CTX *hmac_in, *hmac_out;
	char dummy_ha1[2][SIP_AUTH_HEX_MAX]; /* MD5, SHA-256: for unknown users */
	nc_slot *slots;
	size_t nslots; /* power of two */
};

static bool hmac_init(sip_auth_server *s)
{
	uint8_t k[64] = { 0 }, pad[64];
	if (s->key_len > 64) {
		unsigned int kl = 0;
		if (EVP_Digest(s->key, s->key_len, k, &kl, s->sha256, NULL) != 1)
			return false;
	} else {
		memcpy(k, s->key, s->key_len);
	}
	s->hmac_in = EVP_MD_CTX_new();
	s->hmac_out = EVP_MD_CTX_new();
	if (!s->hmac_in || !s->hmac_out)
		return false;
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	if (EVP_DigestInit_ex(s->hmac_in, s->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(s->hmac_in, pad, 64) != 1)
		return false;
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	if (EVP_DigestInit_ex(s->hmac_out, s->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(s->hmac_out, pad, 64) != 1)
		return false;
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
	return true;
}

static bool hmac(sip_auth_server *s, const uint8_t *msg, size_t n, uint8_t out[32])
{
	uint8_t inner[32];
	unsigned int l = 0;
	return EVP_MD_CTX_copy_ex(s->ctx, s->hmac_in) == 1 &&
	       EVP_DigestUpdate(s->ctx, msg, n) == 1 &&
	       EVP_DigestFinal_ex(s->ctx, inner, &l) == 1 &&
	       EVP_MD_CTX_copy_ex(s->ctx, s->hmac_out) == 1 &&
	       EVP_DigestUpdate(s->ctx, inner, sizeof inner) == 1 &&
	       EVP_DigestFinal_ex(s->ctx, out, &l) == 1;
}

/* Whether s holds a control character (CR/LF would split the header). */
static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

sip_auth_server *sip_auth_server_new(const sip_auth_server_opts *o)
{
	if (!o || !o->realm || !o->realm[0] || strlen(o->realm) > 256 || has_ctl(o->realm))
		return NULL;
	sip_auth_server *s = g_new0(sip_auth_server, 1);
	s->realm = g_strdup(o->realm);
	s->lifetime = o->nonce_lifetime_s ? o->nonce_lifetime_s : 300;
	s->allow_no_qop = o->allow_no_qop;
	s->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	s->ctx = EVP_MD_CTX_new();
	/* Allowed algorithms in the order challenges are sent: the caller's
	 * order, else RFC 8760 §2.4's (the preferred one first). */
	static const sip_auth_alg default_order[SIP_AUTH_ALG_COUNT] = {
		SIP_AUTH_ALG_SHA256, SIP_AUTH_ALG_SHA256_SESS, SIP_AUTH_ALG_MD5, SIP_AUTH_ALG_MD5_SESS,
	};
	const sip_auth_alg *ord = o->n_order ? o->order : default_order;
	unsigned n_ord = o->n_order ? o->n_order : SIP_AUTH_ALG_COUNT;
	unsigned want = o->algs ? o->algs : SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_SHA256) | SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_MD5);
	for (unsigned i = 0; ord && i < n_ord; i++) {
		sip_auth_alg a = ord[i];
		if ((unsigned)a >= SIP_AUTH_ALG_COUNT || (s->algs & SIP_AUTH_ALG_BIT(a)))
			continue;
		if (!o->n_order && !(want & SIP_AUTH_ALG_BIT(a)))
			continue;
		if (!s->md5 && !alg_is_sha256(a)) /* a FIPS provider has no MD5 */
			continue;
		s->algs |= SIP_AUTH_ALG_BIT(a);
		s->order[s->n_order++] = a;
	}
	if (!s->sha256 || !s->ctx || !s->algs)
		goto fail;

	if (o->key && o->key_len) {
		if (o->key_len > sizeof s->key) {
			unsigned int kl = 0;
			if (EVP_Digest(o->key, o->key_len, s->key, &kl, s->sha256, NULL) != 1)
				goto fail;
			s->key_len = kl;
		} else {
			memcpy(s->key, o->key, o->key_len);
			s->key_len = o->key_len;
		}
	} else {
		s->key_len = 32;
		if (RAND_bytes(s->key, (int)s->key_len) != 1)
			goto fail;
	}
	if (!hmac_init(s))
		goto fail;
	if (RAND_bytes((unsigned char *)&s->counter, sizeof s->counter) != 1)
		goto fail;
	/* Unknown users are checked against a random HA1 nobody knows, so they
	 * cost the same hashing as a wrong password. */
	for (int i = 0; i < 2; i++) {
		uint8_t r[32];
		if (RAND_bytes(r, sizeof r) != 1)
			goto fail;
		to_hex(r, i ? 32 : 16, s->dummy_ha1[i]);
	}
	size_t n = o->nc_slots ? o->nc_slots : 16384;
	s->nslots = 16;
	while (s->nslots < n && s->nslots < ((size_t)1 << 24))
		s->nslots <<= 1;
	s->slots = g_new0(nc_slot, s->nslots);
	return s;
fail:
	sip_auth_server_free(s);
	return NULL;
}

void sip_auth_server_free(sip_auth_server *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s->key, sizeof s->key);
	EVP_MD_CTX_free(s->ctx);
	EVP_MD_CTX_free(s->hmac_in);
	EVP_MD_CTX_free(s->hmac_out);
	EVP_MD_free(s->md5);
	EVP_MD_free(s->sha256);
	g_free(s->slots);
	g_free(s->realm);
	g_free(s);
}

const char *sip_auth_server_realm(const sip_auth_server *s)
{
	return s->realm;
}

unsigned sip_auth_server_challenge_count(const sip_auth_server *s)
{
	return s->n_order;
}

static uint32_t slot_hash(const uint8_t *mac)
{
	uint32_t h;
	memcpy(&h, mac, sizeof h);
	return h;
}

/* Remembers a freshly issued nonce so its nonce-counts can be tracked.
 * When every probed slot is live, one is reused: its nonce then answers
 * stale, which costs its client one round trip. A nonce already answered
 * (last_nc > 0) is evicted before one whose challenge is still in flight,
 * so a burst of registrations does not fail the clients mid-handshake;
 * among equals, the one expiring first goes. */
static void nc_insert(sip_auth_server *s, const uint8_t *mac, uint64_t expires, uint64_t now)
{
	size_t mask = s->nslots - 1, idx = slot_hash(mac) & mask;
	nc_slot *victim = NULL;
	for (size_t k = 0; k < NC_PROBE; k++) {
		nc_slot *e = &s->slots[(idx + k) & mask];
		if (e->expires <= now) {
			victim = e;
			break;
		}
		bool used = e->last_nc > 0, vused = victim && victim->last_nc > 0;
		if (!victim || (used && !vused) || (used == vused && e->expires < victim->expires))
			victim = e;
	}
	memcpy(victim->mac, mac, NONCE_MAC);
	victim->expires = expires;
	victim->last_nc = 0;
}

static nc_slot *nc_find(sip_auth_server *s, const uint8_t *mac, uint64_t now)
{
	size_t mask = s->nslots - 1, idx = slot_hash(mac) & mask;
	for (size_t k = 0; k < NC_PROBE; k++) {
		nc_slot *e = &s->slots[(idx + k) & mask];
		if (e->expires > now && CRYPTO_memcmp(e->mac, mac, NONCE_MAC) == 0)
			return e;
	}
	return NULL;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Mints a nonce (hex, NUL-terminated) and records it in the nc table. */
static bool make_nonce(sip_auth_server *s, uint64_t now, char out[NONCE_HEX + 1])
{
	uint8_t raw[NONCE_RAW], mac[32];
	put_be64(raw, now);
	put_be64(raw + 8, s->counter++);
	if (!hmac(s, raw, 16, mac))
		return false;
	memcpy(raw + 16, mac, NONCE_MAC);
	to_hex(raw, NONCE_RAW, out);
	nc_insert(s, raw + 16, now + s->lifetime + 1, now);
	return true;
}

/* Appends a quoted string, escaping '"' and '\'. */
static void put_quoted(GString *g, const char *v)
{
	g_string_append_c(g, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			g_string_append_c(g, '\\');
		g_string_append_c(g, *v);
	}
	g_string_append_c(g, '"');
}

static int emit(GString *g, char *buf, size_t cap, size_t *len)
{
	int rc = 0;
	if (g->len + 1 > cap) {
		rc = ENOSPC;
	} else {
		memcpy(buf, g->str, g->len + 1);
		if (len)
			*len = g->len;
	}
	g_string_free(g, TRUE);
	return rc;
}

static void put_challenge(sip_auth_server *s, GString *g, sip_auth_alg alg, const char *nonce, bool stale)
{
	g_string_append(g, "Digest realm=");
	put_quoted(g, s->realm);
	g_string_append_printf(g, ", nonce=\"%s\", algorithm=%s, qop=\"auth\"", nonce, alg_names[alg]);
	if (stale)
		g_string_append(g, ", stale=true");
}

int sip_auth_server_challenge(sip_auth_server *s, unsigned i, bool stale, uint64_t now,
			      char *buf, size_t cap, size_t *len)
{
	if (i >= s->n_order)
		return ENOENT;
	char nonce[NONCE_HEX + 1];
	if (!make_nonce(s, now, nonce))
		return EIO;
	GString *g = g_string_sized_new(256);
	put_challenge(s, g, s->order[i], nonce, stale);
	return emit(g, buf, cap, len);
}

int sip_auth_server_challenge_headers(sip_auth_server *s, bool proxy, bool stale, uint64_t now,
				      GString *out)
{
	char nonce[NONCE_HEX + 1];
	if (!make_nonce(s, now, nonce))
		return EIO;
	for (unsigned i = 0; i < s->n_order; i++) {
		g_string_append(out, proxy ? "Proxy-Authenticate: " : "WWW-Authenticate: ");
		put_challenge(s, out, s->order[i], nonce, stale);
		g_string_append(out, "\r\n");
	}
	return 0;
}

/* Checks a nonce's form and MAC; fills its timestamp and MAC bytes. */
static bool nonce_check(sip_auth_server *s, sip_pl n, uint64_t *ts, uint8_t mac_out[NONCE_MAC])
{
	uint8_t raw[NONCE_RAW], mac[32];
	if (n.l != NONCE_HEX)
		return false;
	for (size_t i = 0; i < NONCE_RAW; i++) {
		int hi = hexval(n.p[2 * i]), lo = hexval(n.p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!hmac(s, raw, 16, mac) || CRYPTO_memcmp(mac, raw + 16, NONCE_MAC) != 0)
		return false;
	*ts = get_be64(raw);
	memcpy(mac_out, raw + 16, NONCE_MAC);
	return true;
}

static bool is_lower_hex(const char *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hexval(h[i]) < 0 || (h[i] >= 'A' && h[i] <= 'F'))
			return false;
	return h[n] == '\0';
}

sip_auth_result sip_auth_server_verify(sip_auth_server *s, const char *hdr, size_t hdr_len,
				       const char *method, const char *ruri, size_t ruri_len,
				       sip_auth_ha1_fn lookup, void *user, uint64_t now,
				       sip_auth_info *info)
{
	sip_auth_hdr h;
	char username[SIP_AUTH_MAX_VALUE + 1], realm[SIP_AUTH_MAX_VALUE + 1], uri[SIP_AUTH_MAX_VALUE + 1];
	char ha1[SIP_AUTH_HEX_MAX], expect[SIP_AUTH_HEX_MAX], got[SIP_AUTH_HEX_MAX];

	if (info)
		memset(info, 0, sizeof *info);
	if (!hdr)
		return SIP_AUTH_NO_CREDENTIALS;
	int rc = sip_auth_parse(hdr, hdr_len, &h);
	if (rc == ENOTSUP)
		return SIP_AUTH_NO_CREDENTIALS;
	if (rc)
		return SIP_AUTH_MALFORMED;
	if (!h.username.p || !h.realm.p || !h.nonce.p || !h.uri.p || !h.response.p || !method)
		return SIP_AUTH_MALFORMED;
	if (sip_auth_unquote(h.realm, realm, sizeof realm) < 0)
		return SIP_AUTH_MALFORMED;
	if (strcmp(realm, s->realm) != 0)
		return SIP_AUTH_WRONG_REALM;
	if (sip_auth_unquote(h.username, username, sizeof username) < 0 ||
	    sip_auth_unquote(h.uri, uri, sizeof uri) < 0)
		return SIP_AUTH_MALFORMED;
	if (info) {
		memcpy(info->username, username, strlen(username) + 1);
		info->alg = h.alg;
		info->nc = h.nc_value;
	}
	/* An algorithm or qop we did not offer, or RFC 7616 userhash: answer
	 * with a fresh challenge the client can use. */
	if (!h.alg_known || !(s->algs & SIP_AUTH_ALG_BIT(h.alg)) || h.userhash)
		return SIP_AUTH_NO_CREDENTIALS;
	if (h.qop.p) {
		if (!pl_caseeq(h.qop, "auth"))
			return SIP_AUTH_NO_CREDENTIALS;
		if (!h.cnonce.p || !h.has_nc || h.nc_value == 0)
			return SIP_AUTH_MALFORMED;
	} else if (!s->allow_no_qop) {
		return SIP_AUTH_MALFORMED;
	}
	if (alg_is_sess(h.alg) && !h.cnonce.p)
		return SIP_AUTH_MALFORMED;
	if (ruri && (strlen(uri) != ruri_len || memcmp(uri, ruri, ruri_len) != 0))
		return SIP_AUTH_MALFORMED;

	uint64_t ts;
	uint8_t mac[NONCE_MAC];
	if (!nonce_check(s, h.nonce, &ts, mac) || ts > now + NONCE_SKEW_S)
		return SIP_AUTH_BAD_NONCE;

	/* The same work for known and unknown users: look up, hash, compare. */
	size_t hexlen = sip_auth_alg_hexlen(h.alg);
	sip_auth_alg base = alg_base(h.alg);
	bool known = lookup && lookup(user, username, base, ha1) && is_lower_hex(ha1, hexlen);
	if (!known)
		memcpy(ha1, s->dummy_ha1[base == SIP_AUTH_ALG_SHA256], hexlen + 1);
	char cnonce[SIP_AUTH_MAX_VALUE + 1];
	if (sip_auth_unquote(h.cnonce, cnonce, sizeof cnonce) < 0)
		return SIP_AUTH_MALFORMED;
	EVP_MD *md = alg_is_sha256(h.alg) ? s->sha256 : s->md5;
	/* nonce is plain hex (checked above), so its raw slice is its value. */
	if (!compute_response(s->ctx, md, h.alg, ha1, h.nonce, h.cnonce.p ? sip_pl_cstr(cnonce) : SIP_PL_NULL,
			      h.nc, h.qop, sip_pl_cstr(method), sip_pl_cstr(uri), expect))
		return SIP_AUTH_MALFORMED;
	memset(got, 0, sizeof got);
	bool len_ok = h.response.l == hexlen;
	for (size_t i = 0; i < hexlen && i < h.response.l; i++)
		got[i] = (char)(h.response.p[i] >= 'A' && h.response.p[i] <= 'Z' ? h.response.p[i] | 0x20 : h.response.p[i]);
	bool match = CRYPTO_memcmp(got, expect, hexlen) == 0 && len_ok;
	if (!known)
		return SIP_AUTH_UNKNOWN_USER;
	if (!match)
		return SIP_AUTH_WRONG_PASSWORD;

	/* Right password: now the nonce's age and count. */
	if (ts + s->lifetime < now)
		return SIP_AUTH_STALE;
	if (h.qop.p) {
		nc_slot *e = nc_find(s, mac, now);
		if (!e)
			return SIP_AUTH_STALE; /* evicted from the table: make the client take a new one */
		if (h.nc_value <= e->last_nc)
			return SIP_AUTH_REPLAY;
		e->last_nc = h.nc_value;
	}
	return SIP_AUTH_OK;
}

int sip_auth_result_status(sip_auth_result r, bool proxy)
{
	if (r == SIP_AUTH_OK)
		return 200;
	if (r == SIP_AUTH_MALFORMED)
		return 400;
	return proxy ? 407 : 401;
}

bool sip_auth_result_stale(sip_auth_result r)
{
	return r == SIP_AUTH_STALE || r == SIP_AUTH_REPLAY;
}

const char *sip_auth_result_name(sip_auth_result r)
{
	static const char *const names[] = {
		"ok", "no-credentials", "unknown-user", "wrong-password", "stale",
		"wrong-realm", "bad-nonce", "replay", "malformed",
	};
	return (unsigned)r < G_N_ELEMENTS(names) ? names[r] : "?";
}

/* ---- Client ------------------------------------------------------------- */

static int alg_rank(sip_auth_alg a)
{
	switch (a) {
	case SIP_AUTH_ALG_SHA256: return 4;
	case SIP_AUTH_ALG_MD5: return 3;
	case SIP_AUTH_ALG_SHA256_SESS: return 2;
	case SIP_AUTH_ALG_MD5_SESS: return 1;
	default: return 0;
	}
}

static bool challenge_usable(const sip_auth_hdr *c)
{
	return c->alg_known && c->realm.p && c->nonce.p && !c->userhash && (!c->qop.p || c->qop_auth);
}

int sip_auth_client_choose(const sip_auth_hdr *challenges, size_t n)
{
	int best = -1;
	for (size_t i = 0; i < n && i < INT_MAX; i++) {
		if (!challenge_usable(&challenges[i]))
			continue;
		if (best < 0 || alg_rank(challenges[i].alg) > alg_rank(challenges[best].alg))
			best = (int)i;
	}
	return best;
}

int sip_auth_client_answer(const sip_auth_hdr *c, const sip_auth_client_opts *o,
			   char *buf, size_t cap, size_t *len)
{
	if (!c || !o || !o->username || !o->password || !o->method || !o->uri || !c->realm.p || !c->nonce.p)
		return EINVAL;
	if (has_ctl(o->username) || has_ctl(o->uri) || has_ctl(o->method) || (o->cnonce && has_ctl(o->cnonce)))
		return EINVAL;
	if (!challenge_usable(c))
		return ENOTSUP;
	char realm[SIP_AUTH_MAX_VALUE + 1], nonce[SIP_AUTH_MAX_VALUE + 1];
	char ha1[SIP_AUTH_HEX_MAX], resp[SIP_AUTH_HEX_MAX], cn[17], ncs[9];
	if (sip_auth_unquote(c->realm, realm, sizeof realm) < 0 ||
	    sip_auth_unquote(c->nonce, nonce, sizeof nonce) < 0)
		return EINVAL;
	const char *cnonce = o->cnonce;
	if (!cnonce) {
		uint8_t r[8];
		if (RAND_bytes(r, sizeof r) != 1)
			return EIO;
		to_hex(r, sizeof r, cn);
		cnonce = cn;
	}
	snprintf(ncs, sizeof ncs, "%08x", o->nc ? o->nc : 1);
	bool qop = c->qop.p != NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && sip_auth_ha1(c->alg, o->username, realm, o->password, ha1) == 0 &&
		  compute_response(ctx, alg_md(c->alg), c->alg, ha1, sip_pl_cstr(nonce),
				   sip_pl_cstr(cnonce), qop ? sip_pl_cstr(ncs) : SIP_PL_NULL,
				   qop ? SIP_PL("auth") : SIP_PL_NULL,
				   sip_pl_cstr(o->method), sip_pl_cstr(o->uri), resp);
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(ha1, sizeof ha1);
	if (!ok)
		return ENOTSUP;

	GString *g = g_string_sized_new(384);
	g_string_append(g, "Digest username=");
	put_quoted(g, o->username);
	/* realm, nonce and opaque go back exactly as the challenge quoted them. */
	g_string_append_printf(g, ", realm=\"%.*s\", nonce=\"%.*s\", uri=",
			       (int)c->realm.l, c->realm.p, (int)c->nonce.l, c->nonce.p);
	put_quoted(g, o->uri);
	g_string_append_printf(g, ", response=\"%s\", algorithm=%s", resp, alg_names[c->alg]);
	if (qop || alg_is_sess(c->alg)) {
		g_string_append(g, ", cnonce=");
		put_quoted(g, cnonce);
	}
	if (qop)
		g_string_append_printf(g, ", qop=auth, nc=%s", ncs);
	if (c->opaque.p)
		g_string_append_printf(g, ", opaque=\"%.*s\"", (int)c->opaque.l, c->opaque.p);
	return emit(g, buf, cap, len);
}
