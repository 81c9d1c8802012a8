/* SPDX-License-Identifier: MIT
 *
 * test_mon_dashboard.c: the dashboard's pure parts: sign-in sessions
 * (signed, expiring, tamper-proof cookies; form fields; safe redirects),
 * page templates and escaping, task-browser filters (every bad input is
 * refused with its name), remote-control command checks and worker name
 * patterns.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "sq_buf.h"
#include "broker/broker_control.h"
#include "monitor/mon_page.h"
#include "monitor/mon_search.h"
#include "monitor/mon_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
session_cookie_round_trip_and_expiry(void **state)
{
    char v[SQ_SESSION_MAX], hdr[300];

    (void)state;
    sq_session_make('w', 2000, "w-s3cret", v);
    assert_int_equal(strncmp(v, "v1.w.2000.", 10), 0);
    assert_int_equal(strlen(v), 10 + 64);
    assert_null(strstr(v, "s3cret")); /* the token never goes in */
    snprintf(hdr, sizeof hdr, "a=1; syncq_session=%s; b=2", v);
    assert_int_equal(sq_session_check(hdr, "r-tok", "w-s3cret", 1999), 'w');
    /* expired at 2000 */
    assert_int_equal(sq_session_check(hdr, "r-tok", "w-s3cret", 2000), 0);
    /* another write token (rotated): every old session ends */
    assert_int_equal(sq_session_check(hdr, "r-tok", "w-other", 10), 0);
    /* a read session is never taken for a write one */
    sq_session_make('r', 2000, "r-tok", v);
    snprintf(hdr, sizeof hdr, "syncq_session=%s", v);
    assert_int_equal(sq_session_check(hdr, "r-tok", "w-s3cret", 10), 'r');
    v[3] = 'w';
    snprintf(hdr, sizeof hdr, "syncq_session=%s", v);
    assert_int_equal(sq_session_check(hdr, "r-tok", "w-s3cret", 10), 0);
}

static void
session_rejects_tampering(void **state)
{
    char v[SQ_SESSION_MAX], hdr[300];

    (void)state;
    sq_session_make('w', 5000, "k", v);
    /* a later expiry with the old MAC */
    v[5] = '9';
    snprintf(hdr, sizeof hdr, "syncq_session=%s", v);
    assert_int_equal(sq_session_check(hdr, "", "k", 10), 0);
    assert_int_equal(sq_session_check("syncq_session=v1.w.99999.00", "", "k",
                                      10),
                     0);
    assert_int_equal(sq_session_check("syncq_session=", "", "k", 10), 0);
    assert_int_equal(sq_session_check("syncq_token=k", "", "k", 10), 0);
    assert_int_equal(sq_session_check(NULL, "", "k", 10), 0);
    /* no token configured: no session can be valid */
    sq_session_make('w', 5000, "k", v);
    snprintf(hdr, sizeof hdr, "syncq_session=%s", v);
    assert_int_equal(sq_session_check(hdr, "", "", 10), 0);
}

static void
session_levels_forms_and_redirects(void **state)
{
    char out[64];
    const char *body = "next=%2Ftasks%3Fstate%3DDEAD&token=a+b%21";

    (void)state;
    assert_int_equal(sq_session_level_of("w", "r", "w"), 'w');
    assert_int_equal(sq_session_level_of("r", "r", "w"), 'r');
    assert_int_equal(sq_session_level_of("x", "r", "w"), 0);
    assert_int_equal(sq_session_level_of("", "", ""), 0);
    assert_true(sq_session_form_field(body, strlen(body), "token", out,
                                      sizeof out));
    assert_string_equal(out, "a b!");
    assert_true(sq_session_form_field(body, strlen(body), "next", out,
                                      sizeof out));
    assert_string_equal(out, "/tasks?state=DEAD");
    assert_false(sq_session_form_field(body, strlen(body), "nope", out,
                                       sizeof out));
    assert_false(sq_session_form_field("token=%0a", 9, "token", out,
                                       sizeof out));
    assert_false(sq_session_form_field("token=abcdef", 12, "token", out, 4));
    assert_true(sq_session_next_ok("/task/abc"));
    assert_false(sq_session_next_ok("//evil.example/"));
    assert_false(sq_session_next_ok("/\\evil"));
    assert_false(sq_session_next_ok("http://evil/"));
    assert_false(sq_session_next_ok("/a b"));
    assert_false(sq_session_next_ok(NULL));
}

static void
page_render_and_escape(void **state)
{
    const char *t = "<p>{{a}}|{{b}}|{{zz}}|{{ not closed";
    const char *kv[] = {"a", "1", "b", "two", NULL};
    char *out = sq_page_render(t, strlen(t), kv);
    struct sq_buf b;
    json_t *v;

    (void)state;
    assert_string_equal(out, "<p>1|two||{{ not closed");
    sq_free(out);
    sq_buf_init(&b, 0);
    sq_page_esc(&b, "<a href=\"x\">&'</a>");
    assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/"
                                "a&gt;");
    sq_buf_reset(&b);
    v = json_pack("{s:s}", "k", "</script><b>");
    sq_page_json(&b, v);
    assert_null(strstr(b.data, "</script>"));
    assert_non_null(strstr(b.data, "\\u003c/script>"));
    json_decref(v);
    sq_buf_reset(&b);
    v = json_pack("{s:{s:f},s:{s:i,s:i,s:i,s:i,s:i}}", "system",
                  "success_rate", 0.5, "totals", "ready", 12345, "delayed",
                  0, "running", 2, "dead", 1, "workers_alive", 3);
    sq_page_tiles(&b, v);
    assert_non_null(strstr(b.data, "12,345"));
    assert_non_null(strstr(b.data, "50.0%"));
    json_decref(v);
    sq_buf_cleanup(&b);
}

static void
search_filters_refuse_bad_input(void **state)
{
    struct sq_search s;
    syncq_error e;

    (void)state;
    sq_search_init(&s);
    assert_int_equal(s.limit, 50);
    assert_int_equal(sq_search_set(&s, "state", "DEAD", &e), SYNCQ_OK);
    assert_int_equal(sq_search_set(&s, "id", "0a1b", &e), SYNCQ_OK);
    assert_int_equal(sq_search_set(&s, "since", "2026-12-01T00:00Z", &e),
                     SYNCQ_OK);
    assert_true(s.since_ms > 0);
    assert_int_equal(sq_search_set(&s, "limit", "500", &e), SYNCQ_OK);
    assert_int_equal(s.limit, 500);
    assert_int_equal(sq_search_set(&s, "color", "red", &e), SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "unknown filter 'color'"));
    assert_int_equal(sq_search_set(&s, "state", "DONE", &e), SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "unknown state"));
    assert_int_equal(sq_search_set(&s, "id", "a b", &e), SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "id must be"));
    assert_int_equal(sq_search_set(&s, "error", "gremlins", &e),
                     SYNCQ_EINVAL);
    assert_int_equal(sq_search_set(&s, "since", "yesterday", &e),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "since"));
    assert_int_equal(sq_search_set(&s, "limit", "0", &e), SYNCQ_EINVAL);
    assert_int_equal(sq_search_set(&s, "limit", "501", &e), SYNCQ_EINVAL);
    assert_int_equal(sq_search_set(&s, "offset", "-1", &e), SYNCQ_EINVAL);
    assert_int_equal(sq_search_set(&s, "offset", "1000001", &e),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "offset must be 0..1000000"));
    assert_int_equal(sq_search_set(&s, "queue", "bad queue", &e),
                     SYNCQ_EINVAL);
}

static void
control_commands_are_checked(void **state)
{
    syncq_error e;
    json_t *c;

    (void)state;
    c = json_pack("{s:s,s:i}", "command", "pool_grow", "n", 2);
    assert_int_equal(sq_ctl_check(c, &e), SYNCQ_OK);
    json_object_set_new(c, "n", json_integer(0));
    assert_int_equal(sq_ctl_check(c, &e), SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "n must be"));
    json_decref(c);
    c = json_pack("{s:s}", "command", "reboot");
    assert_int_equal(sq_ctl_check(c, &e), SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "command must be one of"));
    json_decref(c);
    c = json_pack("{s:s}", "command", "add_consumer");
    assert_int_equal(sq_ctl_check(c, &e), SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "queue is required"));
    json_decref(c);
    c = json_pack("{s:s,s:s}", "command", "time_limit", "task", "t.x");
    assert_int_equal(sq_ctl_check(c, &e), SYNCQ_EINVAL);
    json_object_set_new(c, "hard_s", json_integer(-1));
    assert_int_equal(sq_ctl_check(c, &e), SYNCQ_EINVAL);
    json_object_set_new(c, "hard_s", json_integer(60));
    assert_int_equal(sq_ctl_check(c, &e), SYNCQ_OK);
    json_decref(c);
}

static void
worker_name_patterns(void **state)
{
    char out[64];
    syncq_error e;

    (void)state;
    assert_int_equal(sq_ctl_name_expand("%h-%i", "box.example.org", 2, out,
                                        sizeof out, &e),
                     SYNCQ_OK);
    assert_string_equal(out, "box.example.org-2");
    assert_int_equal(sq_ctl_name_expand("w1@%n.%d %%", "box.example.org", 1,
                                        out, sizeof out, &e),
                     SYNCQ_EINVAL); /* a space */
    assert_int_equal(sq_ctl_name_expand("w1@%n/%d%%", "box.example.org", 1,
                                        out, sizeof out, &e),
                     SYNCQ_OK);
    assert_string_equal(out, "w1@box/example.org%");
    assert_int_equal(sq_ctl_name_expand("%q", "h", 1, out, sizeof out, &e),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(e.msg, "unknown %q"));
    assert_int_equal(sq_ctl_name_expand("%h%h%h", "0123456789012345678901",
                                        1, out, sizeof out, &e),
                     SYNCQ_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(session_cookie_round_trip_and_expiry),
        cmocka_unit_test(session_rejects_tampering),
        cmocka_unit_test(session_levels_forms_and_redirects),
        cmocka_unit_test(page_render_and_escape),
        cmocka_unit_test(search_filters_refuse_bad_input),
        cmocka_unit_test(control_commands_are_checked),
        cmocka_unit_test(worker_name_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
