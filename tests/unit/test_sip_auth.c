#include <errno.h>
#include <glib.h>
#include <string.h>

#include "sip/sip_auth.h"

#define REALM "junction.test"

/* The RFC 7616 §3.9.1 worked example. */
#define RFC_CHALLENGE_TAIL "realm=\"http-auth@example.org\", qop=\"auth, auth-int\", " \
	"nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", " \
	"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
#define RFC_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define RFC_MD5 "8ca523f5e9506fed4657c9700eebdbec"
#define RFC_SHA256 "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"

typedef struct {
	const char *user, *password;
} user_entry;

static const user_entry users[] = {
	{ "alice", "wonderland" },
	{ "a\"b", "quote" },
	{ NULL, NULL },
};

static int lookups;

/* Lookup from a table, HA1 computed as a deployment would have stored it. */
static bool lookup_ha1(void *u, const char *username, sip_auth_alg alg, char ha1[SIP_AUTH_HEX_MAX])
{
	(void)u;
	lookups++;
	if (strcmp(username, "broken") == 0) {
		/* A stored HA1 that is not lowercase hex of the right length. */
		g_strlcpy(ha1, "ABCDEF", SIP_AUTH_HEX_MAX);
		return true;
	}
	for (const user_entry *e = users; e->user; e++)
		if (strcmp(e->user, username) == 0)
			return sip_auth_ha1(alg, e->user, REALM, e->password, ha1) == 0;
	return false;
}

static char *sget(sip_pl p)
{
	return p.p ? g_strndup(p.p, p.l) : NULL;
}

static void assert_pl(sip_pl p, const char *want)
{
	char *s = sget(p);
	g_assert_cmpstr(s, ==, want);
	g_free(s);
}

static char *find_param(const char *hdr, const char *name)
{
	char key[32];
	g_snprintf(key, sizeof key, "%s=\"", name);
	const char *p = strstr(hdr, key);
	if (!p)
		return NULL;
	p += strlen(key);
	const char *e = strchr(p, '"');
	return e ? g_strndup(p, (gsize)(e - p)) : NULL;
}

static void test_rfc7616_example(void)
{
	sip_auth_hdr ch;
	const char *hdr = "Digest " RFC_CHALLENGE_TAIL ", algorithm=SHA-256";
	g_assert_cmpint(sip_auth_parse(hdr, strlen(hdr), &ch), ==, 0);
	assert_pl(ch.realm, "http-auth@example.org");
	assert_pl(ch.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
	g_assert_true(ch.qop_auth);
	g_assert_true(ch.alg_known);
	g_assert_cmpint(ch.alg, ==, SIP_AUTH_ALG_SHA256);

	sip_auth_client_opts o = {
		.username = "Mufasa", .password = "Circle of Life", .method = "GET",
		.uri = "/dir/index.html", .cnonce = RFC_CNONCE, .nc = 1,
	};
	char buf[1024];
	size_t len = 0;
	g_assert_cmpint(sip_auth_client_answer(&ch, &o, buf, sizeof buf, &len), ==, 0);
	g_assert_cmpuint(len, ==, strlen(buf));
	char *resp = find_param(buf, "response");
	g_assert_cmpstr(resp, ==, RFC_SHA256);
	g_free(resp);
	g_assert_nonnull(strstr(buf, "qop=auth, nc=00000001"));
	g_assert_nonnull(strstr(buf, "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""));
	g_assert_nonnull(strstr(buf, "algorithm=SHA-256"));

	/* The client's own header parses back to the RFC's credential. */
	sip_auth_hdr cr;
	g_assert_cmpint(sip_auth_parse(buf, len, &cr), ==, 0);
	assert_pl(cr.username, "Mufasa");
	assert_pl(cr.uri, "/dir/index.html");
	assert_pl(cr.cnonce, RFC_CNONCE);
	g_assert_true(cr.has_nc);
	g_assert_cmpuint(cr.nc_value, ==, 1);

	/* MD5: the same challenge without an algorithm means MD5. */
	const char *md5 = "Digest " RFC_CHALLENGE_TAIL;
	g_assert_cmpint(sip_auth_parse(md5, strlen(md5), &ch), ==, 0);
	g_assert_cmpint(ch.alg, ==, SIP_AUTH_ALG_MD5);
	g_assert_cmpint(sip_auth_client_answer(&ch, &o, buf, sizeof buf, &len), ==, 0);
	resp = find_param(buf, "response");
	g_assert_cmpstr(resp, ==, RFC_MD5);
	g_free(resp);

	/* The RFC's literal Authorization header (folded onto one line). */
	const char *cred = "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
		"uri=\"/dir/index.html\", algorithm=MD5, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
		"nc=00000001, cnonce=\"" RFC_CNONCE "\", qop=auth, response=\"" RFC_MD5 "\", "
		"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
	g_assert_cmpint(sip_auth_parse(cred, strlen(cred), &cr), ==, 0);
	assert_pl(cr.response, RFC_MD5);
	assert_pl(cr.qop, "auth");
	g_assert_true(cr.qop_auth);

	/* The -sess forms on the same inputs (values computed independently
	 * with Python's hashlib: HA1' = H(H(user:realm:pw):nonce:cnonce)). */
	static const struct {
		const char *alg, *resp;
	} sess[] = {
		{ "MD5-sess", "e783283f46242139c486a698fec7211d" },
		{ "SHA-256-sess", "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(sess); i++) {
		char *sh = g_strdup_printf("Digest " RFC_CHALLENGE_TAIL ", algorithm=%s", sess[i].alg);
		g_assert_cmpint(sip_auth_parse(sh, strlen(sh), &ch), ==, 0);
		g_assert_true(ch.alg_known);
		g_assert_cmpint(sip_auth_client_answer(&ch, &o, buf, sizeof buf, &len), ==, 0);
		resp = find_param(buf, "response");
		g_assert_cmpstr(resp, ==, sess[i].resp);
		g_free(resp);
		g_free(sh);
	}

	/* HA1 helpers: H(Mufasa:http-auth@example.org:Circle of Life). */
	char ha1[SIP_AUTH_HEX_MAX];
	g_assert_cmpint(sip_auth_ha1(SIP_AUTH_ALG_MD5, "Mufasa", "http-auth@example.org", "Circle of Life", ha1), ==, 0);
	g_assert_cmpuint(strlen(ha1), ==, 32);
	g_assert_cmpint(sip_auth_ha1(SIP_AUTH_ALG_SHA256, "Mufasa", "http-auth@example.org", "Circle of Life", ha1), ==, 0);
	g_assert_cmpuint(strlen(ha1), ==, 64);
	/* RFC 2617 §3.5's HA1 for Mufasa (a known MD5 value). */
	g_assert_cmpint(sip_auth_ha1(SIP_AUTH_ALG_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life", ha1), ==, 0);
	g_assert_cmpstr(ha1, ==, "939e7578ed9e3c518a452acee763bce9");
}

static sip_auth_server *new_server(unsigned algs, unsigned slots)
{
	static const uint8_t key[] = "0123456789abcdef0123456789abcdef";
	sip_auth_server_opts so = {
		.realm = REALM, .key = key, .key_len = 32, .nonce_lifetime_s = 60,
		.algs = algs, .nc_slots = slots,
	};
	sip_auth_server *s = sip_auth_server_new(&so);
	g_assert_nonnull(s);
	return s;
}

/* Gets challenge i at time now and answers it as user/password. */
static void answer(sip_auth_server *s, unsigned i, uint64_t now, const char *user, const char *pw,
		   uint32_t nc, char *out, size_t cap)
{
	char ch[512];
	size_t cl;
	g_assert_cmpint(sip_auth_server_challenge(s, i, false, now, ch, sizeof ch, &cl), ==, 0);
	sip_auth_hdr h;
	g_assert_cmpint(sip_auth_parse(ch, cl, &h), ==, 0);
	sip_auth_client_opts o = {
		.username = user, .password = pw, .method = "REGISTER", .uri = "sip:" REALM, .nc = nc,
	};
	size_t len;
	g_assert_cmpint(sip_auth_client_answer(&h, &o, out, cap, &len), ==, 0);
}

static sip_auth_result verify(sip_auth_server *s, const char *cred, uint64_t now)
{
	return sip_auth_server_verify(s, cred, strlen(cred), "REGISTER", "sip:" REALM,
				      strlen("sip:" REALM), lookup_ha1, NULL, now, NULL);
}

static void test_challenge(void)
{
	sip_auth_server *s = new_server(0, 0);
	g_assert_cmpstr(sip_auth_server_realm(s), ==, REALM);
	g_assert_cmpuint(sip_auth_server_challenge_count(s), ==, 2);
	char buf[512];
	size_t len;
	sip_auth_hdr h;
	g_assert_cmpint(sip_auth_server_challenge(s, 0, false, 1000, buf, sizeof buf, &len), ==, 0);
	g_assert_cmpint(sip_auth_parse(buf, len, &h), ==, 0);
	g_assert_cmpint(h.alg, ==, SIP_AUTH_ALG_SHA256); /* RFC 8760: SHA-256 first */
	g_assert_true(h.qop_auth);
	g_assert_false(h.stale_true);
	assert_pl(h.realm, REALM);
	g_assert_cmpuint(h.nonce.l, ==, 64);
	char *n1 = sget(h.nonce);

	g_assert_cmpint(sip_auth_server_challenge(s, 1, true, 1000, buf, sizeof buf, &len), ==, 0);
	g_assert_cmpint(sip_auth_parse(buf, len, &h), ==, 0);
	g_assert_cmpint(h.alg, ==, SIP_AUTH_ALG_MD5);
	g_assert_true(h.stale_true);
	char *n2 = sget(h.nonce);
	g_assert_cmpstr(n1, !=, n2); /* every challenge a fresh nonce */
	g_free(n1);
	g_free(n2);

	g_assert_cmpint(sip_auth_server_challenge(s, 2, false, 1000, buf, sizeof buf, &len), ==, ENOENT);
	g_assert_cmpint(sip_auth_server_challenge(s, 0, false, 1000, buf, 20, &len), ==, ENOSPC);

	/* All challenges as header lines, one shared nonce; either answers. */
	GString *hl = g_string_new("X: 1\r\n");
	g_assert_cmpint(sip_auth_server_challenge_headers(s, false, true, 1000, hl), ==, 0);
	char **lines = g_strsplit(hl->str, "\r\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 4); /* X, two challenges, "" */
	g_assert_true(g_str_has_prefix(lines[1], "WWW-Authenticate: Digest realm=\"" REALM "\""));
	g_assert_true(g_str_has_prefix(lines[2], "WWW-Authenticate: Digest "));
	g_assert_nonnull(strstr(lines[1], "algorithm=SHA-256"));
	g_assert_nonnull(strstr(lines[2], "algorithm=MD5"));
	g_assert_nonnull(strstr(lines[2], "stale=true"));
	sip_auth_hdr c1, c2;
	const char *v1 = lines[1] + strlen("WWW-Authenticate: "), *v2 = lines[2] + strlen("WWW-Authenticate: ");
	g_assert_cmpint(sip_auth_parse(v1, strlen(v1), &c1), ==, 0);
	g_assert_cmpint(sip_auth_parse(v2, strlen(v2), &c2), ==, 0);
	g_assert_true(sip_pl_isset(c1.nonce) && c1.nonce.l == c2.nonce.l &&
		      memcmp(c1.nonce.p, c2.nonce.p, c1.nonce.l) == 0);
	sip_auth_client_opts co = { .username = "alice", .password = "wonderland", .method = "REGISTER",
				    .uri = "sip:" REALM, .nc = 1 };
	char cred2[1024];
	g_assert_cmpint(sip_auth_client_answer(&c2, &co, cred2, sizeof cred2, &len), ==, 0);
	g_assert_cmpint(verify(s, cred2, 1001), ==, SIP_AUTH_OK);
	/* The same nonce through the other algorithm keeps counting. */
	g_assert_cmpint(sip_auth_client_answer(&c1, &co, cred2, sizeof cred2, &len), ==, 0);
	g_assert_cmpint(verify(s, cred2, 1001), ==, SIP_AUTH_REPLAY);
	co.nc = 2;
	g_assert_cmpint(sip_auth_client_answer(&c1, &co, cred2, sizeof cred2, &len), ==, 0);
	g_assert_cmpint(verify(s, cred2, 1001), ==, SIP_AUTH_OK);
	g_strfreev(lines);
	g_string_truncate(hl, 0);
	g_assert_cmpint(sip_auth_server_challenge_headers(s, true, false, 1000, hl), ==, 0);
	g_assert_true(g_str_has_prefix(hl->str, "Proxy-Authenticate: Digest "));
	g_assert_null(strstr(hl->str, "stale"));
	g_string_free(hl, TRUE);

	sip_auth_server_free(s);

	/* A caller's order: MD5 first (for clients that read one challenge),
	 * duplicates and unknown values ignored. */
	static const sip_auth_alg md5_first[] = { SIP_AUTH_ALG_MD5, SIP_AUTH_ALG_MD5, (sip_auth_alg)99,
						  SIP_AUTH_ALG_SHA256 };
	sip_auth_server_opts ord = { .realm = REALM, .order = md5_first, .n_order = G_N_ELEMENTS(md5_first) };
	s = sip_auth_server_new(&ord);
	g_assert_nonnull(s);
	g_assert_cmpuint(sip_auth_server_challenge_count(s), ==, 2);
	g_assert_cmpint(sip_auth_server_challenge(s, 0, false, 1000, buf, sizeof buf, &len), ==, 0);
	g_assert_nonnull(strstr(buf, "algorithm=MD5,"));
	g_assert_cmpint(sip_auth_server_challenge(s, 1, false, 1000, buf, sizeof buf, &len), ==, 0);
	g_assert_nonnull(strstr(buf, "algorithm=SHA-256,"));
	g_assert_cmpint(sip_auth_server_challenge(s, 2, false, 1000, buf, sizeof buf, &len), ==, ENOENT);
	/* An algorithm not offered is not accepted either. */
	static const sip_auth_alg only_md5[] = { SIP_AUTH_ALG_MD5 };
	sip_auth_server_free(s);
	ord.order = only_md5;
	ord.n_order = 1;
	s = sip_auth_server_new(&ord);
	sip_auth_server *full = new_server(0, 0);
	char cred[1024];
	answer(full, 0, 1000, "alice", "wonderland", 1, cred, sizeof cred); /* SHA-256 */
	g_assert_cmpint(verify(s, cred, 1000), ==, SIP_AUTH_NO_CREDENTIALS);
	sip_auth_server_free(full);
	sip_auth_server_free(s);

	/* Only SHA-256 allowed. */
	s = new_server(SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_SHA256), 0);
	g_assert_cmpuint(sip_auth_server_challenge_count(s), ==, 1);
	sip_auth_server_free(s);

	/* Bad options. */
	sip_auth_server_opts bad = { .realm = NULL };
	g_assert_null(sip_auth_server_new(&bad));
	bad.realm = "";
	g_assert_null(sip_auth_server_new(&bad));
	bad.realm = "a\r\nb";
	g_assert_null(sip_auth_server_new(&bad));
	/* A random key when none is configured: nonces still verify. */
	sip_auth_server_opts rnd = { .realm = REALM };
	s = sip_auth_server_new(&rnd);
	g_assert_nonnull(s);
	answer(s, 0, 50, "alice", "wonderland", 1, cred, sizeof cred);
	g_assert_cmpint(verify(s, cred, 50), ==, SIP_AUTH_OK);
	sip_auth_server_free(s);
}

static void test_round_trip(void)
{
	unsigned all = SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_SHA256) | SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_MD5) |
		       SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_SHA256_SESS) | SIP_AUTH_ALG_BIT(SIP_AUTH_ALG_MD5_SESS);
	sip_auth_server *s = new_server(all, 0);
	g_assert_cmpuint(sip_auth_server_challenge_count(s), ==, 4);
	for (unsigned i = 0; i < 4; i++) {
		char cred[1024];
		answer(s, i, 100, "alice", "wonderland", 1, cred, sizeof cred);
		sip_auth_info info;
		sip_auth_result r = sip_auth_server_verify(s, cred, strlen(cred), "REGISTER", "sip:" REALM,
							   strlen("sip:" REALM), lookup_ha1, NULL, 110, &info);
		g_assert_cmpstr(sip_auth_result_name(r), ==, "ok");
		g_assert_cmpstr(info.username, ==, "alice");
		g_assert_cmpuint(info.nc, ==, 1);
		/* ruri NULL skips the uri comparison. */
		answer(s, i, 100, "alice", "wonderland", 1, cred, sizeof cred);
		g_assert_cmpint(sip_auth_server_verify(s, cred, strlen(cred), "REGISTER", NULL, 0,
						       lookup_ha1, NULL, 110, NULL), ==, SIP_AUTH_OK);
	}
	/* A username with an escaped quote. */
	char cred[1024];
	answer(s, 0, 100, "a\"b", "quote", 1, cred, sizeof cred);
	g_assert_nonnull(strstr(cred, "username=\"a\\\"b\""));
	g_assert_cmpint(verify(s, cred, 100), ==, SIP_AUTH_OK);
	g_assert_cmpint(sip_auth_result_status(SIP_AUTH_OK, false), ==, 200);
	sip_auth_server_free(s);
}

static void test_bad_credentials(void)
{
	sip_auth_server *s = new_server(0, 0);
	char cred[1024];

	/* Wrong password and unknown user: same status, same lookups. */
	answer(s, 0, 100, "alice", "wrong", 1, cred, sizeof cred);
	lookups = 0;
	sip_auth_result r = verify(s, cred, 100);
	g_assert_cmpint(r, ==, SIP_AUTH_WRONG_PASSWORD);
	g_assert_cmpint(lookups, ==, 1);
	g_assert_cmpint(sip_auth_result_status(r, false), ==, 401);
	g_assert_cmpint(sip_auth_result_status(r, true), ==, 407);
	g_assert_false(sip_auth_result_stale(r));

	answer(s, 1, 100, "mallory", "wonderland", 1, cred, sizeof cred);
	lookups = 0;
	r = verify(s, cred, 100);
	g_assert_cmpint(r, ==, SIP_AUTH_UNKNOWN_USER);
	g_assert_cmpint(lookups, ==, 1);
	g_assert_cmpint(sip_auth_result_status(r, false), ==, 401);
	g_assert_false(sip_auth_result_stale(r));

	/* A user whose stored HA1 is broken counts as unknown. */
	answer(s, 0, 100, "broken", "x", 1, cred, sizeof cred);
	g_assert_cmpint(verify(s, cred, 100), ==, SIP_AUTH_UNKNOWN_USER);

	/* Wrong realm: the credential was for another server. */
	sip_auth_server_opts other = { .realm = "elsewhere" };
	sip_auth_server *o = sip_auth_server_new(&other);
	answer(o, 0, 100, "alice", "wonderland", 1, cred, sizeof cred);
	g_assert_cmpint(verify(s, cred, 100), ==, SIP_AUTH_WRONG_REALM);
	/* Its nonce (another key) is not ours either. */
	char *fixed = g_strdup(cred);
	char *rp = strstr(fixed, "realm=\"elsewhere\"");
	g_assert_nonnull(rp);
	GString *g = g_string_new(NULL);
	g_string_append_len(g, fixed, rp - fixed);
	g_string_append(g, "realm=\"" REALM "\"");
	g_string_append(g, rp + strlen("realm=\"elsewhere\""));
	g_assert_cmpint(verify(s, g->str, 100), ==, SIP_AUTH_BAD_NONCE);
	g_string_free(g, TRUE);
	g_free(fixed);
	sip_auth_server_free(o);

	/* The credential's uri must be the request's. */
	answer(s, 0, 100, "alice", "wonderland", 1, cred, sizeof cred);
	g_assert_cmpint(sip_auth_server_verify(s, cred, strlen(cred), "REGISTER", "sip:other", 9,
					       lookup_ha1, NULL, 100, NULL), ==, SIP_AUTH_MALFORMED);
	/* The response must be the whole digest: one more or one less hex digit
	 * is wrong; upper-case hex is the same digest. */
	for (int variant = 0; variant < 3; variant++) {
		answer(s, 0, 100, "alice", "wonderland", 1, cred, sizeof cred);
		char *resp = find_param(cred, "response");
		char *at = strstr(cred, resp);
		GString *m = g_string_new_len(cred, at - cred);
		if (variant == 0)
			g_string_append_printf(m, "%s0", resp);
		else if (variant == 1)
			g_string_append_len(m, resp, (gssize)strlen(resp) - 1);
		else {
			char *up = g_ascii_strup(resp, -1);
			g_string_append(m, up);
			g_free(up);
		}
		g_string_append(m, at + strlen(resp));
		g_assert_cmpint(verify(s, m->str, 100), ==, variant == 2 ? SIP_AUTH_OK : SIP_AUTH_WRONG_PASSWORD);
		g_string_free(m, TRUE);
		g_free(resp);
	}
	/* The method is part of HA2. */
	answer(s, 0, 100, "alice", "wonderland", 1, cred, sizeof cred);
	g_assert_cmpint(sip_auth_server_verify(s, cred, strlen(cred), "INVITE", "sip:" REALM,
					       strlen("sip:" REALM), lookup_ha1, NULL, 100, NULL), ==,
			SIP_AUTH_WRONG_PASSWORD);
	sip_auth_server_free(s);
}

static void test_stale(void)
{
	sip_auth_server *s = new_server(0, 0); /* lifetime 60 s */
	char cred[1024];
	answer(s, 0, 1000, "alice", "wonderland", 1, cred, sizeof cred);
	g_assert_cmpint(verify(s, cred, 1061), ==, SIP_AUTH_STALE);
	g_assert_true(sip_auth_result_stale(SIP_AUTH_STALE));
	g_assert_cmpint(sip_auth_result_status(SIP_AUTH_STALE, false), ==, 401);
	/* At the edge of the lifetime it is still fresh. */
	answer(s, 1, 1000, "alice", "wonderland", 1, cred, sizeof cred);
	g_assert_cmpint(verify(s, cred, 1060), ==, SIP_AUTH_OK);
	/* An old nonce with a wrong password is a wrong password, not stale. */
	answer(s, 0, 1000, "alice", "nope", 1, cred, sizeof cred);
	g_assert_cmpint(verify(s, cred, 5000), ==, SIP_AUTH_WRONG_PASSWORD);
	/* Without qop (RFC 2069, allowed by option) the nonce-count table is
	 * not involved: the timestamp alone makes the nonce stale. */
	static const uint8_t key[] = "0123456789abcdef0123456789abcdef";
	sip_auth_server_opts so = { .realm = REALM, .key = key, .key_len = 32, .nonce_lifetime_s = 60,
				    .allow_no_qop = true };
	sip_auth_server *old = sip_auth_server_new(&so);
	char ch[512];
	size_t cl, len;
	g_assert_cmpint(sip_auth_server_challenge(old, 0, false, 1000, ch, sizeof ch, &cl), ==, 0);
	sip_auth_hdr h;
	g_assert_cmpint(sip_auth_parse(ch, cl, &h), ==, 0);
	h.qop = SIP_PL_NULL;
	h.qop_auth = false;
	sip_auth_client_opts o = { .username = "alice", .password = "wonderland", .method = "REGISTER",
				   .uri = "sip:" REALM };
	g_assert_cmpint(sip_auth_client_answer(&h, &o, cred, sizeof cred, &len), ==, 0);
	g_assert_null(strstr(cred, "qop="));
	g_assert_cmpint(verify(old, cred, 1060), ==, SIP_AUTH_OK);
	g_assert_cmpint(verify(old, cred, 1061), ==, SIP_AUTH_STALE);
	g_assert_cmpint(verify(s, cred, 1000), ==, SIP_AUTH_MALFORMED); /* not allowed by default */
	sip_auth_server_free(old);

	/* A nonce from far in the future is not ours. */
	answer(s, 0, 100000, "alice", "wonderland", 1, cred, sizeof cred);
	g_assert_cmpint(verify(s, cred, 1000), ==, SIP_AUTH_BAD_NONCE);
	sip_auth_server_free(s);
}

static void test_forged_nonce(void)
{
	sip_auth_server *s = new_server(0, 0);
	char cred[1024];
	answer(s, 0, 1000, "alice", "wonderland", 1, cred, sizeof cred);
	char *nonce = find_param(cred, "nonce");
	g_assert_cmpuint(strlen(nonce), ==, 64);
	char *at = strstr(cred, nonce);
	/* A changed MAC byte, then a changed timestamp (an attempt to extend
	 * its life): both refused before any password check. */
	for (int pos = 0; pos < 2; pos++) {
		char *c = g_strdup(cred);
		char *d = c + (at - cred) + (pos == 0 ? 63 : 14);
		*d = *d == '0' ? '1' : '0';
		lookups = 0;
		g_assert_cmpint(verify(s, c, 1000), ==, SIP_AUTH_BAD_NONCE);
		g_assert_cmpint(lookups, ==, 0);
		g_free(c);
	}
	/* A nonce of the wrong length or with non-hex digits. */
	char *c = g_strdup(cred);
	c[(at - cred) + 10] = 'z';
	g_assert_cmpint(verify(s, c, 1000), ==, SIP_AUTH_BAD_NONCE);
	g_free(c);
	g_assert_cmpint(verify(s, cred, 1000), ==, SIP_AUTH_OK);
	g_free(nonce);
	sip_auth_server_free(s);
}

static void test_replay(void)
{
	sip_auth_server *s = new_server(0, 0);
	char ch[512], cred[1024];
	size_t cl, len;
	g_assert_cmpint(sip_auth_server_challenge(s, 0, false, 1000, ch, sizeof ch, &cl), ==, 0);
	sip_auth_hdr h;
	g_assert_cmpint(sip_auth_parse(ch, cl, &h), ==, 0);
	sip_auth_client_opts o = {
		.username = "alice", .password = "wonderland", .method = "REGISTER", .uri = "sip:" REALM,
		.cnonce = "abc", .nc = 1,
	};
	g_assert_cmpint(sip_auth_client_answer(&h, &o, cred, sizeof cred, &len), ==, 0);
	g_assert_cmpint(verify(s, cred, 1001), ==, SIP_AUTH_OK);
	/* The same request again: replay. */
	g_assert_cmpint(verify(s, cred, 1002), ==, SIP_AUTH_REPLAY);
	g_assert_true(sip_auth_result_stale(SIP_AUTH_REPLAY));
	/* The next count works (a refresh reusing the nonce), a lower one does not. */
	o.nc = 3;
	g_assert_cmpint(sip_auth_client_answer(&h, &o, cred, sizeof cred, &len), ==, 0);
	g_assert_cmpint(verify(s, cred, 1003), ==, SIP_AUTH_OK);
	o.nc = 2;
	g_assert_cmpint(sip_auth_client_answer(&h, &o, cred, sizeof cred, &len), ==, 0);
	g_assert_cmpint(verify(s, cred, 1004), ==, SIP_AUTH_REPLAY);
	sip_auth_server_free(s);

	/* A tiny table: a nonce pushed out by newer ones answers stale, never ok. */
	s = new_server(0, 16);
	g_assert_cmpint(sip_auth_server_challenge(s, 0, false, 1000, ch, sizeof ch, &cl), ==, 0);
	g_assert_cmpint(sip_auth_parse(ch, cl, &h), ==, 0);
	o.nc = 1;
	g_assert_cmpint(sip_auth_client_answer(&h, &o, cred, sizeof cred, &len), ==, 0);
	for (int i = 0; i < 200; i++)
		g_assert_cmpint(sip_auth_server_challenge(s, 0, false, 1000 + (unsigned)i / 100, ch, sizeof ch, &cl), ==, 0);
	g_assert_cmpint(verify(s, cred, 1005), ==, SIP_AUTH_STALE);
	sip_auth_server_free(s);
}

static void test_missing_params(void)
{
	sip_auth_server *s = new_server(0, 0);
	char cred[1024];
	static const char *const drop[] = { "username", "realm", "nonce", "uri", "response", "cnonce", "nc" };
	for (size_t i = 0; i < G_N_ELEMENTS(drop); i++) {
		answer(s, 0, 1000, "alice", "wonderland", 1, cred, sizeof cred);
		/* Rename the parameter so it is ignored. */
		char key[32];
		g_snprintf(key, sizeof key, " %s=", drop[i]);
		char *p = strstr(cred, key);
		g_assert_nonnull(p);
		p[1] = 'X';
		sip_auth_result r = verify(s, cred, 1000);
		g_assert_cmpstr(sip_auth_result_name(r), ==, "malformed");
		g_assert_cmpint(sip_auth_result_status(r, false), ==, 400);
	}
	/* No qop: refused unless RFC 2069 credentials are allowed. */
	answer(s, 0, 1000, "alice", "wonderland", 1, cred, sizeof cred);
	char *q = strstr(cred, " qop=auth");
	g_assert_nonnull(q);
	q[1] = 'X';
	g_assert_cmpint(verify(s, cred, 1000), ==, SIP_AUTH_MALFORMED);
	/* qop=auth-int, an unknown algorithm, one we did not offer, userhash: a new challenge. */
	const char *offers[] = {
		"Digest username=\"alice\", realm=\"" REALM "\", nonce=\"x\", uri=\"sip:" REALM "\", response=\"0\", qop=auth-int, nc=00000001, cnonce=\"c\"",
		"Digest username=\"alice\", realm=\"" REALM "\", nonce=\"x\", uri=\"sip:" REALM "\", response=\"0\", algorithm=SHA-512-256",
		"Digest username=\"alice\", realm=\"" REALM "\", nonce=\"x\", uri=\"sip:" REALM "\", response=\"0\", algorithm=MD5-sess",
		"Digest username=\"alice\", realm=\"" REALM "\", nonce=\"x\", uri=\"sip:" REALM "\", response=\"0\", userhash=true",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(offers); i++)
		g_assert_cmpint(verify(s, offers[i], 1000), ==, SIP_AUTH_NO_CREDENTIALS);
	/* Nothing, or another scheme. */
	g_assert_cmpint(sip_auth_server_verify(s, NULL, 0, "REGISTER", NULL, 0, lookup_ha1, NULL, 1, NULL), ==,
			SIP_AUTH_NO_CREDENTIALS);
	g_assert_cmpint(verify(s, "Basic YWxpY2U6d29uZGVybGFuZA==", 1000), ==, SIP_AUTH_NO_CREDENTIALS);
	/* RFC 4475 §3.3.7 (regaut01): an unknown scheme gets a challenge. */
	g_assert_cmpint(verify(s, "NoOneKnowsThisScheme opaque-data=here", 1000), ==, SIP_AUTH_NO_CREDENTIALS);
	g_assert_cmpint(verify(s, "", 1000), ==, SIP_AUTH_MALFORMED);
	sip_auth_server_free(s);
}

static void test_parse_garbage(void)
{
	static const char *const bad[] = {
		"Digest realm=\"unterminated",
		"Digest realm=\"x\", realm=\"y\"",       /* repeated */
		"Digest realm",                          /* no '=' */
		"Digest =x",
		"Digest realm=\"x\" nonce=\"y\"",        /* no comma */
		"Digest nc=0000001",                     /* nc not 8 digits */
		"Digest nc=0000000g",
		"Digest realm=\"a\\",                    /* escape at the end */
		"Digest realm=\"a\rb\"",
		"Digest realm=",
		"\"Digest\" realm=x",
		"",
		"   ",
	};
	sip_auth_hdr h;
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		int rc = sip_auth_parse(bad[i], strlen(bad[i]), &h);
		if (rc != EBADMSG)
			g_error("'%s' gave %d", bad[i], rc);
	}
	g_assert_cmpint(sip_auth_parse("Basic abc", 9, &h), ==, ENOTSUP);
	g_assert_cmpint(sip_auth_parse("Digestrealm=\"x\"", 16, &h), ==, ENOTSUP);
	g_assert_cmpint(sip_auth_parse("Digestrealm x", 13, &h), ==, ENOTSUP);
	g_assert_cmpint(sip_auth_parse(NULL, 0, &h), ==, EBADMSG);

	/* Lenient but valid: folding whitespace, empty list elements, case. */
	const char *ok = "  dIgEsT\trealm = \"r\\\\x\" ,, NONCE=abc,\r\n stale=TRUE, algorithm=\"sha-256\", qop=\"auth-int,auth\"";
	g_assert_cmpint(sip_auth_parse(ok, strlen(ok), &h), ==, 0);
	assert_pl(h.realm, "r\\\\x");
	char buf[16];
	g_assert_cmpint(sip_auth_unquote(h.realm, buf, sizeof buf), ==, 3);
	g_assert_cmpstr(buf, ==, "r\\x");
	g_assert_cmpint(sip_auth_unquote(h.realm, buf, 3), ==, -1);
	assert_pl(h.nonce, "abc");
	g_assert_true(h.stale_true);
	g_assert_true(h.qop_auth);
	g_assert_cmpint(h.alg, ==, SIP_AUTH_ALG_SHA256);

	/* Caps: a value over SIP_AUTH_MAX_VALUE, too many params, too long. */
	GString *g = g_string_new("Digest realm=\"");
	for (int i = 0; i < SIP_AUTH_MAX_VALUE + 1; i++)
		g_string_append_c(g, 'a');
	g_string_append_c(g, '"');
	g_assert_cmpint(sip_auth_parse(g->str, g->len, &h), ==, EBADMSG);
	g_string_assign(g, "Digest a=1");
	for (int i = 0; i < SIP_AUTH_MAX_PARAMS; i++)
		g_string_append_printf(g, ", p%d=1", i);
	g_assert_cmpint(sip_auth_parse(g->str, g->len, &h), ==, EBADMSG);
	g_string_free(g, TRUE);

	/* Random bytes and every prefix of a valid header: no crash. */
	const char *full = "Digest username=\"a\\\"b\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\", nc=00000001, qop=auth";
	for (size_t n = 0; n <= strlen(full); n++) {
		char *cut = g_strndup(full, n); /* exact size: ASan sees any over-read */
		(void)sip_auth_parse(cut, n, &h);
		g_free(cut);
	}
	GRand *r = g_rand_new_with_seed(7);
	for (int i = 0; i < 5000; i++) {
		char b[96];
		size_t n = (size_t)g_rand_int_range(r, 0, sizeof b);
		for (size_t k = 0; k < n; k++)
			b[k] = (char)g_rand_int_range(r, 0, 256);
		if (n > 7 && g_rand_boolean(r))
			memcpy(b, "Digest ", 7);
		char *cp = g_memdup2(b, n ? n : 1);
		(void)sip_auth_parse(cp, n, &h);
		g_free(cp);
	}
	g_rand_free(r);
}

static void test_client(void)
{
	const char *hdrs[] = {
		"Digest realm=\"r\", nonce=\"n\", algorithm=MD5, qop=\"auth\"",
		"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256, qop=\"auth\"",
		"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256, qop=\"auth\"",
		"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256, qop=\"auth-int\"",
	};
	sip_auth_hdr h[4];
	for (int i = 0; i < 4; i++)
		g_assert_cmpint(sip_auth_parse(hdrs[i], strlen(hdrs[i]), &h[i]), ==, 0);
	g_assert_cmpint(sip_auth_client_choose(h, 4), ==, 2);
	g_assert_cmpint(sip_auth_client_choose(h, 2), ==, 0);
	g_assert_cmpint(sip_auth_client_choose(&h[1], 1), ==, -1);

	sip_auth_client_opts o = { .username = "u", .password = "p", .method = "INVITE", .uri = "sip:x" };
	char buf[512];
	size_t len;
	g_assert_cmpint(sip_auth_client_answer(&h[1], &o, buf, sizeof buf, &len), ==, ENOTSUP);
	g_assert_cmpint(sip_auth_client_answer(&h[3], &o, buf, sizeof buf, &len), ==, ENOTSUP);
	g_assert_cmpint(sip_auth_client_answer(&h[2], &o, buf, 10, &len), ==, ENOSPC);
	o.password = NULL;
	g_assert_cmpint(sip_auth_client_answer(&h[2], &o, buf, sizeof buf, &len), ==, EINVAL);
	o.password = "p";
	/* No header injection through the caller's strings. */
	o.username = "u\r\nX-Evil: 1";
	g_assert_cmpint(sip_auth_client_answer(&h[2], &o, buf, sizeof buf, &len), ==, EINVAL);
	o.username = "u";
	o.uri = "sip:x\n";
	g_assert_cmpint(sip_auth_client_answer(&h[2], &o, buf, sizeof buf, &len), ==, EINVAL);
	o.uri = "sip:x";
	/* A random cnonce each time, nc defaults to 1. */
	g_assert_cmpint(sip_auth_client_answer(&h[2], &o, buf, sizeof buf, &len), ==, 0);
	g_assert_nonnull(strstr(buf, "nc=00000001"));
	char *c1 = find_param(buf, "cnonce");
	g_assert_cmpint(sip_auth_client_answer(&h[2], &o, buf, sizeof buf, &len), ==, 0);
	char *c2 = find_param(buf, "cnonce");
	g_assert_cmpuint(strlen(c1), ==, 16);
	g_assert_cmpstr(c1, !=, c2);
	g_free(c1);
	g_free(c2);

	/* RFC 2069 challenge (no qop): no cnonce, no nc. RFC 2617 §3.5's values. */
	const char *old = "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"";
	sip_auth_hdr oh;
	g_assert_cmpint(sip_auth_parse(old, strlen(old), &oh), ==, 0);
	sip_auth_client_opts oo = { .username = "Mufasa", .password = "Circle Of Life", .method = "GET",
				    .uri = "/dir/index.html" };
	g_assert_cmpint(sip_auth_client_answer(&oh, &oo, buf, sizeof buf, &len), ==, 0);
	g_assert_null(strstr(buf, "cnonce="));
	g_assert_null(strstr(buf, "nc="));
	char *resp = find_param(buf, "response");
	g_assert_cmpstr(resp, ==, "670fd8c2df070c60b045671b8b24ff02");
	g_free(resp);
	/* The same with qop=auth and RFC 2617's cnonce: its published response. */
	const char *q = "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
	g_assert_cmpint(sip_auth_parse(q, strlen(q), &oh), ==, 0);
	oo.cnonce = "0a4f113b";
	g_assert_cmpint(sip_auth_client_answer(&oh, &oo, buf, sizeof buf, &len), ==, 0);
	resp = find_param(buf, "response");
	g_assert_cmpstr(resp, ==, "6629fae49393a05397450978507c4ef1");
	g_free(resp);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sip_auth/rfc7616_example", test_rfc7616_example);
	g_test_add_func("/sip_auth/challenge", test_challenge);
	g_test_add_func("/sip_auth/round_trip", test_round_trip);
	g_test_add_func("/sip_auth/bad_credentials", test_bad_credentials);
	g_test_add_func("/sip_auth/stale", test_stale);
	g_test_add_func("/sip_auth/forged_nonce", test_forged_nonce);
	g_test_add_func("/sip_auth/replay", test_replay);
	g_test_add_func("/sip_auth/missing_params", test_missing_params);
	g_test_add_func("/sip_auth/parse_garbage", test_parse_garbage);
	g_test_add_func("/sip_auth/client", test_client);
	return g_test_run();
}
