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

#include <stdlib.h>

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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        DB_CASES,
        cmocka_unit_test(pg_matches_sqlite),
        cmocka_unit_test(pg_concurrent_migrate_and_write),
        cmocka_unit_test(pg_survives_server_restart),
        cmocka_unit_test(pg_dead_server_is_a_clear_error),
    };

    int rc = cmocka_run_group_tests(tests, start_pg, stop_pg);

    if (rc == 0) {
        t_workdir_remove();
    }
    return rc;
}
