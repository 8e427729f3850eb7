#include <glib.h>
#include <string.h>

#include "server/config.h"

static jn_config *load(const char *text, GPtrArray *errors)
{
	return jn_config_load_data(text, strlen(text), "t.conf", errors);
}

static gboolean has_error(GPtrArray *errors, const char *needle)
{
	for (guint i = 0; i < errors->len; i++)
		if (strstr(g_ptr_array_index(errors, i), needle))
			return TRUE;
	for (guint i = 0; i < errors->len; i++)
		g_test_message("error: %s", (char *)g_ptr_array_index(errors, i));
	return FALSE;
}

static void test_defaults(void)
{
	GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
	jn_config *c = load("", e);
	g_assert_nonnull(c);
	g_assert_cmpstr(jn_config_str(c, "api", "http_listen"), ==, "127.0.0.1:8080");
	g_assert_cmpint(jn_config_int(c, "sip", "t1"), ==, 500);
	g_assert_true(jn_config_bool(c, "media", "symmetric_rtp"));
	g_assert_false(jn_config_has(c, "sip", "t1"));
	char **codecs = jn_config_list(c, "media", "codecs");
	g_assert_cmpuint(g_strv_length(codecs), ==, 4);
	g_assert_cmpstr(codecs[0], ==, "opus");
	g_strfreev(codecs);
	jn_config_free(c);
	g_ptr_array_free(e, TRUE);
}

static void test_demo(void)
{
	GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
	jn_config *c = jn_config_load_data(jn_config_demo, strlen(jn_config_demo), "(embedded)", e);
	g_assert_nonnull(c);
	char **users = jn_config_instances(c, "user");
	g_assert_cmpuint(g_strv_length(users), ==, 2);
	g_assert_cmpstr(users[0], ==, "alice");
	g_assert_cmpstr(jn_config_str(c, "user:alice", "password"), ==, "alice");
	g_assert_cmpint(jn_config_int(c, "user:bob", "max_calls"), ==, 4);
	g_strfreev(users);
	jn_config_free(c);
	g_ptr_array_free(e, TRUE);
}

static void test_errors_have_lines(void)
{
	GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
	jn_config *c = load("[sip]\n# comment\nt1 = 5\nudp_lisen = 1.2.3.4:5\n[genral]\nx=1\n"
			    "[api]\nhttp_listen = localhost\n[media]\nsymmetric_rtp = maybe\n"
			    "codecs = opus,speex\n", e);
	g_assert_null(c);
	g_assert_true(has_error(e, "t.conf:3: t1: 5 is out of range (50..10000)"));
	g_assert_true(has_error(e, "t.conf:4: udp_lisen: unknown key in [sip] (did you mean udp_listen?)"));
	g_assert_true(has_error(e, "t.conf:5: genral: unknown section (did you mean [general]?)"));
	g_assert_true(has_error(e, "t.conf:8: http_listen: \"localhost\" is not an IP address"));
	g_assert_true(has_error(e, "t.conf:10: symmetric_rtp: \"maybe\" is not true or false"));
	g_assert_true(has_error(e, "t.conf:11: codecs: \"speex\" is not one of"));
	g_ptr_array_free(e, TRUE);
}

static void test_syntax_and_rules(void)
{
	GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
	g_assert_null(load("[sip\n", e));
	g_assert_true(has_error(e, "t.conf:1: (file): malformed section header"));
	g_ptr_array_set_size(e, 0);
	g_assert_null(load("[sip]\njust words\n", e));
	g_assert_true(has_error(e, "t.conf:2: (file): expected \"key = value\""));
	g_ptr_array_set_size(e, 0);
	g_assert_null(load("[user:x]\ndisplay_name = X\n[route:r]\nmatch = ([\ntarget = trunk:nope\n", e));
	g_assert_true(has_error(e, "t.conf:4: match: bad regular expression"));
	g_ptr_array_set_size(e, 0);
	g_assert_null(load("[user:x]\ndisplay_name = X\n[route:r]\nmatch = ^1\ntarget = trunk:nope\n", e));
	g_assert_true(has_error(e, "t.conf:1: user:x: needs password"));
	g_assert_true(has_error(e, "t.conf:5: target: no [trunk:nope] section"));
	g_ptr_array_set_size(e, 0);
	g_assert_null(load("[sip]\nt1=600\nt1=700\n", e));
	g_assert_true(has_error(e, "t.conf:3: t1: set twice"));
	g_ptr_array_set_size(e, 0);
	g_assert_null(load("[trunk:itsp]\nport = 5060\n[usr:bob]\n", e));
	g_assert_true(has_error(e, "did you mean [user:bob]?"));
	g_ptr_array_free(e, TRUE);
}

static void test_hostile_bytes(void)
{
	GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
	const char nul[] = "[sip]\nt1=5\0000\n";
	g_assert_null(jn_config_load_data(nul, sizeof nul - 1, "t.conf", e));
	g_assert_true(has_error(e, "NUL"));
	g_ptr_array_set_size(e, 0);
	g_assert_null(load("[sip]\nrealm = \xff\xfe\n", e));
	g_assert_true(has_error(e, "UTF-8"));
	g_ptr_array_free(e, TRUE);
}

/* conf/junction.conf must name every key of the schema with its default. */
static void test_documented_file(void)
{
	char *path = g_build_filename(g_getenv("JN_SRCDIR") ? g_getenv("JN_SRCDIR") : JN_SRCDIR,
				      "conf", "junction.conf", NULL);
	char *text = NULL;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	GPtrArray *e = g_ptr_array_new_with_free_func(g_free);
	jn_config *c = jn_config_load_file(path, e);
	for (guint i = 0; i < e->len; i++)
		g_test_message("%s", (char *)g_ptr_array_index(e, i));
	g_assert_nonnull(c);
	for (const jn_cfg_key *k = jn_config_schema(); k->key; k++) {
		char *line = g_strdup_printf("# %s = %s\n", k->key, k->def);
		char *set = g_strdup_printf("\n%s = ", k->key);
		if (!strstr(text, line) && !strstr(text, set))
			g_error("conf/junction.conf does not document [%s] %s (expected \"%s\")",
				k->section, k->key, g_strchomp(line));
		g_free(line);
		g_free(set);
	}
	jn_config_free(c);
	g_ptr_array_free(e, TRUE);
	g_free(text);
	g_free(path);
}

static void test_distance(void)
{
	g_assert_cmpuint(jn_config_distance("udp_lisen", "udp_listen"), ==, 1);
	g_assert_cmpuint(jn_config_distance("", "abc"), ==, 3);
	g_assert_cmpuint(jn_config_distance("same", "SAME"), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/demo", test_demo);
	g_test_add_func("/config/errors-have-lines", test_errors_have_lines);
	g_test_add_func("/config/syntax-and-rules", test_syntax_and_rules);
	g_test_add_func("/config/hostile-bytes", test_hostile_bytes);
	g_test_add_func("/config/documented-file", test_documented_file);
	g_test_add_func("/config/distance", test_distance);
	return g_test_run();
}
