/* SPDX-License-Identifier: MIT
 *
 * test_db_fixtures.c: the hand-over between the crawler and data_sync on
 * every real 1688 sample in tests/fixtures/1688/raw: the crawler's
 * parsers normalise each body, sq_db_raw_put stages it, sync_products and
 * sync_suppliers store it, and the stored products read back equal to
 * what was parsed (canonical form). Values asserted: ids, prices in fen,
 * SKU and tier counts, supplier and category rows.
 */
#include "sq_test.h"

#include "sq_alloc.h"
#include "crawler/crawler_parse.h"
#include "data_sync/ds_catalog.h"
#include "data_sync/ds_sync.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[600];

/* A fixture's bytes (binary-safe length). */
static char *
fixture(const char *name, size_t *len)
{
    char rel[256];
    FILE *f;
    char *b;
    long n;

    snprintf(rel, sizeof rel, "1688/raw/%s", name);
    f = fopen(sqt_fixture(rel), "rb");
    if (f == NULL) {
        fail_msg("fixture %s missing (SYNCQ_FIXTURES)", rel);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
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

/* Parse an offer fixture and stage it under its own id. */
static json_t *
stage_offer(struct sq_db *db, const char *name, const char *kind,
            int64_t expect_id)
{
    size_t len = 0;
    char *body = fixture(name, &len);
    json_t *rec = NULL;
    syncq_error err;
    char key[32];
    char *text;

    if (sq_1688_offer_parse(body, len, expect_id, &rec, &err) != SYNCQ_OK) {
        fail_msg("%s: %s", name, err.msg);
    }
    snprintf(key, sizeof key, "%lld",
             (long long)json_integer_value(json_object_get(rec, "offer_id")));
    text = json_dumps(rec, JSON_COMPACT);
    assert_int_equal(
        sq_db_raw_put(db, kind, key, 200, "ok", body, len, text, &err),
        SYNCQ_OK);
    sq_free(text);
    free(body);
    return rec;
}

static void
every_fixture_syncs_and_reads_back(void **state)
{
    /* The classic sample is a request body without an id: the crawler
     * gives it the id that was asked for. */
    static const struct {
        const char *file;
        const char *kind;
        int64_t id;
    } offers[] = {
        {"api-product-info-classic.json", "api_detail", 620201390233LL},
        {"detail-page-init-data-sku-priced.json", "detail_page", 0},
        {"detail-page-init-data-range-priced.json", "detail_page", 0},
    };
    struct sq_db *db = NULL;
    struct sq_sync_opts o;
    json_t *parsed[3];
    json_t *res = NULL;
    syncq_error err;
    char path[700];
    size_t len;
    char *body;
    json_t *rec = NULL;
    char *text;

    (void)state;
    snprintf(path, sizeof path, "%s/catalog.db", dir);
    assert_int_equal(sq_db_open(path, &db, &err), SYNCQ_OK);
    for (size_t i = 0; i < 3; i++) {
        parsed[i] =
            stage_offer(db, offers[i].file, offers[i].kind, offers[i].id);
    }
    /* The listing page, the category tree and the shop. */
    body = fixture("search-keyword-tmapi.json", &len);
    assert_int_equal(sq_1688_listing_parse(body, len, 1031910, &rec, &err),
                     SYNCQ_OK);
    text = json_dumps(rec, JSON_COMPACT);
    assert_int_equal(sq_db_raw_put(db, "search", "1031910:1", 200, "ok", body,
                                   len, text, &err),
                     SYNCQ_OK);
    {
        size_t listed = json_array_size(json_object_get(rec, "offers"));
        assert_true(listed > 0);
        json_decref(rec);
        sq_free(text);
        free(body);
        body = fixture("category-children-crossborder-translation.json", &len);
        assert_int_equal(sq_1688_category_parse(body, len, &rec, &err),
                         SYNCQ_OK);
        text = json_dumps(rec, JSON_COMPACT);
        assert_int_equal(sq_db_raw_put(db, "category", "0", 200, "ok", body,
                                       len, text, &err),
                         SYNCQ_OK);
        {
            size_t kids = json_array_size(json_object_get(rec, "children"));
            json_decref(rec);
            sq_free(text);
            free(body);
            body = fixture("shop-info-tmapi.json", &len);
            assert_int_equal(sq_1688_supplier_parse(body, len, &rec, &err),
                             SYNCQ_OK);
            text = json_dumps(rec, JSON_COMPACT);
            assert_int_equal(sq_db_raw_put(db, "shop", "shop", 200, "ok", body,
                                           len, text, &err),
                             SYNCQ_OK);
            json_decref(rec);
            sq_free(text);
            free(body);

            sq_sync_opts_init(&o);
            assert_int_equal(sq_ds_sync_products(db, &o, NULL, &res, &err),
                             SYNCQ_OK);
            if (json_integer_value(json_object_get(res, "failed")) != 0) {
                char *d = json_dumps(res, 0);
                fail_msg("failed records: %s", d);
            }
            assert_int_equal(json_integer_value(json_object_get(
                                 json_object_get(res, "products"), "inserted")),
                             3);
            /* Root node + its children. */
            assert_int_equal(count(db, "SELECT COUNT(*) FROM category"),
                             (int64_t)kids + 1);
            /* Listing stubs only for offers not stored in detail. */
            assert_int_equal(
                count(db, "SELECT COUNT(*) FROM product WHERE "
                          "source = 'list'"),
                json_integer_value(json_object_get(
                    json_object_get(res, "listings"), "inserted")));
            assert_int_equal(count(db, "SELECT COUNT(*) FROM product"),
                             3 + count(db, "SELECT COUNT(*) FROM product "
                                           "WHERE source = 'list'"));
            assert_true((int64_t)listed >=
                        count(db, "SELECT COUNT(*) FROM product WHERE "
                                  "source = 'list'"));
            json_decref(res);
        }
    }
    sq_sync_opts_init(&o);
    assert_int_equal(sq_ds_sync_suppliers(db, &o, NULL, &res, &err), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(res, "failed")), 0);
    assert_int_equal(json_integer_value(json_object_get(res, "inserted")) +
                         json_integer_value(json_object_get(res, "updated")),
                     1);
    json_decref(res);
    /* Each stored offer reads back as the crawler parsed it. */
    for (size_t i = 0; i < 3; i++) {
        json_t *canon = NULL;
        json_t *back = NULL;
        char h1[65];
        char h2[65];
        int64_t id =
            (int64_t)json_integer_value(json_object_get(parsed[i], "offer_id"));
        assert_int_equal(sq_ds_offer_canonical(parsed[i], &canon, NULL, &err),
                         SYNCQ_OK);
        assert_int_equal(sq_ds_offer_load(db, id, &back, &err), SYNCQ_OK);
        /* The supplier row may have been enriched by the shop record;
         * compare the offer itself. */
        json_object_del(canon, "supplier");
        json_object_del(back, "supplier");
        sq_ds_content_hash(canon, h1, NULL);
        sq_ds_content_hash(back, h2, NULL);
        if (strcmp(h1, h2) != 0) {
            char *a = json_dumps(canon, JSON_SORT_KEYS);
            char *b = json_dumps(back, JSON_SORT_KEYS);
            fail_msg("%s does not read back:\n%s\n%s", offers[i].file, a, b);
        }
        assert_int_equal(json_array_size(json_object_get(back, "skus")),
                         json_array_size(json_object_get(canon, "skus")));
        json_decref(canon);
        json_decref(back);
        json_decref(parsed[i]);
    }
    assert_int_equal(count(db, "SELECT COUNT(*) FROM product WHERE "
                               "source <> 'list' AND price_min_fen > 0"),
                     3);
    /* A second incremental run has nothing to do. */
    assert_int_equal(sq_ds_sync_products(db, &o, NULL, &res, &err), SYNCQ_OK);
    assert_int_equal(json_integer_value(json_object_get(res, "records")), 0);
    json_decref(res);
    sq_db_close(db);
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
        cmocka_unit_test(every_fixture_syncs_and_reads_back),
    };
    int rc;

    snprintf(dir, sizeof dir, "%s/fixtures-%d", sqt_tmpdir(), (int)getpid());
    mkdir(dir, 0755);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
