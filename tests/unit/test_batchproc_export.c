/* SPDX-License-Identifier: MIT
 *
 * test_batchproc_export.c: batch_export's safety (issue 20) on a real
 * SQLite catalog and real files: an existing file is never replaced
 * unless overwrite is asked (the file keeps its bytes, no temp file is
 * left), the export lands by a temp file renamed in the same directory,
 * and SYNCQ_EXPORT_DIR confines exports: relative paths are taken from
 * it; .., absolute paths elsewhere, a symlinked directory leading out
 * and a symlink as the file are refused; a missing directory is
 * not_found. The task itself answers validation for each refusal.
 */
#include "sq_test.h"

#include "batch_processing/bp.h"
#include "sq_alloc.h"
#include "db/sq_db.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[600];   /* this test's directory */
static char root[700];  /* the export directory */
static char dbpath[700];

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *
read_text(const char *path)
{
    return sqt_read_file(path, NULL);
}

/* Files in `d` whose name contains ".tmp-" (left-over temp files). */
static int
temp_files(const char *d)
{
    DIR *dp = opendir(d);
    struct dirent *e;
    int n = 0;

    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL) {
        n += strstr(e->d_name, ".tmp-") != NULL;
    }
    closedir(dp);
    return n;
}

static void
export_never_replaces_unasked(void **state)
{
    struct sq_db *db = NULL;
    char path[800];
    json_t *res = NULL;
    syncq_error err;
    char *text;

    (void)state;
    assert_int_equal(sq_db_open(dbpath, &db, &err), SYNCQ_OK);
    snprintf(path, sizeof path, "%s/x.csv", root);
    write_text(path, "old\n");
    assert_int_equal(bp_export(db, path, "csv", false, NULL, NULL, &res, &err),
                     SYNCQ_EEXIST);
    assert_null(res);
    assert_non_null(strstr(err.msg, "pass overwrite: true"));
    text = read_text(path);
    assert_string_equal(text, "old\n");
    free(text);
    assert_int_equal(temp_files(root), 0);
    /* asked: replaced by the whole new file (the CSV header) */
    assert_int_equal(bp_export(db, path, "csv", true, NULL, NULL, &res, &err),
                     SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(res, "products")), 0);
    json_decref(res);
    text = read_text(path);
    assert_non_null(strstr(text, "offer_id"));
    free(text);
    assert_int_equal(temp_files(root), 0);
    /* a new file needs no permission */
    snprintf(path, sizeof path, "%s/new.jsonl", root);
    assert_int_equal(
        bp_export(db, path, "jsonl", false, NULL, NULL, &res, &err), SYNCQ_OK);
    json_decref(res);
    assert_int_equal(access(path, F_OK), 0);
    sq_db_close(db);
}

static void
export_dir_confines_paths(void **state)
{
    char out[PATH_MAX], want[PATH_MAX], rroot[PATH_MAX], p[800];
    syncq_error err;

    (void)state;
    assert_non_null(realpath(root, rroot));
    snprintf(p, sizeof p, "%s/sub", root);
    mkdir(p, 0755);
    assert_int_equal(bp_export_path(root, "a.csv", out, sizeof out, &err),
                     SYNCQ_OK);
    snprintf(want, sizeof want, "%s/a.csv", rroot);
    assert_string_equal(out, want);
    assert_int_equal(
        bp_export_path(root, "sub/../b.csv", out, sizeof out, &err), SYNCQ_OK);
    snprintf(want, sizeof want, "%s/b.csv", rroot);
    assert_string_equal(out, want);
    snprintf(p, sizeof p, "%s/sub/c.csv", rroot);
    assert_int_equal(bp_export_path(root, p, out, sizeof out, &err), SYNCQ_OK);
    assert_string_equal(out, p);
    /* out of it */
    assert_int_equal(bp_export_path(root, "../evil.csv", out, sizeof out,
                                    &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "outside the export directory"));
    assert_int_equal(
        bp_export_path(root, "/tmp/evil.csv", out, sizeof out, &err),
        SYNCQ_EINVAL);
    snprintf(p, sizeof p, "%s/out", root);
    assert_int_equal(symlink(dir, p), 0); /* a link to the parent */
    assert_int_equal(
        bp_export_path(root, "out/evil.csv", out, sizeof out, &err),
        SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "outside"));
    snprintf(p, sizeof p, "%s/f.csv", root);
    assert_int_equal(symlink("/etc/hostname", p), 0);
    assert_int_equal(bp_export_path(root, "f.csv", out, sizeof out, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_int_equal(bp_export_path(root, "sub/", out, sizeof out, &err),
                     SYNCQ_EINVAL);
    assert_non_null(strstr(err.msg, "names no file"));
    assert_int_equal(
        bp_export_path(root, "nodir/x.csv", out, sizeof out, &err),
        SYNCQ_ENOTFOUND);
    snprintf(p, sizeof p, "%s/missing-root", dir);
    assert_int_equal(bp_export_path(p, "x.csv", out, sizeof out, &err),
                     SYNCQ_ENOTFOUND);
    assert_non_null(strstr(err.msg, "SYNCQ_EXPORT_DIR"));
    /* no directory set: the path as given */
    assert_int_equal(bp_export_path("", "../x.csv", out, sizeof out, &err),
                     SYNCQ_OK);
    assert_string_equal(out, "../x.csv");
}

static syncq_local_result
run_export(syncq_config *cfg, const char *kwargs)
{
    syncq_local_result out;
    json_t *kw = json_loads(kwargs, 0, NULL);
    syncq_error err;

    assert_non_null(kw);
    assert_int_equal(syncq_task_run_local(NULL,
                                          "batch_processing.batch_export",
                                          NULL, kw, NULL, cfg, NULL, &out,
                                          &err),
                     SYNCQ_OK);
    json_decref(kw);
    return out;
}

static void
task_answers_validation(void **state)
{
    syncq_config *cfg = NULL;
    syncq_local_result r;
    syncq_error err;
    struct sq_db *db = NULL;

    (void)state;
    assert_int_equal(sq_db_open(dbpath, &db, &err), SYNCQ_OK);
    sq_db_close(db);
    assert_int_equal(syncq_config_new(&cfg, &err), SYNCQ_OK);
    assert_int_equal(
        syncq_config_set(cfg, "SYNCQ_DATABASE_URL", dbpath, "test", &err),
        SYNCQ_OK);
    assert_int_equal(
        syncq_config_set(cfg, "SYNCQ_EXPORT_DIR", root, "test", &err),
        SYNCQ_OK);
    r = run_export(cfg, "{\"path\":\"t.csv\"}");
    assert_true(r.ok);
    assert_non_null(strstr(json_string_value(json_object_get(r.result,
                                                             "path")),
                           "/t.csv"));
    syncq_local_result_cleanup(&r);
    r = run_export(cfg, "{\"path\":\"t.csv\"}");
    assert_false(r.ok);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    assert_non_null(strstr(r.error_msg, "exists; pass overwrite: true"));
    syncq_local_result_cleanup(&r);
    r = run_export(cfg, "{\"path\":\"t.csv\",\"overwrite\":true}");
    assert_true(r.ok);
    syncq_local_result_cleanup(&r);
    r = run_export(cfg, "{\"path\":\"../t.csv\",\"overwrite\":true}");
    assert_false(r.ok);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    assert_non_null(strstr(r.error_msg, "outside the export directory"));
    syncq_local_result_cleanup(&r);
    r = run_export(cfg, "{\"path\":\"t.csv\",\"overwrite\":[1]}");
    assert_false(r.ok);
    assert_int_equal(r.error_class, SYNCQ_ERR_VALIDATION);
    syncq_local_result_cleanup(&r);
    syncq_config_free(cfg);
    sq_db_shared_close();
}

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/export-%d", sqt_tmpdir(), (int)getpid());
    snprintf(root, sizeof root, "%s/exports", dir);
    snprintf(dbpath, sizeof dbpath, "%s/catalog.db", dir);
    mkdir(dir, 0755);
    mkdir(root, 0755);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(export_never_replaces_unasked),
        cmocka_unit_test(export_dir_confines_paths),
        cmocka_unit_test(task_answers_validation),
    };

    sqt_register_packs();
    return cmocka_run_group_tests(tests, setup, NULL);
}
