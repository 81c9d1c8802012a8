/* SPDX-License-Identifier: MIT
 *
 * test_db_procs.h: catalog checks that need several processes
 * or a whole scenario, called with a URL by both backends' tests:
 * concurrent migration and writes, a killed sync, and one scenario
 * dumped as text (equal dumps on both backends).
 */
#ifndef TEST_DB_PROCS_H
#define TEST_DB_PROCS_H

#include "test_db_support.h"

#include <signal.h>
#include <sys/wait.h>

/* `nproc` children each open `url` (creating/migrating it if needed) and
 * commit `ntx` transactions of one raw_put; all must succeed. */
static void
t_concurrent_writers(const char *url, int nproc, int ntx)
{
    pid_t pids[16];
    struct sq_db *db = NULL;
    syncq_error err;

    assert_true(nproc <= 16);
    for (int p = 0; p < nproc; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            struct sq_db *cdb = NULL;
            int bad = 0;
            if (sq_db_open(url, &cdb, &err) != SYNCQ_OK) {
                fprintf(stderr, "child open: %s\n", err.msg);
                _exit(2);
            }
            for (int i = 0; i < ntx; i++) {
                char key[32];
                snprintf(key, sizeof key, "%d-%d", p, i);
                if (sq_db_begin(cdb, &err) != SYNCQ_OK ||
                    sq_db_raw_put(cdb, "shop", key, 200, "ok", "b", 1,
                                  "{\"member_id\": \"m\"}", &err) != SYNCQ_OK ||
                    sq_db_commit(cdb, &err) != SYNCQ_OK) {
                    fprintf(stderr, "child tx: %s\n", err.msg);
                    sq_db_rollback(cdb);
                    bad++;
                }
            }
            sq_db_close(cdb);
            _exit(bad == 0 ? 0 : 1);
        }
    }
    for (int p = 0; p < nproc; p++) {
        int st = 0;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    assert_int_equal(sq_db_open(url, &db, &err), SYNCQ_OK);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload"),
                     nproc * ntx);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM schema_version"),
                     SQ_DB_SCHEMA_VERSION);
    sq_db_close(db);
}

/* A sync_products killed with SIGKILL in the middle: every committed
 * product is whole (its SKUs, tiers and images with it), and the next run
 * stores exactly the rest. `url` names an empty database. */
static void
t_killed_sync(const char *url, int n)
{
    struct sq_db *db = NULL;
    json_t *res;
    syncq_error err;
    pid_t pid;
    int st = 0;
    int64_t before;

    assert_int_equal(sq_db_open(url, &db, &err), SYNCQ_OK);
    for (int i = 0; i < n; i++) {
        t_put_offer(db, "api_detail", 70000 + i, 300 + i % 9, "杀掉的同步",
                    100 + i, 900, 3);
    }
    sq_db_close(db);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sq_db *cdb = NULL;
        struct sq_sync_opts o;
        json_t *r = NULL;
        if (sq_db_open(url, &cdb, &err) != SYNCQ_OK) {
            _exit(2);
        }
        sq_sync_opts_init(&o);
        o.batch_size = 20;
        sq_ds_sync_products(cdb, &o, NULL, &r, &err);
        _exit(0);
    }
    assert_int_equal(sq_db_open(url, &db, &err), SYNCQ_OK);
    for (int i = 0; i < 2000; i++) {
        if (t_count(db, "SELECT COUNT(*) FROM product") >= n / 4) {
            break;
        }
        usleep(5000);
    }
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    before = t_count(db, "SELECT COUNT(*) FROM product");
    if (!WIFSIGNALED(st) || before >= n) {
        fail_msg("the sync was not killed mid-way (%lld of %d stored)",
                 (long long)before, n);
    }
    /* Whole products only: 3 SKUs, 2 tiers, 3 image links each. */
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"), 3 * before);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM price_tier"),
                     2 * before);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product_image"),
                     3 * before);
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "inserted"), n - before);
    assert_int_equal(t_int(res, "updated") + t_int(res, "unchanged"), 0);
    json_decref(res);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product"), n);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"), 3 * n);
    res = t_sync(db, false);
    assert_int_equal(t_int(res, "records"), 0);
    json_decref(res);
    sq_db_close(db);
}

/* ---- one scenario, dumped as text: equal dumps on both backends -------- */

static void
t_strip_volatile(json_t *o)
{
    json_object_del(o, "elapsed_ms");
}

/* Load a mixed catalog, run every data_sync operation and return the
 * results plus every stored product as one JSON text (owned). */
static char *
t_scenario_dump(struct sq_db *db)
{
    struct sq_sync_opts so;
    struct sq_validate_opts vo = {false, NULL, 20, NULL};
    json_t *all = json_object();
    json_t *res = NULL;
    json_t *products = json_array();
    struct sq_db_stmt *st;
    syncq_error err;
    char *text;
    int64_t ids[64];
    int n = 0;

    for (int i = 0; i < 24; i++) {
        char subject[64];
        snprintf(subject, sizeof subject, "商品 %d 号", i % 20);
        t_put_offer(db, i % 3 == 0 ? "detail_page" : "api_detail", 6000 + i,
                    100 + i % 5, subject, 100 + (i % 20), 900, i % 4);
    }
    t_put(db, "category", "10166", "ok",
          "{\"category_id\": 10166, \"name_zh\": \"女装\", \"children\": ["
          "{\"category_id\": 1031910, \"name_zh\": \"连衣裙\"}]}");
    t_put(
        db, "search", "1031910:1", "ok",
        "{\"category_id\": 1031910, \"offers\": [{\"offer_id\": 6100, "
        "\"subject\": \"列表\", \"price_fen\": 5, \"seller_user_id\": 100}]}");
    t_put(db, "shop", "100", "ok",
          "{\"seller_user_id\": 100, \"score_goods\": 4.25, \"is_tp\": 1}");
    t_put(db, "api_detail", "6200", "ok",
          "{\"offer_id\": 6200, "
          "\"skus\": [{\"stock\": -3, \"price_fen\": 0}]}");
    sq_sync_opts_init(&so);
    assert_int_equal(sq_ds_sync_products(db, &so, NULL, &res, &err), SYNCQ_OK);
    t_strip_volatile(res);
    json_object_set_new(all, "sync_products", res);
    assert_int_equal(sq_ds_sync_suppliers(db, &so, NULL, &res, &err), SYNCQ_OK);
    t_strip_volatile(res);
    json_object_set_new(all, "sync_suppliers", res);
    assert_int_equal(sq_ds_cleanup_duplicates(db, false, NULL, &res, &err),
                     SYNCQ_OK);
    t_strip_volatile(res);
    json_object_set_new(all, "cleanup", res);
    assert_int_equal(sq_ds_validate(db, &vo, NULL, &res, &err), SYNCQ_OK);
    t_strip_volatile(res);
    json_object_set_new(all, "validate", res);
    assert_int_equal(sq_db_prepare(db,
                                   "SELECT offer_id FROM product ORDER "
                                   "BY offer_id",
                                   &st, &err),
                     SYNCQ_OK);
    while (sq_db_step(st, &err) == 1 && n < 64) {
        ids[n++] = sq_db_col_i64(st, 0);
    }
    for (int i = 0; i < n; i++) {
        json_t *p = NULL;
        assert_int_equal(sq_ds_offer_load(db, ids[i], &p, &err), SYNCQ_OK);
        json_array_append_new(products, p);
    }
    json_object_set_new(all, "products", products);
    json_object_set_new(all, "duplicates",
                        json_integer(t_count(db, "SELECT COUNT(*) FROM "
                                                 "product WHERE duplicate_of "
                                                 "IS NOT NULL")));
    text = json_dumps(all, JSON_SORT_KEYS | JSON_INDENT(1));
    json_decref(all);
    assert_non_null(text);
    return text;
}

#endif
