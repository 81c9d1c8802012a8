/* SPDX-License-Identifier: MIT
 *
 * ds_validate.c: validate_data (ds_sync.h). Each rule is a pair of SQL
 * statements (a count and a sample of offending ids) evaluated by the
 * database, so the check scales with the table and not with memory; two
 * rules need C (image files on disk, SKU spec values) and walk their
 * rows in keyset pages of 500, a few statements per page. Products marked duplicate_of are not checked
 * (cleanup_duplicates keeps them only for the record).
 */
#include "data_sync/ds_sync.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"
#include <syncq/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PAGE 500

struct rule {
    const char *name;
    const char *severity; /* "error" | "warning" */
    const char *id_kind;  /* what the ids are */
    const char *where;    /* FROM ... WHERE ... selecting the ids */
    const char *doc;
};

#define LIVE "p.duplicate_of IS NULL"

static const struct rule rules[] = {
    {"offer_id_positive", "error", "offer_id",
     "FROM product p WHERE p.offer_id <= 0", "offer_id is a positive integer"},
    {"required_fields", "error", "offer_id",
     "FROM product p WHERE " LIVE " AND (p.subject IS NULL OR "
     "p.subject = '' OR p.status IS NULL OR p.status = '' OR "
     "p.category_id IS NULL OR p.price_min_fen IS NULL)",
     "subject, status, category_id and a price are present"},
    {"product_price_positive", "error", "offer_id",
     "FROM product p WHERE " LIVE " AND (p.price_min_fen <= 0 OR "
     "p.price_max_fen <= 0 OR p.price_max_fen < p.price_min_fen)",
     "price_min_fen > 0 and price_max_fen >= price_min_fen"},
    {"sku_price_positive", "error", "offer_id",
     "FROM sku s JOIN product p ON p.offer_id = s.offer_id WHERE " LIVE
     " AND (s.price_fen <= 0 OR s.promo_price_fen <= 0 OR "
     "s.retail_price_fen <= 0)",
     "every SKU price that is present is > 0"},
    {"tier_price_positive", "error", "offer_id",
     "FROM price_tier t JOIN product p ON p.offer_id = t.offer_id WHERE " LIVE
     " AND (t.price_fen IS NULL OR t.price_fen <= 0 OR "
     "t.promo_price_fen <= 0)",
     "every price tier has a price > 0"},
    {"tier_start_qty_positive", "error", "offer_id",
     "FROM price_tier t JOIN product p ON p.offer_id = t.offer_id WHERE " LIVE
     " AND (t.start_qty IS NULL OR t.start_qty < 1)",
     "every price tier starts at a quantity >= 1"},
    {"price_tiers_ascending", "error", "offer_id",
     "FROM price_tier t JOIN price_tier u ON u.offer_id = t.offer_id AND "
     "u.tier_ord = t.tier_ord + 1 JOIN product p ON p.offer_id = t.offer_id "
     "WHERE " LIVE " AND u.start_qty <= t.start_qty",
     "price tier start quantities strictly increase"},
    {"sku_stock_nonnegative", "error", "offer_id",
     "FROM sku s JOIN product p ON p.offer_id = s.offer_id WHERE " LIVE
     " AND s.stock < 0",
     "SKU stock >= 0"},
    {"supplier_ref", "error", "offer_id",
     "FROM product p WHERE " LIVE " AND p.supplier_id IS NOT NULL AND "
     "NOT EXISTS (SELECT 1 FROM supplier s WHERE "
     "s.supplier_id = p.supplier_id)",
     "a product's supplier exists"},
    {"image_ref", "error", "offer_id",
     "FROM product_image pi JOIN product p ON p.offer_id = pi.offer_id "
     "WHERE " LIVE " AND NOT EXISTS (SELECT 1 FROM image i WHERE "
     "i.image_id = pi.image_id)",
     "every product image link names an image"},
    {"image_not_downloaded", "warning", "image_id",
     "FROM image i WHERE i.status <> 'downloaded' AND i.duplicate_of IS "
     "NULL AND EXISTS (SELECT 1 FROM product_image pi JOIN product p ON "
     "p.offer_id = pi.offer_id WHERE pi.image_id = i.image_id AND " LIVE ")",
     "every image of a product was downloaded"},
    {"category_ref", "warning", "offer_id",
     "FROM product p WHERE " LIVE " AND p.category_id IS NOT NULL AND "
     "NOT EXISTS (SELECT 1 FROM category c WHERE "
     "c.category_id = p.category_id)",
     "a product's category was synced"},
};

#define NRULES (sizeof rules / sizeof rules[0])

static int
oom(syncq_error *err)
{
    return sq_fail(err, SYNCQ_ENOMEM, "out of memory validating");
}

static json_t *
rule_json(const char *name, const char *severity, const char *id_kind,
          const char *doc, int64_t count, json_t *ids)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "rule", name, "severity",
                     severity, "id_kind", id_kind, "doc", doc, "count",
                     (json_int_t)count, "ids", ids);
}

static int
eval_rule(struct sq_db *db, const struct rule *r, int sample, json_t *out,
          int64_t *count_out, syncq_error *err)
{
    char sql[1400];
    struct sq_db_stmt *st;
    json_t *ids = json_array();
    json_t *o;
    const char *idcol =
        strcmp(r->id_kind, "image_id") == 0 ? "i.image_id" : "p.offer_id";
    int64_t count = 0;
    int rc;

    if (ids == NULL) {
        return oom(err);
    }
    snprintf(sql, sizeof sql, "SELECT COUNT(DISTINCT %s) %s", idcol, r->where);
    rc = sq_db_query_i64(db, sql, false, 0, &count, err);
    if (rc == SYNCQ_OK && count > 0 && sample > 0) {
        snprintf(sql, sizeof sql,
                 "SELECT DISTINCT %s %s ORDER BY %s "
                 "LIMIT ?",
                 idcol, r->where, idcol);
        rc = sq_db_prepare(db, sql, &st, err);
        if (rc == SYNCQ_OK) {
            sq_db_bind_i64(st, 1, sample);
            while ((rc = sq_db_step(st, err)) == 1) {
                json_array_append_new(ids, json_integer(sq_db_col_i64(st, 0)));
            }
            rc = rc < 0 ? rc : SYNCQ_OK;
        }
    }
    if (rc != SYNCQ_OK) {
        json_decref(ids);
        sq_error_prefix(err, r->name);
        return rc;
    }
    o = rule_json(r->name, r->severity, r->id_kind, r->doc, count, ids);
    if (o == NULL || json_array_append_new(out, o) != 0) {
        return oom(err);
    }
    *count_out = count;
    return SYNCQ_OK;
}

/* Downloaded images of live products whose file is gone. */
static int
check_files(struct sq_db *db, const struct sq_validate_opts *o, json_t *out,
            int64_t *count_out, syncq_error *err)
{
    static const char sql[] =
        "SELECT i.image_id, i.local_path FROM image i WHERE i.image_id > ? "
        "AND i.status = 'downloaded' AND EXISTS (SELECT 1 FROM product_image "
        "pi JOIN product p ON p.offer_id = pi.offer_id WHERE "
        "pi.image_id = i.image_id AND " LIVE ") ORDER BY i.image_id LIMIT ?";
    json_t *ids = json_array();
    json_t *r;
    int64_t cursor = 0;
    int64_t count = 0;
    int rc = SYNCQ_OK;

    if (ids == NULL) {
        return oom(err);
    }
    for (;;) {
        struct sq_db_stmt *st;
        int64_t page_ids[PAGE];
        char *paths[PAGE];
        int n = 0;
        rc = sq_db_prepare(db, sql, &st, err);
        if (rc != SYNCQ_OK) {
            break;
        }
        sq_db_bind_i64(st, 1, cursor);
        sq_db_bind_i64(st, 2, PAGE);
        while ((rc = sq_db_step(st, err)) == 1) {
            const char *pth = sq_db_col_text(st, 1);
            page_ids[n] = sq_db_col_i64(st, 0);
            paths[n] = sq_strdup(pth != NULL ? pth : "");
            n++;
        }
        for (int i = 0; i < n; i++) {
            struct stat sb;
            char full[4096];
            bool ok = false;
            if (paths[i] != NULL && paths[i][0] != '\0') {
                if (paths[i][0] == '/' || o->media_dir == NULL) {
                    snprintf(full, sizeof full, "%s", paths[i]);
                } else {
                    snprintf(full, sizeof full, "%s/%s", o->media_dir,
                             paths[i]);
                }
                ok = stat(full, &sb) == 0 && S_ISREG(sb.st_mode) &&
                     sb.st_size > 0;
            }
            if (!ok) {
                count++;
                if ((int64_t)json_array_size(ids) < o->sample) {
                    json_array_append_new(ids, json_integer(page_ids[i]));
                }
            }
            sq_free(paths[i]);
            cursor = page_ids[i];
        }
        if (rc < 0 || n < PAGE) {
            break;
        }
    }
    if (rc < 0) {
        json_decref(ids);
        return rc;
    }
    r = rule_json("image_file_missing", "error", "image_id",
                  "every downloaded image of a product is on disk", count, ids);
    if (r == NULL || json_array_append_new(out, r) != 0) {
        return oom(err);
    }
    *count_out = count;
    return SYNCQ_OK;
}

/* Is `part` (len n) among the offer's SKU property values? */
static bool
has_value(json_t *vals, const char *part, size_t n)
{
    size_t i;
    json_t *v;

    json_array_foreach(vals, i, v)
    {
        const char *s = json_string_value(v);
        if (s != NULL && strlen(s) == n && memcmp(s, part, n) == 0) {
            return true;
        }
    }
    return false;
}

/* Every part of a SKU's spec_text ("红色>XL"; pages write "&gt;") must
 * be one of the offer's SKU property values. */
static bool
spec_ok(json_t *vals, const char *spec)
{
    const char *p = spec;

    while (*p != '\0') {
        const char *gt = strstr(p, "&gt;");
        const char *ch = strchr(p, '>');
        const char *end;
        size_t skip;
        if (gt != NULL && (ch == NULL || gt < ch)) {
            end = gt;
            skip = 4;
        } else if (ch != NULL) {
            end = ch;
            skip = 1;
        } else {
            end = p + strlen(p);
            skip = 0;
        }
        if (end > p && !has_value(vals, p, (size_t)(end - p))) {
            return false;
        }
        p = end + skip;
        if (skip == 0) {
            break;
        }
    }
    return true;
}

static int
cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* One page of offers: their SKU property values and spec texts read by
 * two range queries (not two per offer). *bad_out counts offers with a
 * spec part that is not among their values. */
struct spec_page {
    int64_t offers[PAGE];
    json_t *vals[PAGE];
    bool bad[PAGE];
    int n;
};

static int
page_index(const struct spec_page *pg, int64_t id)
{
    const int64_t *hit = bsearch(&id, pg->offers, (size_t)pg->n,
                                 sizeof id, cmp_id);

    return hit != NULL ? (int)(hit - pg->offers) : -1;
}

/* Each row (offer_id, text) of `sql` over the page's offer id range,
 * for an offer of the page: pass 0 collects values, pass 1 checks
 * specs. */
static int
spec_pass(struct sq_db *db, struct spec_page *pg, int pass, syncq_error *err)
{
    static const char *const sqls[2] = {
        "SELECT offer_id, value FROM sku_prop_value WHERE offer_id >= ? "
        "AND offer_id <= ?",
        "SELECT offer_id, spec_text FROM sku WHERE offer_id >= ? AND "
        "offer_id <= ? AND spec_text IS NOT NULL",
    };
    struct sq_db_stmt *st;
    int rc = sq_db_prepare(db, sqls[pass], &st, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, pg->offers[0]);
    sq_db_bind_i64(st, 2, pg->offers[pg->n - 1]);
    while ((rc = sq_db_step(st, err)) == 1) {
        int k = page_index(pg, sq_db_col_i64(st, 0));
        const char *v = sq_db_col_text(st, 1);
        if (k < 0 || (pass == 1 && json_array_size(pg->vals[k]) == 0)) {
            continue; /* an offer without property values is not checked */
        }
        if (pass == 0 &&
            json_array_append_new(pg->vals[k], json_string(v ? v : "")) != 0) {
            sq_db_reset(st);
            return oom(err);
        }
        if (pass == 1 && !pg->bad[k] && !spec_ok(pg->vals[k], v)) {
            pg->bad[k] = true;
        }
    }
    return rc < 0 ? rc : SYNCQ_OK;
}

static int
check_spec_page(struct sq_db *db, struct spec_page *pg, syncq_error *err)
{
    int rc;

    for (int i = 0; i < pg->n; i++) {
        pg->bad[i] = false;
        pg->vals[i] = json_array();
        if (pg->vals[i] == NULL) {
            return oom(err);
        }
    }
    rc = spec_pass(db, pg, 0, err);
    return rc == SYNCQ_OK ? spec_pass(db, pg, 1, err) : rc;
}

static int
check_specs(struct sq_db *db, const struct sq_validate_opts *o, json_t *out,
            int64_t *count_out, syncq_error *err)
{
    /* Pages of live products by primary key: the offers with specs and
     * values are picked out by the two range queries. */
    static const char offers_sql[] =
        "SELECT p.offer_id FROM product p WHERE p.offer_id > ? AND " LIVE
        " ORDER BY p.offer_id LIMIT ?";
    struct spec_page *pg = sq_calloc(1, sizeof *pg);
    json_t *ids = json_array();
    json_t *r;
    int64_t cursor = 0;
    int64_t count = 0;
    int rc = SYNCQ_OK;

    if (ids == NULL || pg == NULL) {
        sq_free(pg);
        json_decref(ids);
        return oom(err);
    }
    for (;;) {
        struct sq_db_stmt *st;
        pg->n = 0;
        rc = sq_db_prepare(db, offers_sql, &st, err);
        if (rc != SYNCQ_OK) {
            break;
        }
        sq_db_bind_i64(st, 1, cursor);
        sq_db_bind_i64(st, 2, PAGE);
        while ((rc = sq_db_step(st, err)) == 1) {
            pg->offers[pg->n++] = sq_db_col_i64(st, 0);
        }
        if (rc < 0 || pg->n == 0) {
            break;
        }
        rc = check_spec_page(db, pg, err);
        for (int i = 0; i < pg->n; i++) {
            if (rc == SYNCQ_OK && pg->bad[i]) {
                count++;
                if ((int64_t)json_array_size(ids) < o->sample) {
                    json_array_append_new(ids, json_integer(pg->offers[i]));
                }
            }
            json_decref(pg->vals[i]);
            pg->vals[i] = NULL;
        }
        cursor = pg->offers[pg->n - 1];
        if (rc != SYNCQ_OK || pg->n < PAGE) {
            break;
        }
    }
    sq_free(pg);
    if (rc < 0) {
        json_decref(ids);
        return rc;
    }
    r = rule_json("sku_spec_values", "warning", "offer_id",
                  "every part of a SKU's spec_text is one of the offer's "
                  "SKU property values",
                  count, ids);
    if (r == NULL || json_array_append_new(out, r) != 0) {
        return oom(err);
    }
    *count_out = count;
    return SYNCQ_OK;
}

int
sq_ds_validate(struct sq_db *db, const struct sq_validate_opts *o,
               const struct sq_progress *p, json_t **report, syncq_error *err)
{
    static const struct {
        const char *key;
        const char *sql;
    } checked[] = {
        {"products", "SELECT COUNT(*) FROM product p WHERE " LIVE},
        {"skus", "SELECT COUNT(*) FROM sku s JOIN product p ON "
                 "p.offer_id = s.offer_id WHERE " LIVE},
        {"price_tiers", "SELECT COUNT(*) FROM price_tier t JOIN product p "
                        "ON p.offer_id = t.offer_id WHERE " LIVE},
        {"images", "SELECT COUNT(DISTINCT pi.image_id) FROM product_image "
                   "pi JOIN product p ON p.offer_id = pi.offer_id WHERE " LIVE},
        {"suppliers", "SELECT COUNT(*) FROM supplier"},
        {"categories", "SELECT COUNT(*) FROM category"},
    };
    int64_t started = syncq_mono_ms();
    json_t *rep = NULL;
    json_t *chk = NULL;
    json_t *list = NULL;
    int64_t errors = 0;
    int64_t warnings = 0;
    int64_t total_steps = (int64_t)NRULES + 2;
    int64_t step = 0;
    int rc = SYNCQ_OK;

    *report = NULL;
    if (o->sample < 0 || o->sample > 10000) {
        return sq_fail(err, SYNCQ_EINVAL, "sample %d out of range 0..10000",
                       o->sample);
    }
    chk = json_object();
    list = json_array();
    if (chk == NULL || list == NULL) {
        rc = oom(err);
        goto done;
    }
    for (size_t i = 0; i < sizeof checked / sizeof checked[0]; i++) {
        int64_t n = 0;
        rc = sq_db_query_i64(db, checked[i].sql, false, 0, &n, err);
        if (rc != SYNCQ_OK) {
            goto done;
        }
        json_object_set_new(chk, checked[i].key, json_integer(n));
    }
    for (size_t i = 0; i < NRULES; i++) {
        int64_t n = 0;
        rc = eval_rule(db, &rules[i], o->sample, list, &n, err);
        if (rc != SYNCQ_OK) {
            goto done;
        }
        if (strcmp(rules[i].severity, "error") == 0) {
            errors += n;
        } else {
            warnings += n;
        }
        sq_progress_report(p, ++step, total_steps, rules[i].name);
    }
    if (o->check_files) {
        int64_t n = 0;
        rc = check_files(db, o, list, &n, err);
        if (rc != SYNCQ_OK) {
            goto done;
        }
        errors += n;
    }
    sq_progress_report(p, ++step, total_steps, "image files");
    {
        int64_t n = 0;
        rc = check_specs(db, o, list, &n, err);
        if (rc != SYNCQ_OK) {
            goto done;
        }
        warnings += n;
    }
    sq_progress_report(p, total_steps, total_steps, "done");
    rep = json_pack("{s:b, s:I, s:I, s:O, s:O, s:b, s:I}", "ok", errors == 0,
                    "errors", (json_int_t)errors, "warnings",
                    (json_int_t)warnings, "checked", chk, "rules", list,
                    "files_checked", o->check_files, "elapsed_ms",
                    (json_int_t)(syncq_mono_ms() - started));
    if (rep == NULL) {
        rc = oom(err);
        goto done;
    }
    {
        /* Keep the report with the other runs (best effort). */
        struct sq_db_stmt *st;
        char now[40];
        char *text = json_dumps(rep, JSON_COMPACT);
        if (text != NULL &&
            sq_db_prepare(db,
                          "INSERT INTO sync_run (task, task_id, "
                          "started_at, finished_at, status, failed, report) "
                          "VALUES ('data_sync.validate_data', ?, ?, ?, ?, ?, "
                          "?)",
                          &st, NULL) == SYNCQ_OK) {
            sq_ds_now_iso(now, sizeof now);
            sq_db_bind_text(st, 1, o->task_id);
            sq_db_bind_text(st, 2, now);
            sq_db_bind_text(st, 3, now);
            sq_db_bind_text(st, 4, errors == 0 ? "ok" : "violations");
            sq_db_bind_i64(st, 5, errors);
            sq_db_bind_text(st, 6, text);
            (void)sq_db_step(st, NULL);
        }
        sq_free(text);
    }
    *report = rep;
done:
    json_decref(chk);
    json_decref(list);
    return rc;
}
