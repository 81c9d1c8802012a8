/* SPDX-License-Identifier: MIT
 *
 * ds_offer_batch.c: the write of canonical offers (ds_catalog.h), many
 * at a time. A batch of offers costs one lookup of the stored content
 * hashes, the supplier resolution (sq_ds_supplier_resolve), one
 * multi-row upsert of product rows, one delete per child table for the
 * offers that existed, one multi-row insert (COPY on PostgreSQL) per
 * child table, and the image links staged in a temp table from which
 * two INSERT ... SELECT create the images and the links: about
 * twenty statements whatever the batch size, where a
 * row at a time cost some thirty round trips per offer on PostgreSQL.
 * sq_ds_offer_store is a batch of one, so both paths are the same code.
 */
#include "data_sync/ds_catalog.h"
#include "data_sync/ds_offer.h"
#include "data_sync/ds_offer_links.h"
#include "db/ds_util.h"
#include "db/sq_db_rows.h"
#include "sq_alloc.h"
#include "sq_buf.h"
#include "sq_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    json_t *canon;
    int64_t offer_id;
    char hash[65];
    size_t u;       /* index into the batch's unique ids */
    bool write;     /* outcome inserted or updated */
    bool last;      /* the last write of its offer: the one stored */
    int64_t supplier_id;
    bool has_sup;
    const struct sq_ds_child_copy *pre; /* child rows made ahead, or NULL */
};

struct uid {
    int64_t id;
    bool in_db;      /* a product row existed before the batch */
    bool exists;     /* ... or does after the entries seen so far */
    char hash[65];   /* content hash stored so far ("" for NULL) */
    bool written;
};

enum {
    R_SEL,
    R_PRODUCT,       /* PostgreSQL: into sq_stage_product, then upsert */
    R_PRODUCT_NEW,   /* PostgreSQL: new offers, COPY into product */
    R_PRODUCT_VALUES, /* SQLite: INSERT ... VALUES ... ON CONFLICT */
    R_DEL, /* six of them, one per child table */
    R_ATTR = R_DEL + 6,
    R_PROP,
    R_PROPVAL,
    R_SKU,
    R_TIER,
    R_STAGE, /* the image links, into the temp table sq_stage_image */
    NROWS
};

struct sq_ds_offer_batch {
    bool force;
    struct entry *e;
    size_t n;
    size_t cap;
    struct uid *u;
    size_t nu;
    struct sq_db_rows *rows[NROWS];
    int64_t nlinks; /* image links staged (their order: seq) */
    struct sq_ds_links *links; /* PostgreSQL: image links by COPY */
    char *upsert;   /* product rows: staged, then this */
    char *ddl[2];   /* the staging tables: SQLite, PostgreSQL */
};

static const char *const child_tables[6] = {
    "product_attribute", "sku_prop", "sku_prop_value",
    "sku",               "price_tier", "product_image",
};

/* The product columns a write sets, from sq_ds_offer_cols. */
static char *
product_cols(void)
{
    struct sq_buf b;

    sq_buf_init(&b, 0);
    for (size_t i = 0; i < sq_ds_offer_cols.n; i++) {
        sq_buf_printf(&b, "%s, ", sq_ds_offer_cols.f[i].key);
    }
    sq_buf_adds(&b, "supplier_id, content_hash, fingerprint, first_seen, "
                    "synced_at");
    return sq_buf_steal(&b);
}

/* The upsert of the product rows (one per offer: no row is affected
 * twice) from `source`. duplicate_of and first_seen survive an update. */
static char *
product_upsert(const char *source)
{
    struct sq_buf b;

    sq_buf_init(&b, 0);
    sq_buf_adds(&b, source);
    sq_buf_adds(&b, " ON CONFLICT (offer_id) DO UPDATE SET ");
    for (size_t i = 1; i < sq_ds_offer_cols.n; i++) {
        sq_buf_printf(&b, "%s = excluded.%s, ", sq_ds_offer_cols.f[i].key,
                      sq_ds_offer_cols.f[i].key);
    }
    sq_buf_adds(&b, "supplier_id = excluded.supplier_id, "
                    "content_hash = excluded.content_hash, "
                    "fingerprint = excluded.fingerprint, "
                    "synced_at = excluded.synced_at");
    return sq_buf_steal(&b);
}

/* The product rows: on PostgreSQL staged by COPY and upserted by one
 * INSERT ... SELECT (b->upsert; no 27 parameters a row to bind and no
 * VALUES list to plan), on SQLite, where a statement costs no round
 * trip, upserted by multi-row INSERT ... VALUES directly (staging them
 * too cost SQLite more than it saved). */
static int
product_rows(struct sq_ds_offer_batch *b, const char *cols, syncq_error *err)
{
    char *select = sq_asprintf("INSERT INTO product (%s) SELECT %s FROM "
                               "sq_stage_product WHERE true",
                               cols, cols);
    char *values = sq_asprintf("INSERT INTO product (%s) VALUES", cols);
    char *tail = product_upsert("");
    struct sq_buf row;
    int rc;

    sq_buf_init(&row, 0);
    for (size_t i = 0; i < sq_ds_offer_cols.n + 5; i++) {
        sq_buf_adds(&row, i == 0 ? "(?" : ", ?");
    }
    sq_buf_adds(&row, ")");
    b->upsert = select != NULL ? product_upsert(select) : NULL;
    if (b->upsert == NULL || values == NULL || tail == NULL ||
        row.data == NULL) {
        rc = sq_ds_oom(err);
    } else {
        rc = sq_db_rows_new(values, row.data, tail,
                            &b->rows[R_PRODUCT_VALUES], err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_new_copy("sq_stage_product", cols,
                                 &b->rows[R_PRODUCT], err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_rows_new_copy("product", cols, &b->rows[R_PRODUCT_NEW],
                                 err);
    }
    sq_free(select);
    sq_free(values);
    sq_free(tail);
    sq_buf_cleanup(&row);
    return rc;
}

/* The staging tables, per connection (CREATE ... IF NOT EXISTS: one
 * catalog lookup a batch). Emptied after each use, and on PostgreSQL
 * at every commit too, so their files never keep the dead rows of
 * earlier pages (temp tables are never vacuumed). */
static char *
stage_ddl(bool pg, const char *cols)
{
    const char *temp = pg ? " ON COMMIT DELETE ROWS" : "";

    return sq_asprintf(
        "CREATE TEMP TABLE IF NOT EXISTS sq_stage_image (seq BIGINT, "
        "offer_id BIGINT, role TEXT, ord INTEGER, url_key TEXT, url TEXT)%s; "
        "CREATE TEMP TABLE IF NOT EXISTS sq_stage_product%s AS SELECT %s "
        "FROM product WHERE 1 = 0",
        temp, temp, cols);
}

static int
make_rows(struct sq_ds_offer_batch *b, syncq_error *err)
{
    /* Child rows of a written offer are new (its old ones were deleted
     * first): plain inserts, COPY on PostgreSQL. */
    static const struct {
        int slot;
        const char *table, *cols;
    } copies[] = {
        {R_ATTR, "product_attribute", "offer_id, ord, attr_id, name, value"},
        {R_PROP, "sku_prop", "offer_id, prop_ord, fid, name"},
        {R_PROPVAL, "sku_prop_value",
         "offer_id, prop_ord, value_ord, value, image_url"},
        {R_STAGE, "sq_stage_image", "seq, offer_id, role, ord, url_key, url"},
        {R_SKU, "sku",
         "offer_id, sku_ord, sku_id, spec_id, spec_text, price_fen, "
         "promo_price_fen, retail_price_fen, stock, weight_kg, cargo_number"},
        {R_TIER, "price_tier",
         "offer_id, tier_ord, start_qty, price_fen, promo_price_fen"},
    };
    static const struct {
        int slot;
        const char *head, *row, *tail;
    } fixed[] = {
        {R_SEL, "SELECT offer_id, content_hash FROM product WHERE offer_id "
                "IN (", "?", ")"},
    };
    char *cols = product_cols();
    int rc;

    b->ddl[0] = cols != NULL ? stage_ddl(false, cols) : NULL;
    b->ddl[1] = cols != NULL ? stage_ddl(true, cols) : NULL;
    if (b->ddl[0] != NULL && b->ddl[1] != NULL) {
        rc = product_rows(b, cols, err);
    } else {
        rc = sq_ds_oom(err);
    }
    sq_free(cols);
    for (size_t i = 0; i < 6 && rc == SYNCQ_OK; i++) {
        char del[80];
        snprintf(del, sizeof del, "DELETE FROM %s WHERE offer_id IN (",
                 child_tables[i]);
        rc = sq_db_rows_new(del, "?", ")", &b->rows[R_DEL + i], err);
    }
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && rc == SYNCQ_OK;
         i++) {
        rc = sq_db_rows_new(fixed[i].head, fixed[i].row, fixed[i].tail,
                            &b->rows[fixed[i].slot], err);
    }
    for (size_t i = 0; i < sizeof copies / sizeof copies[0] && rc == SYNCQ_OK;
         i++) {
        rc = sq_db_rows_new_copy(copies[i].table, copies[i].cols,
                                 &b->rows[copies[i].slot], err);
    }
    return rc;
}

int
sq_ds_offer_batch_new(bool force, struct sq_ds_offer_batch **out,
                      syncq_error *err)
{
    struct sq_ds_offer_batch *b = sq_calloc(1, sizeof *b);
    int rc;

    *out = NULL;
    if (b == NULL) {
        return sq_ds_oom(err);
    }
    b->force = force;
    rc = make_rows(b, err);
    if (rc == SYNCQ_OK) {
        rc = sq_ds_links_new(&b->links, err);
    }
    if (rc != SYNCQ_OK) {
        sq_ds_offer_batch_free(b);
        return rc;
    }
    *out = b;
    return SYNCQ_OK;
}

static void
batch_clear(struct sq_ds_offer_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        json_decref(b->e[i].canon);
    }
    b->n = 0;
    b->nu = 0;
    for (int k = 0; k < NROWS; k++) {
        if (b->rows[k] != NULL) {
            sq_db_rows_clear(b->rows[k]);
        }
    }
    b->nlinks = 0;
    if (b->links != NULL) {
        sq_ds_links_clear(b->links);
    }
}

void
sq_ds_offer_batch_free(struct sq_ds_offer_batch *b)
{
    if (b == NULL) {
        return;
    }
    batch_clear(b);
    for (int k = 0; k < NROWS; k++) {
        sq_db_rows_free(b->rows[k]);
    }
    sq_ds_links_free(b->links);
    sq_free(b->e);
    sq_free(b->u);
    sq_free(b->upsert);
    sq_free(b->ddl[0]);
    sq_free(b->ddl[1]);
    sq_free(b);
}

int
sq_ds_offer_batch_add(struct sq_ds_offer_batch *b, json_t *canon,
                      const char *hash, syncq_error *err)
{
    return sq_ds_offer_batch_add_ready(b, canon, hash, NULL, err);
}

int
sq_ds_offer_batch_add_ready(struct sq_ds_offer_batch *b, json_t *canon,
                            const char *hash,
                            const struct sq_ds_child_copy *pre,
                            syncq_error *err)
{
    if (b->n == b->cap) {
        size_t cap = b->cap > 0 ? b->cap * 2 : 64;
        struct entry *e = sq_realloc(b->e, cap * sizeof *e);
        struct uid *u = sq_realloc(b->u, cap * sizeof *u);
        if (e != NULL) {
            b->e = e;
        }
        if (u != NULL) {
            b->u = u;
        }
        if (e == NULL || u == NULL) {
            return sq_ds_oom(err);
        }
        b->cap = cap;
    }
    memset(&b->e[b->n], 0, sizeof b->e[0]);
    b->e[b->n].canon = json_incref(canon);
    b->e[b->n].offer_id =
        (int64_t)json_integer_value(json_object_get(canon, "offer_id"));
    if (hash != NULL) {
        snprintf(b->e[b->n].hash, sizeof b->e[b->n].hash, "%s", hash);
    }
    b->e[b->n].pre = pre;
    b->n++;
    return SYNCQ_OK;
}

size_t
sq_ds_offer_batch_count(const struct sq_ds_offer_batch *b)
{
    return b->n;
}

static int
cmp_uid(const void *a, const void *b)
{
    int64_t x = ((const struct uid *)a)->id;
    int64_t y = ((const struct uid *)b)->id;

    return x < y ? -1 : x > y;
}

static struct uid *
find_uid(struct sq_ds_offer_batch *b, int64_t id)
{
    struct uid key = {.id = id};

    return bsearch(&key, b->u, b->nu, sizeof key, cmp_uid);
}

static int
got_hash(struct sq_db_stmt *st, void *ud, syncq_error *err)
{
    struct uid *u = find_uid(ud, sq_db_col_i64(st, 0));
    const char *h = sq_db_col_text(st, 1);

    (void)err;
    if (u != NULL) {
        u->in_db = true;
        u->exists = true;
        snprintf(u->hash, sizeof u->hash, "%s", h != NULL ? h : "");
    }
    return SYNCQ_OK;
}

/* Unique offer ids, their stored hashes, and each entry's outcome as
 * if the entries were stored one after the other. */
static int
decide(struct sq_db *db, struct sq_ds_offer_batch *b, int *outcomes,
       syncq_error *err)
{
    size_t nu = 0;
    int rc;

    for (size_t i = 0; i < b->n; i++) {
        memset(&b->u[i], 0, sizeof b->u[i]);
        b->u[i].id = b->e[i].offer_id;
        if (b->e[i].hash[0] != '\0') {
            continue; /* given by sq_ds_offer_batch_add */
        }
        rc = sq_ds_canonical_hash(b->e[i].canon, b->e[i].hash, err);
        if (rc != SYNCQ_OK) {
            return rc;
        }
    }
    qsort(b->u, b->n, sizeof b->u[0], cmp_uid);
    for (size_t i = 0; i < b->n; i++) {
        if (nu == 0 || b->u[nu - 1].id != b->u[i].id) {
            b->u[nu++] = b->u[i];
        }
    }
    b->nu = nu;
    for (size_t i = 0; i < nu; i++) {
        sq_db_rows_add_i64(b->rows[R_SEL], b->u[i].id);
    }
    rc = sq_db_rows_run(db, b->rows[R_SEL], got_hash, b, NULL, err);
    if (rc != SYNCQ_OK) {
        return rc;
    }
    for (size_t i = 0; i < b->n; i++) {
        struct entry *e = &b->e[i];
        struct uid *u = find_uid(b, e->offer_id);
        e->u = (size_t)(u - b->u);
        outcomes[i] = SQ_DS_UNCHANGED;
        if (!b->force && u->exists && u->hash[0] != '\0' &&
            strcmp(u->hash, e->hash) == 0) {
            continue;
        }
        outcomes[i] = u->exists ? SQ_DS_UPDATED : SQ_DS_INSERTED;
        e->write = true;
        u->exists = true;
        memcpy(u->hash, e->hash, sizeof u->hash);
    }
    for (size_t i = b->n; i-- > 0;) {
        struct entry *e = &b->e[i];
        if (e->write && !b->u[e->u].written) {
            e->last = true;
            b->u[e->u].written = true;
        }
    }
    return SYNCQ_OK;
}

/* Supplier ids of the entries written, resolved together. */
static int
suppliers(struct sq_db *db, struct sq_ds_offer_batch *b, syncq_error *err)
{
    json_t **sup = sq_calloc(b->n + 1, sizeof *sup);
    int64_t *ids = sq_calloc(b->n + 1, sizeof *ids);
    size_t n = 0;
    int rc = SYNCQ_OK;

    if (sup == NULL || ids == NULL) {
        rc = sq_ds_oom(err);
        goto done;
    }
    for (size_t i = 0; i < b->n; i++) {
        json_t *s = json_object_get(b->e[i].canon, "supplier");
        if (b->e[i].write && s != NULL) {
            sup[n++] = s;
        }
    }
    rc = sq_ds_supplier_resolve(db, sup, n, ids, err);
    n = 0;
    for (size_t i = 0; i < b->n && rc == SYNCQ_OK; i++) {
        if (b->e[i].write && json_object_get(b->e[i].canon, "supplier")) {
            b->e[i].has_sup = true;
            b->e[i].supplier_id = ids[n++];
        }
    }
done:
    sq_free(sup);
    sq_free(ids);
    return rc;
}

/* A product row: on SQLite into the upsert, on PostgreSQL staged for
 * the upsert when the offer is stored already, else straight into
 * product by COPY (one pass over the rows instead of two; an offer
 * another writer inserted since decide() fails the COPY with a unique
 * violation, and the page runs again: sq_db_with_tx). */
static void
add_product(struct sq_ds_offer_batch *b, const struct entry *e,
            const char *now, bool pg)
{
    struct sq_db_rows *r =
        b->rows[!pg                  ? R_PRODUCT_VALUES
                : b->u[e->u].in_db ? R_PRODUCT
                                     : R_PRODUCT_NEW];
    int64_t pmin = 0;
    int64_t pmax = 0;
    char fp[41];

    for (size_t i = 0; i < sq_ds_offer_cols.n; i++) {
        sq_ds_rows_add_field(r, e->canon, &sq_ds_offer_cols.f[i]);
    }
    sq_ds_get_i64(e->canon, "price_min_fen", &pmin);
    sq_ds_get_i64(e->canon, "price_max_fen", &pmax);
    sq_ds_fingerprint(e->supplier_id, e->has_sup,
                      sq_ds_get_str(e->canon, "subject"), pmin, pmax, fp);
    if (e->has_sup) {
        sq_db_rows_add_i64(r, e->supplier_id);
    } else {
        sq_db_rows_add_null(r);
    }
    sq_db_rows_add_text(r, e->hash);
    sq_db_rows_add_text(r, fp[0] != '\0' ? fp : NULL);
    sq_db_rows_add_text(r, now);
    sq_db_rows_add_text(r, now);
}

/* Rows of list `key`: offer_id, position, then the fields. */
static void
add_list(struct sq_db_rows *r, int64_t offer_id, const json_t *canon,
         const char *key, const struct sq_ds_cols *c)
{
    size_t i;
    const json_t *x;

    json_array_foreach(json_object_get(canon, key), i, x)
    {
        sq_db_rows_add_i64(r, offer_id);
        sq_db_rows_add_i64(r, (int64_t)i);
        for (size_t k = 0; k < c->n; k++) {
            sq_ds_rows_add_field(r, x, &c->f[k]);
        }
    }
}

static void
add_props(struct sq_ds_offer_batch *b, int64_t offer_id, const json_t *canon)
{
    size_t i;
    const json_t *p;

    json_array_foreach(json_object_get(canon, "sku_props"), i, p)
    {
        size_t j;
        const json_t *v;
        sq_db_rows_add_i64(b->rows[R_PROP], offer_id);
        sq_db_rows_add_i64(b->rows[R_PROP], (int64_t)i);
        sq_ds_rows_add_field(b->rows[R_PROP], p, &sq_ds_prop_cols.f[0]);
        sq_ds_rows_add_field(b->rows[R_PROP], p, &sq_ds_prop_cols.f[1]);
        json_array_foreach(json_object_get(p, "values"), j, v)
        {
            struct sq_db_rows *r = b->rows[R_PROPVAL];
            sq_db_rows_add_i64(r, offer_id);
            sq_db_rows_add_i64(r, (int64_t)i);
            sq_db_rows_add_i64(r, (int64_t)j);
            sq_ds_rows_add_field(r, v, &sq_ds_propval_cols.f[0]);
            sq_ds_rows_add_field(r, v, &sq_ds_propval_cols.f[1]);
        }
    }
}

/* The child rows of offer `canon` (R_ATTR .. R_TIER): as values to
 * render at the write, or, on PostgreSQL, as COPY text made ahead. */
static void
add_children(struct sq_ds_offer_batch *b, int64_t offer_id,
             const json_t *canon, const struct sq_ds_child_copy *pre,
             bool pg)
{
    if (pg && pre != NULL && pre->text[0] != NULL) {
        for (int k = 0; k < SQ_DS_CHILD_TABLES; k++) {
            sq_db_rows_add_copy(b->rows[R_ATTR + k], pre->text[k],
                                pre->len[k], pre->rows[k]);
        }
        return;
    }
    add_list(b->rows[R_ATTR], offer_id, canon, "attributes",
             &sq_ds_attr_cols);
    add_props(b, offer_id, canon);
    add_list(b->rows[R_SKU], offer_id, canon, "skus", &sq_ds_sku_cols);
    add_list(b->rows[R_TIER], offer_id, canon, "price_ranges",
             &sq_ds_tier_cols);
}

void
sq_ds_child_copy_free(struct sq_ds_child_copy *c)
{
    for (int k = 0; k < SQ_DS_CHILD_TABLES; k++) {
        sq_free(c->text[k]);
    }
    memset(c, 0, sizeof *c);
}

int
sq_ds_child_copy_make(struct sq_ds_offer_batch *scratch,
                      const json_t *canon, struct sq_ds_child_copy *out,
                      syncq_error *err)
{
    int rc = SYNCQ_OK;

    memset(out, 0, sizeof *out);
    add_children(scratch,
                 (int64_t)json_integer_value(json_object_get(canon,
                                                             "offer_id")),
                 canon, NULL, false);
    for (int k = 0; k < SQ_DS_CHILD_TABLES; k++) {
        struct sq_db_rows *r = scratch->rows[R_ATTR + k];
        struct sq_buf t;
        sq_buf_init(&t, 0);
        out->rows[k] = sq_db_rows_count(r);
        out->len[k] = t.len;
        if (sq_db_rows_copy_text(r, &t) != 0 ||
            (out->len[k] = t.len, out->text[k] = sq_buf_steal(&t)) == NULL) {
            sq_buf_cleanup(&t);
            rc = sq_ds_oom(err);
        }
        sq_db_rows_clear(r);
    }
    if (rc != SYNCQ_OK) {
        sq_ds_child_copy_free(out);
    }
    return rc;
}

/* The image links of `e` in link order: on PostgreSQL queued for
 * sq_ds_links_write, on SQLite staged (seq): the url_key names the
 * image row, which link_images creates or finds. */
static int
add_images(struct sq_ds_offer_batch *b, const struct entry *e, bool pg,
           syncq_error *err)
{
    struct sq_db_rows *r = b->rows[R_STAGE];
    size_t i;
    const json_t *img;

    json_array_foreach(json_object_get(e->canon, "images"), i, img)
    {
        const char *url = sq_ds_get_str(img, "url");
        const char *role = sq_ds_get_str(img, "role");
        char key[2048];
        int rc = sq_ds_image_url_key(url, key, sizeof key, err);
        if (rc == SYNCQ_OK && pg) {
            rc = sq_ds_links_add(
                b->links, e->offer_id, role != NULL ? role : "",
                json_integer_value(json_object_get(img, "ord")), key, url,
                err);
        }
        if (rc != SYNCQ_OK || pg) {
            if (rc != SYNCQ_OK) {
                return rc;
            }
            continue;
        }
        sq_db_rows_add_i64(r, b->nlinks++);
        sq_db_rows_add_i64(r, e->offer_id);
        sq_db_rows_add_text(r, role != NULL ? role : "");
        sq_db_rows_add_i64(r, json_integer_value(json_object_get(img, "ord")));
        sq_db_rows_add_text(r, key);
        sq_db_rows_add_text(r, url);
    }
    return SYNCQ_OK;
}

/* The image rows and links of the staged links, set-based: the new
 * images inserted in link order (an existing image keeps its row and
 * download state; the first link of a new url_key gives its url), then
 * the links with the ids joined by url_key. Three statements whatever
 * the number of links, no id travelling back to the client. */
static int
link_images(struct sq_db *db, struct sq_ds_offer_batch *b, syncq_error *err)
{
    int rc;

    if (sq_db_is_pg(db)) {
        return sq_ds_links_write(db, b->links, err);
    }
    if (sq_db_rows_count(b->rows[R_STAGE]) == 0) {
        return SYNCQ_OK;
    }
    rc = sq_db_rows_run(db, b->rows[R_STAGE], NULL, NULL, NULL, err);
    if (rc == SYNCQ_OK) {
        rc = sq_db_exec(db,
                        "INSERT INTO image (url_key, url, status) SELECT "
                        "url_key, url, 'pending' FROM sq_stage_image WHERE "
                        "true ORDER BY seq ON CONFLICT (url_key) DO NOTHING",
                        err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_exec(db,
                        "INSERT INTO product_image (offer_id, role, ord, "
                        "image_id) SELECT s.offer_id, s.role, s.ord, "
                        "i.image_id FROM sq_stage_image s JOIN image i ON "
                        "i.url_key = s.url_key ORDER BY s.seq",
                        err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_db_exec(db, "DELETE FROM sq_stage_image", err);
    }
    return rc;
}

/* Buffer and run the writes of the entries stored (product_rows tells
 * how the product rows travel, link_images the image links). */
static int
write_rows(struct sq_db *db, struct sq_ds_offer_batch *b, syncq_error *err)
{
    static const int order[] = {R_PRODUCT_NEW, R_PRODUCT, R_PRODUCT_VALUES,
                                R_DEL,
                                R_DEL + 1, R_DEL + 2,        R_DEL + 3,
                                R_DEL + 4, R_DEL + 5,        R_ATTR,
                                R_PROP,    R_PROPVAL,        R_SKU,
                                R_TIER};
    bool pg = sq_db_is_pg(db);
    bool staged;
    char now[40];
    size_t written = 0;
    int rc = SYNCQ_OK;

    sq_ds_now_iso(now, sizeof now);
    for (size_t i = 0; i < b->n && rc == SYNCQ_OK; i++) {
        const struct entry *e = &b->e[i];
        if (!e->last) {
            continue;
        }
        written++;
        add_product(b, e, now, pg);
        if (b->u[e->u].in_db) {
            for (int k = 0; k < 6; k++) {
                sq_db_rows_add_i64(b->rows[R_DEL + k], e->offer_id);
            }
        }
        add_children(b, e->offer_id, e->canon, e->pre, pg);
        rc = add_images(b, e, pg, err);
    }
    if (rc != SYNCQ_OK || written == 0) {
        return rc;
    }
    staged = sq_db_rows_count(b->rows[R_PRODUCT]) > 0;
    rc = sq_db_exec(db, b->ddl[pg ? 1 : 0], err);
    for (size_t k = 0; k < sizeof order / sizeof order[0] && rc == SYNCQ_OK;
         k++) {
        rc = sq_db_rows_run(db, b->rows[order[k]], NULL, NULL, NULL, err);
        if (rc != SYNCQ_OK && order[k] == R_PRODUCT_NEW) {
            /* An offer another writer inserted since decide(). */
            (void)sq_db_lost_insert_race(db);
        }
        if (rc == SYNCQ_OK && staged && order[k] == R_PRODUCT) {
            rc = sq_db_exec(db, b->upsert, err);
        }
    }
    if (rc == SYNCQ_OK && staged) {
        rc = sq_db_exec(db, "DELETE FROM sq_stage_product", err);
    }
    return rc == SYNCQ_OK ? link_images(db, b, err) : rc;
}

int
sq_ds_offer_batch_store(struct sq_db *db, struct sq_ds_offer_batch *b,
                        int *outcomes, char (*hashes)[65], syncq_error *err)
{
    int rc = SYNCQ_OK;

    if (b->n > 0 && !sq_db_in_tx(db)) {
        /* The staged image links live until the commit (PostgreSQL
         * empties the staging table at each one): the writes need a
         * transaction of their own when the caller has none. */
        rc = sq_db_begin(db, err);
        if (rc == SYNCQ_OK) {
            rc = sq_ds_offer_batch_store(db, b, outcomes, hashes, err);
        } else {
            batch_clear(b);
        }
        if (rc == SYNCQ_OK) {
            return sq_db_commit(db, err);
        }
        sq_db_rollback(db);
        return rc;
    }
    if (b->n > 0) {
        rc = decide(db, b, outcomes, err);
        for (size_t i = 0; i < b->n && rc == SYNCQ_OK && hashes != NULL;
             i++) {
            memcpy(hashes[i], b->e[i].hash, sizeof hashes[i]);
        }
        if (rc == SYNCQ_OK) {
            rc = suppliers(db, b, err);
        }
        if (rc == SYNCQ_OK) {
            rc = write_rows(db, b, err);
        }
    }
    batch_clear(b);
    return rc;
}

int
sq_ds_offer_store(struct sq_db *db, const json_t *canon, bool force,
                  int *outcome, syncq_error *err)
{
    struct sq_ds_offer_batch *b = NULL;
    int rc = sq_ds_offer_batch_new(force, &b, err);

    *outcome = SQ_DS_UNCHANGED;
    if (rc == SYNCQ_OK) {
        rc = sq_ds_offer_batch_add(b, (json_t *)canon, NULL, err);
    }
    if (rc == SYNCQ_OK) {
        rc = sq_ds_offer_batch_store(db, b, outcome, NULL, err);
    }
    sq_ds_offer_batch_free(b);
    return rc;
}
