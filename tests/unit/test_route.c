#include <glib.h>
#include <string.h>

#include "server/config.h"
#include "server/route.h"

/* A dial plan exercising every rule: priorities, each kind of from, strip
 * and prepend, backreferences into names and numbers, an unanchored match. */
static const char plan[] =
	"[user:alice]\npassword = a\nmax_calls = 2\n"
	"[user:bob]\npassword = b\n"
	"[user:carol]\npassword = c\nmax_calls = 0\n"
	"[trunk:itsp]\nhost = 127.0.0.1\nmax_calls = 1\n"
	"[trunk:pbx]\nhost = 127.0.0.2\n"
	"[route:echo]\nmatch = ^echo$\ntarget = echo\n"
	/* same pattern, same priority: the first in the file wins */
	"[route:out-itsp]\nmatch = ^9(\\d+)$\ntarget = trunk:itsp\nstrip = 1\nprepend = +1\npriority = 50\n"
	"[route:out-itsp-2]\nmatch = ^9(\\d+)$\ntarget = trunk:pbx\npriority = 50\n"
	/* lower priority value wins although it comes later */
	"[route:intl]\nmatch = ^00(\\d\\d)(\\d+)$\ntarget = trunk:pbx\nstrip = 4\nprepend = +$1-\n"
	"[route:intl-alice]\nmatch = ^00(\\d\\d)(\\d+)$\nfrom = user:alice\ntarget = trunk:itsp\n"
	"priority = 10\n"
	"[route:did-alice]\nmatch = ^\\+?15550001$\nfrom = trunk:itsp\ntarget = user:alice\n"
	"[route:did-pbx]\nmatch = ^2(\\d{3})$\nfrom = trunk:pbx\ntarget = user:bob\nprepend = ext\nstrip = 1\n"
	"[route:vip]\nmatch = ^vip$\nfrom = user:alice\ntarget = conference:vip\n"
	"[route:conf]\nmatch = ^conf-(.+)$\ntarget = conference:$1\n"
	"[route:byname]\nmatch = ^u-(.*)$\nfrom = any\ntarget = user:$1\n"
	"[route:public]\nmatch = ^(alice|bob|mallory)$\nfrom = any\ntarget = user:$1\n"
	"[route:anywhere]\nmatch = 777\ntarget = echo\npriority = 500\n";

static jn_config *load(const char *text)
{
	GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
	jn_config *c = jn_config_load_data(text, strlen(text), "t.conf", e);
	for (guint i = 0; i < e->len; i++)
		g_test_message("config error: %s", (char *)g_ptr_array_index(e, i));
	g_assert_nonnull(c);
	g_ptr_array_free(e, TRUE);
	return c;
}

static jn_route_table *table_of(const char *text)
{
	jn_config *c = load(text);
	GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
	jn_route_table *t = jn_route_table_new(c, e);
	for (guint i = 0; i < e->len; i++)
		g_test_message("route error: %s", (char *)g_ptr_array_index(e, i));
	g_assert_nonnull(t);
	g_ptr_array_free(e, TRUE);
	jn_config_free(c);
	return t;
}

/* Looks up both ways and checks they agree; returns the code. */
static int look(const jn_route_table *t, jn_route_party k, const char *who, const char *d,
		jn_route_result *r)
{
	jn_route_result lin;
	memset(r, 0, sizeof *r);
	memset(&lin, 0, sizeof lin);
	int rc = jn_route_lookup(t, k, who, d, -1, r);
	int rc2 = jn_route_lookup_linear(t, k, who, d, -1, &lin);
	g_assert_cmpint(rc, ==, rc2);
	if (rc == 0) {
		g_assert_cmpstr(r->route, ==, lin.route);
		g_assert_cmpstr(r->name, ==, lin.name);
		g_assert_cmpstr(r->number, ==, lin.number);
	}
	return rc;
}

static void expect(const jn_route_table *t, jn_route_party k, const char *who, const char *d,
		   const char *route, jn_route_target kind, const char *name, const char *number)
{
	jn_route_result r;
	int rc = look(t, k, who, d, &r);
	if (rc)
		g_test_message("%s dialling %s: rc %d", who ? who : "anonymous", d, rc);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpstr(r.route, ==, route);
	g_assert_cmpint(r.kind, ==, kind);
	g_assert_cmpstr(r.name, ==, name);
	g_assert_cmpstr(r.number, ==, number);
}

static void expect_rc(const jn_route_table *t, jn_route_party k, const char *who, const char *d, int want)
{
	jn_route_result r;
	g_assert_cmpint(look(t, k, who, d, &r), ==, want);
}

static void test_priority(void)
{
	jn_route_table *t = table_of(plan);
	g_assert_cmpuint(jn_route_table_size(t), ==, 12);
	/* Equal priority: file order. */
	expect(t, JN_ROUTE_USER, "bob", "95551234", "out-itsp", JN_ROUTE_TO_TRUNK, "itsp", "+15551234");
	/* intl-alice (priority 10) beats intl (100) for alice, not for bob. */
	expect(t, JN_ROUTE_USER, "alice", "0044207", "intl-alice", JN_ROUTE_TO_TRUNK, "itsp", "0044207");
	expect(t, JN_ROUTE_USER, "bob", "0044207", "intl", JN_ROUTE_TO_TRUNK, "pbx", "+44-207");
	/* Priority 500: after everything else. "u-777" goes to byname first. */
	expect(t, JN_ROUTE_USER, "bob", "x777x", "anywhere", JN_ROUTE_TO_ECHO, "", "x777x");
	expect(t, JN_ROUTE_USER, "bob", "u-bob777", "anywhere", JN_ROUTE_TO_ECHO, "", "u-bob777");
	jn_route_table_free(t);
}

static void test_from_rules(void)
{
	jn_route_table *t = table_of(plan);
	/* user:* admits any user, no trunk, nobody anonymous. */
	expect(t, JN_ROUTE_USER, "carol", "echo", "echo", JN_ROUTE_TO_ECHO, "", "echo");
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "echo", JN_ROUTE_EFORBIDDEN);
	expect_rc(t, JN_ROUTE_TRUNK, "itsp", "echo", JN_ROUTE_EFORBIDDEN);
	/* Only authenticated users call out. */
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "95551234", JN_ROUTE_EFORBIDDEN);
	expect_rc(t, JN_ROUTE_TRUNK, "pbx", "95551234", JN_ROUTE_EFORBIDDEN);
	/* user:NAME. */
	expect(t, JN_ROUTE_USER, "alice", "vip", "vip", JN_ROUTE_TO_CONFERENCE, "vip", "vip");
	expect_rc(t, JN_ROUTE_USER, "bob", "vip", JN_ROUTE_EFORBIDDEN);
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "vip", JN_ROUTE_EFORBIDDEN);
	/* trunk:NAME: a trunk only delivers its own DIDs. */
	expect(t, JN_ROUTE_TRUNK, "itsp", "+15550001", "did-alice", JN_ROUTE_TO_USER, "alice", "+15550001");
	expect(t, JN_ROUTE_TRUNK, "itsp", "15550001", "did-alice", JN_ROUTE_TO_USER, "alice", "15550001");
	expect_rc(t, JN_ROUTE_TRUNK, "pbx", "+15550001", JN_ROUTE_EFORBIDDEN);
	expect_rc(t, JN_ROUTE_USER, "alice", "+15550001", JN_ROUTE_EFORBIDDEN);
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "+15550001", JN_ROUTE_EFORBIDDEN);
	expect(t, JN_ROUTE_TRUNK, "pbx", "2001", "did-pbx", JN_ROUTE_TO_USER, "bob", "ext001");
	expect_rc(t, JN_ROUTE_TRUNK, "itsp", "2001", JN_ROUTE_EFORBIDDEN);
	/* any: everyone, trunks and anonymous callers included. */
	expect(t, JN_ROUTE_ANONYMOUS, NULL, "alice", "public", JN_ROUTE_TO_USER, "alice", "alice");
	expect(t, JN_ROUTE_TRUNK, "pbx", "bob", "public", JN_ROUTE_TO_USER, "bob", "bob");
	expect(t, JN_ROUTE_USER, "bob", "alice", "public", JN_ROUTE_TO_USER, "alice", "alice");
	/* Callers the config does not know are refused outright. */
	expect_rc(t, JN_ROUTE_USER, "mallory", "alice", JN_ROUTE_EFORBIDDEN);
	expect_rc(t, JN_ROUTE_USER, NULL, "alice", JN_ROUTE_EFORBIDDEN);
	expect_rc(t, JN_ROUTE_TRUNK, "evil", "alice", JN_ROUTE_EFORBIDDEN);
	expect_rc(t, (jn_route_party)3, "alice", "alice", JN_ROUTE_EINVAL);
	/* Nothing matches at all: 404, whoever asks. */
	expect_rc(t, JN_ROUTE_USER, "alice", "nothing", JN_ROUTE_ENOROUTE);
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "nothing", JN_ROUTE_ENOROUTE);
	/* Codes map to SIP and HTTP answers in one place. */
	g_assert_cmpint(jn_route_sip_status(JN_ROUTE_ENOROUTE), ==, 404);
	g_assert_cmpint(jn_route_sip_status(JN_ROUTE_EFORBIDDEN), ==, 403);
	g_assert_cmpint(jn_route_sip_status(JN_ROUTE_EINVAL), ==, 404);
	g_assert_cmpint(jn_route_http_status(JN_ROUTE_EINVAL), ==, 400);
	g_assert_cmpstr(jn_route_error_code(JN_ROUTE_ENOROUTE), ==, "no_route");
	g_assert_cmpstr(jn_route_error_code(JN_ROUTE_EFORBIDDEN), ==, "forbidden");
	g_assert_null(jn_route_error_code(0));
	g_assert_cmpstr(jn_route_target_str(JN_ROUTE_TO_CONFERENCE), ==, "conference");
	jn_route_table_free(t);
}

static void test_rewrite_and_backrefs(void)
{
	jn_route_table *t = table_of(plan);
	expect(t, JN_ROUTE_USER, "bob", "0033123456", "intl", JN_ROUTE_TO_TRUNK, "pbx", "+33-123456");
	expect(t, JN_ROUTE_USER, "bob", "conf-team.a", "conf", JN_ROUTE_TO_CONFERENCE, "team.a", "conf-team.a");
	expect(t, JN_ROUTE_ANONYMOUS, NULL, "u-carol", "byname", JN_ROUTE_TO_USER, "carol", "u-carol");
	/* A backreference naming nobody: that route cannot take the call. */
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "mallory", JN_ROUTE_ENOROUTE);
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "u-", JN_ROUTE_ENOROUTE);
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "u-../etc/passwd", JN_ROUTE_ENOROUTE);
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "u-alice ", JN_ROUTE_ENOROUTE);
	/* Conference names: a restricted alphabet and length. */
	expect_rc(t, JN_ROUTE_USER, "bob", "conf-a/b", JN_ROUTE_ENOROUTE);
	expect_rc(t, JN_ROUTE_USER, "bob", "conf-a b", JN_ROUTE_ENOROUTE);
	char longname[80];
	memset(longname, 'x', sizeof longname);
	memcpy(longname, "conf-", 5);
	longname[5 + JN_ROUTE_NAME_MAX] = '\0';
	expect(t, JN_ROUTE_USER, "bob", longname, "conf", JN_ROUTE_TO_CONFERENCE, longname + 5, longname);
	longname[5 + JN_ROUTE_NAME_MAX] = 'x';
	longname[6 + JN_ROUTE_NAME_MAX] = '\0';
	expect_rc(t, JN_ROUTE_USER, "bob", longname, JN_ROUTE_ENOROUTE);
	jn_route_table_free(t);

	/* $$ is a dollar; strip counts characters (never splits UTF-8); strip
	 * longer than the number leaves nothing; $0 is the whole match. */
	t = table_of("[user:a]\npassword = a\n"
		     "[route:d]\nmatch = ^d(\\d)$\ntarget = echo\nprepend = $$$1:$0:\n"
		     "[route:u]\nmatch = ^é(.*)$\ntarget = echo\nstrip = 1\n"
		     "[route:s]\nmatch = ^s\\d*$\ntarget = echo\nstrip = 64\nprepend = p\n");
	expect(t, JN_ROUTE_USER, "a", "d7", "d", JN_ROUTE_TO_ECHO, "", "$7:d7:d7");
	expect(t, JN_ROUTE_USER, "a", "é12", "u", JN_ROUTE_TO_ECHO, "", "12");
	expect(t, JN_ROUTE_USER, "a", "s12", "s", JN_ROUTE_TO_ECHO, "", "p");
	jn_route_table_free(t);

	/* A rewritten number that would not fit is no route. */
	GString *big = g_string_new("[user:a]\npassword = a\n[route:big]\nmatch = ^\\d+$\ntarget = echo\nprepend = ");
	for (int i = 0; i < 200; i++)
		g_string_append_c(big, 'p');
	g_string_append_c(big, '\n');
	t = table_of(big->str);
	expect_rc(t, JN_ROUTE_USER, "a", "123456789012345678901234567890123456789012345678901234567", JN_ROUTE_ENOROUTE);
	jn_route_result r;
	g_assert_cmpint(look(t, JN_ROUTE_USER, "a", "1234", &r), ==, 0);
	g_assert_cmpuint(strlen(r.number), ==, 204);
	jn_route_table_free(t);
	g_string_free(big, TRUE);
}

static void test_demo(void)
{
	GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
	jn_config *c = jn_config_load_data(jn_config_demo, strlen(jn_config_demo), "(embedded)", e);
	g_assert_nonnull(c);
	jn_route_table *t = jn_route_table_new(c, e);
	g_assert_nonnull(t);
	g_assert_cmpuint(e->len, ==, 0);
	g_assert_cmpuint(jn_route_table_size(t), ==, 2);
	expect(t, JN_ROUTE_USER, "alice", "bob", "users", JN_ROUTE_TO_USER, "bob", "bob");
	expect(t, JN_ROUTE_USER, "bob", "alice", "users", JN_ROUTE_TO_USER, "alice", "alice");
	expect(t, JN_ROUTE_ANONYMOUS, NULL, "alice", "users", JN_ROUTE_TO_USER, "alice", "alice");
	expect(t, JN_ROUTE_USER, "alice", "echo", "echo", JN_ROUTE_TO_ECHO, "", "echo");
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "echo", JN_ROUTE_EFORBIDDEN);
	expect_rc(t, JN_ROUTE_USER, "alice", "carol", JN_ROUTE_ENOROUTE);
	expect_rc(t, JN_ROUTE_USER, "alice", "alicebob", JN_ROUTE_ENOROUTE);
	expect_rc(t, JN_ROUTE_USER, "alice", "+15551234", JN_ROUTE_ENOROUTE);
	jn_route_table_free(t);
	jn_config_free(c);
	g_ptr_array_free(e, TRUE);
}

static void test_hostile_input(void)
{
	jn_route_table *t = table_of(plan);
	jn_route_result r;
	char buf[JN_ROUTE_DIALLED_MAX + 2];
	/* Exactly the cap goes through (and reaches the unanchored route). */
	memset(buf, '7', JN_ROUTE_DIALLED_MAX);
	buf[JN_ROUTE_DIALLED_MAX] = '\0';
	g_assert_cmpint(look(t, JN_ROUTE_USER, "bob", buf, &r), ==, 0);
	g_assert_cmpstr(r.route, ==, "anywhere");
	/* One more byte is refused, both NUL-terminated and with a length. */
	buf[JN_ROUTE_DIALLED_MAX] = '7';
	buf[JN_ROUTE_DIALLED_MAX + 1] = '\0';
	g_assert_cmpint(jn_route_lookup(t, JN_ROUTE_USER, "bob", buf, -1, &r), ==, JN_ROUTE_EINVAL);
	g_assert_cmpint(jn_route_lookup(t, JN_ROUTE_USER, "bob", buf, JN_ROUTE_DIALLED_MAX + 1, &r), ==,
			JN_ROUTE_EINVAL);
	g_assert_cmpint(jn_route_lookup(t, JN_ROUTE_USER, "bob", buf, JN_ROUTE_DIALLED_MAX, &r), ==, 0);
	/* Control bytes, DEL, NUL inside the length, bad UTF-8, NULL. */
	const char *bad[] = { "echo\n", "ec\rho", "\x01", "echo\x7f", "\xff\xfe", "ech\xc3", "\t" };
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
		expect_rc(t, JN_ROUTE_USER, "bob", bad[i], JN_ROUTE_EINVAL);
	g_assert_cmpint(jn_route_lookup(t, JN_ROUTE_USER, "bob", "echo\0x", 6, &r), ==, JN_ROUTE_EINVAL);
	g_assert_cmpint(jn_route_lookup(t, JN_ROUTE_USER, "bob", "echoXX", 4, &r), ==, 0);
	g_assert_cmpstr(r.number, ==, "echo");
	g_assert_cmpint(jn_route_lookup(t, JN_ROUTE_USER, "bob", NULL, -1, &r), ==, JN_ROUTE_EINVAL);
	/* Regex metacharacters in the input are just characters. */
	expect_rc(t, JN_ROUTE_USER, "bob", "ech.", JN_ROUTE_ENOROUTE);
	expect_rc(t, JN_ROUTE_USER, "bob", "(alice|bob)", JN_ROUTE_ENOROUTE);
	expect_rc(t, JN_ROUTE_USER, "bob", "", JN_ROUTE_ENOROUTE);
	/* A backreference cannot smuggle a name longer than the buffer. */
	char lng[JN_ROUTE_DIALLED_MAX + 1];
	memset(lng, 'a', sizeof lng - 1);
	lng[sizeof lng - 1] = '\0';
	lng[0] = 'u';
	lng[1] = '-';
	expect_rc(t, JN_ROUTE_USER, "bob", lng, JN_ROUTE_ENOROUTE);
	jn_route_table_free(t);
}

static void test_build_errors(void)
{
	struct { const char *conf, *want; } cases[] = {
		{ "[route:r]\nmatch = ^(\\d+)$\ntarget = user:$2\n", "route:r: target uses $2 but match has 1 group" },
		{ "[route:r]\nmatch = ^\\d+$\ntarget = trunk:$1\n", "route:r: target uses $1 but match has 0 groups" },
		{ "[route:r]\nmatch = ^(a)(b)$\ntarget = echo\nprepend = $3\n", "route:r: prepend uses $3" },
		{ "[route:r]\nmatch = ^a$\ntarget = conference:a/b\n", "route:r: target \"conference:a/b\" does not exist" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		jn_config *c = load(cases[i].conf);
		GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
		g_assert_null(jn_route_table_new(c, e));
		g_assert_cmpuint(e->len, ==, 1);
		g_test_message("%s", (char *)g_ptr_array_index(e, 0));
		g_assert_true(g_str_has_prefix(g_ptr_array_index(e, 0), cases[i].want));
		g_ptr_array_free(e, TRUE);
		jn_config_free(c);
	}
	/* No routes at all: an empty table that routes nothing. */
	jn_route_table *t = table_of("");
	expect_rc(t, JN_ROUTE_USER, NULL, "x", JN_ROUTE_EFORBIDDEN);
	expect_rc(t, JN_ROUTE_ANONYMOUS, NULL, "x", JN_ROUTE_ENOROUTE);
	jn_route_table_free(t);
}

/* Patterns the prefix index must treat with care (alternation at the top
 * level, quantified literals, inline options, classes): index and linear
 * lookups must agree on every input. */
static void test_index_agrees(void)
{
	static const char conf[] =
		"[user:a]\npassword = a\n"
		"[route:alt]\nmatch = ^12|34\ntarget = echo\n"
		"[route:opt]\nmatch = ^5?6\ntarget = echo\n"
		"[route:star]\nmatch = ^7*8\ntarget = echo\n"
		"[route:brace]\nmatch = ^9{2}0\ntarget = echo\n"
		"[route:case]\nmatch = (?i)^ab\ntarget = echo\n"
		"[route:class]\nmatch = ^[|]x|y\ntarget = echo\n"
		"[route:grp]\nmatch = ^q(r|s)t\ntarget = echo\n"
		"[route:esc]\nmatch = ^\\+\\(z\ntarget = echo\n"
		"[route:opt2]\nmatch = ^\\+?44\ntarget = echo\n"
		/* groups: read through when required once; exact ^...$ literals */
		"[route:nc]\nmatch = ^(?:mn)o(p)$\ntarget = echo\nprepend = $1\n"
		"[route:named]\nmatch = ^(?<n>v)(w)$\ntarget = echo\nprepend = $2$1\n"
		"[route:gt]\nmatch = ^(?:>a)\ntarget = echo\n"
		"[route:qg]\nmatch = ^(kl)?c\ntarget = echo\n"
		"[route:altg]\nmatch = ^(d|e)f\ntarget = echo\n"
		"[route:nest]\nmatch = ^(g(h|i))j\ntarget = echo\nprepend = $2\n"
		"[route:empty]\nmatch = ^()u$\ntarget = echo\nprepend = [$1]\n";
	jn_route_table *t = table_of(conf);
	const char *inputs[] = { "12", "34", "x34", "6", "56", "556", "8", "78", "7778", "990", "90",
				 "AB", "ab", "Ab", "|x", "y", "[y", "qrt", "qst", "qt", "+(z", "(z",
				 "44", "+44", "++44", "nothing", "", "mnop", "mnopp", "mno", "vw", "v",
				 ">a", "a", ">", "c", "klc", "kc", "ef", "df", "f", "gij", "ghj", "gj",
				 "u", "uu", "()u" };
	for (guint i = 0; i < G_N_ELEMENTS(inputs); i++) {
		jn_route_result r;
		(void)look(t, JN_ROUTE_USER, "a", inputs[i], &r); /* asserts agreement */
	}
	expect(t, JN_ROUTE_USER, "a", "x34", "alt", JN_ROUTE_TO_ECHO, "", "x34");
	expect(t, JN_ROUTE_USER, "a", "6", "opt", JN_ROUTE_TO_ECHO, "", "6");
	expect(t, JN_ROUTE_USER, "a", "8", "star", JN_ROUTE_TO_ECHO, "", "8");
	expect(t, JN_ROUTE_USER, "a", "990", "brace", JN_ROUTE_TO_ECHO, "", "990");
	expect(t, JN_ROUTE_USER, "a", "AB", "case", JN_ROUTE_TO_ECHO, "", "AB");
	expect(t, JN_ROUTE_USER, "a", "[y", "class", JN_ROUTE_TO_ECHO, "", "[y");
	expect(t, JN_ROUTE_USER, "a", "44", "opt2", JN_ROUTE_TO_ECHO, "", "44");
	expect(t, JN_ROUTE_USER, "a", "mnop", "nc", JN_ROUTE_TO_ECHO, "", "pmnop");
	expect_rc(t, JN_ROUTE_USER, "a", "mnopp", JN_ROUTE_ENOROUTE);
	expect(t, JN_ROUTE_USER, "a", "vw", "named", JN_ROUTE_TO_ECHO, "", "wvvw");
	expect(t, JN_ROUTE_USER, "a", ">a", "gt", JN_ROUTE_TO_ECHO, "", ">a");
	expect(t, JN_ROUTE_USER, "a", "c", "qg", JN_ROUTE_TO_ECHO, "", "c");
	expect(t, JN_ROUTE_USER, "a", "ef", "altg", JN_ROUTE_TO_ECHO, "", "ef");
	expect(t, JN_ROUTE_USER, "a", "gij", "nest", JN_ROUTE_TO_ECHO, "", "igij");
	expect(t, JN_ROUTE_USER, "a", "u", "empty", JN_ROUTE_TO_ECHO, "", "[]u");
	jn_route_table_free(t);
}

/* More routes than the on-stack candidate bitmap holds (1024). Few distinct
 * values: the config interns each one for the life of the process. */
static void test_large_table(void)
{
	GString *s = g_string_new("[user:a]\npassword = a\n[trunk:t]\nhost = 127.0.0.1\n");
	for (int i = 0; i < 1100; i++)
		g_string_append_printf(s, "[route:r%d]\nmatch = ^%d(\\d*)$\ntarget = trunk:t\n", i, i);
	jn_route_table *t = table_of(s->str);
	g_assert_cmpuint(jn_route_table_size(t), ==, 1100);
	/* "1099" matches ^1.., ^10.., ^109.., ^1099..: file order picks r1. */
	expect(t, JN_ROUTE_USER, "a", "1099", "r1", JN_ROUTE_TO_TRUNK, "t", "1099");
	expect(t, JN_ROUTE_USER, "a", "0", "r0", JN_ROUTE_TO_TRUNK, "t", "0");
	expect(t, JN_ROUTE_USER, "a", "5", "r5", JN_ROUTE_TO_TRUNK, "t", "5");
	expect_rc(t, JN_ROUTE_USER, "a", "x", JN_ROUTE_ENOROUTE);
	jn_route_table_free(t);
	g_string_free(s, TRUE);
}

static void test_limits(void)
{
	jn_config *c = load(plan);
	jn_route_limits *l = jn_route_limits_new(c);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "alice"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "alice"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "alice"), ==, EBUSY);
	g_assert_cmpuint(jn_route_limits_active(l, JN_ROUTE_USER, "alice"), ==, 2);
	g_assert_cmpint(jn_route_limits_release(l, JN_ROUTE_USER, "alice"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "alice"), ==, 0);
	/* Default user max_calls is 4; 0 means no calls at all. */
	for (int i = 0; i < 4; i++)
		g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "bob"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "bob"), ==, EBUSY);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "carol"), ==, EBUSY);
	/* Trunks count separately from users of the same name space. */
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_TRUNK, "itsp"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_TRUNK, "itsp"), ==, EBUSY);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_TRUNK, "pbx"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_TRUNK, "alice"), ==, ENOENT);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "itsp"), ==, ENOENT);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, NULL), ==, EINVAL);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_ANONYMOUS, "x"), ==, EINVAL);
	/* Releasing what was never held is refused and changes nothing. */
	g_assert_cmpint(jn_route_limits_release(l, JN_ROUTE_USER, "carol"), ==, EINVAL);
	g_assert_cmpint(jn_route_limits_release(l, JN_ROUTE_USER, "nobody"), ==, EINVAL);
	g_assert_cmpuint(jn_route_limits_active(l, JN_ROUTE_USER, "carol"), ==, 0);
	g_assert_cmpuint(jn_route_limits_active(l, JN_ROUTE_USER, "nobody"), ==, 0);

	/* Reload: alice's limit drops to 1 while she holds 2 calls; bob is gone. */
	jn_config *c2 = load("[user:alice]\npassword = a\nmax_calls = 1\n[user:dave]\npassword = d\n"
			     "[trunk:itsp]\nhost = 127.0.0.1\nmax_calls = 3\n");
	jn_route_limits_reload(l, c2);
	g_assert_cmpuint(jn_route_limits_active(l, JN_ROUTE_USER, "alice"), ==, 2);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "alice"), ==, EBUSY);
	g_assert_cmpint(jn_route_limits_release(l, JN_ROUTE_USER, "alice"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "alice"), ==, EBUSY);
	g_assert_cmpint(jn_route_limits_release(l, JN_ROUTE_USER, "alice"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "alice"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "bob"), ==, ENOENT);
	g_assert_cmpuint(jn_route_limits_active(l, JN_ROUTE_USER, "bob"), ==, 4);
	for (int i = 0; i < 4; i++)
		g_assert_cmpint(jn_route_limits_release(l, JN_ROUTE_USER, "bob"), ==, 0);
	g_assert_cmpint(jn_route_limits_release(l, JN_ROUTE_USER, "bob"), ==, EINVAL);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_USER, "dave"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_TRUNK, "itsp"), ==, 0);
	g_assert_cmpint(jn_route_limits_acquire(l, JN_ROUTE_TRUNK, "pbx"), ==, ENOENT);
	g_assert_cmpint(jn_route_limits_release(l, JN_ROUTE_TRUNK, "pbx"), ==, 0);
	g_assert_cmpuint(jn_route_limits_active(l, JN_ROUTE_TRUNK, "pbx"), ==, 0);
	jn_route_limits_free(l);
	jn_config_free(c2);
	jn_config_free(c);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/route/priority", test_priority);
	g_test_add_func("/route/from_rules", test_from_rules);
	g_test_add_func("/route/rewrite_and_backrefs", test_rewrite_and_backrefs);
	g_test_add_func("/route/demo", test_demo);
	g_test_add_func("/route/hostile_input", test_hostile_input);
	g_test_add_func("/route/build_errors", test_build_errors);
	g_test_add_func("/route/index_agrees", test_index_agrees);
	g_test_add_func("/route/large_table", test_large_table);
	g_test_add_func("/route/limits", test_limits);
	return g_test_run();
}
