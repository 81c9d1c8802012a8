/* SPDX-License-Identifier: MIT
 *
 * ds_offer_links.c: the image rows and image links of a batch of offers
 * on PostgreSQL (ds_offer_links.h), written by COPY straight into image
 * and product_image: one lookup of the page's url_keys, the ids of the
 * new images drawn from image's sequence in one statement, then one COPY
 * per table. Against staging the links and merging them (INSERT ...
 * SELECT ... ON CONFLICT, then a join for the ids: what SQLite still
 * does, ds_offer_batch.c) this skips the staging table, the sort and the
 * speculative insertion of every image, and a lookup per link; measured,
 * the image path was half the server's time of a first sync.
 */
#include "data_sync/ds_offer_links.h"
#include "data_sync/ds_offer.h"
#include "db/ds_util.h"
#include "db/sq_db_rows.h"
#include "sq_alloc.h"
#include "sq_error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct link {
    int64_t offer_id;
    const char *role; /* borrowed from the offer (lives until clear) */
    int64_t ord;
    char *key;        /* owned */
    const char *url;  /* borrowed */
    int64_t image_id; /* 0: not known yet */
};

struct sq_ds_links {
    struct link *l;
    size_t n, cap;
    size_t *byk; /* link indexes by (key, index): a key's first link first */
    struct sq_db_rows *sel, *img, *lnk;
};

int
sq_ds_links_new(struct sq_ds_links **out, syncq_error *err)
{
    struct sq_ds_links *L = sq_calloc(1, sizeof *L);
    int rc;

    *out = NULL;
    if (L == NULL) {
        return sq_ds_oom(err);
    }
    rc = sq_db_rows_new("SELECT url_key, image_id FROM image WHERE url_key "
                        "IN (",
                        "?", ")", &L->sel, err);
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_new_copy("image", "image_id, url_key, url, status",
                                 &L->img, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_new_copy("product_image",
                                 "offer_id, role, ord, image_id", &L->lnk,
                                 err);
    }
    if (rc != SYNCQ_OK) {
        sq_ds_links_free(L);
        return rc;
    }
    *out = L;
    return SYNCQ_OK;
}

void
sq_ds_links_clear(struct sq_ds_links *L)
{
    for (size_t i = 0; i < L->n; i++) {
        sq_free(L->l[i].key);
    }
    L->n = 0;
    /* Each buffer on its own: sq_ds_links_new may fail between them. */
    if (L->sel != NULL) {
        sq_db_rows_clear(L->sel);
    }
    if (L->img != NULL) {
        sq_db_rows_clear(L->img);
    }
    if (L->lnk != NULL) {
        sq_db_rows_clear(L->lnk);
    }
}

void
sq_ds_links_free(struct sq_ds_links *L)
{
    if (L == NULL) {
        return;
    }
    sq_ds_links_clear(L);
    sq_db_rows_free(L->sel);
    sq_db_rows_free(L->img);
    sq_db_rows_free(L->lnk);
    sq_free(L->l);
    sq_free(L->byk);
    sq_free(L);
}

int
sq_ds_links_add(struct sq_ds_links *L, int64_t offer_id, const char *role,
                int64_t ord, const char *key, const char *url,
                syncq_error *err)
{
    if (L->n == L->cap) {
        size_t cap = L->cap > 0 ? L->cap * 2 : 256;
        struct link *l = sq_realloc(L->l, cap * sizeof *l);
        size_t *byk = sq_realloc(L->byk, cap * sizeof *byk);
        if (l != NULL) {
            L->l = l;
        }
        if (byk != NULL) {
            L->byk = byk;
        }
        if (l == NULL || byk == NULL) {
            return sq_ds_oom(err);
        }
        L->cap = cap;
    }
    L->l[L->n] = (struct link){offer_id, role, ord, sq_strdup(key), url, 0};
    if (L->l[L->n].key == NULL) {
        return sq_ds_oom(err);
    }
    L->n++;
    return SYNCQ_OK;
}

size_t
sq_ds_links_count(const struct sq_ds_links *L)
{
    return L->n;
}

static int
cmp_key(const void *a, const void *b, void *links)
{
    const struct link *l = links;
    size_t x = *(const size_t *)a;
    size_t y = *(const size_t *)b;
    int c = strcmp(l[x].key, l[y].key);

    return c != 0 ? c : (x > y) - (x < y);
}

/* The first link of `key` (by byk), or NULL. */
static struct link *
find_key(struct sq_ds_links *L, const char *key)
{
    size_t lo = 0;
    size_t hi = L->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(L->l[L->byk[mid]].key, key) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < L->n && strcmp(L->l[L->byk[lo]].key, key) == 0
               ? &L->l[L->byk[lo]]
               : NULL;
}

static int
got_image(struct sq_db_stmt *st, void *ud, syncq_error *err)
{
    const char *key = sq_db_col_text(st, 0);
    struct link *first = key != NULL ? find_key(ud, key) : NULL;

    (void)err;
    if (first != NULL) {
        first->image_id = sq_db_col_i64(st, 1);
    }
    return SYNCQ_OK;
}

/* Ids for the images not stored yet (their first links, in link order),
 * from image's own sequence: one statement for all of them. */
static int
new_ids(struct sq_db *db, struct sq_ds_links *L, size_t fresh,
        syncq_error *err)
{
    struct sq_db_stmt *st;
    size_t i = 0;
    size_t got = 0;
    /* The sequence named once (MATERIALIZED): resolved per row, its
     * catalog lookup cost 4 us an id, seven times nextval itself. */
    int rc = sq_db_prepare(db,
                           "WITH s AS MATERIALIZED (SELECT CAST("
                           "pg_get_serial_sequence('image', 'image_id') AS "
                           "regclass) AS seq) SELECT nextval(s.seq) FROM s, "
                           "generate_series(1, ?) ORDER BY 1",
                           &st, err);

    if (rc != SYNCQ_OK) {
        return rc;
    }
    sq_db_bind_i64(st, 1, (int64_t)fresh);
    while ((rc = sq_db_step(st, err)) == 1) {
        while (i < L->n && L->l[i].image_id != -1) {
            i++;
        }
        if (i < L->n) {
            got++;
            L->l[i].image_id = sq_db_col_i64(st, 0);
            sq_db_rows_add_i64(L->img, L->l[i].image_id);
            sq_db_rows_add_text(L->img, L->l[i].key);
            sq_db_rows_add_text(L->img, L->l[i].url);
            sq_db_rows_add_text(L->img, "pending");
        }
    }
    if (rc >= 0 && got != fresh) {
        return sq_fail(err, SYNCQ_EINTERNAL, "%zu image ids drawn for %zu "
                       "new images", got, fresh);
    }
    return rc < 0 ? rc : SYNCQ_OK;
}

int
sq_ds_links_write(struct sq_db *db, struct sq_ds_links *L, syncq_error *err)
{
    size_t fresh = 0;
    int rc;

    if (L->n == 0) {
        return SYNCQ_OK;
    }
    for (size_t i = 0; i < L->n; i++) {
        L->byk[i] = i;
    }
    qsort_r(L->byk, L->n, sizeof L->byk[0], cmp_key, L->l);
    for (size_t k = 0; k < L->n; k++) {
        if (k == 0 || strcmp(L->l[L->byk[k]].key, L->l[L->byk[k - 1]].key)) {
            sq_db_rows_add_text(L->sel, L->l[L->byk[k]].key);
        }
    }
    rc = sq_db_rows_run(db, L->sel, got_image, L, NULL, err);
    /* A key's first link without an id: a new image (-1 until drawn). */
    for (size_t k = 0; k < L->n && rc == SYNCQ_OK; k++) {
        struct link *x = &L->l[L->byk[k]];
        bool first = k == 0 || strcmp(x->key, L->l[L->byk[k - 1]].key) != 0;
        if (first && x->image_id == 0) {
            x->image_id = -1;
            fresh++;
        }
    }
    if (rc == SYNCQ_OK && fresh > 0) {
        rc = new_ids(db, L, fresh, err);
    }
    if (rc == SYNCQ_OK) {
        /* Another writer's new image since the lookup fails this COPY
         * with a unique violation: the page runs again and finds it. */
        rc = sq_db_rows_run(db, L->img, NULL, NULL, NULL, err);
        if (rc != SYNCQ_OK) {
            (void)sq_db_lost_insert_race(db);
        }
    }
    for (size_t k = 1; k < L->n && rc == SYNCQ_OK; k++) {
        struct link *x = &L->l[L->byk[k]];
        const struct link *prev = &L->l[L->byk[k - 1]];
        if (strcmp(x->key, prev->key) == 0) {
            x->image_id = prev->image_id;
        }
    }
    for (size_t i = 0; i < L->n && rc == SYNCQ_OK; i++) {
        sq_db_rows_add_i64(L->lnk, L->l[i].offer_id);
        sq_db_rows_add_text(L->lnk, L->l[i].role);
        sq_db_rows_add_i64(L->lnk, L->l[i].ord);
        sq_db_rows_add_i64(L->lnk, L->l[i].image_id);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_run(db, L->lnk, NULL, NULL, NULL, err);
    }
    sq_ds_links_clear(L);
    return rc;
}
