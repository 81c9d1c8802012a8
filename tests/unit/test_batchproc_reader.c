/* SPDX-License-Identifier: MIT
 *
 * test_batchproc_reader.c: the streaming readers and formats of the
 * batch_processing pack: line numbers and byte offsets of lines and CSV
 * records (quotes, "" escapes, newlines inside quotes, CRLF, blank
 * lines), every malformed-record case and recovery after it, the record
 * size limit, CSV flattening round trips of awkward text, and the filter
 * compiler.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "batch_processing/bp.h"
#include "data_sync/ds_catalog.h"

#include <stdio.h>
#include <string.h>

static void
field_is(const struct bp_reader *r, int i, const char *want)
{
    if (r->flen[i] != strlen(want) ||
        memcmp(bp_field(r, i), want, r->flen[i]) != 0) {
        fail_msg("field %d is '%.*s', want '%s'", i, (int)r->flen[i],
                 bp_field(r, i), want);
    }
}

static void
lines_have_numbers_and_offsets(void **state)
{
    static const char text[] = "alpha\nbeta\r\n\n女装\nlast";
    struct bp_reader r;
    syncq_error err;

    (void)state;
    bp_reader_open_mem(&r, text, sizeof text - 1, &err);
    assert_int_equal(bp_next_line(&r, &err), 1);
    assert_string_equal(r.rec, "alpha");
    assert_int_equal(r.rec_line, 1);
    assert_int_equal(r.rec_offset, 0);
    assert_int_equal(bp_reader_tell(&r), 6);
    assert_int_equal(bp_next_line(&r, &err), 1);
    assert_string_equal(r.rec, "beta");
    assert_int_equal(r.rec_line, 2);
    assert_int_equal(bp_next_line(&r, &err), 1);
    assert_string_equal(r.rec, "");
    assert_int_equal(bp_next_line(&r, &err), 1);
    assert_string_equal(r.rec, "女装");
    assert_int_equal(r.rec_line, 4);
    assert_int_equal(bp_next_line(&r, &err), 1);
    assert_string_equal(r.rec, "last");
    assert_int_equal(r.rec_line, 5);
    assert_int_equal(bp_reader_tell(&r), (int64_t)sizeof text - 1);
    assert_int_equal(bp_next_line(&r, &err), 0);
    bp_reader_close(&r);
}

static void
overlong_line_is_skipped_not_fatal(void **state)
{
    size_t n = BP_MAX_RECORD + 100;
    char *text = sq_malloc(n + 16);
    struct bp_reader r;
    syncq_error err;

    (void)state;
    memset(text, 'x', n);
    memcpy(text + n, "\nnext\n", 6);
    bp_reader_open_mem(&r, text, n + 6, &err);
    assert_int_equal(bp_next_line(&r, &err), SYNCQ_ETOOBIG);
    assert_non_null(strstr(err.msg, "line 1"));
    assert_int_equal(bp_next_line(&r, &err), 1);
    assert_string_equal(r.rec, "next");
    assert_int_equal(r.rec_line, 2);
    bp_reader_close(&r);
    sq_free(text);
}

static void
csv_quotes_newlines_and_crlf(void **state)
{
    static const char text[] = "a,b,c\r\n"
                               "\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
                               "\n"
                               ",,\n"
                               "\"\",plain,end";
    struct bp_reader r;
    syncq_error err;

    (void)state;
    bp_reader_open_mem(&r, text, sizeof text - 1, &err);
    assert_int_equal(bp_next_csv(&r, &err), 1);
    assert_int_equal(r.nfields, 3);
    field_is(&r, 2, "c");
    assert_int_equal(bp_next_csv(&r, &err), 1);
    assert_int_equal(r.rec_line, 2);
    field_is(&r, 0, "x, y");
    field_is(&r, 1, "say \"hi\"");
    field_is(&r, 2, "two\nlines");
    /* The blank line 4 is skipped; ",," is 3 empty fields on line 5. */
    assert_int_equal(bp_next_csv(&r, &err), 1);
    assert_int_equal(r.rec_line, 5);
    assert_int_equal(r.nfields, 3);
    field_is(&r, 0, "");
    assert_int_equal(bp_next_csv(&r, &err), 1);
    assert_int_equal(r.rec_line, 6);
    field_is(&r, 0, "");
    field_is(&r, 2, "end");
    assert_int_equal(bp_next_csv(&r, &err), 0);
    bp_reader_close(&r);
}

static void
csv_malformed_records_are_reported_and_skipped(void **state)
{
    char text[4096];
    struct bp_reader r;
    syncq_error err;
    int n;

    (void)state;
    n = snprintf(text, sizeof text,
                 "ok,1\n"
                 "bad\"quote,2\n"
                 "\"closed\"junk,3\n"
                 "fine,4\n");
    for (int i = 0; i < BP_MAX_FIELDS + 1; i++) {
        n += snprintf(text + n, sizeof text - (size_t)n, "f,");
    }
    n += snprintf(text + n, sizeof text - (size_t)n,
                  "\nafter,5\n"
                  "\"never closed,6\n");
    bp_reader_open_mem(&r, text, (size_t)n, &err);
    assert_int_equal(bp_next_csv(&r, &err), 1);
    field_is(&r, 0, "ok");
    assert_int_equal(bp_next_csv(&r, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_non_null(strstr(err.msg, "quote inside an unquoted field"));
    assert_int_equal(bp_next_csv(&r, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "line 3"));
    assert_non_null(strstr(err.msg, "after a closing quote"));
    assert_int_equal(bp_next_csv(&r, &err), 1);
    field_is(&r, 0, "fine");
    assert_int_equal(r.rec_line, 4);
    assert_int_equal(bp_next_csv(&r, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "more than 256 fields"));
    assert_int_equal(bp_next_csv(&r, &err), 1);
    field_is(&r, 0, "after");
    assert_int_equal(r.rec_line, 6);
    assert_int_equal(bp_next_csv(&r, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "not closed"));
    assert_int_equal(bp_next_csv(&r, &err), 0);
    bp_reader_close(&r);
}

/* Parse CSV text (header + rows of one offer) back into a canonical
 * offer. */
static json_t *
csv_to_offer(const char *text, size_t len, json_t **ignored)
{
    struct bp_reader r;
    struct bp_csv_map m;
    json_t *offer = NULL;
    json_t *canon = NULL;
    syncq_error err;
    int rc;

    bp_reader_open_mem(&r, text, len, &err);
    assert_int_equal(bp_next_csv(&r, &err), 1);
    if (bp_csv_map_header(&r, &m, &err) != SYNCQ_OK) {
        fail_msg("header: %s", err.msg);
    }
    while ((rc = bp_next_csv(&r, &err)) == 1) {
        if (bp_csv_add_row(&r, &m, &offer, &err) != SYNCQ_OK) {
            fail_msg("row %lld: %s", (long long)r.rec_line, err.msg);
        }
    }
    assert_int_equal(rc, 0);
    bp_reader_close(&r);
    if (sq_ds_offer_canonical(offer, &canon, NULL, &err) != SYNCQ_OK) {
        fail_msg("canonical: %s", err.msg);
    }
    json_decref(offer);
    if (ignored != NULL) {
        *ignored = m.ignored;
    } else {
        json_decref(m.ignored);
    }
    return canon;
}

static void
csv_round_trip_of_awkward_text(void **state)
{
    static const char rec_text[] =
        "{\"offer_id\": 77, \"subject\": \"女装, \\\"新款\\\"\\n第二行 "
        "a|b:c\\\\d\","
        " \"unit_weight_kg\": 0.1, \"price_min_fen\": 230,"
        " \"supplier\": {\"seller_user_id\": 9, \"company_name\": "
        "\"义乌,公司\"},"
        " \"attributes\": [{\"attr_id\": 1, \"name\": \"材质:面料\","
        "   \"value\": \"棉|麻\"}, {\"name\": \"空\", \"value\": \"\"}],"
        " \"sku_props\": [{\"fid\": 3216, \"name\": \"颜色\", \"values\": ["
        "   {\"value\": \"红:色\", \"image_url\": \"https://x/a.jpg\"},"
        "   {\"value\": \"蓝\"}]}, {\"fid\": 4, \"name\": \"无值\"}],"
        " \"skus\": [{\"sku_id\": 1, \"spec_text\": \"红:色>XL\","
        "   \"price_fen\": 230, \"stock\": 5},"
        "  {\"sku_id\": 2, \"spec_text\": \"蓝>XL\", \"weight_kg\": 1.5}],"
        " \"price_ranges\": [{\"start_qty\": 2, \"price_fen\": 560},"
        "   {\"start_qty\": 100, \"price_fen\": 520, \"promo_price_fen\": "
        "500}],"
        " \"images\": [{\"url\": \"https://cbu01.alicdn.com/a.jpg?x=1|2\","
        "   \"role\": \"main\", \"ord\": 0}]}";
    json_t *in = json_loads(rec_text, 0, NULL);
    json_t *canon = NULL;
    json_t *back;
    struct sq_buf b;
    syncq_error err;
    char h1[65];
    char h2[65];

    (void)state;
    assert_non_null(in);
    assert_int_equal(sq_ds_offer_canonical(in, &canon, NULL, &err), SYNCQ_OK);
    sq_buf_init(&b, 0);
    assert_int_equal(bp_csv_format_header(&b, &err), SYNCQ_OK);
    assert_int_equal(bp_csv_format_offer(canon, &b, &err), SYNCQ_OK);
    back = csv_to_offer(b.data, b.len, NULL);
    sq_ds_content_hash(canon, h1, NULL);
    sq_ds_content_hash(back, h2, NULL);
    if (strcmp(h1, h2) != 0) {
        char *x = json_dumps(canon, JSON_SORT_KEYS);
        char *y = json_dumps(back, JSON_SORT_KEYS);
        fail_msg("CSV round trip differs:\n%s\n%s\ncsv:\n%s", x, y, b.data);
    }
    /* One header line, two SKU rows, each with the subject's newline. */
    {
        size_t nl = 0;
        for (size_t i = 0; i < b.len; i++) {
            nl += b.data[i] == '\n';
        }
        assert_int_equal(nl, 5);
    }
    sq_buf_cleanup(&b);
    json_decref(back);
    json_decref(canon);
    json_decref(in);
}

static void
csv_header_and_value_errors(void **state)
{
    static const char no_id[] = "subject,moq\nx,1\n";
    static const char dup[] = "offer_id,moq,moq\n1,1,1\n";
    static const char extra[] = "\xef\xbb\xbfoffer_id,colour,moq\n5,red,3\n";
    static const char badnum[] = "offer_id,moq\n5,three\n";
    struct bp_reader r;
    struct bp_csv_map m;
    json_t *offer = NULL;
    json_t *ignored = NULL;
    json_t *c;
    syncq_error err;

    (void)state;
    bp_reader_open_mem(&r, no_id, sizeof no_id - 1, &err);
    assert_int_equal(bp_next_csv(&r, &err), 1);
    assert_int_equal(bp_csv_map_header(&r, &m, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "no offer_id column"));
    json_decref(m.ignored);
    bp_reader_close(&r);
    bp_reader_open_mem(&r, dup, sizeof dup - 1, &err);
    assert_int_equal(bp_next_csv(&r, &err), 1);
    assert_int_equal(bp_csv_map_header(&r, &m, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "moq appears twice"));
    json_decref(m.ignored);
    bp_reader_close(&r);
    /* A BOM and an unknown column: read, and the column is reported. */
    c = csv_to_offer(extra, sizeof extra - 1, &ignored);
    assert_int_equal(json_integer_value(json_object_get(c, "moq")), 3);
    assert_int_equal(json_array_size(ignored), 1);
    assert_string_equal(json_string_value(json_array_get(ignored, 0)),
                        "colour");
    json_decref(ignored);
    json_decref(c);
    bp_reader_open_mem(&r, badnum, sizeof badnum - 1, &err);
    assert_int_equal(bp_next_csv(&r, &err), 1);
    assert_int_equal(bp_csv_map_header(&r, &m, &err), SYNCQ_OK);
    assert_int_equal(bp_next_csv(&r, &err), 1);
    assert_int_equal(bp_csv_add_row(&r, &m, &offer, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "column moq"));
    assert_null(offer);
    json_decref(m.ignored);
    bp_reader_close(&r);
}

static void
filters_compile_to_bound_sql(void **state)
{
    struct bp_filter f;
    json_t *j;
    syncq_error err;
    static const struct {
        const char *json;
        const char *msg;
    } bad[] = {
        {"[1]", "expected a JSON object"},
        {"{\"colour\": 1}", "unknown key 'colour'"},
        {"{\"offer_id\": \"x\"}", "expected integers"},
        {"{\"status\": [1]}", "expected strings"},
        {"{\"offer_id\": []}", "1..10000"},
        {"{\"price_min_fen\": {\"about\": 5}}", "gte, gt, lte, lt, eq"},
        {"{\"synced_after\": \"yesterday\"}", "ISO 8601"},
        {"{\"duplicates\": \"maybe\"}", "exclude, include or only"},
        {"{\"subject_contains\": \"\"}", "non-empty"},
        {"{\"all\": false}", "only true"},
    };

    (void)state;
    assert_int_equal(bp_filter_compile(NULL, &f, &err), SYNCQ_OK);
    assert_true(f.empty);
    assert_string_equal(f.where, "1 = 1 AND duplicate_of IS NULL");
    bp_filter_cleanup(&f);
    j = json_loads("{\"category_id\": [1, 2], \"status\": \"published\", "
                   "\"price_min_fen\": {\"gte\": 100, \"lt\": 500}, "
                   "\"subject_contains\": \"裙\", "
                   "\"synced_after\": \"2026-01-01\", "
                   "\"duplicates\": \"include\"}",
                   0, NULL);
    assert_int_equal(bp_filter_compile(j, &f, &err), SYNCQ_OK);
    assert_false(f.empty);
    assert_int_equal(json_array_size(f.params), 7);
    assert_non_null(strstr(f.where, "category_id IN (?, ?)"));
    assert_non_null(strstr(f.where, "price_min_fen >= ?"));
    assert_non_null(strstr(f.where, "synced_at >= ?"));
    assert_null(strstr(f.where, "duplicate_of"));
    assert_string_equal(json_string_value(json_array_get(f.params, 6)),
                        "2026-01-01T00:00:00.000Z");
    bp_filter_cleanup(&f);
    json_decref(j);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i].json, 0, NULL);
        if (bp_filter_compile(j, &f, &err) != SYNCQ_EINVAL ||
            strstr(err.msg, bad[i].msg) == NULL) {
            fail_msg("%s: '%s', want '%s'", bad[i].json, err.msg, bad[i].msg);
        }
        json_decref(j);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_have_numbers_and_offsets),
        cmocka_unit_test(overlong_line_is_skipped_not_fatal),
        cmocka_unit_test(csv_quotes_newlines_and_crlf),
        cmocka_unit_test(csv_malformed_records_are_reported_and_skipped),
        cmocka_unit_test(csv_round_trip_of_awkward_text),
        cmocka_unit_test(csv_header_and_value_errors),
        cmocka_unit_test(filters_compile_to_bound_sql),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
