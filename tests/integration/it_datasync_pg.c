/* SPDX-License-Identifier: MIT
 *
 * it_datasync_pg.c: the catalog database on a real PostgreSQL server
 * (tests/integration/pg.sh starts a private one on a unix socket). Runs
 * every shared case of tests/unit/test_db_cases.h, then checks what only
 * PostgreSQL can show: both backends give identical results for the same
 * input, concurrent processes migrate and write safely, a server restart
 * costs one reconnect and no error, and a dead server is a clear error.
 * TEST_TIMEOUT: 240
 */
#include "../unit/test_db_cases.h"

#include "batch_processing/bp.h"
#include "data_sync/ds_offer_links.h"
#include "image_processing/img_ops.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char pg_url[1024];
static char pg_dir[512];
static char pg_sh[1024];

static int
pg_cmd(const char *action)
{
    char cmd[2048];
    FILE *f;
    char line[1200];

    snprintf(cmd, sizeof cmd, "%s %s %s 2>&1", pg_sh, action, pg_dir);
    f = popen(cmd, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        fputs(line, stderr);
    }
    return pclose(f);
}

static int
start_pg(void **state)
{
    const char *src = getenv("SYNCQ_SOURCE_DIR");
    char line[1200];
    FILE *f;

    (void)state;
    snprintf(pg_sh, sizeof pg_sh, "%s/tests/integration/pg.sh",
             src != NULL ? src : ".");
    snprintf(line, sizeof line, "%s start", pg_sh);
    f = popen(line, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "PGDIR=", 6) == 0) {
            snprintf(pg_dir, sizeof pg_dir, "%s", line + 6);
        } else if (strncmp(line, "URL=", 4) == 0) {
            snprintf(pg_url, sizeof pg_url, "%s", line + 4);
        }
    }
    if (pclose(f) != 0 || pg_url[0] == '\0') {
        fprintf(stderr, "pg.sh start failed: PostgreSQL is required "
                        "(scripts/bootstrap installs it)\n");
        return -1;
    }
    return 0;
}

static int
stop_pg(void **state)
{
    (void)state;
    if (pg_dir[0] != '\0') {
        pg_cmd("stop");
    }
    return 0;
}

/* Empty the database and migrate it again. */
static struct sq_db *
fresh_db(void)
{
    struct sq_db *db = NULL;
    syncq_error err;

    if (sq_db_open(pg_url, &db, &err) != SYNCQ_OK) {
        fail_msg("open %s: %s", pg_url, err.msg);
    }
    t_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    sq_db_close(db);
    if (sq_db_open(pg_url, &db, &err) != SYNCQ_OK) {
        fail_msg("reopen %s: %s", pg_url, err.msg);
    }
    assert_string_equal(sq_db_kind(db), "postgresql");
    return db;
}

static void
pg_matches_sqlite(void **state)
{
    struct sq_db *pg = fresh_db();
    struct sq_db *lite = NULL;
    char path[512];
    syncq_error err;
    char *a;
    char *b;

    (void)state;
    snprintf(path, sizeof path, "%s/same/catalog.db", t_workdir());
    assert_int_equal(sq_db_open(path, &lite, &err), SYNCQ_OK);
    a = t_scenario_dump(lite);
    b = t_scenario_dump(pg);
    if (strcmp(a, b) != 0) {
        FILE *f;
        snprintf(path, sizeof path, "%s/sqlite.json", t_workdir());
        f = fopen(path, "w");
        fputs(a, f);
        fclose(f);
        snprintf(path, sizeof path, "%s/pg.json", t_workdir());
        f = fopen(path, "w");
        fputs(b, f);
        fclose(f);
        fail_msg("SQLite and PostgreSQL results differ (see %s/*.json)",
                 t_workdir());
    }
    assert_non_null(strstr(a, "\"offer_id\": 6023"));
    sq_free(a);
    sq_free(b);
    sq_db_close(lite);
    sq_db_close(pg);
}

static void
pg_concurrent_migrate_and_write(void **state)
{
    struct sq_db *db = fresh_db();

    (void)state;
    /* Drop everything so the children race to create the schema. */
    t_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    sq_db_close(db);
    t_concurrent_writers(pg_url, 4, 25);
}

static void
pg_killed_sync_resumes(void **state)
{
    struct sq_db *db = fresh_db();

    (void)state;
    sq_db_close(db);
    t_killed_sync(pg_url, 2000);
}

static void
pg_survives_server_restart(void **state)
{
    struct sq_db *db = fresh_db();
    syncq_error err;

    (void)state;
    t_put(db, "shop", "before", "ok", NULL);
    assert_int_equal(pg_cmd("kill"), 0);
    assert_int_equal(pg_cmd("restart"), 0);
    /* The first call after the restart reconnects and succeeds. */
    assert_int_equal(
        sq_db_raw_put(db, "shop", "after", 200, "ok", "x", 1, NULL, &err),
        SYNCQ_OK);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM raw_payload"), 2);
    sq_db_close(db);
}

static void
pg_dead_server_is_a_clear_error(void **state)
{
    struct sq_db *db = NULL;
    syncq_error err;
    char url[1200];

    (void)state;
    /* Wrong socket directory; password in the URL must not leak. */
    snprintf(url, sizeof url,
             "postgresql://postgres:s3cret@/syncq_test?"
             "host=%s/nowhere&connect_timeout=2",
             pg_dir);
    assert_int_equal(sq_db_open(url, &db, &err), SYNCQ_EDB);
    assert_null(db);
    assert_non_null(strstr(err.msg, "cannot connect"));
    assert_null(strstr(err.msg, "s3cret"));
    assert_non_null(strstr(err.msg, "****"));
}

/* ---- batch operations: same results on both backends ----------------- */

struct stop_after {
    int reports;
};

static int
count_reports(void *ud, int64_t cur, int64_t total, const char *msg)
{
    (void)cur;
    (void)total;
    (void)msg;
    ((struct stop_after *)ud)->reports++;
    return 0;
}

static bool
stop_first(void *ud)
{
    return ((struct stop_after *)ud)->reports >= 1;
}

static void
strip_times(json_t *o)
{
    json_object_del(o, "elapsed_ms");
    json_object_del(o, "path");
}

/* Import (stopped once, resumed), export with filters, update, delete:
 * every result and the exported files as one text. */
static char *
batch_dump(struct sq_db *db, const char *tag)
{
    struct stop_after sa = {0};
    struct sq_progress p = {count_reports, stop_first, &sa};
    struct bp_import_opts o;
    json_t *all = json_object();
    json_t *res = NULL;
    json_t *flt;
    json_t *set;
    syncq_error err;
    char src[700];
    char out[700];
    int64_t cursor = 0;
    FILE *f;
    char *text;

    snprintf(src, sizeof src, "%s/batch-src.jsonl", t_workdir());
    f = fopen(src, "w");
    assert_non_null(f);
    for (int i = 1; i <= 300; i++) {
        char *j;
        if (i % 50 == 0) {
            fputs("{\"offer_id\": \"bad\"}\n", f);
            continue;
        }
        j = t_offer(8000 + i, 100 + i % 7, i % 2 ? "连衣裙 红" : "T恤 白",
                    100 + i, 500 + i, i % 3);
        fprintf(f, "%s\n", j);
        sq_free(j);
    }
    fclose(f);
    memset(&o, 0, sizeof o);
    o.path = src;
    o.format = "jsonl";
    o.job_id = "pg-vs-sqlite";
    o.batch_rows = 40;
    assert_int_equal(bp_import(db, &o, &p, &res, &err), SYNCQ_OK);
    assert_string_equal(json_string_value(json_object_get(res, "status")),
                        "stopped");
    json_decref(res);
    assert_int_equal(bp_import(db, &o, NULL, &res, &err), SYNCQ_OK);
    strip_times(res);
    json_object_set_new(all, "import", res);
    for (int k = 0; k < 2; k++) {
        const char *fmt = k == 0 ? "jsonl" : "csv";
        size_t n = 0;
        char *body;
        flt = json_loads("{\"subject_contains\": \"红\", "
                         "\"price_min_fen\": {\"gte\": 150, \"lt\": 350}, "
                         "\"synced_after\": \"2000-01-01\"}",
                         0, NULL);
        snprintf(out, sizeof out, "%s/%s-export.%s", t_workdir(), tag, fmt);
        assert_int_equal(bp_export(db, out, fmt, true, flt, NULL, &res, &err),
                         SYNCQ_OK);
        assert_true(json_integer_value(json_object_get(res, "products")) > 10);
        strip_times(res);
        json_object_set_new(all, fmt, res);
        json_decref(flt);
        body = t_slurp(out, &n);
        json_object_set_new(all, k == 0 ? "jsonl_file" : "csv_file",
                            json_stringn(body, n));
        sq_free(body);
    }
    flt = json_loads("{\"offer_id\": {\"gte\": 0}}", 0, NULL);
    assert_int_equal(bp_update(db, flt, NULL, &cursor, NULL, &res, &err),
                     SYNCQ_EINVAL);
    json_decref(flt);
    flt = json_loads("{\"category_id\": 1031910, \"subject_contains\": "
                     "\"T恤\"}",
                     0, NULL);
    set = json_loads("{\"status\": \"expired\", \"moq\": 3, "
                     "\"subject_tr\": null}",
                     0, NULL);
    cursor = 0;
    assert_int_equal(bp_update(db, flt, set, &cursor, NULL, &res, &err),
                     SYNCQ_OK);
    strip_times(res);
    json_object_set_new(all, "update", res);
    json_decref(set);
    cursor = 0;
    assert_int_equal(bp_delete(db, flt, false, &cursor, NULL, &res, &err),
                     SYNCQ_OK);
    strip_times(res);
    json_object_set_new(all, "delete", res);
    json_decref(flt);
    json_object_set_new(all, "left",
                        json_integer(t_count(db, "SELECT COUNT(*) FROM "
                                                 "product")));
    text = json_dumps(all, JSON_SORT_KEYS | JSON_INDENT(1));
    json_decref(all);
    return text;
}

static void
pg_batch_ops_match_sqlite(void **state)
{
    struct sq_db *pg = fresh_db();
    struct sq_db *lite = NULL;
    char path[700];
    syncq_error err;
    char *a;
    char *b;

    (void)state;
    snprintf(path, sizeof path, "%s/batch/catalog.db", t_workdir());
    assert_int_equal(sq_db_open(path, &lite, &err), SYNCQ_OK);
    a = batch_dump(lite, "sqlite");
    b = batch_dump(pg, "pg");
    if (strcmp(a, b) != 0) {
        fail_msg("batch results differ:\n--- sqlite\n%.3000s\n--- pg\n%.3000s",
                 a, b);
    }
    assert_non_null(strstr(a, "\"rows_bad\": 6"));
    sq_free(a);
    sq_free(b);
    sq_db_close(lite);
    sq_db_close(pg);
}

/* The image tasks' row writes and lookups on PostgreSQL: one flush of
 * collected rows (downloaded, failed, variant), then the lookups the
 * thumbnail/resize/optimize tasks do. */
static void
pg_image_rows(void **state)
{
    struct sq_db *db = fresh_db();
    struct sq_img_env env;
    struct sq_img_target *t = NULL;
    size_t n = 0;
    json_t *missing = json_array();
    json_t *kw;
    syncq_error err;
    static const char sha[] =
        "02bfa54cea24dfe52f4206eb8fde54d5348b809a2fd660691b2e8b7a77e989e5";

    (void)state;
    memset(&env, 0, sizeof env);
    env.db = db;
    env.pending = json_pack(
        "[{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:s, s:s},"
        " {s:s, s:s, s:s, s:s, s:s, s:s},"
        " {s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:s}]",
        "op", "ok", "url_key", "https://x/a.jpg", "url", "https://x/a.jpg",
        "sha256", sha, "width", 320, "height", 240, "bytes", (json_int_t)45282,
        "mime", "image/jpeg", "path", "02/bf/a.jpg", "op", "fail", "url_key",
        "https://x/b.jpg", "url", "https://x/b.jpg", "status", "gone",
        "error_class", "not_found", "error", "HTTP 404", "op", "variant",
        "sha256", sha, "kind", "thumb_100x100", "path", "thumbs/a_100x100.jpg",
        "width", 100, "height", 75, "bytes", (json_int_t)3000, "format", "jpg");
    assert_non_null(env.pending);
    assert_int_equal(sq_img_flush(&env, &err), SYNCQ_OK);
    assert_int_equal(json_array_size(env.pending), 0);
    /* Flushing the same rows again is an idempotent upsert. */
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image WHERE status = "
                                 "'downloaded' AND width = 320"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image WHERE status = "
                                 "'gone' AND error_class = 'not_found'"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image_variant WHERE "
                                 "kind = 'thumb_100x100' AND height = 75"),
                     1);
    kw = json_pack("{s:[s, s], s:[I]}", "sha256", sha,
                   "0000000000000000000000000000000000000000000000000000000000"
                   "000000",
                   "image_ids",
                   (json_int_t)t_count(db, "SELECT image_id FROM image WHERE "
                                           "status = 'downloaded'"));
    assert_int_equal(sq_img_targets(db, kw, &t, &n, missing, &err), SYNCQ_OK);
    assert_int_equal(n, 1); /* same content named twice: one target */
    assert_string_equal(t[0].rel, "02/bf/a.jpg");
    assert_int_equal(json_array_size(missing), 1);
    sq_free(t);
    json_decref(kw);
    json_decref(missing);
    json_decref(env.pending);
    sq_db_close(db);
}

/* ---- unique violations: retried only where a lookup raced ----------- */

struct tx_count {
    int attempts;
    struct sq_ds_links *links;
};

static int
insert_dup(struct sq_db *db, void *ud, syncq_error *err)
{
    ((struct tx_count *)ud)->attempts++;
    return sq_db_exec(db, "INSERT INTO t_dup (k) VALUES ('a')", err);
}

/* A duplicate key outside the catalog writes is a bug in the statement:
 * it fails at once, not after eight rounds of backing off. */
static void
pg_duplicate_key_fails_at_once(void **state)
{
    struct sq_db *db = fresh_db();
    struct tx_count n = {0, NULL};
    syncq_error err;

    (void)state;
    t_exec(db, "CREATE TABLE t_dup (k TEXT PRIMARY KEY)");
    t_exec(db, "INSERT INTO t_dup (k) VALUES ('a')");
    assert_int_equal(sq_db_with_tx(db, insert_dup, &n, &err), SYNCQ_EDB);
    assert_int_equal(n.attempts, 1);
    assert_false(sq_db_busy(db));
    assert_non_null(strstr(err.msg, "[23505]"));
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM t_dup"), 1);
    sq_db_close(db);
}

static int
link_race_image(struct sq_db *db, void *ud, syncq_error *err)
{
    struct tx_count *n = ud;
    int rc;

    n->attempts++;
    rc = sq_ds_links_add(n->links, 77, "main", 0, "k-race",
                         "https://x/race.jpg", err);
    return rc == SYNCQ_OK ? sq_ds_links_write(db, n->links, err) : rc;
}

/* Another writer stores the same image between this page's url_key
 * lookup and its COPY: the COPY waits for that writer, fails with a
 * unique violation when it commits, and the page runs again, linking the
 * other writer's image. The other writer commits only once this one is
 * seen waiting on its lock, so the order does not depend on timing. */
static void
pg_lost_image_race_runs_again(void **state)
{
    struct sq_db *db = fresh_db();
    struct tx_count n = {0, NULL};
    int ready[2];
    char b = 0;
    pid_t pid;
    int st = 0;
    syncq_error err;

    (void)state;
    assert_int_equal(pipe(ready), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sq_db *other = NULL;
        int waited = 0;
        close(ready[0]);
        if (sq_db_open(pg_url, &other, &err) != SYNCQ_OK ||
            sq_db_begin(other, &err) != SYNCQ_OK ||
            sq_db_exec(other, "INSERT INTO image (url_key, url) VALUES "
                              "('k-race', 'https://x/other.jpg')",
                       &err) != SYNCQ_OK ||
            write(ready[1], "1", 1) != 1) {
            _exit(2);
        }
        while (t_count(other, "SELECT COUNT(*) FROM pg_stat_activity WHERE "
                              "wait_event_type = 'Lock'") == 0) {
            if (++waited > 3000) {
                _exit(3);
            }
            syncq_sleep_ms(10);
        }
        _exit(sq_db_commit(other, &err) == SYNCQ_OK ? 0 : 4);
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], &b, 1), 1);
    close(ready[0]);
    assert_int_equal(sq_ds_links_new(&n.links, &err), SYNCQ_OK);
    assert_int_equal(sq_db_with_tx(db, link_race_image, &n, &err), SYNCQ_OK);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(n.attempts, 2);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image"), 1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM image WHERE url = "
                                 "'https://x/other.jpg'"),
                     1);
    assert_int_equal(t_count(db, "SELECT COUNT(*) FROM product_image p JOIN "
                                 "image i USING (image_id) WHERE p.offer_id = "
                                 "77 AND i.url_key = 'k-race'"),
                     1);
    sq_ds_links_free(n.links);
    sq_db_close(db);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        DB_CASES,
        cmocka_unit_test(pg_matches_sqlite),
        cmocka_unit_test(pg_concurrent_migrate_and_write),
        cmocka_unit_test(pg_killed_sync_resumes),
        cmocka_unit_test(pg_survives_server_restart),
        cmocka_unit_test(pg_dead_server_is_a_clear_error),
        cmocka_unit_test(pg_batch_ops_match_sqlite),
        cmocka_unit_test(pg_image_rows),
        cmocka_unit_test(pg_duplicate_key_fails_at_once),
        cmocka_unit_test(pg_lost_image_race_runs_again),
    };

    int rc = cmocka_run_group_tests(tests, start_pg, stop_pg);

    if (rc == 0) {
        t_workdir_remove();
    }
    return rc;
}
