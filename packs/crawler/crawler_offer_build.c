/* SPDX-License-Identifier: MIT
 *
 * crawler_offer_build.c: the offer builder (crawler_offer_build.h): images,
 * attributes, SKU properties, SKUs and price tiers added once each, then closed
 * into the normalised record. Money stays integer fen (crawler_values.c).
 */
#include "crawler/crawler_offer_build.h"
#include "core/sq_alloc.h"
#include "core/sq_error.h"
#include "core/sq_hash.h"
#include "crawler/crawler_parse.h"
#include "crawler/crawler_values.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[ROLE__N] = {"main", "sku", "white", "desc"};

static int
ob_fail(struct ob *b, int code, const char *what, size_t n, size_t limit)
{
    if (b->rc == SYNCQ_OK) {
        b->rc = sq_fail(b->err, code, "offer has %zu %s, limit %zu", n, what,
                        limit);
    }
    return b->rc;
}

int
sq_ob_init(struct ob *b, syncq_error *err)
{
    json_t *sup;

    memset(b, 0, sizeof *b);
    b->err = err;
    b->rec = json_object();
    b->seen = json_object();
    b->prop_index = json_object();
    sup = json_object();
    if (b->rec == NULL || b->seen == NULL || b->prop_index == NULL ||
        sup == NULL) {
        json_decref(sup);
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing offer");
    }
    /* Fixed key order, so equal offers serialise to equal bytes. */
    sq_1688_put(b->rec, "offer_id", json_null());
    sq_1688_put(b->rec, "source", json_null());
    sq_1688_put(b->rec, "category_id", json_null());
    sq_1688_put(b->rec, "top_category_id", json_null());
    sq_1688_put(b->rec, "subject", json_null());
    sq_1688_put(b->rec, "subject_tr", json_null());
    sq_1688_put(b->rec, "unit", json_null());
    sq_1688_put(b->rec, "status", json_string("published"));
    sq_1688_put(b->rec, "quote_type", json_null());
    sq_1688_put(b->rec, "moq", json_null());
    sq_1688_put(b->rec, "price_min_fen", json_null());
    sq_1688_put(b->rec, "price_max_fen", json_null());
    sq_1688_put(b->rec, "currency", json_string("CNY"));
    sq_1688_put(b->rec, "amount_on_sale", json_null());
    sq_1688_put(b->rec, "sold_count", json_null());
    sq_1688_put(b->rec, "sold_text", json_null());
    sq_1688_put(b->rec, "unit_weight_kg", json_null());
    sq_1688_put(b->rec, "detail_url", json_null());
    sq_1688_put(b->rec, "video_url", json_null());
    sq_1688_put(sup, "seller_user_id", json_null());
    sq_1688_put(sup, "member_id", json_null());
    sq_1688_put(sup, "login_id", json_null());
    sq_1688_put(sup, "open_id", json_null());
    sq_1688_put(sup, "company_name", json_null());
    sq_1688_put(sup, "shop_url", json_null());
    sq_1688_put(sup, "province", json_null());
    sq_1688_put(sup, "city", json_null());
    sq_1688_put(b->rec, "supplier", sup);
    b->attrs = json_array();
    b->props = json_array();
    b->skus = json_array();
    b->tiers = json_array();
    b->images = json_array();
    sq_1688_put(b->rec, "attributes", b->attrs);
    sq_1688_put(b->rec, "sku_props", b->props);
    sq_1688_put(b->rec, "skus", b->skus);
    sq_1688_put(b->rec, "price_ranges", b->tiers);
    sq_1688_put(b->rec, "images", b->images);
    if (b->attrs == NULL || b->props == NULL || b->skus == NULL ||
        b->tiers == NULL || b->images == NULL) {
        return sq_fail(err, SYNCQ_ENOMEM, "out of memory parsing offer");
    }
    return SYNCQ_OK;
}

void
sq_ob_cleanup(struct ob *b)
{
    json_decref(b->rec);
    json_decref(b->seen);
    json_decref(b->prop_index);
    b->rec = NULL;
}

json_t *
sq_ob_supplier(struct ob *b)
{
    return json_object_get(b->rec, "supplier");
}

static void
note_price(struct ob *b, int64_t fen)
{
    if (!b->has_price || fen < b->pmin) {
        b->pmin = fen;
    }
    if (!b->has_price || fen > b->pmax) {
        b->pmax = fen;
    }
    b->has_price = true;
}

/* True the first time `key` is seen. */
static bool
first_seen(struct ob *b, const char *kind, const char *a, const char *c)
{
    char *key = sq_asprintf("%s%s\n%s", kind, a, c != NULL ? c : "");
    bool fresh;

    if (key == NULL) {
        sq_1688_oom_note();
        return false;
    }
    fresh = json_object_get(b->seen, key) == NULL;
    if (fresh) {
        sq_1688_put(b->seen, key, json_true());
    }
    sq_free(key);
    return fresh;
}

void
sq_ob_add_image(struct ob *b, const char *raw, int role)
{
    char *url;
    json_t *img;
    int64_t uid;

    if (b->rc != SYNCQ_OK || raw == NULL) {
        return;
    }
    url = sq_1688_image_url(raw);
    if (url == NULL) {
        return;
    }
    if (!first_seen(b, "i", role_names[role], url)) {
        sq_free(url);
        return;
    }
    if (json_array_size(b->images) >= SQ_1688_MAX_IMAGES) {
        sq_free(url);
        ob_fail(b, SYNCQ_EPROTO, "images", json_array_size(b->images) + 1,
                SQ_1688_MAX_IMAGES);
        return;
    }
    if (role == ROLE_MAIN) {
        uid = sq_1688_image_seller_id(url);
        if (uid > 0) {
            if (b->supplier_uid == 0) {
                b->supplier_uid = uid;
            } else if (b->supplier_uid != uid) {
                b->uid_conflict = true;
            }
        }
    }
    img = json_object();
    if (img != NULL) {
        sq_1688_put(img, "url", json_string(url));
        sq_1688_put(img, "role", json_string(role_names[role]));
        sq_1688_put(img, "ord", json_integer(b->img_ord[role]++));
        sq_1688_append(b->images, img);
    }
    sq_free(url);
}

void
sq_ob_add_attr(struct ob *b, bool has_id, int64_t id, const char *name,
               const char *value)
{
    json_t *a;

    if (b->rc != SYNCQ_OK || name == NULL || value == NULL) {
        return;
    }
    if (!first_seen(b, "a", name, value)) {
        return;
    }
    if (json_array_size(b->attrs) >= SQ_1688_MAX_ATTRS) {
        ob_fail(b, SYNCQ_EPROTO, "attributes", json_array_size(b->attrs) + 1,
                SQ_1688_MAX_ATTRS);
        return;
    }
    a = json_object();
    if (a == NULL) {
        return;
    }
    sq_1688_set_int(a, "attr_id", has_id, id);
    sq_1688_set_str(a, "name", name);
    sq_1688_set_str(a, "value", value);
    sq_1688_append(b->attrs, a);
}

/* Find or create the sale dimension `key` (fid or name); returns it. */
json_t *
sq_ob_prop_get(struct ob *b, const char *key, bool has_fid, int64_t fid,
               const char *name)
{
    json_t *idx = json_object_get(b->prop_index, key);
    json_t *p;

    if (idx != NULL) {
        return json_array_get(b->props, (size_t)json_integer_value(idx));
    }
    if (json_array_size(b->props) >= 16) {
        ob_fail(b, SYNCQ_EPROTO, "sale dimensions",
                json_array_size(b->props) + 1, 16);
        return NULL;
    }
    p = json_object();
    if (p == NULL) {
        return NULL;
    }
    sq_1688_set_int(p, "fid", has_fid, fid);
    sq_1688_set_str(p, "name", name);
    sq_1688_put(p, "values", json_array());
    sq_1688_put(b->prop_index, key,
                json_integer((json_int_t)json_array_size(b->props)));
    sq_1688_append(b->props, p);
    return p;
}

void
sq_ob_prop_add_value(struct ob *b, json_t *prop, const char *value,
                     const char *image_raw)
{
    json_t *vals, *v, *it;
    size_t i;
    char *img = NULL;

    if (prop == NULL || value == NULL || b->rc != SYNCQ_OK) {
        return;
    }
    vals = json_object_get(prop, "values");
    json_array_foreach(vals, i, it)
    {
        const char *have = json_string_value(json_object_get(it, "value"));
        if (have != NULL && strcmp(have, value) == 0) {
            return;
        }
    }
    if (json_array_size(vals) >= SQ_1688_MAX_SKUS) {
        ob_fail(b, SYNCQ_EPROTO, "values of one dimension",
                json_array_size(vals) + 1, SQ_1688_MAX_SKUS);
        return;
    }
    if (image_raw != NULL) {
        img = sq_1688_image_url(image_raw);
        sq_ob_add_image(b, image_raw, ROLE_SKU);
    }
    v = json_object();
    if (v == NULL) {
        sq_free(img);
        return;
    }
    sq_1688_set_str(v, "value", value);
    sq_1688_set_str(v, "image_url", img);
    sq_1688_append(vals, v);
    sq_free(img);
}

void
sq_ob_add_sku(struct ob *b, const struct sku_in *s)
{
    json_t *o;

    if (b->rc != SYNCQ_OK) {
        return;
    }
    if (json_array_size(b->skus) >= SQ_1688_MAX_SKUS) {
        ob_fail(b, SYNCQ_EPROTO, "SKUs", json_array_size(b->skus) + 1,
                SQ_1688_MAX_SKUS);
        return;
    }
    o = json_object();
    if (o == NULL) {
        return;
    }
    sq_1688_set_int(o, "sku_id", s->has_id, s->id);
    sq_1688_set_str(o, "spec_id", s->spec_id);
    sq_1688_set_str(o, "spec_text", s->spec_text);
    sq_1688_set_int(o, "price_fen", s->has_price, s->price);
    sq_1688_set_int(o, "promo_price_fen",
                    s->has_promo && (!s->has_price || s->promo != s->price),
                    s->promo);
    sq_1688_set_int(o, "retail_price_fen", s->has_retail, s->retail);
    sq_1688_set_int(o, "stock", s->has_stock, s->stock);
    sq_1688_put(o, "weight_kg",
                s->has_weight && s->weight_kg > 0 ? json_real(s->weight_kg)
                                                  : json_null());
    sq_1688_set_str(o, "cargo_number", s->cargo);
    sq_1688_append(b->skus, o);
    if (s->has_price) {
        note_price(b, s->price);
    }
}

void
sq_ob_add_tier(struct ob *b, int64_t qty, int64_t fen, bool has_promo,
               int64_t promo)
{
    json_t *t;

    if (b->rc != SYNCQ_OK || qty < 0) {
        return;
    }
    if (json_array_size(b->tiers) >= SQ_1688_MAX_TIERS) {
        ob_fail(b, SYNCQ_EPROTO, "price tiers", json_array_size(b->tiers) + 1,
                SQ_1688_MAX_TIERS);
        return;
    }
    t = json_object();
    if (t == NULL) {
        return;
    }
    sq_1688_put(t, "start_qty", json_integer(qty));
    sq_1688_put(t, "price_fen", json_integer(fen));
    if (has_promo && promo != fen) {
        sq_1688_put(t, "promo_price_fen", json_integer(promo));
    }
    sq_1688_append(b->tiers, t);
    note_price(b, fen);
}

static int
cmp_tier(const void *a, const void *b)
{
    json_int_t x =
        json_integer_value(json_object_get(*(json_t *const *)a, "start_qty"));
    json_int_t y =
        json_integer_value(json_object_get(*(json_t *const *)b, "start_qty"));
    return x < y ? -1 : x > y;
}

/* Tiers sorted by start quantity, one per quantity; a SKU-priced offer
 * without tiers gets one: from the MOQ at the lowest SKU price. */
static void
finish_tiers(struct ob *b)
{
    size_t n = json_array_size(b->tiers);
    json_t **v;
    json_t *sorted;
    int64_t moq = 1;

    if (n == 0) {
        if (b->has_price) {
            json_t *m = json_object_get(b->rec, "moq");
            if (json_is_integer(m) && json_integer_value(m) > 0) {
                moq = json_integer_value(m);
            }
            sq_ob_add_tier(b, moq, b->pmin, false, 0);
        }
        return;
    }
    v = sq_calloc(n, sizeof *v);
    sorted = json_array();
    if (v == NULL || sorted == NULL) {
        sq_free(v);
        json_decref(sorted);
        sq_1688_oom_note();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = json_array_get(b->tiers, i);
    }
    qsort(v, n, sizeof *v, cmp_tier);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cmp_tier(&v[i - 1], &v[i]) == 0) {
            continue;
        }
        if (json_array_append(sorted, v[i]) != 0) {
            sq_1688_oom_note();
        }
    }
    sq_free(v);
    json_array_clear(b->tiers);
    if (json_array_extend(b->tiers, sorted) != 0) {
        sq_1688_oom_note();
    }
    json_decref(sorted);
}

int
sq_ob_finish(struct ob *b, const char *body, size_t len, json_t **out)
{
    char hex[65];
    json_t *sup = sq_ob_supplier(b);

    if (b->rc != SYNCQ_OK) {
        return b->rc;
    }
    finish_tiers(b);
    sq_1688_set_int(b->rec, "price_min_fen", b->has_price, b->pmin);
    sq_1688_set_int(b->rec, "price_max_fen", b->has_price, b->pmax);
    if (json_is_null(json_object_get(sup, "seller_user_id")) &&
        b->supplier_uid > 0 && !b->uid_conflict) {
        /* Current image paths carry the seller's user id
         * ("_!!<id>-0-cib.jpg"); the cross-border API gives no other. */
        sq_1688_put(sup, "seller_user_id", json_integer(b->supplier_uid));
    }
    sq_sha256_hex(body, len, hex);
    sq_1688_put(b->rec, "raw_sha256", json_string(hex));
    if (b->rc != SYNCQ_OK) {
        return b->rc;
    }
    *out = b->rec;
    b->rec = NULL;
    return SYNCQ_OK;
}

/* The string at `key` of `obj`, or `def`. Borrowed. */
const char *
sq_ob_jstr_or(const json_t *obj, const char *key, const char *def)
{
    const char *s = sq_1688_json_str(json_object_get(obj, key));
    return s != NULL ? s : def;
}

/* Map a platform status word to published|expired|deleted|delisted. */
const char *
sq_ob_map_status(const char *s)
{
    if (s == NULL) {
        return "published";
    }
    if (strstr(s, "deleted") != NULL || strcmp(s, "TBD") == 0) {
        return "deleted";
    }
    if (strstr(s, "expired") != NULL) {
        return "expired";
    }
    if (strcmp(s, "auditing") == 0 || strcmp(s, "untread") == 0) {
        return "delisted";
    }
    return "published";
}

void
sq_ob_set_jint(json_t *obj, const char *key, const json_t *v)
{
    int64_t i = 0;
    bool ok = sq_1688_json_int(v, &i);
    sq_1688_set_int(obj, key, ok, i);
}

void
sq_ob_set_jint_pos(json_t *obj, const char *key, const json_t *v)
{
    int64_t i = 0;
    bool ok = sq_1688_json_int(v, &i) && i >= 0;
    if (!ok) {
        double d;
        if (sq_1688_json_num(v, &d) && d >= 0 && d < 9.0e15) {
            i = (int64_t)d;
            ok = true;
        }
    }
    sq_1688_set_int(obj, key, ok, i);
}

void
sq_ob_set_jreal_pos(json_t *obj, const char *key, const json_t *v)
{
    double d;
    if (sq_1688_json_num(v, &d) && d > 0) {
        sq_1688_put(obj, key, json_real(d));
    } else {
        sq_1688_put(obj, key, json_null());
    }
}

bool
sq_ob_looks_like_url(const char *s)
{
    return s != NULL &&
           (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 ||
            strncmp(s, "//", 2) == 0);
}

/* Check the record's own id against the requested one. */
int
sq_ob_check_id(struct ob *b, bool has, int64_t id, int64_t expect,
               const char *where)
{
    if (!has) {
        if (expect > 0) {
            id = expect;
        } else {
            return sq_fail(b->err, SYNCQ_EPROTO, "%s: no offer id", where);
        }
    } else if (expect > 0 && id != expect) {
        return sq_fail(b->err, SYNCQ_EPROTO, "%s is offer %lld, asked for %lld",
                       where, (long long)id, (long long)expect);
    }
    if (id <= 0) {
        return sq_fail(b->err, SYNCQ_EPROTO,
                       "%s: offer id %lld is not "
                       "positive",
                       where, (long long)id);
    }
    sq_1688_put(b->rec, "offer_id", json_integer(id));
    return SYNCQ_OK;
}
