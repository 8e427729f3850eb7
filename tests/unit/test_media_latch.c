#include <glib.h>

#include "media/latch.h"
#include "util/net.h"

static jn_addr A(const char *s)
{
	jn_addr a;
	g_assert_cmpint(jn_addr_parse(s, 0, &a), ==, 0);
	return a;
}

static void test_latch(void)
{
	jn_addr sdp = A("10.0.0.5:4000"), nat = A("203.0.113.7:61000"), nat2 = A("203.0.113.7:61002"),
		evil = A("198.51.100.9:5000");
	media_latch l;
	media_latch_init(&l, &sdp, true, 1000);
	g_assert_true(jn_addr_equal(media_latch_dest(&l), &sdp));
	/* First packet: latch onto its source. */
	g_assert_cmpint(media_latch_rx(&l, &nat, 0x111, 0), ==, MEDIA_LATCH_MOVED);
	g_assert_true(jn_addr_equal(media_latch_dest(&l), &nat));
	g_assert_cmpint(media_latch_rx(&l, &nat, 0x111, 20000), ==, MEDIA_LATCH_OK);
	/* A stranger with another SSRC while the source is live: refused. */
	g_assert_cmpint(media_latch_rx(&l, &evil, 0x999, 40000), ==, MEDIA_LATCH_FOREIGN);
	g_assert_true(jn_addr_equal(media_latch_dest(&l), &nat));
	/* NAT rebinding: same SSRC from a new port moves at once. */
	g_assert_cmpint(media_latch_rx(&l, &nat2, 0x111, 60000), ==, MEDIA_LATCH_MOVED);
	g_assert_true(jn_addr_equal(media_latch_dest(&l), &nat2));
	/* After 1 s of silence a new source may take over. */
	g_assert_cmpint(media_latch_rx(&l, &evil, 0x999, 900000), ==, MEDIA_LATCH_FOREIGN);
	g_assert_cmpint(media_latch_rx(&l, &evil, 0x999, 1060000), ==, MEDIA_LATCH_MOVED);
	g_assert_cmpuint(l.moves, ==, 3);
	/* Re-INVITE: back to the SDP address until media flows again. */
	media_latch_reset(&l, &sdp);
	g_assert_true(jn_addr_equal(media_latch_dest(&l), &sdp));
	g_assert_cmpint(media_latch_rx(&l, &sdp, 0x5, 0), ==, MEDIA_LATCH_OK);
	g_assert_true(l.latched);

	/* Off: the SDP address stays whatever arrives. */
	media_latch_init(&l, &sdp, false, 0);
	g_assert_cmpint(media_latch_rx(&l, &nat, 0x111, 0), ==, MEDIA_LATCH_OK);
	g_assert_true(jn_addr_equal(media_latch_dest(&l), &sdp));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/media/latch", test_latch);
	return g_test_run();
}
