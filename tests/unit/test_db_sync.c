/* SPDX-License-Identifier: MIT
 *
 * test_db_sync.c: the catalog database on SQLite: schema, raw_payload
 * staging, statements, transactions, offer upsert/read-back, sync of
 * products/suppliers/categories/listings, validate_data and
 * cleanup_duplicates (the shared cases of test_db_cases.h; the
 * PostgreSQL run is tests/integration/it_datasync_pg.c). About 10 s of CPU (70 s wall under
 * ASan on a loaded 2-core machine), so:
 * TEST_TIMEOUT: 300
 */
#include "test_db_cases.h"

#include <stdlib.h>

static int db_seq;

static struct sq_db *
fresh_db(void)
{
    char path[512];
    struct sq_db *db = NULL;
    syncq_error err;

    snprintf(path, sizeof path, "%s/cases-%d/catalog.db", t_workdir(),
             ++db_seq);
    if (sq_db_open(path, &db, &err) != SYNCQ_OK) {
        fail_msg("open %s: %s", path, err.msg);
    }
    return db;
}

static void
sqlite_concurrent_writers(void **state)
{
    char path[512];

    (void)state;
    /* Four processes create the same new file and write at once: one
     * migrates, the others wait on the lock; no SQLITE_BUSY escapes. */
    snprintf(path, sizeof path, "%s/concurrent/catalog.db", t_workdir());
    t_concurrent_writers(path, 4, 40);
}

static void
sqlite_killed_sync_resumes(void **state)
{
    char path[512];

    (void)state;
    snprintf(path, sizeof path, "%s/killed/catalog.db", t_workdir());
    t_killed_sync(path, 3000);
}

/* Fail allocation 1, 2, 3, ... of a sync until it succeeds: each round
 * returns ENOMEM or OK, never marks a good record failed, never leaves a
 * half product; the final state is the full catalog (ASan: no leak). */
static void
sqlite_sync_survives_allocation_failures(void **state)
{
    struct sq_db *db = fresh_db();
    struct sq_sync_opts o;
    int rounds = 0;

    (void)state;
    t_put_offer(db, "api_detail", 91, 7, "一", 100, 200, 2);
    t_put_offer(db, "detail_page", 92, 8, "二", 300, 400, 1);
    t_put(db, "category", "5", "ok",
          "{\"category_id\": 5, \"children\": [{\"category_id\": 6}]}");
    t_put(db, "search", "6:1", "ok",
          "{\"category_id\": 6, \"offers\": [{\"offer_id\": 93, "
          "\"subject\": \"列表\", \"price_fen\": 5}]}");
    sq_sync_opts_init(&o);
    for (long n = 1; n < 200000; n++) {
        json_t *res = NULL;
        syncq_error err;
        int rc;
        sq_alloc_fail_at(n);
        rc = sq_ds_sync_products(db, &o, NULL, &res, &err);
        sq_alloc_fail_at(0);
        rounds++;
        /* Whole products at every step. */
        assert_int_equal(t_count(db, "SELECT COUNT(*) FROM sku"),
                         2 * t_count(db, "SELECT COUNT(*) FROM product "
                                         "WHERE offer_id = 91") +
                             t_count(db, "SELECT COUNT(*) FROM product "
                                         "WHERE offer_id = 92"));
        if (rc == SYNCQ_OK) {
            assert_int_equal(t_int(res, "failed"), 0);
            json_decref(res);
            break;
        }
        if (getenv("DEBUG_OOM") != NULL) {
            fprintf(stderr, "round %ld rc %d: %s (products %lld)\n", n, rc,
                    err.msg,
                    (long long)t_count(db, "SELECT COUNT(*) FROM product"));
        }
        if (rc != SYNCQ_ENOMEM) {
            fail_msg("round %ld: rc %d (%s)", n, rc, err.msg);
        }
        assert_null(res);
    }
    assert_true(rounds > 50);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product"), 3);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM category"), 2);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload r WHERE "
                                 "NOT EXISTS (SELECT 1 FROM raw_sync s "
                                 "WHERE s.raw_id = r.raw_id)"),
                     0);
    sq_db_close(db);
}

static void
sqlite_open_errors(void **state)
{
    struct sq_db *db = NULL;
    syncq_error err;
    char path[512];

    (void)state;
    assert_int_equal(sq_db_open("", &db, &err), SYNCQ_EINVAL);
    assert_int_equal(sq_db_open("ftp://x/y", &db, &err), SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "unknown scheme"));
    assert_int_equal(sq_db_open("/proc/syncq-no/x.db", &db, &err), SYNCQ_EIO);
    assert_null(db);
    /* Not a database: a clear error, no crash. */
    snprintf(path, sizeof path, "%s/garbage.db", t_workdir());
    {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("this is not a sqlite file, just text padding it out......"
              "................................................",
              f);
        fclose(f);
    }
    assert_int_equal(sq_db_open(path, &db, &err), SYNCQ_EDB);
    assert_non_null(strstr(err.msg, "sqlite"));
    assert_null(db);
    /* "sqlite:" prefix and a newer schema than this build. */
    snprintf(path, sizeof path, "sqlite:%s/newer.db", t_workdir());
    assert_int_equal(sq_db_open(path, &db, &err), SYNCQ_OK);
    assert_string_equal(sq_db_kind(db), "sqlite");
    t_exec(db, "INSERT INTO schema_version (version) VALUES (99)");
    sq_db_close(db);
    assert_int_equal(sq_db_open(path, &db, &err), SYNCQ_EDB);
    assert_non_null(strstr(err.msg, "schema version 99"));
}

static void
sqlite_shared_reopens_after_fork(void **state)
{
    syncq_config *cfg = NULL;
    struct sq_db *a = NULL;
    struct sq_db *b = NULL;
    syncq_error err;
    char path[512];
    pid_t pid;
    int st = 0;

    (void)state;
    snprintf(path, sizeof path, "%s/shared/catalog.db", t_workdir());
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    assert_int_equal(
        syncq_config_set(cfg, "SYNCQ_DATABASE_URL", path, NULL, &err),
        SYNCQ_OK);
    assert_int_equal(sq_db_shared(cfg, &a, &err), SYNCQ_OK);
    assert_int_equal(sq_db_shared(cfg, &b, &err), SYNCQ_OK);
    assert_ptr_equal(a, b);
    pid = fork();
    if (pid == 0) {
        struct sq_db *c = NULL;
        if (sq_db_shared(cfg, &c, &err) != SYNCQ_OK || c == a) {
            _exit(1);
        }
        if (sq_db_raw_put(c, "shop", "child", 200, "ok", "x", 1, NULL, &err) !=
            SYNCQ_OK) {
            _exit(2);
        }
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* The parent's connection still works and sees the child's row. */
    assert_int_equal(t_count(a, "SELECT COUNT(*) FROM raw_payload WHERE "
                                "key = 'child'"),
                     1);
    sq_db_shared_close();
    syncq_config_free(cfg);
}

static void
sqlite_scenario_is_deterministic(void **state)
{
    struct sq_db *a = fresh_db();
    struct sq_db *b = fresh_db();
    char *da = t_scenario_dump(a);
    char *db_ = t_scenario_dump(b);

    (void)state;
    assert_string_equal(da, db_);
    /* The dump really holds the catalog (not two empty documents). */
    assert_non_null(strstr(da, "\"offer_id\": 6023"));
    sq_free(da);
    sq_free(db_);
    sq_db_close(a);
    sq_db_close(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        DB_CASES,
        cmocka_unit_test(sqlite_concurrent_writers),
        cmocka_unit_test(sqlite_killed_sync_resumes),
        cmocka_unit_test(sqlite_sync_survives_allocation_failures),
        cmocka_unit_test(sqlite_open_errors),
        cmocka_unit_test(sqlite_shared_reopens_after_fork),
        cmocka_unit_test(sqlite_scenario_is_deterministic),
    };

    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    t_workdir_remove();
    return rc;
}
