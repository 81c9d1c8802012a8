/* SPDX-License-Identifier: MIT
 *
 * test_db_support.h: what every catalog database case uses: the
 * fresh_db() contract, a scratch directory, builders of staged records
 * and the small query/sync helpers. Included by the case headers
 * (test_db_cases.h lists them); the test that includes those defines
 *     static struct sq_db *fresh_db(void);   an empty, migrated database
 */
#ifndef TEST_DB_SUPPORT_H
#define TEST_DB_SUPPORT_H

#include "sq_test.h"

#include "sq_alloc.h"
#include "sq_error.h"
#include "data_sync/ds_catalog.h"
#include "data_sync/ds_sync.h"
#include "db/sq_db.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct sq_db *fresh_db(void);

#include <ftw.h>

static int
t_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(path);
}

/* This test process's scratch directory (under sqt_tmpdir()). */
static const char *
t_workdir(void)
{
    static char dir[600];

    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "%s/dbtest-%d", sqt_tmpdir(), (int)getpid());
    }
    return dir;
}

/* Remove t_workdir() and everything in it (end of main). */
static void
t_workdir_remove(void)
{
    nftw(t_workdir(), t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- data builders ---------------------------------------------------- */

/* A normalised offer (docs/1688-normalized.md) with `nskus` SKUs, two
 * ascending price tiers and 3 images; prices in fen. Owned string. */
static char *
t_offer(int64_t offer_id, int64_t seller, const char *subject, int64_t pmin,
        int64_t pmax, int nskus)
{
    json_t *skus = json_array();
    json_t *vals = json_array();
    json_t *o;
    char *s;
    char u1[96];
    char u2[96];
    char u3[96];

    snprintf(u1, sizeof u1, "https://cbu01.alicdn.com/img/ibank/%lld-a.jpg",
             (long long)offer_id);
    snprintf(u2, sizeof u2, "//cbu02.alicdn.com/img/ibank/%lld-b.220x220.jpg",
             (long long)offer_id);
    snprintf(u3, sizeof u3, "img/ibank/%lld-desc.jpg", (long long)offer_id);
    for (int i = 0; i < nskus; i++) {
        char spec[32];
        char color[16];
        snprintf(color, sizeof color, "色%d", i);
        snprintf(spec, sizeof spec, "%s>XL", color);
        json_array_append_new(vals, json_pack("{s:s}", "value", color));
        json_array_append_new(
            skus, json_pack("{s:I, s:s, s:s, s:I, s:I}", "sku_id",
                            (json_int_t)(offer_id * 10 + i), "spec_id",
                            "0123456789abcdef0123456789abcdef", "spec_text",
                            spec, "price_fen", (json_int_t)(pmin + i), "stock",
                            (json_int_t)(100 + i)));
    }
    o = json_pack(
        "{s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:I,"
        " s:f, s:{s:I, s:s, s:s, s:s}, s:[{s:I, s:s, s:s}],"
        " s:[{s:I, s:s, s:o}, {s:I, s:s, s:[{s:s}]}], s:o,"
        " s:[{s:I, s:I}, {s:I, s:I}],"
        " s:[{s:s, s:s, s:I}, {s:s, s:s, s:I}, {s:s, s:s, s:I}],"
        " s:s, s:s}",
        "offer_id", (json_int_t)offer_id, "source", "api", "category_id",
        (json_int_t)1031910, "top_category_id", (json_int_t)10166, "subject",
        subject, "unit", "件", "status", "published", "quote_type",
        (json_int_t)1, "moq", (json_int_t)2, "price_min_fen", (json_int_t)pmin,
        "price_max_fen", (json_int_t)pmax, "currency", "CNY", "sold_count",
        (json_int_t)300, "unit_weight_kg", 0.25, "supplier", "seller_user_id",
        (json_int_t)seller, "member_id", "b2b-x", "company_name",
        "义乌某某有限公司", "province", "浙江", "attributes", "attr_id",
        (json_int_t)100, "name", "材质", "value", "棉", "sku_props", "fid",
        (json_int_t)3216, "name", "颜色", "values", vals, "fid",
        (json_int_t)450, "name", "尺码", "values", "value", "XL", "skus", skus,
        "price_ranges", "start_qty", (json_int_t)2, "price_fen",
        (json_int_t)pmax, "start_qty", (json_int_t)100, "price_fen",
        (json_int_t)pmin, "images", "url", u1, "role", "main", "ord",
        (json_int_t)0, "url", u2, "role", "main", "ord", (json_int_t)1, "url",
        u3, "role", "desc", "ord", (json_int_t)0, "raw_sha256", "00",
        "fetched_at", "2026-11-29T08:00:00Z");
    assert_non_null(o);
    /* The member id is per seller so suppliers stay apart. */
    {
        char mid[40];
        snprintf(mid, sizeof mid, "b2b-%lld", (long long)seller);
        json_object_set_new(json_object_get(o, "supplier"), "member_id",
                            json_string(mid));
    }
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* A whole file (binary-safe), owned (sq_free). */
__attribute__((unused)) static char *
t_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = sq_malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void
t_put(struct sq_db *db, const char *kind, const char *key, const char *outcome,
      const char *json)
{
    syncq_error err;

    assert_int_equal(
        sq_db_raw_put(db, kind, key, 200, outcome, "<raw>", 5, json, &err),
        SYNCQ_OK);
}

static void
t_put_offer(struct sq_db *db, const char *kind, int64_t id, int64_t seller,
            const char *subject, int64_t pmin, int64_t pmax, int nskus)
{
    char key[32];
    char *j = t_offer(id, seller, subject, pmin, pmax, nskus);

    snprintf(key, sizeof key, "%lld", (long long)id);
    t_put(db, kind, key, "ok", j);
    sq_free(j);
}

static int64_t
t_count(struct sq_db *db, const char *sql)
{
    syncq_error err;
    int64_t n = -1;

    if (sq_db_query_i64(db, sql, false, 0, &n, &err) != SYNCQ_OK) {
        fail_msg("%s: %s", sql, err.msg);
    }
    return n;
}

static void
t_exec(struct sq_db *db, const char *sql)
{
    syncq_error err;

    if (sq_db_exec(db, sql, &err) != SYNCQ_OK) {
        fail_msg("%s: %s", sql, err.msg);
    }
}

static json_t *
t_sync(struct sq_db *db, bool full)
{
    struct sq_sync_opts o;
    json_t *res = NULL;
    syncq_error err;

    sq_sync_opts_init(&o);
    o.full = full;
    if (sq_ds_sync_products(db, &o, NULL, &res, &err) != SYNCQ_OK) {
        fail_msg("sync_products: %s", err.msg);
    }
    return res;
}

static int64_t
t_int(json_t *o, const char *path)
{
    /* "a.b" -> o["a"]["b"] */
    char buf[128];
    char *dot;

    snprintf(buf, sizeof buf, "%s", path);
    dot = strchr(buf, '.');
    if (dot != NULL) {
        *dot = '\0';
        o = json_object_get(o, buf);
        path = dot + 1;
    } else {
        path = buf;
    }
    if (!json_is_integer(json_object_get(o, path))) {
        fail_msg("result has no integer %s", path);
    }
    return (int64_t)json_integer_value(json_object_get(o, path));
}

/* A supplier record with the given identifiers (0 / NULL: absent). */
static json_t *
t_sup(int64_t seller, const char *member, const char *company)
{
    json_t *s = json_object();

    if (seller > 0) {
        json_object_set_new(s, "seller_user_id", json_integer(seller));
    }
    if (member != NULL) {
        json_object_set_new(s, "member_id", json_string(member));
    }
    if (company != NULL) {
        json_object_set_new(s, "company_name", json_string(company));
    }
    return s;
}

#endif
