#include <errno.h>
#include <glib.h>
#include <string.h>

#include "server/message.h"

typedef struct {
	GPtrArray *seen; /* "to|from|type|body" */
} sink;

static void collect(void *user, const char *to, const jn_msg_stored *m)
{
	sink *k = user;
	g_ptr_array_add(k->seen, g_strdup_printf("%s|%s|%s|%.*s", to, m->from, m->content_type,
						 (int)m->body_len, m->body));
}

static void test_order_and_flush(void)
{
	jn_msg_store *st = jn_msg_store_new(0, 0);
	g_assert_cmpint(jn_msg_store_put(st, "bob", "alice", "text/plain", "one", 3), ==, 0);
	g_assert_cmpint(jn_msg_store_put(st, "carol", "alice", NULL, "x", 1), ==, 0);
	g_assert_cmpint(jn_msg_store_put(st, "bob", "carol", "text/html", "<b>two</b>", 10), ==, 0);
	g_assert_cmpuint(jn_msg_store_count(st, "bob"), ==, 2);
	g_assert_cmpuint(jn_msg_store_count(st, NULL), ==, 3);

	sink k = { g_ptr_array_new_with_free_func(g_free) };
	g_assert_cmpuint(jn_msg_store_flush(st, "bob", collect, &k), ==, 2);
	g_assert_cmpuint(k.seen->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(k.seen, 0), ==, "bob|alice|text/plain|one");
	g_assert_cmpstr(g_ptr_array_index(k.seen, 1), ==, "bob|carol|text/html|<b>two</b>");
	/* delivered once: gone afterwards, other users untouched */
	g_assert_cmpuint(jn_msg_store_count(st, "bob"), ==, 0);
	g_assert_cmpuint(jn_msg_store_flush(st, "bob", collect, &k), ==, 0);
	g_assert_cmpuint(jn_msg_store_count(st, NULL), ==, 1);
	g_assert_cmpuint(jn_msg_store_flush(st, "carol", collect, &k), ==, 1);
	g_assert_cmpstr(g_ptr_array_index(k.seen, 2), ==, "carol|alice||x");
	g_ptr_array_free(k.seen, TRUE);
	jn_msg_store_free(st);
}

static void test_bounds(void)
{
	jn_msg_store *st = jn_msg_store_new(2, 3);
	g_assert_cmpint(jn_msg_store_put(st, "bob", "a", "", "1", 1), ==, 0);
	g_assert_cmpint(jn_msg_store_put(st, "bob", "a", "", "2", 1), ==, 0);
	/* per-user bound: the third is refused, the first two are kept */
	g_assert_cmpint(jn_msg_store_put(st, "bob", "a", "", "3", 1), ==, ENOSPC);
	g_assert_cmpint(jn_msg_store_put(st, "carol", "a", "", "4", 1), ==, 0);
	/* total bound */
	g_assert_cmpint(jn_msg_store_put(st, "dave", "a", "", "5", 1), ==, ENOSPC);
	g_assert_cmpuint(jn_msg_store_count(st, NULL), ==, 3);
	sink k = { g_ptr_array_new_with_free_func(g_free) };
	g_assert_cmpuint(jn_msg_store_flush(st, "bob", collect, &k), ==, 2);
	g_assert_cmpstr(g_ptr_array_index(k.seen, 0), ==, "bob|a||1");
	g_assert_cmpstr(g_ptr_array_index(k.seen, 1), ==, "bob|a||2");
	/* room again after delivery */
	g_assert_cmpint(jn_msg_store_put(st, "dave", "a", "", "6", 1), ==, 0);
	g_ptr_array_free(k.seen, TRUE);
	jn_msg_store_free(st);
}

/* A delivery that fails stores the message again: the flush must not loop
 * on it and must leave it for the next registration. */
static void restore(void *user, const char *to, const jn_msg_stored *m)
{
	jn_msg_store *st = user;
	g_assert_cmpint(jn_msg_store_put(st, to, m->from, m->content_type, m->body, m->body_len), ==, 0);
}

static void test_flush_restore(void)
{
	jn_msg_store *st = jn_msg_store_new(0, 0);
	g_assert_cmpint(jn_msg_store_put(st, "bob", "a", "", "hi", 2), ==, 0);
	g_assert_cmpuint(jn_msg_store_flush(st, "bob", restore, st), ==, 1);
	g_assert_cmpuint(jn_msg_store_count(st, "bob"), ==, 1);
	jn_msg_store_free(st);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/message/order-and-flush", test_order_and_flush);
	g_test_add_func("/message/bounds", test_bounds);
	g_test_add_func("/message/flush-restore", test_flush_restore);
	return g_test_run();
}
