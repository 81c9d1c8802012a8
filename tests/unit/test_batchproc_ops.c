/* SPDX-License-Identifier: MIT
 *
 * test_batchproc_ops.c: batch import/export/update/delete on a real
 * SQLite catalog and real files: bad rows reported with line numbers and
 * skipped, a stopped import resumed exactly after its last committed row
 * (no row lost, none twice), a finished job not run twice, a changed file
 * refused, export -> import -> export byte-identical in both formats,
 * filters, updates and deletes with their counts.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "batch_processing/bp.h"
#include "data_sync/ds_catalog.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[600];
static int seq;

static const char *
path_of(const char *name)
{
    static char buf[8][700];
    static int k;

    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static struct sq_db *
fresh_db(void)
{
    char p[700];
    struct sq_db *db = NULL;
    syncq_error err;

    snprintf(p, sizeof p, "%s/db%d/catalog.db", dir, ++seq);
    if (sq_db_open(p, &db, &err) != SYNCQ_OK) {
        fail_msg("%s", err.msg);
    }
    return db;
}

static int64_t
count(struct sq_db *db, const char *sql)
{
    int64_t n = -1;
    syncq_error err;

    if (sq_db_query_i64(db, sql, false, 0, &n, &err) != SYNCQ_OK) {
        fail_msg("%s: %s", sql, err.msg);
    }
    return n;
}

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *
read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = sq_malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* A JSONL product line. */
static void
offer_line(FILE *f, int64_t id, int cat, int price, int nskus)
{
    fprintf(f,
            "{\"offer_id\": %lld, \"subject\": \"商品 %lld\", "
            "\"category_id\": %d, \"status\": \"published\", "
            "\"price_min_fen\": %d, \"price_max_fen\": %d, "
            "\"supplier\": {\"seller_user_id\": %d}, \"skus\": [",
            (long long)id, (long long)id, cat, price, price + 100, 1000 + cat);
    for (int i = 0; i < nskus; i++) {
        fprintf(f,
                "%s{\"sku_id\": %lld, \"spec_text\": \"s%d\", "
                "\"price_fen\": %d, \"stock\": %d}",
                i ? ", " : "", (long long)(id * 10 + i), i, price + i, i);
    }
    fprintf(f,
            "], \"price_ranges\": [{\"start_qty\": 1, \"price_fen\": "
            "%d}], \"images\": [\"https://cbu01.alicdn.com/img/ibank/"
            "%lld.jpg\"]}\n",
            price, (long long)id);
}

static json_t *
import(struct sq_db *db, const char *path, const char *fmt, const char *job,
       int batch, const struct sq_progress *p, int want_rc)
{
    struct bp_import_opts o = {path, fmt, job, batch, false};
    json_t *res = NULL;
    syncq_error err;
    int rc = bp_import(db, &o, p, &res, &err);

    if (rc != want_rc) {
        fail_msg("import %s: rc %d (%s), want %d", path, rc, err.msg, want_rc);
    }
    return res;
}

static int64_t
jint(json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

static void
jsonl_bad_rows_are_reported_and_skipped(void **state)
{
    struct sq_db *db = fresh_db();
    FILE *f = fopen(path_of("a.jsonl"), "w");
    json_t *res;
    json_t *bad;

    (void)state;
    offer_line(f, 1, 10, 100, 2);                       /* line 1 */
    fputs("{\"offer_id\": 2, \"subject\": \n", f);      /* 2: not JSON */
    offer_line(f, 3, 10, 300, 0);                       /* 3 */
    fputs("\n", f);                                     /* 4: blank */
    fputs("{\"subject\": \"no id\"}\n", f);             /* 5: no offer_id */
    fputs("{\"offer_id\": 6, \"moq\": \"many\"}\n", f); /* 6: bad type */
    fputs("[1, 2]\n", f);                               /* 7: not object */
    offer_line(f, 8, 11, 800, 1);                       /* 8 */
    fclose(f);
    res = import(db, path_of("a.jsonl"), "jsonl", "job-a", 500, NULL, SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(res, "status")),
                        "done");
    assert_int_equal(jint(res, "rows_ok"), 3);
    assert_int_equal(jint(res, "rows_bad"), 4);
    assert_int_equal(jint(res, "inserted"), 3);
    bad = json_object_get(res, "bad_rows");
    assert_int_equal(json_array_size(bad), 4);
    assert_int_equal(jint(json_array_get(bad, 0), "line"), 2);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_array_get(bad, 0), "error")),
        "not JSON"));
    assert_int_equal(jint(json_array_get(bad, 1), "line"), 5);
    assert_int_equal(jint(json_array_get(bad, 2), "line"), 6);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_array_get(bad, 2), "error")),
        "offer.moq"));
    assert_int_equal(jint(json_array_get(bad, 3), "line"), 7);
    json_decref(res);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM product"), 3);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM sku"), 3);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM batch_error"), 4);
    /* The finished job is not imported twice. */
    res = import(db, path_of("a.jsonl"), "jsonl", "job-a", 500, NULL, SYNCQ_OK);
    assert_true(json_is_true(json_object_get(res, "already_done")));
    assert_int_equal(jint(res, "rows_ok"), 3);
    json_decref(res);
    /* The same file as a new job: every product unchanged. */
    res = import(db, path_of("a.jsonl"), "jsonl", "job-b", 500, NULL, SYNCQ_OK);
    assert_int_equal(jint(res, "unchanged"), 3);
    assert_int_equal(jint(res, "inserted"), 0);
    json_decref(res);
    /* A changed file under the old job id is refused. */
    f = fopen(path_of("a.jsonl"), "a");
    offer_line(f, 9, 11, 900, 0);
    fclose(f);
    res = import(db, path_of("a.jsonl"), "jsonl", "job-a", 500, NULL,
                 SYNCQ_EINVAL);
    assert_null(res);
    /* Missing file, unknown format. */
    import(db, path_of("none.jsonl"), "jsonl", "job-c", 500, NULL,
           SYNCQ_ENOTFOUND);
    import(db, path_of("a.jsonl"), "xml", "job-c", 500, NULL, SYNCQ_EINVAL);
    sq_db_close(db);
}

static void
csv_groups_rows_by_offer(void **state)
{
    struct sq_db *db = fresh_db();
    json_t *res;
    json_t *bad;

    (void)state;
    write_text(path_of("b.csv"),
               "offer_id,subject,category_id,status,price_min_fen,"
               "price_max_fen,sku_id,sku_spec_text,sku_price_fen,sku_stock,"
               "images,colour\n"
               "11,裙子,7,published,100,300,111,红>S,100,5,"
               "main:0:https://cbu01.alicdn.com/a.jpg,red\n"
               "11,,,,,,112,红>M,120,6,,red\n"
               "11,,,,,,113,红>L,oops,7,,red\n"
               "x12,bad id,7,published,1,1,,,,,,\n"
               "13,\"T恤, 白\",8,published,50,50,,,,,,\n"
               "14,\"unclosed,8\n");
    res = import(db, path_of("b.csv"), "csv", "job-csv", 1, NULL, SYNCQ_OK);
    assert_int_equal(jint(res, "products"), 2);
    assert_int_equal(jint(res, "rows_ok"), 3);
    assert_int_equal(jint(res, "rows_bad"), 3);
    bad = json_object_get(res, "bad_rows");
    assert_int_equal(jint(json_array_get(bad, 0), "line"), 4);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_array_get(bad, 0), "error")),
        "sku_price_fen"));
    assert_int_equal(jint(json_array_get(bad, 1), "line"), 5);
    assert_int_equal(jint(json_array_get(bad, 2), "line"), 7);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(res, "ignored_columns"), 0)),
                        "colour");
    json_decref(res);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM sku WHERE "
                               "offer_id = 11"),
                     2);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM product WHERE "
                               "offer_id = 13 AND subject = 'T恤, 白'"),
                     1);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM product_image"), 1);
    sq_db_close(db);
}

struct stopper {
    int commits;
    int stop_after;
};

static int
count_commits(void *ud, int64_t cur, int64_t total, const char *msg)
{
    (void)cur;
    (void)total;
    (void)msg;
    ((struct stopper *)ud)->commits++;
    return 0;
}

static bool
stop_now(void *ud)
{
    struct stopper *s = ud;

    return s->commits >= s->stop_after;
}

static void
stopped_import_resumes_after_last_commit(void **state)
{
    struct sq_db *db = fresh_db();
    FILE *f = fopen(path_of("c.jsonl"), "w");
    struct stopper s = {0, 3};
    struct sq_progress p = {count_commits, stop_now, &s};
    json_t *res;
    int64_t ok_first;

    (void)state;
    for (int i = 1; i <= 1000; i++) {
        if (i % 97 == 0) {
            fputs("{broken\n", f);
        } else {
            offer_line(f, i, i % 5, 100 + i, i % 3);
        }
    }
    fclose(f);
    res = import(db, path_of("c.jsonl"), "jsonl", "job-c", 100, &p, SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(res, "status")),
                        "stopped");
    ok_first = jint(res, "rows_ok");
    assert_true(ok_first >= 300 && ok_first < 1000);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM product"), ok_first);
    assert_int_equal(count(db, "SELECT status = 'running' FROM batch_job"), 1);
    json_decref(res);
    /* Resume: the rest, nothing twice. */
    res = import(db, path_of("c.jsonl"), "jsonl", "job-c", 100, NULL, SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(res, "status")),
                        "done");
    assert_true(jint(res, "resumed_from_line") > 300);
    assert_int_equal(jint(res, "rows_ok"), 1000 - 10);
    assert_int_equal(jint(res, "rows_bad"), 10);
    assert_int_equal(jint(res, "inserted"), 990);
    assert_int_equal(jint(res, "unchanged") + jint(res, "updated"), 0);
    json_decref(res);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM product"), 990);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM batch_error"), 10);
    assert_int_equal(count(db, "SELECT MIN(line_no) FROM batch_error"), 97);
    sq_db_close(db);
}

static void
export_import_round_trips(void **state)
{
    static const char *const fmts[] = {"jsonl", "csv"};
    struct sq_db *a = fresh_db();
    FILE *f = fopen(path_of("d.jsonl"), "w");
    json_t *res;
    syncq_error err;

    (void)state;
    for (int i = 1; i <= 120; i++) {
        offer_line(f, 500 + i, i % 4, 10 * i, i % 4);
    }
    fclose(f);
    json_decref(
        import(a, path_of("d.jsonl"), "jsonl", "seed", 50, NULL, SYNCQ_OK));
    for (size_t k = 0; k < 2; k++) {
        struct sq_db *b = fresh_db();
        char p1[64];
        char p2[64];
        size_t n1 = 0;
        size_t n2 = 0;
        char *t1;
        char *t2;
        snprintf(p1, sizeof p1, "out1.%s", fmts[k]);
        snprintf(p2, sizeof p2, "out2.%s", fmts[k]);
        assert_int_equal(
            bp_export(a, path_of(p1), fmts[k], true, NULL, NULL, &res, &err),
            SYNCQ_OK);
        assert_int_equal(jint(res, "products"), 120);
        if (k == 1) {
            assert_int_equal(jint(res, "rows"), 30 + 3 * 30 + 2 * 30 + 30);
        }
        json_decref(res);
        res = import(b, path_of(p1), fmts[k], "rt", 37, NULL, SYNCQ_OK);
        assert_int_equal(jint(res, "inserted"), 120);
        assert_int_equal(jint(res, "rows_bad"), 0);
        json_decref(res);
        assert_int_equal(
            bp_export(b, path_of(p2), fmts[k], true, NULL, NULL, &res, &err),
            SYNCQ_OK);
        json_decref(res);
        t1 = read_text(path_of(p1), &n1);
        t2 = read_text(path_of(p2), &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(t1, t2, n1);
        sq_free(t1);
        sq_free(t2);
        /* And back into the first database: nothing changes. */
        res = import(a, path_of(p2), fmts[k], fmts[k], 50, NULL, SYNCQ_OK);
        assert_int_equal(jint(res, "unchanged"), 120);
        json_decref(res);
        sq_db_close(b);
    }
    /* Filters. */
    {
        json_t *flt = json_loads("{\"category_id\": [1, 2], "
                                 "\"price_min_fen\": {\"gte\": 500}}",
                                 0, NULL);
        assert_int_equal(
            bp_export(a, path_of("f.jsonl"), "jsonl", true, flt, NULL, &res, &err),
            SYNCQ_OK);
        assert_int_equal(jint(res, "products"),
                         count(a, "SELECT COUNT(*) FROM product WHERE "
                                  "category_id IN (1, 2) AND "
                                  "price_min_fen >= 500"));
        assert_true(jint(res, "products") > 0);
        json_decref(res);
        json_decref(flt);
        flt = json_loads("{\"subject_contains\": \"商品 60\"}", 0, NULL);
        assert_int_equal(
            bp_export(a, path_of("g.jsonl"), "jsonl", true, flt, NULL, &res, &err),
            SYNCQ_OK);
        /* 601..609 and 600 itself (subject "商品 60x"). */
        assert_int_equal(jint(res, "products"), 10);
        json_decref(res);
        json_decref(flt);
        flt = json_loads("{\"bogus\": 1}", 0, NULL);
        assert_int_equal(
            bp_export(a, path_of("h.jsonl"), "jsonl", true, flt, NULL, &res, &err),
            SYNCQ_EINVAL);
        assert_int_equal(access(path_of("h.jsonl"), F_OK), -1);
        json_decref(flt);
    }
    assert_int_equal(
        bp_export(a, "/nonexistent-dir/x.csv", "csv", true, NULL, NULL, &res, &err),
        SYNCQ_ENOTFOUND);
    sq_db_close(a);
}

static void
update_and_delete_by_filter(void **state)
{
    struct sq_db *db = fresh_db();
    FILE *f = fopen(path_of("e.jsonl"), "w");
    json_t *res;
    json_t *flt;
    json_t *set;
    int64_t cursor = 0;
    syncq_error err;

    (void)state;
    for (int i = 1; i <= 2500; i++) {
        offer_line(f, i, i % 3, i, 1);
    }
    fclose(f);
    json_decref(
        import(db, path_of("e.jsonl"), "jsonl", "e", 500, NULL, SYNCQ_OK));
    flt = json_loads("{\"category_id\": 1}", 0, NULL);
    set = json_loads("{\"status\": \"expired\", \"moq\": 10}", 0, NULL);
    assert_int_equal(bp_update(db, flt, set, &cursor, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(jint(res, "matched"), 834);
    assert_int_equal(jint(res, "updated"), 834);
    assert_true(cursor > 2000);
    json_decref(res);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM product WHERE "
                               "status = 'expired' AND moq = 10"),
                     834);
    json_decref(set);
    /* Bad sets. */
    set = json_loads("{\"offer_id\": 5}", 0, NULL);
    cursor = 0;
    assert_int_equal(bp_update(db, flt, set, &cursor, NULL, &res, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "cannot be changed"));
    json_decref(set);
    set = json_loads("{\"status\": null}", 0, NULL);
    assert_int_equal(bp_update(db, flt, set, &cursor, NULL, &res, &err),
                     SYNCQ_EINVAL);
    json_decref(set);
    set = json_loads("{}", 0, NULL);
    assert_int_equal(bp_update(db, flt, set, &cursor, NULL, &res, &err),
                     SYNCQ_EINVAL);
    json_decref(set);
    /* Delete: dry run, then for real; an empty filter needs all:true. */
    cursor = 0;
    assert_int_equal(bp_delete(db, flt, true, &cursor, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(jint(res, "matched"), 834);
    assert_int_equal(jint(res, "deleted"), 0);
    json_decref(res);
    assert_int_equal(bp_delete(db, flt, false, &cursor, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(jint(res, "deleted"), 834);
    json_decref(res);
    json_decref(flt);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM product"), 2500 - 834);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM sku WHERE offer_id NOT "
                               "IN (SELECT offer_id FROM product)"),
                     0);
    cursor = 0;
    assert_int_equal(bp_delete(db, NULL, false, &cursor, NULL, &res, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "all"));
    flt = json_loads("{\"all\": true}", 0, NULL);
    assert_int_equal(bp_delete(db, flt, false, &cursor, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(jint(res, "deleted"), 2500 - 834);
    json_decref(res);
    json_decref(flt);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM product"), 0);
    sq_db_close(db);
}

/* Fail allocation 1, 2, 3, ... of an import until it succeeds (each
 * round resumes the same job): ENOMEM or OK every time, no good row ever
 * reported bad, all products in the end (ASan: no leak). */
static void
import_survives_allocation_failures(void **state)
{
    struct sq_db *db = fresh_db();
    FILE *f = fopen(path_of("oom.jsonl"), "w");
    json_t *res = NULL;
    int rounds = 0;

    (void)state;
    for (int i = 1; i <= 4; i++) {
        offer_line(f, 300 + i, 1, 100 * i, i % 3);
    }
    fputs("{\"offer_id\": 1, \"subject\": [\n", f); /* one bad line */
    fclose(f);
    for (long n = 1; n < 200000; n++) {
        struct bp_import_opts o = {path_of("oom.jsonl"), "jsonl", "oom", 2,
                                   false};

        syncq_error err;
        int rc;
        sq_alloc_fail_at(n);
        rc = bp_import(db, &o, NULL, &res, &err);
        sq_alloc_fail_at(0);
        rounds++;
        if (rc == SYNCQ_OK) {
            break;
        }
        if (rc != SYNCQ_ENOMEM) {
            fail_msg("round %ld: rc %d (%s)", n, rc, err.msg);
        }
        assert_null(res);
    }
    assert_true(rounds > 50);
    assert_int_equal(jint(res, "rows_ok"), 4);
    assert_int_equal(jint(res, "rows_bad"), 1);
    assert_int_equal(jint(res, "products"), 4);
    json_decref(res);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM product"), 4);
    assert_int_equal(count(db, "SELECT COUNT(*) FROM batch_error"), 1);
    sq_db_close(db);
}

/* The same for CSV: rows grouped into offers, each round resuming. */
static void
csv_import_survives_allocation_failures(void **state)
{
    struct sq_db *a = fresh_db();
    struct sq_db *b = fresh_db();
    FILE *f = fopen(path_of("oom2.jsonl"), "w");
    json_t *res = NULL;
    syncq_error err;
    int rounds = 0;

    (void)state;
    for (int i = 1; i <= 4; i++) {
        offer_line(f, 400 + i, 2, 100 * i, i % 3);
    }
    fclose(f);
    json_decref(
        import(a, path_of("oom2.jsonl"), "jsonl", "seed", 10, NULL, SYNCQ_OK));
    assert_int_equal(
        bp_export(a, path_of("oom2.csv"), "csv", true, NULL, NULL, &res, &err),
        SYNCQ_OK);
    json_decref(res);
    res = NULL;
    for (long n = 1; n < 200000; n++) {
        struct bp_import_opts o = {path_of("oom2.csv"), "csv", "oom2", 1,
                                   false};
        int rc;
        sq_alloc_fail_at(n);
        rc = bp_import(b, &o, NULL, &res, &err);
        sq_alloc_fail_at(0);
        rounds++;
        if (rc == SYNCQ_OK) {
            break;
        }
        if (rc != SYNCQ_ENOMEM) {
            fail_msg("round %ld: rc %d (%s)", n, rc, err.msg);
        }
    }
    assert_true(rounds > 50);
    assert_int_equal(jint(res, "rows_bad"), 0);
    assert_int_equal(jint(res, "products"), 4);
    json_decref(res);
    assert_int_equal(count(b, "SELECT COUNT(*) FROM product"), 4);
    assert_int_equal(count(b, "SELECT COUNT(*) FROM sku"),
                     count(a, "SELECT COUNT(*) FROM sku"));
    sq_db_close(a);
    sq_db_close(b);
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jsonl_bad_rows_are_reported_and_skipped),
        cmocka_unit_test(csv_groups_rows_by_offer),
        cmocka_unit_test(stopped_import_resumes_after_last_commit),
        cmocka_unit_test(export_import_round_trips),
        cmocka_unit_test(update_and_delete_by_filter),
        cmocka_unit_test(import_survives_allocation_failures),
        cmocka_unit_test(csv_import_survives_allocation_failures),
    };
    int rc;

    snprintf(dir, sizeof dir, "%s/bptest-%d", sqt_tmpdir(), (int)getpid());
    mkdir(dir, 0755);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
