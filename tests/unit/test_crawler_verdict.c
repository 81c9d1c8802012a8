/* SPDX-License-Identifier: MIT
 *
 * test_crawler_verdict.c: every anti-bot answer and gateway error of the
 * real samples (tests/fixtures/1688/raw/antibot-responses.json and
 * api-gateway-errors.json) gets its outcome and error class (1688-data.md
 * §2, §5): captcha pages -> blocked, login redirect -> login_required
 * (class blocked), wrongpage -> not_found, QosAppFrequencyLimit ->
 * rate_limited, NoUsageLeft/ACL/SignatureInvalid/AppKeyNotFound -> auth
 * (never retried), ParamMissing and success=false -> rejected
 * (validation). Plus HTTP statuses, Retry-After, HTML where JSON was
 * expected, and data that must stay OK.
 */
#include "sq_test.h"

#include "crawler/crawler_parse.h"

#include <stdlib.h>
#include <string.h>

/* A string literal and its length, for sq_1688_classify. */
#define LIT(s) s, strlen(s)

static json_t *
samples(const char *name)
{
    char rel[256];
    json_t *root;
    json_error_t jerr;

    snprintf(rel, sizeof rel, "1688/raw/%s", name);
    root = json_load_file(sqt_fixture(rel), 0, &jerr);
    assert_non_null(root);
    return root;
}

/* Classify sample `s` of a fixture ({http_status, headers?, body}). */
static void
classify_sample(const json_t *s, enum sq_1688_expect expect,
                struct sq_1688_verdict *v)
{
    const json_t *body = json_object_get(s, "body");
    const char *loc = json_string_value(
        json_object_get(json_object_get(s, "headers"), "Location"));
    const char *ctype = json_string_value(json_object_get(s, "content_type"));
    char *text = NULL;
    const char *b = "";

    if (json_is_string(body)) {
        b = json_string_value(body);
    } else if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        b = text;
    }
    sq_1688_classify(
        (long)json_integer_value(json_object_get(s, "http_status")), ctype, loc,
        b, strlen(b), 0, expect, v);
    free(text);
}

static void
antibot_samples(void **state)
{
    static const struct {
        const char *kind;
        enum sq_1688_outcome outcome;
        int cls;
    } want[] = {
        {"html_punish_redirect", SQ_1688_BLOCKED, SYNCQ_ERR_BLOCKED},
        {"json_action_captcha", SQ_1688_BLOCKED, SYNCQ_ERR_BLOCKED},
        {"mtop_user_validate", SQ_1688_BLOCKED, SYNCQ_ERR_BLOCKED},
        {"mtop_rgv587", SQ_1688_BLOCKED, SYNCQ_ERR_BLOCKED},
        {"mtop_token_expired", SQ_1688_AUTH, SYNCQ_ERR_AUTH},
        {"login_redirect", SQ_1688_LOGIN_REQUIRED, SYNCQ_ERR_BLOCKED},
        {"offer_not_found", SQ_1688_NOT_FOUND, SYNCQ_ERR_NOT_FOUND},
    };
    json_t *root = samples("antibot-responses.json");
    json_t *s;
    size_t i, seen = 0;

    (void)state;
    json_array_foreach(json_object_get(root, "samples"), i, s)
    {
        const char *kind = json_string_value(json_object_get(s, "kind"));
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
            struct sq_1688_verdict v;
            if (strcmp(kind, want[k].kind) != 0) {
                continue;
            }
            /* whichever the caller expected, these are never data */
            for (int e = 0; e < 2; e++) {
                classify_sample(s, (enum sq_1688_expect)e, &v);
                if (v.outcome != want[k].outcome ||
                    v.error_class != want[k].cls) {
                    fail_msg("%s (expect %d): %s class %d (%s)", kind, e,
                             sq_1688_outcome_name(v.outcome), v.error_class,
                             v.message);
                }
            }
            seen++;
        }
    }
    assert_int_equal(seen, sizeof want / sizeof want[0]);
    json_decref(root);
}

static void
gateway_error_samples(void **state)
{
    static const struct {
        const char *code; /* error_code, or NULL for the 200 envelope */
        enum sq_1688_outcome outcome;
        int cls;
    } want[] = {
        {"gw.NoUsageLeftError", SQ_1688_AUTH, SYNCQ_ERR_AUTH},
        {"gw.APIACLDecline", SQ_1688_AUTH, SYNCQ_ERR_AUTH},
        {"gw.QosAppFrequencyLimit", SQ_1688_RATE_LIMITED,
         SYNCQ_ERR_RATE_LIMITED},
        {"gw.ParamMissing", SQ_1688_REJECTED, SYNCQ_ERR_VALIDATION},
        {"gw.AppKeyNotFound", SQ_1688_AUTH, SYNCQ_ERR_AUTH},
        {"gw.SignatureInvalid", SQ_1688_AUTH, SYNCQ_ERR_AUTH},
        {NULL, SQ_1688_REJECTED, SYNCQ_ERR_VALIDATION},
    };
    json_t *root = samples("api-gateway-errors.json");
    json_t *s;
    size_t i;

    (void)state;
    assert_int_equal(json_array_size(json_object_get(root, "samples")),
                     sizeof want / sizeof want[0]);
    json_array_foreach(json_object_get(root, "samples"), i, s)
    {
        struct sq_1688_verdict v;
        const char *code = json_string_value(
            json_object_get(json_object_get(s, "body"), "error_code"));
        if (want[i].code == NULL) {
            assert_null(code);
        } else {
            assert_string_equal(code, want[i].code);
        }
        classify_sample(s, SQ_1688_EXPECT_JSON, &v);
        if (v.outcome != want[i].outcome || v.error_class != want[i].cls) {
            fail_msg("sample %zu (%s): %s class %d (%s)", i,
                     code ? code : "envelope", sq_1688_outcome_name(v.outcome),
                     v.error_class, v.message);
        }
        if (code != NULL) {
            assert_string_equal(v.code, code);
            assert_non_null(strstr(v.message, code));
        }
    }
    json_decref(root);
}

static void
statuses_and_retry_after(void **state)
{
    struct sq_1688_verdict v;
    static const char page[] = "<html><script>window.__INIT_DATA = {};"
                               "</script></html>";

    (void)state;
    sq_1688_classify(429, "text/plain", NULL, LIT("slow down"), 2000,
                     SQ_1688_EXPECT_JSON, &v);
    assert_int_equal(v.outcome, SQ_1688_RATE_LIMITED);
    assert_int_equal(v.error_class, SYNCQ_ERR_RATE_LIMITED);
    assert_int_equal(v.retry_after_ms, 2000);
    sq_1688_classify(503, NULL, NULL, "", 0, 1000, SQ_1688_EXPECT_JSON, &v);
    assert_int_equal(v.outcome, SQ_1688_TRANSIENT);
    assert_int_equal(v.error_class, SYNCQ_ERR_HTTP_5XX);
    assert_int_equal(v.retry_after_ms, 1000);
    assert_non_null(strstr(v.message, "503"));
    sq_1688_classify(500, NULL, NULL,
                     LIT("{\"error_code\":\"ISPInvokeTimeout\"}"), 0,
                     SQ_1688_EXPECT_JSON, &v);
    assert_int_equal(v.outcome, SQ_1688_TIMEOUT);
    assert_int_equal(v.error_class, SYNCQ_ERR_TIMEOUT);
    sq_1688_classify(502, NULL, NULL,
                     LIT("{\"error_code\":\"ISPInvokeError\"}"), 0,
                     SQ_1688_EXPECT_JSON, &v);
    assert_int_equal(v.outcome, SQ_1688_TRANSIENT);
    sq_1688_classify(404, NULL, NULL, "", 0, 0, SQ_1688_EXPECT_PAGE, &v);
    assert_int_equal(v.outcome, SQ_1688_NOT_FOUND);
    sq_1688_classify(403, NULL, NULL, LIT("no"), 0, SQ_1688_EXPECT_JSON, &v);
    assert_int_equal(v.error_class, SYNCQ_ERR_AUTH);
    sq_1688_classify(302, NULL, "https://example.com/x", "", 0, 0,
                     SQ_1688_EXPECT_PAGE, &v);
    assert_int_equal(v.outcome, SQ_1688_UNEXPECTED);
    assert_int_equal(v.error_class, SYNCQ_ERR_PARSE);
    /* an HTML answer where the API answers JSON is an interception */
    sq_1688_classify(200, "text/html", NULL, LIT("<html>hi</html>"), 0,
                     SQ_1688_EXPECT_JSON, &v);
    assert_int_equal(v.outcome, SQ_1688_BLOCKED);
    /* ... but an offer page is HTML, and it is data */
    sq_1688_classify(200, "text/html", NULL, page, strlen(page), 0,
                     SQ_1688_EXPECT_PAGE, &v);
    assert_int_equal(v.outcome, SQ_1688_OK);
    assert_int_equal(v.error_class, SYNCQ_ERR_NONE);
    /* a page with the security texts in its head is not */
    sq_1688_classify(200, "text/html", NULL,
                     LIT("<html><title>安全验证</title></html>"), 0,
                     SQ_1688_EXPECT_PAGE, &v);
    assert_int_equal(v.outcome, SQ_1688_BLOCKED);
    sq_1688_classify(200, NULL, NULL, "", 0, 0, SQ_1688_EXPECT_JSON, &v);
    assert_int_equal(v.outcome, SQ_1688_UNEXPECTED);
    sq_1688_classify(200, NULL, NULL, NULL, 0, 0, SQ_1688_EXPECT_JSON, &v);
    assert_int_equal(v.outcome, SQ_1688_UNEXPECTED);
    sq_1688_classify(200, NULL, NULL, LIT("{\"code\":439,\"msg\":\"expired\"}"),
                     0, SQ_1688_EXPECT_JSON, &v);
    assert_int_equal(v.outcome, SQ_1688_AUTH);
    sq_1688_classify(200, NULL, NULL,
                     LIT("{\"result\":{\"success\":false,\"code\":\"X\","
                         "\"message\":\"商品不存在\"}}"),
                     0, SQ_1688_EXPECT_JSON, &v);
    assert_int_equal(v.outcome, SQ_1688_NOT_FOUND);
}

static void
real_data_stays_ok(void **state)
{
    static const char *const files[] = {
        "category-children-crossborder-translation.json",
        "search-keyword-tmapi.json",
        "shop-info-tmapi.json",
        "detail-page-init-data-sku-priced.json",
        "api-product-info-classic.json",
    };

    (void)state;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[256];
        size_t len;
        char *body;
        struct sq_1688_verdict v;
        snprintf(rel, sizeof rel, "1688/raw/%s", files[i]);
        body = sqt_read_file(sqt_fixture(rel), &len);
        assert_non_null(body);
        sq_1688_classify(200, "application/json", NULL, body, len, 0,
                         SQ_1688_EXPECT_JSON, &v);
        if (v.outcome != SQ_1688_OK) {
            fail_msg("%s: %s (%s)", files[i], sq_1688_outcome_name(v.outcome),
                     v.message);
        }
        free(body);
    }
    assert_string_equal(sq_1688_outcome_name(SQ_1688_LOGIN_REQUIRED),
                        "login_required");
    assert_string_equal(sq_1688_outcome_name((enum sq_1688_outcome)99),
                        "unexpected");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(antibot_samples),
        cmocka_unit_test(gateway_error_samples),
        cmocka_unit_test(statuses_and_retry_after),
        cmocka_unit_test(real_data_stays_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
